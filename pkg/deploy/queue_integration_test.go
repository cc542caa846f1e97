package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// farPace answers every reservation with a slot ahead of now (taken: the
// repository holds one still to come, due then); it counts them.
type farPace struct {
	ahead time.Duration
	taken bool
	mu    sync.Mutex
	calls int
	slots []time.Time
	// shifted is how far Shifted moves a slot; asked the slots it was
	// asked about.
	shifted time.Duration
	asked   []state.Slot
}

func (p *farPace) ReserveSlot(_ context.Context, _ state.Pace, key string) (state.Slot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	at := time.Now().Add(p.ahead).Truncate(time.Millisecond)
	p.slots = append(p.slots, at)
	if p.taken {
		return state.Slot{At: at}, fmt.Errorf("%s: %w", key, state.ErrSlotTaken)
	}
	return state.Slot{At: at, Shift: int64(p.calls)}, nil
}

// Shifted moves a slot by shifted, and counts the questions.
func (p *farPace) Shifted(_ context.Context, _ state.Pace, slot state.Slot) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, slot)
	return slot.At.Add(p.shifted), nil
}

func (p *farPace) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// sentQueue is a Queue that keeps what it is sent; it refuses with err.
type sentQueue struct {
	err  error
	mu   sync.Mutex
	sent []queued
}

type queued struct {
	body []byte
	due  time.Time
}

func (q *sentQueue) Send(_ context.Context, body []byte, due time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.sent = append(q.sent, queued{body, due})
	return nil
}

func (q *sentQueue) messages() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queued(nil), q.sent...)
}

// back delivers the queue's messages to the deployer, as the queue's event
// source does.
func (q *sentQueue) back(t *testing.T, d *deploy.Deployer) deploy.Result {
	t.Helper()
	var ev event.Queued
	for i, m := range q.messages() {
		ev.Messages = append(ev.Messages, event.QueuedMessage{ID: fmt.Sprintf("m-%d", i), Body: m.body, Receives: 1})
	}
	res, err := d.Dequeued(t.Context(), ev)
	if err != nil {
		t.Fatalf("Dequeued: %v", err)
	}
	return res
}

// A push whose registration slot is far off gives its instance back: the
// environment's delivery goes to the queue with the slot it reserved, due
// then, and says so (skipped, queued, until the slot), with nothing
// registered or updated and the environment's claim released. When the
// queue brings it back at the slot, it registers in that slot, reserving
// no other, and deploys, recording the push's event.
func TestAFarSlotHandsTheDeliveryOffToTheQueue(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	pace := &farPace{ahead: time.Minute}
	q := &sentQueue{}
	w.d.Pace, w.d.Queue = pace, q
	p := w.push(t, "1.4.0")
	w.env.Proxy.Reset()
	start := time.Now()
	res := w.deliver(t, p)
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the delivery took %v: it waited for its slot", took)
	}
	r := row(t, res, "dev")
	if r.Outcome != deploy.Skipped || r.Reason != policy.Queued || r.Until == nil || !r.Until.Equal(pace.slots[0]) || !strings.Contains(r.Detail, "queue") {
		t.Errorf("dev = %+v, want skipped, queued, until the slot %v", r, pace.slots[0])
	}
	for _, op := range []string{"RegisterTaskDefinition", "UpdateService"} {
		if n := w.env.Proxy.Count(op); n != 0 {
			t.Errorf("%d %s before the slot", n, op)
		}
	}
	sent := q.messages()
	if len(sent) != 1 || !sent[0].due.Equal(pace.slots[0]) {
		t.Fatalf("sent %+v, want one message due at the slot %v", sent, pace.slots[0])
	}
	for _, want := range []string{`"environment":"dev"`, `"tag":"1.4.0"`, `"slot":"`, `"eventId":"` + p.ID + `"`} {
		if !strings.Contains(string(sent[0].body), want) {
			t.Errorf("the message %s does not carry %s", sent[0].body, want)
		}
	}
	// Another can claim the environment at once.
	k := state.Key{Repository: "hello-color", Environment: "dev"}
	if _, err := stateStore(w.env).Claim(t.Context(), k, "another", time.Now().Add(time.Minute)); err != nil {
		t.Errorf("the environment's claim after the handoff: %v, want it released", err)
	} else if err := stateStore(w.env).Release(t.Context(), k, "another"); err != nil {
		t.Fatal(err)
	}

	// The queue brings it back at the slot.
	w.d.Now = func() time.Time { return time.Now().Add(time.Minute) }
	back := q.back(t, w.d)
	if got := outcomes(back)["dev"]; got != "deployed" {
		t.Fatalf("back from the queue: dev %s, want deployed", got)
	}
	if n := pace.count(); n != 1 {
		t.Errorf("%d reservations, want the one the delivery handed off with", n)
	}
	if len(pace.asked) != 1 || !pace.asked[0].At.Equal(pace.slots[0]) || pace.asked[0].Shift != 1 {
		t.Errorf("the pace was asked how far %+v moved, want the slot handed off with its shift", pace.asked)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d registrations, want 1", n)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.4.0" || rec.EventID != p.ID {
		t.Errorf("record %s by %s, want 1.4.0 by the push %s", rec.Version, rec.EventID, p.ID)
	}
	if n := len(q.messages()); n != 1 {
		t.Errorf("%d messages: the delivery back from the queue was handed off again", n)
	}
}

