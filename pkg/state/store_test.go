package state_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

func newStore(t *testing.T) (*awstest.Env, *state.Store) {
	t.Helper()
	env := awstest.New(t)
	s := state.NewStore(env.DynamoDB(), env.Table)
	s.Legacy = state.NewLegacy(env.SSM(), "/ecrdeploy")
	return env, s
}

func TestPutGetRoundTrip(t *testing.T) {
	_, s := newStore(t)
	pushed := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	rec := state.Record{
		Repository: "team/web", Environment: "dev", Version: "1.4.0", Tag: "v1.4.0", Digest: "sha256:abc",
		Image: "r/team/web:v1.4.0", Cause: state.CausePush, EventID: "e1", PushedAt: &pushed, Time: pushed.Add(time.Minute),
		Services: map[string]state.Service{"web": {Cluster: "c", TaskDefinition: "arn:td:2", PreviousTaskDefinition: "arn:td:1", DeploymentID: "ecs-svc/1", Rollout: state.InProgress}},
		Rollout:  state.InProgress, Held: []string{"1.5.0"},
	}
	written, err := s.Put(t.Context(), rec)
	if err != nil || written.Revision != 1 {
		t.Fatalf("Put = revision %d, %v; want revision 1", written.Revision, err)
	}
	got, err := s.Get(t.Context(), "team/web", "dev")
	if err != nil {
		t.Fatal(err)
	}
	rec.Revision = 1
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if _, err := s.Get(t.Context(), "team/web", "prod"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get of an environment without a record: %v, want ErrNotFound", err)
	}
}

