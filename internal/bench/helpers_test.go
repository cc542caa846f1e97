package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
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

func TestCriticalPath(t *testing.T) {
	m := measurement{Calls: warmLog, Wall: 190 * time.Millisecond}
	want := []string{"DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService", "PutParameter", "DescribeServices", "PutEvents"}
	if diff := cmp.Diff(want, ops(m.CriticalPath())); diff != "" {
		t.Errorf("CriticalPath (-want +got):\n%s", diff)
	}
	// 27+25+28+24+24+26+25 ms on the path, 7 × 20 ms of them latency.
	if got, want := m.Service(20*time.Millisecond), 39*time.Millisecond; got != want {
		t.Errorf("Service = %v, want %v", got, want)
	}
	if got := (measurement{}).Service(time.Millisecond); got != 0 {
		t.Errorf("Service of no calls = %v", got)
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
		with(call("GetParameters", 1, 2), `{"Names":["/ecrdeploy/state/web/dev"]}`),
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
	got := purposes(calls)
	for i, want := range []string{"configuration document", "state records of the 1", "observe", "family's latest", "re-check",
		"register the new revision of web-dev", "point web-dev at web-dev:4", "record the new state", "one version before ours",
		"verify after applying", "1× Deployment Skipped (manual-environment), 1× Deployment Started"} {
		if !strings.Contains(got[i], want) {
			t.Errorf("purpose of call %d (%s) = %q, want it to contain %q", i+1, calls[i].Operation, got[i], want)
		}
	}
	promote := purposes([]awstest.Call{
		with(call("GetParameter", 0, 1), `{"Name":"/ecrdeploy/state/hello-color/dev"}`),
		with(call("DescribeImages", 1, 2), `{"repositoryName":"hello-color","imageIds":[{"imageTag":"1.3.0"}]}`),
	})
	if !strings.Contains(promote[0], "source environment") || !strings.Contains(promote[1], "still names the recorded digest") {
		t.Errorf("purposes of a promote = %q", promote)
	}
	if plan := purposes([]awstest.Call{with(call("DescribeImages", 0, 1), `{"imageIds":[{"imageTag":"1.4.0"}]}`)}); !strings.Contains(plan[0], "resolve the tag 1.4.0") {
		t.Errorf("purpose of a plan's DescribeImages = %q", plan[0])
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
