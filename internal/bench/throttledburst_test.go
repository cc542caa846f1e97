package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// throttledShape is a burst of pushes under AWS's request buckets:
// Repositories × 10 versions, each repository with burstEnvironments (dev
// and staging, each its own service and family), all queued at once in one
// shuffled order and delivered as Lambda delivers the deployer's events
// (Lambda: reserved concurrency, retries of a failed invocation after 1
// and 2 minutes, the invocation's deadline). An event whose last delivery
// fails is lost (it would go to the failed-invocation queue).
//
// During the burst, Unrelated pushes, each to a repository of its own that
// the burst does not touch, are queued one every Every, the first Every/2
// after the burst: how long a team shipping a fix waits behind a burst.
type throttledShape struct {
	Repositories int
	Lambda       lambdaModel
	Unrelated    int
	Every        time.Duration
	// Variant names a change to the deployer for an experiment ("" for
	// none); Pace, when set, replaces each instance's registration pace,
	// and PaceLog, when set, gives the reservations of a pace that makes
	// no call the proxy sees.
	Variant string
	Pace    func(deploy.Pacer) deploy.Pacer
	PaceLog func() []timelineCall
	// NoQueue runs the deployer without its queue: a delivery waits for
	// its registration slot in its invocation, however far off.
	NoQueue bool
}

// throttledTags are the ten versions of burst repository r: dev (every
// version, pre-releases too) ends on 2.1.0 for even r and 2.0.0-rc.2 for
// odd r, staging (1.x) on 1.2.0 for even r and 1.4.0 for odd r.
func throttledTags(r int) []string {
	tags := []string{"0.9.0", "1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0-rc.1", "2.0.0-rc.2"}
	if r%2 == 0 {
		return append(tags, "2.0.0", "2.0.1", "2.1.0")
	}
	return append(tags, "1.3.0", "1.3.1", "1.4.0")
}

func throttledRepository(r int) string { return fmt.Sprintf("burst-%03d", r) }

// unrelatedRepository is the k-th repository pushed to during the burst:
// one environment, prod (^1.0.0), its own service and family, running
// 1.0.0; the push is of 1.0.1.
func unrelatedRepository(k int) string { return fmt.Sprintf("unrelated-%02d", k) }

const (
	unrelatedEnvironment = "prod"
	unrelatedFrom        = "1.0.0"
	unrelatedTag         = "1.0.1"
)

// unrelatedService is the service of an unrelated repository.
func unrelatedService(k int) string { return unrelatedRepository(k) + "-" + unrelatedEnvironment }

// throttledBurst is what one burst under throttling did.
type throttledBurst struct {
	Shape   throttledShape
	Buckets string // what the buckets were, in words
	Events  int    // the burst's push events (the unrelated ones apart)
	// Wall is from the first delivery to the last of the burst's events
	// settling; WallAll to the last event of all, the unrelated ones
	// included.
	Wall, WallAll time.Duration
	Calls         map[string]int // attempts by operation, throttled ones included
	Throttled     map[string]int // attempts answered ThrottlingException
	Errors        int            // invocations that returned an error
	// ClaimWaits are the errors of an invocation that waited for another
	// delivery's claim on an environment longer than the deployer waits
	// (a *state.Claimed): returned so that the event is delivered again,
	// by design, and not for want of retries.
	ClaimWaits   int
	Failures     []string // the first few errors, for the report
	Redelivered  int      // deliveries after a failed one
	Lost         int      // events whose last delivery failed
	Outcomes     map[string]int
	Environments int // of the burst
	Wrong        []string
	// Needed is how many registrations the run needs: one for each
	// environment that ends on another version than it started on (the
	// burst's and the unrelated ones'); BurstNeeded the burst's alone.
	Needed, BurstNeeded int
	// Registered are the registrations ECS answered; Twice the families
	// that got more than one.
	Registered int
	Twice      []string
	// Reservations are the slots of the registration pace reserved, and
	// Ahead the most slots still to come at once.
	Reservations, Ahead int
	Unrelated           []unrelatedPush
	// CallMedian and CallP95 are how long the proxy took over a call,
	// moto's time: what the deliveries waited for besides the pace;
	// OpTimes the same by operation (median, p95).
	CallMedian, CallP95 time.Duration
	OpTimes             map[string][2]time.Duration
	// Updates are the UpdateItem calls by purpose (timelineCall.Kind).
	Updates map[string]int
	// Warnings are the deployer's log lines of level WARN or above, by
	// message (such as a registration that got no slot of the pace).
	Warnings map[string]int
}

