package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAggregateRollout(t *testing.T) {
	tests := []struct {
		name     string
		services map[string]Service
		want     Rollout
	}{
		{"all completed", map[string]Service{"a": {Rollout: Completed}, "b": {Rollout: Completed}}, Completed},
		{"one in progress", map[string]Service{"a": {Rollout: Completed}, "b": {Rollout: InProgress}}, InProgress},
		{"one failed", map[string]Service{"a": {Rollout: InProgress}, "b": {Rollout: Failed}}, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{Services: tt.services}
			if got := r.AggregateRollout(); got != tt.want {
				t.Errorf("AggregateRollout() = %q, want %q", got, tt.want)
			}
		})
	}
}

// A held version stays held however many are held after it: the list is
// bounded by folding its lowest versions into HeldThrough, never by
// releasing them.
func TestHoldsLast(t *testing.T) {
	var r Record
	for i := range maxHeld + 5 {
		r.Hold(fmt.Sprintf("1.%d.0", i))
	}
	r.Hold("1.24.0") // already held: not added twice
	if len(r.Held) != maxHeld {
		t.Fatalf("len(Held) = %d, want %d", len(r.Held), maxHeld)
	}
	if r.HeldThrough != "1.4.0" {
		t.Errorf("HeldThrough = %q, want 1.4.0 (the five lowest folded)", r.HeldThrough)
	}
	for _, v := range []string{"1.0.0", "1.3.0", "1.4.0", "0.9.0", "1.5.0", "1.104.0"} {
		if !r.IsHeld(v) {
			t.Errorf("IsHeld(%s) = false after holding %d versions", v, maxHeld+5)
		}
	}
	for _, v := range []string{"1.4.1", "2.0.0", ""} {
		if r.IsHeld(v) {
			t.Errorf("IsHeld(%q) = true, never held", v)
		}
	}
	r.Release("1.50.0")
	if r.IsHeld("1.50.0") || !r.IsHeld("1.51.0") {
		t.Errorf("Release(1.50.0): held %v", r.Held)
	}
	r.Release("1.2.0") // under HeldThrough: a person's force deploys it, automation still may not
	if !r.IsHeld("1.2.0") {
		t.Errorf("Release of a version under HeldThrough released it")
	}
}

// Records written before the spelling was unified carry ECS's spelling of
// the rollout; they read as the same states.
func TestRolloutReadsBothSpellings(t *testing.T) {
	var rec Record
	if err := json.Unmarshal([]byte(`{"rollout":"IN_PROGRESS","services":{"a":{"rollout":"COMPLETED"},"b":{"rollout":"failed"}}}`), &rec); err != nil {
		t.Fatal(err)
	}
	want := []Rollout{InProgress, Completed, Failed}
	got := []Rollout{rec.Rollout, rec.Services["a"].Rollout, rec.Services["b"].Rollout}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rollouts (-want +got):\n%s", diff)
	}
	out, _ := json.Marshal(Record{Rollout: InProgress})
	if !strings.Contains(string(out), `"rollout":"in-progress"`) {
		t.Errorf("written as %s, want the one spelling in-progress", out)
	}
}
