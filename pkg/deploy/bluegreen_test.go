package deploy

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestJudgeBlueGreen(t *testing.T) {
	const arn = "arn:aws:ecs:eu-west-1:111111111111:service-deployment/apps/web/NCWGC2ZR-taawPAYrIaU5"
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(minutesAgo int) time.Time { return now.Add(-time.Duration(minutesAgo) * time.Minute) }
	expires := time.Date(2026, 12, 2, 9, 48, 0, 0, time.UTC)
	canary := func(status, stage string, production float64, updated time.Time) target.ServiceDeploymentDetail {
		return target.ServiceDeploymentDetail{
			ARN: arn, Status: status, Stage: stage, Strategy: "CANARY", BakeMinutes: aws.Int32(30),
			CanaryPercent: aws.Float64(10), CanaryBakeMinutes: aws.Int32(15), Production: aws.Float64(production), Test: aws.Float64(100), UpdatedAt: updated,
		}
	}
	with := func(sd target.ServiceDeploymentDetail, change func(*target.ServiceDeploymentDetail)) target.ServiceDeploymentDetail {
		change(&sd)
		return sd
	}
	pause := target.HookDetail{ID: "ecs-pause-1", Type: "PAUSE", Status: "AWAITING_ACTION", TimeoutAction: "ROLLBACK", ExpiresAt: expires}
	lambda := target.HookDetail{ID: "ecs-lambda-1", Type: "AWS_LAMBDA", Status: "IN_PROGRESS", TargetARN: "arn:aws:lambda:eu-west-1:111111111111:function:smoke-test", TimeoutAction: "ROLLBACK"}
	rolledBack := func(reason string) *target.RollbackDetail {
		return &target.RollbackDetail{Reason: reason, RevisionARN: "arn:aws:ecs:eu-west-1:111111111111:service-revision/apps/web/1", StartedAt: at(1)}
	}
	tests := []struct {
		name     string
		sd       target.ServiceDeploymentDetail
		current  string
		rollout  state.Rollout
		cause    rollbackCause
		awaiting bool
		text     string
	}{
		{"canary baking its share", canary("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10, at(12)), arn, state.InProgress, causeNone, false, "canary 10 %, baking, 12 of 15 min"},
		{"canary bake with ECS's default", with(canary("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10, at(3)), func(sd *target.ServiceDeploymentDetail) { sd.CanaryBakeMinutes = nil }),
			arn, state.InProgress, causeNone, false, "canary 10 %, baking, 3 of 10 min"},
		{"the bake after all traffic moved", canary("IN_PROGRESS", "BAKE_TIME", 100, at(29)), arn, state.InProgress, causeNone, false, "canary 100 %, baking, 29 of 30 min"},
		{"a bake past its time is still in progress", canary("IN_PROGRESS", "BAKE_TIME", 100, at(45)), arn, state.InProgress, causeNone, false, "canary 100 %, baking, 30 of 30 min"},
		{"cleaning up is not done", canary("IN_PROGRESS", "CLEAN_UP", 100, at(1)), arn, state.InProgress, causeNone, false, "canary 100 %, cleaning up"},
		{"successful after the bake", canary("SUCCESSFUL", "CLEAN_UP", 100, at(1)), arn, state.Completed, causeNone, false, "canary 100 %, completed"},
		{"linear step", target.ServiceDeploymentDetail{ARN: arn, Status: "IN_PROGRESS", Stage: "PRODUCTION_TRAFFIC_SHIFT", Strategy: "LINEAR", Production: aws.Float64(30), UpdatedAt: at(2)},
			arn, state.InProgress, causeNone, false, "linear 30 %, baking, 2 of 6 min"},
		{"blue-green shifting", target.ServiceDeploymentDetail{ARN: arn, Status: "IN_PROGRESS", Stage: "PRODUCTION_TRAFFIC_SHIFT", Strategy: "BLUE_GREEN", Production: aws.Float64(0)},
			arn, state.InProgress, causeNone, false, "blue-green 0 %, shifting production traffic"},
		{"test traffic", target.ServiceDeploymentDetail{ARN: arn, Status: "IN_PROGRESS", Stage: "POST_TEST_TRAFFIC_SHIFT", Strategy: "BLUE_GREEN", Production: aws.Float64(0)},
			arn, state.InProgress, causeNone, false, "blue-green 0 %, test traffic on the new revision"},
		{"a stage the SDK does not know", target.ServiceDeploymentDetail{ARN: arn, Status: "IN_PROGRESS", Stage: "PRE_PRODUCTION_TRAFFIC_SHIFT", Strategy: "LINEAR", Production: aws.Float64(20)},
			arn, state.InProgress, causeNone, false, "linear 20 %, before shifting production traffic"},
		{"a stage nobody documents yet", target.ServiceDeploymentDetail{ARN: arn, Status: "IN_PROGRESS", Stage: "WARM_UP", Strategy: "CANARY"},
			arn, state.InProgress, causeNone, false, "canary, warm-up"},
		{"pending", target.ServiceDeploymentDetail{ARN: arn, Status: "PENDING", Strategy: "CANARY"}, arn, state.InProgress, causeNone, false, "canary, pending"},
		{"awaiting approval", with(canary("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", 0, at(5)), func(sd *target.ServiceDeploymentDetail) { sd.Hooks = []target.HookDetail{pause} }),
			arn, state.InProgress, causeNone, true, "canary 0 %, awaiting approval at post-test-traffic-shift until 2026-12-02 09:48 UTC"},
		{"a Lambda hook running", with(canary("IN_PROGRESS", "POST_SCALE_UP", 0, at(5)), func(sd *target.ServiceDeploymentDetail) { sd.Hooks = []target.HookDetail{lambda} }),
			arn, state.InProgress, causeNone, false, "canary 0 %, hook smoke-test running at post-scale-up"},
		{"approval rejected", with(canary("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", 0, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.Hooks = []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "FAILED", TimeoutAction: "ROLLBACK"}}
			sd.Rollback = rolledBack("hook failed")
		}), arn, state.Failed, causeRejected, false, "canary rolling back at post-test-traffic-shift: approval rejected"},
		{"approval timed out", with(canary("ROLLBACK_SUCCESSFUL", "POST_TEST_TRAFFIC_SHIFT", 0, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.Hooks = []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "TIMED_OUT", TimeoutAction: "ROLLBACK"}}
		}), arn, state.Failed, causeApprovalTimeout, false, "canary rolled back at post-test-traffic-shift: approval timed out"},
		{"an approval that timed out to continue is no cause", with(canary("ROLLBACK_SUCCESSFUL", "BAKE_TIME", 100, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.Hooks = []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "TIMED_OUT", TimeoutAction: "CONTINUE"}}
			sd.TriggeredAlarms = []string{"web-5xx"}
		}), arn, state.Failed, causeAlarm, false, "canary rolled back at bake-time: alarm web-5xx"},
		{"Lambda hook failed", with(canary("ROLLBACK_SUCCESSFUL", "POST_SCALE_UP", 0, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.Hooks = []target.HookDetail{{ID: "ecs-lambda-1", Type: "AWS_LAMBDA", Status: "FAILED", TimeoutAction: "ROLLBACK"}}
		}), arn, state.Failed, causeHook, false, "canary rolled back at post-scale-up: lifecycle hook failed"},
		{"Lambda hook timed out", with(canary("ROLLBACK_SUCCESSFUL", "POST_SCALE_UP", 0, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.Hooks = []target.HookDetail{{ID: "ecs-lambda-1", Type: "AWS_LAMBDA", Status: "TIMED_OUT", TimeoutAction: "ROLLBACK"}}
		}), arn, state.Failed, causeHookTimeout, false, "canary rolled back at post-scale-up: lifecycle hook timed out"},
		{"alarm during the bake", with(canary("ROLLBACK_IN_PROGRESS", "BAKE_TIME", 0, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.TriggeredAlarms, sd.Rollback = []string{"web-5xx"}, rolledBack("alarm")
		}), arn, state.Failed, causeAlarm, false, "canary rolling back at bake-time: alarm web-5xx"},
		{"alarm without rollback stops it", with(canary("STOPPED", "BAKE_TIME", 100, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.TriggeredAlarms = []string{"web-5xx"}
		}), arn, state.Failed, causeAlarm, false, "canary stopped at bake-time: alarm web-5xx"},
		{"a rollback ECS says no more of", with(canary("ROLLBACK_SUCCESSFUL", "BAKE_TIME", 0, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.Rollback = rolledBack("Stopped by user.")
		}), arn, state.Failed, causeOther, false, "canary rolled back at bake-time: Stopped by user."},
		{"a requested rollback is failed already", canary("ROLLBACK_REQUESTED", "BAKE_TIME", 100, at(1)), arn, state.Failed, causeOther, false, "canary rolling back at bake-time"},
		{"a rollback that failed", canary("ROLLBACK_FAILED", "PRODUCTION_TRAFFIC_SHIFT", 10, at(1)), arn, state.Failed, causeOther, false, "canary rollback failed at production-traffic-shift"},
		{"circuit breaker", with(canary("ROLLBACK_SUCCESSFUL", "SCALE_UP", 0, at(1)), func(sd *target.ServiceDeploymentDetail) { sd.CircuitBreaker = "TRIGGERED" }),
			arn, state.Failed, causeCircuitBreaker, false, "canary rolled back at scale-up: circuit breaker"},
		{"stopped because a newer deployment started", canary("STOPPED", "POST_TEST_TRAFFIC_SHIFT", 0, at(1)), arn + "-newer", state.Superseded, causeNone, false, "canary superseded by a newer deployment"},
		{"stopped, and still the service's current", canary("STOPPED", "POST_TEST_TRAFFIC_SHIFT", 0, at(1)), arn, state.Failed, causeOther, false, "canary stopped at post-test-traffic-shift"},
		{"stopped, the service's current unknown", canary("STOP_REQUESTED", "POST_TEST_TRAFFIC_SHIFT", 0, at(1)), "", state.Failed, causeOther, false, "canary stopped at post-test-traffic-shift"},
		{"a paused hook of a deployment rolling back awaits nothing", with(canary("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", 0, at(1)), func(sd *target.ServiceDeploymentDetail) {
			sd.Hooks = []target.HookDetail{pause}
		}), arn, state.Failed, causeOther, false, "canary rolling back at post-test-traffic-shift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judgeBlueGreen(tt.sd, tt.current, now)
			if v.rollout != tt.rollout || v.cause != tt.cause || (v.awaiting != nil) != tt.awaiting || v.text != tt.text {
				t.Errorf("judgeBlueGreen = rollout %s, cause %q, awaiting %v, text %q\nwant rollout %s, cause %q, awaiting %v, text %q",
					v.rollout, v.cause, v.awaiting != nil, v.text, tt.rollout, tt.cause, tt.awaiting, tt.text)
			}
			if v.stage != tt.sd.Stage {
				t.Errorf("stage %q, want %q", v.stage, tt.sd.Stage)
			}
		})
	}
}

