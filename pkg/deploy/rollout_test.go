package deploy

import (
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

var (
	t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
	t2 = t0.Add(2 * time.Minute)
)

func inProgress(id, td, prev string) state.Service {
	return state.Service{Cluster: "c", TaskDefinition: td, PreviousTaskDefinition: prev, DeploymentID: id, Rollout: state.InProgress}
}

func TestApplyRolloutInTimeOrder(t *testing.T) {
	base := func() state.Record {
		return state.Record{Repository: "r", Environment: "e", Version: "1.1.0", Digest: "sha256:b",
			Services: map[string]state.Service{"web": inProgress("d2", "web:2", "web:1")}, Rollout: state.InProgress}
	}
	type report struct {
		rollout state.Rollout
		at      time.Time
	}
	tests := []struct {
		name    string
		reports []report
		want    state.Rollout
		changes []bool
	}{
		{"completed", []report{{state.Completed, t1}}, state.Completed, []bool{true}},
		{"a late in-progress after completed changes nothing", []report{{state.Completed, t2}, {state.InProgress, t1}}, state.Completed, []bool{true, false}},
		{"a re-delivered in-progress after completed changes nothing", []report{{state.Completed, t1}, {state.InProgress, t2}}, state.Completed, []bool{true, false}},
		{"an older failed after completed changes nothing", []report{{state.Completed, t2}, {state.Failed, t1}}, state.Completed, []bool{true, false}},
		{"a re-delivered completed changes nothing", []report{{state.Completed, t1}, {state.Completed, t1}}, state.Completed, []bool{true, false}},
		{"in progress, then failed", []report{{state.InProgress, t1}, {state.Failed, t2}}, state.Failed, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := base()
			for i, r := range tt.reports {
				if got := applyRollout(&rec, "web", "d2", r.rollout, "", r.at); got != tt.changes[i] {
					t.Errorf("report %d (%s at %s): changed = %v, want %v", i, r.rollout, r.at.Format(time.TimeOnly), got, tt.changes[i])
				}
			}
			if rec.Services["web"].Rollout != tt.want || rec.Rollout != tt.want {
				t.Errorf("rollout = %s / %s, want %s", rec.Services["web"].Rollout, rec.Rollout, tt.want)
			}
			switch tt.want {
			case state.Completed:
				if len(rec.Good) != 1 || rec.Good[0].Version != "1.1.0" || rec.LastCompleted != "1.1.0" {
					t.Errorf("good = %+v, last completed %q: want 1.1.0 known good", rec.Good, rec.LastCompleted)
				}
			case state.Failed:
				if !rec.IsHeld("1.1.0") || rec.Failed == nil || rec.Failed.Version != "1.1.0" {
					t.Errorf("held %v, failed %+v: want 1.1.0 held and its failure recorded", rec.Held, rec.Failed)
				}
			}
		})
	}
	// Another deployment's report is not ours.
	rec := base()
	if applyRollout(&rec, "web", "d9", state.Completed, "", t1) {
		t.Error("a report of another deployment changed the record")
	}
}

func service(td string, deps ...target.Deployment) target.Service {
	return target.Service{TaskDefinition: td, Deployments: deps}
}

