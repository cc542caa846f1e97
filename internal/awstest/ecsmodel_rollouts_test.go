package awstest_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// deploy points the service at td with the deployment configuration dc,
// through the proxy, as ecrdeploy would.
func (w modelWorld) deploy(t *testing.T, td string, dc *ecstypes.DeploymentConfiguration) {
	t.Helper()
	if _, err := w.env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("worker"), TaskDefinition: aws.String(td), DeploymentConfiguration: dc,
	}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
}

func (w modelWorld) progress(t *testing.T) awstest.Rollout {
	t.Helper()
	return awstest.Must(w.env.ECSModel.Progress(t.Context(), "prod", "worker"))(t)
}

func (w modelWorld) progressTo(t *testing.T, stage string) awstest.Rollout {
	t.Helper()
	return awstest.Must(w.env.ECSModel.ProgressTo(t.Context(), "prod", "worker", stage))(t)
}

// serviceDeployment describes the service deployment through the proxy.
func (w modelWorld) serviceDeployment(t *testing.T, arn string) ecstypes.ServiceDeployment {
	t.Helper()
	out, err := w.env.ECS().DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments: %v %+v", err, out)
	}
	return out.ServiceDeployments[0]
}

func (w modelWorld) continueHook(t *testing.T, r awstest.Rollout, action ecstypes.DeploymentLifecycleHookAction) {
	t.Helper()
	h, ok := r.AwaitingHook()
	if !ok {
		t.Fatalf("no hook awaits action: %+v", r)
	}
	if _, err := w.env.ECS().ContinueServiceDeployment(t.Context(), &ecs.ContinueServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(r.ServiceDeploymentARN), HookId: aws.String(h.ID), Action: action,
	}); err != nil {
		t.Fatalf("ContinueServiceDeployment: %v", err)
	}
}

func pauseAt(stage string, minutes int32, action ecstypes.DeploymentLifecycleHookAction) ecstypes.DeploymentLifecycleHook {
	return ecstypes.DeploymentLifecycleHook{
		TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStage(stage)},
		TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(minutes), Action: action},
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// A blue/green deployment goes through ECS's stages in the documented
// order, with test traffic first and all production traffic at once, and
// is SUCCESSFUL after the bake.
func TestECSModelBlueGreenStagesInOrder(t *testing.T) {
	w := newModelWorld(t)
	w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(10)})
	r, ok := w.env.ECSModel.Rollout("prod", "worker")
	if !ok || r.Stage != awstest.StagePreScaleUp || r.Status != "IN_PROGRESS" {
		t.Fatalf("after UpdateService: %+v, want IN_PROGRESS at PRE_SCALE_UP", r)
	}
	type point struct {
		stage            string
		production, test float64
	}
	for _, want := range []point{
		{awstest.StageScaleUp, 0, 0}, {awstest.StagePostScaleUp, 0, 0}, {awstest.StageTestTrafficShift, 0, 100},
		{awstest.StagePostTestTrafficShift, 0, 100}, {awstest.StagePreProductionTrafficShift, 0, 100},
		{awstest.StageProductionTrafficShift, 100, 100}, {awstest.StagePostProductionTrafficShift, 100, 100}, {awstest.StageBakeTime, 100, 100},
	} {
		r := w.progressTo(t, want.stage)
		if r.Production != want.production || r.Test != want.test {
			t.Errorf("at %s: production %v, test %v; want %v, %v", want.stage, r.Production, r.Test, want.production, want.test)
		}
		sd := w.serviceDeployment(t, r.ServiceDeploymentARN)
		if string(sd.LifecycleStage) != want.stage {
			t.Errorf("DescribeServiceDeployments lifecycleStage = %s, want %s", sd.LifecycleStage, want.stage)
		}
		if got := aws.ToFloat64(sd.TargetServiceRevision.RequestedProductionTrafficWeight); got != want.production {
			t.Errorf("at %s: target's production weight %v, want %v", want.stage, got, want.production)
		}
		if len(sd.SourceServiceRevisions) != 1 || aws.ToFloat64(sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight) != 100-want.production {
			t.Errorf("at %s: source revisions %+v, want the rest of production traffic", want.stage, sd.SourceServiceRevisions)
		}
	}
	// The bake holds the deployment for its 10 minutes.
	if r := w.progress(t); r.Stage != awstest.StageBakeTime || r.Status != "IN_PROGRESS" {
		t.Fatalf("before the bake ended: %+v", r)
	}
	w.env.ECSModel.Elapse(9 * time.Minute)
	if r := w.progress(t); r.Stage != awstest.StageBakeTime {
		t.Fatalf("9 of 10 minutes: %+v", r)
	}
	w.env.ECSModel.Elapse(time.Minute)
	r = w.progress(t)
	if r.Stage != awstest.StageCleanUp || r.Status != "SUCCESSFUL" || r.Production != 100 {
		t.Fatalf("after the bake: %+v, want SUCCESSFUL after CLEAN_UP", r)
	}
	id := aws.ToString(w.describe(t).Deployments[0].Id)
	sameDeps(t, "after success", deps(w.describe(t)), []dep{{id, "PRIMARY", "COMPLETED", "ECS deployment " + id + " completed.", w.v2}})
	if cur := aws.ToString(w.describe(t).CurrentServiceDeployment); cur != r.ServiceDeploymentARN {
		t.Errorf("currentServiceDeployment = %s, want %s", cur, r.ServiceDeploymentARN)
	}
}

