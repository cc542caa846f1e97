package bench

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

var (
	fleetRepos     = flag.Int("fleet-repos", 1000, "repositories of the fleet reconciled under AWS's request buckets (3 push environments each)")
	fleetClusters  = flag.Int("fleet-clusters", 10, "clusters the fleet's services are spread over")
	fleetBehind    = flag.Int("fleet-behind", 50, "repositories of the fleet given a new version before the second reconcile")
	fleetScale     = flag.Float64("fleet-scale", 1, "scale of AWS's request buckets for the fleet and the throttled burst (1: as AWS documents them)")
	throttledRepos = flag.Int("throttled-repos", 100, "repositories of the burst under AWS's request buckets (10 versions each)")
	throttledConc  = flag.Int("throttled-concurrency", 20, "the deployer's reserved concurrency in the throttled burst: instances taking its events at once (template.yaml's default: 20)")
	unrelatedFlag  = flag.Int("unrelated", 20, "pushes to unrelated repositories during the throttled burst, spread over the time its registrations need at 1 a second")
	retryScale     = flag.Float64("retry-scale", 1, "scale of Lambda's retry delays (1 and 2 minutes) in the throttled burst")
	variantsFlag   = flag.String("throttled-variants", "", "experiments: the throttled burst again with each change, comma-separated: concurrency=N, per-repository=off, queue=off, priority")
)

// beforeIssue23 are the throttled burst's figures with the state in
// DynamoDB before pushes were coalesced and registrations shared one pace
// (1,000 pushes over 100 repositories through 4 instances, AWS's buckets),
// as the lead recorded them: RegisterTaskDefinition attempts, throttled.
var beforeIssue23 = struct{ RegisterAttempts, RegisterThrottled int }{1376, 864}

// fleetLimit is how long a reconcile may take: one Lambda invocation.
const fleetLimit = 15 * time.Minute

// ssmState are the figures of section 6 in the last report made while the
// state was kept in SSM Parameter Store, one parameter per environment
// (docs/benchmarks.md generated 2026-12-01 19:40 UTC by make bench-report,
// 2 CPUs, moto 5.2.1; AWS's buckets as documented): the reconcile of 1,000
// repositories × 3 environments in 10 clusters with nothing to do, and the
// burst of 1,000 pushes over 100 repositories through 4 instances. The
// report puts this run's figures beside them.
var ssmState = struct {
	Date                                string
	Repositories, Clusters              int
	IdleAttempts                        int // attempts of the reconcile with nothing to do
	IdleWall                            time.Duration
	BurstRepositories, BurstWorkers     int
	BurstWall                           time.Duration
	BurstAttempts, BurstThrottled       int
	BurstRegistrations, BurstRegistered int // RegisterTaskDefinition attempts, and those answered
}{
	Date: "2026-12-01", Repositories: 1000, Clusters: 10, IdleAttempts: 1716, IdleWall: 19700 * time.Millisecond,
	BurstRepositories: 100, BurstWorkers: 4, BurstWall: 509600 * time.Millisecond, BurstAttempts: 9326, BurstThrottled: 877,
	BurstRegistrations: 1395, BurstRegistered: 518,
}

// ssmPerRepository is the SSM state's attempts per repository of a steady
// reconcile: 1.72.
func ssmPerRepository() float64 {
	return float64(ssmState.IdleAttempts) / float64(ssmState.Repositories)
}

// perRepository returns a reconcile's attempts per repository.
func (f *fleetResult) perRepository(run fleetRun) float64 {
	return float64(sum(run.Calls)) / float64(f.Shape.Repositories)
}

