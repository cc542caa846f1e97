package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// A push whose event waited in Lambda's queue (a burst's) and that a higher
// version in ECR supersedes, or that is older than what the environment
// runs, is settled from one read of the records beside ECR's images: no
// claim, no describe of its services. One that deploys still deploys.
func TestABackloggedPushReadsBeforeItClaims(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.d.Account = func(context.Context) (string, error) { return localaws.AccountID, nil } // as the function knows it
	oldest, old, newer := w.push(t, "1.3.0"), w.push(t, "1.4.0"), w.push(t, "1.5.0")
	for _, p := range []*event.Push{&oldest, &old, &newer} {
		p.Time = time.Now().Add(-time.Minute)
	}
	w.env.Proxy.Reset()
	res := w.deliver(t, old)
	if got := outcomes(res); got["dev"] != "skipped superseded" || got["staging"] != "skipped superseded" {
		t.Fatalf("the older push: %v, want superseded in dev and staging", got)
	}
	for _, op := range []string{"UpdateItem", "DescribeServices", "TransactWriteItems"} {
		if n := w.env.Proxy.Count(op); n != 0 {
			t.Errorf("%d %s for a push that acts nowhere", n, op)
		}
	}
	if n := w.env.Proxy.Count("BatchGetItem"); n != 1 {
		t.Errorf("%d BatchGetItem, want one read of the records", n)
	}
	if got := outcomes(w.deliver(t, newer)); got["dev"] != "deployed" || got["staging"] != "deployed" {
		t.Errorf("the newer push, backlogged too: %v, want deployed in dev and staging", got)
	}
	// Two versions below a deployment in progress: skipped even were it
	// rolled back (1.4.0 would go then), so settled from the record.
	w.env.Proxy.Reset()
	if got := outcomes(w.deliver(t, oldest))["dev"]; got != "skipped older-than-current" {
		t.Errorf("the oldest push: %v, want older than current", got)
	}
	if n := w.env.Proxy.Count("UpdateItem") + w.env.Proxy.Count("DescribeServices"); n != 0 {
		t.Errorf("%d claims and describes for a push older than what runs", n)
	}
}

// A backlogged push of a version between the one ECS rolled back (its
// FAILED event lost, the record still saying in progress) and the one it
// rolled back to is not settled from the record alone: the push claims,
// learns from ECS that 1.1.0 was rolled back, holds it, and deploys.
func TestABackloggedPushBelowARollbackNobodyRecordedDeploys(t *testing.T) {
	w, _, _ := rolledBackStaging(t, awstest.ServeServiceDeployments)
	p := w.push(t, "1.0.5")
	p.Time = time.Now().Add(-time.Minute)
	if got := outcomes(w.deliver(t, p))["staging"]; got != "deployed" {
		t.Errorf("staging: %s, want deployed (1.1.0 was rolled back)", got)
	}
	if rec := w.state(t, "staging"); rec.Version != "1.0.5" || !rec.IsHeld("1.1.0") {
		t.Errorf("staging records %s, held %v; want 1.0.5, 1.1.0 held", rec.Version, rec.Held)
	}
}