// warningCounter is a slog.Handler that counts the records of level WARN
// and above by message.
type warningCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (w *warningCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warningCounter) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts[r.Message]++
	return nil
}

func (w *warningCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warningCounter) WithGroup(string) slog.Handler      { return w }

func (w *warningCounter) snapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.counts)
}

// unrelatedPush is what happened to one push to an unrelated repository
// during the burst, from the proxy's timeline and the invocations: when it
// was queued, and how long each step of its delivery took until its
// UpdateService was answered.
type unrelatedPush struct {
	Repository string
	At         time.Duration // queued, after the burst's start
	// Queued: waiting for an instance; BurstAhead, the burst's events
	// still queued before it then, and Busy the instances invoked then.
	Queued           time.Duration
	BurstAhead, Busy int
	// ToSlot: from its invocation's start to its slot of the pace
	// reserved; SlotsAhead: slots still to come then, reserved by others;
	// SlotWait: from the reservation to the registration.
	ToSlot     time.Duration
	SlotsAhead int
	SlotWait   time.Duration
	// Updated: from the registration to UpdateService answered.
	Updated time.Duration
	Lead    time.Duration // queued → UpdateService answered; 0 if it never was
	Done    bool
}

// timelineCall is what the proxy saw of one call, kept short: a burst makes
// tens of thousands.
type timelineCall struct {
	Op         string
	Start, End time.Time
	Throttled  bool
	OK         bool // answered 200
	// Key is, for a reservation of the pace, the repository; for
	// RegisterTaskDefinition, the family; for UpdateService, the service.
	Key   string
	Slot  time.Time  // a reservation's slot
	Pace  bool       // an UpdateItem of the pace's item
	write *paceWrite // what a write of the pace reserved, until expandPace
	// Kind tells an UpdateItem's purpose apart: a reservation of the
	// pace, a claim taken or refused (another delivery holds it), a
	// claim's release.
	Kind string
}

// callBody is the part of a request the timeline reads.
type callBody struct {
	Family  string `json:"family"`
	Service string `json:"service"`
	Key     struct {
		PK struct {
			S string `json:"S"`
		} `json:"pk"`
	} `json:"Key"`
	Names  map[string]string `json:"ExpressionAttributeNames"`
	Values map[string]struct {
		N string `json:"N"`
	} `json:"ExpressionAttributeValues"`
	Update string `json:"UpdateExpression"`
}

// timelineOf keeps what the timeline needs of a call.
func timelineOf(c awstest.Call) timelineCall {
	tc := timelineCall{Op: c.Operation, Start: c.Start, End: c.End, Throttled: c.Throttled, OK: c.Status == 200}
	switch c.Operation {
	case "RegisterTaskDefinition", "UpdateService", "UpdateItem":
	default:
		return tc
	}
	if c.Claim() {
		switch {
		case bytes.Contains(c.Request, []byte(`"REMOVE `)):
			tc.Kind = "release"
		case tc.OK:
			tc.Kind = "claim"
		default:
			tc.Kind = "claim refused"
		}
		return tc
	}
	var b callBody
	if json.Unmarshal(c.Request, &b) != nil {
		return tc
	}
	switch {
	case c.Operation == "RegisterTaskDefinition":
		tc.Key = b.Family
	case c.Operation == "UpdateService":
		tc.Key = b.Service
	case b.Key.PK.S == "#pace":
		tc.Pace, tc.Kind = true, "pace"
		tc.write = paceWriteOf(b)
	}
	return tc
}

