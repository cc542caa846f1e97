package deploy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
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

// A late update of another delivery of the repository, of a version that
// does not stand over the one just recorded (its claim expired, and it
// updated the service after this delivery did), is put back on the
// recorded revision by the check after the record (correct); a change made
// outside ecrdeploy would be left as drift.
func TestALateLowerUpdateIsPutBack(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.deliver(t, w.push(t, "1.2.0"))
	td, _ := w.running(t, "hello-color-dev")
	lower := aws.ToString(td.TaskDefinitionArn)
	p := w.push(t, "1.3.0")
	// The late update is made through the proxy (ECS's model answers for
	// the service) once this delivery's update is answered; the check's
	// look at the service waits for it.
	var updated atomic.Bool
	var late sync.Once
	done := make(chan struct{})
	w.env.Proxy.OnCall(func(c awstest.Call) {
		if c.Operation != "UpdateService" {
			return
		}
		late.Do(func() {
			updated.Store(true)
			go func() {
				defer close(done)
				if _, err := w.env.ECS().UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String(cluster),
					Service: aws.String("hello-color-dev"), TaskDefinition: aws.String(lower)}); err != nil {
					t.Errorf("the late update: %v", err)
				}
			}()
		})
	})
	w.env.Proxy.Before("DescribeServices", func(awstest.Call) {
		if updated.Load() {
			<-done
		}
	})
	w.env.Proxy.Reset()
	if got := outcomes(w.deliver(t, p))["dev"]; got != "deployed" {
		t.Fatalf("dev %s, want deployed", got)
	}
	td, _ = w.running(t, "hello-color-dev")
	if got := image(td, "web"); !strings.HasSuffix(got, ":1.3.0") {
		t.Errorf("the service runs %s after the check, want 1.3.0 put back", got)
	}
	if n := w.env.Proxy.Count("UpdateService"); n != 3 {
		t.Errorf("%d UpdateService, want 3: the update, the late one and the put back", n)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.3.0" {
		t.Errorf("the record says %s, want 1.3.0", rec.Version)
	}
}
