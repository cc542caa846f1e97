package bench

import (
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// The rate-limited scenarios at a size that fits make test. The report
// (make bench) runs them at the size with AWS's buckets as
// documented; here the fleet is scaled down and so are the buckets, by
// the same factor where the scenario's time allows (see each test).

// testFleet is the fleet of TestReconcileOfAFleetUnderThrottling: 20
// repositories × 3 environments in 2 clusters (30 services each), 1/50 of
// the 1,000 × 3 in 10 clusters, with 2 repositories behind.
var testFleet = fleetShape{Repositories: 20, Clusters: 2, Behind: 2}

// testFleetScale scales AWS's buckets for testFleet: 1/10. The modify
// actions of ECS are given 2 a second with a burst of 2 instead (scaled,
// 1/10 of 1 registration a second would take the 6 registrations a
// minute).
//
// The reads of a reconcile with nothing to do are put under pressure
// through ECS's service reads (DescribeServices), given a burst of 2 and 2
// a second: its 6 DescribeServices are then 3 times the burst, as the full
// size's 300 are 3 times AWS's 100, with a faster refill so that the test
// takes seconds. The other reads cannot be: the state is read from
// DynamoDB in one BatchGetItem of 60 records (60 read units; a new
// on-demand table serves 12,000 a second, 1,200 scaled), and SSM's shared
// reads (4 a second, scaled) meet only the 3 calls that list the
// configuration. Under the SSM state, SSM's bucket was that pressure: the
// state took 6 GetParameters beside the listing.
const testFleetScale = 0.1

func testFleetBuckets() *awstest.Buckets {
	b := awstest.NewBuckets(testFleetScale)
	b.SetLimit("ecs", "Task definition modify actions", awstest.Limit{Burst: 2, Rate: 2})
	b.SetLimit("ecs", "Service modify actions", awstest.Limit{Burst: 2, Rate: 2})
	b.SetLimit("ecs", "Service read actions", awstest.Limit{Burst: 2, Rate: 2})
	return b
}

// TestReconcileOfAFleetUnderThrottling: a reconcile of a fleet under AWS's
// request buckets finishes with no environment failed by throttling, reads
// the state a hundred records a call (BatchGetItem) and describes services
// ten a call per cluster, makes no mutating call (not even a claim) when
// there is nothing to do, and catches up the repositories that are behind.
func TestReconcileOfAFleetUnderThrottling(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a fleet in moto")
	}
	s := testFleet
	f := runFleet(t, s, testFleetBuckets, testFleetScale)
	perCluster := s.services() / s.Clusters
	wantDescribes := s.Clusters * ((perCluster + 9) / 10)
	wantStateReads := (s.services() + state.BatchGetLimit - 1) / state.BatchGetLimit
	for _, run := range []struct {
		name string
		r    fleetRun
	}{{"nothing to do", f.Idle}, {"behind", f.Behind}} {
		r := run.r
		t.Logf("%s: %s in %v; throttled: %s; outcomes %v", run.name, countsText(r.Calls), r.Wall, countsText(r.Throttled), r.Outcomes)
		if len(r.Failed) > 0 || r.Err != "" || r.NotReached > 0 {
			t.Errorf("%s: failed %v, error %q, %d repositories not reached", run.name, r.Failed, r.Err, r.NotReached)
		}
		if r.MaxServices > 10 || r.MixedClusters > 0 || r.MaxKeys > state.BatchGetLimit {
			t.Errorf("%s: a DescribeServices named %d services (%d of another cluster), a BatchGetItem %d keys; want at most 10 of one cluster, %d keys",
				run.name, r.MaxServices, r.MixedClusters, r.MaxKeys, state.BatchGetLimit)
		}
	}
	idle := f.Idle
	if idle.Mutating > 0 || idle.Calls["DescribeTaskDefinition"] > 0 {
		t.Errorf("nothing to do: %d mutating calls, %d DescribeTaskDefinition, want 0 (%s)", idle.Mutating, idle.Calls["DescribeTaskDefinition"], countsText(idle.Calls))
	}
	if got := idle.Calls["DescribeServices"] - idle.Throttled["DescribeServices"]; got != wantDescribes {
		t.Errorf("nothing to do: %d DescribeServices answered, want %d (%d services in each of %d clusters, ten a call)", got, wantDescribes, perCluster, s.Clusters)
	}
	if got := idle.Calls["BatchGetItem"] - idle.Throttled["BatchGetItem"]; got != wantStateReads {
		t.Errorf("nothing to do: %d BatchGetItem answered, want %d (%d records, %d a call)", got, wantStateReads, s.services(), state.BatchGetLimit)
	}
	if n := idle.Calls["GetItem"] + idle.Calls["UpdateItem"] + idle.Calls["GetParameters"]; n > 0 {
		t.Errorf("nothing to do: %d GetItem, UpdateItem or GetParameters: the state read otherwise than in batches (%s)", n, countsText(idle.Calls))
	}
	if idle.Throttled["DescribeServices"] == 0 {
		t.Errorf("nothing to do: no DescribeServices was throttled: the buckets put no pressure on the reconcile's reads (%s)", countsText(idle.Calls))
	}
	if n := f.Behind.Outcomes["deployed"]; n != f.BehindDeploys {
		t.Errorf("behind: %d environments deployed, want %d (%v)", n, f.BehindDeploys, f.Behind.Outcomes)
	}
	if err := errWrong("after the reconciles", f.Wrong); err != nil {
		t.Error(err)
	}
}

