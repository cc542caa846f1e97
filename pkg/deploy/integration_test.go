package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

const (
	fargateFixture = "../taskdef/testdata/fargate-web.json"
	ec2Fixture     = "../taskdef/testdata/ec2-bridge.json"
	cluster        = "apps"
)

// world is one test's local AWS with hello-color's three services and its
// configuration document.
type world struct {
	env  *awstest.Env
	d    *deploy.Deployer
	logs *bytes.Buffer
}

// newWorld seeds moto with a cluster, dev, staging and production services
// running the fixture's revision, an ECR repository and the config document.
func newWorld(t *testing.T, fixture string, configJSON []byte) *world {
	t.Helper()
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), cluster))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile(fixture))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	for _, svc := range []string{"hello-color-dev", "hello-color-staging", "hello-color-prod"} {
		awstest.Must(env.Local.CreateService(t.Context(), cluster, svc, arn, 1))(t)
	}
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	if configJSON == nil {
		var err error
		if configJSON, err = os.ReadFile("testdata/hello-color.json"); err != nil {
			t.Fatal(err)
		}
	}
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", string(configJSON)))(t)
	w := &world{env: env, logs: &bytes.Buffer{}}
	w.d = newDeployer(env, &lockedWriter{w: w.logs})
	t.Cleanup(func() { checkNoValuesLogged(t, configJSON, w.logs.String()) })
	return w
}

// checkNoValuesLogged checks that no value of an environment variable or a
// secret's valueFrom that the configuration sets appears in what the
// deployer logged: log lines name fields, never their values.
func checkNoValuesLogged(t *testing.T, configJSON []byte, logged string) {
	t.Helper()
	var doc struct {
		Environments map[string]struct {
			Environment map[string]string `json:"environment"`
			Secrets     map[string]string `json:"secrets"`
		} `json:"environments"`
	}
	if json.Unmarshal(configJSON, &doc) != nil {
		return // a test of a bad document: nothing deployed, nothing to leak
	}
	for name, env := range doc.Environments {
		for k, v := range env.Environment {
			if len(v) > 2 && strings.Contains(logged, v) {
				t.Errorf("the log holds the value of %s's variable %s", name, k)
			}
		}
		for k, v := range env.Secrets {
			if strings.Contains(logged, v) {
				t.Errorf("the log holds the valueFrom of %s's secret %s", name, k)
			}
		}
	}
}

// lockedWriter serialises the writes of concurrent loggers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stateStore is the state store of env's table, importing records from
// SSM as the functions' does.
func stateStore(env *awstest.Env) *state.Store {
	s := state.NewStore(env.DynamoDB(), env.Table)
	s.Legacy = state.NewLegacy(env.SSM(), "/ecrdeploy")
	return s
}

func newDeployer(env *awstest.Env, logTo io.Writer) *deploy.Deployer {
	if logTo == nil {
		logTo = io.Discard
	}
	return &deploy.Deployer{
		Config:  config.NewStore(env.SSM(), "/ecrdeploy", time.Minute),
		State:   stateStore(env),
		Targets: &target.Pool{Base: env.Config},
		ECR:     env.ECR(),
		Region:  localaws.Region,
		Log:     slog.New(slog.NewJSONHandler(logTo, nil)),
	}
}

// push makes the image exist in ECR and returns its push event.
func (w *world) push(t *testing.T, tag string) event.Push {
	t.Helper()
	digest := awstest.Must(w.env.Local.PutImage(t.Context(), "hello-color", tag, localaws.ImageManifest("hello-color "+tag)))(t)
	return event.Push{
		ID: "ev-" + tag, Time: time.Now().UTC().Truncate(time.Second), Account: localaws.AccountID, Region: localaws.Region,
		Repository: "hello-color", Tag: tag, Digest: digest,
		ManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
		ArtifactMediaType: "application/vnd.docker.container.image.v1+json",
	}
}

func (w *world) deliver(t *testing.T, p event.Push) deploy.Result {
	t.Helper()
	res, err := w.d.Push(t.Context(), p)
	if err != nil {
		t.Fatalf("Push(%s): %v", p.Tag, err)
	}
	return res
}

// outcomes summarises a result as environment -> "outcome reason".
func outcomes(res deploy.Result) map[string]string {
	m := map[string]string{}
	for _, r := range res.Results {
		m[r.Environment] = strings.TrimSpace(string(r.Outcome) + " " + string(r.Reason))
	}
	return m
}

