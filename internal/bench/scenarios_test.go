package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
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
	Promote         measurement
	Plan            measurement
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

// runSingle measures the scenarios of section 1 with latency per call,
// repeating the cold and warm deployments reps times.
func runSingle(t *testing.T, latency time.Duration, reps int) singleResults {
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
	w.env.Proxy.SetLatency(latency)
	defer w.env.Proxy.SetLatency(0)

	// Cold: every deployment by a new function instance, whose config
	// cache is empty.
	var d *deploy.Deployer
	for i := range reps {
		d = w.deployer()
		p := w.image(t, singleRepository, fmt.Sprintf("1.2.%d", i))
		out.Cold = append(out.Cold, w.measure(t, "push, cold config", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), p) }))
	}
	// Warm: the same instance, its config cached.
	var last event.Push
	for i := range reps {
		last = w.image(t, singleRepository, fmt.Sprintf("1.3.%d", i))
		out.Warm = append(out.Warm, w.measure(t, "push, warm config", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), last) }))
	}
	out.Duplicate = w.measure(t, "duplicate event", "dev: unchanged", func() (deploy.Result, error) { return d.Push(t.Context(), last) })
	latest := w.image(t, singleRepository, "latest")
	out.NotSemver = w.measure(t, "not-semver tag, warm config", "dev: skipped not-semver", func() (deploy.Result, error) { return d.Push(t.Context(), latest) })
	older := w.image(t, singleRepository, "1.0.5")
	out.Older = w.measure(t, "older-than-current, warm config", "dev: skipped older-than-current", func() (deploy.Result, error) { return d.Push(t.Context(), older) })

	// hello-color: a deployment to dev (not measured), its duplicate, then
	// a promote of what dev runs once its rollout has completed, as ECS
	// reports it (not measured), and a plan.
	p := w.image(t, manualRepository, "1.3.0")
	w.measure(t, "setup", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), p) })
	out.ManualDuplicate = w.measure(t, "duplicate event, with a manual environment in the config", "dev: unchanged",
		func() (deploy.Result, error) { return d.Push(t.Context(), p) })
	w.env.Proxy.SetLatency(0)
	rec, _ := w.recorded(t, manualRepository, "dev")
	if _, err := d.DeploymentChanged(t.Context(), event.DeploymentChange{
		ID: "ecs-completed", Account: localaws.AccountID, Region: localaws.Region, Cluster: cluster, Service: "hello-color-dev",
		ServiceARN: "arn:aws:ecs:" + localaws.Region + ":" + localaws.AccountID + ":service/" + cluster + "/hello-color-dev",
		EventName:  "SERVICE_DEPLOYMENT_COMPLETED", DeploymentID: rec.Services["hello-color-dev"].DeploymentID,
	}); err != nil {
		t.Fatal(err)
	}
	w.env.Proxy.SetLatency(latency)
	out.Promote = w.measure(t, "promote dev to production, warm config", "production: deployed", func() (deploy.Result, error) {
		return d.Manual(t.Context(), request.Request{Action: request.Promote, Repository: manualRepository, From: "dev", To: "production"}, "req-promote")
	})
	w.image(t, manualRepository, "1.4.0")
	out.Plan = w.measure(t, "plan 1.4.0 for both environments, warm config", "planned", func() (deploy.Result, error) {
		return d.Manual(t.Context(), request.Request{Action: request.Plan, Repository: manualRepository, Tag: "1.4.0"}, "req-plan")
	})
	return out
}

// fiveEnvironments are the environments of one repository that all take
// every push.
var fiveEnvironments = []string{"dev", "qa", "staging", "uat", "demo"}

// runFive measures pushes of one repository to five environments, each with
// its own service and, unless oneFamily, its own task-definition family.
// The first push (not measured) warms the config cache and writes the
// state records; each of the reps that follow deploys a new version.
func runFive(t *testing.T, latency time.Duration, reps int, oneFamily bool) []measurement {
	w := newWorld(t)
	repo := "shop"
	if oneFamily {
		repo = "mono"
	}
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
	w.env.Proxy.SetLatency(latency)
	defer w.env.Proxy.SetLatency(0)
	scenario := "push to five environments, own families, warm config"
	if oneFamily {
		scenario = "push to five environments, one family, warm config"
	}
	var out []measurement
	for i := range reps {
		p := w.image(t, repo, fmt.Sprintf("1.%d.0", i+1))
		m := w.measure(t, scenario, "deployed", func() (deploy.Result, error) { return d.Push(t.Context(), p) })
		if n := m.Counts()["UpdateService"]; n != len(fiveEnvironments) {
			t.Fatalf("%s: %d UpdateService calls, want %d (%s)", scenario, n, len(fiveEnvironments), m.Outcome)
		}
		out = append(out, m)
	}
	return out
}