// A delivery that waits for its repository's slot still to come (another
// environment's) hands off without a slot, due when that one is, and
// reserves its own when it comes back; one that came back too late for
// its slot (a message delivered again after failures) reserves again too.
func TestAHandoffWithoutASlotReservesWhenItComesBack(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	pace := &farPace{ahead: time.Minute, taken: true}
	q := &sentQueue{}
	w.d.Pace, w.d.Queue = pace, q
	w.deliver(t, w.push(t, "1.4.0"))
	sent := q.messages()
	if len(sent) != 1 || strings.Contains(string(sent[0].body), `"slot"`) || !sent[0].due.Equal(pace.slots[0]) {
		t.Fatalf("sent %+v, want one message without a slot, due when the repository's slot is (%v)", sent, pace.slots[0])
	}
	pace.mu.Lock()
	pace.ahead, pace.taken = 0, false
	pace.mu.Unlock()
	w.d.Queue = nil
	if got := outcomes(q.back(t, w.d))["dev"]; got != "deployed" {
		t.Fatalf("back from the queue: %s, want deployed", got)
	}
	if n := pace.count(); n != 2 {
		t.Errorf("%d reservations, want 2: the handoff's and its own when it came back", n)
	}
}

// A queue that refuses the message is no reason not to deploy: the
// delivery waits for its slot in the invocation, as without a queue.
func TestARefusedHandoffWaitsForTheSlot(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	pace := &farPace{ahead: 11 * time.Second}
	w.d.Pace, w.d.Queue = pace, &sentQueue{err: errors.New("sqs: access denied")}
	start := time.Now()
	res := w.deliver(t, w.push(t, "1.4.0"))
	if got := outcomes(res)["dev"]; got != "deployed" {
		t.Fatalf("dev %s, want deployed", got)
	}
	if took := time.Since(start); took < pace.ahead-time.Second {
		t.Errorf("deployed after %v, before its slot (%v)", took, pace.ahead)
	}
}

