package deploy_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// rolloutsConfig deploys dev blue/green with an alarm, staging as a canary,
// and production as a canary that pauses for approval once test traffic is
// on the new revision.
const rolloutsConfig = `{"environments": {
	"dev": {"cluster": "apps", "services": ["hello-color-dev"], "container": "web",
		"deployment": {"strategy": "blue-green", "bakeMinutes": 60, "alarms": {"names": ["web-5xx"]}}},
	"staging": {"cluster": "apps", "services": ["hello-color-staging"], "container": "web",
		"deployment": {"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 15}, "bakeMinutes": 30}},
	"production": {"trigger": "manual", "cluster": "apps", "services": ["hello-color-prod"], "container": "web",
		"deployment": {"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 15}, "bakeMinutes": 30,
			"approval": {"stage": "post-test-traffic-shift", "timeoutMinutes": 60, "onTimeout": "rollback"}}}}}`

// rollouts is a world of rolloutsConfig whose result events go to the bus,
// with the ECS model's clock: elapse moves it, and the deployer's clock
// with it for what it reads (status, approvals), so that a bake's minutes
// and a hook's expiry are judged at the model's time.
type rollouts struct {
	*world
	elapsed time.Duration
}

func newRollouts(t *testing.T, config string) *rollouts {
	t.Helper()
	w := &rollouts{world: newWorld(t, fargateFixture, []byte(config))}
	w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge()}
	return w
}

// elapse lets d pass in ECS, and then has the model move on as far as it
// goes.
func (w *rollouts) elapse(t *testing.T, d time.Duration, service string) awstest.Rollout {
	t.Helper()
	w.env.ECSModel.Elapse(d)
	w.elapsed += d
	at := w.elapsed
	w.d.Now = func() time.Time { return time.Now().Add(at) }
	return awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, service))(t)
}

// hooks delivers the ECS Hook State Change events of a service's hooks, in
// the order ECS sent them, and returns the rows each recorded.
func (w *rollouts) hooks(t *testing.T, service string) []deploy.Row {
	t.Helper()
	raws := awstest.Must(w.env.ECSModel.HookEvents(cluster, service))(t)
	var rows []deploy.Row
	for _, raw := range raws {
		ev, err := event.Decode(raw)
		if err != nil {
			t.Fatalf("hook event %s: %v", raw, err)
		}
		res, err := w.d.HookChanged(t.Context(), ev.(event.HookChange))
		if err != nil || res.Error != "" {
			t.Fatalf("HookChanged: %v %s", err, res.Error)
		}
		rows = append(rows, res.Results...)
	}
	return rows
}

// status returns what status says of one environment.
func (w *rollouts) status(t *testing.T, env string) deploy.EnvironmentStatus {
	t.Helper()
	res, err := w.manual(t, request.Request{Action: request.Status, Repository: "hello-color"})
	if err != nil || res.Error != "" {
		t.Fatalf("status: %v %s", err, res.Error)
	}
	for _, e := range res.Environments {
		if e.Environment == env {
			return e
		}
	}
	t.Fatalf("status has no %s", env)
	return deploy.EnvironmentStatus{}
}

// deployProduction deploys tag to production by request.
func (w *rollouts) deployProduction(t *testing.T, tag string) deploy.Row {
	t.Helper()
	w.push(t, tag)
	res, err := w.manual(t, request.Request{Action: request.Deploy, Repository: "hello-color", Tag: tag, Environment: "production"})
	if err != nil || res.Error != "" || len(res.Results) != 1 || res.Results[0].Outcome != deploy.Deployed {
		t.Fatalf("deploy %s to production: %+v, %v", tag, res, err)
	}
	return res.Results[0]
}