// paceWrite is what one write of the pace's item reserved (pkg/state's
// reserveBatch): up to 25 slots, one per key, either from now (the pace
// idle: its time set to next) or from the time it had (busy: its time
// moved on by n ms, each slot an offset from the old time). A write of the
// front lane (pkg/state's reserveFront, front) reserves one slot: now (its
// lane idle: its time set to fnext) or its lane's old time plus fslot
// (busy: moved on by fn), and moves the main lane's time on as a write of
// n = one slot does (busy) or sets it to next (idle).
type paceWrite struct {
	busy    bool
	next, n int64
	slots   map[string]int64 // key → slot (Unix ms), or offset when busy

	front            bool
	fbusy            bool
	fnext, fn, fslot int64
}

func paceWriteOf(b callBody) *paceWrite {
	w := &paceWrite{slots: map[string]int64{}}
	number := func(name string) int64 {
		v, _ := strconv.ParseInt(b.Values[name].N, 10, 64)
		return v
	}
	if _, w.front = b.Names["#f"]; w.front {
		key, _ := strings.CutPrefix(b.Names["#k"], "slot#")
		_, w.fbusy = b.Values[":limit"]
		w.fnext, w.fn, w.fslot = number(":fnext"), number(":i"), number(":tau")
		if !w.fbusy {
			w.fslot = number(":now")
		}
		w.slots[key] = 0
		w.busy = strings.Contains(b.Update, "#tat = #tat + :i")
		w.next, w.n = number(":next"), number(":i")
		return w
	}
	_, w.busy = b.Values[":n"]
	w.next, w.n = number(":next"), number(":n")
	for an, name := range b.Names {
		key, ok := strings.CutPrefix(name, "slot#")
		if !ok || !strings.HasPrefix(an, "#s") {
			continue
		}
		w.slots[key] = number(":s" + strings.TrimPrefix(an, "#s"))
	}
	return w
}

// expandPace replaces each accepted write of the pace with one reservation
// per slot it reserved, at the slot's time. A busy write's slots count from
// the time the pace had before it, which the request does not say: the
// writes are replayed in the order DynamoDB applied them (one at a time per
// item, as the proxy keeps them), from the first, which finds it idle.
func expandPace(calls []timelineCall) []timelineCall {
	var writes, out []timelineCall
	for _, c := range calls {
		if c.write != nil && c.OK {
			writes = append(writes, c)
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(writes, func(a, b timelineCall) int { return a.End.Compare(b.End) })
	var tat, ftat int64
	for _, c := range writes {
		old := tat
		if c.write.busy {
			tat += c.write.n
		} else {
			old, tat = 0, c.write.next
		}
		if c.write.front {
			// The slot is the front lane's, now or from its old time.
			old = 0
			if c.write.fbusy {
				old = ftat
				ftat += c.write.fn
			} else {
				ftat = c.write.fnext
			}
			for key := range c.write.slots {
				c.write.slots[key] = c.write.fslot
			}
		}
		for _, key := range slices.Sorted(maps.Keys(c.write.slots)) {
			r := c
			r.write = nil
			r.Slot = time.UnixMilli(old + c.write.slots[key])
			// A key of an experiment's pace without the per-repository
			// rule is the repository, '#', a number.
			r.Key, _, _ = strings.Cut(key, "#")
			out = append(out, r)
		}
	}
	return out
}

// reservation reports whether c reserved a slot of the pace.
func (c timelineCall) reservation() bool { return c.Pace && c.OK && !c.Slot.IsZero() }

// seedThrottled seeds the burst's repositories and the unrelated ones
// straight into moto, with every image in ECR as the pushes left them (the
// images a few at a time), and returns the push events: the burst's, in one
// shuffled order, then the unrelated ones.
func seedThrottled(t *testing.T, w *world, s throttledShape) (burst, unrelated [][]byte) {
	t.Helper()
	ctx := t.Context()
	type image struct {
		repo, tag string
		event     *[]byte
	}
	var images []image
	burst = make([][]byte, s.Repositories*10)
	for r := range s.Repositories {
		repo := throttledRepository(r)
		w.burstRepository(t, repo, true)
		for i, tag := range throttledTags(r) {
			images = append(images, image{repo, tag, &burst[r*10+i]})
		}
	}
	unrelated = make([][]byte, s.Unrelated)
	for k := range s.Unrelated {
		repo, svc := unrelatedRepository(k), unrelatedService(k)
		awstest.Must(w.env.Local.CreateRepository(ctx, repo))(t)
		w.service(t, repo, svc, svc, unrelatedFrom)
		w.configure(t, repo, map[string]environment{unrelatedEnvironment: {Versions: "^1.0.0", Cluster: cluster, Services: []string{svc}, Container: container}})
		images = append(images, image{repo, unrelatedFrom, nil}, image{repo, unrelatedTag, &unrelated[k]})
	}
	errs := make([]error, len(images))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range next {
				im := images[i]
				digest, err := w.env.Local.PutImage(ctx, im.repo, im.tag, localaws.ImageManifest(im.repo+":"+im.tag))
				errs[i] = err
				if im.event != nil {
					*im.event = rawPush(pushEvent(im.repo, im.tag, digest))
				}
			}
		})
	}
	for i := range images {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	rand.New(rand.NewPCG(2026, 12)).Shuffle(len(burst), func(i, j int) { burst[i], burst[j] = burst[j], burst[i] })
	return burst, unrelated
}

