package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// A push whose UpdateService is throttled on every attempt gives up a
// margin before the invocation's deadline instead of being killed by
// Lambda between the update and the state write: it fails retryably,
// before the deadline, with nothing recorded and the environment free for
// the delivery made again.
func TestAThrottledUpdateGivesUpBeforeTheDeadline(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.d.DeadlineMargin = 2 * time.Second
	// Paced as the functions' clients are: a throttled call is retried,
	// with growing waits, up to 25 times.
	w.d.Targets = &target.Pool{Base: handler.Paced(w.env.Config)}
	p := w.push(t, "1.4.0")
	w.env.Proxy.Fail("UpdateService", awstest.Always, awstest.Throttling())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	res, err := w.d.Push(ctx, p)
	if ctx.Err() != nil {
		t.Fatalf("the push was still going at the invocation's deadline: %v", ctx.Err())
	}
	if err == nil || !target.Retryable(err) {
		t.Errorf("Push error = %v, want a retryable error, so that the event is delivered again", err)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed {
		t.Errorf("dev = %+v, want failed", r)
	}
	if n := w.env.Proxy.Count("TransactWriteItems"); n != 0 {
		t.Errorf("%d state writes: nothing was updated, nothing is to be recorded", n)
	}
	w.env.Proxy.ClearFaults()
	if got := outcomes(w.deliver(t, p))["dev"]; got != "deployed" {
		t.Errorf("the delivery made again: %s, want deployed (no claim left behind)", got)
	}
}

// A reconcile stops beginning repositories before its deadline, but the
// state write after an UpdateService it made is not cut short with it: the
// update is recorded even when it ends after the reconcile stopped
// beginning work.
func TestAnUpdateNearTheDeadlineIsRecorded(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.d.DeadlineMargin, w.d.WaitMargin = time.Second, 2*time.Second
	w.push(t, "1.4.0") // its push event is lost: the reconcile deploys it
	start := time.Now()
	deadline := start.Add(6 * time.Second)
	// The update is answered after the reconcile stopped beginning
	// repositories (the deadline minus 3 s) and after the point where it
	// used to stop what it had begun (the deadline minus WaitMargin), before
	// the delivery's own margin (the deadline minus 1 s).
	w.env.Proxy.Before("UpdateService", func(awstest.Call) { time.Sleep(time.Until(deadline.Add(-1500 * time.Millisecond))) })
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	res, err := w.d.Reconcile(ctx, event.Schedule{ID: "sched-deadline", Time: start})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if got := repoOutcomes(res)["hello-color/dev"]; got != "deployed" {
		t.Errorf("dev = %q, want deployed", got)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.4.0" {
		t.Errorf("the record says %q: the update was made and not recorded", rec.Version)
	}
}

// Nothing starts that cannot be recorded: with less than the margin left,
// no service is updated.
func TestNoUpdateStartsWithinTheMargin(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.d.DeadlineMargin = time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := w.d.Push(ctx, w.push(t, "1.4.0"))
	if !errors.Is(err, context.DeadlineExceeded) || !target.Retryable(err) {
		t.Errorf("Push error = %v, want a retryable deadline error", err)
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("changes to ECS within the margin: %v", ops)
	}
}

// Registrations queue behind a pace every instance shares through the
// state table: the slot is reserved beside the describes, before the
// registration, and a repository holds one slot still to come.
func TestRegistrationsKeepTheSharedPace(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.d.Pace = stateStore(w.env)
	w.env.Proxy.Reset()
	w.deliver(t, w.push(t, "1.4.0"))
	var reserved, registered *awstest.Call
	for _, c := range w.env.Proxy.Log() {
		switch {
		case c.Operation == "UpdateItem" && strings.Contains(string(c.Request), "ecs:RegisterTaskDefinition:"):
			reserved = &c
		case c.Operation == "RegisterTaskDefinition":
			registered = &c
		}
	}
	if reserved == nil || registered == nil {
		t.Fatalf("reserved %v, registered %v: want a slot reserved for the registration", reserved != nil, registered != nil)
	}
	if !strings.Contains(string(reserved.Request), "ecs:RegisterTaskDefinition:") || !strings.Contains(string(reserved.Request), `"slot#hello-color"`) {
		t.Errorf("the reservation names %s, want the registration pace and the repository", reserved.Request)
	}
	if registered.Start.Before(reserved.End) {
		t.Errorf("registered at %v, before its slot was reserved (%v)", registered.Start, reserved.End)
	}
}
