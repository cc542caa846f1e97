package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// The rows published again after the early events are exactly those whose
// news changed: a write that failed, a delivery superseded by another, a
// rollout ECS failed during the convergence check; a row that says the same
// is not published twice.
func TestChangedRows(t *testing.T) {
	deployed := func(svc string) Row {
		return Row{Environment: "dev", Service: svc, Outcome: Deployed, TaskDefinition: svc + ":2", DeploymentID: "ecs-svc/1"}
	}
	before := []Row{deployed("a"), deployed("b"), deployed("c"), deployed("d")}
	final := []Row{deployed("a"), deployed("b"), deployed("c"), deployed("d")}
	final[1].Outcome, final[1].Error = Failed, "service runs b:2 but its state was not recorded: boom"
	final[2].Outcome, final[2].Reason, final[2].TaskDefinition, final[2].DeploymentID = Skipped, policy.OlderThanCurrent, "", ""
	final[3].Rollout = state.Failed
	want := []Row{final[1], final[2], final[3]}
	if diff := cmp.Diff(want, changedRows(before, final)); diff != "" {
		t.Errorf("changed rows (-want +got):\n%s", diff)
	}
	if got := changedRows(before, before); len(got) != 0 {
		t.Errorf("unchanged rows published again: %+v", got)
	}
	// An environment that handed over fewer rows than it ended with is
	// published whole.
	if got := changedRows(before[:1], final); len(got) != len(final) {
		t.Errorf("%d rows published for a changed row count, want all %d", len(got), len(final))
	}
}
