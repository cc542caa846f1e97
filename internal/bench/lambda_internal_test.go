package bench

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// TestLambdaModel: the model of Lambda's asynchronous invocations runs at
// most Concurrency invocations at once, starts an event no earlier than it
// was queued, delivers a failed event again after each retry delay until
// the retries run out, and returns once every event has settled.
func TestLambdaModel(t *testing.T) {
	m := lambdaModel{Concurrency: 2, Timeout: time.Minute, RetryDelays: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}}
	start := time.Now()
	at := make([]time.Time, 6)
	at[5] = start.Add(30 * time.Millisecond) // queued later
	var running, most atomic.Int32
	var mu sync.Mutex
	attempts := map[int]int{}
	failing := errors.New("failed")
	invs := m.run(t.Context(), at, nil, func(ctx context.Context, instance, event int) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Errorf("event %d invoked without a deadline", event)
		}
		n := running.Add(1)
		defer running.Add(-1)
		for {
			old := most.Load()
			if n <= old || most.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		attempts[event]++
		switch {
		case event == 1 && attempts[event] == 1, event == 2:
			return failing // 1 fails once; 2 every time
		}
		return nil
	})
	if most.Load() > 2 {
		t.Errorf("%d invocations at once, want at most 2", most.Load())
	}
	want := map[int]int{0: 1, 1: 2, 2: 3, 3: 1, 4: 1, 5: 1}
	for e, n := range want {
		if attempts[e] != n {
			t.Errorf("event %d invoked %d times, want %d", e, attempts[e], n)
		}
	}
	if len(invs) != 9 {
		t.Errorf("%d invocations returned, want 9", len(invs))
	}
	ends := map[[2]int]time.Time{}
	for _, inv := range invs {
		ends[[2]int{inv.Event, inv.Attempt}] = inv.End
		if inv.Start.Before(inv.Due) {
			t.Errorf("event %d attempt %d started %v before it was due", inv.Event, inv.Attempt, inv.Due.Sub(inv.Start))
		}
	}
	for _, inv := range invs {
		if inv.Event == 5 && inv.Start.Before(at[5]) {
			t.Errorf("event 5 started before it was queued")
		}
		if inv.Attempt > 0 {
			prev := ends[[2]int{inv.Event, inv.Attempt - 1}]
			if gap := inv.Start.Sub(prev); gap < m.RetryDelays[inv.Attempt-1] {
				t.Errorf("event %d attempt %d started %v after the last failed, want at least %v", inv.Event, inv.Attempt, gap, m.RetryDelays[inv.Attempt-1])
			}
		}
	}
}

// TestPriorityPace: the model of a pace with priority gives a slot that
// comes to a waiting request of a repository outside the burst before the
// burst's requests that asked earlier, and to the burst's in the order
// they asked.
func TestPriorityPace(t *testing.T) {
	p := newPriorityPace(unrelatedFirst)
	p.burst = 1
	p.mu.Lock()
	p.tat = time.Now().Add(time.Hour) // no slot comes until the test says so
	p.mu.Unlock()
	var mu sync.Mutex
	var order []string
	granted := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(order)
	}
	waiting := func(key string) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.ContainsFunc(p.waiting, func(r *slotRequest) bool { return r.key == key })
	}
	var wg sync.WaitGroup
	for _, key := range []string{"burst-000", "burst-001", "unrelated-00"} {
		wg.Go(func() {
			if _, err := p.ReserveSlot(t.Context(), state.Pace{}, key); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, key)
			mu.Unlock()
		})
		for !waiting(key) {
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 3 {
		p.mu.Lock()
		p.tat = time.Time{} // one slot comes now
		p.dispatch()
		p.tat = time.Now().Add(time.Hour)
		p.mu.Unlock()
		for granted() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	if want := []string{"unrelated-00", "burst-000", "burst-001"}; !slices.Equal(order, want) {
		t.Errorf("slots given in the order %v, want %v", order, want)
	}
}