func TestJudgeRollout(t *testing.T) {
	entry := inProgress("d2", "web:2", "web:1")
	const breaker = "ECS deployment circuit breaker: rolling back to deploymentId d1"
	tests := []struct {
		name    string
		svc     target.Service
		history []target.ServiceDeployment
		want    ecsView
	}{
		{"still rolling out", service("web:2", target.Deployment{ID: "d2", Status: "PRIMARY", TaskDefinition: "web:2", Rollout: state.InProgress}),
			nil, ecsView{rollout: state.InProgress, running: "web:2"}},
		{"completed", service("web:2", target.Deployment{ID: "d2", Status: "PRIMARY", TaskDefinition: "web:2", Rollout: state.Completed, UpdatedAt: t1}),
			nil, ecsView{rollout: state.Completed, at: t1, running: "web:2"}},
		{"rolled back, the failed deployment still listed",
			service("web:1", target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress, Reason: breaker},
				target.Deployment{ID: "d2", Status: "ACTIVE", TaskDefinition: "web:2", Rollout: state.Failed, Reason: "tasks failed to start", UpdatedAt: t1}),
			nil, ecsView{rollout: state.Failed, reason: "tasks failed to start", at: t1, rolledBack: true, running: "web:1",
				rollback: target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress, Reason: breaker}}},
		{"failed without a rollback", service("web:2", target.Deployment{ID: "d2", Status: "PRIMARY", TaskDefinition: "web:2", Rollout: state.Failed, Reason: "tasks failed to start"}),
			nil, ecsView{rollout: state.Failed, reason: "tasks failed to start", running: "web:2"}},
		{"rolled back and gone, told by the history",
			service("web:1", target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.Completed}),
			[]target.ServiceDeployment{{Status: "SUCCESSFUL", TaskDefinition: "web:1", CreatedAt: t2}, {Status: "ROLLBACK_SUCCESSFUL", Reason: "circuit breaker", TaskDefinition: "web:2", CreatedAt: t0, FinishedAt: t1}},
			ecsView{rollout: state.Failed, reason: "circuit breaker", at: t1, rolledBack: true, running: "web:1",
				rollback: target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.Completed}}},
		{"rolled back and gone, without a history, while the rollback runs",
			service("web:1", target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress, Reason: breaker, UpdatedAt: t2}),
			nil, ecsView{rollout: state.Failed, reason: breaker, at: t2, rolledBack: true, running: "web:1",
				rollback: target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress, Reason: breaker, UpdatedAt: t2}}},
		{"back on the previous revision, without a history: not known (a record without the replaced deployment cannot tell)",
			service("web:1", target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.Completed, Reason: "ECS deployment d3 completed."}),
			nil, ecsView{running: "web:1", unknown: true}},
		{"put back on the previous revision by someone, the history says so",
			service("web:1", target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress}),
			[]target.ServiceDeployment{{Status: "IN_PROGRESS", TaskDefinition: "web:1", CreatedAt: t2}}, ecsView{running: "web:1", replaced: true}},
		{"replaced by someone else's deployment",
			service("web:7", target.Deployment{ID: "d4", Status: "PRIMARY", TaskDefinition: "web:7", Rollout: state.InProgress},
				target.Deployment{ID: "d2", Status: "ACTIVE", TaskDefinition: "web:2", Rollout: state.InProgress}),
			nil, ecsView{running: "web:7", replaced: true}},
		{"stopped because someone's deployment started: superseded, nothing failed",
			service("web:3", target.Deployment{ID: "d4", Status: "PRIMARY", TaskDefinition: "web:3", Rollout: state.Completed}),
			[]target.ServiceDeployment{{Status: "SUCCESSFUL", TaskDefinition: "web:3", CreatedAt: t2},
				{Status: "STOPPED", Reason: "ECS deployment stopped: a new service deployment started.", TaskDefinition: "web:2", CreatedAt: t1}},
			ecsView{running: "web:3", replaced: true}},
		{"stopped by the circuit breaker without a rollback: failed",
			service("web:3", target.Deployment{ID: "d4", Status: "PRIMARY", TaskDefinition: "web:3", Rollout: state.InProgress}),
			[]target.ServiceDeployment{{Status: "STOPPED", Reason: "ECS deployment circuit breaker: tasks failed to start.", TaskDefinition: "web:2", CreatedAt: t0, FinishedAt: t1}},
			ecsView{rollout: state.Failed, reason: "ECS deployment circuit breaker: tasks failed to start.", at: t1, running: "web:3", replaced: true}},
		{"completed and gone, the history says so", service("web:2", target.Deployment{ID: "d5", Status: "PRIMARY", TaskDefinition: "web:2", Rollout: state.Completed}),
			[]target.ServiceDeployment{{Status: "SUCCESSFUL", TaskDefinition: "web:2", CreatedAt: t0, FinishedAt: t1}},
			ecsView{rollout: state.Completed, at: t1, running: "web:2"}},
		{"rolled back, the history says, and still rolling back: when is not known yet",
			service("web:1", target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress}),
			[]target.ServiceDeployment{{Status: "ROLLBACK_IN_PROGRESS", Reason: "circuit breaker", TaskDefinition: "web:2", CreatedAt: t0}},
			ecsView{rollout: state.Failed, reason: "circuit breaker", rolledBack: true, running: "web:1",
				rollback: target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress}}},
		// Behind a Classic Load Balancer ECS reports no rolloutState.
		{"no rolloutState, every task running: completed",
			service("web:2", target.Deployment{ID: "d2", Status: "PRIMARY", TaskDefinition: "web:2", DesiredCount: 2, RunningCount: 2, UpdatedAt: t1}),
			nil, ecsView{rollout: state.Completed, at: t1, running: "web:2"}},
		{"no rolloutState, tasks still starting: in progress",
			service("web:2", target.Deployment{ID: "d2", Status: "PRIMARY", TaskDefinition: "web:2", DesiredCount: 2, RunningCount: 1, PendingCount: 1, UpdatedAt: t1}),
			nil, ecsView{rollout: state.InProgress, at: t1, running: "web:2"}},
		{"no rolloutState, the old deployment still draining: in progress",
			service("web:2", target.Deployment{ID: "d2", Status: "PRIMARY", TaskDefinition: "web:2", DesiredCount: 2, RunningCount: 2, UpdatedAt: t1},
				target.Deployment{ID: "d1", Status: "ACTIVE", TaskDefinition: "web:1", DesiredCount: 0, RunningCount: 1}),
			nil, ecsView{rollout: state.InProgress, at: t1, running: "web:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeRollout(entry, tt.svc, tt.history, tt.history != nil)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(ecsView{})); diff != "" {
				t.Errorf("judgeRollout (-want +got):\n%s", diff)
			}
		})
	}
}

