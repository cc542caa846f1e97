package awstest

// Deployments of the blue-green family (BLUE_GREEN, LINEAR, CANARY) in the
// ECS model: lifecycle stages in order, traffic weights, bake times, pause
// and Lambda lifecycle hooks, alarm rollbacks, ContinueServiceDeployment,
// StopServiceDeployment, and the ECS Hook State Change events. The model
// never moves by itself: a test moves it with [ECSModel.Progress] and lets
// time pass with [ECSModel.Elapse].
//
// Shapes and texts come from AWS's documentation, cited where used:
//   - The stages and their order: "Amazon ECS blue/green service
//     deployments workflow", section "Deployment lifecycle stages", Amazon
//     ECS Developer Guide,
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html:
//     RECONCILE_SERVICE (only "when you start a new service deployment with
//     more than 1 service revision in an ACTIVE state"), PRE_SCALE_UP,
//     SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT,
//     PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT,
//     POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP; "Each lifecycle
//     stage can last up to 24 hours ... The system times out, fails the
//     deployment, and then initiates a rollback after a stage reaches 24
//     hours"; a pause may last 14 days. PRE_PRODUCTION_TRAFFIC_SHIFT is
//     missing from aws-sdk-go-v2/service/ecs v1.105.1's
//     ServiceDeploymentLifecycleStage enum (it is in
//     DeploymentLifecycleHookStage): stages are strings here.
//   - Linear and canary steps: "Amazon ECS linear deployments" and "Amazon
//     ECS canary deployments" (Developer Guide,
//     .../deployment-type-linear.html, .../deployment-type-canary.html):
//     production traffic moves in equal steps of stepPercent with
//     stepBakeTimeInMinutes after each but the last, or to canaryPercent,
//     canaryBakeTimeInMinutes, then 100 %; hooks at
//     PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT run at every
//     step. ECS's defaults, 10.0 % every 6 minutes and 5.0 % for 10
//     minutes: "LinearConfiguration", "CanaryConfiguration" (API
//     Reference).
//   - Hooks: "Lifecycle hooks for Amazon ECS service deployments", "Pause
//     hooks for Amazon ECS service deployments", "Lambda hooks for Amazon
//     ECS service deployments" (Developer Guide,
//     .../deployment-lifecycle-hooks.html, .../pause-lifecycle-hooks.html,
//     .../lambda-lifecycle-hooks.html): a pause hook waits in
//     AWAITING_ACTION for ContinueServiceDeployment (CONTINUE: SUCCEEDED;
//     ROLLBACK: FAILED, and the deployment rolls back) or its timeout
//     (default 1440 minutes, then its action, ROLLBACK by default); its
//     hookId is "ecs-pause-" and 43 characters, as in the examples; a pause
//     at PRE_PRODUCTION_TRAFFIC_SHIFT of a linear or canary deployment
//     pauses at every step, each with its own hookId; a Lambda hook is
//     IN_PROGRESS until the function returns SUCCEEDED, or FAILED (a
//     rollback), or it times out; "the deployment stays paused until all
//     hooks at that stage are continued. If any hook triggers a rollback,
//     the entire deployment rolls back". AWS does not document a Lambda
//     hook's id: the model's "ecs-lambda-" ids are made up.
//   - lifecycleHookDetails: "DeploymentLifecycleHookDetail" (API Reference):
//     hookId, targetType, targetArn (Lambda hooks only), status, expiresAt,
//     timeoutAction (statuses AWAITING_ACTION, IN_PROGRESS, SUCCEEDED,
//     FAILED, TIMED_OUT). The model lists the hooks of the current stage
//     (and step).
//   - Traffic: requestedProductionTrafficWeight and
//     requestedTestTrafficWeight of "ServiceRevisionSummary" (API
//     Reference), on the target revision and, as the rest, on the source.
//   - Alarms: "ServiceDeploymentAlarms" (API Reference): status MONITORING,
//     TRIGGERED, MONITORING_COMPLETE, DISABLED; triggeredAlarmNames.
//   - Rollbacks: "ServiceDeployment" and "Rollback" (API Reference): status
//     ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL; rollback {reason,
//     serviceRevisionArn, startedAt}; without the rollback option a
//     failure detection mechanism stops the deployment (stoppedAt: "The
//     rollback option is not in use for the failure detection mechanism ...
//     and the service fails"). AWS does not document the reason texts of
//     these rollbacks: the model's (the *Reason functions below) are made
//     up.
//   - StopServiceDeployment: "Stopping Amazon ECS service deployments"
//     (Developer Guide, .../stop-service-deployment.html): a PENDING or
//     IN_PROGRESS deployment "moves to the ROLLBACK_REQUESTED state, and
//     then the rollback operation starts"; STOP_REQUESTED,
//     ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS continue. For a finished
//     one the model answers ConflictException with the exception's
//     description in the SDK ("The request could not be processed because
//     of conflict in the current state of the resource.").
//   - ContinueServiceDeployment: "Continuing service deployments"
//     (Developer Guide, .../continue-service-deployment.html): "You can
//     continue a deployment that has a pause hook in AWAITING_ACTION status.
//     The deployment must be in the IN_PROGRESS state." An unknown service
//     deployment is ServiceDeploymentNotFoundException (the SDK's errors of
//     the operation). ECS's answer to a hook that is not awaiting action is
//     not documented: the model answers InvalidParameterException with the
//     made-up [HookNotAwaiting].
//   - How DescribeServices lists the deployments of a blue-green rollback
//     is not documented: the model makes the new deployment ACTIVE and
//     FAILED, the one rolled back to (which kept production traffic)
//     PRIMARY again, and drops the failed one once the rollback succeeds.

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
)