func row(t *testing.T, res deploy.Result, env string) deploy.Row {
	t.Helper()
	for _, r := range res.Results {
		if r.Environment == env {
			return r
		}
	}
	t.Fatalf("no result for environment %s in %+v", env, res)
	return deploy.Row{}
}

func (w *world) running(t *testing.T, service string) (*ecstypes.TaskDefinition, []ecstypes.Tag) {
	t.Helper()
	arn := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, service))(t)
	return awstest.Must2(w.env.Local.DescribeTaskDefinition(t.Context(), arn))(t)
}

func image(td *ecstypes.TaskDefinition, container string) string {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			return aws.ToString(c.Image)
		}
	}
	return ""
}

// expectRender applies by hand what a deployment may change: the image of
// one container, its variables and secrets, so the test can compare the
// registered revision with the old one field by field.
func expectRender(old *ecs.RegisterTaskDefinitionInput, container, img string, vars, secrets map[string]string) *ecs.RegisterTaskDefinitionInput {
	want := taskdef.Clone(old)
	for i := range want.ContainerDefinitions {
		c := &want.ContainerDefinitions[i]
		if aws.ToString(c.Name) != container {
			continue
		}
		c.Image = aws.String(img)
		for k, v := range vars {
			c.Environment = slices.DeleteFunc(c.Environment, func(kv ecstypes.KeyValuePair) bool { return aws.ToString(kv.Name) == k })
			c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
		}
		for k, v := range secrets {
			c.Secrets = slices.DeleteFunc(c.Secrets, func(s ecstypes.Secret) bool { return aws.ToString(s.Name) == k })
			c.Secrets = append(c.Secrets, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(v)})
		}
	}
	return want
}

func canonical(t *testing.T, in *ecs.RegisterTaskDefinitionInput) string {
	t.Helper()
	b, err := taskdef.Canonical(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPushChangesOnlyImageVariablesAndSecrets(t *testing.T) {
	tests := []struct {
		name, fixture, container string
		config                   string
	}{
		{"fargate with log router sidecar", fargateFixture, "web", ""},
		{"ec2 bridge mode", ec2Fixture, "app", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],
			"environment":{"OCTO_COLOR":"#0f0","NEW_VAR":"x"},"secrets":{"DB_PASSWORD":"arn:aws:ssm:us-east-1:123456789012:parameter/db"}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg []byte
			if tt.config != "" {
				cfg = []byte(tt.config)
			}
			w := newWorld(t, tt.fixture, cfg)
			oldTD, oldTags := w.running(t, "hello-color-dev")
			p := w.push(t, "1.4.0")
			res := w.deliver(t, p)
			if got := outcomes(res)["dev"]; got != "deployed" {
				t.Fatalf("dev outcome = %q, want deployed (result %+v)", got, res)
			}
			newTD, newTags := w.running(t, "hello-color-dev")
			if aws.ToString(newTD.TaskDefinitionArn) == aws.ToString(oldTD.TaskDefinitionArn) {
				t.Fatalf("service still runs %s", aws.ToString(oldTD.TaskDefinitionArn))
			}
			doc, err := config.Parse("test", mustRead(t, tt.config))
			if err != nil {
				t.Fatal(err)
			}
			dev := doc.Environments["dev"]
			img := localaws.ImageURI("hello-color", "1.4.0")
			want := expectRender(taskdef.FromDescribe(oldTD, oldTags), tt.container, img, dev.Environment, dev.Secrets)
			if diff := cmp.Diff(canonical(t, want), canonical(t, taskdef.FromDescribe(newTD, newTags))); diff != "" {
				t.Errorf("registered revision differs from the old one beyond image, variables and secrets (-want +got):\n%s", diff)
			}
			for _, c := range newTD.ContainerDefinitions {
				if aws.ToString(c.Name) == tt.container {
					names := make([]string, 0, len(c.Environment))
					for _, kv := range c.Environment {
						names = append(names, aws.ToString(kv.Name))
					}
					if !slices.IsSorted(names) {
						t.Errorf("environment of %s not sorted: %v", tt.container, names)
					}
				}
			}
			tags := map[string]string{}
			for _, tg := range newTags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			for k, v := range map[string]string{"ecrdeploy:repository": "hello-color", "ecrdeploy:version": "1.4.0", "ecrdeploy:digest": p.Digest, "ecrdeploy:event-id": p.ID} {
				if tags[k] != v {
					t.Errorf("revision tag %s = %q, want %q (tags %v)", k, tags[k], v, tags)
				}
			}
			raw, ok := awstest.Must2(w.env.Local.StateRecord(t.Context(), w.env.Table, "hello-color", "dev"))(t)
			if !ok {
				t.Fatal("no state record of hello-color/dev")
			}
			var rec state.Record
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Version != "1.4.0" || rec.Digest != p.Digest || rec.Image != img || rec.EventID != p.ID || rec.Cause != "push" ||
				!localaws.SameTaskDefinition(rec.Services["hello-color-dev"].TaskDefinition, aws.ToString(newTD.TaskDefinitionArn)) ||
				rec.Services["hello-color-dev"].PreviousTaskDefinition != aws.ToString(oldTD.TaskDefinitionArn) ||
				rec.Services["hello-color-dev"].DeploymentID == "" || rec.Rollout != state.InProgress {
				t.Errorf("state record = %+v", rec)
			}
		})
	}
}

