package deploy_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// The tests of this file drive the harness's model of ECS: rollouts that
// complete, fail or are rolled back by the circuit breaker, with or without
// the ECS event that says so, and with or without the service-deployments
// API. moto alone never ends a rollout.

// refusals are the ways an account can lack the service-deployments API;
// every promise of this file holds in each.
var refusals = []struct {
	name string
	how  awstest.Refusal
}{
	{"with service deployments", awstest.ServeServiceDeployments},
	{"service deployments refused", awstest.RefuseAccessDenied},
	{"service deployments unknown", awstest.RefuseUnknownOperation},
}

// eachRefusal runs fn once per way of (not) having the service-deployments
// API.
func eachRefusal(t *testing.T, fn func(t *testing.T, how awstest.Refusal)) {
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) { fn(t, r.how) })
	}
}

// complete completes the rollout of env's service in the model, without
// the event.
func (w *world) complete(t *testing.T, service string) {
	t.Helper()
	awstest.Must(w.env.ECSModel.Complete(cluster, service))(t)
}

// rolledBackStaging makes staging run 1.0.0 (completed, its event lost),
// deploys 1.1.0, and has ECS's circuit breaker roll 1.1.0 back to 1.0.0,
// its FAILED event lost too. It returns 1.0.0's revision.
func rolledBackStaging(t *testing.T, how awstest.Refusal) (*world, string, event.Push) {
	t.Helper()
	w := newWorld(t, fargateFixture, nil)
	w.env.ECSModel.RefuseServiceDeployments(how)
	w.deliver(t, w.push(t, "1.0.0"))
	w.complete(t, "hello-color-staging")
	good := w.state(t, "staging").Services["hello-color-staging"].TaskDefinition
	bad := w.push(t, "1.1.0")
	if r := row(t, w.deliver(t, bad), "staging"); r.Outcome != deploy.Deployed {
		t.Fatalf("staging 1.1.0: %+v", r)
	}
	awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
	w.env.Proxy.Reset()
	return w, good, bad
}

// checkRolledBack checks that staging's record says what ECS did: 1.1.0
// failed and held, 1.0.0's revision running, and that nothing pointed the
// service at 1.1.0 again.
func checkRolledBack(t *testing.T, w *world, good string) {
	t.Helper()
	rec := w.state(t, "staging")
	if !rec.IsHeld("1.1.0") || rec.Failed == nil || rec.Failed.Version != "1.1.0" {
		t.Errorf("state: held %v, failed %+v; want 1.1.0 held and its failure recorded", rec.Held, rec.Failed)
	}
	if rec.Version != "1.0.0" || !ecsref.SameRevision(rec.Services["hello-color-staging"].TaskDefinition, good) {
		t.Errorf("state says %s runs %s, want 1.0.0 on %s (what ECS rolled back to)", rec.Version, rec.Services["hello-color-staging"].TaskDefinition, good)
	}
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-staging"))(t); !ecsref.SameRevision(td, good) {
		t.Errorf("staging runs %s, want %s", td, good)
	}
	for _, c := range w.env.Proxy.Log() {
		if c.Operation == "UpdateService" && strings.Contains(string(c.Request), "hello-color-staging") {
			t.Errorf("UpdateService of staging after the rollback: %s", c.Request)
		}
	}
}

func TestLostRollbackFoundByReconcile(t *testing.T) {
	eachRefusal(t, func(t *testing.T, how awstest.Refusal) {
		w, good, _ := rolledBackStaging(t, how)
		res := w.reconcile(t)
		for _, repo := range res.Repositories {
			for _, r := range repo.Results {
				if r.Environment == "staging" && r.Outcome == deploy.Deployed {
					t.Errorf("reconcile deployed staging again: %+v", r)
				}
			}
		}
		checkRolledBack(t, w, good)
		// A second reconcile has nothing to do.
		w.env.Proxy.Reset()
		w.reconcile(t)
		if ops := mutating(w.env); len(ops) != 0 {
			t.Errorf("second reconcile made mutating calls %v", ops)
		}
	})
}

func TestLostRollbackFoundByPush(t *testing.T) {
	eachRefusal(t, func(t *testing.T, how awstest.Refusal) {
		w, good, p := rolledBackStaging(t, how)
		p.ID = "ev-1.1.0-again"
		if got := outcomes(w.deliver(t, p))["staging"]; got != "skipped held" {
			t.Errorf("re-delivered 1.1.0 to staging: %s, want skipped held", got)
		}
		checkRolledBack(t, w, good)
		// The fix deploys.
		if got := outcomes(w.deliver(t, w.push(t, "1.1.1")))["staging"]; got != "deployed" {
			t.Errorf("1.1.1 to staging: %s, want deployed", got)
		}
	})
}

