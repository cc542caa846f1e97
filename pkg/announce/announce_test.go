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
