package deploy_test

import (
	"context"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

func (w *world) manual(t *testing.T, req request.Request) (deploy.Result, error) {
	t.Helper()
	if err := req.Validate(); err != nil {
		t.Fatalf("test request is invalid: %v", err)
	}
	return w.d.Manual(t.Context(), req, "req-"+req.Action)
}

func (w *world) state(t *testing.T, env string) state.Record {
	t.Helper()
	// Read past the proxy: it neither counts nor faults this read.
	rec, err := state.NewStore(dynamodb.NewFromConfig(w.env.Local.Config), w.env.Table).Get(t.Context(), "hello-color", env)
	if err != nil {
		t.Fatalf("state record of %s: %v", env, err)
	}
	return rec
}

// rollout delivers the ECS Deployment State Change event that ECS sends when
// the deployment recorded for env's service reaches status.
func (w *world) rollout(t *testing.T, env, service, status string) deploy.Result {
	t.Helper()
	rec := w.state(t, env)
	ev := event.DeploymentChange{
		ID: "ecs-" + env + "-" + status, Account: localaws.AccountID, Region: localaws.Region,
		ServiceARN: "arn:aws:ecs:us-east-1:123456789012:service/apps/" + service, Cluster: cluster, Service: service,
		EventName: "SERVICE_DEPLOYMENT_" + status, DeploymentID: rec.Services[service].DeploymentID,
	}
	res, err := w.d.DeploymentChanged(t.Context(), ev)
	if err != nil {
		t.Fatalf("DeploymentChanged: %v", err)
	}
	return res
}

// mutating returns the mutating calls the proxy saw, but for claims on
// environments (taken and given up), which change neither what runs nor
// what is recorded.
func mutating(env *awstest.Env) []string {
	var ops []string
	for _, c := range env.Proxy.Log() {
		if !c.ReadOnly() && !c.Claim() {
			ops = append(ops, c.Operation)
		}
	}
	return ops
}

func TestManualDeployToManualEnvironment(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	p := w.push(t, "1.4.0")
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "production"})
	if err != nil || res.Error != "" {
		t.Fatalf("deploy: %v %s", err, res.Error)
	}
	if diff := cmp.Diff(map[string]string{"production": "deployed"}, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if rec := w.state(t, "production"); rec.Digest != p.Digest || rec.Cause != "deploy" || rec.EventID != "req-deploy" {
		t.Errorf("production state = %+v", rec)
	}
}

func TestManualBadInputChangesNothing(t *testing.T) {
	tests := []struct {
		name string
		req  request.Request
		want string
	}{
		{"tag not in ECR", request.Request{Action: "deploy", Repository: "hello-color", Tag: "9.9.9", Environment: "dev"}, "tag 9.9.9 in ECR repository hello-color: image not found"},
		{"unconfigured environment", request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "qa"}, `environment "qa": environment not configured`},
		{"unconfigured repository", request.Request{Action: "status", Repository: "nope"}, "repository nope is not configured"},
		{"promote from nothing", request.Request{Action: "promote", Repository: "hello-color", From: "staging", To: "production"}, "nothing deployed there"},
		{"promote without source", request.Request{Action: "promote", Repository: "hello-color", To: "staging"}, "no source"},
		{"rollback with nothing deployed", request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"}, "nothing deployed"},
		{"plan of a missing tag", request.Request{Action: "plan", Repository: "hello-color", Tag: "9.9.9"}, "image not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, fargateFixture, nil)
			w.push(t, "1.4.0")
			w.env.Proxy.Reset()
			res, err := w.manual(t, tt.req)
			if err != nil {
				t.Fatalf("bad input returned a retryable error: %v", err)
			}
			if !strings.Contains(res.Error, tt.want) {
				t.Errorf("result error = %q, want it to contain %q", res.Error, tt.want)
			}
			if ops := mutating(w.env); len(ops) != 0 {
				t.Errorf("bad input made mutating calls: %v", ops)
			}
		})
	}
}

