package deploy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// A delivery whose registration waited on the pace for most of its claim
// renews the claim before it updates the service (keep): one claim write
// between RegisterTaskDefinition and UpdateService.
func TestALongWaitForTheSlotRenewsTheClaim(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.d.ClaimTTL = 3 * time.Second
	w.d.Pace = &farPace{ahead: 2500 * time.Millisecond}
	p := w.push(t, "1.4.0")
	w.env.Proxy.Reset()
	if got := outcomes(w.deliver(t, p))["dev"]; got != "deployed" {
		t.Fatalf("dev %s, want deployed", got)
	}
	var registered, renewed, updated int
	for _, c := range w.env.Proxy.Log() {
		switch {
		case c.Operation == "RegisterTaskDefinition":
			registered++
		case c.Claim() && registered > 0 && updated == 0:
			renewed++
		case c.Operation == "UpdateService":
			updated++
		}
	}
	if registered != 1 || updated != 1 || renewed != 1 {
		t.Errorf("%d registrations, %d claim writes between them and %d updates; want one of each (the claim renewed before the update)",
			registered, renewed, updated)
	}
}

// A delivery whose claim expired while it waited for its slot, and that
// another took meanwhile, updates nothing: the renewal finds the other's
// claim, the delivery fails retryably (to be delivered again), and the
// other's claim stands.
func TestAClaimLostDuringTheWaitUpdatesNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.d.ClaimTTL = time.Second
	w.d.Pace = &farPace{ahead: 2500 * time.Millisecond}
	p := w.push(t, "1.4.0")
	k := state.Key{Repository: "hello-color", Environment: "dev"}
	other := stateStore(w.env)
	took := make(chan error, 1)
	time.AfterFunc(1500*time.Millisecond, func() {
		_, err := other.Claim(t.Context(), k, "other", time.Now().Add(time.Minute))
		took <- err
	})
	w.env.Proxy.Reset()
	res, err := w.d.Push(t.Context(), p)
	if err := <-took; err != nil {
		t.Fatalf("the other delivery could not take the expired claim: %v", err)
	}
	var claimed *state.Claimed
	if !errors.As(err, &claimed) || !target.Retryable(err) {
		t.Errorf("Push error = %v, want the other's claim, retryable", err)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed {
		t.Errorf("dev = %+v, want failed", r)
	}
	if n := w.env.Proxy.Count("UpdateService"); n != 0 {
		t.Errorf("%d UpdateService under a claim another holds", n)
	}
	if _, err := other.Claim(t.Context(), k, "a third", time.Now().Add(time.Minute)); !errors.As(err, &claimed) || claimed.Claim.Owner != "other" {
		t.Errorf("the claim after the delivery: %v, want the other's still", err)
	}
}
