package deploy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// The texts ECS uses for a service deployment (aws-sdk-go-v2/service/ecs
// v1.105.1, ServiceDeploymentStatus, DeploymentLifecycleHookStatus,
// DeploymentLifecycleHookTargetType; "View service history using Amazon ECS
// service deployments", Amazon ECS Developer Guide).
const (
	sdPending             = "PENDING"
	sdInProgress          = "IN_PROGRESS"
	sdSuccessful          = "SUCCESSFUL"
	sdStopRequested       = "STOP_REQUESTED"
	sdStopped             = "STOPPED"
	sdRollbackRequested   = "ROLLBACK_REQUESTED"
	sdRollbackInProgress  = "ROLLBACK_IN_PROGRESS"
	sdRollbackSuccessful  = "ROLLBACK_SUCCESSFUL"
	sdRollbackFailed      = "ROLLBACK_FAILED"
	hookAwaitingAction    = "AWAITING_ACTION"
	hookInProgress        = "IN_PROGRESS"
	hookFailed            = "FAILED"
	hookTimedOut          = "TIMED_OUT"
	hookTypePause         = "PAUSE"
	breakerTriggered      = "TRIGGERED"
	timeoutActionRollback = "ROLLBACK"
)

// Lifecycle stages of a deployment of the blue-green family as ECS spells
// them, in the order ECS goes through them ("Amazon ECS blue/green service
// deployments workflow", section "Deployment lifecycle stages", Amazon ECS
// Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html).
// They are compared as strings: PRE_PRODUCTION_TRAFFIC_SHIFT is missing
// from the SDK's ServiceDeploymentLifecycleStage, and ECS may add more.
const (
	stageReconcileService           = "RECONCILE_SERVICE"
	stagePreScaleUp                 = "PRE_SCALE_UP"
	stageScaleUp                    = "SCALE_UP"
	stagePostScaleUp                = "POST_SCALE_UP"
	stageTestTrafficShift           = "TEST_TRAFFIC_SHIFT"
	stagePostTestTrafficShift       = "POST_TEST_TRAFFIC_SHIFT"
	stagePreProductionTrafficShift  = "PRE_PRODUCTION_TRAFFIC_SHIFT"
	stageProductionTrafficShift     = "PRODUCTION_TRAFFIC_SHIFT"
	stagePostProductionTrafficShift = "POST_PRODUCTION_TRAFFIC_SHIFT"
	stageBakeTime                   = "BAKE_TIME"
	stageCleanUp                    = "CLEAN_UP"
)

// lifecycleStages are the stages in order.
var lifecycleStages = []string{
	stageReconcileService, stagePreScaleUp, stageScaleUp, stagePostScaleUp, stageTestTrafficShift, stagePostTestTrafficShift,
	stagePreProductionTrafficShift, stageProductionTrafficShift, stagePostProductionTrafficShift, stageBakeTime, stageCleanUp,
}

// stageReached reports whether a deployment at stage current has reached
// stage want (is at it, or past it). A stage ECS names that is not in the
// documented order reaches nothing, and is reached by nothing.
func stageReached(current, want string) bool {
	c, w := slices.Index(lifecycleStages, current), slices.Index(lifecycleStages, want)
	return c >= 0 && w >= 0 && c >= w
}

// ECS's defaults for the bakes a configuration leaves out ("CanaryConfiguration",
// "LinearConfiguration", API Reference).
const (
	defaultCanaryBakeMinutes = 10
	defaultStepBakeMinutes   = 6
)

// rollbackCause says what rolled a deployment of the blue-green family back
// (or stopped it): the failure ecrdeploy records and holds.
type rollbackCause string

const (
	causeNone            rollbackCause = ""
	causeRejected        rollbackCause = "approval rejected"
	causeApprovalTimeout rollbackCause = "approval timed out"
	causeHook            rollbackCause = "lifecycle hook failed"
	causeHookTimeout     rollbackCause = "lifecycle hook timed out"
	causeAlarm           rollbackCause = "alarm"
	causeCircuitBreaker  rollbackCause = "circuit breaker"
	// causeOther is a rollback ECS does not say more of: a stage that
	// reached its 24 hours, a StopServiceDeployment.
	causeOther rollbackCause = "rolled back"
)

