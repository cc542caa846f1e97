package handler

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

const helloColor = `{"environments":{
  "dev":{"versions":">=0.1.0","prereleases":true,"cluster":"apps","services":["hello-color-dev"],"container":"web","environment":{"OCTO_COLOR":"#0f0"}},
  "staging":{"versions":"^1.0.0","cluster":"apps","services":["hello-color-staging"],"container":"web","environment":{"OCTO_COLOR":"#ff0"}},
  "production":{"trigger":"manual","promoteFrom":"staging","versions":"^1.0.0","cluster":"apps","services":["hello-color-prod"],"container":"web",
    "deployment":{"strategy":"canary","canary":{"percent":10,"bakeMinutes":15},"approval":{"stage":"post-test-traffic-shift"}}}}}`

// seed creates hello-color's three services running 1.0.0 and its config.
func seed(t *testing.T) *awstest.Env {
	t.Helper()
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../taskdef/testdata/fargate-web.json"))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	for _, s := range []string{"hello-color-dev", "hello-color-staging", "hello-color-prod"} {
		awstest.Must(env.Local.CreateService(t.Context(), "apps", s, arn, 1))(t)
	}
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", helloColor))(t)
	return env
}

func newTestHandler(env *awstest.Env) *Handler {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return Wire(env.Config, Settings{Prefix: "/ecrdeploy", ConfigTTL: time.Minute}, Options{Log: log})
}

// outcomes is what a result says per environment: the outcome and reason of
// a row, the rollout a deployment event recorded, the version a status
// reports; a reconcile's rows are keyed "repository/environment".
func outcomes(res deploy.Result) map[string]string {
	m := map[string]string{}
	for _, r := range res.Results {
		m[r.Environment] = strings.TrimSpace(string(r.Outcome) + " " + string(r.Reason))
		switch {
		case r.Approval != nil:
			m[r.Environment] = strings.TrimSpace("approval " + r.Approval.Decision)
		case r.Outcome == "":
			m[r.Environment] = "rollout " + string(r.Rollout)
		}
	}
	for _, e := range res.Environments {
		m[e.Environment] = strings.TrimSpace("runs " + cmp.Or(e.Version, "-") + " " + string(e.Rollout))
	}
	for _, repo := range res.Repositories {
		for env, o := range outcomes(repo) {
			m[repo.Repository+"/"+env] = o
		}
	}
	return m
}

// sampleDeploymentID is the deployment the ECS samples in events/ are about;
// the test puts the id of a deployment it made in its place.
const sampleDeploymentID = "ecs-svc/4930218735610982345"

// sampleSetup prepares the state a sample is about: the deployments that a
// promote, a rollback, a status or an ECS event refers to. It returns what
// replaces sampleDeploymentID in the sample.
var sampleSetup = map[string]func(t *testing.T, h *Handler) string{
	"request-promote.json": deployStaging("1.1.0", true),
	"request-rollback.json": func(t *testing.T, h *Handler) string {
		deployStaging("1.1.0", true)(t, h)
		return deployStaging("1.2.0", true)(t, h)
	},
	"request-status.json":             deployStaging("1.1.0", false),
	"ecs-deployment-in-progress.json": deployStaging("1.1.0", false),
	"ecs-deployment-completed.json":   deployStaging("1.1.0", false),
	"ecs-deployment-failed.json":      deployStaging("1.1.0", false),
	"ecs-deployment-rollback.json":    deployStaging("1.1.0", false),
	"request-deploy-dry-run.json":     deployStaging("1.1.0", true),
	"request-approve.json":            pauseProduction("1.1.0"),
	"request-reject.json":             pauseProduction("1.1.0"),
}

// pauseProduction returns a setup that deploys tag to production (a canary
// with an approval stage), has ECS pause it for approval and delivers the
// ECS Hook State Change that says so, as EventBridge would.
func pauseProduction(tag string) func(t *testing.T, h *Handler) string {
	return func(t *testing.T, h *Handler) string {
		t.Helper()
		res, err := h.Request(t.Context(), json.RawMessage(`{"action":"deploy","repository":"hello-color","tag":"`+tag+`","environment":"production"}`))
		if err != nil || res.Error != "" || len(res.Results) != 1 || res.Results[0].DeploymentID == "" {
			t.Fatalf("setup: deploy %s to production: %+v, %v", tag, res, err)
		}
		env := sampleEnv[t.Name()]
		if r, err := env.ECSModel.Progress(t.Context(), "apps", "hello-color-prod"); err != nil || r.Stage != "POST_TEST_TRAFFIC_SHIFT" {
			t.Fatalf("setup: production's deployment: %+v, %v", r, err)
		}
		raws, err := env.ECSModel.HookEvents("apps", "hello-color-prod")
		if err != nil || len(raws) != 1 {
			t.Fatalf("setup: hook events %d, %v", len(raws), err)
		}
		res, err = h.Event(t.Context(), raws[0])
		if err != nil || len(res.Results) != 1 || res.Results[0].Approval == nil {
			t.Fatalf("setup: the pause: %+v, %v", res, err)
		}
		return res.Results[0].DeploymentID
	}
}

