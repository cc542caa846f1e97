package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// A push's delivery whose registration slot is far off gives its Lambda
// instance back rather than sleep in it: it hands its environment off to
// the queue, with the slot it reserved, and the queue brings it back when
// the slot is due. During a burst, the deliveries then hold the instances
// for the time it takes to decide, not for the pace's queue, so a push to
// another repository is not stuck behind them in Lambda's own queue of
// events. A delivery handed off is decided again when it comes back (a
// higher version may have come meanwhile, ECS may have moved on): what it
// carries is the push, never the decision.

// Queue holds deliveries handed off until their registration slot. The
// functions' queue is an SQS queue with a delay (pkg/queue); without one
// a delivery waits for its slot in the invocation, as the CLI does.
type Queue interface {
	// Send delivers body back to the deployer at due, or soon after.
	Send(ctx context.Context, body []byte, due time.Time) error
}

// handoffAfter is how far off a slot must be for its delivery to be
// handed off: a nearer one is waited for, since handing off and coming
// back costs a few calls and a second or two of the queue's own.
const handoffAfter = 10 * time.Second

// handoffDue decides whether an environment's delivery is handed off, from
// its request and the pace's answer for its first slot: only a push's
// (a person's request waits for its result), and only when the slot is
// more than handoffAfter from now. It returns when the delivery is to
// come back, and the slot it keeps (zero when the repository's slot still
// to come is what it waits for: it reserves again when it comes back).
func handoffDue(req Request, a slotAnswer, now time.Time) (due time.Time, slot state.Slot, ok bool) {
	if req.Cause != state.CausePush || req.DryRun || a.err != nil || a.at.Sub(now) <= handoffAfter {
		return time.Time{}, state.Slot{}, false
	}
	if a.taken {
		return a.at, state.Slot{}, true
	}
	return a.at, a.slot, true
}

// queuedKind names the deployer's queued deliveries, so that nothing else
// sent to its queue is taken for one.
const queuedKind = "ecrdeploy/queued-delivery"

// queuedDelivery is a push's delivery to one environment handed off to the
// queue: the push, the environment, and the slot reserved for it.
type queuedDelivery struct {
	Kind        string      `json:"kind"`
	Repository  string      `json:"repository"`
	Tag         string      `json:"tag"`
	Digest      string      `json:"digest"`
	Registry    string      `json:"registry"`
	Cause       state.Cause `json:"trigger"`
	EventID     string      `json:"eventId"`
	PushedAt    time.Time   `json:"pushedAt"`
	Environment string      `json:"environment"`
	Slot        *time.Time  `json:"slot,omitempty"`
	// Shift is the slot's state.Slot.Shift: the front slots the pace had
	// given when it was reserved.
	Shift int64     `json:"shift,omitempty"`
	Due   time.Time `json:"due"`
	// Attempt counts the times the delivery came back from the queue and
	// failed in a way a retry could fix (Dequeued): 0 for none.
	Attempt int `json:"attempt,omitempty"`
}

// request is the push the delivery carries out, for its one environment.
func (q queuedDelivery) request() Request {
	req := Request{
		Repository: q.Repository, Tag: q.Tag, Digest: q.Digest, Registry: q.Registry, Cause: q.Cause,
		EventID: q.EventID, PushedAt: q.PushedAt, Environments: []string{q.Environment}, Attempt: q.Attempt,
	}
	if q.Slot != nil {
		req.Slot = state.Slot{At: *q.Slot, Shift: q.Shift}
	}
	return req
}

func encodeQueued(req Request, environment string, due time.Time, slot state.Slot, attempt int) ([]byte, error) {
	q := queuedDelivery{
		Kind: queuedKind, Repository: req.Repository, Tag: req.Tag, Digest: req.Digest, Registry: req.Registry,
		Cause: req.Cause, EventID: req.EventID, PushedAt: req.PushedAt, Environment: environment, Due: due.UTC(),
		Attempt: attempt,
	}
	if !slot.At.IsZero() {
		s := slot.At.UTC()
		q.Slot, q.Shift = &s, slot.Shift
	}
	return json.Marshal(q)
}

