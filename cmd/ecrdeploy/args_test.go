package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

func TestParseManual(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     request.Request
		wantOpts manualOptions
	}{
		{"deploy, flags last", []string{"deploy", "hello-color", "1.4.0", "--env", "production"},
			request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "production"}, manualOptions{output: "table"}},
		{"deploy, flags first", []string{"deploy", "--env=production", "--force", "--wait", "--dry-run", "-o", "json", "hello-color", "1.4.0"},
			request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "production", Force: true, Wait: true, DryRun: true}, manualOptions{output: "json"}},
		{"deploy, flags between", []string{"deploy", "hello-color", "-env", "dev", "1.4.0", "--function", "ecrdeploy-promoter", "--output", "json"},
			request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "dev"}, manualOptions{output: "json", function: "ecrdeploy-promoter"}},
		{"deploy, tag after --", []string{"deploy", "--env", "dev", "--", "hello-color", "-weird"},
			request.Request{Action: "deploy", Repository: "hello-color", Tag: "-weird", Environment: "dev"}, manualOptions{output: "table"}},
		{"promote", []string{"promote", "hello-color", "--from", "staging", "--to", "production", "--wait"},
			request.Request{Action: "promote", Repository: "hello-color", From: "staging", To: "production", Wait: true}, manualOptions{output: "table"}},
		{"promote from promoteFrom", []string{"promote", "hello-color", "--to", "production", "-v"},
			request.Request{Action: "promote", Repository: "hello-color", To: "production"}, manualOptions{output: "table", verbose: true}},
		{"rollback", []string{"rollback", "hello-color", "--env", "production", "--dry-run"},
			request.Request{Action: "rollback", Repository: "hello-color", Environment: "production", DryRun: true}, manualOptions{output: "table"}},
		{"plan", []string{"plan", "hello-color", "1.5.0-rc.1"},
			request.Request{Action: "plan", Repository: "hello-color", Tag: "1.5.0-rc.1"}, manualOptions{output: "table"}},
		{"plan one environment", []string{"plan", "team/web", "v2", "--env", "staging"},
			request.Request{Action: "plan", Repository: "team/web", Tag: "v2", Environment: "staging"}, manualOptions{output: "table"}},
		{"status", []string{"status", "hello-color", "-o", "json"},
			request.Request{Action: "status", Repository: "hello-color"}, manualOptions{output: "json"}},
		{"approve", []string{"approve", "hello-color", "--env", "production", "--function", "ecrdeploy-promoter"},
			request.Request{Action: "approve", Repository: "hello-color", Environment: "production"}, manualOptions{output: "table", function: "ecrdeploy-promoter"}},
		{"reject", []string{"reject", "hello-color", "--env", "production", "--reason", "error rate above 2 %"},
			request.Request{Action: "reject", Repository: "hello-color", Environment: "production", Reason: "error rate above 2 %"}, manualOptions{output: "table"}},
		{"deploy until test traffic implies wait", []string{"deploy", "hello-color", "1.4.0", "--env", "production", "--until", "test-traffic"},
			request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "production", Wait: true, Until: "test-traffic"}, manualOptions{output: "table"}},
		{"promote until approval", []string{"promote", "hello-color", "--to", "production", "--wait", "--until=approval"},
			request.Request{Action: "promote", Repository: "hello-color", To: "production", Wait: true, Until: "approval"}, manualOptions{output: "table"}},
		{"region and profile", []string{"status", "hello-color", "--region", "eu-west-1", "--profile=prod"},
			request.Request{Action: "status", Repository: "hello-color"}, manualOptions{output: "table", aws: awsFlags{region: "eu-west-1", profile: "prod"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			req, opts, code, ok := parseManual(tt.args[0], tt.args[1:], &stdout, &stderr)
			if !ok {
				t.Fatalf("parseManual failed with exit %d: %s", code, stderr.String())
			}
			if diff := cmp.Diff(tt.want, req); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOpts, opts, cmp.AllowUnexported(manualOptions{}, awsFlags{})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			// What the CLI sends is what the promoter decodes.
			payload, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := request.Decode(payload)
			if err != nil && tt.want.Tag != "-weird" {
				t.Errorf("request.Decode(%s): %v", payload, err)
			}
			if err == nil {
				if diff := cmp.Diff(req, decoded); diff != "" {
					t.Errorf("decoded request (-sent +decoded):\n%s", diff)
				}
			}
		})
	}
}

func TestManualUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"deploy without arguments", []string{"deploy"}, "missing REPO and TAG"},
		{"deploy without tag", []string{"deploy", "hello-color", "--env", "dev"}, "missing TAG"},
		{"deploy without environment", []string{"deploy", "hello-color", "1.4.0"}, "missing --env ENVIRONMENT"},
		{"deploy with an extra argument", []string{"deploy", "hello-color", "1.4.0", "dev"}, `unexpected argument "dev"`},
		{"promote without target", []string{"promote", "hello-color", "--from", "staging"}, "missing --to ENVIRONMENT"},
		{"promote without repository", []string{"promote", "--to", "production"}, "missing REPO"},
		{"rollback without environment", []string{"rollback", "hello-color"}, "missing --env ENVIRONMENT"},
		{"plan without tag", []string{"plan", "hello-color"}, "missing TAG"},
		{"status without repository", []string{"status"}, "missing REPO"},
		{"status with an extra argument", []string{"status", "hello-color", "dev"}, `unexpected argument "dev"`},
		{"unknown flag", []string{"deploy", "hello-color", "1.4.0", "--env", "dev", "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{"flag of another verb", []string{"status", "hello-color", "--force"}, "flag provided but not defined: -force"},
		{"env on promote", []string{"promote", "hello-color", "--to", "b", "--env", "a"}, "flag provided but not defined: -env"},
		{"flag without value", []string{"deploy", "hello-color", "1.4.0", "--env"}, "flag needs an argument: -env"},
		{"bad boolean", []string{"deploy", "hello-color", "1.4.0", "--env", "dev", "--wait=maybe"}, "invalid boolean value"},
		{"bad output", []string{"status", "hello-color", "-o", "yaml"}, `-o "yaml": want table or json`},
		{"approve without environment", []string{"approve", "hello-color"}, "missing --env ENVIRONMENT"},
		{"reject without reason", []string{"reject", "hello-color", "--env", "production"}, "missing --reason TEXT"},
		{"reason on approve", []string{"approve", "hello-color", "--env", "production", "--reason", "x"}, "flag provided but not defined: -reason"},
		{"until on status", []string{"status", "hello-color", "--until", "done"}, "flag provided but not defined: -until"},
		{"wait on approve", []string{"approve", "hello-color", "--env", "production", "--wait"}, "flag provided but not defined: -wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != exitBadInput {
				t.Errorf("exit code = %d, want %d", code, exitBadInput)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantErr, stderr)
			}
			if !strings.Contains(stderr, "usage: ecrdeploy "+tt.args[0]) {
				t.Errorf("stderr does not show the usage:\n%s", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"deploy", "--help"}, {"promote", "-h"}, {"rollback", "hello-color", "--help"}, {"plan", "-help"}, {"status", "--help"},
		{"config", "validate", "--help"}, {"config", "put", "-h"}, {"config", "get", "--help"}, {"handle", "--help"},
		{"config", "help"}, {"help"}, {"board", "--help"}, {"approve", "--help"}, {"reject", "-h"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", args...)
			if code != exitOK {
				t.Errorf("exit code = %d, want 0; stderr: %s", code, stderr)
			}
			if !strings.HasPrefix(stdout, "usage: ecrdeploy") {
				t.Errorf("stdout does not start with the usage:\n%s", stdout)
			}
		})
	}
	_, stdout, _ := runCLI(t, "", "deploy", "--help")
	for _, want := range []string{"--env environment", "--force", "--wait", "--dry-run", "-o format", "--function name", "(default table)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("deploy --help does not mention %q:\n%s", want, stdout)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		wantEnv string
		wantF   bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, "", false},
		{[]string{"a", "--env", "x", "b", "-f"}, []string{"a", "b"}, "x", true},
		{[]string{"-", "--env=x"}, []string{"-"}, "x", false},
		{[]string{"a", "--", "--env", "x"}, []string{"a", "--env", "x"}, "", false},
		{[]string{"--env", "--", "a"}, []string{"a"}, "--", false},
		{[]string{"-f", "--", "-x"}, []string{"-x"}, "", true},
		{nil, nil, "", false},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		env := fs.String("env", "", "")
		f := fs.Bool("f", false, "")
		got, err := parseInterleaved(fs, tt.args)
		if err != nil {
			t.Errorf("parseInterleaved(%q): %v", tt.args, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" || *env != tt.wantEnv || *f != tt.wantF {
			t.Errorf("parseInterleaved(%q) = %q, env %q, f %v; want %q, %q, %v", tt.args, got, *env, *f, tt.want, tt.wantEnv, tt.wantF)
		}
	}
}