func mustRead(t *testing.T, inline string) []byte {
	t.Helper()
	if inline != "" {
		return []byte(inline)
	}
	b, err := os.ReadFile("testdata/hello-color.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPushDeploysDevAndStagingSkipsProduction(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	var logs bytes.Buffer
	w.d = newDeployer(w.env, &logs)
	before, _ := w.running(t, "hello-color-prod")
	res := w.deliver(t, w.push(t, "1.4.0"))
	want := map[string]string{"dev": "deployed", "staging": "deployed", "production": "skipped manual-environment"}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if res.Version != "1.4.0" || res.Repository != "hello-color" {
		t.Errorf("result header = %+v", res)
	}
	after, _ := w.running(t, "hello-color-prod")
	if aws.ToString(after.TaskDefinitionArn) != aws.ToString(before.TaskDefinitionArn) {
		t.Errorf("production moved to %s", aws.ToString(after.TaskDefinitionArn))
	}
	for _, env := range []string{"dev", "staging"} {
		r := row(t, res, env)
		td, _ := w.running(t, r.Service)
		if got := image(td, "web"); got != localaws.ImageURI("hello-color", "1.4.0") {
			t.Errorf("%s runs %s", env, got)
		}
		if !localaws.SameTaskDefinition(r.TaskDefinition, aws.ToString(td.TaskDefinitionArn)) || r.PreviousTaskDefinition == "" || r.DeploymentID == "" {
			t.Errorf("%s result row = %+v", env, r)
		}
	}
	if _, ok := awstest.Must2(w.env.Local.StateRecord(t.Context(), w.env.Table, "hello-color", "production"))(t); ok {
		t.Error("production has a state record though nothing was deployed there")
	}
	// One JSON log line per decision, with the keys people search by.
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["msg"] == "decision" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("got %d decision log lines, want 3:\n%s", len(lines), logs.String())
	}
	for _, m := range lines {
		for _, k := range []string{"repository", "tag", "environment", "cluster", "service", "outcome", "reason"} {
			if _, ok := m[k]; !ok {
				t.Errorf("decision line lacks %q: %v", k, m)
			}
		}
	}
	if strings.Contains(logs.String(), "#0f0") || strings.Contains(logs.String(), "parameter/hello/dev/db") {
		t.Errorf("logs contain an environment value or secret reference:\n%s", logs.String())
	}
}

func TestRedeliveredEventRegistersNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	p := w.push(t, "1.4.0")
	w.deliver(t, p)
	revisions := len(awstest.Must(w.env.Local.ListTaskDefinitionRevisions(t.Context(), "hello-color"))(t))
	stateBefore, _ := awstest.Must2(w.env.Local.StateRecord(t.Context(), w.env.Table, "hello-color", "dev"))(t)
	w.env.Proxy.Reset()
	res := w.deliver(t, p)
	want := map[string]string{"dev": "unchanged", "staging": "unchanged", "production": "skipped manual-environment"}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	for _, op := range []string{"RegisterTaskDefinition", "UpdateService", "TransactWriteItems"} {
		if n := w.env.Proxy.Count(op); n != 0 {
			t.Errorf("%s called %d times on a re-delivery", op, n)
		}
	}
	if got := len(awstest.Must(w.env.Local.ListTaskDefinitionRevisions(t.Context(), "hello-color"))(t)); got != revisions {
		t.Errorf("revisions = %d after re-delivery, want %d", got, revisions)
	}
	if after, _ := awstest.Must2(w.env.Local.StateRecord(t.Context(), w.env.Table, "hello-color", "dev"))(t); after != stateBefore {
		t.Errorf("state record rewritten on re-delivery")
	}
}

