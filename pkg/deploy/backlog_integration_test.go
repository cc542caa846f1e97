package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// A push whose event waited in Lambda's queue (a burst's) and that a higher
// version in ECR supersedes, or that is older than what the environment
// runs, is settled from one read of the records beside ECR's images: no
// claim, no describe of its services. One that deploys still deploys.
func TestABackloggedPushReadsBeforeItClaims(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.d.Account = func(context.Context) (string, error) { return localaws.AccountID, nil } // as the function knows it
	old := w.push(t, "1.4.0")
	newer := w.push(t, "1.5.0")
	old.Time, newer.Time = time.Now().Add(-time.Minute), time.Now().Add(-time.Minute)
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
	w.env.Proxy.Reset()
	if got := outcomes(w.deliver(t, old)); got["dev"] != "skipped older-than-current" {
		t.Errorf("the older push again: %v, want older than current", got)
	}
	if n := w.env.Proxy.Count("UpdateItem") + w.env.Proxy.Count("DescribeServices"); n != 0 {
		t.Errorf("%d claims and describes for a push older than what runs", n)
	}
}