// Every write is conditional on the revision read: of two writers that
// read the same revision, the second loses and nothing of it is written.
func TestPutIsConditionalOnTheRevisionRead(t *testing.T) {
	_, s := newStore(t)
	first, err := s.Put(t.Context(), state.Record{Repository: "r", Environment: "dev", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := first, first
	a.Version, b.Version = "1.1.0", "1.2.0"
	if _, err := s.Put(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), b); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("second write from revision 1: %v, want ErrConflict", err)
	}
	if _, err := s.Put(t.Context(), state.Record{Repository: "r", Environment: "dev", Version: "9.9.9"}); !errors.Is(err, state.ErrConflict) {
		t.Errorf("a first write over an existing record: %v, want ErrConflict", err)
	}
	got, _ := s.Get(t.Context(), "r", "dev")
	if got.Version != "1.1.0" || got.Revision != 2 {
		t.Errorf("record = %s at revision %d, want 1.1.0 at 2", got.Version, got.Revision)
	}
	page, err := s.History(t.Context(), "r", "dev", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.1.0", "1.0.0"}, versions(page.Records)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// One delivery at a time: a claim holds until it expires or is released,
// says who holds it and what the record is, and a write that releases a
// claim taken over by another fails.
func TestClaims(t *testing.T) {
	_, s := newStore(t)
	now := time.Now()
	s.Now = func() time.Time { return now }
	k := state.Key{Repository: "r", Environment: "dev"}
	rec, err := s.Claim(t.Context(), k, "A", now.Add(time.Minute))
	if err != nil || rec != nil {
		t.Fatalf("first claim: %v, %v; want no record, no error", rec, err)
	}
	written, err := s.Put(t.Context(), state.Record{Repository: "r", Environment: "dev", Version: "1.0.0"}, state.Releasing("A"))
	if err != nil || written.Claim != nil {
		t.Fatalf("Put releasing A's claim: %+v, %v", written, err)
	}
	if _, err := s.Claim(t.Context(), k, "B", now.Add(time.Minute)); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	_, err = s.Claim(t.Context(), k, "C", now.Add(time.Minute))
	var claimed *state.Claimed
	if !errors.As(err, &claimed) || claimed.Claim.Owner != "B" || claimed.Record == nil || claimed.Record.Version != "1.0.0" {
		t.Fatalf("claim of a claimed environment: %v (%+v), want *Claimed by B with the record", err, claimed)
	}
	// B's claim is extended by B, and expires.
	if _, err := s.Claim(t.Context(), k, "B", now.Add(2*time.Minute)); err != nil {
		t.Fatalf("B extends its claim: %v", err)
	}
	now = now.Add(2*time.Minute + time.Millisecond)
	got, err := s.Claim(t.Context(), k, "C", now.Add(time.Minute))
	if err != nil || got == nil || got.Version != "1.0.0" || got.Claim == nil || got.Claim.Owner != "C" {
		t.Fatalf("claim after B's expired: %+v, %v", got, err)
	}
	// B comes back: its write must not go through, nor its release.
	if _, err := s.Put(t.Context(), *claimed.Record, state.Releasing("B")); !errors.Is(err, state.ErrConflict) {
		t.Errorf("B writes after C took over: %v, want ErrConflict", err)
	}
	if err := s.Release(t.Context(), k, "B"); err != nil {
		t.Errorf("B's release after C took over: %v, want nothing done", err)
	}
	cur, _ := s.Get(t.Context(), "r", "dev")
	if cur.Claim == nil || cur.Claim.Owner != "C" {
		t.Errorf("claim after B's attempts = %+v, want C's", cur.Claim)
	}
	// A write that does not release leaves the claim alone.
	if _, err := s.Put(t.Context(), cur); err != nil {
		t.Fatal(err)
	}
	if cur, _ = s.Get(t.Context(), "r", "dev"); cur.Claim == nil || cur.Claim.Owner != "C" {
		t.Errorf("claim after a plain write = %+v, want C's", cur.Claim)
	}
}

// History has no horizon: every change is kept and read back, newest
// first, in pages.
func TestHistoryWithoutHorizon(t *testing.T) {
	_, s := newStore(t)
	var rec state.Record
	for i := range 150 {
		rec.Repository, rec.Environment, rec.Version = "r", "prod", fmt.Sprintf("1.%d.0", i)
		var err error
		if rec, err = s.Put(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.History(t.Context(), "r", "prod", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Records) != 150 || all.Records[0].Version != "1.149.0" || all.Records[149].Version != "1.0.0" || all.More {
		t.Fatalf("History = %d records (%s .. %s), more %v; want 150, newest first", len(all.Records),
			all.Records[0].Version, all.Records[len(all.Records)-1].Version, all.More)
	}
	var paged []string
	var before int64
	pages := 0
	for {
		page, err := s.History(t.Context(), "r", "prod", 40, before)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		paged = append(paged, versions(page.Records)...)
		if !page.More {
			break
		}
		before = page.Records[len(page.Records)-1].Revision
	}
	if diff := cmp.Diff(versions(all.Records), paged); diff != "" || pages != 4 {
		t.Errorf("paged by 40 in %d pages (-all +paged):\n%s", pages, diff)
	}
	if _, err := s.History(t.Context(), "r", "dev", 0, 0); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("history of an environment without records: %v, want ErrNotFound", err)
	}
}

// A fleet's records are read a hundred a call, whatever repository each
// belongs to; a record that cannot be decoded fails only its environment.
func TestStateOfAFleetIsReadAHundredACall(t *testing.T) {
	env, s := newStore(t)
	var keys []state.Key
	want := map[state.Key]string{}
	for r := range 84 {
		for _, e := range []string{"dev", "staging", "production"} {
			k := state.Key{Repository: fmt.Sprintf("team/app-%d", r), Environment: e}
			keys = append(keys, k)
			if r == 3 && e == "staging" {
				continue // no record yet
			}
			if _, err := s.Put(t.Context(), state.Record{Repository: k.Repository, Environment: e, Version: "1.0.0"}); err != nil {
				t.Fatal(err)
			}
			want[k] = "1.0.0"
		}
	}
	bad := state.Key{Repository: "team/app-5", Environment: "dev"}
	awstest.Must(env.DynamoDB().UpdateItem(t.Context(), corrupt(env.Table, bad)))(t)
	delete(want, bad)
	env.Proxy.Reset()
	got, err := s.GetKeys(t.Context(), keys)
	var unreadable *state.Unreadable
	if !errors.As(err, &unreadable) || unreadable.OfKey(bad) == nil || len(unreadable.Keys) != 1 {
		t.Fatalf("GetKeys error = %v, want the one unreadable record", err)
	}
	versionsOf := map[state.Key]string{}
	for k, rec := range got {
		versionsOf[k] = rec.Version
	}
	if diff := cmp.Diff(want, versionsOf); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if n := env.Proxy.Count("BatchGetItem"); n != 3 {
		t.Errorf("%d BatchGetItem calls for %d keys, want 3", n, len(keys))
	}
}

func versions(recs []state.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Version)
	}
	return out
}

// A record an earlier release kept in SSM Parameter Store is imported the
// first time it is read, with its parameter history; the parameters are
// left as they were, and the next read is the table's alone.
func TestRecordsOfAnEarlierReleaseAreImported(t *testing.T) {
	env, s := newStore(t)
	name := "/ecrdeploy/state/hello-color/staging"
	var values []string
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		rec := state.Record{
			Repository: "hello-color", Environment: "staging", Version: v, Digest: fmt.Sprintf("sha256:%d", i),
			Rollout: state.Completed, Time: time.Date(2026, 11, 1+i, 0, 0, 0, 0, time.UTC),
			Services: map[string]state.Service{"web": {TaskDefinition: fmt.Sprintf("web:%d", i+1), Rollout: state.Completed}},
		}
		if v == "1.1.0" {
			rec.Held = []string{"0.9.0"}
		}
		b, _ := json.Marshal(rec)
		values = append(values, string(b))
		awstest.Must(env.Local.PutParameter(t.Context(), name, string(b)))(t)
	}
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/state/other/dev", values[0]))(t)

	got, err := s.Get(t.Context(), "hello-color", "staging")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "1.2.0" || got.Revision != 3 || got.Services["web"].TaskDefinition != "web:3" {
		t.Errorf("imported record = %s at revision %d, want 1.2.0 at 3", got.Version, got.Revision)
	}
	page, err := s.History(t.Context(), "hello-color", "staging", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.2.0", "1.1.0", "1.0.0"}, versions(page.Records)); diff != "" {
		t.Errorf("imported history (-want +got):\n%s", diff)
	}
	if page.Records[1].Revision != 2 || page.Records[1].Held[0] != "0.9.0" {
		t.Errorf("revision 2 = %+v", page.Records[1])
	}
	// The next write follows the imported revisions.
	got.Version = "1.3.0"
	if next, err := s.Put(t.Context(), got); err != nil || next.Revision != 4 {
		t.Errorf("write after the import: revision %d, %v; want 4", next.Revision, err)
	}
	if v, ok := awstest.Must2(env.Local.GetParameter(t.Context(), name))(t); !ok || v != values[2] {
		t.Errorf("the SSM parameter changed: %q", v)
	}
	env.Proxy.Reset()
	if _, err := s.GetMany(t.Context(), "hello-color", []string{"staging"}); err != nil {
		t.Fatal(err)
	}
	if n := env.Proxy.Count("GetParameters") + env.Proxy.Count("GetParameterHistory"); n != 0 {
		t.Errorf("a read after the import asked SSM %d times", n)
	}
}