// blueGreenView is what ECS's service deployment says of a deployment of
// the blue-green family, in ecrdeploy's terms.
type blueGreenView struct {
	// rollout is in-progress, completed (SUCCESSFUL: after the bake),
	// failed (rolled back or stopped, by a hook, an approval, an alarm, a
	// timeout, a StopServiceDeployment; held like a circuit breaker's
	// rollback) or superseded (STOPPED because a newer deployment
	// started).
	rollout state.Rollout
	// stage is the lifecycle stage, as ECS spells it.
	stage string
	// production is the share of production traffic on the new revision,
	// in percent; -1 when ECS does not say.
	production float64
	// awaiting is the pause hook awaiting approval; nil when none is.
	awaiting *target.HookDetail
	// cause and reason say why a failed deployment failed: the cause
	// ecrdeploy tells, and ECS's reason (the rollback's, or the status
	// reason).
	cause  rollbackCause
	reason string
	// text is the status line: "canary 10 %, baking, 12 of 15 min".
	text string
}

// judgeBlueGreen judges a service deployment of the blue-green family from
// DescribeServiceDeployments (sd), the service's current service deployment
// (target.Service.CurrentServiceDeployment: a STOPPED deployment the
// service has moved on from was superseded, not failed) and the time now
// (for the bake's progress).
//
// The deployment has ended only when ECS says so: SUCCESSFUL is completed,
// and only then (ECS reaches it after the bake and CLEAN_UP); every
// ROLLBACK_ status, and STOPPED or STOP_REQUESTED while it is still the
// service's current deployment, is failed, whatever rolled it back. A
// status ECS may add is in progress.
func judgeBlueGreen(sd target.ServiceDeploymentDetail, current string, now time.Time) blueGreenView {
	v := blueGreenView{stage: sd.Stage, production: -1}
	if sd.Production != nil {
		v.production = *sd.Production
	}
	if h, ok := sd.AwaitingHook(); ok && sd.Status == sdInProgress {
		v.awaiting = &h
	}
	switch sd.Status {
	case sdSuccessful:
		v.rollout = state.Completed
	case sdRollbackRequested, sdRollbackInProgress, sdRollbackSuccessful, sdRollbackFailed:
		v.rollout = state.Failed
	case sdStopRequested, sdStopped:
		v.rollout = state.Failed
		if current != "" && current != sd.ARN {
			v.rollout = state.Superseded
		}
	default: // PENDING, IN_PROGRESS, and what ECS may add
		v.rollout = state.InProgress
	}
	if v.rollout == state.Failed {
		v.cause, v.reason = rollbackOf(sd)
	}
	v.text = blueGreenText(sd, v, now)
	return v
}

// rollbackOf says what rolled the deployment back: a hook of its stage that
// failed or timed out with the action ROLLBACK (a pause hook's failure is a
// rejected approval), an alarm that fired, the circuit breaker, or
// something ECS does not tell apart; and ECS's reason.
func rollbackOf(sd target.ServiceDeploymentDetail) (rollbackCause, string) {
	reason := sd.Reason
	if sd.Rollback != nil && sd.Rollback.Reason != "" {
		reason = sd.Rollback.Reason
	}
	for _, h := range sd.Hooks {
		switch {
		case h.Status == hookFailed && h.Type == hookTypePause:
			return causeRejected, reason
		case h.Status == hookFailed:
			return causeHook, reason
		case h.Status == hookTimedOut && h.TimeoutAction == timeoutActionRollback && h.Type == hookTypePause:
			return causeApprovalTimeout, reason
		case h.Status == hookTimedOut && h.TimeoutAction == timeoutActionRollback:
			return causeHookTimeout, reason
		}
	}
	switch {
	case len(sd.TriggeredAlarms) > 0:
		return causeAlarm, reason
	case sd.CircuitBreaker == breakerTriggered:
		return causeCircuitBreaker, reason
	}
	return causeOther, reason
}