func TestOlderVersionIsNotDeployed(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.3.0"))
	res := w.deliver(t, w.push(t, "1.2.0"))
	if got := outcomes(res)["dev"]; got != "skipped older-than-current" {
		t.Errorf("dev outcome = %q, want skipped older-than-current", got)
	}
	td, _ := w.running(t, "hello-color-dev")
	if got := image(td, "web"); got != localaws.ImageURI("hello-color", "1.3.0") {
		t.Errorf("dev runs %s, want 1.3.0", got)
	}
}

func TestOlderThanRunningImageWithoutState(t *testing.T) {
	// The fixture runs 1.0.0 and no state record exists yet: 0.9.0 is a downgrade.
	w := newWorld(t, fargateFixture, nil)
	res := w.deliver(t, w.push(t, "0.9.0"))
	if got := outcomes(res)["dev"]; got != "skipped older-than-current" {
		t.Errorf("dev outcome = %q, want skipped older-than-current", got)
	}
}

func TestSkipsBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*event.Push)
		want   map[string]string
	}{
		{"latest is not semver", func(p *event.Push) { p.Tag = "latest" },
			map[string]string{"dev": "skipped not-semver", "staging": "skipped not-semver", "production": "skipped manual-environment"}},
		{"helm chart", func(p *event.Push) {
			p.ManifestMediaType, p.ArtifactMediaType = "application/vnd.oci.image.manifest.v1+json", "application/vnd.cncf.helm.config.v1+json"
		}, map[string]string{"": "skipped not-an-image"}},
		{"tagless push", func(p *event.Push) { p.Tag = "" }, map[string]string{"": "skipped no-tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, fargateFixture, nil)
			w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge()} // as in the function: these skips publish nothing either
			p := w.push(t, "1.4.0")
			tt.mutate(&p)
			if _, err := w.d.Config.Get(t.Context(), "hello-color"); err != nil { // warm the config cache
				t.Fatal(err)
			}
			w.env.Proxy.Reset()
			res := w.deliver(t, p)
			if diff := cmp.Diff(tt.want, outcomes(res)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if n := w.env.Proxy.Total(); n != 0 {
				t.Errorf("made %d AWS calls (%v), want 0", n, w.env.Proxy.Calls())
			}
		})
	}
}