// pauseProduction deploys tag to production and has ECS pause it for
// approval; it returns the pause's hook.
func (w *rollouts) pauseProduction(t *testing.T, tag string) awstest.HookState {
	t.Helper()
	w.deployProduction(t, tag)
	r := awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, "hello-color-prod"))(t)
	h, ok := r.AwaitingHook()
	if !ok || r.Stage != awstest.StagePostTestTrafficShift {
		t.Fatalf("production's deployment: %+v, want it paused at POST_TEST_TRAFFIC_SHIFT", r)
	}
	return h
}

// continued returns the hookId and action of every ContinueServiceDeployment
// the proxy saw.
func continued(t *testing.T, env *awstest.Env) [][2]string {
	t.Helper()
	var out [][2]string
	for _, c := range env.Proxy.Log() {
		if c.Operation != "ContinueServiceDeployment" {
			continue
		}
		var in struct{ HookID, Action string }
		if err := json.Unmarshal(c.Request, &in); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{in.HookID, in.Action})
	}
	return out
}

// detailTypes lists the detail types of the result events published.
func detailTypes(t *testing.T, env *awstest.Env) []string {
	t.Helper()
	var out []string
	for _, call := range publishedEvents(t, env) {
		for _, p := range call {
			out = append(out, p.DetailType+" "+p.Detail.Environment)
		}
	}
	return out
}

// A canary is in progress while it bakes its share and then the final
// bake, whatever an ECS deployment state change says meanwhile; status
// shows its stage and production share; it completes when its service
// deployment is SUCCESSFUL.
func TestCanaryBakesAndCompletes(t *testing.T) {
	w := newRollouts(t, rolloutsConfig)
	const svc = "hello-color-staging"
	res := w.deliver(t, w.push(t, "1.4.0"))
	if got := outcomes(res)["staging"]; got != "deployed" {
		t.Fatalf("staging = %s", got)
	}
	r, _ := w.env.ECSModel.Rollout(cluster, svc)
	if arn := w.state(t, "staging").Services[svc].ServiceDeploymentARN; arn == "" || arn != r.ServiceDeploymentARN {
		t.Errorf("recorded service deployment %q, want the one UpdateService started, %q", arn, r.ServiceDeploymentARN)
	}

	awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t)
	r = w.elapse(t, 12*time.Minute, svc)
	if r.Stage != awstest.StageProductionTrafficShift || r.Production != 10 {
		t.Fatalf("the canary: %+v, want 10 %% of production traffic", r)
	}
	st := w.status(t, "staging")
	if s := st.Services[0]; st.Rollout != state.InProgress || s.Stage != "canary 10 %, baking, 12 of 15 min" || s.ProductionTraffic == nil || *s.ProductionTraffic != 10 {
		t.Errorf("status while the canary bakes: rollout %s, stage %q, traffic %v", st.Rollout, s.Stage, s.ProductionTraffic)
	}
	// An ECS Deployment State Change that says COMPLETED during the bake
	// records nothing: the service deployment says in progress.
	if res := w.rollout(t, "staging", svc, "COMPLETED"); len(res.Results) != 0 {
		t.Errorf("a COMPLETED event during the bake recorded %+v", res.Results)
	}
	if rec := w.state(t, "staging"); rec.Rollout != state.InProgress {
		t.Errorf("staging's rollout %s during the bake, want in-progress", rec.Rollout)
	}

	w.elapse(t, 3*time.Minute, svc)
	r = w.elapse(t, 5*time.Minute, svc)
	if r.Stage != awstest.StageBakeTime {
		t.Fatalf("after the canary: %+v, want the final bake", r)
	}
	if st := w.status(t, "staging"); st.Rollout != state.InProgress || st.Services[0].Stage != "canary 100 %, baking, 5 of 30 min" {
		t.Errorf("status during the final bake: rollout %s, stage %q", st.Rollout, st.Services[0].Stage)
	}
	if r = w.elapse(t, 25*time.Minute, svc); r.Status != awstest.ServiceDeploymentSuccessful {
		t.Fatalf("after the bake: %+v, want SUCCESSFUL", r)
	}
	st = w.status(t, "staging")
	rec := w.state(t, "staging")
	if st.Rollout != state.Completed || rec.Rollout != state.Completed || len(rec.Good) == 0 || rec.Good[0].Version != "1.4.0" {
		t.Errorf("after SUCCESSFUL: status %s, record %s, good %+v", st.Rollout, rec.Rollout, rec.Good)
	}
}