// An account that never ran an earlier release pays one SSM call per
// process to learn it, however many environments have no record yet.
func TestNoEarlierReleaseCostsOneCall(t *testing.T) {
	env, s := newStore(t)
	ctx := context.Background()
	for _, e := range []string{"dev", "staging", "production"} {
		if _, err := s.Get(ctx, "hello-color", e); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("Get %s: %v", e, err)
		}
	}
	if n := env.Proxy.Count("GetParametersByPath"); n != 1 {
		t.Errorf("%d GetParametersByPath, want 1", n)
	}
	if n := env.Proxy.Count("GetParameters") + env.Proxy.Count("GetParameterHistory"); n != 0 {
		t.Errorf("%d further SSM reads, want none", n)
	}
}

// With a Retention, every change item expires that long after the change:
// the ones a write makes and the ones imported from an earlier release,
// counted from when each change was made.
func TestChangesExpireAfterTheRetention(t *testing.T) {
	env, s := newStore(t)
	s.Retention = 30 * 24 * time.Hour
	name := "/ecrdeploy/state/hello-color/staging"
	imported := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b, _ := json.Marshal(state.Record{Repository: "hello-color", Environment: "staging", Version: "1.0.0", Rollout: state.Completed, Time: imported})
	awstest.Must(env.Local.PutParameter(t.Context(), name, string(b)))(t)
	rec, err := s.Get(t.Context(), "hello-color", "staging")
	if err != nil {
		t.Fatal(err)
	}
	rec.Version = "1.1.0"
	before := time.Now()
	if _, err := s.Put(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	out, err := env.DynamoDB().Query(t.Context(), &dynamodb.QueryInput{
		TableName: aws.String(env.Table), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :c)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk": &ddbtypes.AttributeValueMemberS{Value: "hello-color"}, ":c": &ddbtypes.AttributeValueMemberS{Value: "change#"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 2 {
		t.Fatalf("%d change items, want 2 (imported, written)", len(out.Items))
	}
	for i, item := range out.Items {
		n, ok := item["expiresAt"].(*ddbtypes.AttributeValueMemberN)
		if !ok {
			t.Errorf("change %d has no expiresAt: %v", i+1, item)
			continue
		}
		at, _ := strconv.ParseInt(n.Value, 10, 64)
		from := imported
		if i == 1 {
			from = before
		}
		if want := from.Add(s.Retention).Unix(); at < want-1 || at > want+60 {
			t.Errorf("change %d expires at %v, want %v", i+1, time.Unix(at, 0).UTC(), time.Unix(want, 0).UTC())
		}
	}
}

// A look for an earlier release's records that failed is not kept: the
// next read that needs it asks again, instead of failing for the rest of
// the process's life.
func TestAFailedLookForAnEarlierReleaseIsAskedAgain(t *testing.T) {
	env, s := newStore(t)
	ctx := context.Background()
	env.Proxy.Fail("GetParametersByPath", 1, awstest.AWSError(400, "AccessDeniedException", "not authorized to perform: ssm:GetParametersByPath"))
	// The first Get may see the refusal (when it asks first) or not (when
	// the look it started ahead was refused and it asked again).
	if _, err := s.Get(ctx, "hello-color", "dev"); err != nil && !errors.Is(err, state.ErrNotFound) && !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Get with the look refused: %v", err)
	}
	if _, err := s.Get(ctx, "hello-color", "dev"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get once the look is answered: %v, want ErrNotFound", err)
	}
	if n := env.Proxy.Count("GetParametersByPath"); n != 2 {
		t.Errorf("%d GetParametersByPath, want 2 (the refused one and one more)", n)
	}
}

