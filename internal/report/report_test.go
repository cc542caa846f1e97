package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	tdARN   = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
	digest1 = "sha256:4b7a5b1c9f0e3d2a6c8b7e1f0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d"
	digest2 = "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"
	image1  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.4.0"
)

// pushResult is what a push to three environments could give: one deployed,
// one skipped, one failed, one unchanged.
func pushResult() deploy.Result {
	return deploy.Result{
		Repository: "hello-color", Tag: "1.4.0", Version: "1.4.0", Digest: digest1, Cause: state.CausePush,
		Results: []deploy.Row{
			{Environment: "dev", Cluster: "apps-dev", Service: "hello-color-dev", Outcome: deploy.Deployed, Image: image1,
				PreviousTaskDefinition: tdARN + "hello-color-dev:4", TaskDefinition: tdARN + "hello-color-dev:5", DeploymentID: "ecs-svc/1234567890123456789"},
			{Environment: "dev", Cluster: "apps-dev", Service: "hello-color-worker", Outcome: deploy.Unchanged, Image: image1,
				TaskDefinition: tdARN + "hello-color-worker:12"},
			{Environment: "production", Cluster: "apps-prod", Service: "hello-color", Outcome: deploy.Skipped, Reason: policy.ManualEnvironment},
			{Environment: "qa", Cluster: "apps-qa", Service: "gone", Outcome: deploy.Failed,
				Error: "service gone in cluster apps-qa: service not found"},
		},
	}
}

// waitResult is a promote that waited: one rollout completed, one failed.
func waitResult() deploy.Result {
	return deploy.Result{
		Repository: "hello-color", Tag: "release-1.4.0", Version: "1.4.0", Digest: digest1, Cause: state.CausePromote,
		Results: []deploy.Row{
			{Environment: "production", Cluster: "apps-prod", Service: "hello-color", Outcome: deploy.Deployed, Rollout: state.Completed,
				PreviousTaskDefinition: tdARN + "hello-color:7", TaskDefinition: tdARN + "hello-color:8", DeploymentID: "ecs-svc/1"},
			{Environment: "production", Cluster: "apps-prod", Service: "hello-color-admin", Outcome: deploy.Deployed, Rollout: state.Failed,
				PreviousTaskDefinition: tdARN + "hello-color-admin:3", TaskDefinition: tdARN + "hello-color-admin:4", DeploymentID: "ecs-svc/2"},
		},
	}
}

// planResult is a plan with a diff for one environment.
func planResult(t *testing.T) deploy.Result {
	diff, err := os.ReadFile("../../pkg/taskdef/testdata/fargate-web.diff.golden")
	if err != nil {
		t.Fatal(err)
	}
	return deploy.Result{
		Repository: "hello-color", Tag: "1.4.0", Digest: digest1, Cause: state.CausePlan,
		Results: []deploy.Row{
			{Environment: "dev", Cluster: "apps-dev", Service: "hello-color-dev", Outcome: deploy.Unchanged,
				TaskDefinition: tdARN + "hello-color-dev:5"},
			{Environment: "staging", Cluster: "apps-staging", Service: "hello-color-staging", Outcome: deploy.Planned, Image: image1,
				PreviousTaskDefinition: tdARN + "hello-color-staging:9", Diff: string(diff), Update: "desiredCount 2 (now 1), circuit breaker with rollback true"},
			{Environment: "production", Cluster: "apps-prod", Service: "hello-color", Outcome: deploy.Skipped, Reason: policy.OutsideRange},
		},
	}
}

// historyResult is the audit log of a rollback ECS made and one a person
// made.
func historyResult() deploy.Result {
	at := time.Date(2026, 11, 27, 9, 31, 12, 0, time.UTC)
	return deploy.Result{Repository: "hello-color", History: []deploy.HistoryEntry{
		{Environment: "staging", Version: "1.3.2", Tag: "v1.3.2", Digest: digest2, Trigger: state.CauseRollback, EventID: "req-7f3a",
			Rollout: state.InProgress, Held: []string{"1.4.0"}, Time: at.Add(2 * time.Hour), Change: 6},
		{Environment: "staging", Version: "1.4.0", Digest: digest1, Trigger: state.CausePush, EventID: "ev-1.4.0",
			Rollout: state.Completed, Time: at.Add(time.Hour), Change: 5},
		{Environment: "dev", Version: "1.3.2", Digest: digest2, Trigger: state.CauseECS,
			Rollout: state.Completed, Held: []string{"1.4.0"}, Time: at, Change: 3},
	}}
}