// A FAILED event of a deployment ECS rolled back records, at once, what ECS
// went back to: the failure held, the earlier revision as running.
func TestAFailedEventRecordsWhatECSRolledBackTo(t *testing.T) {
	eachRefusal(t, func(t *testing.T, how awstest.Refusal) {
		w, good, _ := rolledBackStaging(t, how)
		failed := w.state(t, "staging").Services["hello-color-staging"].DeploymentID
		raw := awstest.Must(w.env.ECSModel.Event(cluster, "hello-color-staging", failed))(t)
		ev, err := event.Decode(raw)
		if err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		res, err := w.d.DeploymentChanged(t.Context(), ev.(event.DeploymentChange))
		if err != nil {
			t.Fatal(err)
		}
		if r := row(t, res, "staging"); r.Rollout != state.Failed {
			t.Errorf("staging row %+v, want the rollout failed", r)
		}
		checkRolledBack(t, w, good)
	})
}

func TestLostRollbackFoundByStatus(t *testing.T) {
	eachRefusal(t, func(t *testing.T, how awstest.Refusal) {
		w, good, _ := rolledBackStaging(t, how)
		res, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"})
		if err != nil || res.Error != "" {
			t.Fatalf("status: %v %s", err, res.Error)
		}
		var st deploy.EnvironmentStatus
		for _, e := range res.Environments {
			if e.Environment == "staging" {
				st = e
			}
		}
		if st.Version != "1.0.0" || !slices.Contains(st.Held, "1.1.0") || st.Failed == nil || st.Failed.Version != "1.1.0" {
			t.Errorf("status of staging = %+v, want 1.0.0 running, 1.1.0 failed and held", st)
		}
		if s := st.Services[0]; s.Drift || !ecsref.SameRevision(s.Running, good) {
			t.Errorf("staging service status = %+v, want %s running, no drift", s, good)
		}
		checkRolledBack(t, w, good)
	})
}

// deliverEvent delivers an ECS deployment state change, as EventBridge
// would, through the event decoder.
func (w *world) deliverEvent(t *testing.T, e localaws.DeploymentEvent) deploy.Result {
	t.Helper()
	raw := awstest.Must(e.JSON())(t)
	ev, err := event.Decode(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	res, err := w.d.DeploymentChanged(t.Context(), ev.(event.DeploymentChange))
	if err != nil {
		t.Fatalf("DeploymentChanged: %v", err)
	}
	return res
}

func TestLateInProgressAfterCompletedChangesNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	id := w.state(t, "dev").Services["hello-color-dev"].DeploymentID
	arn := "arn:aws:ecs:us-east-1:123456789012:service/apps/hello-color-dev"
	at := time.Now().UTC().Truncate(time.Second)
	w.deliverEvent(t, localaws.DeploymentEvent{ID: "e2", ServiceARN: arn, EventName: localaws.EventDeploymentCompleted, DeploymentID: id, At: at})
	if got := w.state(t, "dev").Services["hello-color-dev"].Rollout; got != state.Completed {
		t.Fatalf("after COMPLETED: %s", got)
	}
	for _, late := range []localaws.DeploymentEvent{
		{ID: "e1", ServiceARN: arn, EventName: localaws.EventDeploymentInProgress, DeploymentID: id, At: at.Add(-time.Minute)}, // late
		{ID: "e1", ServiceARN: arn, EventName: localaws.EventDeploymentInProgress, DeploymentID: id, At: at.Add(time.Minute)},  // out of order, stamped later
		{ID: "e3", ServiceARN: arn, EventName: localaws.EventDeploymentFailed, DeploymentID: id, At: at.Add(-time.Minute)},     // older terminal
	} {
		w.env.Proxy.Reset()
		w.deliverEvent(t, late)
		rec := w.state(t, "dev")
		if got := rec.Services["hello-color-dev"].Rollout; got != state.Completed || rec.IsHeld("1.4.0") {
			t.Errorf("after %s at %s: rollout %s, held %v; want completed, nothing held", late.EventName, late.At.Format(time.TimeOnly), got, rec.Held)
		}
		if ops := mutating(w.env); len(ops) != 0 {
			t.Errorf("after %s: mutating calls %v", late.EventName, ops)
		}
	}
}

