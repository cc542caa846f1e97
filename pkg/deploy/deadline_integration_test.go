package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
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

// slowPace is a pace whose first answer is that the repository holds a slot
// still to come, after wait; it counts the reservations asked for.
type slowPace struct {
	mu    sync.Mutex
	calls int
	wait  time.Duration
}

func (p *slowPace) ReserveSlot(_ context.Context, _ state.Pace, key string) (state.Slot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.calls == 1 {
		return state.Slot{At: time.Now().Add(p.wait)}, fmt.Errorf("%s: %w", key, state.ErrSlotTaken)
	}
	return state.Slot{At: time.Now()}, nil
}

func (p *slowPace) Shifted(_ context.Context, _ state.Pace, slot state.Slot) (time.Time, error) {
	return slot.At, nil
}

func (p *slowPace) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// A slot reserved ahead for a registration that does not come (the
// environment has no record, so a registration was all but sure, but the
// service runs that definition already) is given up when the delivery
// ends (the reservation runs in the delivery's act context, cancelled
// then): the reservation still waiting for the repository's slot to come
// asks the pace for nothing after it, in this invocation or, the instance
// frozen meanwhile, a later one.
func TestASlotReservedAheadIsGivenUpWhenNothingRegisters(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	p := w.push(t, "1.4.0")
	w.deliver(t, p)
	// The environment's record and changes are gone (a table restored
	// from before its first deployment), the service runs what 1.4.0
	// renders to.
	ddb := w.env.DynamoDB()
	items, err := ddb.Query(t.Context(), &dynamodb.QueryInput{TableName: aws.String(w.env.Table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: "hello-color"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items.Items {
		if _, err := ddb.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(w.env.Table), Key: map[string]ddbtypes.AttributeValue{"pk": it["pk"], "sk": it["sk"]}}); err != nil {
			t.Fatal(err)
		}
	}
	pace := &slowPace{wait: 3 * time.Second}
	w.d.Pace = pace
	start := time.Now()
	w.env.Proxy.Reset()
	res := w.deliver(t, p)
	if took := time.Since(start); took >= pace.wait {
		t.Fatalf("the delivery took %v, not less than the pace's wait (%v): the test cannot tell", took, pace.wait)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition"); n != 0 {
		t.Fatalf("%d registrations (%v): the scenario wants none", n, outcomes(res))
	}
	if pace.count() != 1 {
		t.Fatalf("%d reservations during the delivery, want the one reserved ahead", pace.count())
	}
	time.Sleep(time.Until(start.Add(pace.wait + 500*time.Millisecond)))
	if n := pace.count(); n != 1 {
		t.Errorf("%d reservations: the reservation ahead went on after the delivery ended (%v) and took a slot nothing uses", n, outcomes(res))
	}
}

// A deployer that cannot tell its account reserves no slot (the pace would
// be every account's) and registers at the SDK's pace instead.
func TestNoSlotWithoutTheAccount(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	pace := &slowPace{}
	w.d.Pace = pace
	w.d.Account = func(context.Context) (string, error) { return "", errors.New("sts: no credentials") }
	w.push(t, "1.4.0") // the image in ECR
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "dev"})
	if err != nil || outcomes(res)["dev"] != "deployed" {
		t.Fatalf("deploy without the account: %v %v", err, outcomes(res))
	}
	if n := pace.count(); n != 0 {
		t.Errorf("%d reservations without the account, want none (the key would name no account)", n)
	}
}