// A message of the queue that is not a delivery the deployer queued is
// refused (an error, so that the queue keeps it for its dead-letter
// queue), naming the message and what is wrong, and deploys nothing.
func TestABadQueuedMessageIsKept(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	w.push(t, "1.4.0")
	w.env.Proxy.Reset()
	bodies := map[string]string{
		"not JSON":       `hello`,
		"another kind":   `{"kind":"something","repository":"hello-color","tag":"1.4.0","digest":"sha256:00","registry":"r","trigger":"push","eventId":"e","pushedAt":"2026-12-08T00:00:00Z","environment":"dev","due":"2026-12-08T00:00:00Z"}`,
		"unknown field":  `{"kind":"ecrdeploy/queued-delivery","force":true,"repository":"hello-color","tag":"1.4.0","digest":"sha256:00","registry":"r","trigger":"push","eventId":"e","pushedAt":"2026-12-08T00:00:00Z","environment":"dev","due":"2026-12-08T00:00:00Z"}`,
		"no environment": `{"kind":"ecrdeploy/queued-delivery","repository":"hello-color","tag":"1.4.0","digest":"sha256:00","registry":"r","trigger":"push","eventId":"e","pushedAt":"2026-12-08T00:00:00Z","due":"2026-12-08T00:00:00Z"}`,
		"a rollback":     `{"kind":"ecrdeploy/queued-delivery","repository":"hello-color","tag":"1.4.0","digest":"sha256:00","registry":"r","trigger":"rollback","eventId":"e","pushedAt":"2026-12-08T00:00:00Z","environment":"dev","due":"2026-12-08T00:00:00Z"}`,
	}
	want := map[string]string{"not JSON": "invalid character", "another kind": "kind", "unknown field": "force", "no environment": "environment", "a rollback": "trigger"}
	for name, body := range bodies {
		res, err := w.d.Dequeued(t.Context(), event.Queued{Messages: []event.QueuedMessage{{ID: "m-" + strings.ReplaceAll(name, " ", "-"), Body: []byte(body), Receives: 1}}})
		if !errors.Is(err, deploy.ErrBadQueued) || !strings.Contains(err.Error(), "m-"+strings.ReplaceAll(name, " ", "-")) || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: error %v, want ErrBadQueued naming the message and %q", name, err, want[name])
		}
		if res.ErrorKind != deploy.BadInput {
			t.Errorf("%s: result %+v, want a bad input", name, res)
		}
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("changes to ECS: %v", ops)
	}
}