// A canary shifts its share, bakes it, then shifts the rest.
func TestECSModelCanaryBakesAndCompletes(t *testing.T) {
	w := newModelWorld(t)
	w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
		Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(30),
		CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(15)},
	})
	r := w.progress(t)
	if r.Stage != awstest.StageProductionTrafficShift || r.Production != 10 {
		t.Fatalf("canary: %+v, want 10 %% at PRODUCTION_TRAFFIC_SHIFT", r)
	}
	sd := w.serviceDeployment(t, r.ServiceDeploymentARN)
	if sd.DeploymentConfiguration == nil || aws.ToInt32(sd.DeploymentConfiguration.CanaryConfiguration.CanaryBakeTimeInMinutes) != 15 {
		t.Errorf("the service deployment's configuration = %+v", sd.DeploymentConfiguration)
	}
	w.env.ECSModel.Elapse(15 * time.Minute)
	if r = w.progress(t); r.Stage != awstest.StageBakeTime || r.Production != 100 {
		t.Fatalf("after the canary's bake: %+v, want BAKE_TIME at 100 %%", r)
	}
	w.env.ECSModel.Elapse(30 * time.Minute)
	if r = w.progress(t); r.Status != "SUCCESSFUL" {
		t.Fatalf("after the bake: %+v", r)
	}
	list, err := w.env.ECS().ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker")})
	if err != nil || len(list.ServiceDeployments) != 2 || list.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("ListServiceDeployments: %v %+v", err, list)
	}
}

