package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// fleetViews judges the deployments a record names as ecsViews does when
// the history, read, says nothing of them (read: when it could not be read).
func fleetViews(rec *state.Record, services map[string]target.Service, read bool) map[string]ecsView {
	if rec == nil || services == nil {
		return nil
	}
	views := map[string]ecsView{}
	for name, entry := range rec.Services {
		if svc, ok := services[name]; ok {
			views[name] = judgeRollout(entry, svc, nil, read)
		}
	}
	return views
}

func TestPlanReconcile(t *testing.T) {
	images := []target.Image{{Tag: "1.0.0", Digest: "sha256:a"}, {Tag: "1.1.0", Digest: "sha256:b"}, {Tag: "2.0.0", Digest: "sha256:c"}}
	env := mustEnv(t, `{"cluster":"c","services":["web","worker"],"versions":"^1.0.0"}`)
	good := []state.Deployment{{Version: "1.0.0", Tag: "1.0.0", Digest: "sha256:a", TaskDefinitions: map[string]string{"web": "web:1", "worker": "worker:1"}, Time: t0}}
	// running is a record of 1.1.0 (web:2, worker:2) with the given rollout.
	running := func(rollout state.Rollout) *state.Record {
		return &state.Record{Repository: "r", Environment: "e", Version: "1.1.0", Tag: "1.1.0", Digest: "sha256:b", Rollout: rollout, Good: good,
			Services: map[string]state.Service{
				"web":    {Cluster: "c", TaskDefinition: "web:2", PreviousTaskDefinition: "web:1", DeploymentID: "d2", Rollout: rollout},
				"worker": {Cluster: "c", TaskDefinition: "worker:2", PreviousTaskDefinition: "worker:1", DeploymentID: "w2", Rollout: rollout},
			}}
	}
	// edited is a record of 1.1.0 in progress, changed.
	edited := func(change func(r *state.Record)) *state.Record {
		r := running(state.InProgress)
		change(r)
		return r
	}
	primary := func(id, td string, rollout state.Rollout) target.Deployment {
		return target.Deployment{ID: id, Status: "PRIMARY", TaskDefinition: td, Rollout: rollout}
	}
	// ecs is what ECS says of web and worker.
	ecs := func(web, worker target.Service) map[string]target.Service {
		return map[string]target.Service{"web": web, "worker": worker}
	}
	rollingOut := ecs(service("web:2", primary("d2", "web:2", state.InProgress)), service("worker:2", primary("w2", "worker:2", state.InProgress)))
	const breaker = "ECS deployment circuit breaker: rolling back to deploymentId d1"
	rolledBack := func(old, id, td, failed string) target.Service {
		return service(old, target.Deployment{ID: id + "-rb", Status: "PRIMARY", TaskDefinition: old, Rollout: state.InProgress, Reason: breaker},
			target.Deployment{ID: id, Status: "ACTIVE", TaskDefinition: td, Rollout: state.Failed, Reason: failed, UpdatedAt: t1})
	}

	type want struct {
		action   reconcileAction
		tag      string // the candidate's
		reason   policy.Reason
		repaired bool
		// version and held are the record's as decided from.
		version string
		held    []string
	}
	tests := []struct {
		name     string
		rec      *state.Record
		services map[string]target.Service
		want     want
	}{
		{"in sync while the rollout runs", running(state.InProgress), rollingOut,
			want{action: inSync, tag: "1.1.0", version: "1.1.0"}},
		{"in sync, rollout completed", running(state.Completed),
			ecs(service("web:2", primary("d2", "web:2", state.Completed)), service("worker:2", primary("w2", "worker:2", state.Completed))),
			want{action: inSync, tag: "1.1.0", version: "1.1.0"}},
		{"no record: behind", nil, rollingOut,
			want{action: catchUp, tag: "1.1.0"}},
		{"another digest recorded: behind", edited(func(r *state.Record) { r.Version, r.Tag, r.Digest = "1.0.0", "1.0.0", "sha256:a" }), rollingOut,
			want{action: catchUp, tag: "1.1.0", version: "1.0.0"}},
		{"a service missing from the record", edited(func(r *state.Record) { delete(r.Services, "worker") }), rollingOut,
			want{action: catchUp, tag: "1.1.0", version: "1.1.0"}},
		{"a service ECS does not describe", running(state.InProgress), map[string]target.Service{"web": rollingOut["web"]},
			want{action: catchUp, tag: "1.1.0", version: "1.1.0"}},
		{"drift: a service runs another revision", running(state.InProgress),
			ecs(rollingOut["web"], service("worker:9", primary("x9", "worker:9", state.InProgress))),
			want{action: catchUp, tag: "1.1.0", version: "1.1.0"}},
		{"an external deployment controller", running(state.InProgress),
			ecs(rollingOut["web"], target.Service{TaskDefinition: "worker:2", Controller: "EXTERNAL"}),
			want{action: catchUp, tag: "1.1.0", version: "1.1.0"}},
		{"CodeDeploy runs the recorded revision", running(state.InProgress),
			ecs(rollingOut["web"], target.Service{TaskDefinition: "worker:2", Controller: "CODE_DEPLOY",
				TaskSets: []target.TaskSet{{ID: "ts1", Status: "PRIMARY", TaskDefinition: "worker:2"}}}),
			want{action: inSync, tag: "1.1.0", version: "1.1.0"}},
		{"services not described: nothing is proved", running(state.InProgress), nil,
			want{action: catchUp, tag: "1.1.0", version: "1.1.0"}},
		{"ahead after a forced deploy: stays", edited(func(r *state.Record) { r.Version, r.Tag, r.Digest = "2.0.0", "2.0.0", "sha256:c" }), rollingOut,
			want{action: stay, tag: "1.1.0", reason: policy.OlderThanCurrent, version: "2.0.0"}},
		{"the best version retagged: stays", edited(func(r *state.Record) { r.Digest = "sha256:old" }), rollingOut,
			want{action: stay, tag: "1.1.0", reason: policy.Retagged, version: "1.1.0"}},
		{"the rollout ECS completed is repaired, then in sync", running(state.InProgress),
			ecs(service("web:2", primary("d2", "web:2", state.Completed)), service("worker:2", primary("w2", "worker:2", state.Completed))),
			want{action: inSync, tag: "1.1.0", repaired: true, version: "1.1.0"}},
		{"a rollback is repaired, and the version it held not deployed again", running(state.InProgress),
			ecs(rolledBack("web:1", "d2", "web:2", "tasks failed to start"), rolledBack("worker:1", "w2", "worker:2", "tasks failed to start")),
			want{action: inSync, tag: "1.0.0", repaired: true, version: "1.0.0", held: []string{"1.1.0"}}},
		{"every version held: nothing to do", edited(func(r *state.Record) { r.Held = []string{"1.0.0", "1.1.0"} }), rollingOut,
			want{action: leave, version: "1.1.0", held: []string{"1.0.0", "1.1.0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planReconcile(images, env, tt.rec, tt.services, fleetViews(tt.rec, tt.services, true), t2)
			got := want{action: p.action, tag: p.candidate.Tag, reason: p.reason, repaired: p.repaired != nil}
			if p.rec != nil {
				got.version, got.held = p.rec.Version, p.rec.Held
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("planReconcile (-want +got):\n%s", diff)
			}
			if p.repaired != nil && p.rec != p.repaired {
				t.Errorf("the plan was not decided from the repaired record")
			}
		})
	}
}

// Another revision runs, ECS no longer lists the recorded deployment and
// its history cannot be read: the recorded version may have been rolled
// back, so it is held back, and nothing is recorded of it.
func TestPlanReconcileHoldsBackAnUnknownEnd(t *testing.T) {
	images := []target.Image{{Tag: "1.0.0", Digest: "sha256:a"}, {Tag: "1.1.0", Digest: "sha256:b"}}
	env := mustEnv(t, `{"cluster":"c","services":["web"],"versions":"^1.0.0"}`)
	rec := &state.Record{Repository: "r", Environment: "e", Version: "1.1.0", Tag: "1.1.0", Digest: "sha256:b", Rollout: state.InProgress,
		Services: map[string]state.Service{"web": {Cluster: "c", TaskDefinition: "web:2", PreviousTaskDefinition: "web:1",
			DeploymentID: "d2", ReplacedDeploymentID: "d1", Rollout: state.InProgress}}}
	services := map[string]target.Service{"web": service("web:9", target.Deployment{ID: "d9", Status: "PRIMARY", TaskDefinition: "web:9", Rollout: state.Completed})}
	p := planReconcile(images, env, rec, services, fleetViews(rec, services, false), t2)
	if p.action != stay || p.reason != policy.RolloutUnknown || p.repaired != nil {
		t.Errorf("plan = action %d, reason %q, repaired %v; want to stay, %s, nothing repaired", p.action, p.reason, p.repaired != nil, policy.RolloutUnknown)
	}
	// Once ECS's history says someone else's deployment replaced it, the
	// environment is deployed again.
	if p := planReconcile(images, env, rec, services, fleetViews(rec, services, true), t2); p.action != catchUp {
		t.Errorf("with the history read: action %d, want catch up", p.action)
	}
}

// After a rollback the fix, a newer version than the one held, is
// deployed, from the repaired record.
func TestPlanReconcileDeploysTheFixAfterARollback(t *testing.T) {
	images := []target.Image{{Tag: "1.0.0", Digest: "sha256:a"}, {Tag: "1.1.0", Digest: "sha256:b"}, {Tag: "1.1.1", Digest: "sha256:f"}}
	env := mustEnv(t, `{"cluster":"c","services":["web"]}`)
	rec := &state.Record{Repository: "r", Environment: "e", Version: "1.1.0", Tag: "1.1.0", Digest: "sha256:b", Rollout: state.InProgress,
		Services: map[string]state.Service{"web": inProgress("d2", "web:2", "web:1")},
		Good:     []state.Deployment{{Version: "1.0.0", Tag: "1.0.0", Digest: "sha256:a", TaskDefinitions: map[string]string{"web": "web:1"}, Time: t0}}}
	services := map[string]target.Service{"web": service("web:1",
		target.Deployment{ID: "d3", Status: "PRIMARY", TaskDefinition: "web:1", Rollout: state.InProgress, Reason: "ECS deployment circuit breaker: rolling back to deploymentId d1"},
		target.Deployment{ID: "d2", Status: "ACTIVE", TaskDefinition: "web:2", Rollout: state.Failed, UpdatedAt: t1})}
	p := planReconcile(images, env, rec, services, fleetViews(rec, services, true), t2)
	if p.repaired == nil || p.action != catchUp || p.candidate.Tag != "1.1.1" || !p.rec.IsHeld("1.1.0") || p.rec.Version != "1.0.0" {
		t.Errorf("plan = action %d, candidate %s, repaired %v, record %s held %v; want 1.0.0 with 1.1.0 held, and 1.1.1 to deploy",
			p.action, p.candidate.Tag, p.repaired != nil, p.rec.Version, p.rec.Held)
	}
}