// fleetGoals are the goal rows of the fleet and the throttled burst.
func (r *report) fleetGoals() (rows [][]string, notes []string) {
	if f := r.Fleet; f != nil {
		s := f.Shape
		for _, run := range []struct {
			name string
			r    fleetRun
		}{{"with nothing to do", f.Idle}, {fmt.Sprintf("with %d repositories behind", s.Behind), f.Behind}} {
			ok := run.r.Wall < fleetLimit && len(run.r.Failed) == 0 && run.r.NotReached == 0 && run.r.Err == ""
			rows = append(rows, []string{
				fmt.Sprintf("a reconcile of %d repositories × 3 environments (%d services in %d clusters), %s, under AWS's request buckets, within one invocation (15 min), no environment failed by throttling",
					s.Repositories, s.services(), s.Clusters, run.name),
				fmt.Sprintf("%s; %d failed, %d repositories not reached; %d of %d attempts throttled", ms(run.r.Wall), len(run.r.Failed), run.r.NotReached,
					sum(run.r.Throttled), sum(run.r.Calls)),
				yes(ok)})
			if !ok {
				notes = append(notes, fmt.Sprintf("**Fleet reconcile %s:** %s; failed: %s; error: %s.", run.name, ms(run.r.Wall), strings.Join(first(run.r.Failed, 5), "; "), run.r.Err))
			}
		}
		idle := f.Idle
		perCluster := (s.services() + s.Clusters - 1) / s.Clusters
		wantDS := s.Clusters * ((perCluster + 9) / 10)
		gotDS := idle.Calls["DescribeServices"] - idle.Throttled["DescribeServices"]
		rows = append(rows, []string{"DescribeServices batched ten services a call per cluster",
			fmt.Sprintf("%d DescribeServices for %d services (at most %d services a call, %d naming another cluster's); %d expected", gotDS, s.services(), idle.MaxServices, idle.MixedClusters, wantDS),
			yes(idle.MaxServices <= 10 && idle.MixedClusters == 0 && gotDS <= wantDS)})
		wantBG := (s.services() + state.BatchGetLimit - 1) / state.BatchGetLimit
		gotBG := idle.Calls["BatchGetItem"] - idle.Throttled["BatchGetItem"]
		rows = append(rows, []string{fmt.Sprintf("state read %d records a call (BatchGetItem)", state.BatchGetLimit),
			fmt.Sprintf("%d BatchGetItem for %d records (at most %d keys a call); %d expected", gotBG, s.services(), idle.MaxKeys, wantBG),
			yes(idle.MaxKeys <= state.BatchGetLimit && gotBG <= wantBG)})
		per := f.perRepository(idle)
		rows = append(rows, []string{
			fmt.Sprintf("a steady reconcile costs no more calls per repository than with the state in SSM (%.2f at %d × 3, %s)",
				ssmPerRepository(), ssmState.Repositories, ssmState.Date),
			fmt.Sprintf("%.2f per repository at %d × 3 (%d attempts)", per, s.Repositories, sum(idle.Calls)),
			yes(per <= ssmPerRepository())})
		rows = append(rows, []string{"a reconcile with nothing to do makes no mutating call",
			fmt.Sprintf("%d mutating calls, %d DescribeTaskDefinition", idle.Mutating, idle.Calls["DescribeTaskDefinition"]), yes(idle.Mutating == 0)})
		if len(f.Wrong) > 0 {
			notes = append(notes, fmt.Sprintf("**Fleet after the reconciles:** %d environments wrong: %s.", len(f.Wrong), strings.Join(first(f.Wrong, 5), "; ")))
		}
	}
	if b := r.Throttled; b != nil {
		brow, bnotes := b.goals()
		rows, notes = append(rows, brow...), append(notes, bnotes...)
	}
	return rows, notes
}

