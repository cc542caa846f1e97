package bench

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// priorityPace is a model, for an experiment, of a registration pace that
// lets the pushes of a repository outside a burst go before those of the
// burst's repositories: the pace of the deployer (15 at once, then 1 a
// second), but a slot is given when it comes, to the request of the
// highest class that waits (and among those, the first to ask), rather
// than reserved in the order the requests came. The class is told by
// interactive; in the deployer it would be learnt from what the push
// already reads (ECR's push times of the repository's images: a burst's
// repository has had many pushes in the last minutes), here it is the
// benchmark's knowledge of which repositories are the burst's.
//
// The model lives in the benchmark's process, shared by its instances as
// the state table's pace is; it makes no call to the table.
type priorityPace struct {
	interval    time.Duration
	burst       int
	interactive func(key string) bool

	mu      sync.Mutex
	tat     time.Time // the generic cell rate algorithm's theoretical arrival time
	waiting []*slotRequest
	log     []timelineCall
	timer   *time.Timer
}

type slotRequest struct {
	key   string
	high  bool
	asked time.Time
	seq   int
	grant chan time.Time
}

func newPriorityPace(interactive func(string) bool) *priorityPace {
	return &priorityPace{interval: time.Second, burst: 15, interactive: interactive}
}

// ReserveSlot waits until the pace gives the request a slot, and returns
// then.
func (p *priorityPace) ReserveSlot(ctx context.Context, pace state.Pace, key string) (state.Slot, error) {
	at, err := p.reserve(ctx, pace, key)
	return state.Slot{At: at}, err
}

// Shifted: a slot is given when it is due, never moved.
func (p *priorityPace) Shifted(_ context.Context, _ state.Pace, slot state.Slot) (time.Time, error) {
	return slot.At, nil
}

func (p *priorityPace) reserve(ctx context.Context, _ state.Pace, key string) (time.Time, error) {
	r := &slotRequest{key: key, high: p.interactive(key), asked: time.Now(), grant: make(chan time.Time, 1)}
	p.mu.Lock()
	r.seq = len(p.log) + len(p.waiting)
	p.waiting = append(p.waiting, r)
	p.dispatch()
	p.mu.Unlock()
	select {
	case at := <-r.grant:
		return at, nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		if i := slices.Index(p.waiting, r); i >= 0 {
			p.waiting = slices.Delete(p.waiting, i, i+1)
		}
		select {
		case at := <-r.grant:
			return at, nil
		default:
		}
		return time.Time{}, ctx.Err()
	}
}

// dispatch gives the slots that are due to the best requests waiting,
// and sets a timer for the next; p.mu is held.
func (p *priorityPace) dispatch() {
	tau := time.Duration(p.burst-1) * p.interval
	for len(p.waiting) > 0 {
		now := time.Now()
		if p.tat.Sub(now) > tau {
			if p.timer == nil {
				p.timer = time.AfterFunc(p.tat.Sub(now)-tau, func() {
					p.mu.Lock()
					defer p.mu.Unlock()
					p.timer = nil
					p.dispatch()
				})
			}
			return
		}
		best := slices.MinFunc(p.waiting, func(a, b *slotRequest) int {
			switch {
			case a.high != b.high && a.high:
				return -1
			case a.high != b.high:
				return 1
			}
			return a.seq - b.seq
		})
		p.waiting = slices.DeleteFunc(p.waiting, func(r *slotRequest) bool { return r == best })
		if p.tat.Before(now) {
			p.tat = now
		}
		p.tat = p.tat.Add(p.interval)
		p.log = append(p.log, timelineCall{Op: "UpdateItem", Kind: "pace", Pace: true, OK: true, Key: best.key, Start: best.asked, End: best.asked, Slot: now})
		best.grant <- now
	}
}

// reservations returns the slots given, as the timeline reads a
// reservation: asked at End, for Slot.
func (p *priorityPace) reservations() []timelineCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// unrelatedFirst says a repository is outside the burst.
func unrelatedFirst(key string) bool { return strings.HasPrefix(key, "unrelated-") }