// Lifecycle stages of a deployment of the blue-green family, in the order
// ECS goes through them (see the sources at the top of this file).
const (
	StageReconcileService           = "RECONCILE_SERVICE"
	StagePreScaleUp                 = "PRE_SCALE_UP"
	StageScaleUp                    = "SCALE_UP"
	StagePostScaleUp                = "POST_SCALE_UP"
	StageTestTrafficShift           = "TEST_TRAFFIC_SHIFT"
	StagePostTestTrafficShift       = "POST_TEST_TRAFFIC_SHIFT"
	StagePreProductionTrafficShift  = "PRE_PRODUCTION_TRAFFIC_SHIFT"
	StageProductionTrafficShift     = "PRODUCTION_TRAFFIC_SHIFT"
	StagePostProductionTrafficShift = "POST_PRODUCTION_TRAFFIC_SHIFT"
	StageBakeTime                   = "BAKE_TIME"
	StageCleanUp                    = "CLEAN_UP"
)

// Hook statuses ("DeploymentLifecycleHookDetail", API Reference), hook
// types and actions ("DeploymentLifecycleHook"), and the service deployment
// status of a requested rollback ("ServiceDeploymentStatus").
const (
	HookAwaitingAction = "AWAITING_ACTION"
	HookInProgress     = "IN_PROGRESS"
	HookSucceeded      = "SUCCEEDED"
	HookFailed         = "FAILED"
	HookTimedOut       = "TIMED_OUT"

	HookTypePause  = "PAUSE"
	HookTypeLambda = "AWS_LAMBDA"

	ActionContinue = "CONTINUE"
	ActionRollback = "ROLLBACK"

	ServiceDeploymentRollbackRequested = "ROLLBACK_REQUESTED"
	ServiceDeploymentPending           = "PENDING"
)

// Texts the model makes up where AWS documents none.
const (
	// HookNotAwaiting is the model's message of the InvalidParameterException
	// ContinueServiceDeployment answers for a hook that is not awaiting
	// action, or a deployment that is not in progress.
	HookNotAwaiting = "The lifecycle hook is not awaiting action."
	// conflict is the description of ConflictException in the SDK, the
	// model's message for a StopServiceDeployment of a finished deployment.
	conflict = "The request could not be processed because of conflict in the current state of the resource."
)

// HookFailedReason is the model's rollback reason for a hook that failed: a
// Lambda hook that returned FAILED, or a pause hook continued with
// ROLLBACK.
func HookFailedReason(hookID, stage string) string {
	return "ECS deployment lifecycle hook " + hookID + " failed at " + stage + "."
}

// HookTimedOutReason is the model's rollback reason for a hook that timed
// out with the action ROLLBACK.
func HookTimedOutReason(hookID, stage string) string {
	return "ECS deployment lifecycle hook " + hookID + " timed out at " + stage + "."
}

// AlarmReason is the model's reason for a deployment an alarm failed.
func AlarmReason(alarm string) string {
	return "ECS deployment alarm " + alarm + " is in ALARM state."
}

// StageTimedOutReason is the model's rollback reason for a stage that
// lasted 24 hours.
func StageTimedOutReason(stage string) string {
	return "ECS deployment lifecycle stage " + stage + " timed out after 24 hours."
}

// StoppedReason is the model's rollback reason of a StopServiceDeployment.
const StoppedReason = "ECS deployment stopped by StopServiceDeployment (ROLLBACK)."

// stageLimit is how long a stage may last ("Amazon ECS blue/green service
// deployments workflow"), except while a pause hook awaits action.
const stageLimit = 24 * time.Hour

// Defaults ECS applies to what the configuration leaves out ("CanaryConfiguration",
// "LinearConfiguration", "DeploymentLifecycleHookTimeoutConfiguration", API
// Reference).
const (
	defaultCanaryPercent = 5.0
	defaultCanaryBake    = 10
	defaultStepPercent   = 10.0
	defaultStepBake      = 6
	defaultHookTimeout   = 1440
)