// blueGreenText is the status line of a deployment of the blue-green
// family: the strategy, the production share on the new revision, and
// where the deployment is. The time in a stage counts from the service
// deployment's updatedAt, the last change ECS reports (it moves at every
// stage and traffic step).
func blueGreenText(sd target.ServiceDeploymentDetail, v blueGreenView, now time.Time) string {
	head := string(config.ParseStrategy(sd.Strategy))
	if head == "" {
		head = "deployment"
	}
	if v.production >= 0 && v.rollout != state.Failed && v.rollout != state.Superseded {
		head += " " + strconv.FormatFloat(v.production, 'f', -1, 64) + " %"
	}
	stage := string(config.ParseStage(sd.Stage))
	switch v.rollout {
	case state.Completed:
		return head + ", completed"
	case state.Superseded:
		return head + " superseded by a newer deployment"
	case state.Failed:
		what := "rolled back"
		switch sd.Status {
		case sdRollbackRequested, sdRollbackInProgress:
			what = "rolling back"
		case sdRollbackFailed:
			what = "rollback failed"
		case sdStopped, sdStopRequested:
			what = "stopped"
		}
		if stage != "" {
			what += " at " + stage
		}
		return head + " " + what + failureDetail(sd, v)
	}
	if h := v.awaiting; h != nil {
		text := head + ", awaiting approval at " + stage
		if !h.ExpiresAt.IsZero() {
			text += " until " + h.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		return text
	}
	for _, h := range sd.Hooks {
		if h.Status == hookInProgress {
			return head + ", hook " + functionName(h.TargetARN) + " running at " + stage
		}
	}
	in := now.Sub(sd.UpdatedAt)
	if sd.UpdatedAt.IsZero() || in < 0 {
		in = 0
	}
	switch sd.Stage {
	case stageBakeTime:
		return head + ", baking, " + bakeProgress(in, sd.BakeMinutes, -1)
	case stageProductionTrafficShift:
		if v.production > 0 && v.production < 100 {
			switch config.ParseStrategy(sd.Strategy) {
			case config.StrategyCanary:
				return head + ", baking, " + bakeProgress(in, sd.CanaryBakeMinutes, defaultCanaryBakeMinutes)
			case config.StrategyLinear:
				return head + ", baking, " + bakeProgress(in, sd.StepBakeMinutes, defaultStepBakeMinutes)
			}
		}
		return head + ", shifting production traffic"
	}
	if phrase, ok := stagePhrases[sd.Stage]; ok {
		return head + ", " + phrase
	}
	if stage == "" {
		return head + ", " + strings.ToLower(strings.ReplaceAll(sd.Status, "_", " "))
	}
	return head + ", " + stage
}

// stagePhrases say where a deployment is at each stage but those with a
// bake.
var stagePhrases = map[string]string{
	stageReconcileService:           "reconciling",
	stagePreScaleUp:                 "starting",
	stageScaleUp:                    "scaling up",
	stagePostScaleUp:                "scaled up",
	stageTestTrafficShift:           "shifting test traffic",
	stagePostTestTrafficShift:       "test traffic on the new revision",
	stagePreProductionTrafficShift:  "before shifting production traffic",
	stagePostProductionTrafficShift: "production traffic shifted",
	stageCleanUp:                    "cleaning up",
}

// bakeProgress is "12 of 15 min"; without a length (nil, and no default),
// "12 min".
func bakeProgress(in time.Duration, length *int32, otherwise int32) string {
	elapsed := int32(in / time.Minute)
	total := otherwise
	if length != nil {
		total = *length
	}
	if total < 0 {
		return fmt.Sprintf("%d min", elapsed)
	}
	return fmt.Sprintf("%d of %d min", min(elapsed, total), total)
}

// failureDetail says why, in parentheses: the cause, with the alarms or the
// reason ECS gave.
func failureDetail(sd target.ServiceDeploymentDetail, v blueGreenView) string {
	switch v.cause {
	case causeAlarm:
		return ": alarm " + strings.Join(sd.TriggeredAlarms, ", ")
	case causeOther:
		if v.reason != "" {
			return ": " + v.reason
		}
		return ""
	case causeNone:
		return ""
	}
	return ": " + string(v.cause)
}
