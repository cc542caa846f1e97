package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// promoterConfig has hello-color in dev (automatic, a service that exists),
// qa (a service that does not) and production (manual, 1.x only).
const promoterConfig = `{"environments":{
  "dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web","environment":{"OCTO_ENV":"Development"}},
  "qa":{"cluster":"apps","services":["gone"]},
  "production":{"trigger":"manual","versions":"^1.0.0","cluster":"apps","services":["hello-color"],"container":"web"}}}`

// seedPromoter points the SDK at a fresh moto with hello-color configured,
// its services running 1.0.0, and the tags 1.0.0, 1.4.0 and 2.0.0 in ECR.
func seedPromoter(t *testing.T) *awstest.Env {
	t.Helper()
	env := awstest.New(t)
	env.SetEnv(t)
	t.Setenv("ECRDEPLOY_PREFIX", "/ecrdeploy")
	awstest.Must(env.Local.CreateCluster(t.Context(), "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../../pkg/taskdef/testdata/fargate-web.json"))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(env.Local.CreateService(t.Context(), "apps", "hello-color-dev", arn, 1))(t)
	awstest.Must(env.Local.CreateService(t.Context(), "apps", "hello-color", arn, 1))(t)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	for _, tag := range []string{"1.0.0", "1.4.0", "2.0.0"} {
		awstest.Must(env.Local.PutImage(t.Context(), "hello-color", tag, localaws.ImageManifest(tag)))(t)
	}
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", promoterConfig))(t)
	return env
}

func TestManualLocal(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     int
		wantOut  []string
		wantErrs []string
	}{
		{"deploy", []string{"deploy", "hello-color", "1.4.0", "--env", "production"}, exitOK,
			[]string{"hello-color:1.4.0 (", "ENVIRONMENT", "production   hello-color  deployed"}, nil},
		{"deploy, dry run", []string{"deploy", "hello-color", "1.4.0", "--env", "production", "--dry-run"}, exitOK,
			[]string{"planned", "=== production/hello-color: planned", "+      \"image\": \"" + localaws.ImageURI("hello-color", "1.4.0")}, nil},
		{"deploy outside the range does nothing", []string{"deploy", "hello-color", "2.0.0", "--env", "production"}, exitNothing,
			[]string{"skipped", "outside-range"}, []string{"ecrdeploy: nothing done: production/hello-color: outside-range (--force would deploy it)"}},
		{"an environment fails", []string{"deploy", "hello-color", "1.4.0", "--env", "qa"}, exitFailed,
			[]string{"qa           gone     failed", "qa/gone: "}, nil},
		{"tag not in ECR", []string{"deploy", "hello-color", "9.9.9", "--env", "dev"}, exitBadInput,
			nil, []string{"ecrdeploy: ", "9.9.9", "image not found"}},
		{"unconfigured repository", []string{"status", "nothing-here"}, exitBadInput,
			nil, []string{"ecrdeploy: repository nothing-here is not configured"}},
		{"unconfigured environment", []string{"rollback", "hello-color", "--env", "staging"}, exitBadInput,
			nil, []string{"ecrdeploy: ", `"staging"`, "environment not configured"}},
		{"bad request", []string{"deploy", "hello-color", "not a tag", "--env", "dev"}, exitBadInput,
			nil, []string{"ecrdeploy: bad request: tag: "}},
		{"promote from nothing", []string{"promote", "hello-color", "--from", "dev", "--to", "production"}, exitBadInput,
			nil, []string{"ecrdeploy: ", "nothing deployed"}},
		{"plan", []string{"plan", "hello-color", "1.4.0"}, exitFailed,
			[]string{"dev          hello-color-dev  planned", "production   hello-color      planned", "qa           gone             failed", "=== dev/hello-color-dev: planned"}, nil},
		{"status", []string{"status", "hello-color"}, exitOK,
			[]string{"ENVIRONMENT  TRIGGER  VERSION", "production   manual   -"}, nil},
		{"approve with nothing pending", []string{"approve", "hello-color", "--env", "production"}, exitBadInput,
			nil, []string{"ecrdeploy: approve hello-color in production: nothing awaits approval: nothing was deployed there"}},
		{"reject with nothing pending", []string{"reject", "hello-color", "--env", "production", "--reason", "error rate"}, exitBadInput,
			nil, []string{"ecrdeploy: reject hello-color in production: nothing awaits approval"}},
		{"wait until approval without an approval stage", []string{"deploy", "hello-color", "1.4.0", "--env", "production", "--until", "approval"}, exitBadInput,
			nil, []string{"ecrdeploy: wait until approval in production of hello-color: the environment has no approval stage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seedPromoter(t)
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout does not contain %q:\n%s", want, stdout)
				}
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
			if len(tt.wantErrs) == 0 && stderr != "" {
				t.Errorf("stderr:\n%s", stderr)
			}
			if strings.Contains(stdout, "\x1b[") {
				t.Errorf("colour on a non-terminal:\n%s", stdout)
			}
		})
	}
}

// TestManualJSON checks that -o json prints the result exactly as the Lambda
// runtime encodes it: compact, without HTML escaping, one line.
func TestManualJSON(t *testing.T) {
	seedPromoter(t)
	code, stdout, stderr := runCLI(t, "", "deploy", "hello-color", "1.4.0", "--env", "production", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr: %s", code, stderr)
	}
	var res deploy.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not a result: %v\n%s", err, stdout)
	}
	want, err := res.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want)+"\n" {
		t.Errorf("stdout is not the Lambda encoding of its result:\n got %s\nwant %s", stdout, want)
	}
	if len(res.Results) != 1 || res.Results[0].Outcome != deploy.Deployed {
		t.Errorf("results = %+v, want one deployed", res.Results)
	}

	// An error result is printed too, and its error on stderr.
	code, stdout, stderr = runCLI(t, "", "status", "nothing-here", "-o", "json")
	if code != exitBadInput || !strings.HasPrefix(stdout, `{"repository":"nothing-here","results":[],"error":"`) || !strings.HasPrefix(stderr, "ecrdeploy: ") {
		t.Errorf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