// runThrottledBurst seeds the repositories and delivers the burst's push
// events, and the unrelated pushes during it, as Lambda would (s.Lambda),
// with buckets throttling every call; then checks that every environment
// runs, and records, its highest accepted version, and reads from the
// proxy's timeline what the unrelated pushes waited for.
func runThrottledBurst(t *testing.T, s throttledShape, buckets *awstest.Buckets, describe string) throttledBurst {
	w := newWorld(t)
	burst, unrelated := seedThrottled(t, w, s)
	events := slices.Concat(burst, unrelated)

	res := throttledBurst{Shape: s, Buckets: describe, Events: len(burst), Outcomes: map[string]int{}}
	var mu sync.Mutex // res's counts, the timeline
	var timeline []timelineCall
	w.env.Proxy.OnCall(func(c awstest.Call) {
		tc := timelineOf(c)
		mu.Lock()
		defer mu.Unlock()
		timeline = append(timeline, tc)
	})
	warnings := &warningCounter{counts: map[string]int{}}
	handlers := make([]*handler.Handler, max(s.Lambda.Concurrency, 1))
	sq := &sqsModel{}
	for i := range handlers {
		handlers[i] = handler.Wire(handler.Paced(w.env.Config), settings, handler.Options{Log: slog.New(warnings), Metrics: io.Discard})
		if !s.NoQueue {
			handlers[i].Deployer.Queue = sq
		}
		if s.Pace != nil {
			handlers[i].Deployer.Pace = s.Pace(handlers[i].Deployer.Pace)
		}
	}

	at := make([]time.Time, len(events))
	w.env.Proxy.Throttle(buckets)
	start := time.Now()
	for k := range unrelated {
		at[len(burst)+k] = start.Add(s.Every/2 + time.Duration(k)*s.Every)
	}
	invocations := s.Lambda.run(t.Context(), at, sq, func(ctx context.Context, instance, event int) error {
		raw := events[min(event, len(events)-1)]
		if m, ok := sq.message(event); ok {
			raw = sqsEvent(fmt.Sprintf("m-%d", event), m.body)
		}
		out, err := handlers[instance].Event(ctx, raw)
		mu.Lock()
		defer mu.Unlock()
		for _, r := range out.Results {
			res.Outcomes[rowKey(r)]++
		}
		if err != nil {
			res.Errors++
			if _, ok := errors.AsType[*state.Claimed](err); ok {
				res.ClaimWaits++
			}
			if len(res.Failures) < 5 {
				res.Failures = append(res.Failures, err.Error())
			}
		}
		return err
	})
	w.env.Proxy.Throttle(nil)
	res.Warnings = warnings.snapshot()
	mu.Lock()
	calls := slices.Clone(timeline)
	timeline = nil
	mu.Unlock()

	res.Calls, res.Throttled, res.Updates = map[string]int{}, map[string]int{}, map[string]int{}
	took := make([]time.Duration, 0, len(calls))
	byOp := map[string][]time.Duration{}
	for _, c := range calls {
		took = append(took, c.End.Sub(c.Start))
		byOp[c.Op] = append(byOp[c.Op], c.End.Sub(c.Start))
		if c.Op == "UpdateItem" {
			res.Updates[cmp.Or(c.Kind, "other")]++
		}
		res.Calls[c.Op]++
		if c.Throttled {
			res.Throttled[c.Op]++
		}
	}
	for _, inv := range invocations {
		end := inv.End.Sub(start)
		res.WallAll = max(res.WallAll, end)
		if inv.Origin < len(burst) {
			res.Wall = max(res.Wall, end)
		}
		if inv.Attempt > 0 {
			res.Redelivered++
		}
		if inv.Lost {
			res.Lost++
			t.Logf("event %d (of event %d) lost after %d deliveries: %v", inv.Event, inv.Origin, inv.Attempt+1, inv.Err)
		}
	}
	slices.Sort(took)
	res.CallMedian, res.CallP95 = percentile(took, 50), percentile(took, 95)
	res.OpTimes = map[string][2]time.Duration{}
	for op, ds := range byOp {
		slices.Sort(ds)
		res.OpTimes[op] = [2]time.Duration{percentile(ds, 50), percentile(ds, 95)}
	}
	calls = expandPace(calls)
	if s.PaceLog != nil {
		calls = append(calls, s.PaceLog()...)
	}
	res.readTimeline(calls)
	res.Unrelated = unrelatedPushes(s, start, at[len(burst):], len(burst), invocations, calls)
	t.Logf("%s: %d events and %d unrelated in %v (burst %v): %d registered, %d slots reserved (at most %d ahead), throttled %v, UpdateItem %v, %d invocation errors (%d waiting for a claim; %q), %d lost; warnings %v",
		cmp.Or(s.Variant, "as deployed"), len(burst), len(unrelated), res.WallAll, res.Wall, res.Registered, res.Reservations, res.Ahead, res.Throttled, res.Updates,
		res.Errors, res.ClaimWaits, res.Failures, res.Lost, res.Warnings)
	for _, u := range res.Unrelated {
		t.Logf("%s at %v: lead %v (queued %v behind %d of the burst, %d instances busy; slot reserved after %v, %d ahead; waited %v; updated %v later)",
			u.Repository, u.At, u.Lead, u.Queued, u.BurstAhead, u.Busy, u.ToSlot, u.SlotsAhead, u.SlotWait, u.Updated)
	}

	for r := range s.Repositories {
		repo := throttledRepository(r)
		for _, name := range slices.Sorted(maps.Keys(burstEnvironments)) {
			res.Environments++
			res.BurstNeeded++
			want := highestAccepted(t, burstEnvironments[name], throttledTags(r))
			running := w.running(t, repo+"-"+name)
			rec, _ := w.recorded(t, repo, name)
			if running != want || rec.Version != want {
				res.Wrong = append(res.Wrong, fmt.Sprintf("%s/%s runs %s, records %s, want %s", repo, name, running, rec.Version, want))
			}
		}
	}
	res.Needed = res.BurstNeeded
	for k := range s.Unrelated {
		res.Needed++
		repo := unrelatedRepository(k)
		running := w.running(t, unrelatedService(k))
		rec, _ := w.recorded(t, repo, unrelatedEnvironment)
		if running != unrelatedTag || rec.Version != unrelatedTag {
			res.Wrong = append(res.Wrong, fmt.Sprintf("%s/%s runs %s, records %s, want %s", repo, unrelatedEnvironment, running, rec.Version, unrelatedTag))
		}
	}
	return res
}