// A blue/green deployment an alarm rolls back during the bake is failed,
// its version held and the alarm named as the cause (what the service
// deployment says), though no ECS event says so; the
// reconcile that finds it out leaves it, and so does the next.
func TestBlueGreenRolledBackByAnAlarmDuringTheBakeIsHeld(t *testing.T) {
	w := newRollouts(t, rolloutsConfig)
	const svc = "hello-color-dev"
	// 1.3.0 completes: the last good version.
	w.deliver(t, w.push(t, "1.3.0"))
	awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t)
	if r := w.elapse(t, time.Hour, svc); r.Status != awstest.ServiceDeploymentSuccessful {
		t.Fatalf("1.3.0: %+v", r)
	}
	good := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, svc))(t)

	w.deliver(t, w.push(t, "1.4.0"))
	if r := awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t); r.Stage != awstest.StageBakeTime {
		t.Fatalf("1.4.0: %+v, want the bake", r)
	}
	awstest.Must(0, w.env.ECSModel.AlarmFires(t.Context(), cluster, svc, "web-5xx"))(t)

	w.env.Proxy.Reset()
	res, err := w.d.Reconcile(t.Context(), event.Schedule{ID: "schedule-1", Time: time.Now()})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	rec := w.state(t, "dev")
	if !rec.IsHeld("1.4.0") || rec.Version != "1.3.0" || rec.Failed == nil || rec.Failed.Version != "1.4.0" ||
		!strings.HasPrefix(rec.Failed.Reason, "alarm web-5xx: ") {
		t.Errorf("dev after the alarm: version %s, held %v, failed %+v; want 1.3.0, 1.4.0 held, failed by alarm web-5xx", rec.Version, rec.Held, rec.Failed)
	}
	if n := w.env.Proxy.Count("UpdateService"); n != 0 {
		t.Errorf("reconcile made %d UpdateService calls (%+v)", n, res)
	}
	if running := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, svc))(t); running != good {
		t.Errorf("dev runs %s, want %s", running, good)
	}
	awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t) // ROLLBACK_SUCCESSFUL
	w.env.Proxy.Reset()
	if _, err := w.d.Reconcile(t.Context(), event.Schedule{ID: "schedule-2", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if n := w.env.Proxy.Count("UpdateService") + w.env.Proxy.Count("RegisterTaskDefinition"); n != 0 {
		t.Errorf("the next reconcile made %d mutating ECS calls", n)
	}
	if rec := w.state(t, "dev"); !rec.IsHeld("1.4.0") || rec.Version != "1.3.0" {
		t.Errorf("dev after the next reconcile: %s, held %v", rec.Version, rec.Held)
	}
}

// A pause at the approval stage is recorded and announced with the command
// that approves it; approve continues exactly that hook, once.
func TestPauseAwaitingApprovalIsApproved(t *testing.T) {
	w := newRollouts(t, rolloutsConfig)
	h := w.pauseProduction(t, "1.4.0")
	w.env.Proxy.Reset()
	rows := w.hooks(t, "hello-color-prod")
	if len(rows) != 1 || rows[0].Approval == nil || rows[0].Approval.HookID != h.ID ||
		rows[0].Approval.Approve != "ecrdeploy approve hello-color --env production" || rows[0].Approval.Stage != "post-test-traffic-shift" {
		t.Fatalf("rows of the pause: %+v", rows)
	}
	rec := w.state(t, "production")
	if a := rec.Approval; a == nil || a.HookID != h.ID || a.Service != "hello-color-prod" || a.ServiceDeploymentARN != rec.Services["hello-color-prod"].ServiceDeploymentARN ||
		!a.Expires.Equal(h.ExpiresAt.UTC().Truncate(time.Second)) {
		t.Errorf("recorded approval %+v, want hook %s expiring %s", a, h.ID, h.ExpiresAt)
	}
	if got := detailTypes(t, w.env); !slices.Equal(got, []string{"Deployment Awaiting Approval production"}) {
		t.Errorf("published %q", got)
	}
	// The same event again records and announces nothing.
	if rows := w.hooks(t, "hello-color-prod"); len(rows) != 0 {
		t.Errorf("a re-delivered pause: %+v", rows)
	}
	if st := w.status(t, "production"); st.Approval == nil || st.Approval.HookID != h.ID ||
		!strings.Contains(st.Services[0].Stage, "awaiting approval at post-test-traffic-shift") {
		t.Errorf("status: approval %+v, stage %q", st.Approval, st.Services[0].Stage)
	}

	w.env.Proxy.Reset()
	res, err := w.manual(t, request.Request{Action: request.Approve, Repository: "hello-color", Environment: "production"})
	if err != nil || res.Error != "" || deploy.Judge(res, nil) != "" {
		t.Fatalf("approve: %+v, %v", res, err)
	}
	if got := continued(t, w.env); !slices.Equal(got, [][2]string{{h.ID, "CONTINUE"}}) {
		t.Errorf("ContinueServiceDeployment calls %q, want one CONTINUE of %s", got, h.ID)
	}
	if r := res.Results[0]; r.Approval == nil || r.Approval.Decision != deploy.DecisionApproved {
		t.Errorf("approve's row %+v", r)
	}
	if a := w.state(t, "production").Approval; a != nil {
		t.Errorf("the approval is still recorded: %+v", a)
	}
	r := awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, "hello-color-prod"))(t)
	if r.Stage != awstest.StageProductionTrafficShift || r.Production != 10 {
		t.Errorf("after the approval ECS is at %+v, want the canary's share", r)
	}
	// HOOK_SUCCEEDED clears nothing more, and a second approve is refused.
	w.hooks(t, "hello-color-prod")
	res, _ = w.manual(t, request.Request{Action: request.Approve, Repository: "hello-color", Environment: "production"})
	if deploy.Judge(res, nil).ExitCode() != 2 || !strings.Contains(res.Error, "nothing awaits approval") {
		t.Errorf("a second approve: %q (%s)", res.Error, deploy.Judge(res, nil))
	}
}