// A delivery back from the queue that fails in a way a retry could fix
// (here: the environment claimed by another for longer than it waits) is
// sent to the queue again, 30 s later, without its slot, and the
// invocation succeeds (the queue's own redelivery would wait for the
// visibility timeout); once its attempts are spent, the failure is
// returned for the queue and its dead-letter queue to take over.
func TestAFailedDeliveryBackFromTheQueueIsQueuedAgain(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	pace := &farPace{ahead: time.Minute}
	q := &sentQueue{}
	w.d.Pace, w.d.Queue = pace, q
	w.deliver(t, w.push(t, "1.4.0"))
	first := q.messages()
	if len(first) != 1 {
		t.Fatalf("%d messages, want the handoff", len(first))
	}
	k := state.Key{Repository: "hello-color", Environment: "dev"}
	if _, err := stateStore(w.env).Claim(t.Context(), k, "another", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	w.d.ClaimWait = 100 * time.Millisecond
	w.d.Now = func() time.Time { return time.Now().Add(time.Minute) }
	start := w.d.Now()
	back := q.back(t, w.d) // fails its Dequeued only if not queued again
	if got := outcomes(back)["dev"]; !strings.HasPrefix(got, "failed") {
		t.Errorf("back from the queue: dev %s, want failed (claimed)", got)
	}
	again := q.messages()[1:]
	if len(again) != 1 {
		t.Fatalf("%d messages sent again, want 1", len(again))
	}
	if b := string(again[0].body); !strings.Contains(b, `"attempt":1`) || strings.Contains(b, `"slot"`) {
		t.Errorf("sent again: %s, want attempt 1 and no slot", b)
	}
	if d := again[0].due.Sub(start); d < 30*time.Second || d > 31*time.Second {
		t.Errorf("sent again due %v later, want 30 s", d)
	}

	// Back again with its slot far off, it is handed off again: with its
	// attempts counted still, so that a failure that keeps coming back
	// ends.
	if err := stateStore(w.env).Release(t.Context(), k, "another"); err != nil {
		t.Fatal(err)
	}
	w.d.Now = nil // the pace's next slot is a minute off again
	back = q.back2(t, w.d, again[0].body)
	if r := row(t, back, "dev"); r.Reason != policy.Queued {
		t.Fatalf("back again: %+v, want queued", r)
	}
	if last := q.messages(); len(last) != 3 || !strings.Contains(string(last[2].body), `"attempt":1`) {
		t.Errorf("handed off again: %s, want attempt 1 kept", last[len(last)-1].body)
	}

	// Its attempts spent, the failure is the invocation's.
	if _, err := stateStore(w.env).Claim(t.Context(), k, "another", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	spent := strings.Replace(string(again[0].body), `"attempt":1`, `"attempt":5`, 1)
	_, err := w.d.Dequeued(t.Context(), event.Queued{Messages: []event.QueuedMessage{{ID: "m-spent", Body: []byte(spent), Receives: 1}}})
	var claimed *state.Claimed
	if !errors.As(err, &claimed) {
		t.Errorf("Dequeued of a delivery whose attempts are spent: %v, want the claim's error", err)
	}
	if n := len(q.messages()); n != 3 {
		t.Errorf("%d messages: one whose attempts are spent was sent again", n)
	}
}

// The slot a delivery comes back with is its first registration's: a
// second service of the environment reserves its own.
func TestTheSlotBackFromTheQueueIsOneRegistrations(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(`{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev","hello-color-staging"],"container":"web"}}}`))
	pace := &farPace{ahead: time.Minute}
	q := &sentQueue{}
	w.d.Pace, w.d.Queue = pace, q
	w.deliver(t, w.push(t, "1.4.0"))
	if n := len(q.messages()); n != 1 {
		t.Fatalf("%d messages, want the handoff", n)
	}
	pace.mu.Lock()
	pace.ahead = 0
	pace.mu.Unlock()
	w.env.Proxy.Reset()
	w.d.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if got := outcomes(q.back(t, w.d))["dev"]; got != "deployed" {
		t.Fatalf("back from the queue: %s, want deployed", got)
	}
	registered := w.env.Proxy.Count("RegisterTaskDefinition")
	if registered != 2 {
		t.Fatalf("%d registrations, want one per service: the test cannot tell", registered)
	}
	if n := pace.count(); n != 2 {
		t.Errorf("%d reservations for the handoff and 2 registrations, want 2: the slot back from the queue served both", n)
	}
}

// A slot the front slots given since moved far off again (here 30 s past
// its time when it comes back) is not used as reserved: the delivery goes
// back to the queue with the same slot, due when it is now.
func TestASlotMovedByFrontSlotsIsWaitedForAgain(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	pace := &farPace{ahead: time.Minute, shifted: 30 * time.Second}
	q := &sentQueue{}
	w.d.Pace, w.d.Queue = pace, q
	w.deliver(t, w.push(t, "1.4.0"))
	w.env.Proxy.Reset()
	w.d.Now = func() time.Time { return time.Now().Add(time.Minute) }
	res := q.back(t, w.d)
	if r := row(t, res, "dev"); r.Reason != policy.Queued {
		t.Fatalf("back from the queue: %+v, want queued again", r)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition"); n != 0 {
		t.Errorf("%d registrations before the slot as moved", n)
	}
	sent := q.messages()
	if len(sent) != 2 || !sent[1].due.Equal(pace.slots[0].Add(pace.shifted)) || !strings.Contains(string(sent[1].body), `"shift":1`) {
		t.Fatalf("sent %+v, want the delivery again, due %v, with its slot's shift", sent, pace.slots[0].Add(pace.shifted))
	}
	if n := pace.count(); n != 1 {
		t.Errorf("%d reservations, want only the first", n)
	}
}

// back2 delivers one body to the deployer, as the queue's event source
// does.
func (q *sentQueue) back2(t *testing.T, d *deploy.Deployer, body []byte) deploy.Result {
	t.Helper()
	res, err := d.Dequeued(t.Context(), event.Queued{Messages: []event.QueuedMessage{{ID: "m-again", Body: body, Receives: 1}}})
	if err != nil {
		t.Fatalf("Dequeued: %v", err)
	}
	return res
}
