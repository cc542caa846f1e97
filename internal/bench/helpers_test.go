package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// call is a logged call from start to end, in milliseconds after t0.
func call(op string, start, end int) awstest.Call {
	t0 := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	return awstest.Call{Operation: op, Start: t0.Add(time.Duration(start) * time.Millisecond), End: t0.Add(time.Duration(end) * time.Millisecond)}
}

func ops(calls []awstest.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Operation
	}
	return out
}

// warmLog is the shape of a warm single-environment deployment: the claim
// (which reads the record) beside the describes, three calls one after the
// other, then the record's write beside the verification and the events.
var warmLog = []awstest.Call{
	call("UpdateItem", 0, 24), call("DescribeServices", 0, 27), call("DescribeImages", 1, 26),
	call("DescribeTaskDefinition", 28, 53),
	call("RegisterTaskDefinition", 55, 83),
	call("UpdateService", 84, 108),
	call("TransactWriteItems", 109, 133), call("DescribeServices", 110, 136), call("PutEvents", 111, 135),
}

func TestLongestChain(t *testing.T) {
	tests := []struct {
		name  string
		calls []awstest.Call
		want  []string
	}{
		{"none", nil, []string{}},
		{"one", []awstest.Call{call("A", 0, 10)}, []string{"A"}},
		{"concurrent calls count once", []awstest.Call{call("A", 0, 10), call("B", 1, 12), call("C", 2, 9)}, []string{"C"}},
		{"touching intervals wait on each other", []awstest.Call{call("A", 0, 10), call("B", 10, 20)}, []string{"A", "B"}},
		{"a long call loses to two short ones", []awstest.Call{call("Long", 0, 30), call("A", 1, 10), call("B", 11, 20), call("C", 31, 40)},
			[]string{"A", "B", "C"}},
		{"warm deployment", warmLog, []string{"UpdateItem", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService", "TransactWriteItems"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ops(longestChain(tt.calls))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("longestChain (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	m := measurement{Calls: warmLog, Wall: 140 * time.Millisecond}
	if got := m.Levels(); got != 5 {
		t.Errorf("Levels = %d, want 5", got)
	}
	if got, want := m.LongestCall(), 28*time.Millisecond; got != want {
		t.Errorf("LongestCall = %v, want %v (the RegisterTaskDefinition)", got, want)
	}
	if overran(m, 27*time.Millisecond) || !overran(m, 20*time.Millisecond) {
		t.Errorf("overran: 28 ms is within 27 ms + 5%%? %v; beyond 20 ms + 5%%? %v", overran(m, 27*time.Millisecond), overran(m, 20*time.Millisecond))
	}
	if got := (measurement{}).LongestCall(); got != 0 {
		t.Errorf("LongestCall of no calls = %v", got)
	}
	two := measurement{Calls: []awstest.Call{call("A", 0, 10), call("B", 10, 20)}}
	if lo, hi := levelRange([]measurement{m, two, m}); lo != 2 || hi != 5 {
		t.Errorf("levelRange = %d, %d, want 2, 5", lo, hi)
	}
	if got, want := levelsText([]measurement{two, two}), "2 levels (all 2 runs)"; got != want {
		t.Errorf("levelsText = %q, want %q", got, want)
	}
	if got := levelsText([]measurement{two, m, m}); !strings.HasPrefix(got, "2–5 levels over 3 runs (median run") {
		t.Errorf("levelsText of different runs = %q", got)
	}
}

func TestWithin(t *testing.T) {
	L := 50 * time.Millisecond
	for _, tt := range []struct {
		wall   time.Duration
		levels int
		want   bool
	}{
		{250 * time.Millisecond, 5, true},  // exactly five calls in sequence
		{299 * time.Millisecond, 5, true},  // ecrdeploy's own work between them
		{300 * time.Millisecond, 5, false}, // room for a sixth
		{300 * time.Millisecond, 6, true},
	} {
		if got := within(tt.wall, L, tt.levels); got != tt.want {
			t.Errorf("within(%v, %v, %d) = %v, want %v", tt.wall, L, tt.levels, got, tt.want)
		}
	}
}

func TestOpsText(t *testing.T) {
	m := measurement{Calls: []awstest.Call{call("PutEvents", 0, 1), call("Zeta", 0, 1), call("TransactWriteItems", 0, 1), call("UpdateItem", 0, 1),
		call("UpdateItem", 1, 2), call("DescribeServices", 0, 1), call("BatchGetItem", 0, 1), call("GetParameter", 0, 1),
		call("GetParametersByPath", 0, 1), call("Alpha", 0, 1)}}
	want := "GetParametersByPath 1, GetParameter 1, BatchGetItem 1, UpdateItem 2, DescribeServices 1, TransactWriteItems 1, PutEvents 1, Alpha 1, Zeta 1"
	if got := opsText(m); got != want {
		t.Errorf("opsText = %q, want %q (opOrder first, then the others sorted)", got, want)
	}
	if got := opsSuffix(measurement{}); got != "" {
		t.Errorf("opsSuffix of no calls = %q", got)
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name string
		res  deploy.Result
		want string
	}{
		{"push", deploy.Result{Results: []deploy.Row{{Environment: "dev", Outcome: deploy.Deployed},
			{Environment: "production", Outcome: deploy.Skipped, Reason: policy.ManualEnvironment}}},
			"dev: deployed, production: skipped manual-environment"},
		{"rollout", deploy.Result{Results: []deploy.Row{{Environment: "dev", Rollout: state.Completed}}}, "dev: rollout completed"},
		{"reconcile", deploy.Result{Repositories: []deploy.Result{
			{Repository: "a", Results: []deploy.Row{{Environment: "staging", Outcome: deploy.Deployed}}},
			{Repository: "b", Error: "boom"}}, NotReached: []string{"c"}},
			"a/staging: deployed, b: error: boom, c: not reached"},
		{"nothing", deploy.Result{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcomes(tt.res); got != tt.want {
				t.Errorf("outcomes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	ms := []measurement{{Scenario: "c", Wall: 3}, {Scenario: "a", Wall: 1}, {Scenario: "d", Wall: 4}, {Scenario: "b", Wall: 2}}
	if got := median(ms).Scenario; got != "b" {
		t.Errorf("median = %s, want the lower middle one, b", got)
	}
	if got := medianDuration([]time.Duration{5, 1, 3}); got != 3 {
		t.Errorf("medianDuration = %v, want 3", got)
	}
	if got := medianDuration(nil); got != 0 {
		t.Errorf("medianDuration(nil) = %v, want 0", got)
	}
}

// Request bodies of the state table's calls, as pkg/state sends them
// (trimmed to what says what a call was about).
const (
	claimBody   = `{"TableName":"ecrdeploy-state","Key":{"pk":{"S":"web"},"sk":{"S":"record#dev"}},"UpdateExpression":"SET #owner = :owner, #until = :until","ConditionExpression":"attribute_not_exists(#owner) OR #until <= :now OR #owner = :owner","ExpressionAttributeNames":{"#owner":"claimOwner","#until":"claimUntil"},"ReturnValues":"ALL_NEW"}`
	releaseBody = `{"TableName":"ecrdeploy-state","Key":{"pk":{"S":"web"},"sk":{"S":"record#dev"}},"UpdateExpression":"REMOVE #owner, #until","ConditionExpression":"#owner = :owner","ExpressionAttributeNames":{"#owner":"claimOwner","#until":"claimUntil"}}`
	recordBody  = `{"TransactItems":[{"Update":{"TableName":"ecrdeploy-state","Key":{"pk":{"S":"web"},"sk":{"S":"record#dev"}},"UpdateExpression":"SET #rev = :next, #record = :record, #env = :env, #t = :time REMOVE #owner, #until","ConditionExpression":"#rev = :read AND #owner = :owner","ExpressionAttributeNames":{"#owner":"claimOwner","#record":"record","#rev":"rev"},"ExpressionAttributeValues":{":next":{"N":"6"},":read":{"N":"5"}}}},{"Put":{"TableName":"ecrdeploy-state","Item":{"pk":{"S":"web"},"sk":{"S":"change#dev#000000000006"}}}}]}`
	rolloutBody = `{"TransactItems":[{"Update":{"TableName":"ecrdeploy-state","Key":{"pk":{"S":"web"},"sk":{"S":"record#dev"}},"UpdateExpression":"SET #rev = :next, #record = :record, #env = :env, #t = :time","ExpressionAttributeNames":{"#record":"record","#rev":"rev"},"ExpressionAttributeValues":{":next":{"N":"7"},":read":{"N":"6"}}}},{"Put":{"TableName":"ecrdeploy-state","Item":{"pk":{"S":"web"},"sk":{"S":"change#dev#000000000007"}}}}]}`
)

func withBody(c awstest.Call, body string) awstest.Call { c.Request = []byte(body); return c }

func TestPurposes(t *testing.T) {
	with := withBody
	calls := []awstest.Call{
		with(call("GetParameter", 0, 1), `{"Name":"/ecrdeploy/config/web","WithDecryption":true}`),
		with(call("GetCallerIdentity", 0, 1), ``),
		with(call("UpdateItem", 1, 2), claimBody),
		with(call("DescribeImages", 1, 2), `{"repositoryName":"web","imageIds":[{"imageTag":"1.2.0"}]}`),
		with(call("DescribeServices", 1, 2), `{"cluster":"apps","services":["web-dev"]}`),
		with(call("DescribeTaskDefinition", 2, 3), `{"taskDefinition":"web-dev","include":["TAGS"]}`),
		with(call("RegisterTaskDefinition", 3, 4), `{"family":"web-dev"}`),
		with(call("UpdateService", 4, 5), `{"cluster":"apps","service":"web-dev","taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/web-dev:4"}`),
		with(call("TransactWriteItems", 5, 6), recordBody),
		with(call("DescribeServices", 5, 6), `{"cluster":"apps","services":["web-dev"]}`),
		with(call("PutEvents", 5, 6), `{"Entries":[{"DetailType":"Deployment Started","Detail":"{}"},{"DetailType":"Deployment Skipped","Detail":"{\"reason\":\"manual-environment\"}"}]}`),
		with(call("UpdateItem", 6, 7), releaseBody),
	}
	got := purposes(calls, pushCalls)
	for i, want := range []string{"configuration document", "own account", "claim web/dev for this delivery", "tag 1.2.0 still names the pushed digest",
		"observe", "family's latest", "register the new revision of web-dev", "point web-dev at web-dev:4",
		"record the new state of web/dev as revision 6 with its change item, releasing the claim, in one transaction",
		"verify after applying", "1× Deployment Skipped (manual-environment), 1× Deployment Started", "release the claim on web/dev"} {
		if !strings.Contains(got[i], want) {
			t.Errorf("purpose of call %d (%s) = %q, want it to contain %q", i+1, calls[i].Operation, got[i], want)
		}
	}
	if !calls[2].Claim() || !calls[11].Claim() || calls[8].Claim() {
		t.Errorf("Claim() of the claim, the release and the record's write = %v, %v, %v; want true, true, false",
			calls[2].Claim(), calls[11].Claim(), calls[8].Claim())
	}
	promote := purposes([]awstest.Call{
		with(call("GetItem", 0, 1), `{"TableName":"ecrdeploy-state","Key":{"pk":{"S":"hello-color"},"sk":{"S":"record#dev"}},"ConsistentRead":true}`),
		with(call("DescribeImages", 1, 2), `{"repositoryName":"hello-color","imageIds":[{"imageDigest":"sha256:46577cd0aab6c75fb7263c7df79c33ee"}]}`),
		with(call("DescribeImages", 2, 3), `{"repositoryName":"hello-color","imageIds":[{"imageTag":"1.3.0"}]}`),
		with(call("GetParametersByPath", 3, 4), `{"Path":"/ecrdeploy/state","Recursive":true,"MaxResults":1}`),
	}, manualCalls)
	if !strings.Contains(promote[0], "source environment (hello-color/dev)") || !strings.Contains(promote[1], "recorded digest sha256:46577cd0aab6… up in ECR") ||
		!strings.Contains(promote[2], "still names the recorded digest") || !strings.Contains(promote[3], "earlier release under /ecrdeploy/state") {
		t.Errorf("purposes of a promote = %q", promote)
	}
	plan := purposes([]awstest.Call{
		with(call("DescribeImages", 0, 1), `{"imageIds":[{"imageTag":"1.4.0"}]}`),
		with(call("BatchGetItem", 1, 2), `{"RequestItems":{"ecrdeploy-state":{"Keys":[{"pk":{"S":"hello-color"},"sk":{"S":"record#dev"}},{"pk":{"S":"hello-color"},"sk":{"S":"record#production"}}],"ConsistentRead":true}}}`),
	}, manualCalls)
	if !strings.Contains(plan[0], "resolve the tag 1.4.0") || !strings.Contains(plan[1], "state records of 2 environments in one call (up to 100 a call)") {
		t.Errorf("purposes of a plan = %q", plan)
	}
	rollout := purposes([]awstest.Call{
		with(call("GetItem", 0, 1), `{"TableName":"ecrdeploy-state","Key":{"pk":{"S":"web"},"sk":{"S":"record#dev"}},"ConsistentRead":true}`),
		with(call("TransactWriteItems", 1, 2), rolloutBody),
	}, rolloutCalls)
	if !strings.Contains(rollout[0], "whose service it is (web/dev)") || !strings.Contains(rollout[1], "record the rollout in the state of web/dev as revision 7") ||
		strings.Contains(rollout[1], "claim") {
		t.Errorf("purposes of an ECS event = %q", rollout)
	}
	reconcile := purposes([]awstest.Call{
		with(call("GetParametersByPath", 0, 1), `{"Path":"/ecrdeploy/config","Recursive":true}`),
		with(call("DescribeImages", 1, 2), `{"repositoryName":"svc-00","filter":{"tagStatus":"TAGGED"}}`),
		with(call("BatchGetItem", 1, 2), `{"RequestItems":{"ecrdeploy-state":{"Keys":[{"pk":{"S":"svc-00"},"sk":{"S":"record#dev"}}]}}}`),
	}, reconcileCalls)
	if !strings.Contains(reconcile[0], "every configuration document") || !strings.Contains(reconcile[1], "tagged images of svc-00") ||
		!strings.Contains(reconcile[2], "1 environment of the repositories listed, 100 a call") {
		t.Errorf("purposes of a reconcile = %q", reconcile)
	}
}

func TestMutatingText(t *testing.T) {
	read := call("DescribeServices", 0, 1)
	tests := []struct {
		name  string
		calls []awstest.Call
		want  string
	}{
		{"reads only", []awstest.Call{read}, ", none mutating"},
		{"a duplicate: the claim and its release", []awstest.Call{read, withBody(call("UpdateItem", 0, 1), claimBody), withBody(call("UpdateItem", 1, 2), releaseBody)},
			", none mutating but 2 calls taking or releasing the claim"},
		{"a deployment", []awstest.Call{withBody(call("UpdateItem", 0, 1), claimBody), call("UpdateService", 1, 2), withBody(call("TransactWriteItems", 2, 3), recordBody)},
			", 2 mutating but 1 call taking or releasing the claim"},
	}
	for _, tt := range tests {
		if got := mutatingText(measurement{Calls: tt.calls}); got != tt.want {
			t.Errorf("%s: mutatingText = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	for scenario, want := range map[string]callKind{
		"push, warm config": pushCalls, "duplicate event": pushCalls, "ECS deployment completed, configured service": rolloutCalls,
		"promote dev to production": manualCalls, "plan 1.4.0": manualCalls, "reconcile of 10 repositories": reconcileCalls,
	} {
		if got := kindOf(scenario); got != want {
			t.Errorf("kindOf(%q) = %d, want %d", scenario, got, want)
		}
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/ecrdeploy/ecrdeploy/pkg/policy
cpu: AMD EPYC
BenchmarkEvaluate/caret/accepted-2         	 1000000	       276.0 ns/op	     128 B/op	       2 allocs/op
BenchmarkNoMem-16   	 500	  1234567 ns/op
PASS
ok  	github.com/ecrdeploy/ecrdeploy/pkg/policy	29.978s
pkg: github.com/ecrdeploy/ecrdeploy/pkg/taskdef
BenchmarkRender-2         	    1681	    731540 ns/op	  152839 B/op	    3600 allocs/op
`
	got, err := parseGoBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []goBenchmark{
		{Package: "github.com/ecrdeploy/ecrdeploy/pkg/policy", Name: "Evaluate/caret/accepted", Iterations: 1000000, NsPerOp: 276, BytesPerOp: 128, AllocsOp: 2},
		{Package: "github.com/ecrdeploy/ecrdeploy/pkg/policy", Name: "NoMem", Iterations: 500, NsPerOp: 1234567, BytesPerOp: -1, AllocsOp: -1},
		{Package: "github.com/ecrdeploy/ecrdeploy/pkg/taskdef", Name: "Render", Iterations: 1681, NsPerOp: 731540, BytesPerOp: 152839, AllocsOp: 3600},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseGoBench (-want +got):\n%s", diff)
	}
}

func TestHighestAccepted(t *testing.T) {
	for r, want := range map[int][2]string{0: {"2.0.9", "1.4.9"}, 1: {"2.0.0-rc.10", "1.5.9"}} {
		tags := burstTags(r)
		if len(tags) != burstVersions {
			t.Fatalf("burstTags(%d) has %d tags, want %d", r, len(tags), burstVersions)
		}
		if got := highestAccepted(t, burstEnvironments["dev"], tags); got != want[0] {
			t.Errorf("repository %d: dev's highest = %s, want %s", r, got, want[0])
		}
		if got := highestAccepted(t, burstEnvironments["staging"], tags); got != want[1] {
			t.Errorf("repository %d: staging's highest = %s, want %s", r, got, want[1])
		}
	}
}

func TestCompactOutcome(t *testing.T) {
	if got := compactOutcome("dev: deployed, production: skipped manual-environment"); got != "dev: deployed, production: skipped manual-environment" {
		t.Errorf("two environments: %q", got)
	}
	if got, want := compactOutcome("a: deployed, b: deployed, c: failed"), "2× deployed, 1× failed"; got != want {
		t.Errorf("compactOutcome = %q, want %q", got, want)
	}
}

func TestMarkdownOfAnEmptyReport(t *testing.T) {
	r := &report{Latency: 20 * time.Millisecond, Reps: 1, Command: "make bench", Skipped: []string{"everything"}}
	doc := r.markdown()
	for _, want := range []string{"# ecrdeploy benchmarks", "`make bench`", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "Not measured"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}

// sequential returns n calls of op, each taking 100 ms, one after another,
// and a measurement of them with a wall time a little over that.
func sequential(scenario string, n int, op string) measurement {
	var calls []awstest.Call
	for i := range n {
		calls = append(calls, call(op, i*100, (i+1)*100))
	}
	return measurement{Scenario: scenario, Calls: calls, Wall: time.Duration(n)*100*time.Millisecond + 5*time.Millisecond}
}

func TestMarkdownOfAReport(t *testing.T) {
	runs := func(scenario string, n int) []measurement {
		return []measurement{sequential(scenario, n, "DescribeServices"), sequential(scenario, n, "DescribeServices")}
	}
	r := &report{Latency: 100 * time.Millisecond, Reps: 2, Command: "make bench",
		Machine: machine{OS: "linux", Arch: "amd64", CPUs: 2, CPU: "AMD EPYC", Go: "go1.26", Moto: "5.2.1"},
		Single: singleResults{
			Cold: runs("push, cold config", 6), Warm: runs("push, warm config", 6), // one level too many
			Duplicate: sequential("duplicate event", 4, "BatchGetItem"), Unconfigured: measurement{Scenario: "ECS deployment completed, service no configuration names"},
		},
		Five:      runs("push to five environments, own families, warm config", 6),
		Reconcile: reconcileResults{Repositories: 10, Idle: sequential("reconcile, nothing to do", 20, "DescribeImages"), Behind: sequential("reconcile, behind", 26, "DescribeImages")},
	}
	doc := r.markdown()
	for _, want := range []string{
		"`make bench`", "Machine: linux/amd64, 2 CPUs", "`Proxy.SetCallTime`",
		"| a push to one environment from a cold process (a new function instance) in ≤ 6 sequential levels | 6 levels (all 2 runs) from the timeline; wall 6.05 L",
		"| yes from the timeline; yes by wall time |",
		"**push, single environment, warm config: missed by 1 level (6, at most 5).** The longest chain (6 calls): DescribeServices → ",
		"+0 on the warm push's 6",
		"| an ECS event for a service no configuration names costs ≤ 1 call once the configuration is warm | 0 calls | yes |",
		"## Cost per event", "| duplicate push (the same event again), warm config | 4 calls, none mutating | BatchGetItem 4 |  |  |",
		"| 20 for 10 repositories: 2.0 per repository | DescribeImages 20 |", "26 for 10 repositories: 2.6 per repository; +6 on nothing to do",
		"| push, single environment, warm config | 6 | 6 levels (all 2 runs) | 605.0 ms | 6.05 L | 6.05 L | 100.0 ms | ≤ 5 levels | **no**; **no** by wall |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}

// fleetReport is a report of section 6 alone: a fleet of repositories × 3
// in clusters reconciled with nothing to do (and with 50 behind), and a
// burst of 1,000 pushes over burstRepos repositories, all under AWS's
// buckets as documented.
func fleetReport(repositories, clusters, burstRepos int) *report {
	idle := fleetRun{Wall: 12500 * time.Millisecond, MaxServices: 10, MaxKeys: 100, Outcomes: map[string]int{"unchanged": repositories * 3},
		Calls: map[string]int{"DescribeImages": repositories, "DescribeServices": repositories*3/10 + 4, "BatchGetItem": repositories * 3 / 100,
			"GetParametersByPath": repositories/10 + 1},
		Throttled: map[string]int{"DescribeServices": 4}}
	behind := idle
	behind.Outcomes = map[string]int{"unchanged": repositories*3 - 150, "deployed": 150}
	return &report{Latency: 100 * time.Millisecond, Reps: 1, Command: "make bench",
		Fleet: &fleetResult{Shape: fleetShape{Repositories: repositories, Clusters: clusters, Behind: 50}, Scale: 1, Idle: idle, Behind: behind, BehindDeploys: 150},
		Throttled: &throttledBurst{Shape: throttledShape{Repositories: burstRepos, Lambda: deployerLambda(20, 1), Unrelated: 3, Every: 10 * time.Second},
			Buckets: scaleText(1), Events: 1000, Wall: 420 * time.Second, WallAll: 421 * time.Second,
			Calls:     map[string]int{"RegisterTaskDefinition": 1200, "UpdateItem": 2400, "TransactWriteItems": 520, "DescribeServices": 2000},
			Throttled: map[string]int{"RegisterTaskDefinition": 760}, Environments: 200, Outcomes: map[string]int{"deployed": 513},
			Needed: 203, BurstNeeded: 200, Registered: 440, Twice: []string{"burst-000-dev 3"}, Reservations: 440, Ahead: 20,
			Unrelated: []unrelatedPush{
				{Repository: "unrelated-00", At: 5 * time.Second, Lead: 10 * time.Second, Done: true, Queued: 2 * time.Second, SlotWait: 7 * time.Second},
				{Repository: "unrelated-01", At: 15 * time.Second, Lead: 50 * time.Second, Done: true, Queued: 30 * time.Second, SlotWait: 19 * time.Second},
				{Repository: "unrelated-02", At: 25 * time.Second, Lead: 40 * time.Second, Done: true, Queued: 20 * time.Second, SlotWait: 19 * time.Second},
			}},
	}
}

func TestMarkdownOfAFleetReport(t *testing.T) {
	doc := fleetReport(1000, 10, 100).markdown()
	for _, want := range []string{
		"| state read 100 records a call (BatchGetItem) | 30 BatchGetItem for 3000 records (at most 100 keys a call); 30 expected | yes |",
		"| a steady reconcile costs no more calls per repository than with the state in SSM (1.72 at 1000 × 3, 2026-12-01) | 1.44 per repository at 1000 × 3 (1435 attempts) | yes |",
		"**Beside the state in SSM.**",
		"| figure | SSM state (report of 2026-12-01) | DynamoDB state (this run) |",
		"| calls per steady reconcile per repository (nothing to do) | 1.72 (1716 attempts for 1000 × 3) | 1.44 (1435 attempts for 1000 × 3 in 10 clusters; ",
		"| reconcile of 1000 repositories × 3 environments with nothing to do: wall | 19.7 s (1000 × 3) | 12.5 s; 4 of 1435 attempts throttled (DescribeServices 4) |",
		"| burst of 1000 pushes over 100 repositories: wall | 509.6 s (1000 over 100, 4 instances) | 420.0 s (reserved concurrency 20; 421.0 s with the 3 unrelated pushes) |",
		"| the same: registrations (RegisterTaskDefinition answered, of its attempts) | 518 of 1395 | 440 of 1200 |",
		"| the same: attempts, throttled | 9326, 877 throttled | 6120, 760 throttled (RegisterTaskDefinition 760) |",
		"DynamoDB, the state table: what a new on-demand table serves, 12,000 read and 4,000 write request units a second",
		"| the same: wall time ≤ 1.2 × (registrations it needs ÷ 1 a second) | 421.0 s for 203 registrations needed (200 for the burst, 3 for the unrelated pushes, which share the pace): at most 243.6 s; the burst's own events were done after 420.0 s | **no** |",
		"**Burst wall time: missed by 177.4 s.**",
		"| the same: registrations ≤ 1 per environment per version it ends on, + the retries the bucket forces | 440 answered for 203 environments (twice or more: burst-000-dev 3); 1200 attempts, 760 of them throttled | **no** |",
		"| during that burst, a push to an unrelated repository: time until its service is updated (UpdateService answered), p95 over 3 pushes one every 10.0 s, ≤ 30.0 s | p95 50.0 s over 3 pushes (median 40.0 s, shortest 10.0 s, longest 50.0 s) | **no** |",
		"**Unrelated pushes during the burst: p95 50.0 s, goal 30.0 s.** Where the time went (medians over the pushes, section 6): 20.0 s queued for an instance",
		"| unrelated-01 | 15.0 s | 50.0 s | 30.0 s |",
		"Lambda's two retries of an asynchronous invocation",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "Not the same size") {
		t.Errorf("the full-size report says its figures are not comparable:\n%s", doc)
	}

	// An invocation that waited out another's claim was delivered again by
	// design; one that failed otherwise was not paced.
	r := fleetReport(1000, 10, 100)
	r.Throttled.Errors, r.Throttled.ClaimWaits, r.Throttled.Failures = 1, 1, []string{"environment dev: waited 20s for the environment: claimed"}
	doc = r.markdown()
	for _, want := range []string{
		"| the same: the deployer paces itself rather than burning retries (before: RegisterTaskDefinition 864 of 1376 attempts throttled) | RegisterTaskDefinition 760 of 1200 attempts throttled; all calls 760 of 6120 (12.4%: RegisterTaskDefinition 760); 0 invocations failed otherwise than waiting for a claim (1 did) | yes |",
		"**Invocations of the throttled burst that failed:** 1, 1 of them because another delivery held the environment's claim longer than the deployer waits for it, " +
			"so that the event is delivered again; the first: environment dev: waited 20s for the environment: claimed.",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	r.Throttled.Errors = 2
	if doc = r.markdown(); !strings.Contains(doc, "1 invocations failed otherwise than waiting for a claim (1 did) | **no** |") ||
		!strings.Contains(doc, "**Pacing:** 1 invocations of the throttled burst failed otherwise than waiting for a claim") {
		t.Errorf("an invocation failed for another reason than a claim, and the report does not say the deployer missed its pacing goal:\n%s", doc)
	}

	// A run at another size says which figures compare, and a steady
	// reconcile dearer than the SSM state's misses its goal.
	r = fleetReport(200, 2, 10)
	r.Fleet.Idle.Calls["GetItem"] = 400
	doc = r.markdown()
	for _, want := range []string{
		"Not the same size as the SSM figures: the fleet here is 200 × 3 in 2 clusters, buckets as AWS documents them; " +
			"the burst here is 1000 pushes over 10 repositories, buckets as AWS documents them. Calls per repository compare; wall times and totals do not.",
		"| a steady reconcile costs no more calls per repository than with the state in SSM (1.72 at 1000 × 3, 2026-12-01) | 3.46 per repository at 200 × 3 (691 attempts) | **no** |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}