// A rejected deployment is rolled back (ROLLBACK of exactly its hook),
// failed with the reason and held: neither a push nor a deploy without
// force brings it back.
func TestPauseAwaitingApprovalIsRejected(t *testing.T) {
	w := newRollouts(t, rolloutsConfig)
	h := w.pauseProduction(t, "1.4.0")
	w.hooks(t, "hello-color-prod")
	w.env.Proxy.Reset()
	res, err := w.manual(t, request.Request{Action: request.Reject, Repository: "hello-color", Environment: "production", Reason: "error rate above 2 %"})
	if err != nil || res.Error != "" || deploy.Judge(res, nil) != "" {
		t.Fatalf("reject: %+v, %v", res, err)
	}
	if got := continued(t, w.env); !slices.Equal(got, [][2]string{{h.ID, "ROLLBACK"}}) {
		t.Errorf("ContinueServiceDeployment calls %q, want one ROLLBACK of %s", got, h.ID)
	}
	rec := w.state(t, "production")
	if !rec.IsHeld("1.4.0") || rec.Approval != nil || rec.Failed == nil || rec.Failed.Reason != "approval rejected: error rate above 2 %" {
		t.Errorf("production after the rejection: held %v, approval %+v, failed %+v", rec.Held, rec.Approval, rec.Failed)
	}
	if got := detailTypes(t, w.env); !slices.Equal(got, []string{"Deployment Failed production"}) {
		t.Errorf("published %q", got)
	}
	if r, _ := w.env.ECSModel.Rollout(cluster, "hello-color-prod"); r.Status != awstest.ServiceDeploymentRollbackInProgress {
		t.Errorf("ECS: %+v, want the rollback", r)
	}
	awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, "hello-color-prod"))(t)
	w.env.Proxy.Reset()
	// HOOK_FAILED says nothing new: the failure is recorded already.
	for _, r := range w.hooks(t, "hello-color-prod") {
		t.Errorf("a row after the rejection was recorded: %+v", r)
	}
	if st := w.status(t, "production"); !slices.Contains(st.Held, "1.4.0") || st.Version == "1.4.0" {
		t.Errorf("status after the rollback: %s, held %v", st.Version, st.Held)
	}
	res, _ = w.manual(t, request.Request{Action: request.Deploy, Repository: "hello-color", Tag: "1.4.0", Environment: "production"})
	if got := outcomes(res)["production"]; got != "skipped held" {
		t.Errorf("deploy of the rejected version: %s", got)
	}
}