// Rollout is a deployment of the blue-green family as the model has it:
// the service deployment's status and lifecycle stage, the traffic on the
// new revision, and the hooks of the current stage.
type Rollout struct {
	ServiceDeploymentARN string
	Status               string // IN_PROGRESS, SUCCESSFUL, ROLLBACK_IN_PROGRESS, ...
	StatusReason         string
	Stage                string
	// Production and Test are the shares of production and test traffic
	// on the new revision, in percent.
	Production, Test float64
	Hooks            []HookState
	// Rollback is the rollback's reason, "" when there is none.
	Rollback string
}

// HookState is one run of a lifecycle hook.
type HookState struct {
	ID, Type, Status, Stage, TargetARN, TimeoutAction string
	ExpiresAt                                         time.Time
}

// AwaitingHook returns the hook of the rollout awaiting action; ok is false
// when none does.
func (r Rollout) AwaitingHook() (HookState, bool) {
	for _, h := range r.Hooks {
		if h.Status == HookAwaitingAction {
			return h, true
		}
	}
	return HookState{}, false
}

// rollout is the progress of a deployment of the blue-green family.
type rollout struct {
	strategy string
	config   map[string]any // the service's deploymentConfiguration when it started
	phases   []phase
	pos      int // index of the current phase
	stageAt  time.Time
	stepAt   time.Time // when the current production step began
	bake     time.Duration
	stepBake time.Duration // after each production step but the last
	hooks    []hookConfig
	runs     []*hookRun
	alarms   []string
	alarmsRollback,
	alarmsTriggered bool
	triggered  []string
	production float64
	test       float64
	green      *modelDeployment // the deployment of the new revision
	from       *modelDeployment // the deployment a rollback returns to
}

// phase is a lifecycle stage, and for the production traffic stages the
// step (from 0) it belongs to.
type phase struct {
	stage string
	step  int
	share float64 // production share the step moves to
}

type hookConfig struct {
	targetType, targetARN, action string
	stages                        []string
	timeout                       time.Duration
}

type hookRun struct {
	id, targetType, targetARN, status, action string
	phase                                     int // index into rollout.phases
	expiresAt                                 time.Time
}

// hookEvent is an ECS Hook State Change the model sent.
type hookEvent struct {
	sd                       string
	hookID, hookType, status string
	stage                    string
	expiresAt, at            time.Time
}

// beginRollout starts the rollout of d when the service's strategy is of
// the blue-green family; listed is how many deployments DescribeServices
// listed before d started (more than one ACTIVE revision makes ECS
// reconcile first). Called with m.mu held.
func (m *ECSModel) beginRollout(s *modelService, d *modelDeployment, listed int) {
	strategy := str(s.config["strategy"])
	if strategy != "BLUE_GREEN" && strategy != "LINEAR" && strategy != "CANARY" {
		return
	}
	now := m.now()
	r := &rollout{strategy: strategy, config: s.config, green: d, from: s.lastCompleted, stageAt: now}
	r.bake = minutes(s.config["bakeTimeInMinutes"], 0)
	var steps []float64
	switch strategy {
	case "BLUE_GREEN":
		steps = []float64{100}
	case "CANARY":
		c, _ := s.config["canaryConfiguration"].(map[string]any)
		steps = []float64{number(c["canaryPercent"], defaultCanaryPercent), 100}
		r.stepBake = minutes(c["canaryBakeTimeInMinutes"], defaultCanaryBake)
	case "LINEAR":
		l, _ := s.config["linearConfiguration"].(map[string]any)
		step := number(l["stepPercent"], defaultStepPercent)
		for p := step; p < 100-1e-9; p += step {
			steps = append(steps, float64(int(p*10+0.5))/10)
		}
		steps = append(steps, 100)
		r.stepBake = minutes(l["stepBakeTimeInMinutes"], defaultStepBake)
	}
	if listed > 1 {
		r.phases = append(r.phases, phase{stage: StageReconcileService})
	}
	for _, st := range []string{StagePreScaleUp, StageScaleUp, StagePostScaleUp, StageTestTrafficShift, StagePostTestTrafficShift} {
		r.phases = append(r.phases, phase{stage: st})
	}
	for i, share := range steps {
		r.phases = append(r.phases, phase{stage: StagePreProductionTrafficShift, step: i, share: share}, phase{stage: StageProductionTrafficShift, step: i, share: share})
	}
	for _, st := range []string{StagePostProductionTrafficShift, StageBakeTime, StageCleanUp} {
		r.phases = append(r.phases, phase{stage: st})
	}
	hooks, _ := s.config["lifecycleHooks"].([]any)
	for _, v := range hooks {
		h, _ := v.(map[string]any)
		hc := hookConfig{targetType: cmp.Or(str(h["targetType"]), HookTypeLambda), targetARN: str(h["hookTargetArn"]), action: ActionRollback, timeout: defaultHookTimeout * time.Minute}
		if tc, ok := h["timeoutConfiguration"].(map[string]any); ok {
			hc.timeout = minutes(tc["timeoutInMinutes"], defaultHookTimeout)
			hc.action = cmp.Or(str(tc["action"]), ActionRollback)
		}
		stages, _ := h["lifecycleStages"].([]any)
		for _, st := range stages {
			hc.stages = append(hc.stages, str(st))
		}
		r.hooks = append(r.hooks, hc)
	}
	if a, ok := s.config["alarms"].(map[string]any); ok && a["enable"] == true {
		names, _ := a["alarmNames"].([]any)
		for _, n := range names {
			r.alarms = append(r.alarms, str(n))
		}
		r.alarmsRollback = a["rollback"] == true
	}
	d.sd.rollout = r
	d.sd.breaker = "DISABLED" // the circuit breaker is for rolling updates
	m.enter(s, d.sd, now)
}

