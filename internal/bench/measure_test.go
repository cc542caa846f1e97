package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// measurement is what the proxy saw of one delivery or request.
type measurement struct {
	Scenario string
	Outcome  string
	Calls    []awstest.Call // in arrival order
	Wall     time.Duration
}

// measure runs fn with a fresh call log and records its calls and wall time.
// It fails t when fn returns an error or its outcome does not contain want,
// so that no figure is reported for a run that did something else.
func (w *world) measure(t *testing.T, scenario, want string, fn func() (deploy.Result, error)) measurement {
	t.Helper()
	w.env.Proxy.Reset()
	start := time.Now()
	res, err := fn()
	wall := time.Since(start)
	m := measurement{Scenario: scenario, Outcome: outcomes(res), Calls: w.env.Proxy.Log(), Wall: wall}
	if err != nil {
		t.Fatalf("%s: %v (result %s)", scenario, err, m.Outcome)
	}
	if !strings.Contains(m.Outcome, want) {
		t.Fatalf("%s: outcome %q, want %q", scenario, m.Outcome, want)
	}
	return m
}

// Counts returns the number of calls by operation.
func (m measurement) Counts() map[string]int {
	c := map[string]int{}
	for _, call := range m.Calls {
		c[call.Operation]++
	}
	return c
}

// Chain is the longest chain of calls that waited on each other.
func (m measurement) Chain() []awstest.Call { return longestChain(m.Calls) }

// longestChain returns the longest sequence of calls whose [Start, End]
// intervals do not overlap, in order: each starts after the one before it
// has ended, so each had to wait for the one before (or for the code
// between them). Taking, among the calls that start after the chain's last
// end, the one that ends first gives the longest such sequence (the
// interval scheduling argument).
func longestChain(calls []awstest.Call) []awstest.Call {
	sorted := slices.Clone(calls)
	slices.SortStableFunc(sorted, func(a, b awstest.Call) int { return a.End.Compare(b.End) })
	var chain []awstest.Call
	var last time.Time
	for _, c := range sorted {
		if len(chain) == 0 || !c.Start.Before(last) {
			chain = append(chain, c)
			last = c.End
		}
	}
	return chain
}

// CriticalPath is the chain of calls the wall time waited on: walking back
// from the call that ended last, each time to the call that ended last
// before it started.
func (m measurement) CriticalPath() []awstest.Call { return criticalPath(m.Calls) }

func criticalPath(calls []awstest.Call) []awstest.Call {
	var path []awstest.Call
	var cur *awstest.Call
	for {
		var next *awstest.Call
		for i := range calls {
			c := &calls[i]
			if cur != nil && c.End.After(cur.Start) {
				continue
			}
			if next == nil || c.End.After(next.End) {
				next = c
			}
		}
		if next == nil {
			break
		}
		path = append(path, *next)
		cur = next
	}
	slices.Reverse(path)
	return path
}

// Service returns the time the calls on the critical path took beyond the
// injected latency l: moto's own time (and the proxy's), including waiting
// for moto to finish other requests.
func (m measurement) Service(l time.Duration) time.Duration {
	var d time.Duration
	for _, c := range m.CriticalPath() {
		d += max(c.End.Sub(c.Start)-l, 0)
	}
	return d
}

// median returns the measurement of median wall time (the lower middle one
// of an even number).
func median(ms []measurement) measurement {
	sorted := slices.Clone(ms)
	slices.SortStableFunc(sorted, func(a, b measurement) int { return int(a.Wall - b.Wall) })
	return sorted[(len(sorted)-1)/2]
}

// medianDuration returns the median of ds (the lower middle one of an even
// number).
func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[(len(sorted)-1)/2]
}

// apiRequest is the part of an API request body that says what a call was
// about. Every service ecrdeploy calls speaks JSON.
type apiRequest struct {
	Name           string   `json:"name"`  // SSM GetParameter, PutParameter
	Names          []string `json:"names"` // SSM GetParameters
	Path           string   `json:"path"`  // SSM GetParametersByPath
	Cluster        string   `json:"cluster"`
	Services       []string `json:"services"`
	Service        string   `json:"service"`
	TaskDefinition string   `json:"taskDefinition"`
	Family         string   `json:"family"`
	RepositoryName string   `json:"repositoryName"`
	ImageIDs       []struct {
		ImageTag    string `json:"imageTag"`
		ImageDigest string `json:"imageDigest"`
	} `json:"imageIds"`
	Entries []struct {
		DetailType string `json:"DetailType"`
		Detail     string `json:"Detail"`
	} `json:"Entries"`
}

