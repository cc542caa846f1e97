package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestSignalEndsStdinRead sends this process SIGINT and SIGTERM while the
// CLI reads standard input from a pipe whose writer stays open: the read
// ends at once, with the shell's exit code for the signal.
func TestSignalEndsStdinRead(t *testing.T) {
	for _, tt := range []struct {
		sig  os.Signal
		args []string
		want int
	}{
		{os.Interrupt, []string{"handle", "-"}, 130},
		{syscall.SIGTERM, []string{"config", "validate", "-"}, 143},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close() // open until the end: the read never ends by itself
			ctx, stop := signalContext(t.Context())
			defer stop()
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, tt.args, r, &stdout, &stderr, func(string) string { return "" }) }()
			self, err := os.FindProcess(os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			if err := self.Signal(tt.sig); err != nil {
				t.Skipf("cannot signal this process: %v", err)
			}
			select {
			case code := <-done:
				if code != tt.want {
					t.Errorf("exit code = %d, want %d\nstderr: %s", code, tt.want, stderr.String())
				}
				if want := "ecrdeploy: read standard input: " + (&signalError{tt.sig}).Error() + "\n"; !strings.HasPrefix(stderr.String(), want) {
					t.Errorf("stderr = %q, want %q", stderr.String(), want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the read did not end on the signal")
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, stdout, stderr := runCLI(t, "", arg)
		if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "ecrdeploy ") || !strings.HasSuffix(stdout, " ("+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+")\n") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
	}
	info := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e"},
		{Key: "vcs.time", Value: "2026-11-27T08:52:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	platform := " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	for _, tt := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{info, true, "ecrdeploy v1.2.0 0c3bbf0c31e1+modified 2026-11-27T08:52:00Z" + platform},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, true, "ecrdeploy v1.2.0" + platform},
		{&debug.BuildInfo{}, true, "ecrdeploy (devel)" + platform},
		{nil, false, "ecrdeploy (devel)" + platform},
	} {
		if got := versionOf(tt.info, tt.ok); got != tt.want {
			t.Errorf("versionOf = %q, want %q", got, tt.want)
		}
	}
}

// TestRegionAndProfile checks --region and --profile against moto, whose
// parameters are per region: the document is put in the default region.
func TestRegionAndProfile(t *testing.T) {
	env := awstest.New(t)
	env.SetEnv(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{"dev":{"cluster":"apps","services":["web"]}}}`))(t)
	configFile := writeFile(t, "config", "[profile eu]\nregion = eu-west-1\naws_access_key_id = test\naws_secret_access_key = test\n")
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    int
		wantErr string
	}{
		{"the default region", nil, nil, exitOK, ""},
		{"--region", nil, []string{"--region", "eu-west-1"}, exitBadInput, "repository hello-color is not configured"},
		{"--region=", nil, []string{"--region=" + os.Getenv("AWS_REGION")}, exitOK, ""},
		{"--profile", map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_CONFIG_FILE": configFile}, []string{"--profile", "eu"}, exitBadInput, "repository hello-color is not configured"},
		{"--profile and --region", map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_CONFIG_FILE": configFile}, []string{"--profile", "eu", "--region", os.Getenv("AWS_REGION")}, exitOK, ""},
		{"a profile that does not exist", nil, []string{"--profile", "nope"}, exitBadInput, "ecrdeploy: load AWS configuration: "},
		{"--region twice", nil, []string{"--region", "eu-west-1", "--region", "us-east-1"}, exitBadInput, `invalid value "us-east-1" for flag -region: given more than once (already "eu-west-1")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCLI(t, "", append([]string{"config", "get", "hello-color"}, tt.args...)...)
			if code != tt.want || !strings.Contains(stderr, tt.wantErr) || (tt.wantErr == "" && stderr != "") {
				t.Errorf("exit code %d, stderr %q; want %d and %q", code, stderr, tt.want, tt.wantErr)
			}
		})
	}
	// Every command that calls AWS has both flags.
	for _, args := range [][]string{{"deploy"}, {"promote"}, {"rollback"}, {"plan"}, {"status"}, {"handle"},
		{"config", "put"}, {"config", "get"}, {"config", "list"}, {"config", "diff"}, {"config", "verify"}, {"lifecycle"}} {
		_, stdout, _ := runCLI(t, "", append(args, "--help")...)
		if !strings.Contains(stdout, "--region region") || !strings.Contains(stdout, "--profile profile") {
			t.Errorf("%s --help does not list --region and --profile:\n%s", strings.Join(args, " "), stdout)
		}
	}
}