func TestPrereleaseGoesOnlyWherePrereleasesAreOn(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	res := w.deliver(t, w.push(t, "1.5.0-rc.1"))
	want := map[string]string{"dev": "deployed", "staging": "skipped prerelease", "production": "skipped manual-environment"}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestOutsideRange(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	res := w.deliver(t, w.push(t, "2.0.0"))
	want := map[string]string{"dev": "deployed", "staging": "skipped outside-range", "production": "skipped manual-environment"}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestMissingServiceFailsOnlyItsEnvironment(t *testing.T) {
	cfg := `{"environments":{
		"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"},
		"qa":{"cluster":"apps","services":["no-such-service"],"container":"web"},
		"staging":{"cluster":"apps","services":["hello-color-staging"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if err != nil {
		t.Fatalf("a missing service is not retryable, but Push returned %v", err)
	}
	want := map[string]string{"dev": "deployed", "qa": "failed", "staging": "deployed"}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if e := row(t, res, "qa").Error; !strings.Contains(e, "no-such-service") || !strings.Contains(e, "not found") {
		t.Errorf("qa error = %q, want it to name the missing service", e)
	}
	if k := deploy.Judge(res, nil); k != deploy.AWS {
		t.Errorf("Judge = %q, want %q: a service failed", k, deploy.AWS)
	}
}

func TestMissingClusterFailsClearly(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"nope","services":["hello-color-dev"]}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if err != nil {
		t.Fatalf("Push returned %v, want the failure in the result", err)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, "cluster not found") {
		t.Errorf("dev = %+v, want failed with cluster not found", r)
	}
}

func TestRetaggedDigestIsSkipped(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	// Overwrite the tag with a different image.
	digest := awstest.Must(w.env.Local.PutImage(t.Context(), "hello-color", "1.4.0", localaws.ImageManifest("rebuilt 1.4.0")))(t)
	p := w.push(t, "1.4.1") // any event; then turn it into the re-tag
	p.Tag, p.Digest, p.ID = "1.4.0", digest, "ev-retag"
	res := w.deliver(t, p)
	if got := outcomes(res)["dev"]; got != "skipped retagged" {
		t.Errorf("dev outcome = %q, want skipped retagged", got)
	}
}

func TestDesiredCountAndDeploymentSentOnlyWhenConfigured(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	var updates []map[string]any
	for _, c := range w.env.Proxy.Log() {
		if c.Operation == "UpdateService" {
			var m map[string]any
			if err := json.Unmarshal(c.Request, &m); err != nil {
				t.Fatal(err)
			}
			updates = append(updates, m)
		}
	}
	if len(updates) != 2 {
		t.Fatalf("got %d UpdateService calls, want 2", len(updates))
	}
	for _, m := range updates {
		switch m["service"] {
		case "hello-color-dev":
			if _, ok := m["desiredCount"]; ok {
				t.Errorf("dev UpdateService sent desiredCount: %v", m)
			}
			if _, ok := m["deploymentConfiguration"]; ok {
				t.Errorf("dev UpdateService sent deploymentConfiguration: %v", m)
			}
		case "hello-color-staging":
			if m["desiredCount"] != float64(2) {
				t.Errorf("staging desiredCount = %v, want 2", m["desiredCount"])
			}
			dc, _ := m["deploymentConfiguration"].(map[string]any)
			cb, _ := dc["deploymentCircuitBreaker"].(map[string]any)
			if dc["maximumPercent"] != float64(200) || dc["minimumHealthyPercent"] != float64(100) || cb["enable"] != true || cb["rollback"] != true {
				t.Errorf("staging deploymentConfiguration = %v", dc)
			}
		default:
			t.Errorf("unexpected UpdateService for %v", m["service"])
		}
	}
	if got := awstest.Must(w.env.Local.DescribeService(t.Context(), cluster, "hello-color-staging"))(t).DesiredCount; got != 2 {
		t.Errorf("staging desiredCount = %d, want 2", got)
	}
}

func TestNoConfig(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	p := w.push(t, "1.4.0")
	p.Repository = "other-repo"
	res := w.deliver(t, p)
	if diff := cmp.Diff(map[string]string{"": "skipped no-config"}, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestBadConfigDeploysNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(`{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"versions":">=x","colour":"red"}}}`))
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if err != nil {
		t.Fatalf("a bad config is not retryable, but Push returned %v", err)
	}
	for _, want := range []string{"/ecrdeploy/config/hello-color", "environments.dev"} {
		if !strings.Contains(res.Error, want) {
			t.Errorf("result error %q does not name %q", res.Error, want)
		}
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition") + w.env.Proxy.Count("UpdateService"); n != 0 {
		t.Errorf("%d mutating ECS calls from a bad config", n)
	}
}

func TestFailureBetweenRegisterAndUpdateConvergesWithoutSecondRevision(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web","environment":{"A":"1"}}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	p := w.push(t, "1.4.0")
	w.env.Proxy.Fail("UpdateService", 1, awstest.AWSError(400, "AccessDeniedException", "not this time"))
	res, _ := w.d.Push(t.Context(), p)
	if got := outcomes(res)["dev"]; got != "failed" {
		t.Fatalf("dev outcome = %q, want failed", got)
	}
	revisions := len(awstest.Must(w.env.Local.ListTaskDefinitionRevisions(t.Context(), "hello-color"))(t))
	res = w.deliver(t, p)
	if got := outcomes(res)["dev"]; got != "deployed" {
		t.Fatalf("re-delivery: dev outcome = %q, want deployed", got)
	}
	if got := len(awstest.Must(w.env.Local.ListTaskDefinitionRevisions(t.Context(), "hello-color"))(t)); got != revisions {
		t.Errorf("re-delivery registered another revision: %d, want %d", got, revisions)
	}
	td, _ := w.running(t, "hello-color-dev")
	if got := image(td, "web"); got != localaws.ImageURI("hello-color", "1.4.0") {
		t.Errorf("dev runs %s", got)
	}
}

func TestStateWriteFailureIsRepairedOnRedelivery(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	p := w.push(t, "1.4.0")
	w.env.Proxy.Fail("TransactWriteItems", 1, awstest.AWSError(400, "AccessDeniedException", "not this time"))
	res, _ := w.d.Push(t.Context(), p)
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, "not recorded") {
		t.Fatalf("dev = %+v, want failed: not recorded", r)
	}
	if _, ok := awstest.Must2(w.env.Local.StateRecord(t.Context(), w.env.Table, "hello-color", "dev"))(t); ok {
		t.Fatal("state written despite the injected failure")
	}
	w.env.Proxy.Reset()
	res = w.deliver(t, p)
	if got := outcomes(res)["dev"]; got != "unchanged" {
		t.Errorf("re-delivery: dev outcome = %q, want unchanged", got)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition") + w.env.Proxy.Count("UpdateService"); n != 0 {
		t.Errorf("re-delivery deployed again (%d mutating calls)", n)
	}
	raw, ok := awstest.Must2(w.env.Local.StateRecord(t.Context(), w.env.Table, "hello-color", "dev"))(t)
	var rec state.Record
	if !ok || json.Unmarshal([]byte(raw), &rec) != nil || rec.Version != "1.4.0" || rec.Digest != p.Digest {
		t.Errorf("state not repaired: %q", raw)
	}
}

func TestThrottlingIsRetriedBySDK(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	w.env.Proxy.Fail("RegisterTaskDefinition", 2, awstest.Throttling())
	w.env.Proxy.Fail("UpdateService", 1, awstest.ServerError(503))
	res := w.deliver(t, w.push(t, "1.4.0"))
	if got := outcomes(res)["dev"]; got != "deployed" {
		t.Errorf("dev outcome = %q, want deployed after retries", got)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition"); n != 3 {
		t.Errorf("RegisterTaskDefinition calls = %d, want 3 (2 throttled)", n)
	}
}

func TestPersistentThrottlingIsReturnedForRetry(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	w.env.Proxy.Fail("DescribeServices", awstest.Always, awstest.Throttling())
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if err == nil || !target.Retryable(err) {
		t.Fatalf("Push error = %v, want a retryable error so EventBridge retries", err)
	}
	if got := outcomes(res)["dev"]; got != "failed" {
		t.Errorf("dev outcome = %q, want failed", got)
	}
}

// TestCallsOfOneDeployment records the API calls of a single-environment
// deployment with a warm config cache, as the function makes them (it knows
// its account, so the push is checked against ECR); the figures go into the
// closing note and docs. It asserts the budget: one call more than before
// ECS became the source of truth (the DescribeImages of the push check, in
// the same round trip as the state read), and a duplicate read-only.
func TestCallsOfOneDeployment(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	w.d.Account = func(context.Context) (string, error) { return localaws.AccountID, nil }
	if _, err := w.d.Config.Get(t.Context(), "hello-color"); err != nil {
		t.Fatal(err)
	}
	// A warm process has also learnt that no earlier release left records
	// in SSM (once per process).
	if _, err := w.d.State.Get(t.Context(), "hello-color", "none"); !errors.Is(err, state.ErrNotFound) {
		t.Fatal(err)
	}
	p := w.push(t, "1.4.0")
	w.env.Proxy.Reset()
	w.deliver(t, p)
	calls := w.env.Proxy.Calls()
	t.Logf("calls of one warm single-environment deployment: %v (total %d)", calls, w.env.Proxy.Total())
	// The claim reads the record; the write that records the deployment
	// releases it.
	want := map[string]int{"UpdateItem": 1, "DescribeServices": 2, "DescribeTaskDefinition": 1,
		"RegisterTaskDefinition": 1, "UpdateService": 1, "TransactWriteItems": 1, "DescribeImages": 1}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	w.env.Proxy.Reset()
	w.deliver(t, p)
	t.Logf("calls of a duplicate: %v", w.env.Proxy.Calls())
	// A claim and its release, the describes and the push check.
	if n := w.env.Proxy.Total(); n > 5 {
		t.Errorf("a duplicate made %d calls, want at most 5", n)
	}
	if ops := mutating(w.env); len(ops) != 0 {
		t.Errorf("a duplicate made mutating calls %v", ops)
	}
}

// A first push into a service whose named container runs a placeholder
// (another repository's image) deploys: the placeholder's tag says nothing
// of this repository's versions.
func TestFirstPushReplacesPlaceholderImage(t *testing.T) {
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), cluster))(t)
	in := awstest.Must(localaws.ParseTaskDefinition([]byte(`{"family":"hello-color","containerDefinitions":[{"name":"web","image":"nginx:1.27.3","memory":128,"essential":true}]}`)))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(env.Local.CreateService(t.Context(), cluster, "hello-color-dev", arn, 1))(t)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", oneEnv))(t)
	w := &world{env: env, d: newDeployer(env, nil)}
	res := w.deliver(t, w.push(t, "1.4.0"))
	if got := outcomes(res)["dev"]; got != "deployed" {
		t.Errorf("dev = %q, want deployed over the placeholder", got)
	}
}