// enter starts the rollout's current phase: its traffic, and the runs of
// the hooks configured at its stage. Called with m.mu held.
func (m *ECSModel) enter(s *modelService, sd *serviceDeployment, now time.Time) {
	r := sd.rollout
	ph := r.phases[r.pos]
	r.stageAt, sd.updatedAt = now, now
	switch ph.stage {
	case StageTestTrafficShift:
		r.test = 100
	case StageProductionTrafficShift:
		r.production, r.stepAt = ph.share, now
	}
	for _, h := range r.hooks {
		if !slices.Contains(h.stages, ph.stage) {
			continue
		}
		run := &hookRun{targetType: h.targetType, targetARN: h.targetARN, action: h.action, phase: r.pos, expiresAt: now.Add(h.timeout)}
		if h.targetType == HookTypePause {
			run.id, run.status = "ecs-pause-"+randomID(43), HookAwaitingAction
		} else {
			run.id, run.status = "ecs-lambda-"+randomID(43), HookInProgress
		}
		r.runs = append(r.runs, run)
		s.hookEvent(sd, run, now)
	}
}

// hookEvent records the ECS Hook State Change of a hook run's status.
func (s *modelService) hookEvent(sd *serviceDeployment, run *hookRun, now time.Time) {
	s.hookEvents = append(s.hookEvents, hookEvent{
		sd: sd.arn, hookID: run.id, hookType: run.targetType, status: run.status,
		stage: sd.rollout.phases[run.phase].stage, expiresAt: run.expiresAt, at: now,
	})
}

// randomID returns n random characters of the base64url alphabet, the
// alphabet of the documentation's hook ids.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func minutes(v any, otherwise int) time.Duration {
	return time.Duration(int(number(v, float64(otherwise)))) * time.Minute
}

// number reads a JSON number of a decoded request (json.Number or
// float64), or otherwise if v is neither.
func number(v any, otherwise float64) float64 {
	switch v := v.(type) {
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return f
		}
	case float64:
		return v
	}
	return otherwise
}

// mergeConfig returns the deploymentConfiguration an UpdateService leaves:
// the members it sends replace the service's, the others stay. UpdateService
// keeps what it is not sent (the API is stateful: aws/aws-cdk#25346,
// aws/copilot-cli#4565); moto instead replaces the whole object.
func mergeConfig(current, sent map[string]any) map[string]any {
	if current == nil && sent == nil {
		return nil
	}
	out := make(map[string]any, len(current)+len(sent))
	for k, v := range current {
		out[k] = v
	}
	for k, v := range sent {
		out[k] = v
	}
	return out
}

// --- drivers ---

// Elapse moves the model's clock d forward: bake times end, hooks expire
// and stages time out at the next [ECSModel.Progress]. Timestamps the model
// writes from then on are later by d.
func (m *ECSModel) Elapse(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.now
	m.now = func() time.Time { return prev().Add(d) }
}

// Rollout returns the service's newest deployment of the blue-green
// family; ok is false when the service has none.
func (m *ECSModel) Rollout(cluster, service string) (r Rollout, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.services[keyOf(cluster, service)]
	if s == nil {
		return Rollout{}, false
	}
	sd := s.rolloutDeployment()
	if sd == nil {
		return Rollout{}, false
	}
	return sd.snapshot(), true
}

// Progress moves the service's newest deployment of the blue-green family
// on, as far as it goes at the model's time: through the stages until a
// hook holds it (a pause awaiting action, a Lambda hook in progress), a
// bake or step bake has time left, or it ends (SUCCESSFUL, or STOPPED).
// Hooks and stages whose time is up take their action on the way. A
// rollback that starts on the way (a timeout, or one StopServiceDeployment
// requested) stops it there, ROLLBACK_IN_PROGRESS; a rollback in progress
// ends, ROLLBACK_SUCCESSFUL. It returns where the deployment is.
func (m *ECSModel) Progress(ctx context.Context, cluster, service string) (Rollout, error) {
	return m.progress(ctx, cluster, service, "")
}