// fleet is section 6.
func (r *report) fleet(b *md) {
	b.p("## 6. Fleet scale under AWS's request limits")
	if r.Fleet == nil && r.Throttled == nil {
		b.p("Not measured in this run.")
		return
	}
	b.p("Every call of this section meets the proxy's model of AWS's request token buckets (`awstest.NewBuckets`, `Proxy.Throttle`): " +
		"one bucket per account, region and action (or category of actions), with the sizes and refill rates AWS documents, cited in " +
		"`internal/awstest/throttle.go` (ECS: the \"Request Token Bucket Sizes and Refill Rates\" table, e.g. DescribeServices 100 and 20 a second, " +
		"RegisterTaskDefinition 20 and 1 a second, UpdateService 50 and 5 a second; SSM Parameter Store: 40 reads a second shared by GetParameter, " +
		"GetParameters and GetParametersByPath, which read the configuration; DynamoDB, the state table: what a new on-demand table serves, " +
		"12,000 read and 4,000 write request units a second, one bucket for each per table, each request charged its units (a consistent " +
		"BatchGetItem of 100 keys is 100 read units, a record's TransactWriteItems of two items 4 write units, a claim 1); ECR and EventBridge: " +
		"their per-second quotas; what AWS documents no figure for is not limited: ECR DescribeImages, STS). A throttled call is answered " +
		"ThrottlingException (DynamoDB's with the message of an on-demand table being scaled) after the call's round trip and costs no token. " +
		"The deployer's clients are the functions' (`handler.Paced`, as `handler.LoadAWS` makes them): the SDK's adaptive retry mode with one " +
		"rate limiter per operation, throttled retries free of the retry quota. Calls take moto's own time (no injected latency).")
	if r.Fleet != nil {
		b.p("In the fleet, the proxy answers the state's TransactWriteItems itself, writing each item with its single-item call, " +
			"condition and all, to moto (`writeItemByItem` in `internal/bench`): moto deep-copies every table a transaction names, on every " +
			"call, to roll it back, which on a table of 3,000 items took 0.26 s and kept 7 MB per transaction, some 20 GB for the fleet's. " +
			"One reconcile at a time writes each environment, so nothing can come between the two items of its transaction; the call is " +
			"counted, throttled and timed as made.")
	}
	r.besideSSM(b)
	if f := r.Fleet; f != nil {
		s := f.Shape
		b.p("**Reconcile of a fleet.** %d repositories, each with `dev`, `staging` and `prod` (all `^1.0.0`, push), one service and family each: "+
			"%d services in %d clusters. Seeded straight into moto and brought in sync by a first reconcile without throttling (not measured; "+
			"%s in all). Then, with the buckets %s and a 15-minute deadline, a reconcile by a new function instance with nothing to do, and one after "+
			"%d repositories got version 1.1.0 in ECR without a push event (%d environments behind).", s.Repositories, s.services(), s.Clusters,
			ms(f.Setup), scaleText(f.Scale), s.Behind, f.BehindDeploys)
		var t [][]string
		for _, run := range []struct {
			name string
			r    fleetRun
		}{{"nothing to do", f.Idle}, {fmt.Sprintf("%d repositories behind", s.Behind), f.Behind}} {
			t = append(t, []string{run.name, ms(run.r.Wall), fmt.Sprint(sum(run.r.Calls)), fmt.Sprintf("%.2f", float64(sum(run.r.Calls))/float64(s.Repositories)),
				countsText(run.r.Calls), countsText(run.r.Throttled), countsText(run.r.Outcomes), fmt.Sprint(len(run.r.Failed)), fmt.Sprint(run.r.NotReached)})
		}
		b.table([]string{"reconcile", "wall", "attempts", "per repository", "by operation", "throttled", "outcomes (rows)", "failed", "not reached"}, t)
		b.p("Catching up is bound by RegisterTaskDefinition's bucket: 20, then 1 a second per account and region, so one invocation can " +
			"register about 900 revisions; a reconcile with more environments behind than that stops before its deadline and reports the " +
			"repositories it did not reach, which the next one catches up.")
	}
	if bu := r.Throttled; bu != nil {
		bu.section(b)
	}
	if len(r.Variants) > 0 {
		r.variants(b)
	}
}

