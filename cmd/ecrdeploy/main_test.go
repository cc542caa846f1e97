package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

func TestMain(m *testing.M) {
	code := awstest.RunMain(m)
	for _, dir := range tempDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// tempDirs are directories that outlive a test (binaries built once per test
// binary); TestMain removes them.
var tempDirs []string

// seed creates hello-color's dev service and a config whose qa environment
// names a service that does not exist.
func seed(t *testing.T, config string) {
	t.Helper()
	env := awstest.New(t)
	env.SetEnv(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../../pkg/taskdef/testdata/fargate-web.json"))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(env.Local.CreateService(t.Context(), "apps", "hello-color-dev", arn, 1))(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", config))(t)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	env.PutPushedImages(t, "../../events/*.json")
}

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errOut, os.Getenv)
	return code, out.String(), errOut.String()
}

func TestHandleExitCodes(t *testing.T) {
	push, err := os.ReadFile("../../events/push.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		config   string
		args     []string
		stdin    string
		want     int
		wantOut  string
		wantErrs string
	}{
		{"deployed", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"]}}}`,
			[]string{"handle", "../../events/push.json"}, "", exitOK, `"outcome": "deployed"`, ""},
		{"event on stdin", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"]}}}`,
			[]string{"handle", "-"}, string(push), exitOK, `"outcome": "deployed"`, ""},
		{"an environment failed", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"]},"qa":{"cluster":"apps","services":["gone"]}}}`,
			[]string{"handle", "../../events/push.json"}, "", exitFailed, `"outcome": "failed"`, ""},
		{"bad event", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"]}}}`,
			[]string{"handle"}, `{"source":"aws.s3"}`, exitBadInput, `"error": "bad event`, "bad event"},
		{"bad config", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"versions":"one"}}}`,
			[]string{"handle", "../../events/push.json"}, "", exitBadInput, "environments.dev.versions", "environments.dev.versions"},
		{"missing file", `{"environments":{}}`, []string{"handle", "nope.json"}, "", exitBadInput, "", "nope.json"},
		{"two files", `{"environments":{}}`, []string{"handle", "a", "b"}, "", exitBadInput, "", "at most one"},
		{"no command", `{"environments":{}}`, nil, "", exitBadInput, "", "usage"},
		{"unknown command", `{"environments":{}}`, []string{"frobnicate"}, "", exitBadInput, "", `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed(t, tt.config)
			code, out, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != tt.want {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errOut, tt.wantErrs) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantErrs, errOut)
			}
			if out != "" {
				var res deploy.Result
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Errorf("stdout is not a JSON result: %v", err)
				}
			}
		})
	}
}
