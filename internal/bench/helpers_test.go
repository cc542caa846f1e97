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

// warmLog is the shape of a warm single-environment deployment: two pairs
// of concurrent calls, five calls one after the other.
var warmLog = []awstest.Call{
	call("GetParameters", 0, 24), call("DescribeServices", 0, 27),
	call("DescribeTaskDefinition", 28, 53),
	call("GetParameter", 54, 79), call("RegisterTaskDefinition", 55, 83),
	call("UpdateService", 84, 108), call("PutParameter", 109, 133), call("DescribeServices", 134, 160), call("PutEvents", 161, 186),
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
		{"warm deployment", warmLog, []string{"GetParameters", "DescribeTaskDefinition", "GetParameter", "UpdateService", "PutParameter", "DescribeServices", "PutEvents"}},
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
	m := measurement{Calls: warmLog, Wall: 190 * time.Millisecond}
	if got := m.Levels(); got != 7 {
		t.Errorf("Levels = %d, want 7", got)
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
	if lo, hi := levelRange([]measurement{m, two, m}); lo != 2 || hi != 7 {
		t.Errorf("levelRange = %d, %d, want 2, 7", lo, hi)
	}
	if got, want := levelsText([]measurement{two, two}), "2 levels (all 2 runs)"; got != want {
		t.Errorf("levelsText = %q, want %q", got, want)
	}
	if got := levelsText([]measurement{two, m, m}); !strings.HasPrefix(got, "2–7 levels over 3 runs (median run") {
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
	m := measurement{Calls: []awstest.Call{call("PutEvents", 0, 1), call("Zeta", 0, 1), call("GetParameter", 0, 1), call("GetParameter", 1, 2),
		call("GetParametersByPath", 0, 1), call("Alpha", 0, 1)}}
	if got, want := opsText(m), "GetParametersByPath 1, GetParameter 2, PutEvents 1, Alpha 1, Zeta 1"; got != want {
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

func TestPurposes(t *testing.T) {
	with := func(c awstest.Call, body string) awstest.Call { c.Request = []byte(body); return c }
	calls := []awstest.Call{
		with(call("GetParameter", 0, 1), `{"Name":"/ecrdeploy/config/web","WithDecryption":true}`),
		with(call("GetCallerIdentity", 0, 1), ``),
		with(call("GetParameters", 1, 2), `{"Names":["/ecrdeploy/state/web/dev"]}`),
		with(call("DescribeImages", 1, 2), `{"repositoryName":"web","imageIds":[{"imageTag":"1.2.0"}]}`),
		with(call("DescribeServices", 1, 2), `{"cluster":"apps","services":["web-dev"]}`),
		with(call("DescribeTaskDefinition", 2, 3), `{"taskDefinition":"web-dev","include":["TAGS"]}`),
		with(call("GetParameter", 3, 4), `{"Name":"/ecrdeploy/state/web/dev"}`),
		with(call("RegisterTaskDefinition", 3, 4), `{"family":"web-dev"}`),
		with(call("UpdateService", 4, 5), `{"cluster":"apps","service":"web-dev","taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/web-dev:4"}`),
		with(call("PutParameter", 5, 6), `{"Name":"/ecrdeploy/state/web/dev"}`),
		with(call("GetParameter", 6, 7), `{"Name":"/ecrdeploy/state/web/dev:6"}`),
		with(call("DescribeServices", 7, 8), `{"cluster":"apps","services":["web-dev"]}`),
		with(call("PutEvents", 8, 9), `{"Entries":[{"DetailType":"Deployment Started","Detail":"{}"},{"DetailType":"Deployment Skipped","Detail":"{\"reason\":\"manual-environment\"}"}]}`),
	}
	got := purposes(calls, pushCalls)
	for i, want := range []string{"configuration document", "own account", "state records of the 1", "tag 1.2.0 still names the pushed digest", "observe", "family's latest", "re-check",
		"register the new revision of web-dev", "point web-dev at web-dev:4", "record the new state", "one version before ours",
		"verify after applying", "1× Deployment Skipped (manual-environment), 1× Deployment Started"} {
		if !strings.Contains(got[i], want) {
			t.Errorf("purpose of call %d (%s) = %q, want it to contain %q", i+1, calls[i].Operation, got[i], want)
		}
	}
	promote := purposes([]awstest.Call{
		with(call("GetParameter", 0, 1), `{"Name":"/ecrdeploy/state/hello-color/dev"}`),
		with(call("DescribeImages", 1, 2), `{"repositoryName":"hello-color","imageIds":[{"imageDigest":"sha256:46577cd0aab6c75fb7263c7df79c33ee"}]}`),
		with(call("DescribeImages", 2, 3), `{"repositoryName":"hello-color","imageIds":[{"imageTag":"1.3.0"}]}`),
	}, manualCalls)
	if !strings.Contains(promote[0], "source environment") || !strings.Contains(promote[1], "recorded digest sha256:46577cd0aab6… up in ECR") ||
		!strings.Contains(promote[2], "still names the recorded digest") {
		t.Errorf("purposes of a promote = %q", promote)
	}
	if plan := purposes([]awstest.Call{with(call("DescribeImages", 0, 1), `{"imageIds":[{"imageTag":"1.4.0"}]}`)}, manualCalls); !strings.Contains(plan[0], "resolve the tag 1.4.0") {
		t.Errorf("purpose of a plan's DescribeImages = %q", plan[0])
	}
	rollout := purposes([]awstest.Call{
		with(call("GetParameter", 0, 1), `{"Name":"/ecrdeploy/state/web/dev"}`),
		with(call("PutParameter", 1, 2), `{"Name":"/ecrdeploy/state/web/dev"}`),
	}, rolloutCalls)
	if !strings.Contains(rollout[0], "whose service it is") || !strings.Contains(rollout[1], "record the rollout") {
		t.Errorf("purposes of an ECS event = %q", rollout)
	}
	reconcile := purposes([]awstest.Call{
		with(call("GetParametersByPath", 0, 1), `{"Path":"/ecrdeploy/config","Recursive":true}`),
		with(call("DescribeImages", 1, 2), `{"repositoryName":"svc-00","filter":{"tagStatus":"TAGGED"}}`),
	}, reconcileCalls)
	if !strings.Contains(reconcile[0], "every configuration document") || !strings.Contains(reconcile[1], "tagged images of svc-00") {
		t.Errorf("purposes of a reconcile = %q", reconcile)
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
			Duplicate: sequential("duplicate event", 4, "GetParameters"), Unconfigured: measurement{Scenario: "ECS deployment completed, service no configuration names"},
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
		"## Cost per event", "| duplicate push (the same event again), warm config | 4 calls, none mutating | GetParameters 4 |  |  |",
		"| 20 for 10 repositories: 2.0 per repository | DescribeImages 20 |", "26 for 10 repositories: 2.6 per repository; +6 on nothing to do",
		"| push, single environment, warm config | 6 | 6 levels (all 2 runs) | 605.0 ms | 6.05 L | 6.05 L | 100.0 ms | ≤ 5 levels | **no**; **no** by wall |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}