// decodeQueued reads a queued delivery as strictly as an event: valid
// UTF-8, no duplicate or case-variant keys, no unknown field, the kind and
// every field a push needs.
func decodeQueued(body []byte) (queuedDelivery, error) {
	if e := input.CheckUTF8("", body); e != nil {
		return queuedDelivery{}, e
	}
	if e := input.CheckKeys("", body); e != nil {
		return queuedDelivery{}, e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var q queuedDelivery
	if err := dec.Decode(&q); err != nil {
		field, problem := input.JSONProblem(err)
		return queuedDelivery{}, &input.Error{Field: field, Problem: problem}
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"repository", q.Repository}, {"tag", q.Tag}, {"digest", q.Digest},
		{"registry", q.Registry}, {"environment", q.Environment}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	switch {
	case q.Kind != queuedKind:
		return q, &input.Error{Field: "kind", Problem: fmt.Sprintf("%s, want %q: not a delivery the deployer queued", input.Quote(q.Kind), queuedKind)}
	case q.Cause != state.CausePush:
		return q, &input.Error{Field: "trigger", Problem: fmt.Sprintf("%s, want %q: only pushes are queued", input.Quote(string(q.Cause)), state.CausePush)}
	case len(missing) > 0:
		return q, &input.Error{Field: missing[0], Problem: "missing or empty"}
	case q.Attempt < 0:
		return q, &input.Error{Field: "attempt", Problem: fmt.Sprintf("%d, want 0 or more", q.Attempt)}
	}
	return q, nil
}

// handOff sends an environment's delivery to the queue, to come back at
// due with slot, and returns the environment's rows (skipped, queued, until
// due).
func (d *Deployer) handOff(ctx context.Context, req Request, e environment, due time.Time, slot state.Slot) ([]Row, error) {
	body, err := encodeQueued(req, e.name, due, slot, req.Attempt)
	if err == nil {
		err = d.Queue.Send(ctx, body, due)
	}
	if err != nil {
		return nil, fmt.Errorf("hand the delivery off to the queue until its registration slot: %w", err)
	}
	rows := environmentRows(e.name, e.env, policy.Queued, nil)
	for i := range rows {
		rows[i].Detail = fmt.Sprintf("the account's registrations are queued (RegisterTaskDefinition's pace): this one is due at %s, when the delivery comes back from the queue", due.UTC().Format(time.RFC3339))
		rows[i].Until = utcTime(due)
	}
	return rows, nil
}

// Dequeued carries out the deliveries its queue gave back, each decided
// again as a push of its environment. A message that is not a queued
// delivery is logged and returned as an error, so that the queue keeps it
// and, after its receives, moves it to the dead-letter queue: nothing is
// dropped. A delivery that fails in a way a retry could fix (the
// environment claimed by another for longer than the claim wait, AWS
// throttling past the SDK's retries) is sent to the queue again, later
// (requeue), rather than returned: the queue would make it visible again
// only after its visibility timeout, longer than Lambda's own retries of
// an event. The error is otherwise non-nil only when a retry could
// succeed.
func (d *Deployer) Dequeued(ctx context.Context, ev event.Queued) (Result, error) {
	out := Result{Cause: state.CausePush}
	var errs []error
	for _, m := range ev.Messages {
		q, err := decodeQueued(m.Body)
		if err != nil {
			err = fmt.Errorf("queued message %s: %w: %w", m.ID, ErrBadQueued, err)
			d.log().ErrorContext(ctx, "a message of the queue is not a queued delivery: left to the dead-letter queue", "message", m.ID,
				"error", err.Error())
			out.Repositories = append(out.Repositories, Result{Error: err.Error(), ErrorKind: BadInput})
			errs = append(errs, err)
			continue
		}
		res, err := d.Deploy(ctx, q.request())
		if err != nil {
			err = d.requeue(ctx, q, err)
		}
		out.Repositories = append(out.Repositories, res)
		errs = append(errs, err)
	}
	if len(out.Repositories) == 1 {
		return out.Repositories[0], errors.Join(errs...)
	}
	return out, errors.Join(errs...)
}

// maxQueuedAttempts is how many times a delivery back from the queue is
// sent to it again after a failure a retry could fix; after that the
// failure is returned, and the queue's own redelivery and dead-letter
// queue take over.
const maxQueuedAttempts = 5

// requeue sends a delivery that failed with err (a retry could fix it) to
// the queue again, 30 s later and doubling with each attempt, without the
// slot it had (it reserves another when it comes back). It returns nil
// once sent, and err when it is not: the attempts are spent, or the queue
// refuses.
func (d *Deployer) requeue(ctx context.Context, q queuedDelivery, err error) error {
	if d.Queue == nil || q.Attempt >= maxQueuedAttempts {
		return err
	}
	due := d.now().Add(30 * time.Second << q.Attempt)
	q.Attempt++
	q.Slot, q.Shift, q.Due = nil, 0, due.UTC()
	body, merr := json.Marshal(q)
	if merr == nil {
		merr = d.Queue.Send(ctx, body, due)
	}
	if merr != nil {
		return errors.Join(err, fmt.Errorf("send it to the queue again: %w", merr))
	}
	d.log().WarnContext(ctx, "a delivery back from the queue failed: sent to it again", "repository", q.Repository,
		"environment", q.Environment, "attempt", q.Attempt, "due", due.UTC().Format(time.RFC3339), "error", err.Error())
	return nil
}

// ErrBadQueued is a message of the deployer's queue that is not a delivery
// it queued.
var ErrBadQueued = errors.New("not a queued delivery")

// handOffFar hands an environment's delivery off to the queue when it
// registers a revision whose slot is far off (handoffDue), and returns its
// rows; ok is false when it registers here, now or after a short wait. A
// queue that refuses the message is no reason not to deploy: the delivery
// then waits for its slot here.
func (d *Deployer) handOffFar(ctx context.Context, req Request, e environment, plans []servicePlan, pending []int, paced *slots) ([]Row, bool) {
	if d.Queue == nil || !slices.ContainsFunc(pending, func(i int) bool { return plans[i].register() }) {
		return nil, false
	}
	a, ok := paced.peek(ctx)
	if !ok {
		return nil, false
	}
	due, slot, ok := handoffDue(req, a, d.now())
	if !ok {
		return nil, false
	}
	rows, err := d.handOff(ctx, req, e, due, slot)
	if err != nil {
		d.log().WarnContext(ctx, "the delivery waits for its registration slot here", "repository", req.Repository,
			"environment", e.name, "slot", due.UTC().Format(time.RFC3339), "error", err.Error())
		return nil, false
	}
	return rows, true
}