// readTimeline counts the registrations ECS answered, by family, and the
// reservations of the pace, with the most slots still to come at once.
func (b *throttledBurst) readTimeline(calls []timelineCall) {
	byFamily := map[string]int{}
	var slots []timelineCall
	for _, c := range calls {
		switch {
		case c.Op == "RegisterTaskDefinition" && c.OK:
			b.Registered++
			byFamily[c.Key]++
		case c.reservation():
			slots = append(slots, c)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(byFamily)) {
		if byFamily[f] > 1 {
			b.Twice = append(b.Twice, fmt.Sprintf("%s %d", f, byFamily[f]))
		}
	}
	b.Reservations = len(slots)
	for _, c := range slots {
		b.Ahead = max(b.Ahead, slotsAhead(slots, c.End, ""))
	}
}

// slotsAhead counts the slots reserved by then, by other keys than key,
// that are still to come then.
func slotsAhead(reservations []timelineCall, then time.Time, key string) int {
	n := 0
	for _, r := range reservations {
		if !r.End.After(then) && r.Slot.After(then) && r.Key != key {
			n++
		}
	}
	return n
}

// unrelatedPushes reads, for each unrelated push (queued at at[k], event
// first+k), what its delivery waited for.
func unrelatedPushes(s throttledShape, start time.Time, at []time.Time, first int, invocations []invocation, calls []timelineCall) []unrelatedPush {
	var reservations []timelineCall
	for _, c := range calls {
		if c.reservation() {
			reservations = append(reservations, c)
		}
	}
	out := make([]unrelatedPush, len(at))
	for k, queued := range at {
		u := unrelatedPush{Repository: unrelatedRepository(k), At: queued.Sub(start)}
		var inv *invocation
		for i := range invocations {
			c := &invocations[i]
			switch {
			case c.Event == first+k && (inv == nil || c.Start.Before(inv.Start)):
				inv = c
			case c.Event < first && c.Attempt == 0 && c.Start.After(queued):
				u.BurstAhead++
			}
			if c.Start.Before(queued) && c.End.After(queued) {
				u.Busy++
			}
		}
		if inv == nil {
			out[k] = u
			continue
		}
		u.Queued = inv.Start.Sub(queued)
		family := unrelatedService(k)
		var slot, register, update *timelineCall
		for i := range calls {
			c := &calls[i]
			switch {
			case c.reservation() && c.Key == u.Repository && slot == nil:
				slot = c
			case c.Op == "RegisterTaskDefinition" && c.Key == family && c.OK && register == nil:
				register = c
			case c.Op == "UpdateService" && c.Key == family && c.OK && update == nil:
				update = c
			}
		}
		if slot != nil {
			u.ToSlot = slot.End.Sub(inv.Start)
			u.SlotsAhead = slotsAhead(reservations, slot.End, u.Repository)
			if register != nil {
				u.SlotWait = register.Start.Sub(slot.End)
			}
		}
		if register != nil && update != nil {
			u.Updated = update.End.Sub(register.Start)
		}
		if update != nil {
			u.Lead, u.Done = update.End.Sub(queued), true
		}
		out[k] = u
	}
	return out
}

// leads returns the lead times of the unrelated pushes that were updated,
// shortest first, and how many were not.
func (b throttledBurst) leads() (leads []time.Duration, missing int) {
	for _, u := range b.Unrelated {
		if !u.Done {
			missing++
			continue
		}
		leads = append(leads, u.Lead)
	}
	slices.Sort(leads)
	return leads, missing
}

// percentile returns the p-th percentile of sorted by the nearest-rank
// method (the smallest value at least p % of them are at or below), or 0
// for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// wallGoal is the goal for the burst's wall time: 1.2 × the
// registrations it needs at RegisterTaskDefinition's 1 a second.
func (b throttledBurst) wallGoal() time.Duration {
	return time.Duration(1.2 * float64(b.Needed) * float64(time.Second))
}

// unrelatedGoal is the goal for a push to an unrelated repository
// during the burst: its service updated within 30 s, p95.
const unrelatedGoal = 30 * time.Second

// errWrong is the error of a burst or fleet that did not end where it
// should.
func errWrong(what string, wrong []string) error {
	if len(wrong) == 0 {
		return nil
	}
	n := min(len(wrong), 5)
	return fmt.Errorf("%s: %d environments wrong, such as %v", what, len(wrong), wrong[:n])
}

// perRepositoryOff is a registration pace without its per-repository rule
// (each reservation under a key of its own), for an experiment.
func perRepositoryOff(p deploy.Pacer) deploy.Pacer { return &uniqueKeys{Pacer: p} }

type uniqueKeys struct{ deploy.Pacer }

// reservations numbers the reservations of every instance's uniqueKeys.
var reservations atomic.Int64

func (u *uniqueKeys) ReserveSlot(ctx context.Context, p state.Pace, key string) (state.Slot, error) {
	return u.Pacer.ReserveSlot(ctx, p, cmp.Or(key, "-")+"#"+strconv.FormatInt(reservations.Add(1), 10))
}
