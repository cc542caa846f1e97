package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
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

// Levels is the number of calls that waited on each other: the length of
// the longest chain. With every call taking the same time L
// (Proxy.SetCallTime), the calls of one level overlap and the chain counts
// the levels.
func (m measurement) Levels() int { return len(m.Chain()) }

// LongestCall returns the duration of the longest call: more than L when
// moto took longer than L over a call, which then delayed the calls after
// it beyond the level's L.
func (m measurement) LongestCall() time.Duration {
	var d time.Duration
	for _, c := range m.Calls {
		d = max(d, c.End.Sub(c.Start))
	}
	return d
}

// levelRange returns the fewest and the most levels over the runs.
func levelRange(ms []measurement) (lo, hi int) {
	for i, m := range ms {
		n := m.Levels()
		if i == 0 {
			lo, hi = n, n
		}
		lo, hi = min(lo, n), max(hi, n)
	}
	return lo, hi
}

// within reports whether a wall time proves at most levels calls waited on
// each other: with every call taking at least l, levels+1 calls in sequence
// take at least (levels+1)·l, whatever ecrdeploy does between them.
func within(wall, l time.Duration, levels int) bool {
	return wall < time.Duration(levels+1)*l
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
	Name           string   `json:"name"`  // SSM GetParameter, GetParameterHistory
	Names          []string `json:"names"` // SSM GetParameters (records of an earlier release)
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

	// The state table (DynamoDB): the item of GetItem, UpdateItem and
	// Query, the keys of BatchGetItem, the items of TransactWriteItems.
	Key                       itemKey                             `json:"Key"`
	UpdateExpression          string                              `json:"UpdateExpression"`
	ExpressionAttributeValues map[string]attributeValue           `json:"ExpressionAttributeValues"`
	RequestItems              map[string]struct{ Keys []itemKey } `json:"RequestItems"`
	TransactItems             []struct {
		Update *struct {
			Key                       itemKey                   `json:"Key"`
			UpdateExpression          string                    `json:"UpdateExpression"`
			ExpressionAttributeValues map[string]attributeValue `json:"ExpressionAttributeValues"`
		} `json:"Update"`
	} `json:"TransactItems"`
}

// attributeValue is a DynamoDB attribute value of a string or a number.
type attributeValue struct {
	S string `json:"S"`
	N string `json:"N"`
}

// itemKey is the key of an item of the state table: the repository (pk)
// and, for an environment's current record, record#{environment} (sk).
type itemKey map[string]attributeValue

// String names the environment of a current-record item,
// "repository/environment".
func (k itemKey) String() string {
	return k["pk"].S + "/" + strings.TrimPrefix(k["sk"].S, "record#")
}

// stateKeys returns the keys a BatchGetItem reads, in all its tables.
func (r apiRequest) stateKeys() []itemKey {
	var keys []itemKey
	for _, t := range r.RequestItems {
		keys = append(keys, t.Keys...)
	}
	return keys
}

// callKind is what made a measurement's calls, for naming their purposes.
type callKind int

const (
	pushCalls      callKind = iota // an ECR push event
	manualCalls                    // a promote or a plan
	rolloutCalls                   // an ECS deployment state change
	reconcileCalls                 // the reconcile schedule
)

// kindOf returns what made the calls of a scenario, from its name.
func kindOf(scenario string) callKind {
	switch {
	case strings.HasPrefix(scenario, "ECS"):
		return rolloutCalls
	case strings.HasPrefix(scenario, "promote"), strings.HasPrefix(scenario, "plan"), strings.HasPrefix(scenario, "rollback"):
		return manualCalls
	case strings.HasPrefix(scenario, "reconcile"):
		return reconcileCalls
	}
	return pushCalls
}