// ProgressTo is [ECSModel.Progress] that stops as soon as the deployment
// enters stage. It returns an error if the deployment is held, or ends,
// before it gets there.
func (m *ECSModel) ProgressTo(ctx context.Context, cluster, service, stage string) (Rollout, error) {
	r, err := m.progress(ctx, cluster, service, stage)
	if err == nil && r.Stage != stage {
		err = fmt.Errorf("ECS model: %s/%s is held at %s (%s), before %s", cluster, service, r.Stage, r.Status, stage)
	}
	return r, err
}

func (m *ECSModel) progress(ctx context.Context, cluster, service, until string) (Rollout, error) {
	m.mu.Lock()
	s := m.services[keyOf(cluster, service)]
	if s == nil || len(s.history) == 0 {
		m.mu.Unlock()
		return Rollout{}, fmt.Errorf("ECS model: no deployment of %s/%s (a call through the proxy must name the service first)", cluster, service)
	}
	sd := s.history[len(s.history)-1]
	var repoint []string
	if sd.rollout == nil {
		// A rolling update: only a requested rollback moves, as the
		// circuit breaker's would (finish it with [ECSModel.Complete]).
		if sd.status == ServiceDeploymentRollbackRequested {
			if p := s.primary(); p != nil && p.sd == sd {
				td, err := s.rollBack(p, sd.statusReason, sd.statusReason, m.now())
				if err != nil {
					m.mu.Unlock()
					return Rollout{}, fmt.Errorf("ECS model: %s/%s: %w", cluster, service, err)
				}
				repoint = append(repoint, td)
			}
		}
	} else {
		for {
			td, moved := m.step(s, sd, m.now())
			if td != "" {
				repoint = append(repoint, td)
			}
			if !moved || sd.status == ServiceDeploymentRollbackInProgress && td != "" ||
				(until != "" && sd.rollout.stage() == until && sd.status == ServiceDeploymentInProgress) {
				// A rollback that starts is left in progress, for the
				// next call to finish.
				break
			}
		}
	}
	snap := sd.snapshot()
	m.mu.Unlock()
	for _, td := range repoint {
		if err := m.repoint(ctx, cluster, service, td); err != nil {
			return snap, err
		}
	}
	return snap, nil
}

// step moves the deployment one step on: into the next phase, through a
// timeout, or on with its rollback. It reports whether it moved, and the
// task definition moto's service must point at after a rollback started.
// Called with m.mu held.
func (m *ECSModel) step(s *modelService, sd *serviceDeployment, now time.Time) (repoint string, moved bool) {
	r := sd.rollout
	switch sd.status {
	case ServiceDeploymentRollbackRequested:
		return m.rollBack(s, sd, sd.statusReason, now), true
	case ServiceDeploymentRollbackInProgress:
		sd.status, sd.finishedAt, sd.updatedAt = ServiceDeploymentRollbackSuccessful, now, now
		s.deployments = slices.DeleteFunc(s.deployments, func(d *modelDeployment) bool { return d == r.green })
		return "", true
	case ServiceDeploymentInProgress:
	default:
		return "", false
	}
	held, pausing := false, false
	for _, run := range r.runs {
		if run.phase != r.pos || (run.status != HookAwaitingAction && run.status != HookInProgress) {
			continue
		}
		if now.Before(run.expiresAt) {
			held = true
			pausing = pausing || run.status == HookAwaitingAction
			continue
		}
		run.status = HookTimedOut
		s.hookEvent(sd, run, now)
		if run.action == ActionRollback {
			return m.rollBack(s, sd, HookTimedOutReason(run.id, r.stage()), now), true
		}
	}
	if held {
		if !pausing && !now.Before(r.stageAt.Add(stageLimit)) {
			return m.rollBack(s, sd, StageTimedOutReason(r.stage()), now), true
		}
		return "", false
	}
	ph := r.phases[r.pos]
	switch {
	case ph.stage == StageProductionTrafficShift && ph.share < 100 && now.Before(r.stepAt.Add(r.stepBake)):
		return "", false
	case ph.stage == StageBakeTime && now.Before(r.stageAt.Add(r.bake)):
		return "", false
	}
	if r.pos == len(r.phases)-1 {
		// CLEAN_UP is done: the new revision is the service's.
		g := r.green
		g.rollout, g.reason, g.updatedAt = RolloutCompleted, localaws.CompletedReason(g.id), now
		s.deployments = []*modelDeployment{g}
		s.lastCompleted = g
		sd.status, sd.finishedAt, sd.updatedAt = ServiceDeploymentSuccessful, now, now
		r.production = 100
		return "", true
	}
	r.pos++
	m.enter(s, sd, now)
	return "", true
}