// rollBackAfterUpdate has the model's circuit breaker roll the service back
// as soon as UpdateService has pointed it at a new revision, before anything
// else is asked of ECS.
func rollBackAfterUpdate(t *testing.T, w *world, service string) {
	t.Helper()
	var once sync.Once
	var updated bool
	var mu sync.Mutex
	w.env.Proxy.OnCall(func(c awstest.Call) {
		if c.Operation == "UpdateService" && strings.Contains(string(c.Request), service) && c.Status == 200 {
			mu.Lock()
			updated = true
			mu.Unlock()
		}
	})
	w.env.Proxy.Before("DescribeServices", func(c awstest.Call) {
		mu.Lock()
		ready := updated
		mu.Unlock()
		if ready {
			once.Do(func() {
				if _, err := w.env.ECSModel.RollBack(t.Context(), cluster, service); err != nil {
					t.Errorf("RollBack: %v", err)
				}
			})
		}
	})
}

func TestWaitOnARolledBackDeploymentFails(t *testing.T) {
	eachRefusal(t, func(t *testing.T, how awstest.Refusal) {
		w := newWorld(t, fargateFixture, nil)
		w.env.ECSModel.RefuseServiceDeployments(how)
		w.deliver(t, w.push(t, "1.0.0"))
		w.complete(t, "hello-color-staging")
		w.push(t, "1.1.0")
		w.d.PollInterval, w.d.MaxWait = 20*time.Millisecond, 10*time.Second
		rollBackAfterUpdate(t, w, "hello-color-staging")
		res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.1.0", Environment: "staging", Wait: true})
		if err != nil {
			t.Fatal(err)
		}
		r := row(t, res, "staging")
		if r.Outcome != deploy.Deployed || r.Rollout != state.Failed || !strings.Contains(r.Error, "circuit breaker") {
			t.Errorf("staging = %+v, want deployed, rollout failed with the circuit breaker's reason", r)
		}
		if k := deploy.Judge(res, err); k.ExitCode() != 1 {
			t.Errorf("judged %q (exit %d), want a rollout failure, exit 1", k, k.ExitCode())
		}
		if rec := w.state(t, "staging"); !rec.IsHeld("1.1.0") {
			t.Errorf("state holds %v, want 1.1.0 held", rec.Held)
		}
	})
}

func TestWaitSaysWhenSomeoneElseReplacedTheDeployment(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.push(t, "1.1.0")
	w.d.PollInterval, w.d.MaxWait = 20*time.Millisecond, 10*time.Second
	other := awstest.Must(w.env.Local.RegisterTaskDefinition(t.Context(), awstest.Must(localaws.ReadTaskDefinitionFile(fargateFixture))(t)))(t)
	var once sync.Once
	w.d.Progress = func(deploy.Progress) {
		once.Do(func() { // while the request waits, someone deploys by hand
			if _, err := w.env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
				Cluster: aws.String(cluster), Service: aws.String("hello-color-staging"), TaskDefinition: aws.String(other),
			}); err != nil {
				t.Errorf("UpdateService by hand: %v", err)
			}
		})
	}
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.1.0", Environment: "staging", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := row(t, res, "staging"); r.Rollout != state.Superseded || !strings.Contains(r.Error, "replaced") {
		t.Errorf("staging = %+v, want superseded, saying it was replaced", r)
	}
	if k := deploy.Judge(res, err); k.ExitCode() != 1 {
		t.Errorf("judged %q, want exit 1: the deployment asked for did not finish", k)
	}
}

func TestRollbackBetweenUpdateAndConvergenceIsNotUndone(t *testing.T) {
	eachRefusal(t, func(t *testing.T, how awstest.Refusal) {
		w := newWorld(t, fargateFixture, nil)
		w.env.ECSModel.RefuseServiceDeployments(how)
		w.deliver(t, w.push(t, "1.0.0"))
		w.complete(t, "hello-color-staging")
		good := w.state(t, "staging").Services["hello-color-staging"].TaskDefinition
		p := w.push(t, "1.1.0")
		// The first delivery records 1.0.0 as completed (ECS says so)
		// before it deploys; the rollback comes between its update and its
		// convergence check.
		rollBackAfterUpdate(t, w, "hello-color-staging")
		w.env.Proxy.Reset()
		w.deliver(t, p)
		if n := countUpdates(w.env, "hello-color-staging"); n != 1 {
			t.Errorf("%d UpdateService calls of staging, want 1: the rollback must not be undone", n)
		}
		checkRolledBackState(t, w, good)
	})
}

func countUpdates(env *awstest.Env, service string) int {
	n := 0
	for _, c := range env.Proxy.Log() {
		if c.Operation == "UpdateService" && strings.Contains(string(c.Request), `"`+service+`"`) {
			n++
		}
	}
	return n
}

