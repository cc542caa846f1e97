package state_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// TestPendingWorkIsKeptConditionally: work that waits across invocations
// is one entry per kind and environment; a newer entry replaces an older
// one, never the reverse; and taking or forgetting an entry requires that
// it still holds the value read, so that newer work put meanwhile is
// neither taken nor lost.
func TestPendingWorkIsKeptConditionally(t *testing.T) {
	_, s := newStore(t)
	ctx := t.Context()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	web := state.Key{Repository: "team/web", Environment: "production"}
	api := state.Key{Repository: "api", Environment: "dev"}

	if err := s.PutPending(ctx, "restore", web, []byte(`{"n":1}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPending(ctx, "restore", api, []byte(`{"n":2}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPending(ctx, "other", web, []byte(`{"n":3}`), t0); err != nil {
		t.Fatal(err)
	}
	// A record of the same repository is no work, and work no record.
	if _, err := s.Put(ctx, state.Record{Repository: "team/web", Environment: "production", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListPending(ctx, "restore")
	if err != nil {
		t.Fatal(err)
	}
	want := []state.Pending{
		{Kind: "restore", Key: api, Value: []byte(`{"n":2}`), At: t0},
		{Kind: "restore", Key: web, Value: []byte(`{"n":1}`), At: t0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ListPending (-want +got):\n%s", diff)
	}
	if rec, err := s.Get(ctx, "team/web", "production"); err != nil || rec.Version != "1.0.0" {
		t.Errorf("the record beside the work: %+v, %v", rec, err)
	}

	// An older entry does not replace a newer one; the same value again
	// (a retried write) is no conflict; a newer one replaces it.
	if err := s.PutPending(ctx, "restore", web, []byte(`{"n":0}`), t0.Add(-time.Minute)); !errors.Is(err, state.ErrConflict) {
		t.Errorf("an older put over a newer entry: %v, want ErrConflict", err)
	}
	if err := s.TakePending(ctx, want[1], "a", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPending(ctx, "restore", web, []byte(`{"n":1}`), t0); err != nil {
		t.Errorf("the same put again: %v, want none", err)
	}
	if got, _ := s.ListPending(ctx, "restore"); len(got) != 2 || got[1].Taken == nil || got[1].Taken.Owner != "a" {
		t.Errorf("after the same put again: %+v, want the entry still taken by a", got)
	}
	first := want[1]
	if err := s.PutPending(ctx, "restore", web, []byte(`{"n":4}`), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	// The entry read first is no longer there: neither taken nor forgotten,
	// and the newer one stays.
	if err := s.TakePending(ctx, first, "a", t0.Add(time.Hour)); !errors.Is(err, state.ErrConflict) || !strings.Contains(err.Error(), "newer work replaced it") {
		t.Errorf("take of a replaced entry: %v, want ErrConflict, newer work replaced it", err)
	}
	if err := s.DeletePending(ctx, first); !errors.Is(err, state.ErrConflict) {
		t.Errorf("forget a replaced entry: %v, want ErrConflict", err)
	}
	got, _ = s.ListPending(ctx, "restore")
	if len(got) != 2 || string(got[1].Value) != `{"n":4}` || !got[1].At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after the conflicts: %+v, want the newer entry standing", got)
	}
	newer := got[1]

	// One taker at a time, until its claim expires.
	now := time.Now()
	if err := s.TakePending(ctx, newer, "a", now.Add(time.Minute)); err != nil {
		t.Fatalf("first take: %v", err)
	}
	if err := s.TakePending(ctx, newer, "b", now.Add(time.Minute)); !errors.Is(err, state.ErrConflict) || !strings.Contains(err.Error(), "a works on it") {
		t.Errorf("second take while the first is live: %v, want ErrConflict naming a", err)
	}
	if err := s.TakePending(ctx, newer, "a", now.Add(2*time.Minute)); err != nil {
		t.Errorf("the taker extends its claim: %v", err)
	}
	got, _ = s.ListPending(ctx, "restore")
	if taken := got[1].Taken; taken == nil || taken.Owner != "a" || !taken.Until.Equal(time.UnixMilli(now.Add(2*time.Minute).UnixMilli()).UTC()) {
		t.Errorf("taken = %+v, want a's claim", taken)
	}
	s.Now = func() time.Time { return now.Add(3 * time.Minute) } // a's claim expired: a crashed
	if err := s.TakePending(ctx, newer, "b", now.Add(10*time.Minute)); err != nil {
		t.Errorf("take after the claim expired: %v", err)
	}

	if err := s.DeletePending(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePending(ctx, newer); !errors.Is(err, state.ErrConflict) {
		t.Errorf("forget twice: %v, want ErrConflict", err)
	}
	if err := s.TakePending(ctx, newer, "c", now.Add(time.Hour)); !errors.Is(err, state.ErrConflict) || !strings.Contains(err.Error(), "it is gone") {
		t.Errorf("take of a forgotten entry: %v, want ErrConflict, it is gone", err)
	}
	got, _ = s.ListPending(ctx, "restore")
	if len(got) != 1 || got[0].Key != api {
		t.Errorf("left: %+v, want api's only", got)
	}
	if other, _ := s.ListPending(ctx, "other"); len(other) != 1 {
		t.Errorf("the other kind: %+v, want its one entry untouched", other)
	}
}

// TestPendingPartitionIsNoRepository: the partition of pending work is one
// no repository can have, so that no record is ever read or deleted as
// work (the template allows deleting items of these partitions only).
func TestPendingPartitionIsNoRepository(t *testing.T) {
	p := state.PendingPartition("restore")
	if !strings.Contains(p, "#") {
		t.Errorf("partition %q: want a '#', which no ECR repository name has", p)
	}
	if !strings.HasPrefix(p, strings.TrimSuffix(state.PendingPartitions, "*")) || !strings.HasSuffix(state.PendingPartitions, "*") {
		t.Errorf("PendingPartitions %q does not match %q", state.PendingPartitions, p)
	}
}