// corrupt is an update that makes a key's record unreadable.
func corrupt(table string, k state.Key) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName: aws.String(table),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: k.Repository},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "record#" + k.Environment},
		},
		UpdateExpression:          aws.String("SET #r = :r"),
		ExpressionAttributeNames:  map[string]string{"#r": "record"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":r": &ddbtypes.AttributeValueMemberS{Value: "{not json"}},
	}
}

// The store sets no limit on an environment's services: a record of more
// services than a configuration document can name, with long ARNs, is
// written, read and kept in the history (compressed past 64 KB).
func TestARecordOfAThousandServices(t *testing.T) {
	_, s := newStore(t)
	rec := state.Record{Repository: "monolith", Environment: "production", Version: "1.0.0", Services: map[string]state.Service{}}
	for i := range 1000 {
		name := fmt.Sprintf("queue-consumer-%04d-with-a-rather-long-name", i)
		rec.Services[name] = state.Service{Cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/production-apps",
			TaskDefinition:         fmt.Sprintf("arn:aws:ecs:eu-west-1:123456789012:task-definition/%s:%d", name, 1000+i),
			PreviousTaskDefinition: fmt.Sprintf("arn:aws:ecs:eu-west-1:123456789012:task-definition/%s:%d", name, 999+i),
			DeploymentID:           fmt.Sprintf("ecs-svc/%019d", i), Rollout: state.InProgress}
	}
	if b, _ := json.Marshal(rec); len(b) < 400<<10 {
		t.Fatalf("the record is %d bytes: the test wants one past DynamoDB's 400 KB item", len(b))
	}
	written, err := s.Put(t.Context(), rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), "monolith", "production")
	if err != nil {
		t.Fatal(err)
	}
	written.Claim = nil
	if diff := cmp.Diff(written, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	page, err := s.History(t.Context(), "monolith", "production", 1, 0)
	if err != nil || len(page.Records) != 1 || len(page.Records[0].Services) != 1000 {
		t.Errorf("history: %v, %d services", err, len(page.Records[0].Services))
	}
}

