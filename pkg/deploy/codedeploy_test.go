package deploy

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// What CodeDeploy says of a deployment is what the record learns of it:
// judgeCodeDeploy is a pure function of CodeDeploy's answer and the
// service's task sets.
func TestJudgeCodeDeploy(t *testing.T) {
	done := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	entry := codeDeployRecord(state.InProgress).Services["web"]
	// The service after CodeDeploy: on the replacement task set of d-2
	// (succeeded), or still on the original one of d-1 (rolled back).
	onNew := target.Service{TaskDefinition: "arn:web:2", Controller: "CODE_DEPLOY",
		TaskSets: []target.TaskSet{{ID: "ts2", Status: "PRIMARY", TaskDefinition: "arn:web:2", ExternalID: "d-2"}}}
	onOld := target.Service{TaskDefinition: "arn:web:1", Controller: "CODE_DEPLOY",
		TaskSets: []target.TaskSet{{ID: "ts1", Status: "PRIMARY", TaskDefinition: "arn:web:1", ExternalID: "d-1"}}}
	back := target.Deployment{ID: "d-1", Status: "PRIMARY", TaskDefinition: "arn:web:1", Rollout: state.Completed}
	failed := target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeployFailed, ErrorCode: "ECS_UPDATE_ERROR", ErrorMessage: "unhealthy", CompleteTime: done}
	tests := []struct {
		name  string
		entry state.Service
		svc   target.Service
		dep   target.CodeDeployDeployment
		err   error
		want  ecsView
	}{
		{"succeeded", entry, onNew, target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeploySucceeded, CompleteTime: done},
			nil, ecsView{rollout: state.Completed, at: done, running: "arn:web:2"}},
		{"created, not started", entry, onOld, target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeployCreated},
			nil, ecsView{rollout: state.InProgress, running: "arn:web:1"}},
		{"waiting for traffic to be rerouted", entry, onOld, target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeployReady},
			nil, ecsView{rollout: state.InProgress, running: "arn:web:1"}},
		{"failed and rolled back", entry, onOld, failed,
			nil, ecsView{rollout: state.Failed, reason: failed.Reason(), at: done, rolledBack: true, running: "arn:web:1", rollback: back}},
		{"failed, traffic still on it", entry, onNew, failed,
			nil, ecsView{rollout: state.Failed, reason: failed.Reason(), at: done, running: "arn:web:2"}},
		{"stopped by an alarm", entry, onOld, target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeployStopped, ErrorCode: "ALARM_ACTIVE", CompleteTime: done},
			nil, ecsView{rollout: state.Failed, reason: "CodeDeploy deployment d-2 stopped: ALARM_ACTIVE", at: done, rolledBack: true, running: "arn:web:1", rollback: back}},
		{"superseded by ecrdeploy's next deployment", entry, onOld, target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeployStopped, SupersededBy: "d-3"},
			nil, ecsView{replaced: true, running: "arn:web:1"}},
		{"CodeDeploy cannot be asked", entry, onOld, target.CodeDeployDeployment{},
			errors.New("throttled"), ecsView{unknown: true, running: "arn:web:1"}},
		{"CodeDeploy does not know it, the service runs it", entry, onNew, target.CodeDeployDeployment{},
			fmt.Errorf("get: %w", target.ErrCodeDeployDeploymentNotFound), ecsView{rollout: state.Completed, running: "arn:web:2"}},
		{"CodeDeploy does not know it, the service runs another", entry, onOld, target.CodeDeployDeployment{},
			fmt.Errorf("get: %w", target.ErrCodeDeployDeploymentNotFound), ecsView{replaced: true, running: "arn:web:1"}},
		{"completed: nothing asked", codeDeployRecord(state.Completed).Services["web"], onNew, target.CodeDeployDeployment{},
			nil, ecsView{running: "arn:web:2"}},
		{"failed, and rolled back since", codeDeployRecord(state.Failed).Services["web"], onOld, target.CodeDeployDeployment{},
			nil, ecsView{rollout: state.Failed, rolledBack: true, running: "arn:web:1", rollback: back}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeCodeDeploy(tt.entry, tt.svc, tt.dep, tt.err)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(ecsView{})); diff != "" {
				t.Errorf("judgeCodeDeploy (-want +got):\n%s", diff)
			}
		})
	}
}

