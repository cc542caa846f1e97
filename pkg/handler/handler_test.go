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
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/queue"
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
// reports; a reconcile's rows are keyed "repository/environment", and so
// are a board's cells (their version and state), with "rendered" the
// format the board was written in.
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
	if res.Board != nil {
		for _, row := range res.Board.Repositories {
			for _, c := range row.Cells {
				m[row.Repository+"/"+c.Name] = "board " + cmp.Or(c.Version, "-") + " " + string(c.State)
			}
		}
	}
	switch {
	case strings.HasPrefix(res.Rendered, "<!DOCTYPE html>"):
		m["rendered"] = "html"
	case res.Rendered != "":
		m["rendered"] = "table"
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
	"request-board.json":              deployStaging("1.1.0", true),
	"request-approve.json":            pauseProduction("1.1.0"),
	"request-reject.json":             pauseProduction("1.1.0"),
}

// sampleWorld prepares what the samples of change calendars, replicas and
// restores are about: the configuration, calendar, replica or waiting
// deployment they act on.
var sampleWorld = map[string]func(t *testing.T, env *awstest.Env, h *Handler){
	"calendar-open.json":       frozenPush(true),
	"calendar-closed.json":     frozenPush(false),
	"replication-success.json": pullsFromReplica(true),
	"replication-failed.json":  pullsFromReplica(false),
	"image-restored.json":      rollbackWaitingOnARestore,
}

// sampleCalendar is the calendar the calendar samples are about.
const sampleCalendar = "release-freeze"