// An approval: a pause hook holds the deployment, sends HOOK_AWAITING_ACTION,
// and goes on when continued; a hook cannot be continued twice.
func TestECSModelPauseHookContinued(t *testing.T) {
	w := newModelWorld(t)
	w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
		Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(0),
		LifecycleHooks: []ecstypes.DeploymentLifecycleHook{pauseAt(awstest.StagePostTestTrafficShift, 60, ecstypes.DeploymentLifecycleHookActionRollback)},
	})
	r := w.progress(t)
	h, ok := r.AwaitingHook()
	if r.Stage != awstest.StagePostTestTrafficShift || !ok || h.Type != "PAUSE" || !strings.HasPrefix(h.ID, "ecs-pause-") || len(h.ID) != len("ecs-pause-")+43 {
		t.Fatalf("paused: %+v", r)
	}
	if again := w.progress(t); again.Stage != awstest.StagePostTestTrafficShift {
		t.Fatalf("a paused deployment moved on: %+v", again)
	}
	sd := w.serviceDeployment(t, r.ServiceDeploymentARN)
	if len(sd.LifecycleHookDetails) != 1 {
		t.Fatalf("lifecycleHookDetails = %+v", sd.LifecycleHookDetails)
	}
	d := sd.LifecycleHookDetails[0]
	if aws.ToString(d.HookId) != h.ID || d.Status != ecstypes.DeploymentLifecycleHookStatusAwaitingAction || d.TargetType != ecstypes.DeploymentLifecycleHookTargetTypePause ||
		d.TimeoutAction != ecstypes.DeploymentLifecycleHookActionRollback || d.TargetArn != nil || !aws.ToTime(d.ExpiresAt).Equal(h.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("hook detail = %+v, want %+v", d, h)
	}

	w.continueHook(t, r, ecstypes.DeploymentLifecycleHookActionContinue)
	_, err := w.env.ECS().ContinueServiceDeployment(t.Context(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(r.ServiceDeploymentARN), HookId: aws.String(h.ID)})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("continuing a continued hook: %v, want InvalidParameterException", err)
	}
	_, err = w.env.ECS().ContinueServiceDeployment(t.Context(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(r.ServiceDeploymentARN + "x"), HookId: aws.String(h.ID)})
	var nf *ecstypes.ServiceDeploymentNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("continuing an unknown service deployment: %v, want ServiceDeploymentNotFoundException", err)
	}
	if r = w.progress(t); r.Status != "SUCCESSFUL" {
		t.Fatalf("after CONTINUE: %+v", r)
	}

	events := awstest.Must(w.env.ECSModel.HookEvents("prod", "worker"))(t)
	var names []string
	for _, raw := range events {
		var ev struct {
			DetailType string   `json:"detail-type"`
			Source     string   `json:"source"`
			Resources  []string `json:"resources"`
			Detail     struct {
				EventType, EventName, HookID, HookType, ExpiresAt, LifecycleStage, ClusterArn, ServiceArn, ServiceDeploymentArn, UpdatedAt string
			} `json:"detail"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		dt := ev.Detail
		if ev.DetailType != "ECS Hook State Change" || ev.Source != "aws.ecs" || dt.HookID != h.ID || dt.HookType != "PAUSE" ||
			dt.LifecycleStage != awstest.StagePostTestTrafficShift || dt.ServiceDeploymentArn != r.ServiceDeploymentARN ||
			!slices.Equal(ev.Resources, []string{r.ServiceDeploymentARN}) || !strings.HasSuffix(dt.ServiceArn, ":service/prod/worker") ||
			!strings.HasSuffix(dt.ClusterArn, ":cluster/prod") || dt.ExpiresAt == "" || dt.EventType != "INFO" {
			t.Errorf("hook event = %s", raw)
		}
		names = append(names, dt.EventName)
	}
	if want := []string{localaws.EventHookAwaitingAction, localaws.EventHookSucceeded}; !slices.Equal(names, want) {
		t.Errorf("hook events %v, want %v", names, want)
	}
	// Two deliveries of one event are the same event.
	if again, _ := w.env.ECSModel.HookEvents("prod", "worker"); string(again[0]) != string(events[0]) {
		t.Error("a hook event's id changes between deliveries")
	}
}

// A rejected approval rolls the deployment back: the old revision is
// PRIMARY again and the new one FAILED, with no circuit breaker involved.
func TestECSModelPauseHookRejected(t *testing.T) {
	w := newModelWorld(t)
	first := aws.ToString(w.describe(t).Deployments[0].Id)
	w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
		Strategy:       ecstypes.DeploymentStrategyBlueGreen,
		LifecycleHooks: []ecstypes.DeploymentLifecycleHook{pauseAt(awstest.StagePostTestTrafficShift, 60, ecstypes.DeploymentLifecycleHookActionContinue)},
	})
	green := aws.ToString(w.describe(t).Deployments[0].Id)
	r := w.progress(t)
	h, _ := r.AwaitingHook()
	w.continueHook(t, r, ecstypes.DeploymentLifecycleHookActionRollback)
	reason := awstest.HookFailedReason(h.ID, awstest.StagePostTestTrafficShift)
	sd := w.serviceDeployment(t, r.ServiceDeploymentARN)
	if sd.Status != ecstypes.ServiceDeploymentStatusRollbackInProgress || sd.Rollback == nil || aws.ToString(sd.Rollback.Reason) != reason ||
		aws.ToString(sd.Rollback.ServiceRevisionArn) != aws.ToString(sd.SourceServiceRevisions[0].Arn) || sd.LifecycleHookDetails[0].Status != ecstypes.DeploymentLifecycleHookStatusFailed {
		t.Errorf("after ROLLBACK: %+v", sd)
	}
	sameDeps(t, "rolling back", deps(w.describe(t)), []dep{
		{first, "PRIMARY", "COMPLETED", "ECS deployment " + first + " completed.", w.v1},
		{green, "ACTIVE", "FAILED", reason, w.v2},
	})
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), "prod", "worker"))(t); !localaws.SameTaskDefinition(td, w.v1) {
		t.Errorf("moto's service runs %s, want %s", td, w.v1)
	}
	if r = w.progress(t); r.Status != "ROLLBACK_SUCCESSFUL" || r.Rollback != reason {
		t.Fatalf("after the rollback: %+v", r)
	}
	sameDeps(t, "rolled back", deps(w.describe(t)), []dep{{first, "PRIMARY", "COMPLETED", "ECS deployment " + first + " completed.", w.v1}})
	events := awstest.Must(w.env.ECSModel.HookEvents("prod", "worker"))(t)
	if len(events) != 2 || !strings.Contains(string(events[1]), `"eventName": "HOOK_FAILED"`) {
		t.Errorf("hook events:\n%s", events)
	}
}

// A pause nobody answers times out and takes its action.
func TestECSModelPauseHookTimesOut(t *testing.T) {
	for _, tt := range []struct {
		action ecstypes.DeploymentLifecycleHookAction
		status string
	}{
		{ecstypes.DeploymentLifecycleHookActionRollback, "ROLLBACK_IN_PROGRESS"},
		{ecstypes.DeploymentLifecycleHookActionContinue, "SUCCESSFUL"},
	} {
		t.Run(string(tt.action), func(t *testing.T) {
			w := newModelWorld(t)
			w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
				Strategy:       ecstypes.DeploymentStrategyBlueGreen,
				LifecycleHooks: []ecstypes.DeploymentLifecycleHook{pauseAt(awstest.StagePreScaleUp, 60, tt.action)},
			})
			r := w.progress(t)
			h, ok := r.AwaitingHook()
			if !ok || r.Stage != awstest.StagePreScaleUp {
				t.Fatalf("not paused: %+v", r)
			}
			w.env.ECSModel.Elapse(59 * time.Minute)
			if r = w.progress(t); r.Status != "IN_PROGRESS" || r.Stage != awstest.StagePreScaleUp {
				t.Fatalf("59 of 60 minutes: %+v", r)
			}
			w.env.ECSModel.Elapse(time.Minute)
			_, err := w.env.ECS().ContinueServiceDeployment(t.Context(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(r.ServiceDeploymentARN), HookId: aws.String(h.ID)})
			if apiCode(err) != "InvalidParameterException" {
				t.Errorf("continuing an expired hook: %v, want InvalidParameterException", err)
			}
			r = w.progress(t)
			if r.Status != tt.status {
				t.Fatalf("after the timeout: %+v, want %s", r, tt.status)
			}
			if tt.action == ecstypes.DeploymentLifecycleHookActionRollback && r.Rollback != awstest.HookTimedOutReason(h.ID, awstest.StagePreScaleUp) {
				t.Errorf("rollback reason %q", r.Rollback)
			}
			ev := awstest.Must(w.env.ECSModel.HookEvent("prod", "worker", h.ID))(t)
			if !strings.Contains(string(ev), `"eventName": "HOOK_TIMED_OUT"`) {
				t.Errorf("last hook event:\n%s", ev)
			}
		})
	}
}

// An alarm that fires during the bake rolls the deployment back (or, when
// the alarms do not roll back, stops it).
func TestECSModelAlarmFiresDuringBake(t *testing.T) {
	for _, rollback := range []bool{true, false} {
		t.Run(map[bool]string{true: "rollback", false: "no rollback"}[rollback], func(t *testing.T) {
			w := newModelWorld(t)
			w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
				Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(60),
				Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: rollback},
			})
			r := w.progress(t)
			if r.Stage != awstest.StageBakeTime {
				t.Fatalf("not baking: %+v", r)
			}
			if err := w.env.ECSModel.AlarmFires(t.Context(), "prod", "worker", "web-9xx"); err == nil {
				t.Error("an alarm the deployment does not watch fired")
			}
			awstest.Must(0, w.env.ECSModel.AlarmFires(t.Context(), "prod", "worker", "web-5xx"))(t)
			sd := w.serviceDeployment(t, r.ServiceDeploymentARN)
			if sd.Alarms == nil || sd.Alarms.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered || !slices.Equal(sd.Alarms.TriggeredAlarmNames, []string{"web-5xx"}) {
				t.Errorf("alarms = %+v", sd.Alarms)
			}
			want := ecstypes.ServiceDeploymentStatusRollbackInProgress
			if !rollback {
				want = ecstypes.ServiceDeploymentStatusStopped
			}
			if sd.Status != want || aws.ToString(sd.StatusReason) != awstest.AlarmReason("web-5xx") {
				t.Errorf("after the alarm: %s %q, want %s", sd.Status, aws.ToString(sd.StatusReason), want)
			}
			if rollback && w.progress(t).Status != "ROLLBACK_SUCCESSFUL" {
				t.Error("the rollback did not finish")
			}
		})
	}
}

// Linear: a pause before production traffic pauses at every step, each
// with its own hook id; the step bake holds each step but the last.
func TestECSModelLinearPausesAtEachStep(t *testing.T) {
	w := newModelWorld(t)
	w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
		Strategy:            ecstypes.DeploymentStrategyLinear,
		LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(5)},
		LifecycleHooks:      []ecstypes.DeploymentLifecycleHook{pauseAt(awstest.StagePreProductionTrafficShift, 1440, ecstypes.DeploymentLifecycleHookActionRollback)},
	})
	r := w.progress(t)
	first, ok := r.AwaitingHook()
	if !ok || r.Stage != awstest.StagePreProductionTrafficShift || r.Production != 0 {
		t.Fatalf("first step: %+v", r)
	}
	if sd := w.serviceDeployment(t, r.ServiceDeploymentARN); sd.LifecycleStage != "PRE_PRODUCTION_TRAFFIC_SHIFT" {
		t.Errorf("lifecycleStage = %q: the SDK lacks the stage in its enum, but must pass it on", sd.LifecycleStage)
	}
	w.continueHook(t, r, ecstypes.DeploymentLifecycleHookActionContinue)
	if r = w.progress(t); r.Stage != awstest.StageProductionTrafficShift || r.Production != 50 {
		t.Fatalf("after the first step: %+v, want 50 %% baking", r)
	}
	w.env.ECSModel.Elapse(5 * time.Minute)
	r = w.progress(t)
	second, ok := r.AwaitingHook()
	if !ok || r.Stage != awstest.StagePreProductionTrafficShift || r.Production != 50 || second.ID == first.ID {
		t.Fatalf("second step: %+v (first hook %s)", r, first.ID)
	}
	w.continueHook(t, r, ecstypes.DeploymentLifecycleHookActionContinue)
	if r = w.progress(t); r.Status != "SUCCESSFUL" || r.Production != 100 {
		t.Fatalf("after the last step: %+v", r)
	}
}

// Lambda hooks hold their stage until the function returns: SUCCEEDED goes
// on, FAILED rolls back.
func TestECSModelLambdaHookOutcomes(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
	for _, outcome := range []string{awstest.HookSucceeded, awstest.HookFailed} {
		t.Run(outcome, func(t *testing.T) {
			w := newModelWorld(t)
			w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
				Strategy: ecstypes.DeploymentStrategyCanary,
				LifecycleHooks: []ecstypes.DeploymentLifecycleHook{{
					TargetType: ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String(fn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
					LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"POST_SCALE_UP"},
				}},
			})
			r := w.progress(t)
			if r.Stage != awstest.StagePostScaleUp || len(r.Hooks) != 1 || r.Hooks[0].Status != awstest.HookInProgress || r.Hooks[0].TargetARN != fn {
				t.Fatalf("at the hook: %+v", r)
			}
			hook := r.Hooks[0].ID
			if again := w.progress(t); again.Stage != awstest.StagePostScaleUp {
				t.Fatalf("a Lambda hook in progress let the stage end: %+v", again)
			}
			if err := w.env.ECSModel.LambdaHookReturns(t.Context(), "prod", "worker", outcome); err != nil {
				t.Fatal(err)
			}
			r = w.progress(t)
			switch outcome {
			case awstest.HookSucceeded:
				if r.Stage != awstest.StageProductionTrafficShift {
					t.Errorf("after SUCCEEDED: %+v, want the canary step", r)
				}
			case awstest.HookFailed:
				if r.Status != "ROLLBACK_SUCCESSFUL" || r.Rollback != awstest.HookFailedReason(hook, awstest.StagePostScaleUp) {
					t.Errorf("after FAILED: %+v", r)
				}
			}
			raw := awstest.Must(w.env.ECSModel.HookEvent("prod", "worker", hook))(t)
			if !strings.Contains(string(raw), `"eventName": "HOOK_`+outcome+`"`) || !strings.Contains(string(raw), `"hookType": "AWS_LAMBDA"`) {
				t.Errorf("hook event:\n%s", raw)
			}
		})
	}
}

// StopServiceDeployment (ROLLBACK) requests a rollback, which the
// deployment then makes; a finished deployment cannot be stopped.
func TestECSModelStopServiceDeployment(t *testing.T) {
	w := newModelWorld(t)
	w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(60)})
	r := w.progress(t)
	stop := func() error {
		_, err := w.env.ECS().StopServiceDeployment(t.Context(), &ecs.StopServiceDeploymentInput{
			ServiceDeploymentArn: aws.String(r.ServiceDeploymentARN), StopType: ecstypes.StopServiceDeploymentStopTypeRollback,
		})
		return err
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if sd := w.serviceDeployment(t, r.ServiceDeploymentARN); sd.Status != ecstypes.ServiceDeploymentStatusRollbackRequested {
		t.Errorf("after StopServiceDeployment: %s, want ROLLBACK_REQUESTED", sd.Status)
	}
	if err := stop(); err != nil {
		t.Errorf("stopping a rollback that is requested: %v, want it to go on", err)
	}
	if r = w.progress(t); r.Status != "ROLLBACK_IN_PROGRESS" || r.Rollback != awstest.StoppedReason {
		t.Fatalf("the rollback: %+v", r)
	}
	if r = w.progress(t); r.Status != "ROLLBACK_SUCCESSFUL" {
		t.Fatalf("after the rollback: %+v", r)
	}
	if err := stop(); apiCode(err) != "ConflictException" {
		t.Errorf("stopping a finished deployment: %v, want ConflictException", err)
	}

	// A rolling update rolls back as the circuit breaker's would.
	w.deploy(t, w.v3, &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyRolling})
	list := awstest.Must(w.env.ECS().ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker")}))(t)
	r.ServiceDeploymentARN = aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	rolled := w.progress(t)
	if rolled.Status != "ROLLBACK_IN_PROGRESS" || rolled.Rollback != awstest.StoppedReason {
		t.Fatalf("rolling update after StopServiceDeployment: %+v", rolled)
	}
	if d := w.describe(t).Deployments[0]; aws.ToString(d.TaskDefinition) != w.v1 || aws.ToString(d.RolloutStateReason) != awstest.StoppedReason {
		t.Errorf("PRIMARY = %s %q, want a rollback to %s", aws.ToString(d.TaskDefinition), aws.ToString(d.RolloutStateReason), w.v1)
	}
}

// UpdateService keeps the members of deploymentConfiguration it is not sent,
// as ECS does (moto replaces the whole object).
func TestECSModelKeepsDeploymentConfiguration(t *testing.T) {
	w := newModelWorld(t)
	w.deploy(t, w.v2, &ecstypes.DeploymentConfiguration{
		Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(30),
		Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true},
	})
	w.deploy(t, w.v3, &ecstypes.DeploymentConfiguration{CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(20)}})
	dc := w.describe(t).DeploymentConfiguration
	if dc == nil || dc.Strategy != ecstypes.DeploymentStrategyCanary || aws.ToInt32(dc.BakeTimeInMinutes) != 30 || dc.Alarms == nil ||
		dc.CanaryConfiguration == nil || aws.ToFloat64(dc.CanaryConfiguration.CanaryPercent) != 20 {
		t.Errorf("deploymentConfiguration = %+v", dc)
	}
	// The first canary was superseded by the second.
	r := w.progress(t)
	if r.Stage != awstest.StageProductionTrafficShift || r.Production != 20 {
		t.Errorf("the second canary: %+v", r)
	}
}