// testBurst is the burst of TestBurstUnderThrottling: 100 pushes over 10
// repositories (1/10 of the 1,000 over 100), delivered as Lambda
// delivers the deployer's events with the template's reserved concurrency
// (20) and Lambda's retry delays scaled by 1/20 (3 and 6 s), and 4 pushes
// to unrelated repositories during it, one every 5 s. The registration
// pace (15 at once, then 1 a second) is the deployer's own and not scaled:
// the burst's 20 registrations and the unrelated 4 take some 10 s of it.
var testBurst = throttledShape{Repositories: 10, Lambda: deployerLambda(20, 1.0/20), Unrelated: 4, Every: 5 * time.Second}

// testBurstBuckets are AWS's buckets but for the ECS modify actions, which
// get a burst of 2 and 8 a second: a registration pace that let the 15
// slots of its burst go at once would be throttled by a bucket of 2, and
// the SDK's pacing would have to make up for it.
func testBurstBuckets() *awstest.Buckets {
	b := awstest.NewBuckets(1)
	b.SetLimit("ecs", "Task definition modify actions", awstest.Limit{Burst: 2, Rate: 8})
	b.SetLimit("ecs", "Service modify actions", awstest.Limit{Burst: 2, Rate: 8})
	return b
}

// TestBurstUnderThrottling: a burst of pushes under AWS's request buckets,
// delivered as Lambda delivers them, ends with every environment on its
// highest accepted version and its record agreeing, no event lost, one
// registration per environment (a push older than the highest version in
// ECR is superseded), each on a slot of the shared pace, and few attempts
// throttled; the pushes to unrelated repositories during it are deployed,
// and the timeline says what each waited for.
func TestBurstUnderThrottling(t *testing.T) {
	if testing.Short() {
		t.Skip("a burst against moto")
	}
	b := runThrottledBurst(t, testBurst, testBurstBuckets(), "test buckets")
	calls, throttled := sum(b.Calls), sum(b.Throttled)
	t.Logf("%d events (and %d unrelated) in %v (all %v): %d calls, %d throttled (%s), %d registrations for %d environments, %d reservations (at most %d slots ahead), "+
		"%d invocation errors (%d waiting for a claim: %q), %d redelivered, %d lost; outcomes %v",
		b.Events, len(b.Unrelated), b.Wall, b.WallAll, calls, throttled, countsText(b.Throttled), b.Registered, b.Needed, b.Reservations, b.Ahead,
		b.Errors, b.ClaimWaits, b.Failures, b.Redelivered, b.Lost, b.Outcomes)
	if err := errWrong("after the burst", b.Wrong); err != nil {
		t.Error(err)
	}
	if b.Lost > 0 {
		t.Errorf("%d events lost (their last delivery failed)", b.Lost)
	}
	if b.Registered > b.Needed || len(b.Twice) > 0 {
		t.Errorf("%d registrations for %d environments (twice or more: %v): want at most one for each, for the version it ends on", b.Registered, b.Needed, b.Twice)
	}
	if b.Reservations < b.Registered {
		t.Errorf("%d slots of the pace reserved for %d registrations: some registered off the shared pace", b.Reservations, b.Registered)
	}
	if _, missing := b.leads(); missing > 0 {
		t.Errorf("%d of %d unrelated pushes never had their service updated", missing, len(b.Unrelated))
	}
	// Paced, a client waits for its bucket once it has been throttled, so
	// that throttled attempts stay a small share of all attempts.
	if throttled*5 > calls {
		t.Errorf("%d of %d attempts throttled: more than one in five, the deployer does not pace itself", throttled, calls)
	}
}