// A pace shared through the table: slots at its rate, the burst at once
// after a pause, and at most one slot to come per key.
func TestPace(t *testing.T) {
	_, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := state.Pace{Name: "ecs:RegisterTaskDefinition:123456789012:us-east-1", Interval: time.Second, Burst: 3}
	var got []time.Duration
	for _, key := range []string{"a", "b", "c", "d", "e"} {
		at, err := s.Reserve(t.Context(), p, key)
		if err != nil {
			t.Fatalf("Reserve %s: %v", key, err)
		}
		got = append(got, at.Sub(now))
	}
	if diff := cmp.Diff([]time.Duration{0, 0, 0, time.Second, 2 * time.Second}, got); diff != "" {
		t.Errorf("slots after now (-want +got):\n%s", diff)
	}
	at, err := s.Reserve(t.Context(), p, "e")
	if !errors.Is(err, state.ErrSlotTaken) || !at.Equal(now.Add(2*time.Second)) {
		t.Errorf("a second slot for e: %v at %v, want ErrSlotTaken at +2s", err, at.Sub(now))
	}
	now = now.Add(2 * time.Second)
	if at, err := s.Reserve(t.Context(), p, "e"); err != nil || !at.Equal(now.Add(time.Second)) {
		t.Errorf("e's next slot once its first passed: %v at %v, want +1s", err, at.Sub(now))
	}
	now = now.Add(time.Minute) // idle: the burst again
	for _, key := range []string{"a", "b", "c"} {
		if at, err := s.Reserve(t.Context(), p, key); err != nil || !at.Equal(now) {
			t.Errorf("after a pause, %s: %v at %v, want now", key, err, at.Sub(now))
		}
	}
}

