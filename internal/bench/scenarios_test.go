package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// singleResults are the measurements of section 1, and the repeated
// single-environment deployments of section 2.
type singleResults struct {
	Cold, Warm []measurement // repeated deployments, each of a new version
	Duplicate  measurement
	NotSemver  measurement
	Older      measurement
	// ManualDuplicate is a duplicate for a repository that also has a
	// manual environment, which every push skips.
	ManualDuplicate measurement
	// Rollout is an ECS deployment state change (COMPLETED) for a
	// configured service whose deployment the state records; Unconfigured
	// one for a service no configuration names. Both with the configuration
	// listing cached.
	Rollout, Unconfigured measurement
	Promote               measurement
	Plan                  measurement
	// Rollback is a rollback of web's dev to the version whose rollout
	// completed (Rollout's), after a newer push: its revision is known.
	Rollback measurement
}

// The repositories of section 1. web has one environment, dev, which takes
// every push. hello-color is configured as many teams do: dev takes every
// push, production is manual and promoted from dev. Every environment has
// its own service and task-definition family.
const (
	singleRepository = "web"
	manualRepository = "hello-color"
)

func singleConfig() map[string]environment {
	return map[string]environment{
		"dev": {Versions: ">=0.1.0", Prereleases: true, Cluster: cluster, Services: []string{"web-dev"}, Container: container,
			Environment: map[string]string{"OCTO_ENV": "Development", "OCTO_COLOR": "#0f0"}},
	}
}

func manualConfig() map[string]environment {
	return map[string]environment{
		"dev": {Versions: ">=0.1.0", Prereleases: true, Cluster: cluster, Services: []string{"hello-color-dev"}, Container: container,
			Environment: map[string]string{"OCTO_ENV": "Development", "OCTO_COLOR": "#0f0"}},
		"production": {Trigger: "manual", PromoteFrom: "dev", Versions: "^1.0.0", Cluster: cluster, Services: []string{"hello-color-prod"}, Container: container,
			Environment: map[string]string{"OCTO_ENV": "Production", "OCTO_COLOR": "#f00"}},
	}
}