// frozenPush returns a setup in which dev and staging wait for
// release-freeze: a push (events/push.json) while it is CLOSED is skipped
// there as frozen; then, if open, the calendar opens.
func frozenPush(open bool) func(t *testing.T, env *awstest.Env, h *Handler) {
	return func(t *testing.T, env *awstest.Env, h *Handler) {
		t.Helper()
		frozen := strings.ReplaceAll(helloColor, `"container":"web","environment"`,
			`"container":"web","freeze":{"calendars":["`+sampleCalendar+`"]},"environment"`)
		awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", frozen))(t)
		arn := awstest.CalendarARN(localaws.Region, localaws.AccountID, sampleCalendar)
		env.Calendars.Close(arn, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		raw, err := os.ReadFile("../../events/push.json")
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.Event(t.Context(), raw)
		if got := outcomes(res); err != nil || got["dev"] != "skipped frozen" || got["staging"] != "skipped frozen" {
			t.Fatalf("setup: a push during the freeze: %v, %v; want dev and staging frozen", got, err)
		}
		if open {
			env.Calendars.Open(arn)
		}
	}
}

// sampleReplica is the registry the replication samples replicate to: the
// same account's, in another region.
const sampleReplica = localaws.AccountID + ".dkr.ecr.us-west-2.amazonaws.com"

// pullsFromReplica returns a setup in which dev pulls from the replica in
// us-west-2, which has (replicated) or has not the image of
// events/push.json.
func pullsFromReplica(replicated bool) func(t *testing.T, env *awstest.Env, h *Handler) {
	return func(t *testing.T, env *awstest.Env, h *Handler) {
		t.Helper()
		doc := strings.Replace(helloColor, `"services":["hello-color-dev"],`, `"services":["hello-color-dev"],"registry":"`+sampleReplica+`",`, 1)
		awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", doc))(t)
		if !replicated {
			return
		}
		push := samplePush(t)
		west := ecr.NewFromConfig(env.Local.Config, func(o *ecr.Options) { o.Region = "us-west-2" })
		if _, err := west.CreateRepository(t.Context(), &ecr.CreateRepositoryInput{RepositoryName: aws.String("hello-color")}); err != nil {
			t.Fatal(err)
		}
		if _, err := west.PutImage(t.Context(), &ecr.PutImageInput{RepositoryName: aws.String("hello-color"), ImageTag: aws.String(push.Tag),
			ImageDigest: aws.String(push.Digest), ImageManifest: aws.String(string(localaws.ImageManifest(push.Tag)))}); err != nil {
			t.Fatal(err)
		}
	}
}

// rollbackWaitingOnARestore has staging run 1.1.0 (events/push.json's
// image), then 1.2.0, both completed; ECR archives 1.1.0; a rollback of
// staging then waits on ECR restoring it (remembered in the state table),
// and ECR finishes the restore.
func rollbackWaitingOnARestore(t *testing.T, env *awstest.Env, h *Handler) {
	t.Helper()
	deployStaging("1.1.0", true)(t, h)
	deployStaging("1.2.0", true)(t, h)
	digest := samplePush(t).Digest
	env.ECRModel.Archive("hello-color", digest)
	res, err := h.Request(t.Context(), json.RawMessage(`{"action":"rollback","repository":"hello-color","environment":"staging"}`))
	if got := outcomes(res)["staging"]; err != nil || got != "skipped restoring" {
		t.Fatalf("setup: rollback to an archived image: %v, %v; want restoring", got, err)
	}
	env.ECRModel.FinishRestore("hello-color", digest)
}

// samplePush is events/push.json.
func samplePush(t *testing.T) event.Push {
	t.Helper()
	raw, err := os.ReadFile("../../events/push.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ev.(event.Push)
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
		"request-board.json": {"hello-color/dev": "board - no-record", "hello-color/staging": "board 1.1.0 completed",
			"hello-color/production": "board - no-record", "rendered": "table"},

		// The calendar that froze dev and staging opens: the push they
		// missed is caught up (the highest version each accepts).
		"calendar-open.json":   {"hello-color/dev": "deployed", "hello-color/staging": "deployed"},
		"calendar-closed.json": {}, // a freeze begins: deploys are refused as they come
		// The replica dev pulls from has 1.1.0 now; or ECR could not copy it.
		"replication-success.json": {"dev": "deployed"},
		"replication-failed.json":  {"dev": "failed"},
		// ECR restored the image a rollback of staging waited on.
		"image-restored.json":  {"hello-color/staging": "deployed"},
		"request-approve.json": {"production": "approval approved"},
		"request-reject.json":  {"production": "approval rejected"},
		// A push's delivery to staging, handed to the deployer's queue until
		// its registration slot (long past: it reserves another), is back.
		"queued-delivery.json": {"staging": "deployed"},
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
			var probe struct {
				Source  string
				Records []json.RawMessage
			}
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
			// and the tags the sample requests name. A push sample runs
			// with only its own image: a higher version in ECR would
			// supersede it.
			if strings.HasPrefix(name, "push") {
				env.PutPushedImages(t, f)
			} else {
				env.PutPushedImages(t, "../../events/*.json")
				for _, tag := range []string{"1.0.0", "1.2.0"} {
					awstest.Must(env.Local.PutImage(t.Context(), "hello-color", tag, localaws.ImageManifest(tag)))(t)
				}
			}
			h := newTestHandler(env)
			if setup, ok := sampleSetup[name]; ok {
				raw = bytes.ReplaceAll(raw, []byte(sampleDeploymentID), []byte(setup(t, h)))
			}
			if setup, ok := sampleWorld[name]; ok {
				setup(t, env, h)
			}
			if rewrite, ok := sampleRewrite[name]; ok {
				raw = rewrite(t, h, raw)
			}
			entry := h.Event
			if probe.Source == "" && probe.Records == nil {
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
		"ECRDEPLOY_TABLE": "acme-deploy-state", "ECRDEPLOY_HISTORY_DAYS": "400",
		"ECRDEPLOY_QUEUE": "https://sqs.us-east-1.amazonaws.com/123456789012/ecrdeploy-RegistrationQueue-a1B2c3"}
	s, err := ReadSettings(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{Prefix: "/acme/deploy", EventBus: "deployments", ConfigTTL: 15 * time.Second, Table: "acme-deploy-state", HistoryRetention: 400 * 24 * time.Hour,
		Queue: "https://sqs.us-east-1.amazonaws.com/123456789012/ecrdeploy-RegistrationQueue-a1B2c3"}
	if diff := gocmp.Diff(want, s); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	d, err := ReadSettings(func(string) string { return "" })
	if err != nil || d.Prefix != "/ecrdeploy" || d.EventBus != "default" || d.ConfigTTL != time.Minute || d.Table != DefaultTable || d.HistoryRetention != 0 || d.Queue != "" {
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

// ECRDEPLOY_QUEUE is the URL of an SQS queue: https, a host and the
// queue's path; a name, an ARN or another scheme is refused, naming the
// variable.
func TestReadSettingsQueue(t *testing.T) {
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"https://sqs.us-east-1.amazonaws.com/123456789012/ecrdeploy-RegistrationQueue-a1B2c3", true},
		{"https://sqs.cn-north-1.amazonaws.com.cn/123456789012/deliveries", true},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/deliveries.fifo", true},
		{"https://vpce-0123-abcd.sqs.us-east-1.vpce.amazonaws.com/123456789012/deliveries", true},
		{"ecrdeploy-RegistrationQueue-a1B2c3", false},
		{"arn:aws:sqs:us-east-1:123456789012:deliveries", false},
		{"http://sqs.us-east-1.amazonaws.com/123456789012/deliveries", false},
		{"https://sqs.us-east-1.amazonaws.com", false},
		{"https://sqs.us-east-1.amazonaws.com/", false},
		{"https:///123456789012/deliveries", false},
		{"https://user:secret@sqs.us-east-1.amazonaws.com/123456789012/deliveries", false},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/deliveries?x=1", false},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/deliveries#x", false},
		{" https://sqs.us-east-1.amazonaws.com/123456789012/deliveries", false},
	} {
		t.Run(tt.value, func(t *testing.T) {
			s, err := ReadSettings(func(k string) string {
				if k == "ECRDEPLOY_QUEUE" {
					return tt.value
				}
				return ""
			})
			switch {
			case tt.ok && (err != nil || s.Queue != tt.value):
				t.Errorf("Queue %q, err %v; want %q", s.Queue, err, tt.value)
			case !tt.ok && (err == nil || !strings.HasPrefix(err.Error(), "ECRDEPLOY_QUEUE: ") || !strings.Contains(err.Error(), "is not the https URL of an SQS queue")):
				t.Errorf("err = %v, want an error naming ECRDEPLOY_QUEUE", err)
			}
		})
	}
}

// The deployer hands deliveries off to the queue only when ECRDEPLOY_QUEUE
// names one; without it (the CLI, the demo) its Queue is nil, not a
// non-nil interface holding nothing.
func TestWireQueue(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"}
	log := slog.New(slog.DiscardHandler)
	if h := Wire(cfg, Settings{Prefix: "/ecrdeploy", ConfigTTL: time.Minute}, Options{Log: log}); h.Deployer.Queue != nil {
		t.Errorf("without a queue setting, the deployer's Queue is %#v, want nil", h.Deployer.Queue)
	}
	const url = "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries"
	h := Wire(cfg, Settings{Prefix: "/ecrdeploy", ConfigTTL: time.Minute, Queue: url}, Options{Log: log})
	q, ok := h.Deployer.Queue.(*queue.SQS)
	if !ok {
		t.Fatalf("the deployer's Queue is a %T, want *queue.SQS", h.Deployer.Queue)
	}
	if q.URL != url {
		t.Errorf("queue URL %q, want %q", q.URL, url)
	}
	if _, ok := q.Client.(*sqs.Client); !ok {
		t.Errorf("queue client is a %T, want *sqs.Client", q.Client)
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