func TestPromoteCopiesDigestAndAppliesTargetVariables(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	p := w.push(t, "1.4.0")
	w.deliver(t, p)

	// Refused while staging's rollout is in progress.
	w.env.Proxy.Reset()
	res, err := w.manual(t, request.Request{Action: "promote", Repository: "hello-color", From: "staging", To: "production"})
	if err != nil || !strings.Contains(res.Error, "rollout in-progress") || !strings.Contains(res.Error, "not completed") {
		t.Fatalf("promote from in-progress: err %v, result error %q, want a refusal", err, res.Error)
	}
	if ops := mutating(w.env); len(ops) != 0 {
		t.Errorf("refused promote made mutating calls: %v", ops)
	}

	if got := w.rollout(t, "staging", "hello-color-staging", "COMPLETED"); len(got.Results) != 1 || got.Results[0].Rollout != "completed" {
		t.Fatalf("rollout event result = %+v", got)
	}
	if rec := w.state(t, "staging"); rec.Rollout != state.Completed || rec.LastCompleted != "1.4.0" {
		t.Fatalf("staging state after COMPLETED = %+v", rec)
	}
	// promoteFrom names staging, so no source is needed.
	res, err = w.manual(t, request.Request{Action: "promote", Repository: "hello-color", To: "production"})
	if err != nil || res.Error != "" {
		t.Fatalf("promote: %v %s", err, res.Error)
	}
	if diff := cmp.Diff(map[string]string{"production": "deployed"}, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	staging, prod := w.state(t, "staging"), w.state(t, "production")
	if prod.Digest != staging.Digest || prod.Digest != p.Digest || prod.Image != staging.Image || prod.Version != "1.4.0" || prod.Cause != "promote" {
		t.Errorf("production state %+v does not carry staging's image %+v", prod, staging)
	}
	td, _ := w.running(t, "hello-color-prod")
	vars := map[string]string{}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == "web" {
			if aws.ToString(c.Image) != staging.Image {
				t.Errorf("production runs %s, staging %s", aws.ToString(c.Image), staging.Image)
			}
			for _, kv := range c.Environment {
				vars[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
			}
		}
	}
	if vars["OCTO_COLOR"] != "#f00" || vars["OCTO_ENV"] != "Production" {
		t.Errorf("production variables = %v, want production's own", vars)
	}
}

func TestPromoteFromFailedNeedsForce(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	w.rollout(t, "staging", "hello-color-staging", "FAILED")
	res, _ := w.manual(t, request.Request{Action: "promote", Repository: "hello-color", From: "staging", To: "production"})
	if !strings.Contains(res.Error, "rollout failed") {
		t.Fatalf("promote from failed: result error %q, want a refusal", res.Error)
	}
	res, err := w.manual(t, request.Request{Action: "promote", Repository: "hello-color", From: "staging", To: "production", Force: true})
	if err != nil || res.Error != "" || outcomes(res)["production"] != "deployed" {
		t.Errorf("forced promote: %v %+v", err, res)
	}
}

func TestRollbackAfterFailedDeploymentHoldsTheFailedVersion(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	w.rollout(t, "dev", "hello-color-dev", "COMPLETED")
	good, _ := w.running(t, "hello-color-dev")
	p15 := w.push(t, "1.5.0")
	w.deliver(t, p15)
	w.rollout(t, "dev", "hello-color-dev", "FAILED")
	if rec := w.state(t, "dev"); rec.Rollout != state.Failed || !rec.IsHeld("1.5.0") {
		t.Fatalf("dev state after FAILED = %+v, want FAILED with 1.5.0 held", rec)
	}

	res, err := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"})
	if err != nil || res.Error != "" {
		t.Fatalf("rollback: %v %s", err, res.Error)
	}
	if diff := cmp.Diff(map[string]string{"dev": "deployed"}, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	td, _ := w.running(t, "hello-color-dev")
	if got, want := image(td, "web"), image(good, "web"); got != want {
		t.Errorf("dev runs %s after rollback, want %s", got, want)
	}
	rec := w.state(t, "dev")
	if rec.Version != "1.4.0" || rec.Cause != "rollback" || !rec.IsHeld("1.5.0") {
		t.Errorf("dev state after rollback = %+v", rec)
	}
	// A re-delivered push of the failed version is skipped as held.
	res = w.deliver(t, p15)
	if got := outcomes(res)["dev"]; got != "skipped held" {
		t.Errorf("re-delivered 1.5.0: dev outcome = %q, want skipped held", got)
	}
	// A newer version goes through.
	res = w.deliver(t, w.push(t, "1.5.1"))
	if got := outcomes(res)["dev"]; got != "deployed" {
		t.Errorf("1.5.1: dev outcome = %q, want deployed", got)
	}
}

func TestRollbackWithoutEarlierCompletedVersion(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	// Completed: a rollback of a deployment still in progress would stop it
	// (TestRollbackOfADeploymentInProgressStopsIt).
	awstest.Must(w.env.ECSModel.Complete(cluster, "hello-color-dev"))(t)
	res, _ := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"})
	if !strings.Contains(res.Error, "no version other than 1.4.0 completed there") || deploy.Judge(res, nil).ExitCode() != 2 {
		t.Errorf("result error = %q", res.Error)
	}
}

func TestPlanMakesNoMutatingCall(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.push(t, "1.5.0")
	w.env.Proxy.Reset()
	res, err := w.manual(t, request.Request{Action: "plan", Repository: "hello-color", Tag: "1.5.0"})
	if err != nil || res.Error != "" {
		t.Fatalf("plan: %v %s", err, res.Error)
	}
	want := map[string]string{"dev": "planned", "staging": "planned", "production": "planned"}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if ops := mutating(w.env); len(ops) != 0 {
		t.Errorf("plan made mutating calls: %v", ops)
	}
	for _, r := range res.Results {
		if !strings.Contains(r.Diff, "+          \"image\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.5.0\"") &&
			!strings.Contains(r.Diff, "hello-color:1.5.0") {
			t.Errorf("%s diff does not show the new image:\n%s", r.Environment, r.Diff)
		}
		if !strings.HasPrefix(r.Diff, "--- ") {
			t.Errorf("%s diff is not a unified diff:\n%s", r.Environment, r.Diff)
		}
	}
	if !strings.Contains(row(t, res, "production").Diff, `"#f00"`) {
		t.Errorf("production diff lacks its own colour:\n%s", row(t, res, "production").Diff)
	}
}

func TestWaitSaysInProgressBeforeTheDeadline(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.push(t, "1.4.0")
	var polls []deploy.Progress
	w.d.PollInterval, w.d.WaitMargin, w.d.DeadlineMargin = 100*time.Millisecond, 3*time.Second, time.Second
	w.d.Progress = func(p deploy.Progress) { polls = append(polls, p) }
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Second)
	defer cancel()
	res, err := w.d.Manual(ctx, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "dev", Wait: true}, "r1")
	if err != nil || res.Error != "" {
		t.Fatalf("deploy --wait: %v %s", err, res.Error)
	}
	// It stopped waiting before the deadline (the margin is for answering),
	// rather than running into it.
	if ctx.Err() != nil {
		t.Errorf("waited into the deadline: %v", ctx.Err())
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Deployed || r.Rollout != state.InProgress {
		t.Errorf("dev = %+v, want deployed and in-progress", r)
	}
	if len(polls) < 2 || polls[0].Rollout != state.InProgress {
		t.Errorf("progress = %+v, want several in-progress polls", polls)
	}
}

func TestStatus(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	w.rollout(t, "dev", "hello-color-dev", "COMPLETED")
	res, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"})
	if err != nil || res.Error != "" {
		t.Fatalf("status: %v %s", err, res.Error)
	}
	got := map[string]string{}
	for _, e := range res.Environments {
		got[e.Environment] = string(e.Trigger) + " " + e.Version + " " + string(e.Rollout)
		if e.Version != "" && (e.Digest == "" || len(e.Services) != 1 || e.Services[0].TaskDefinition == "") {
			t.Errorf("%s status lacks digest or task definition: %+v", e.Environment, e)
		}
	}
	want := map[string]string{"dev": "push 1.4.0 completed", "staging": "push 1.4.0 in-progress", "production": "manual  "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

func TestDeploymentEventForUnknownServiceChangesNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	before := w.state(t, "dev")
	res, err := w.d.DeploymentChanged(t.Context(), event.DeploymentChange{Region: localaws.Region, Cluster: cluster, Service: "hello-color-dev",
		EventName: "SERVICE_DEPLOYMENT_FAILED", DeploymentID: "ecs-svc/not-ours"})
	if err != nil || len(res.Results) != 0 {
		t.Errorf("event for another deployment: %v %+v", err, res)
	}
	if diff := cmp.Diff(before, w.state(t, "dev")); diff != "" {
		t.Errorf("state changed (-before +after):\n%s", diff)
	}
}

func TestRollbackOfCompletedVersionHoldsIt(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	w.rollout(t, "dev", "hello-color-dev", "COMPLETED")
	p15 := w.push(t, "1.5.0")
	w.deliver(t, p15)
	w.rollout(t, "dev", "hello-color-dev", "COMPLETED") // completed, but bad: a person rolls it back
	res, err := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"})
	if err != nil || res.Error != "" {
		t.Fatalf("rollback: %v %s", err, res.Error)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.4.0" || !rec.IsHeld("1.5.0") {
		t.Errorf("dev state after rollback = %+v, want 1.4.0 with 1.5.0 held", rec)
	}
	if got := outcomes(w.deliver(t, p15))["dev"]; got != "skipped held" {
		t.Errorf("re-delivered 1.5.0: dev outcome = %q, want skipped held", got)
	}
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

func mustRequest(t *testing.T, raw string) request.Request {
	t.Helper()
	req, err := request.Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return req
}