func TestJudgeBlueGreenReason(t *testing.T) {
	sd := target.ServiceDeploymentDetail{ARN: "a", Status: "ROLLBACK_SUCCESSFUL", Reason: "status reason", Rollback: &target.RollbackDetail{Reason: "rollback reason"}}
	if v := judgeBlueGreen(sd, "a", time.Now()); v.reason != "rollback reason" || v.production != -1 {
		t.Errorf("reason %q, production %v", v.reason, v.production)
	}
	sd.Rollback = nil
	if v := judgeBlueGreen(sd, "a", time.Now()); v.reason != "status reason" {
		t.Errorf("reason %q", v.reason)
	}
}

func TestStageReached(t *testing.T) {
	for _, tt := range []struct {
		current, want string
		reached       bool
	}{
		{"POST_TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", true},
		{"PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", true},
		{"BAKE_TIME", "POST_PRODUCTION_TRAFFIC_SHIFT", true},
		{"TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", false},
		{"RECONCILE_SERVICE", "PRE_SCALE_UP", false},
		{"", "PRE_SCALE_UP", false},
		{"WARM_UP", "PRE_SCALE_UP", false},
		{"CLEAN_UP", "WARM_UP", false},
	} {
		if got := stageReached(tt.current, tt.want); got != tt.reached {
			t.Errorf("stageReached(%s, %s) = %v, want %v", tt.current, tt.want, got, tt.reached)
		}
	}
}
