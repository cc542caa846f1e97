package state_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// frontPace is a pace with a front lane: a key is quiet a minute after its
// last slot.
func frontPace(frontBurst int) state.Pace {
	return state.Pace{Name: "ecs:RegisterTaskDefinition:123456789012:us-east-1", Interval: time.Second, Burst: 3,
		Quiet: time.Minute, FrontBurst: frontBurst}
}

// mustReserve reserves a slot of p for each key in turn and returns them.
func mustReserve(t *testing.T, s *state.Store, p state.Pace, keys ...string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, key := range keys {
		at, err := s.Reserve(t.Context(), p, key)
		if err != nil {
			t.Fatalf("Reserve %s: %v", key, err)
		}
		out = append(out, at)
	}
	return out
}

// deepen makes the main lane of p about 20 Intervals deep, the way a burst
// does: 20 keys reserve, and again 30 s later, when their first slots have
// passed but are not Quiet old, so that the second time each of them
// reserves in the main lane. It moves the clock on by the 30 s and
// returns the last slot of the second time.
func deepen(t *testing.T, s *state.Store, p state.Pace, now *time.Time, prefix string) time.Time {
	t.Helper()
	var keys []string
	for i := range 20 {
		keys = append(keys, fmt.Sprintf("%s-%d", prefix, i))
	}
	mustReserve(t, s, p, keys...)
	*now = now.Add(30 * time.Second)
	slots := mustReserve(t, s, p, keys...)
	last := slices.MaxFunc(slots, time.Time.Compare)
	if last.Sub(*now) < 15*time.Second {
		t.Fatalf("the main lane is %v deep, want 15s or more", last.Sub(*now))
	}
	return last
}

// A quiet key passes the main lane's queue: its slot is now, and the main
// lane's next slot is an Interval later than it would have been, to make
// room for it. A key that had a slot within Quiet queues in the main lane,
// and is quiet again once its last slot is Quiet old.
func TestPaceFrontLane(t *testing.T) {
	_, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := frontPace(2)
	last := deepen(t, s, p, &now, "a")
	if at := mustReserve(t, s, p, "quiet")[0]; at.Before(now) || at.After(now.Add(p.Interval)) {
		t.Errorf("a quiet key's slot is %v after now, want within an Interval", at.Sub(now))
	}
	again := mustReserve(t, s, p, "a-0")[0]
	if want := last.Add(2 * p.Interval); !again.Equal(want) {
		t.Errorf("a key whose slot is not Quiet old: slot %v after the main lane's last, want %v (its own Interval and the quiet key's)",
			again.Sub(last), want.Sub(last))
	}
	now = again.Add(p.Quiet + time.Second)
	last = deepen(t, s, p, &now, "b")
	if at := mustReserve(t, s, p, "a-0")[0]; at.Before(now) || at.After(now.Add(p.Interval)) {
		t.Errorf("a key whose slot is Quiet old: slot %v after now, want within an Interval (the main lane's last is %v)",
			at.Sub(now), last.Sub(now))
	}
}

// The front lane has a burst of its own, FrontBurst at once, then an
// Interval apart, and queues no more than FrontBurst Intervals ahead: the
// next quiet key reserves in the main lane, which has moved on an Interval
// for each front slot.
func TestPaceFrontLaneBurst(t *testing.T) {
	_, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := frontPace(2)
	last := deepen(t, s, p, &now, "a")
	var got []time.Duration
	for _, at := range mustReserve(t, s, p, "q0", "q1", "q2", "q3") {
		got = append(got, at.Sub(now))
	}
	if diff := cmp.Diff([]time.Duration{0, 0, time.Second, 2 * time.Second}, got); diff != "" {
		t.Errorf("quiet keys' slots after now (-want +got):\n%s", diff)
	}
	if at := mustReserve(t, s, p, "q4")[0]; !at.Equal(last.Add(5 * p.Interval)) {
		t.Errorf("a quiet key with the front lane full: slot %v after the main lane's last, want 5s (its own and the 4 front slots')", at.Sub(last))
	}
}

// Two processes that reserve front slots at once share the front lane as
// one would: its burst at once, then one slot an Interval, none twice.
func TestPaceFrontLaneAcrossProcesses(t *testing.T) {
	env, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := frontPace(3)
	deepen(t, s, p, &now, "a")
	other := state.NewStore(env.DynamoDB(), env.Table) // another process
	other.Now = s.Now
	env.Proxy.SetCallTime(50 * time.Millisecond) // each asks while the other's write is under way
	defer env.Proxy.SetCallTime(0)
	var mu sync.Mutex
	var got []time.Duration
	var wg sync.WaitGroup
	for i := range 6 {
		store := s
		if i%2 == 1 {
			store = other
		}
		wg.Go(func() {
			at, err := store.Reserve(t.Context(), p, fmt.Sprintf("q%d", i))
			if err != nil {
				t.Errorf("Reserve q%d: %v", i, err)
			}
			mu.Lock()
			got = append(got, at.Sub(now))
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(got)
	if diff := cmp.Diff([]time.Duration{0, 0, 0, time.Second, 2 * time.Second, 3 * time.Second}, got); diff != "" {
		t.Errorf("front slots after now (-want +got):\n%s", diff)
	}
}

// A caller that knows a key to be busy asks with FrontBurst 0: the key
// queues in the main lane, however quiet, and a quiet key asking with the
// front lane still passes.
func TestPaceFrontLaneRefusedToABusyKey(t *testing.T) {
	_, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := frontPace(5)
	last := deepen(t, s, p, &now, "a")
	behind := p
	behind.FrontBurst = 0
	if at := mustReserve(t, s, behind, "busy")[0]; !at.After(last) {
		t.Errorf("a busy key's slot is %v after now, want behind the main lane's last (%v)", at.Sub(now), last.Sub(now))
	}
	if at := mustReserve(t, s, p, "quiet")[0]; at.Before(now) || at.After(now.Add(p.Interval)) {
		t.Errorf("a quiet key's slot is %v after now, want within an Interval", at.Sub(now))
	}
}

// Each front slot given after a main-lane slot was reserved moves that slot
// an Interval later (Shifted); one reserved after them, and a front slot
// itself, are not moved.
func TestPaceShifted(t *testing.T) {
	_, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := frontPace(5)
	deepen(t, s, p, &now, "a")
	behind := p
	behind.FrontBurst = 0
	early, err := s.ReserveSlot(t.Context(), behind, "early")
	if err != nil {
		t.Fatal(err)
	}
	var front state.Slot
	for _, key := range []string{"q1", "q2", "q3"} {
		if front, err = s.ReserveSlot(t.Context(), p, key); err != nil {
			t.Fatal(err)
		}
	}
	late, err := s.ReserveSlot(t.Context(), behind, "late")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		slot  state.Slot
		moved time.Duration
	}{{"reserved before 3 front slots", early, 3 * p.Interval}, {"reserved after them", late, 0}, {"the last front slot", front, 0}} {
		got, err := s.Shifted(t.Context(), p, c.slot)
		if err != nil || !got.Equal(c.slot.At.Add(c.moved)) {
			t.Errorf("%s: Shifted = %v, %v; want %v later than reserved", c.name, got.Sub(c.slot.At), err, c.moved)
		}
	}
}