// purposes names what each call (in arrival order) was for, from its
// operation, its request and the calls before it.
func purposes(calls []awstest.Call) []string {
	out := make([]string, len(calls))
	described := map[string]bool{}
	ecsSeen, sourceRead := false, false
	for i, c := range calls {
		var r apiRequest
		_ = json.Unmarshal(c.Request, &r)
		var p string
		switch c.Operation {
		case "GetParameter":
			switch {
			case strings.Contains(r.Name, "/config/"):
				p = "read the configuration document " + r.Name + " (not in the cache)"
			case strings.Contains(r.Name[strings.LastIndexByte(r.Name, '/')+1:], ":"):
				p = "verify: read the state record one version before ours (" + r.Name + "), another writer came in between"
			case !ecsSeen:
				p = "read the state record of the source environment (" + r.Name + ")"
				sourceRead = true
			default:
				p = "re-check the state record (" + r.Name + ") immediately before UpdateService, concurrently with the registration"
			}
		case "GetParameters":
			p = fmt.Sprintf("read the state records of the %d admitted environment(s) in one call, concurrently with the describes", len(r.Names))
		case "GetParametersByPath":
			p = "list every configuration document under " + r.Path
		case "DescribeServices":
			ecsSeen = true
			key := r.Cluster + "/" + strings.Join(r.Services, ",")
			if described[key] {
				p = "verify after applying: the service runs what the state record says (" + strings.Join(r.Services, ", ") + ")"
			} else {
				p = "observe: which revision " + strings.Join(r.Services, ", ") + " runs"
				if !slices.ContainsFunc(calls[i:], func(c awstest.Call) bool { return c.Operation == "DescribeTaskDefinition" }) {
					p += " (made concurrently with the state read, which then decided the skip: its answer went unused)"
				}
			}
			described[key] = true
		case "DescribeTaskDefinition":
			ecsSeen = true
			if strings.Contains(r.TaskDefinition, ":") {
				p = "read the revision the service runs (" + shortTD(r.TaskDefinition) + "), not the family's latest"
			} else {
				p = "read the family's latest revision (" + r.TaskDefinition + "), the one the service runs, to render from"
			}
		case "RegisterTaskDefinition":
			p = "register the new revision of " + r.Family
		case "UpdateService":
			p = "point " + r.Service + " at " + shortTD(r.TaskDefinition)
		case "PutParameter":
			p = "record the new state (" + r.Name + ")"
		case "PutEvents":
			kinds := map[string]int{}
			for _, e := range r.Entries {
				var d struct {
					Environment string `json:"environment"`
					Reason      string `json:"reason"`
				}
				_ = json.Unmarshal([]byte(e.Detail), &d)
				k := e.DetailType
				if d.Reason != "" {
					k += " (" + d.Reason + ")"
				}
				kinds[k]++
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(kinds)) {
				parts = append(parts, fmt.Sprintf("%d× %s", kinds[k], k))
			}
			p = "publish the result events, one call for up to ten: " + strings.Join(parts, ", ")
		case "DescribeImages":
			ref := ""
			if len(r.ImageIDs) > 0 {
				ref = r.ImageIDs[0].ImageTag + r.ImageIDs[0].ImageDigest
			}
			if sourceRead {
				p = "check that the source's tag " + ref + " still names the recorded digest (else deploy by digest)"
			} else {
				p = "resolve the tag " + ref + " to its digest in ECR"
			}
		default:
			p = "(unexpected)"
		}
		out[i] = p
	}
	return out
}

// shortTD returns family:revision of a task definition ARN.
func shortTD(ref string) string {
	if i := strings.LastIndex(ref, ":task-definition/"); i >= 0 {
		return ref[i+len(":task-definition/"):]
	}
	return ref
}