// runSingle measures the scenarios of section 1 with every call taking
// callTime, repeating the cold and warm deployments reps times.
func runSingle(t *testing.T, callTime time.Duration, reps int) singleResults {
	w := newWorld(t)
	w.service(t, singleRepository, "web-dev", "web-dev", "1.0.0")
	w.service(t, manualRepository, "hello-color-dev", "hello-color-dev", "1.0.0")
	w.service(t, manualRepository, "hello-color-prod", "hello-color-prod", "1.0.0")
	for repo, envs := range map[string]map[string]environment{singleRepository: singleConfig(), manualRepository: manualConfig()} {
		awstest.Must(w.env.Local.CreateRepository(t.Context(), repo))(t)
		w.configure(t, repo, envs)
	}
	var out singleResults

	// A first deployment of each, so that dev has a state record as it has
	// in steady state. Not measured.
	setup := w.deployer()
	for _, repo := range []string{singleRepository, manualRepository} {
		if res, err := setup.Push(t.Context(), w.image(t, repo, "1.1.0")); err != nil || deploy.Judge(res, nil) != "" {
			t.Fatalf("setup push: %v %s", err, outcomes(res))
		}
	}
	w.env.Proxy.SetCallTime(callTime)
	defer w.env.Proxy.SetCallTime(0)

	// Cold: every deployment by a new function instance, whose config
	// cache is empty.
	var h *handler.Handler
	var d *deploy.Deployer
	for i := range reps {
		h = w.handler()
		d = h.Deployer
		w.paceIdle(t) // before the push: its event is fresh, as EventBridge delivers it
		p := w.image(t, singleRepository, fmt.Sprintf("1.2.%d", i))
		out.Cold = append(out.Cold, w.measure(t, "push, cold config", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), p) }))
	}
	// Warm: the same instance, its config cached.
	var last event.Push
	for i := range reps {
		w.paceIdle(t)
		last = w.image(t, singleRepository, fmt.Sprintf("1.3.%d", i))
		out.Warm = append(out.Warm, w.measure(t, "push, warm config", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), last) }))
	}
	out.Duplicate = w.measure(t, "duplicate event", "dev: unchanged", func() (deploy.Result, error) { return d.Push(t.Context(), last) })
	latest := w.image(t, singleRepository, "latest")
	out.NotSemver = w.measure(t, "not-semver tag, warm config", "dev: skipped not-semver", func() (deploy.Result, error) { return d.Push(t.Context(), latest) })
	older := w.image(t, singleRepository, "1.0.5")
	out.Older = w.measure(t, "older-than-current, warm config", "dev: skipped older-than-current", func() (deploy.Result, error) { return d.Push(t.Context(), older) })

	// hello-color: a deployment to dev (not measured), its duplicate, then
	// ECS reporting that dev's rollout has completed (not measured: it
	// lists the configuration, as every ECS event does, so the ECS events
	// measured next find the listing cached), a promote of what dev runs,
	// and a plan.
	p := w.image(t, manualRepository, "1.3.0")
	w.measure(t, "setup", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), p) })
	out.ManualDuplicate = w.measure(t, "duplicate event, with a manual environment in the config", "dev: unchanged",
		func() (deploy.Result, error) { return d.Push(t.Context(), p) })
	w.env.Proxy.SetCallTime(0)
	completed := w.completed(t, manualRepository, "dev", "hello-color-dev")
	if res, err := h.Event(t.Context(), completed); err != nil || !strings.Contains(outcomes(res), "dev: rollout completed") {
		t.Fatalf("setup: ECS event: %v %s", err, outcomes(res))
	}
	w.env.Proxy.SetCallTime(callTime)
	// The last warm push's deployment completes; then an event for a
	// service that ecrdeploy does not deploy (same cluster).
	completed = w.completed(t, singleRepository, "dev", "web-dev")
	out.Rollout = w.measure(t, "ECS deployment completed, configured service, warm config", "dev: rollout completed",
		func() (deploy.Result, error) { return h.Event(t.Context(), completed) })
	other := mustJSON(t, localaws.DeploymentEvent{ServiceARN: serviceARN("billing-api"), EventName: localaws.EventDeploymentCompleted,
		DeploymentID: "ecs-svc/1234567890123456789"})
	out.Unconfigured = w.measure(t, "ECS deployment completed, service no configuration names, warm config", "",
		func() (deploy.Result, error) { return h.Event(t.Context(), other) })
	if len(out.Unconfigured.Outcome) > 0 {
		t.Fatalf("ECS event for an unconfigured service: outcome %q, want none", out.Unconfigured.Outcome)
	}
	out.Promote = w.measure(t, "promote dev to production, warm config", "production: deployed", func() (deploy.Result, error) {
		return d.Manual(t.Context(), request.Request{Action: request.Promote, Repository: manualRepository, From: "dev", To: "production"}, "req-promote")
	})
	w.image(t, manualRepository, "1.4.0")
	out.Plan = w.measure(t, "plan 1.4.0 for both environments, warm config", "planned", func() (deploy.Result, error) {
		return d.Manual(t.Context(), request.Request{Action: request.Plan, Repository: manualRepository, Tag: "1.4.0"}, "req-plan")
	})
	// web's dev: a push after the version whose rollout completed, and
	// ECS reporting that its rollout completed too (not measured: a
	// rollback of a deployment still in progress stops it instead), then
	// a rollback to the version before, whose revision the record knows.
	newer := w.image(t, singleRepository, "1.5.0")
	w.measure(t, "setup", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), newer) })
	w.env.Proxy.SetCallTime(0)
	completed = w.completed(t, singleRepository, "dev", "web-dev")
	if res, err := h.Event(t.Context(), completed); err != nil || !strings.Contains(outcomes(res), "dev: rollout completed") {
		t.Fatalf("setup: ECS event: %v %s", err, outcomes(res))
	}
	w.env.Proxy.SetCallTime(callTime)
	out.Rollback = w.measure(t, "rollback of dev to the version whose rollout completed, warm config", "dev: deployed", func() (deploy.Result, error) {
		return d.Manual(t.Context(), request.Request{Action: request.Rollback, Repository: singleRepository, Environment: "dev"}, "req-rollback")
	})
	return out
}

// fiveEnvironments are the environments of one repository that all take
// every push.
var fiveEnvironments = []string{"dev", "qa", "staging", "uat", "demo"}

// newFive seeds one repository with fiveEnvironments, each with its own
// service and, unless oneFamily, its own family, and pushes 1.0.0 to them
// (not measured), which warms the config cache and writes the state
// records. It returns the world and the warm deployer.
func newFive(t *testing.T, repo string, oneFamily bool) (*world, *deploy.Deployer) {
	w := newWorld(t)
	envs := map[string]environment{}
	for _, name := range fiveEnvironments {
		family := repo + "-" + name
		if oneFamily {
			family = repo
		}
		w.service(t, repo, family, repo+"-"+name, "0.1.0")
		envs[name] = environment{Versions: ">=0.1.0", Cluster: cluster, Services: []string{repo + "-" + name}, Container: container,
			Environment: map[string]string{"ENVIRONMENT": name}}
	}
	awstest.Must(w.env.Local.CreateRepository(t.Context(), repo))(t)
	w.configure(t, repo, envs)
	d := w.deployer()
	if res, err := d.Push(t.Context(), w.image(t, repo, "1.0.0")); err != nil || deploy.Judge(res, nil) != "" {
		t.Fatalf("setup push: %v %s", err, outcomes(res))
	}
	return w, d
}