// purposes names what each call (in arrival order) was for, from its
// operation, its request, the calls before it and what made them.
func purposes(calls []awstest.Call, kind callKind) []string {
	out := make([]string, len(calls))
	described := map[string]bool{}
	ecsSeen, sourceRead := false, false
	for i, c := range calls {
		var r apiRequest
		_ = json.Unmarshal(c.Request, &r)
		var p string
		switch c.Operation {
		case "GetParameter":
			p = "read " + r.Name
			if strings.Contains(r.Name, "/config/") {
				p = "read the configuration document " + r.Name + " (not in the cache)"
			}
		case "GetParametersByPath":
			p = "list every configuration document under " + r.Path
			if strings.HasSuffix(r.Path, "/state") {
				p = "look for state records of an earlier release under " + r.Path + " (once per instance, when a record is first missing from the table)"
			}
		case "GetParameters":
			p = fmt.Sprintf("look up %s of an earlier release in SSM, to import (ten a call)", plural(len(r.Names), "missing record"))
		case "GetParameterHistory":
			p = "read the history of the earlier release's record " + r.Name + ", to import it"
		case "GetItem":
			switch {
			case kind == rolloutCalls:
				p = "read the state record of the environment whose service it is (" + r.Key.String() + "): does it name this deployment?"
			case kind == manualCalls && !ecsSeen:
				p = "read the state record of the source environment (" + r.Key.String() + ")"
				sourceRead = true
			default:
				p = "read the state record of " + r.Key.String()
			}
		case "BatchGetItem":
			n := len(r.stateKeys())
			p = fmt.Sprintf("read the state records of %s in one call (up to %d a call)", plural(n, "environment"), state.BatchGetLimit)
			if kind == reconcileCalls {
				p = fmt.Sprintf("read the state records of %s of the repositories listed, %d a call", plural(n, "environment"), state.BatchGetLimit)
			}
		case "Query":
			p = "read the changes of " + r.Key.String() + ", newest first"
		case "UpdateItem":
			switch {
			case c.Claim() && strings.HasPrefix(r.UpdateExpression, "REMOVE"):
				p = "release the claim on " + r.Key.String() + ": the delivery records nothing there"
			case c.Claim():
				p = "claim " + r.Key.String() + " for this delivery (a conditional write that expires), reading its state record in the same call"
			case bytes.Contains(c.Request, []byte(`"#pace"`)):
				p = "reserve the registration's slot of the pace every instance shares (a conditional write), beside the describes that plan it"
			default:
				p = "update the state item of " + r.Key.String()
			}
		case "TransactWriteItems":
			p = "write a state record"
			if len(r.TransactItems) > 0 && r.TransactItems[0].Update != nil {
				u := r.TransactItems[0].Update
				what := "record the new state of "
				if kind == rolloutCalls {
					what = "record the rollout in the state of "
				}
				p = what + u.Key.String() + " as revision " + u.ExpressionAttributeValues[":next"].N + " with its change item"
				if strings.Contains(u.UpdateExpression, "REMOVE") {
					p += ", releasing the claim,"
				}
				p += " in one transaction, conditional on the revision read"
			}
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
		case "GetCallerIdentity":
			p = "learn the function's own account (once per instance), concurrently with the first reads"
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
			switch {
			case len(r.ImageIDs) == 0 && kind == pushCalls:
				p = "list the tagged images of " + r.RepositoryName + ": check that the pushed tag still names the pushed digest (else the push is stale) " +
					"and learn the highest version ECR has (an older push is superseded), concurrently with the reads"
			case len(r.ImageIDs) == 0:
				p = "list the tagged images of " + r.RepositoryName
			case r.ImageIDs[0].ImageTag == "":
				p = "look the recorded digest " + shortDigest(r.ImageIDs[0].ImageDigest) + " up in ECR: the image still exists"
			case sourceRead:
				p = "check that the source's tag " + ref + " still names the recorded digest (else deploy by digest)"
			case kind == pushCalls:
				p = "check that the tag " + ref + " still names the pushed digest in ECR (else the push is stale), concurrently with the reads"
			default:
				p = "resolve the tag " + ref + " to its digest in ECR"
			}
		default:
			p = "(unexpected)"
		}
		out[i] = p
	}
	return out
}

// shortDigest returns a digest cut to its algorithm and first 12 hex digits.
func shortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12] + "…"
	}
	return d
}

// shortTD returns family:revision of a task definition ARN.
func shortTD(ref string) string {
	if i := strings.LastIndex(ref, ":task-definition/"); i >= 0 {
		return ref[i+len(":task-definition/"):]
	}
	return ref
}