// A pause nobody answers times out: an approve after the hook's expiry is
// refused without calling ECS; ECS rolls the deployment back, and the
// HOOK_TIMED_OUT event records the failure (approval timed out) and holds
// the version at once.
func TestPauseAwaitingApprovalTimesOut(t *testing.T) {
	w := newRollouts(t, rolloutsConfig)
	w.pauseProduction(t, "1.4.0")
	w.hooks(t, "hello-color-prod")

	// An hour and a minute later, before ECS has acted.
	w.d.Now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	w.env.Proxy.Reset()
	res, _ := w.manual(t, request.Request{Action: request.Approve, Repository: "hello-color", Environment: "production"})
	if deploy.Judge(res, nil).ExitCode() != 2 || !strings.Contains(res.Error, "the approval has expired") || w.env.Proxy.Count("ContinueServiceDeployment") != 0 {
		t.Errorf("approve after the expiry: %q, %d ContinueServiceDeployment", res.Error, w.env.Proxy.Count("ContinueServiceDeployment"))
	}
	if a := w.state(t, "production").Approval; a != nil {
		t.Errorf("the expired approval is still recorded: %+v", a)
	}

	if r := w.elapse(t, 61*time.Minute, "hello-color-prod"); r.Status != awstest.ServiceDeploymentRollbackInProgress {
		t.Fatalf("ECS after the timeout: %+v", r)
	}
	w.env.Proxy.Reset()
	rows := w.hooks(t, "hello-color-prod")
	if len(rows) != 1 || rows[0].Rollout != state.Failed || !strings.Contains(rows[0].Detail, "approval timed out") {
		t.Fatalf("rows of the timeout: %+v", rows)
	}
	rec := w.state(t, "production")
	if !rec.IsHeld("1.4.0") || rec.Failed == nil || !strings.HasPrefix(rec.Failed.Reason, "approval timed out") {
		t.Errorf("production after the timeout: held %v, failed %+v", rec.Held, rec.Failed)
	}
	if got := detailTypes(t, w.env); !slices.Equal(got, []string{"Deployment Failed production"}) {
		t.Errorf("published %q", got)
	}
}

// approve and reject where nothing awaits approval are bad input (exit 2)
// and change nothing: no record, a deployment that is not paused, an
// environment without an approval stage.
func TestApproveWithNothingPending(t *testing.T) {
	w := newRollouts(t, rolloutsConfig)
	approve := request.Request{Action: request.Approve, Repository: "hello-color", Environment: "production"}
	check := func(name string, req request.Request, want string) {
		t.Helper()
		w.env.Proxy.Reset()
		res, err := w.manual(t, req)
		if err != nil || deploy.Judge(res, err).ExitCode() != 2 || !strings.Contains(res.Error, want) {
			t.Errorf("%s: %q, %v (%s), want exit 2 and %q", name, res.Error, err, deploy.Judge(res, err), want)
		}
		if ops := mutating(w.env); len(ops) != 0 || w.env.Proxy.Count("ContinueServiceDeployment") != 0 {
			t.Errorf("%s: mutating calls %v", name, ops)
		}
	}
	check("nothing deployed", approve, "nothing awaits approval: nothing was deployed there")
	w.deployProduction(t, "1.4.0") // at PRE_SCALE_UP: not paused
	check("not paused", approve, "nothing awaits approval: the deployment of 1.4.0 is not paused at post-test-traffic-shift")
	check("reject, not paused", request.Request{Action: request.Reject, Repository: "hello-color", Environment: "production", Reason: "no"}, "nothing awaits approval")
	w.deliver(t, w.push(t, "1.4.1"))
	check("no approval stage", request.Request{Action: request.Approve, Repository: "hello-color", Environment: "staging"},
		"the environment has no approval stage")
}