// runFive measures pushes of one repository to five environments, each with
// its own service and, unless oneFamily, its own task-definition family.
// The first push (not measured) warms the config cache and writes the
// state records; each of the reps that follow deploys a new version, every
// call taking callTime.
func runFive(t *testing.T, callTime time.Duration, reps int, oneFamily bool) []measurement {
	repo := "shop"
	if oneFamily {
		repo = "mono"
	}
	w, d := newFive(t, repo, oneFamily)
	w.env.Proxy.SetCallTime(callTime)
	defer w.env.Proxy.SetCallTime(0)
	scenario := "push to five environments, own families, warm config"
	if oneFamily {
		scenario = "push to five environments, one family, warm config"
	}
	var out []measurement
	for i := range reps {
		w.paceIdle(t)
		p := w.image(t, repo, fmt.Sprintf("1.%d.0", i+1))
		m := w.measure(t, scenario, "deployed", func() (deploy.Result, error) { return d.Push(t.Context(), p) })
		if n := m.Counts()["UpdateService"]; n != len(fiveEnvironments) {
			t.Fatalf("%s: %d UpdateService calls, want %d (%s)", scenario, n, len(fiveEnvironments), m.Outcome)
		}
		out = append(out, m)
	}
	return out
}

// serviceARN is the ARN of a service in the benchmarks' cluster.
func serviceARN(service string) string {
	return "arn:aws:ecs:" + localaws.Region + ":" + localaws.AccountID + ":service/" + cluster + "/" + service
}

// completed returns the EventBridge event ECS sends when the deployment that
// the state record of repository's environment names for service has
// completed.
func (w *world) completed(t *testing.T, repository, environment, service string) []byte {
	t.Helper()
	rec, ok := w.recorded(t, repository, environment)
	if !ok || rec.Services[service].DeploymentID == "" {
		t.Fatalf("%s/%s records no deployment of %s", repository, environment, service)
	}
	return mustJSON(t, localaws.DeploymentEvent{ServiceARN: serviceARN(service), EventName: localaws.EventDeploymentCompleted,
		DeploymentID: rec.Services[service].DeploymentID})
}

// mustJSON returns the event as EventBridge delivers it.
func mustJSON(t *testing.T, ev localaws.DeploymentEvent) []byte {
	t.Helper()
	return awstest.Must(ev.JSON())(t)
}

// reconcileResults are two reconciles of reconcileRepositories
// repositories: one with nothing to do, one with one environment behind.
type reconcileResults struct {
	Repositories int
	Idle, Behind measurement
}

const reconcileRepositories = 10

// reconcileTags are the images of every reconciled repository: dev (as in
// the burst, every version, pre-releases too) runs 2.0.0-rc.1, staging
// (1.x releases) 1.1.0; latest is no version.
var reconcileTags = []string{"0.9.0", "1.0.0", "1.1.0", "2.0.0-rc.1", "latest"}

// runReconcile measures the reconcile schedule over reconcileRepositories
// repositories, each with the burst's environments (two push
// environments, each its own service and family), every call taking
// callTime. Each reconcile is a new function instance, as the schedule
// (every 15 minutes by default) finds it: the configuration cache has
// expired.
func runReconcile(t *testing.T, callTime time.Duration) reconcileResults {
	w := newWorld(t)
	for r := range reconcileRepositories {
		repo := burstRepository(r)
		w.burstRepository(t, repo, false)
		for _, tag := range reconcileTags {
			w.image(t, repo, tag)
		}
	}
	// The first reconcile (not measured) deploys the highest version of
	// each environment.
	if res, err := w.deployer().Reconcile(t.Context(), event.Schedule{ID: "reconcile-setup", Time: time.Now()}); err != nil ||
		strings.Count(outcomes(res), ": deployed") != reconcileRepositories*len(burstEnvironments) {
		t.Fatalf("setup reconcile: %v %s", err, outcomes(res))
	}
	w.env.Proxy.SetCallTime(callTime)
	defer w.env.Proxy.SetCallTime(0)
	out := reconcileResults{Repositories: reconcileRepositories}
	d := w.deployer()
	out.Idle = w.measure(t, fmt.Sprintf("reconcile of %d repositories, nothing to do", reconcileRepositories), "",
		func() (deploy.Result, error) {
			return d.Reconcile(t.Context(), event.Schedule{ID: "reconcile-idle", Time: time.Now()})
		})
	if strings.Contains(out.Idle.Outcome, "deployed") || strings.Contains(out.Idle.Outcome, "failed") {
		t.Fatalf("idle reconcile: %s", out.Idle.Outcome)
	}
	// A push whose event was lost: staging of one repository is behind.
	behind := burstRepository(0)
	w.image(t, behind, "1.2.0")
	d = w.deployer()
	out.Behind = w.measure(t, fmt.Sprintf("reconcile of %d repositories, one environment behind", reconcileRepositories), behind+"/staging: deployed",
		func() (deploy.Result, error) {
			return d.Reconcile(t.Context(), event.Schedule{ID: "reconcile-behind", Time: time.Now()})
		})
	return out
}
