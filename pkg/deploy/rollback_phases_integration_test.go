package deploy_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// The tests of this file follow a circuit-breaker rollback through the
// phases DescribeServices shows of it, with and without the
// service-deployments history: the failed deployment still IN_PROGRESS
// beside the rollback, then FAILED, then gone while the rollback runs, then
// gone with the rollback completed ("ECS deployment <id> completed.", the
// id of the deployment ECS went back to). In none may a reconcile or a
// re-delivered push put the failed version back.

// rollbackPhases drive the model's circuit breaker to one phase of a
// rollback of staging's service.
var rollbackPhases = []struct {
	name  string
	drive func(t *testing.T, w *world)
}{
	{"first seconds, failed deployment still in progress", func(t *testing.T, w *world) {
		awstest.Must(w.env.ECSModel.StartRollBack(t.Context(), cluster, "hello-color-staging"))(t)
	}},
	{"failed deployment listed FAILED", func(t *testing.T, w *world) {
		awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
	}},
	{"failed deployment gone, rollback running", func(t *testing.T, w *world) {
		awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
		if err := w.env.ECSModel.Drain(cluster, "hello-color-staging"); err != nil {
			t.Fatal(err)
		}
	}},
	{"rollback completed", func(t *testing.T, w *world) {
		awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
		w.complete(t, "hello-color-staging")
	}},
}

// rolledBackTo makes staging run 1.0.0 (completed, its event lost),
// deploys 1.1.0 and has the circuit breaker roll it back to the phase
// drive leaves it in, every ECS event lost. It returns 1.0.0's revision and
// 1.1.0's push.
func rolledBackTo(t *testing.T, how awstest.Refusal, drive func(t *testing.T, w *world)) (*world, string, event.Push) {
	t.Helper()
	w := newWorld(t, fargateFixture, nil)
	w.env.ECSModel.RefuseServiceDeployments(how)
	w.deliver(t, w.push(t, "1.0.0"))
	w.complete(t, "hello-color-staging")
	good := w.state(t, "staging").Services["hello-color-staging"].TaskDefinition
	bad := w.push(t, "1.1.0")
	if r := row(t, w.deliver(t, bad), "staging"); r.Outcome != "deployed" {
		t.Fatalf("staging 1.1.0: %+v", r)
	}
	drive(t, w)
	w.env.Proxy.Reset()
	return w, good, bad
}

func TestARollbackInEveryPhaseIsNotDeployedAgain(t *testing.T) {
	for _, phase := range rollbackPhases {
		t.Run(phase.name, func(t *testing.T) {
			eachRefusal(t, func(t *testing.T, how awstest.Refusal) {
				w, good, p := rolledBackTo(t, how, phase.drive)
				res := w.reconcile(t)
				for _, repo := range res.Repositories {
					for _, r := range repo.Results {
						if r.Environment == "staging" && r.Outcome == "deployed" {
							t.Errorf("reconcile deployed staging again: %+v", r)
						}
					}
				}
				checkRolledBack(t, w, good)
				p.ID = "ev-1.1.0-again"
				if got := outcomes(w.deliver(t, p))["staging"]; got != "skipped held" {
					t.Errorf("re-delivered 1.1.0 to staging: %s, want skipped held", got)
				}
				checkRolledBack(t, w, good)
			})
		})
	}
}

// After the rollback completed someone forced a new deployment: ECS no
// longer lists 1.1.0's deployment, nor the one it replaced. Without the
// history, how 1.1.0 ended is not known: it is held back (not deployed
// again, not recorded as failed). Once the history can be read, it says.
func TestAnUnknownEndHoldsTheVersionBackUntilECSSays(t *testing.T) {
	w, _, _ := rolledBackTo(t, awstest.RefuseAccessDenied, func(t *testing.T, w *world) {
		awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
		w.complete(t, "hello-color-staging")
		if _, err := w.env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
			Cluster: aws.String(cluster), Service: aws.String("hello-color-staging"), ForceNewDeployment: true,
		}); err != nil {
			t.Fatal(err)
		}
		w.complete(t, "hello-color-staging")
	})
	res := w.reconcile(t)
	if got := repoOutcomes(res)["hello-color/staging"]; got != "skipped "+string(policy.RolloutUnknown) {
		t.Errorf("reconcile of staging: %q, want skipped %s", got, policy.RolloutUnknown)
	}
	if n := countUpdates(w.env, "hello-color-staging"); n != 0 {
		t.Errorf("%d UpdateService calls of staging, want none: 1.1.0 may have been rolled back", n)
	}
	if rec := w.state(t, "staging"); rec.Version != "1.1.0" || rec.IsHeld("1.1.0") || rec.Failed != nil {
		t.Errorf("state = %s, held %v, failed %+v; want 1.1.0 as recorded, nothing held or failed on a guess", rec.Version, rec.Held, rec.Failed)
	}

	// The history answers now: 1.1.0 was rolled back.
	w.env.ECSModel.RefuseServiceDeployments(awstest.ServeServiceDeployments)
	w.env.Proxy.Reset()
	res = w.reconcile(t)
	if got := repoOutcomes(res)["hello-color/staging"]; got == "deployed" {
		t.Errorf("reconcile of staging once the history says 1.1.0 was rolled back: %s", got)
	}
	if rec := w.state(t, "staging"); !rec.IsHeld("1.1.0") || rec.Failed == nil || rec.Failed.Version != "1.1.0" {
		t.Errorf("state: held %v, failed %+v; want 1.1.0 held and its failure recorded", rec.Held, rec.Failed)
	}
	if n := countUpdates(w.env, "hello-color-staging"); n != 0 {
		t.Errorf("%d UpdateService calls of staging, want none", n)
	}
}

// The history is read as every call is: a throttled first attempt is
// retried, and its answer used. (status looks once: one history read.)
func TestAThrottledHistoryReadIsRetried(t *testing.T) {
	w, _, _ := rolledBackTo(t, awstest.ServeServiceDeployments, func(t *testing.T, w *world) {
		awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
		w.complete(t, "hello-color-staging")
		if _, err := w.env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
			Cluster: aws.String(cluster), Service: aws.String("hello-color-staging"), ForceNewDeployment: true,
		}); err != nil {
			t.Fatal(err)
		}
		w.complete(t, "hello-color-staging")
	})
	w.env.Proxy.Fail("ListServiceDeployments", 1, awstest.Throttling())
	if res, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"}); err != nil || res.Error != "" {
		t.Fatalf("status: %v %s", err, res.Error)
	}
	if n := w.env.Proxy.Count("ListServiceDeployments"); n != 2 {
		t.Errorf("%d ListServiceDeployments calls, want 2: the throttled one and its retry", n)
	}
	if rec := w.state(t, "staging"); !rec.IsHeld("1.1.0") || rec.Failed == nil {
		t.Errorf("state: held %v, failed %+v; want 1.1.0 held, as the history read on the retry says", rec.Held, rec.Failed)
	}
}