// Each pause of a linear deployment before a production traffic step is
// its own approval, with its own hook.
func TestEachLinearStepIsItsOwnApproval(t *testing.T) {
	w := newRollouts(t, `{"environments": {"production": {"trigger": "manual", "cluster": "apps", "services": ["hello-color-prod"], "container": "web",
		"deployment": {"strategy": "linear", "linear": {"stepPercent": 50, "stepBakeMinutes": 0},
			"approval": {"stage": "pre-production-traffic-shift"}}}}}`)
	const svc = "hello-color-prod"
	w.deployProduction(t, "1.4.0")
	approve := request.Request{Action: request.Approve, Repository: "hello-color", Environment: "production"}
	var hooks []string
	for step, share := range []float64{50, 100} {
		r := awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t)
		h, ok := r.AwaitingHook()
		if !ok || r.Stage != awstest.StagePreProductionTrafficShift {
			t.Fatalf("step %d: %+v, want a pause before production traffic", step, r)
		}
		if rows := w.hooks(t, svc); len(rows) != 1 || rows[0].Approval == nil || rows[0].Approval.HookID != h.ID {
			t.Fatalf("step %d: rows %+v, want the pause of hook %s", step, rows, h.ID)
		}
		if res, err := w.manual(t, approve); err != nil || res.Error != "" {
			t.Fatalf("step %d: approve: %v %s", step, err, res.Error)
		}
		hooks = append(hooks, h.ID)
		if r := awstest.Must(w.env.ECSModel.ProgressTo(t.Context(), cluster, svc, awstest.StageProductionTrafficShift))(t); r.Production != share {
			t.Errorf("step %d: production traffic %v %%, want %v", step, r.Production, share)
		}
	}
	if got := continued(t, w.env); len(got) != 2 || got[0][0] != hooks[0] || got[1][0] != hooks[1] || hooks[0] == hooks[1] {
		t.Errorf("ContinueServiceDeployment calls %q, want one CONTINUE per step's hook %q", got, hooks)
	}
}