// sampleHookDeployment and sampleHookID are the service deployment and the
// hook the ECS Hook State Change sample is about; sampleRewrite's setup
// puts those of a pause it made in their place.
const (
	sampleHookDeployment = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/hello-color-prod/NCWGC2ZR-taawPAYrIaU5"
	sampleHookID         = "ecs-pause-9YbH0cLqkGrX2oA7vW1nS4tJ8mZ3uD6eF5iP0wQ2yRk"
)

// sampleRewrite prepares the state a sample is about and rewrites the
// sample to name what it made, for samples that name more than a
// deployment id.
var sampleRewrite = map[string]func(t *testing.T, h *Handler, raw []byte) []byte{
	// ECS pauses production's deployment: the sample names that pause.
	"ecs-hook-awaiting-action.json": func(t *testing.T, h *Handler, raw []byte) []byte {
		t.Helper()
		res, err := h.Request(t.Context(), json.RawMessage(`{"action":"deploy","repository":"hello-color","tag":"1.1.0","environment":"production"}`))
		if err != nil || res.Error != "" || len(res.Results) != 1 {
			t.Fatalf("setup: deploy 1.1.0 to production: %+v, %v", res, err)
		}
		r, err := sampleEnv[t.Name()].ECSModel.Progress(t.Context(), "apps", "hello-color-prod")
		hook, ok := r.AwaitingHook()
		if err != nil || !ok {
			t.Fatalf("setup: production's deployment: %+v, %v", r, err)
		}
		raw = bytes.ReplaceAll(raw, []byte(sampleHookDeployment), []byte(r.ServiceDeploymentARN))
		return bytes.ReplaceAll(raw, []byte(sampleHookID), []byte(hook.ID))
	},
}

// sampleEnv is the local AWS of each sample's subtest, by test name, for
// setups that drive the ECS model.
var sampleEnv = map[string]*awstest.Env{}

// deployStaging returns a setup that deploys tag to staging by request and,
// if complete, has ECS report the rollout completed. It returns the
// deployment id.
func deployStaging(tag string, complete bool) func(t *testing.T, h *Handler) string {
	return func(t *testing.T, h *Handler) string {
		t.Helper()
		res, err := h.Request(t.Context(), json.RawMessage(`{"action":"deploy","repository":"hello-color","tag":"`+tag+`","environment":"staging"}`))
		if err != nil || res.Error != "" || len(res.Results) != 1 || res.Results[0].DeploymentID == "" {
			t.Fatalf("setup: deploy %s to staging: %+v, %v", tag, res, err)
		}
		id := res.Results[0].DeploymentID
		if complete {
			raw, err := os.ReadFile("../../events/ecs-deployment-completed.json")
			if err != nil {
				t.Fatal(err)
			}
			res, err := h.Event(t.Context(), bytes.ReplaceAll(raw, []byte(sampleDeploymentID), []byte(id)))
			if err != nil || len(res.Results) != 1 || res.Results[0].Rollout != state.Completed {
				t.Fatalf("setup: complete staging's rollout of %s: %+v, %v", tag, res, err)
			}
		}
		return id
	}
}