// ECS rolls a failed deployment back by making the deployment it replaced
// PRIMARY again under its own id: with that id recorded, a rollback is told
// in every phase, with or without the service-deployments history; a
// PRIMARY under another id is someone's new deployment; and with neither
// the signal nor the history, the end is unknown, not "replaced".
func TestJudgeRolloutByTheReplacedDeployment(t *testing.T) {
	entry := inProgress("d2", "web:2", "web:1")
	entry.ReplacedDeploymentID = "d1"
	rollingBack := "ECS deployment circuit breaker: rolling back to deploymentId d1."
	back := func(rollout state.Rollout, reason string) target.Deployment {
		return target.Deployment{ID: "d1", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: rollout, Reason: reason, UpdatedAt: t2}
	}
	failed := func(rollout state.Rollout, reason string) target.Deployment {
		return target.Deployment{ID: "d2", Status: "ACTIVE", TaskDefinition: "web:2", Rollout: rollout, Reason: reason, UpdatedAt: t1}
	}
	theirs := target.Deployment{ID: "d7", Status: "PRIMARY", TaskDefinition: "web:7", Rollout: state.InProgress, UpdatedAt: t2}
	tests := []struct {
		name    string
		svc     target.Service
		history []target.ServiceDeployment
		read    bool
		want    ecsView
	}{
		{"first seconds: the failed deployment still IN_PROGRESS beside the rollback",
			service("web:1", back(state.InProgress, rollingBack), failed(state.InProgress, "ECS deployment d2 in progress.")), nil, false,
			ecsView{rollout: state.Failed, reason: rollingBack, at: t2, rolledBack: true, running: "web:1", rollback: back(state.InProgress, rollingBack)}},
		{"the failed deployment FAILED beside the rollback",
			service("web:1", back(state.InProgress, rollingBack), failed(state.Failed, "tasks failed to start")), nil, false,
			ecsView{rollout: state.Failed, reason: "tasks failed to start", at: t1, rolledBack: true, running: "web:1", rollback: back(state.InProgress, rollingBack)}},
		{"rollback completed, the failed deployment gone, no history",
			service("web:1", back(state.Completed, "ECS deployment d1 completed.")), nil, false,
			ecsView{rollout: state.Failed, reason: "ECS rolled the service back to deployment d1", at: t2, rolledBack: true, running: "web:1",
				rollback: back(state.Completed, "ECS deployment d1 completed.")}},
		{"superseded by someone's deployment, still listed: not failed, nothing held",
			service("web:7", theirs, failed(state.InProgress, "ECS deployment d2 in progress.")), nil, false,
			ecsView{running: "web:7", replaced: true}},
		{"gone, someone's deployment PRIMARY, no history: unknown",
			service("web:7", theirs), nil, false, ecsView{running: "web:7", unknown: true}},
		{"gone, someone's deployment PRIMARY, the history read does not list it: replaced",
			service("web:7", theirs), nil, true, ecsView{running: "web:7", replaced: true}},
		{"gone, its revision runs under another deployment (forced): that one's rollout",
			service("web:2", target.Deployment{ID: "d8", Status: "PRIMARY", TaskDefinition: "web:2", Rollout: state.Completed, UpdatedAt: t2}), nil, false,
			ecsView{rollout: state.Completed, at: t2, running: "web:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeRollout(entry, tt.svc, tt.history, tt.read)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(ecsView{})); diff != "" {
				t.Errorf("judgeRollout (-want +got):\n%s", diff)
			}
		})
	}
	// A record that already knows the end is never unknown.
	done := entry
	done.Rollout = state.Completed
	if v := judgeRollout(done, service("web:7", theirs), nil, false); v.unknown {
		t.Errorf("judged a completed entry unknown: %+v", v)
	}
}

