package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

const (
	goodConfig = "../../pkg/config/testdata/hello-color.json"
	// badConfig has two problems, in two environments.
	badConfig = `{"environments":{"dev":{"cluster":"apps","services":["web"],"versions":"one"},"prod":{"cluster":"apps","services":[],"colour":"red"}}}`
)

// writeFile writes data to a file in a temporary directory and returns its
// path.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigValidate(t *testing.T) {
	bad := writeFile(t, "bad.json", badConfig)
	tests := []struct {
		name       string
		args       []string
		stdin      string
		want       int
		wantOut    string
		wantErrors []string
	}{
		{"valid", []string{"config", "validate", goodConfig}, "", exitOK,
			goodConfig + ": valid (3 environments: dev, production and staging)\n", nil},
		{"valid on stdin", []string{"config", "validate", "-"}, `{"environments":{"dev":{"cluster":"apps","services":["web"]}}}`, exitOK,
			"standard input: valid (1 environment: dev)\n", nil},
		{"invalid", []string{"config", "validate", bad}, "", exitBadInput, "", []string{
			"config " + bad + ": environments.prod.colour: unknown field",
			bad + ": invalid",
		}},
		{"invalid values", []string{"config", "validate", "-"}, `{"environments":{"dev":{"cluster":"apps","services":["web"],"versions":"one"},"prod":{"cluster":"apps","services":[]}}}`, exitBadInput, "", []string{
			"config standard input: environments.dev.versions:",
			"config standard input: environments.prod.services:",
			"standard input: invalid (2 problems)",
		}},
		{"not JSON", []string{"config", "validate", "-"}, `{"environments":`, exitBadInput, "", []string{"standard input: invalid (1 problem)"}},
		{"missing file", []string{"config", "validate", "nope.json"}, "", exitBadInput, "", []string{"nope.json"}},
		{"no file", []string{"config", "validate"}, "", exitBadInput, "", []string{"missing FILE"}},
		{"unknown config command", []string{"config", "frob"}, "", exitBadInput, "", []string{`unknown command "config frob"`}},
		{"no config command", []string{"config"}, "", exitBadInput, "", []string{"usage: ecrdeploy config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, tt.args...)
			if code != tt.want {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, tt.want, stderr)
			}
			if stdout != tt.wantOut {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantOut)
			}
			for _, want := range tt.wantErrors {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func TestConfigPutGet(t *testing.T) {
	env := awstest.New(t)
	env.SetEnv(t)
	t.Setenv("ECRDEPLOY_PREFIX", "/ecrdeploy")
	const param = "/ecrdeploy/config/team/hello-color"

	t.Run("invalid document writes nothing", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, badConfig, "config", "put", "team/hello-color", "-")
		if code != exitBadInput {
			t.Errorf("exit code = %d, want %d\nstderr: %s", code, exitBadInput, stderr)
		}
		if stdout != "" || !strings.Contains(stderr, "environments.prod.colour") {
			t.Errorf("stdout = %q, stderr = %q", stdout, stderr)
		}
		if v, ok := awstest.Must2(env.Local.GetParameter(t.Context(), param))(t); ok {
			t.Errorf("parameter written: %s", v)
		}
		if n := env.Proxy.Total(); n != 0 {
			t.Errorf("%d AWS calls for an invalid document: %v", n, env.Proxy.Operations())
		}
	})

	t.Run("get of an unconfigured repository", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "", "config", "get", "team/hello-color")
		if code != exitBadInput || stdout != "" || !strings.Contains(stderr, "repository team/hello-color is not configured (no parameter "+param+")") {
			t.Errorf("exit code %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})

	doc, err := os.ReadFile(goodConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("put then get", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "", "config", "put", "team/hello-color", goodConfig)
		if code != exitOK {
			t.Fatalf("put: exit code %d, stderr: %s", code, stderr)
		}
		if want := param + ": written (version 1, standard tier, 1326 bytes, 3 environments: dev, production and staging)\n"; stdout != want {
			t.Errorf("put: stdout = %q, want %q", stdout, want)
		}
		if v, _ := awstest.Must2(env.Local.GetParameter(t.Context(), param))(t); v != string(doc) {
			t.Errorf("parameter = %q, want the file unchanged", v)
		}
		code, stdout, stderr = runCLI(t, "", "config", "get", "team/hello-color")
		if code != exitOK || stdout != string(doc) {
			t.Errorf("get: exit code %d, stdout %q, stderr %q; want the document", code, stdout, stderr)
		}
	})

	t.Run("put overwrites, and keeps the old value on a bad one", func(t *testing.T) {
		small := `{"environments":{"dev":{"cluster":"apps","services":["web"]}}}`
		if code, stdout, stderr := runCLI(t, small, "config", "put", "team/hello-color", "-"); code != exitOK || !strings.Contains(stdout, "version 2") {
			t.Fatalf("put: exit code %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if code, _, _ := runCLI(t, badConfig, "config", "put", "team/hello-color", "-"); code != exitBadInput {
			t.Errorf("put of a bad document: exit code %d", code)
		}
		if v, _ := awstest.Must2(env.Local.GetParameter(t.Context(), param))(t); v != small {
			t.Errorf("parameter = %q, want %q", v, small)
		}
	})

	t.Run("a document larger than a standard parameter", func(t *testing.T) {
		var envs []string
		for i := range 90 {
			envs = append(envs, fmt.Sprintf(`"env-%02d":{"cluster":"apps","services":["web-%02d"]}`, i, i))
		}
		large := `{"environments":{` + strings.Join(envs, ",") + `}}`
		if len(large) <= 4096 { // a standard-tier parameter holds 4 KiB
			t.Fatalf("document is only %d bytes", len(large))
		}
		if code, stdout, stderr := runCLI(t, large, "config", "put", "team/large", "-"); code != exitOK || !strings.Contains(stdout, "90 environments") {
			t.Fatalf("put: exit code %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if v, _ := awstest.Must2(env.Local.GetParameter(t.Context(), "/ecrdeploy/config/team/large"))(t); v != large {
			t.Errorf("parameter = %q, want the document", v)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"config", "put", "team/hello-color"}, "missing FILE"},
			{[]string{"config", "put"}, "missing REPO and FILE"},
			{[]string{"config", "put", "Bad Name", goodConfig}, `"Bad Name" is not an ECR repository name`},
			{[]string{"config", "get"}, "missing REPO"},
			{[]string{"config", "get", "a", "b"}, `unexpected argument "b"`},
		} {
			code, _, stderr := runCLI(t, "", tc.args...)
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("%q: exit code %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
			}
		}
	})
}

func TestConfigVerify(t *testing.T) {
	env := awstest.New(t)
	env.SetEnv(t)
	t.Setenv("ECRDEPLOY_PREFIX", "/ecrdeploy")
	awstest.Must(env.Local.CreateCluster(t.Context(), "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../../pkg/taskdef/testdata/fargate-web.json"))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(env.Local.CreateService(t.Context(), "apps", "hello-color-dev", arn, 1))(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/hello/dev/db", "x"))(t)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)

	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web",
		"secrets":{"DB_PASSWORD":"/hello/dev/db"}}}}`))(t)
	code, stdout, stderr := runCLI(t, "", "config", "verify", "hello-color")
	if code != exitOK || !strings.Contains(stdout, "all 6 checks passed") ||
		!strings.Contains(stdout, "ok   lifecycle policy spares every running and rollback-target digest (no lifecycle policy)") {
		t.Errorf("good config: exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}

	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"sidecar",
		"secrets":{"DB_PASSWORD":"/hello/dev/missing"}}}}`))(t)
	code, stdout, _ = runCLI(t, "", "config", "verify", "hello-color")
	if code != exitFailed {
		t.Errorf("bad config: exit %d, want %d\n%s", code, exitFailed, stdout)
	}
	for _, want := range []string{"FAIL dev: hello-color:1 has container(s) sidecar", "FAIL dev: secret DB_PASSWORD parameter /hello/dev/missing exists (parameter /hello/dev/missing not found)", "2 of 6 checks failed"} {
		if !strings.Contains(strings.ReplaceAll(stdout, "arn:aws:ecs:us-east-1:123456789012:task-definition/", ""), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	code, _, _ = runCLI(t, "", "config", "verify", "nope")
	if code != exitBadInput {
		t.Errorf("unconfigured repository: exit %d, want %d", code, exitBadInput)
	}
}