// A key's slot is kept in the pace's item only while it may be to come:
// the keys whose slot passed are removed by the next write that sees them,
// so that the item holds the last minutes' keys, not every repository's
// that ever registered (an item is at most 400 KB, and a write costs a unit
// per KB of it).
func TestPaceForgetsPassedSlots(t *testing.T) {
	env, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := state.Pace{Name: "ecs:RegisterTaskDefinition:123456789012:us-east-1", Interval: time.Second, Burst: 3}
	for i := range 10 {
		if _, err := s.Reserve(t.Context(), p, fmt.Sprintf("repo-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Minute)
	for _, key := range []string{"y", "z"} {
		if _, err := s.Reserve(t.Context(), p, key); err != nil {
			t.Fatal(err)
		}
	}
	out, err := env.DynamoDB().GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(env.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "#pace"}, "sk": &ddbtypes.AttributeValueMemberS{Value: p.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	var slots []string
	for name := range out.Item {
		if key, ok := strings.CutPrefix(name, "slot#"); ok {
			slots = append(slots, key)
		}
	}
	slices.Sort(slots)
	if diff := cmp.Diff([]string{"y", "z"}, slots); diff != "" {
		t.Errorf("keys in the pace's item a minute later (-want +got):\n%s", diff)
	}
}

// Reservations one process asks for at once are written together: the
// first alone, the rest in one more write, with no write refused. A second
// process, which does not know the pace, assumes it idle, is refused once
// and takes the slot after what stands; the first, which knows the pace
// busy, moves it on from whatever time it has: the slot after the other's,
// with no refusal.
func TestPaceBatchesAProcessesReservations(t *testing.T) {
	env, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := state.Pace{Name: "ecs:RegisterTaskDefinition:123456789012:us-east-1", Interval: time.Second, Burst: 3}
	env.Proxy.SetCallTime(50 * time.Millisecond) // the others ask while the first write is under way
	env.Proxy.Reset()
	keys := []string{"a", "b", "c", "d", "e", "f"}
	got := make([]time.Time, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			at, err := s.Reserve(t.Context(), p, key)
			if err != nil {
				t.Errorf("Reserve %s: %v", key, err)
			}
			got[i] = at
		})
		if i == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	wg.Wait()
	env.Proxy.SetCallTime(0)
	if n := env.Proxy.Count("UpdateItem"); n != 2 {
		t.Errorf("%d UpdateItem for %d reservations at once, want 2 (the first, then the rest together)", n, len(keys))
	}
	slices.SortFunc(got, time.Time.Compare)
	var after []time.Duration
	for _, at := range got {
		after = append(after, at.Sub(now))
	}
	if diff := cmp.Diff([]time.Duration{0, 0, 0, time.Second, 2 * time.Second, 3 * time.Second}, after); diff != "" {
		t.Errorf("slots after now (-want +got):\n%s", diff)
	}

	other := state.NewStore(env.DynamoDB(), env.Table) // another process
	other.Now = s.Now
	env.Proxy.Reset()
	if at, err := other.Reserve(t.Context(), p, "g"); err != nil || !at.Equal(now.Add(4*time.Second)) {
		t.Errorf("another process: %v at %v, want +4s", err, at.Sub(now))
	}
	if at, err := s.Reserve(t.Context(), p, "h"); err != nil || !at.Equal(now.Add(5*time.Second)) {
		t.Errorf("the first process after the other reserved: %v at %v, want +5s", err, at.Sub(now))
	}
	if n := env.Proxy.Count("UpdateItem"); n != 3 {
		t.Errorf("%d UpdateItem, want 3 (the other process refused once, the first not)", n)
	}
}

// A key's second slot in one batch waits for its first when that is still
// to come, as across batches.
func TestPaceBatchKeepsOneSlotToComePerKey(t *testing.T) {
	env, s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	p := state.Pace{Name: "pace", Interval: time.Second, Burst: 1}
	env.Proxy.SetCallTime(50 * time.Millisecond)
	defer env.Proxy.SetCallTime(0)
	if _, err := s.Reserve(t.Context(), p, "x"); err != nil { // the pace is busy for a second
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Reserve(t.Context(), p, "a") })
	}
	wg.Wait()
	taken := 0
	for _, err := range errs {
		if errors.Is(err, state.ErrSlotTaken) {
			taken++
		} else if err != nil {
			t.Errorf("Reserve a: %v", err)
		}
	}
	if taken != 2 {
		t.Errorf("%d of 3 reservations of a refused as taken, want 2 (a holds one slot to come)", taken)
	}
}