// A CodeDeploy deployment that failed is held and the record goes back to
// what the original task set runs, as after a rollback of ECS's; one that
// was superseded changes nothing.
func TestRepairFromCodeDeploy(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	good := state.Deployment{Version: "1.3.0", Tag: "1.3.0", Digest: "sha256:old", TaskDefinitions: map[string]string{"web": "web:1"}}
	rec := *codeDeployRecord(state.InProgress)
	rec.Digest, rec.Good, rec.LastCompleted = "sha256:new", []state.Deployment{good}, "1.3.0"
	onOld := target.Service{TaskDefinition: "arn:web:1", Controller: "CODE_DEPLOY",
		TaskSets: []target.TaskSet{{ID: "ts1", Status: "PRIMARY", TaskDefinition: "arn:web:1", ExternalID: "d-1"}}}

	failed := target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeployFailed, ErrorMessage: "unhealthy", CompleteTime: now}
	got, changed := repairRecord(rec, map[string]ecsView{"web": judgeCodeDeploy(rec.Services["web"], onOld, failed, nil)}, now)
	if !changed || got.Version != "1.3.0" || !got.IsHeld("1.4.0") || got.Failed == nil || got.Failed.Version != "1.4.0" {
		t.Fatalf("after a failure: %+v, want 1.3.0 again with 1.4.0 held and failed", got)
	}
	want := state.Service{TaskDefinition: "arn:web:1", PreviousTaskDefinition: "arn:web:2", DeploymentID: "d-1", Controller: state.ControllerCodeDeploy, Rollout: state.Completed}
	if diff := cmp.Diff(want, got.Services["web"]); diff != "" {
		t.Errorf("the service's entry (-want +got):\n%s", diff)
	}

	superseded := target.CodeDeployDeployment{ID: "d-2", Status: target.CodeDeployStopped, SupersededBy: "d-3"}
	if got, changed := repairRecord(rec, map[string]ecsView{"web": judgeCodeDeploy(rec.Services["web"], onOld, superseded, nil)}, now); changed || len(got.Held) != 0 {
		t.Errorf("a superseded deployment changed the record: %+v", got)
	}
}

// A rollback of a deployment in progress knows, without asking, what the
// service goes back to: the revision the deployment replaced, on the task
// set of the deployment before it.
func TestStoppedView(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	entry := codeDeployRecord(state.InProgress).Services["web"]
	entry.ReplacedDeploymentID = "d-1"
	want := ecsView{
		rollout: state.Failed, reason: "CodeDeploy deployment d-2 stopped by a rollback", at: at, rolledBack: true, running: "arn:web:1",
		rollback: target.Deployment{ID: "d-1", Status: "PRIMARY", TaskDefinition: "arn:web:1", Rollout: state.Completed},
	}
	if diff := cmp.Diff(want, stoppedView(entry, at), cmp.AllowUnexported(ecsView{})); diff != "" {
		t.Errorf("stoppedView (-want +got):\n%s", diff)
	}
	if got := inFlightCodeDeploys(*codeDeployRecord(state.InProgress)); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("in flight: %v, want [web]", got)
	}
	if got := inFlightCodeDeploys(*codeDeployRecord(state.Completed)); len(got) != 0 {
		t.Errorf("in flight after it completed: %v", got)
	}
}

// The deployment groups found are kept for groupTTL, per service and what
// the environment names.
func TestGroupCache(t *testing.T) {
	var c groupCache
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	k := deploymentGroupKey{region: "us-east-1", cluster: "apps", service: "web"}
	g := target.CodeDeployGroup{Application: "apps", Name: "web-dg"}
	if _, ok := c.get(k, now); ok {
		t.Fatal("an empty cache has a group")
	}
	c.put(k, g, now.Add(groupTTL))
	if got, ok := c.get(k, now.Add(groupTTL-time.Second)); !ok || got != g {
		t.Errorf("get before the TTL = %v, %v", got, ok)
	}
	if _, ok := c.get(deploymentGroupKey{region: "us-east-1", cluster: "apps", service: "web", application: "other"}, now); ok {
		t.Error("a group found without a name is used for an environment that names another application")
	}
	if _, ok := c.get(k, now.Add(groupTTL)); ok {
		t.Error("a group is used after its TTL")
	}
	c.forget(k)
	if _, ok := c.get(k, now); ok {
		t.Error("a forgotten group is still used")
	}
}