// rollBack rolls the deployment back with reason: traffic returns to the
// revision it replaced, which becomes PRIMARY again, and the new one is
// FAILED. Without a deployment to return to, the deployment is STOPPED
// instead. It returns the task definition moto's service must point at.
// Called with m.mu held.
func (m *ECSModel) rollBack(s *modelService, sd *serviceDeployment, reason string, now time.Time) string {
	r := sd.rollout
	g := r.green
	g.status, g.rollout, g.reason, g.updatedAt = DeploymentActive, RolloutFailed, reason, now
	sd.statusReason, sd.updatedAt = reason, now
	r.production, r.test = 0, 0
	to := r.from
	if to == nil {
		g.status = DeploymentPrimary
		sd.status, sd.stoppedAt = ServiceDeploymentStopped, now
		return ""
	}
	sd.status = ServiceDeploymentRollbackInProgress
	sd.rollback = &sdRollback{reason: reason, revision: to.revision, startedAt: now}
	s.deployments = slices.DeleteFunc(s.deployments, func(d *modelDeployment) bool { return d == to })
	to.status, to.updatedAt = DeploymentPrimary, now
	s.deployments = slices.Insert(s.deployments, 0, to)
	return to.taskDefinition
}

// LambdaHookReturns answers the Lambda hooks in progress at the current
// stage of the service's deployment as their functions would: SUCCEEDED
// lets the stage finish, FAILED rolls the deployment back ("Lambda hooks
// for Amazon ECS service deployments"). It returns an error when no Lambda
// hook is in progress.
func (m *ECSModel) LambdaHookReturns(ctx context.Context, cluster, service, hookStatus string) error {
	if hookStatus != HookSucceeded && hookStatus != HookFailed {
		return fmt.Errorf("ECS model: a Lambda hook returns %s or %s, not %s", HookSucceeded, HookFailed, hookStatus)
	}
	m.mu.Lock()
	s := m.services[keyOf(cluster, service)]
	var sd *serviceDeployment
	if s != nil && len(s.history) > 0 && s.history[len(s.history)-1].rollout != nil {
		sd = s.history[len(s.history)-1]
	}
	if sd == nil || sd.status != ServiceDeploymentInProgress {
		m.mu.Unlock()
		return fmt.Errorf("ECS model: %s/%s has no deployment of the blue-green family in progress", cluster, service)
	}
	r, now, td, answered := sd.rollout, m.now(), "", false
	for _, run := range r.runs {
		if run.phase != r.pos || run.targetType != HookTypeLambda || run.status != HookInProgress {
			continue
		}
		run.status, answered = hookStatus, true
		s.hookEvent(sd, run, now)
		if hookStatus == HookFailed && td == "" && sd.status == ServiceDeploymentInProgress {
			td = m.rollBack(s, sd, HookFailedReason(run.id, r.stage()), now)
		}
	}
	m.mu.Unlock()
	if !answered {
		return fmt.Errorf("ECS model: no Lambda hook of %s/%s is in progress", cluster, service)
	}
	if td != "" {
		return m.repoint(ctx, cluster, service, td)
	}
	return nil
}

// AlarmFires puts a CloudWatch alarm the service's deployment watches into
// ALARM while the deployment runs: the deployment rolls back when its
// alarms roll back, and stops otherwise. It returns an error when the
// deployment does not watch the alarm, or has ended.
func (m *ECSModel) AlarmFires(ctx context.Context, cluster, service, alarm string) error {
	m.mu.Lock()
	s := m.services[keyOf(cluster, service)]
	var sd *serviceDeployment
	if s != nil && len(s.history) > 0 && s.history[len(s.history)-1].rollout != nil {
		sd = s.history[len(s.history)-1]
	}
	if sd == nil || sd.status != ServiceDeploymentInProgress {
		m.mu.Unlock()
		return fmt.Errorf("ECS model: %s/%s has no deployment of the blue-green family in progress", cluster, service)
	}
	r, now, td := sd.rollout, m.now(), ""
	if !slices.Contains(r.alarms, alarm) {
		m.mu.Unlock()
		return fmt.Errorf("ECS model: the deployment of %s/%s does not watch alarm %s (it watches %v)", cluster, service, alarm, r.alarms)
	}
	r.alarmsTriggered, r.triggered = true, append(r.triggered, alarm)
	if r.alarmsRollback {
		td = m.rollBack(s, sd, AlarmReason(alarm), now)
	} else {
		g := r.green
		g.rollout, g.reason, g.updatedAt = RolloutFailed, AlarmReason(alarm), now
		sd.status, sd.statusReason, sd.stoppedAt, sd.updatedAt = ServiceDeploymentStopped, AlarmReason(alarm), now, now
	}
	m.mu.Unlock()
	if td != "" {
		return m.repoint(ctx, cluster, service, td)
	}
	return nil
}