// statusResult is a status with a held version, an environment never
// deployed and one with two services.
func statusResult() deploy.Result {
	at := time.Date(2026, 11, 27, 9, 31, 12, 0, time.FixedZone("CET", 3600))
	at2 := time.Date(2026, 11, 20, 16, 2, 0, 0, time.UTC)
	return deploy.Result{
		Repository: "hello-color", Results: []deploy.Row{},
		Environments: []deploy.EnvironmentStatus{
			{Environment: "dev", Cluster: "apps-dev", Trigger: "push", Version: "1.4.0", Tag: "1.4.0", Digest: digest1, Image: image1,
				Rollout: "completed", DeployedBy: "push", DeployedAt: &at,
				Services: []deploy.ServiceStatus{
					{Service: "hello-color-dev", TaskDefinition: tdARN + "hello-color-dev:5", Rollout: "completed"},
					{Service: "hello-color-worker", TaskDefinition: tdARN + "hello-color-worker:12", Rollout: "completed"},
				}},
			{Environment: "production", Cluster: "apps-prod", Trigger: "manual", Version: "1.3.2", Tag: "v1.3.2", Digest: digest2,
				Rollout: state.Completed, Held: []string{"1.4.0", "1.3.3"}, DeployedBy: "rollback", DeployedAt: &at2,
				Failed:   &state.Failure{Version: "1.4.0", Reason: "ECS deployment circuit breaker: tasks failed to start."},
				Services: []deploy.ServiceStatus{{Service: "hello-color", TaskDefinition: tdARN + "hello-color:7", Rollout: "completed"}}},
			{Environment: "qa", Cluster: "apps-qa", Trigger: "push", Services: []deploy.ServiceStatus{{Service: "hello-color-qa"}}},
			{Environment: "staging", Cluster: "apps-staging", Trigger: "push", Version: "1.4.0", Tag: "release-1.4.0", Digest: digest1,
				Rollout: state.InProgress, DeployedBy: "deploy", DeployedAt: &at,
				Services: []deploy.ServiceStatus{{Service: "hello-color-staging", TaskDefinition: tdARN + "hello-color-staging:10", Rollout: "in-progress",
					Running: tdARN + "hello-color-staging:9", Drift: true}}},
		},
	}
}

// rolloutsResult is a status of deployments of the blue-green family: a
// canary baking its share, and a production deployment paused for
// approval.
func rolloutsResult() deploy.Result {
	at := time.Date(2026, 12, 1, 9, 48, 0, 0, time.UTC)
	expires := at.Add(24 * time.Hour)
	ten, zero := 10.0, 0.0
	return deploy.Result{
		Repository: "hello-color", Results: []deploy.Row{},
		Environments: []deploy.EnvironmentStatus{
			{Environment: "staging", Cluster: "apps", Trigger: "push", Version: "1.4.0", Digest: digest1, Rollout: state.InProgress, DeployedBy: "push", DeployedAt: &at,
				Services: []deploy.ServiceStatus{{Service: "hello-color-staging", TaskDefinition: tdARN + "hello-color-staging:10", Rollout: "in-progress",
					Stage: "canary 10 %, baking, 12 of 15 min", ProductionTraffic: &ten}}},
			{Environment: "production", Cluster: "apps", Trigger: "manual", Version: "1.4.0", Digest: digest1, Rollout: state.InProgress, DeployedBy: "promote", DeployedAt: &at,
				Services: []deploy.ServiceStatus{{Service: "hello-color-prod", TaskDefinition: tdARN + "hello-color-prod:8", Rollout: "in-progress",
					Stage: "canary 0 %, awaiting approval at post-test-traffic-shift until 2026-12-02 09:48 UTC", ProductionTraffic: &zero}},
				Approval: &deploy.Approval{Stage: "post-test-traffic-shift", HookID: "ecs-pause-1", Expires: &expires,
					Approve: "ecrdeploy approve hello-color --env production", Reject: "ecrdeploy reject hello-color --env production --reason TEXT"}},
		},
	}
}

