package announce

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

func TestDetailTypeOfHeldBackRows(t *testing.T) {
	tests := []struct {
		cause state.Cause
		row   deploy.Row
		want  string
	}{
		{state.CausePush, deploy.Row{Outcome: deploy.Skipped, Reason: policy.Frozen}, DetailTypeSkipped},
		{state.CauseReconcile, deploy.Row{Outcome: deploy.Skipped, Reason: policy.Frozen}, DetailTypeSkipped},
		{state.CauseReconcile, deploy.Row{Outcome: deploy.Skipped, Reason: policy.AwaitingReplica}, DetailTypeSkipped},
		{state.CauseRollback, deploy.Row{Outcome: deploy.Skipped, Reason: policy.Restoring}, DetailTypeSkipped},
		// Other skips of a reconcile stay quiet, as before.
		{state.CauseReconcile, deploy.Row{Outcome: deploy.Skipped, Reason: policy.Held}, ""},
		{state.CausePush, deploy.Row{Outcome: deploy.Skipped, Reason: policy.NotSemver}, ""},
	}
	for _, tt := range tests {
		if got := detailType(tt.cause, tt.row); got != tt.want {
			t.Errorf("detailType(%s, skipped %s) = %q, want %q", tt.cause, tt.row.Reason, got, tt.want)
		}
	}
}

// TestMetricsCountHeldBackRowsByReason: frozen, awaiting-replica and
// restoring rows are counted by reason as well as by outcome; other skips
// only by outcome.
func TestMetricsCountHeldBackRowsByReason(t *testing.T) {
	var buf bytes.Buffer
	a := &Announcer{Metrics: &buf}
	a.Measure(deploy.Result{Repository: "web", Results: []deploy.Row{
		{Environment: "production", Outcome: deploy.Skipped, Reason: policy.Frozen},
		{Environment: "eu", Outcome: deploy.Skipped, Reason: policy.AwaitingReplica},
		{Environment: "dev", Outcome: deploy.Skipped, Reason: policy.OutsideRange},
	}}, time.Second)
	type line struct {
		Reason string
		AWS    struct {
			CloudWatchMetrics []struct{ Dimensions [][]string }
		} `json:"_aws"`
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var one line
		if err := json.Unmarshal([]byte(l), &one); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, one)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"frozen", "awaiting-replica", ""} {
		byReason := false
		for _, d := range lines[i].AWS.CloudWatchMetrics[0].Dimensions {
			byReason = byReason || strings.Join(d, ",") == "Outcome,Reason"
		}
		if lines[i].Reason != want || byReason != (want != "") {
			t.Errorf("line %d: Reason %q, by reason %v; want %q", i, lines[i].Reason, byReason, want)
		}
	}
}

// A pause awaiting approval is announced as Deployment Awaiting Approval,
// its detail carrying the commands that answer it; an answered one is not,
// and a rejection (failed) is a Deployment Failed; neither is a metric.
func TestAwaitingApprovalEvent(t *testing.T) {
	expires := time.Date(2026, 12, 2, 9, 48, 0, 0, time.UTC)
	awaiting := deploy.Row{Environment: "production", Cluster: "apps", Service: "web", DeploymentID: "ecs-svc/1", Approval: &deploy.Approval{
		Stage: "post-test-traffic-shift", HookID: "ecs-pause-1", Expires: &expires,
		Approve: "ecrdeploy approve web --env production", Reject: "ecrdeploy reject web --env production --reason TEXT",
	}}
	approved := awaiting
	approved.Approval = &deploy.Approval{Stage: "post-test-traffic-shift", HookID: "ecs-pause-1", Decision: deploy.DecisionApproved}
	rejected := awaiting
	rejected.Approval, rejected.Rollout = &deploy.Approval{Stage: "post-test-traffic-shift", HookID: "ecs-pause-1", Decision: deploy.DecisionRejected, Reason: "error rate"}, state.Failed
	for _, tt := range []struct {
		row  deploy.Row
		want string
	}{{awaiting, DetailTypeAwaitingApproval}, {approved, ""}, {rejected, DetailTypeFailed}} {
		if got := detailType("", tt.row); got != tt.want {
			t.Errorf("detailType(%+v) = %q, want %q", tt.row.Approval, got, tt.want)
		}
	}
	evs := events(deploy.Result{Repository: "web", Version: "1.4.0", Results: []deploy.Row{awaiting}}, "ev-1")
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	b, err := json.Marshal(evs[0].detail)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"approve":"ecrdeploy approve web --env production"`, `"hookId":"ecs-pause-1"`, `"expires":"2026-12-02T09:48:00Z"`, `"version":"1.4.0"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("detail %s lacks %s", b, want)
		}
	}
	var buf bytes.Buffer
	(&Announcer{Metrics: &buf}).Measure(deploy.Result{Repository: "web", Results: []deploy.Row{awaiting, approved}}, 0)
	if buf.Len() != 0 {
		t.Errorf("metrics of approval rows: %s", buf.String())
	}
}