// HookEvents returns the ECS Hook State Change events of the service's
// hooks in the order ECS would send them, as EventBridge delivers them
// ([localaws.HookEvent]). Deliver them late, twice, out of order or never,
// as EventBridge may.
func (m *ECSModel) HookEvents(cluster, service string) ([][]byte, error) {
	m.mu.Lock()
	s := m.services[keyOf(cluster, service)]
	var events []hookEvent
	if s != nil {
		events = slices.Clone(s.hookEvents)
	}
	m.mu.Unlock()
	out := make([][]byte, 0, len(events))
	for _, e := range events {
		b, err := e.json()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// HookEvent returns the ECS Hook State Change event of the hook's latest
// status.
func (m *ECSModel) HookEvent(cluster, service, hookID string) ([]byte, error) {
	m.mu.Lock()
	s := m.services[keyOf(cluster, service)]
	var last *hookEvent
	if s != nil {
		for i := range s.hookEvents {
			if s.hookEvents[i].hookID == hookID {
				e := s.hookEvents[i]
				last = &e
			}
		}
	}
	m.mu.Unlock()
	if last == nil {
		return nil, fmt.Errorf("ECS model: %s/%s has no hook %s", cluster, service, hookID)
	}
	return last.json()
}

// json returns the event as EventBridge delivers it. Its id is the same at
// every call, as two deliveries of one event share it.
func (e hookEvent) json() ([]byte, error) {
	sum := sha256.Sum256([]byte(e.hookID + "\x00" + e.status + "\x00" + e.at.Format(time.RFC3339Nano)))
	b := sum[:16]
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80 // a version 4 UUID, the shape of EventBridge event ids
	return localaws.HookEvent{
		ID: fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), ServiceDeploymentARN: e.sd,
		EventName: "HOOK_" + e.status, HookID: e.hookID, HookType: e.hookType, Stage: e.stage, ExpiresAt: e.expiresAt, At: e.at,
	}.JSON()
}

// rolloutDeployment returns the service's newest service deployment of the
// blue-green family, or nil. Called with m.mu held.
func (s *modelService) rolloutDeployment() *serviceDeployment {
	for _, sd := range slices.Backward(s.history) {
		if sd.rollout != nil {
			return sd
		}
	}
	return nil
}

func (r *rollout) stage() string { return r.phases[r.pos].stage }

// snapshot returns the deployment as a Rollout; a rolling update has no
// stage, traffic or hooks. Called with m.mu held.
func (sd *serviceDeployment) snapshot() Rollout {
	out := Rollout{ServiceDeploymentARN: sd.arn, Status: sd.status, StatusReason: sd.statusReason}
	if sd.rollback != nil {
		out.Rollback = sd.rollback.reason
	}
	r := sd.rollout
	if r == nil {
		return out
	}
	out.Stage, out.Production, out.Test = r.stage(), r.production, r.test
	for _, run := range r.current() {
		out.Hooks = append(out.Hooks, HookState{
			ID: run.id, Type: run.targetType, Status: run.status, Stage: r.phases[run.phase].stage,
			TargetARN: run.targetARN, TimeoutAction: run.action, ExpiresAt: run.expiresAt,
		})
	}
	return out
}

// current returns the hook runs of the current phase.
func (r *rollout) current() []*hookRun {
	var out []*hookRun
	for _, run := range r.runs {
		if run.phase == r.pos {
			out = append(out, run)
		}
	}
	return out
}

// describe adds to o (a ServiceDeployment of DescribeServiceDeployments)
// what the rollout knows: the lifecycle stage, the hooks of the stage, the
// traffic weights, the alarms and the configuration it deploys with.
// Called with m.mu held.
func (r *rollout) describe(o map[string]any) {
	o["lifecycleStage"] = r.stage()
	details := []any{}
	for _, run := range r.current() {
		d := map[string]any{"hookId": run.id, "targetType": run.targetType, "status": run.status, "expiresAt": epoch(run.expiresAt), "timeoutAction": run.action}
		setString(d, "targetArn", run.targetARN)
		details = append(details, d)
	}
	o["lifecycleHookDetails"] = details
	if t, ok := o["targetServiceRevision"].(map[string]any); ok {
		t["requestedProductionTrafficWeight"], t["requestedTestTrafficWeight"] = r.production, r.test
	}
	if sources, ok := o["sourceServiceRevisions"].([]any); ok {
		for _, v := range sources {
			if src, ok := v.(map[string]any); ok {
				src["requestedProductionTrafficWeight"], src["requestedTestTrafficWeight"] = 100-r.production, 100-r.test
			}
		}
	}
	if r.config != nil {
		o["deploymentConfiguration"] = r.config
	}
	if len(r.alarms) > 0 {
		status := "MONITORING"
		if r.alarmsTriggered {
			status = "TRIGGERED"
		}
		o["alarms"] = map[string]any{"alarmNames": r.alarms, "status": status, "triggeredAlarmNames": orEmpty(anySlice(r.triggered))}
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// --- ContinueServiceDeployment and StopServiceDeployment ---

func (m *ECSModel) interceptRollouts(p *Proxy) {
	p.Intercept("ecs:ContinueServiceDeployment", m.refusable(m.continueServiceDeployment))
	p.Intercept("ecs:StopServiceDeployment", m.refusable(m.stopServiceDeployment))
}

// findServiceDeployment returns the service deployment with the ARN and its
// service, or nils. Called with m.mu held.
func (m *ECSModel) findServiceDeployment(arn string) (*modelService, *serviceDeployment) {
	for _, s := range m.services {
		for _, sd := range s.history {
			if sd.arn == arn {
				return s, sd
			}
		}
	}
	return nil, nil
}

func (m *ECSModel) continueServiceDeployment(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		ServiceDeploymentARN string `json:"serviceDeploymentArn"`
		HookID               string `json:"hookId"`
		Action               string `json:"action"`
	}
	if err := json.Unmarshal(in.Call.Request, &req); err != nil || req.ServiceDeploymentARN == "" || req.HookID == "" {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", "serviceDeploymentArn and hookId must be specified."), nil
	}
	action := cmp.Or(req.Action, ActionContinue) // "If no value is specified, the default action is CONTINUE."
	if action != ActionContinue && action != ActionRollback {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", "action must be CONTINUE or ROLLBACK."), nil
	}
	m.mu.Lock()
	s, sd := m.findServiceDeployment(req.ServiceDeploymentARN)
	if sd == nil {
		m.mu.Unlock()
		// The exception's description in the SDK.
		return in.Error(http.StatusBadRequest, "ServiceDeploymentNotFoundException", "The service deploy ARN that you specified in the ContinueServiceDeployment doesn't exist."), nil
	}
	var run *hookRun
	if r := sd.rollout; r != nil && sd.status == ServiceDeploymentInProgress {
		for _, h := range r.current() {
			if h.id == req.HookID && h.targetType == HookTypePause && h.status == HookAwaitingAction && m.now().Before(h.expiresAt) {
				run = h
			}
		}
	}
	if run == nil {
		m.mu.Unlock()
		return in.Error(http.StatusBadRequest, "InvalidParameterException", HookNotAwaiting), nil
	}
	now, td := m.now(), ""
	if action == ActionContinue {
		run.status = HookSucceeded
		s.hookEvent(sd, run, now)
	} else {
		run.status = HookFailed
		s.hookEvent(sd, run, now)
		td = m.rollBack(s, sd, HookFailedReason(run.id, sd.rollout.stage()), now)
	}
	cluster, service := s.names()
	m.mu.Unlock()
	if td != "" {
		if err := m.repoint(ctx, cluster, service, td); err != nil {
			return nil, err
		}
	}
	return in.JSON(map[string]any{"serviceDeploymentArn": req.ServiceDeploymentARN})
}

func (m *ECSModel) stopServiceDeployment(_ context.Context, in Intercepted) (*Response, error) {
	var req struct {
		ServiceDeploymentARN string `json:"serviceDeploymentArn"`
		StopType             string `json:"stopType"`
	}
	if err := json.Unmarshal(in.Call.Request, &req); err != nil || req.ServiceDeploymentARN == "" {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", "serviceDeploymentArn must be specified."), nil
	}
	if st := cmp.Or(req.StopType, ActionRollback); st != ActionRollback {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", "The model supports stopType ROLLBACK only."), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, sd := m.findServiceDeployment(req.ServiceDeploymentARN)
	switch {
	case sd == nil:
		return in.Error(http.StatusBadRequest, "ServiceDeploymentNotFoundException", "The service deployment does not exist."), nil
	case sd.status == ServiceDeploymentInProgress || sd.status == ServiceDeploymentPending:
		sd.status, sd.statusReason, sd.updatedAt = ServiceDeploymentRollbackRequested, StoppedReason, m.now()
	case sd.status == ServiceDeploymentRollbackRequested || sd.status == ServiceDeploymentRollbackInProgress:
		// The rollback goes on.
	default:
		return in.Error(http.StatusBadRequest, "ConflictException", conflict), nil
	}
	return in.JSON(map[string]any{"serviceDeploymentArn": req.ServiceDeploymentARN})
}

// names returns the cluster and service name of the service.
func (s *modelService) names() (cluster, service string) {
	cluster, service, _ = ecsref.ParseServiceARN(s.arn)
	return cluster, service
}