// checkRolledBackState checks staging's record and service after ECS
// rolled 1.1.0 back to good.
func checkRolledBackState(t *testing.T, w *world, good string) {
	t.Helper()
	rec := w.state(t, "staging")
	if !rec.IsHeld("1.1.0") || rec.Version != "1.0.0" || !ecsref.SameRevision(rec.Services["hello-color-staging"].TaskDefinition, good) {
		t.Errorf("state = %s on %s, held %v; want 1.0.0 on %s, 1.1.0 held", rec.Version, rec.Services["hello-color-staging"].TaskDefinition, rec.Held, good)
	}
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-staging"))(t); !ecsref.SameRevision(td, good) {
		t.Errorf("staging runs %s, want %s", td, good)
	}
}

func TestDriftShowsInStatus(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	recorded := w.state(t, "dev").Services["hello-color-dev"].TaskDefinition
	other := awstest.Must(w.env.Local.RegisterTaskDefinition(t.Context(), awstest.Must(localaws.ReadTaskDefinitionFile(fargateFixture))(t)))(t)
	if _, err := w.env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
		Cluster: aws.String(cluster), Service: aws.String("hello-color-dev"), TaskDefinition: aws.String(other),
	}); err != nil {
		t.Fatal(err)
	}
	res, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"})
	if err != nil || res.Error != "" {
		t.Fatalf("status: %v %s", err, res.Error)
	}
	for _, e := range res.Environments {
		s := e.Services[0]
		switch e.Environment {
		case "dev":
			if !s.Drift || !ecsref.SameRevision(s.Running, other) || !ecsref.SameRevision(s.TaskDefinition, recorded) {
				t.Errorf("dev = %+v, want drift: %s recorded, %s running", s, recorded, other)
			}
		default:
			if s.Drift {
				t.Errorf("%s = %+v, want no drift", e.Environment, s)
			}
		}
	}
}

// state0 returns the revision every service of the world runs at first.
func (w *world) state0(t *testing.T) string {
	t.Helper()
	return awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t)
}

func TestConcurrentRegistrationIsRetried(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	p := w.push(t, "1.4.0")
	w.env.ECSModel.FailRegistrations(2)
	w.env.Proxy.Reset()
	res := w.deliver(t, p)
	if got := outcomes(res); got["dev"] != "deployed" || got["staging"] != "deployed" {
		t.Errorf("outcomes %v, want dev and staging deployed", got)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition"); n != 4 {
		t.Errorf("%d RegisterTaskDefinition calls, want 4: two refused as concurrent, then one per environment", n)
	}
}

func TestForcedDeployOfAMovedTagRunsTheNewDigest(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	first := w.push(t, "1.3.0")
	w.deliver(t, first)
	// The tag is pushed again with another image.
	moved := awstest.Must(w.env.Local.PutImage(t.Context(), "hello-color", "1.3.0", localaws.ImageManifest("hello-color 1.3.0 rebuilt")))(t)
	if moved == first.Digest {
		t.Fatal("the rebuilt image has the same digest")
	}
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.3.0", Environment: "dev", Force: true})
	if err != nil || res.Error != "" {
		t.Fatalf("deploy: %v %s", err, res.Error)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Deployed {
		t.Fatalf("dev = %+v, want deployed", r)
	}
	td, _ := w.running(t, "hello-color-dev")
	if img := image(td, "web"); !strings.HasSuffix(img, "@"+moved) {
		t.Errorf("dev runs %s, want the new digest %s", img, moved)
	}
	if rec := w.state(t, "dev"); rec.Digest != moved {
		t.Errorf("state says digest %s, want %s (what runs)", rec.Digest, moved)
	}
}

func TestSameDigestUnderAnotherTagSpellingIsUnchanged(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	p := w.push(t, "1.1.0")
	w.deliver(t, p)
	// The same image pushed again under another spelling of its version.
	v := p
	v.ID, v.Tag = "ev-v1.1.0", "v1.1.0"
	v.Digest = awstest.Must(w.env.Local.PutImage(t.Context(), "hello-color", "v1.1.0", localaws.ImageManifest("hello-color 1.1.0")))(t)
	if v.Digest != p.Digest {
		t.Fatalf("v1.1.0 has digest %s, 1.1.0 %s: want the same image", v.Digest, p.Digest)
	}
	w.env.Proxy.Reset()
	res := w.deliver(t, v)
	if got := outcomes(res); got["dev"] != "unchanged" || got["staging"] != "unchanged" {
		t.Errorf("outcomes %v, want dev and staging unchanged", got)
	}
	if ops := mutating(w.env); len(ops) != 0 {
		t.Errorf("mutating calls %v, want none", ops)
	}
}