// approvalResults are the answers of a wait until test traffic, an
// approval, a rejection and a rollback that stopped a deployment.
func approvalResults() deploy.Result {
	return deploy.Result{
		Repository: "hello-color", Version: "1.4.0", Digest: digest1,
		Results: []deploy.Row{
			{Environment: "production", Cluster: "apps", Service: "hello-color-prod", Outcome: deploy.Deployed, Rollout: state.InProgress, Reached: "test-traffic",
				Stage: "canary 0 %, test traffic on the new revision", PreviousTaskDefinition: tdARN + "hello-color-prod:7", TaskDefinition: tdARN + "hello-color-prod:8"},
			{Environment: "production", Cluster: "apps", Service: "hello-color-prod", DeploymentID: "ecs-svc/1",
				Approval: &deploy.Approval{Stage: "post-test-traffic-shift", HookID: "ecs-pause-1", Decision: deploy.DecisionApproved}},
			{Environment: "staging", Cluster: "apps", Service: "hello-color-staging", DeploymentID: "ecs-svc/2", Rollout: state.Failed,
				Approval: &deploy.Approval{Stage: "post-test-traffic-shift", HookID: "ecs-pause-2", Decision: deploy.DecisionRejected, Reason: "error rate"}},
			{Environment: "dev", Cluster: "apps", Service: "hello-color-dev", DeploymentID: "ecs-svc/3", Rollout: state.Failed,
				Detail: "stopped service deployment arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/hello-color-dev/x (StopServiceDeployment, ROLLBACK): ECS rolls the service back to its last successful revision; 1.4.0 is held"},
		},
	}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestTablesGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		color  bool
		status bool
		result func(*testing.T) deploy.Result
		write  func(*Tables, deploy.Result) // default: Results, or Status with status
	}{
		{"push", "push.golden", false, false, func(*testing.T) deploy.Result { return pushResult() }, nil},
		{"push in colour", "push.color.golden", true, false, func(*testing.T) deploy.Result { return pushResult() }, nil},
		{"waited", "wait.golden", false, false, func(*testing.T) deploy.Result { return waitResult() }, nil},
		{"waited in colour", "wait.color.golden", true, false, func(*testing.T) deploy.Result { return waitResult() }, nil},
		{"plan", "plan.golden", false, false, planResult, nil},
		{"status", "status.golden", false, true, func(*testing.T) deploy.Result { return statusResult() }, nil},
		{"status in colour", "status.color.golden", true, true, func(*testing.T) deploy.Result { return statusResult() }, nil},
		{"history", "history.golden", false, false, func(*testing.T) deploy.Result { return historyResult() }, (*Tables).History},
		{"history in colour", "history.color.golden", true, false, func(*testing.T) deploy.Result { return historyResult() }, (*Tables).History},
		{"status of rollouts", "status-rollouts.golden", false, true, func(*testing.T) deploy.Result { return rolloutsResult() }, nil},
		{"status of rollouts in colour", "status-rollouts.color.golden", true, true, func(*testing.T) deploy.Result { return rolloutsResult() }, nil},
		{"approvals", "approvals.golden", false, false, func(*testing.T) deploy.Result { return approvalResults() }, nil},
		{"no history", "history-empty.golden", false, false, func(*testing.T) deploy.Result { return deploy.Result{Repository: "hello-color"} }, (*Tables).History},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tb := &Tables{W: &buf, Color: tt.color}
			if tt.write != nil {
				tt.write(tb, tt.result(t))
			} else if tt.status {
				tb.Status(tt.result(t))
			} else {
				tb.Results(tt.result(t))
			}
			checkGolden(t, tt.golden, buf.Bytes())
			if !tt.color && bytes.Contains(buf.Bytes(), []byte("\x1b[")) {
				t.Error("escape sequences in output without colour")
			}
			for i, line := range strings.Split(buf.String(), "\n") {
				if strings.TrimRight(line, " ") != line {
					t.Errorf("line %d has trailing spaces: %q", i+1, line)
				}
			}
		})
	}
}

// TestColoredColumnsAlign checks that colour does not move the columns:
// without the escape sequences, coloured output is the plain output.
func TestColoredColumnsAlign(t *testing.T) {
	for name, res := range map[string]deploy.Result{"push": pushResult(), "wait": waitResult(), "status": statusResult(), "status rollouts": rolloutsResult(), "approvals": approvalResults()} {
		t.Run(name, func(t *testing.T) {
			var plain, colored bytes.Buffer
			write := func(tb *Tables) {
				if strings.HasPrefix(name, "status") {
					tb.Status(res)
				} else {
					tb.Results(res)
				}
			}
			write(&Tables{W: &plain})
			write(&Tables{W: &colored, Color: true})
			if diff := cmp.Diff(plain.String(), stripANSI(colored.String())); diff != "" {
				t.Errorf("coloured output without escapes differs (-plain +colored):\n%s", diff)
			}
		})
	}
}

// stripANSI removes SGR escape sequences.
func stripANSI(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return b.String() + s
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], 'm')
		s = s[i+j+1:]
	}
}

func TestShortForms(t *testing.T) {
	tests := []struct {
		f        func(string) string
		in, want string
	}{
		{ShortDigest, digest1, "sha256:4b7a5b1c9f0e"},
		{ShortDigest, "sha256:abc", "sha256:abc"},
		{ShortDigest, "", ""},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("short(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