// besideSSM is the table of section 6 that puts this run's figures beside
// those of the state in SSM (ssmState), saying so where the sizes or the
// buckets differ, which makes the wall times not comparable.
func (r *report) besideSSM(b *md) {
	before := fmt.Sprintf("SSM state (report of %s)", ssmState.Date)
	var t [][]string
	var differ []string
	if f := r.Fleet; f != nil {
		s := f.Shape
		size := fmt.Sprintf("%d × 3 in %d clusters", s.Repositories, s.Clusters)
		if s.Repositories != ssmState.Repositories || s.Clusters != ssmState.Clusters || f.Scale != 1 {
			differ = append(differ, fmt.Sprintf("the fleet here is %s, buckets %s", size, scaleText(f.Scale)))
		}
		t = append(t,
			[]string{"calls per steady reconcile per repository (nothing to do)",
				fmt.Sprintf("%.2f (%d attempts for %d × 3)", ssmPerRepository(), ssmState.IdleAttempts, ssmState.Repositories),
				fmt.Sprintf("%.2f (%d attempts for %s; %s)", f.perRepository(f.Idle), sum(f.Idle.Calls), size, countsText(f.Idle.Calls))},
			[]string{fmt.Sprintf("reconcile of %d repositories × 3 environments with nothing to do: wall", s.Repositories),
				fmt.Sprintf("%s (%d × 3)", ms(ssmState.IdleWall), ssmState.Repositories),
				fmt.Sprintf("%s; %d of %d attempts throttled (%s)", ms(f.Idle.Wall), sum(f.Idle.Throttled), sum(f.Idle.Calls), countsText(f.Idle.Throttled))})
	}
	if bu := r.Throttled; bu != nil {
		if bu.Shape.Repositories != ssmState.BurstRepositories || bu.Buckets != scaleText(1) {
			differ = append(differ, fmt.Sprintf("the burst here is %d pushes over %d repositories, buckets %s",
				bu.Events, bu.Shape.Repositories, bu.Buckets))
		}
		reg, regThrottled := bu.Calls["RegisterTaskDefinition"], bu.Throttled["RegisterTaskDefinition"]
		t = append(t,
			[]string{fmt.Sprintf("burst of %d pushes over %d repositories: wall", bu.Events, bu.Shape.Repositories),
				fmt.Sprintf("%s (1000 over %d, %s)", ms(ssmState.BurstWall), ssmState.BurstRepositories, plural(ssmState.BurstWorkers, "instance")),
				fmt.Sprintf("%s (reserved concurrency %d; %s with the %d unrelated pushes)", ms(bu.Wall), bu.Shape.Lambda.Concurrency, ms(bu.WallAll), len(bu.Unrelated))},
			[]string{"the same: registrations (RegisterTaskDefinition answered, of its attempts)",
				fmt.Sprintf("%d of %d", ssmState.BurstRegistered, ssmState.BurstRegistrations), fmt.Sprintf("%d of %d", reg-regThrottled, reg)},
			[]string{"the same: attempts, throttled",
				fmt.Sprintf("%d, %d throttled", ssmState.BurstAttempts, ssmState.BurstThrottled),
				fmt.Sprintf("%d, %d throttled (%s)", sum(bu.Calls), sum(bu.Throttled), countsText(bu.Throttled))})
	}
	if len(t) == 0 {
		return
	}
	b.p("**Beside the state in SSM.** The figures of the last report made with the state in SSM Parameter Store, one parameter per " +
		"environment, read ten a call (GetParameters) and re-checked before UpdateService (GetParameter), all under Parameter Store's 40 " +
		"reads a second; and this run's, with the state in DynamoDB: read a hundred records a call (BatchGetItem), claimed per environment " +
		"(UpdateItem) and written with the claim's release (TransactWriteItems).")
	b.table([]string{"figure", before, "DynamoDB state (this run)"}, t)
	if len(differ) > 0 {
		b.p("Not the same size as the SSM figures: %s. Calls per repository compare; wall times and totals do not.", strings.Join(differ, "; "))
	}
}

func first(s []string, n int) []string { return s[:min(len(s), n)] }

func scaleText(scale float64) string {
	if scale == 1 {
		return "as AWS documents them"
	}
	return fmt.Sprintf("scaled by %g from AWS's", scale)
}

// runFleetSections runs the fleet and the throttled burst of the report,
// unless skipped.
func (r *report) runFleetSections(t *testing.T, skip map[string]bool) {
	buckets := func() *awstest.Buckets { return awstest.NewBuckets(*fleetScale) }
	if skip["fleet"] {
		r.Skipped = append(r.Skipped, "fleet reconcile (-skip=fleet)")
	} else {
		t.Run("fleet", func(t *testing.T) {
			f := runFleet(t, fleetShape{Repositories: *fleetRepos, Clusters: *fleetClusters, Behind: *fleetBehind}, buckets, *fleetScale)
			if err := errWrong("fleet", f.Wrong); err != nil {
				t.Error(err)
			}
			r.Fleet = &f
		})
	}
	if skip["throttled"] {
		r.Skipped = append(r.Skipped, "burst under AWS's buckets (-skip=throttled)")
	} else {
		t.Run("throttled-burst", func(t *testing.T) {
			b := runThrottledBurst(t, reportBurst(), buckets(), scaleText(*fleetScale))
			if err := errWrong("throttled burst", b.Wrong); err != nil {
				t.Error(err)
			}
			r.Throttled = &b
		})
		variants, err := parseVariants(*variantsFlag, reportBurst())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range variants {
			t.Run("throttled-burst/"+v.Variant, func(t *testing.T) {
				b := runThrottledBurst(t, v, buckets(), scaleText(*fleetScale))
				if err := errWrong("throttled burst, "+v.Variant, b.Wrong); err != nil {
					t.Error(err)
				}
				r.Variants = append(r.Variants, b)
			})
		}
	}
}