// TestSampleEvents runs every sample in events/ through the handler, exactly
// as Lambda would deliver it (the events to Event, the manual requests to
// Request), so the samples never drift from the code. A new sample without
// an expectation here fails the test.
func TestSampleEvents(t *testing.T) {
	want := map[string]map[string]string{
		"push.json":            {"dev": "deployed", "staging": "deployed", "production": "skipped manual-environment"},
		"push-prerelease.json": {"dev": "deployed", "staging": "skipped prerelease", "production": "skipped manual-environment"},
		"push-latest.json":     {"dev": "skipped not-semver", "staging": "skipped not-semver", "production": "skipped manual-environment"},
		"push-helm-chart.json": {"": "skipped not-an-image"},
		"push-tagless.json":    {"": "skipped no-tag"},

		"ecs-deployment-in-progress.json": {}, // already in progress: nothing to record
		"ecs-deployment-completed.json":   {"staging": "rollout completed"},
		"ecs-deployment-failed.json":      {"staging": "rollout failed"},
		"ecs-deployment-rollback.json":    {},                         // the circuit breaker's own deployment: not ecrdeploy's
		"ecs-hook-awaiting-action.json":   {"production": "approval"}, // recorded, and announced
		"schedule.json":                   {"hello-color/dev": "deployed", "hello-color/staging": "deployed"},

		"request-deploy.json":         {"production": "deployed"},
		"request-deploy-dry-run.json": {"staging": "planned"},
		"request-promote.json":        {"production": "deployed"},
		"request-rollback.json":       {"staging": "deployed"},
		"request-plan.json":           {"dev": "planned", "staging": "planned", "production": "planned"},
		"request-status.json":         {"dev": "runs -", "staging": "runs 1.1.0 in-progress", "production": "runs -"},
		"request-approve.json":        {"production": "approval approved"},
		"request-reject.json":         {"production": "approval rejected"},
	}
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in events/: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var probe struct{ Source string }
			if err := json.Unmarshal(raw, &probe); err != nil {
				t.Fatalf("%s is not JSON: %v", name, err)
			}
			exp, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for sample %s: add one to this test", name)
			}
			env := seed(t)
			sampleEnv[t.Name()] = env
			// ECR has what it sent push events for (the deployer checks),
			// and the tags the sample requests name.
			env.PutPushedImages(t, "../../events")
			for _, tag := range []string{"1.0.0", "1.2.0"} {
				awstest.Must(env.Local.PutImage(t.Context(), "hello-color", tag, localaws.ImageManifest(tag)))(t)
			}
			h := newTestHandler(env)
			if setup, ok := sampleSetup[name]; ok {
				raw = bytes.ReplaceAll(raw, []byte(sampleDeploymentID), []byte(setup(t, h)))
			}
			if rewrite, ok := sampleRewrite[name]; ok {
				raw = rewrite(t, h, raw)
			}
			entry := h.Event
			if probe.Source == "" {
				entry = h.Request // a manual request: the promoter's input
			}
			res, err := entry(t.Context(), raw)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if res.Error != "" {
				t.Fatalf("result error: %s", res.Error)
			}
			if diff := gocmp.Diff(exp, outcomes(res)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadEventIsReportedNotRetried(t *testing.T) {
	h := &Handler{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))} // no AWS needed: nothing is called
	for name, in := range map[string]string{
		"not json":     `nope`,
		"other source": `{"source":"aws.s3","detail-type":"Object Created","detail":{}}`,
		"bad digest":   `{"source":"aws.ecr","detail-type":"ECR Image Action","account":"123456789012","region":"us-east-1","detail":{"result":"SUCCESS","action-type":"PUSH","repository-name":"hello-color","image-digest":"x","image-tag":"1.0.0"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			res, err := h.Event(t.Context(), json.RawMessage(in))
			if err != nil {
				t.Fatalf("Handle returned %v: a bad event must not be retried", err)
			}
			if !strings.HasPrefix(res.Error, "bad event") {
				t.Errorf("result error = %q, want a bad event error", res.Error)
			}
		})
	}
}

func TestReadSettings(t *testing.T) {
	env := map[string]string{"ECRDEPLOY_PREFIX": "/acme/deploy", "ECRDEPLOY_EVENT_BUS": "deployments", "ECRDEPLOY_CONFIG_TTL": "15s",
		"ECRDEPLOY_TABLE": "acme-deploy-state", "ECRDEPLOY_HISTORY_DAYS": "400"}
	s, err := ReadSettings(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{Prefix: "/acme/deploy", EventBus: "deployments", ConfigTTL: 15 * time.Second, Table: "acme-deploy-state", HistoryRetention: 400 * 24 * time.Hour}
	if diff := gocmp.Diff(want, s); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	d, err := ReadSettings(func(string) string { return "" })
	if err != nil || d.Prefix != "/ecrdeploy" || d.EventBus != "default" || d.ConfigTTL != time.Minute || d.Table != DefaultTable || d.HistoryRetention != 0 {
		t.Errorf("defaults = %+v, %v", d, err)
	}
	for k, v := range map[string]string{"ECRDEPLOY_PREFIX": "ecrdeploy", "ECRDEPLOY_CONFIG_TTL": "soon",
		"ECRDEPLOY_TABLE": "a/b", "ECRDEPLOY_HISTORY_DAYS": "-1"} {
		if _, err := ReadSettings(func(key string) string {
			if key == k {
				return v
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: err = %v, want an error naming the variable", k, v, err)
		}
	}
}

// The configuration store validates documents in the function's own
// region: an environment without region is there (config.ParseIn).
func TestWireValidatesInTheFunctionsRegion(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"}
	h := Wire(cfg, Settings{Prefix: "/ecrdeploy", ConfigTTL: time.Minute}, Options{Log: slog.New(slog.DiscardHandler)})
	store, ok := h.Deployer.Config.(*config.Store)
	if !ok {
		t.Fatalf("the deployer's configuration is a %T, want *config.Store", h.Deployer.Config)
	}
	if store.Region != "us-east-1" {
		t.Errorf("store region %q, want the function's us-east-1", store.Region)
	}
}
