package deploy

import (
	"errors"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Only a push's delivery is handed off, and only when its slot is more than
// handoffAfter away; one waiting for its repository's slot keeps none.
func TestHandoffDue(t *testing.T) {
	now := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	far := now.Add(handoffAfter + time.Millisecond)
	push := Request{Cause: state.CausePush}
	cases := []struct {
		name     string
		req      Request
		a        slotAnswer
		wantOK   bool
		wantSlot time.Time
	}{
		{"a push, far", push, slotAnswer{at: far, slot: state.Slot{At: far, Shift: 3}}, true, far},
		{"a push, the repository's slot far", push, slotAnswer{at: far, taken: true}, true, time.Time{}},
		{"a push, near", push, slotAnswer{at: now.Add(handoffAfter)}, false, time.Time{}},
		{"a push, no answer", push, slotAnswer{at: far, err: errors.New("refused")}, false, time.Time{}},
		{"a dry run", Request{Cause: state.CausePush, DryRun: true}, slotAnswer{at: far}, false, time.Time{}},
		{"a manual deploy", Request{Cause: state.CauseDeploy}, slotAnswer{at: far}, false, time.Time{}},
		{"a rollback", Request{Cause: state.CauseRollback}, slotAnswer{at: far}, false, time.Time{}},
		{"a reconcile", Request{Cause: state.CauseReconcile}, slotAnswer{at: far}, false, time.Time{}},
	}
	for _, c := range cases {
		due, slot, ok := handoffDue(c.req, c.a, now)
		if ok != c.wantOK || !slot.At.Equal(c.wantSlot) || (ok && !due.Equal(far)) || (!slot.At.IsZero() && slot.Shift != 3) {
			t.Errorf("%s: handoffDue = %v, %v, %v; want ok %v, slot %v, due %v", c.name, due, slot, ok, c.wantOK, c.wantSlot, far)
		}
	}
}

// A queued delivery reads back as the push it was, for its one
// environment, with its slot.
func TestQueuedRoundTrip(t *testing.T) {
	slot := time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC)
	req := Request{Repository: "hello-color", Tag: "1.4.0", Digest: "sha256:ab", Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		Cause: state.CausePush, EventID: "ev-1", PushedAt: slot.Add(-time.Minute)}
	body, err := encodeQueued(req, "dev", slot, state.Slot{At: slot, Shift: 7}, 0)
	if err != nil {
		t.Fatal(err)
	}
	q, err := decodeQueued(body)
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	got := q.request()
	want := req
	want.Environments, want.Slot = []string{"dev"}, state.Slot{At: slot, Shift: 7}
	if got.Repository != want.Repository || got.Tag != want.Tag || got.Digest != want.Digest || got.Registry != want.Registry ||
		got.Cause != want.Cause || got.EventID != want.EventID || !got.PushedAt.Equal(want.PushedAt) || !got.Slot.At.Equal(slot) || got.Slot.Shift != 7 ||
		len(got.Environments) != 1 || got.Environments[0] != "dev" {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
}

// A repository is in a burst when ECR received 3 of its images or more in
// the last 10 minutes: its registrations queue behind the others'; one
// image or two (a fix, a build made again), or a request that learnt
// nothing of ECR, may go first.
func TestInBurst(t *testing.T) {
	now := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	images := func(ages ...time.Duration) pushedImages {
		p := pushedImages{checked: true}
		for _, a := range ages {
			p.images = append(p.images, target.Image{PushedAt: now.Add(-a)})
		}
		return p
	}
	cases := []struct {
		name   string
		pushed pushedImages
		want   bool
	}{
		{"three in a minute", images(0, 10*time.Second, time.Minute), true},
		{"ten in the window", images(0, time.Minute, 2*time.Minute, 3*time.Minute, 4*time.Minute, 5*time.Minute, 6*time.Minute, 7*time.Minute, 8*time.Minute, 9*time.Minute), true},
		{"a fix", images(0, 24*time.Hour, 48*time.Hour), false},
		{"a build made again", images(0, time.Minute, time.Hour), false},
		{"three, one outside the window", images(0, time.Minute, 10*time.Minute), false},
		{"not learnt", pushedImages{}, false},
	}
	for _, c := range cases {
		if got := inBurst(c.pushed, now); got != c.want {
			t.Errorf("%s: inBurst = %v, want %v", c.name, got, c.want)
		}
	}
	rec := &state.Record{Time: now.Add(-30 * time.Second)}
	if !behind(pushedImages{}, rec, now) || behind(pushedImages{}, &state.Record{Time: now.Add(-2 * time.Minute)}, now) || behind(pushedImages{}, nil, now) {
		t.Error("behind: want a repository whose environment's record was written within a minute behind, and only that one of these")
	}
	if !behind(images(0, time.Second, 2*time.Second), nil, now) {
		t.Error("behind: want a repository in a burst behind")
	}
	if p := registrationPace("123456789012", "us-east-1", true); p.FrontBurst != 0 || p.Quiet == 0 {
		t.Errorf("a busy repository's pace %+v: want no front lane, slots kept Quiet", p)
	}
	if p := registrationPace("123456789012", "us-east-1", false); p.FrontBurst == 0 {
		t.Errorf("a quiet repository's pace %+v: want the front lane", p)
	}
}