// A wait until test traffic ends, with exit 0, once test traffic is on the
// new revision, and says so; a rollback before it is a failure.
func TestWaitUntilTestTraffic(t *testing.T) {
	const svc = "hello-color-prod"
	deployAndWait := func(t *testing.T, w *rollouts, tag string, meanwhile func()) deploy.Result {
		t.Helper()
		w.push(t, tag)
		w.d.PollInterval = 10 * time.Millisecond
		polls := 0
		w.d.Progress = func(deploy.Progress) {
			if polls++; polls == 2 {
				meanwhile() // ECS moves on between two looks
			}
		}
		res, err := w.manual(t, request.Request{Action: request.Deploy, Repository: "hello-color", Tag: tag, Environment: "production",
			Wait: true, Until: request.UntilTestTraffic})
		if err != nil || res.Error != "" || len(res.Results) != 1 {
			t.Fatalf("deploy and wait: %+v, %v", res, err)
		}
		return res
	}
	t.Run("reached", func(t *testing.T) {
		w := newRollouts(t, rolloutsConfig)
		res := deployAndWait(t, w, "1.4.0", func() {
			awstest.Must(w.env.ECSModel.ProgressTo(t.Context(), cluster, svc, awstest.StagePostTestTrafficShift))(t)
		})
		r := res.Results[0]
		if r.Rollout != state.InProgress || r.Reached != request.UntilTestTraffic || !strings.Contains(r.Stage, "awaiting approval at post-test-traffic-shift") {
			t.Errorf("row %+v, want test-traffic reached", r)
		}
		if k := deploy.Judge(res, nil); k != "" {
			t.Errorf("Judge = %q, want done (exit 0)", k)
		}
	})
	t.Run("rolled back before", func(t *testing.T) {
		w := newRollouts(t, rolloutsConfig)
		res := deployAndWait(t, w, "1.4.0", func() {
			r, _ := w.env.ECSModel.Rollout(cluster, svc)
			awstest.Must(w.env.ECS().StopServiceDeployment(t.Context(), &ecs.StopServiceDeploymentInput{
				ServiceDeploymentArn: aws.String(r.ServiceDeploymentARN), StopType: ecstypes.StopServiceDeploymentStopTypeRollback}))(t)
			awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t)
		})
		if r := res.Results[0]; r.Rollout != state.Failed || r.Reached != "" {
			t.Errorf("row %+v, want failed", r)
		}
		if k := deploy.Judge(res, nil); k != deploy.Rollout {
			t.Errorf("Judge = %q, want rollout (exit 1)", k)
		}
	})
}

// A rollback of an environment whose deployment is still in progress stops
// it (StopServiceDeployment, ROLLBACK) and holds its version first; it
// deploys nothing on top.
func TestRollbackOfADeploymentInProgressStopsIt(t *testing.T) {
	w := newRollouts(t, rolloutsConfig)
	const svc = "hello-color-staging"
	before := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, svc))(t)
	p := w.push(t, "1.4.0")
	w.deliver(t, p)
	awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t) // the canary bakes
	arn := w.state(t, "staging").Services[svc].ServiceDeploymentARN

	w.env.Proxy.Reset()
	res, err := w.manual(t, request.Request{Action: request.Rollback, Repository: "hello-color", Environment: "staging"})
	if err != nil || res.Error != "" || deploy.Judge(res, nil) != "" || len(res.Results) != 1 || res.Results[0].Rollout != state.Failed {
		t.Fatalf("rollback: %+v, %v", res, err)
	}
	var stopped string
	held, stop := -1, -1
	for i, c := range w.env.Proxy.Log() {
		switch {
		case c.Operation == "StopServiceDeployment":
			var in struct{ ServiceDeploymentArn, StopType string }
			_ = json.Unmarshal(c.Request, &in)
			stopped, stop = in.ServiceDeploymentArn+" "+in.StopType, i
		case !c.ReadOnly() && !c.Claim() && held < 0:
			held = i
		}
	}
	if stopped != arn+" ROLLBACK" || held < 0 || held > stop {
		t.Errorf("stopped %q (call %d, the hold's %d), want %s ROLLBACK after the hold", stopped, stop, held, arn)
	}
	if n := w.env.Proxy.Count("UpdateService") + w.env.Proxy.Count("RegisterTaskDefinition"); n != 0 {
		t.Errorf("the rollback deployed (%d calls)", n)
	}
	if rec := w.state(t, "staging"); !rec.IsHeld("1.4.0") || rec.Rollout != state.Failed {
		t.Errorf("staging after the stop: held %v, rollout %s", rec.Held, rec.Rollout)
	}
	awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t) // the rollback starts
	if r := awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, svc))(t); r.Status != awstest.ServiceDeploymentRollbackSuccessful {
		t.Fatalf("ECS: %+v", r)
	}
	if running := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, svc))(t); running != before {
		t.Errorf("staging runs %s, want %s again", running, before)
	}
	if got := outcomes(w.deliver(t, p))["staging"]; got != "skipped held" {
		t.Errorf("the push again: staging %s", got)
	}
}