// A version whose end is unknown is held back, for any request of that
// version that is not forced, and recorded nowhere.
func TestAwaitECS(t *testing.T) {
	rec := &state.Record{Version: "1.1.0", Services: map[string]state.Service{"web": inProgress("d2", "web:2", "web:1")}}
	unknown := map[string]ecsView{"web": {unknown: true}, "worker": {rollout: state.Completed}}
	v110, v111 := semver.MustParse("1.1.0"), semver.MustParse("1.1.1")
	tests := []struct {
		name  string
		req   Request
		v     *semver.Version
		rec   *state.Record
		views map[string]ecsView
		want  policy.Reason
	}{
		{"its version", Request{}, v110, rec, unknown, policy.RolloutUnknown},
		{"forced", Request{Force: true}, v110, rec, unknown, policy.Accepted},
		{"another version", Request{}, v111, rec, unknown, policy.Accepted},
		{"known", Request{}, v110, rec, map[string]ecsView{"web": {replaced: true}}, policy.Accepted},
		{"no record", Request{}, v110, nil, unknown, policy.Accepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := awaitECS(tt.req, tt.v, tt.rec, tt.views); got != tt.want {
				t.Errorf("awaitECS = %q, want %q", got, tt.want)
			}
		})
	}
}

// A rollback ECS made, however it is learnt, is recorded as ECS left the
// environment: the failed version held, the last known-good deployment as
// what runs, the failure beside it.
func TestRepairRecordAfterARollback(t *testing.T) {
	rec := state.Record{Repository: "r", Environment: "e", Version: "1.1.0", Tag: "1.1.0", Digest: "sha256:b", Image: "r:1.1.0", Cause: state.CausePush,
		Services: map[string]state.Service{"web": inProgress("d2", "web:2", "web:1")}, Rollout: state.InProgress,
		Good: []state.Deployment{{Version: "1.0.0", Tag: "1.0.0", Digest: "sha256:a", Image: "r:1.0.0", TaskDefinitions: map[string]string{"web": "web:1"}, Time: t0}}}
	views := map[string]ecsView{"web": {rollout: state.Failed, reason: "tasks failed to start", at: t1, rolledBack: true, running: "web:1",
		rollback: target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress}}}
	got, changed := repairRecord(rec, views, t2)
	if !changed {
		t.Fatal("nothing repaired")
	}
	want := state.Record{Repository: "r", Environment: "e", Version: "1.0.0", Tag: "1.0.0", Digest: "sha256:a", Image: "r:1.0.0", Cause: state.CauseECS, Time: t2,
		Services: map[string]state.Service{"web": {Cluster: "c", TaskDefinition: "web:1", PreviousTaskDefinition: "web:2", DeploymentID: "d3", Rollout: state.InProgress}},
		Rollout:  state.InProgress, Held: []string{"1.1.0"}, Good: rec.Good,
		Failed: &state.Failure{Version: "1.1.0", Digest: "sha256:b", DeploymentID: "d2", Reason: "tasks failed to start", Time: t1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("repaired record (-want +got):\n%s", diff)
	}
	if rec.Version != "1.1.0" || rec.Services["web"].Rollout != state.InProgress || len(rec.Held) != 0 {
		t.Errorf("repairing changed the record it was given: %+v", rec)
	}
	// A second look changes nothing more.
	if _, again := repairRecord(got, map[string]ecsView{"web": judgeRollout(got.Services["web"],
		service("web:1", target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress}), nil, false)}, t2); again {
		t.Error("a second repair changed the record again")
	}
}