// TestErrorConventions checks the conventions every command follows: one
// error prefix, a flag error shows the command's usage and flags, a flag
// that takes a value is given once.
func TestErrorConventions(t *testing.T) {
	for _, args := range [][]string{
		{"deploy", "hello-color", "1.4.0", "--env", "dev", "--bogus"},
		{"status", "hello-color", "--bogus"},
		{"handle", "--bogus"},
		{"config", "validate", "--bogus"},
		{"config", "put", "--bogus"},
		{"config", "list", "--bogus"},
		{"config", "diff", "--bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", args...)
			verb := strings.Join(args[:len(args)-1], " ")
			if args[0] != "config" {
				verb = args[0]
			}
			if code != exitBadInput || stdout != "" {
				t.Errorf("exit code %d, stdout %q", code, stdout)
			}
			if want := "ecrdeploy: flag provided but not defined: -bogus\nusage: ecrdeploy " + verb + " "; !strings.HasPrefix(stderr, want) {
				t.Errorf("stderr does not start with %q:\n%s", want, stderr)
			}
			if verb != "config validate" && !strings.Contains(stderr, "\nflags:\n") { // validate has none
				t.Errorf("stderr does not list the flags:\n%s", stderr)
			}
		})
	}
	code, _, stderr := runCLI(t, "", "deploy", "hello-color", "1.4.0", "--env", "dev", "--env", "production")
	if want := `ecrdeploy: invalid value "production" for flag -env: given more than once (already "dev")`; code != exitBadInput || !strings.HasPrefix(stderr, want) {
		t.Errorf("--env twice: exit %d, stderr %q; want %q", code, stderr, want)
	}
	// Every line of an error starts with the prefix, for every kind of error.
	for _, args := range [][]string{{"frobnicate"}, {"config", "frob"}, {"status"}, {"config", "validate", "nope.json"}} {
		_, _, stderr := runCLI(t, "", args...)
		if !strings.HasPrefix(stderr, errorPrefix) || strings.Contains(stderr, "error: ") {
			t.Errorf("%q: stderr %q does not start with %q", args, stderr, errorPrefix)
		}
	}
	code, _, stderr = runCLI(t, badConfig, "config", "validate", "-")
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if code != exitBadInput || !strings.HasPrefix(line, errorPrefix) {
			t.Errorf("config validate of a bad document: exit %d, line %q", code, line)
		}
	}
}

func TestWords(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, "none"},
		{[]string{"dev"}, "dev"},
		{[]string{"dev", "staging"}, "dev and staging"},
		{[]string{"dev", "production", "staging"}, "dev, production and staging"},
	} {
		if got := input.Words(tt.in); got != tt.want {
			t.Errorf("input.Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHandleLogFormat checks that handle logs as the functions do in
// CloudWatch: "message", not slog's "msg".
func TestHandleLogFormat(t *testing.T) {
	seed(t, `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"]}}}`)
	code, _, stderr := runCLI(t, "", "handle", "../../events/push.json")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	line, _, _ := strings.Cut(stderr, "\n")
	var entry map[string]any
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	for _, key := range []string{"timestamp", "level", "message"} {
		if _, ok := entry[key]; !ok {
			t.Errorf("log line has no %q: %s", key, line)
		}
	}
	if _, ok := entry["msg"]; ok {
		t.Errorf("log line has slog's msg: %s", line)
	}
}

// modified matches the time of a parameter's last change in a table or in
// JSON, which differs from run to run.
var modified = regexp.MustCompile(`\d{4}-\d\d-\d\d( \d\d:\d\d UTC|T[0-9:.]+Z)`)

// TestConfigListDiffPut runs list, diff and put on a moto with two
// repositories, one of whose documents is invalid, and compares the output
// with golden files.
func TestConfigListDiffPut(t *testing.T) {
	env := awstest.New(t)
	env.SetEnv(t)
	t.Setenv("ECRDEPLOY_PREFIX", "/ecrdeploy")
	run := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, stdin, args...)
		if code != exitOK {
			t.Fatalf("%q: exit code %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
		return modified.ReplaceAllString(stdout, "2026-11-27 08:52 UTC")
	}

	golden(t, "config-list-empty.golden", run(t, "", "config", "list"))
	golden(t, "config-diff-new.golden", run(t, "", "config", "diff", "hello-color", goodConfig))
	golden(t, "config-put-written.golden", run(t, "", "config", "put", "hello-color", goodConfig))
	golden(t, "config-put-unchanged.golden", run(t, "", "config", "put", "hello-color", goodConfig))
	golden(t, "config-put-unchanged.json.golden", run(t, "", "config", "put", "hello-color", goodConfig, "-o", "json"))
	if n := env.Proxy.Calls()["PutParameter"]; n != 1 {
		t.Errorf("PutParameter called %d times, want once: the second put was identical", n)
	}
	golden(t, "config-diff-unchanged.golden", run(t, "", "config", "diff", "hello-color", goodConfig))

	doc, err := os.ReadFile(goodConfig)
	if err != nil {
		t.Fatal(err)
	}

	// Without dev, with a new qa, and staging on 2.x.
	text := string(doc)
	start, end := strings.Index(text, `    "dev": {`), strings.Index(text, `    "staging": {`)
	if start < 0 || end < start {
		t.Fatalf("%s has no dev environment before staging", goodConfig)
	}
	text = text[:start] + `    "qa": { "cluster": "apps", "services": ["hello-color-qa"] },` + "\n" + text[end:]
	changed := strings.Replace(text, `"versions": "^1.0.0",
      "cluster": "apps-staging"`, `"versions": "^2.0.0",
      "cluster": "apps-staging"`, 1)
	golden(t, "config-diff.golden", run(t, changed, "config", "diff", "hello-color", "-"))
	golden(t, "config-diff.json.golden", run(t, changed, "config", "diff", "hello-color", "-", "-o", "json"))

	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/team/broken", `{"environments":{}}`))(t)
	large := `{"environments":{` + strings.Repeat(" ", 4200) + `"dev":{"cluster":"apps","services":["web"]}}}`
	golden(t, "config-put-large.golden", run(t, large, "config", "put", "team/large", "-"))
	golden(t, "config-list.golden", run(t, "", "config", "list"))
	golden(t, "config-list.json.golden", run(t, "", "config", "list", "-o", "json"))
}
