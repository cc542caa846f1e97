package main

// The Runtime Interface Emulator runs only on Linux, hence the file name.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/child"
	"github.com/ecrdeploy/ecrdeploy/internal/funcerr"
	"github.com/ecrdeploy/ecrdeploy/internal/rie"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

// promoterBinary builds ./functions/promoter for this machine once per test
// binary, as Lambda would run it (lambda.norpc), and returns its path.
var promoterBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ecrdeploy-promoter-")
	if err != nil {
		return "", err
	}
	tempDirs = append(tempDirs, dir)
	bin := filepath.Join(dir, "bootstrap")
	if err := rie.Build(context.Background(), "../../functions/promoter", bin); err != nil {
		return "", err
	}
	return bin, nil
})

// rieBinary builds the emulator (the go.mod tool aws-lambda-rie) once per
// test binary and returns the path of the cached executable.
var rieBinary = sync.OnceValues(func() (string, error) {
	return rie.Binary(context.Background())
})

// startPromoter runs the promoter function under the Runtime Interface
// Emulator, with this process's environment (so the function reaches moto
// as the local handler does) plus env, and points the CLI's Lambda client at
// it with AWS_ENDPOINT_URL_LAMBDA. The emulator serves one function, named
// "function". It is stopped, with the function, when the test ends.
func startPromoter(t *testing.T, env ...string) {
	t.Helper()
	bootstrap, err := promoterBinary()
	if err != nil {
		t.Fatal(err)
	}
	emulator, err := rieBinary()
	if err != nil {
		t.Fatal(err)
	}
	var logs child.Output
	em, err := rie.Start(t.Context(), rie.Options{
		Emulator:  emulator,
		Bootstrap: bootstrap,
		Env:       append([]string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_NAME=ecrdeploy-promoter"}, env...),
		Output:    &logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := em.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("runtime interface emulator and function output:\n%s", logs.String())
		}
	})
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", em.URL())
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestFunctionMatchesLocal runs requests locally and through the deployed
// promoter (under the emulator, through the Lambda Invoke API) and checks
// that -o json prints the same bytes.
func TestFunctionMatchesLocal(t *testing.T) {
	seedPromoter(t)
	startPromoter(t)
	for _, args := range [][]string{
		{"status", "hello-color", "-o", "json"},
		{"plan", "hello-color", "1.4.0", "-o", "json"},
		{"status", "nothing-here", "-o", "json"},
		{"deploy", "hello-color", "not a tag", "--env", "dev", "-o", "json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			localCode, local, localErr := runCLI(t, "", args...)
			remoteCode, remote, remoteErr := runCLI(t, "", append(args, "--function", "function")...)
			if remote != local || remoteCode != localCode || remoteErr != localErr {
				t.Errorf("local and --function differ:\nlocal (exit %d):\n%s%s\n--function (exit %d):\n%s%s", localCode, local, localErr, remoteCode, remote, remoteErr)
			}
			if !strings.HasPrefix(local, `{"repository":`) {
				t.Errorf("not a result: %s", local)
			}
		})
	}
	t.Run("status as a table", func(t *testing.T) {
		localCode, local, _ := runCLI(t, "", "status", "hello-color")
		remoteCode, remote, remoteErr := runCLI(t, "", "status", "hello-color", "--function", "function")
		if remote != local || remoteCode != localCode || remoteCode != exitOK {
			t.Errorf("local (exit %d):\n%s\n--function (exit %d):\n%s%s", localCode, local, remoteCode, remote, remoteErr)
		}
	})
}

// deploymentID matches the ECS deployment ids in a result, which differ
// from one deployment to the next.
var deploymentID = regexp.MustCompile(`"deploymentId":"[^"]*"`)

// TestFunctionDeploy deploys locally and through the function, each on a
// fresh moto, and compares the results but for the deployment ids.
func TestFunctionDeploy(t *testing.T) {
	args := []string{"deploy", "hello-color", "1.4.0", "--env", "production", "-o", "json"}
	outputs := map[bool]string{}
	for _, function := range []bool{false, true} {
		t.Run(fmt.Sprintf("function=%v", function), func(t *testing.T) {
			seedPromoter(t)
			a := args
			if function {
				startPromoter(t)
				a = append(a, "--function", "function")
			}
			code, stdout, stderr := runCLI(t, "", a...)
			if code != exitOK || !strings.Contains(stdout, `"outcome":"deployed"`) {
				t.Fatalf("%q: exit code %d\nstdout: %s\nstderr: %s", a, code, stdout, stderr)
			}
			outputs[function] = deploymentID.ReplaceAllString(stdout, `"deploymentId":"…"`)
		})
	}
	if outputs[false] != outputs[true] {
		t.Errorf("local and --function differ:\nlocal:      %s--function: %s", outputs[false], outputs[true])
	}
}

// TestFunctionBadPayload sends the deployed promoter payloads that are not
// a request, some not even JSON: each is answered with a result whose error
// is the "bad request: …" the local handler gives, with the byte offset of a
// syntax error, not with a function error from the runtime.
func TestFunctionBadPayload(t *testing.T) {
	seedPromoter(t)
	startPromoter(t)
	client, err := newLambdaClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h := &handler.Handler{Log: slog.New(slog.DiscardHandler)} // decoding only: nothing reaches AWS
	for _, tt := range []struct{ name, payload, want string }{
		{"not JSON", "not JSON", "bad request: want a JSON object"},
		{"a syntax error", `{"action":"status",}`, "bad request: invalid JSON at byte 20: invalid character '}'"},
		{"truncated", `{"action":"status","repository":"hel`, "bad request: invalid JSON: unexpected end of the request"},
		{"a list", `[1]`, "bad request: want a JSON object, got a list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := invoke(t.Context(), client, "function", []byte(tt.payload))
			if err != nil {
				t.Fatalf("invoke: %v, want a result", err)
			}
			if !strings.HasPrefix(rep.Result.Error, tt.want) || rep.Result.ErrorKind != deploy.BadInput {
				t.Errorf("result error = %q (%s), want %q…", rep.Result.Error, rep.Result.ErrorKind, tt.want)
			}
			local, err := h.Request(t.Context(), []byte(tt.payload))
			if err != nil || local.Error != rep.Result.Error {
				t.Errorf("the local handler says %q (%v), the function %q", local.Error, err, rep.Result.Error)
			}
			code, stdout, stderr := runCLI(t, "", "status", "hello-color", "--function", "function")
			if code != exitOK {
				t.Errorf("the function does not serve a good request after a bad one: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// TestFunctionError checks that an error the function returns instead of a
// result (one a retry could fix: here SSM cannot be reached) is reported as
// such. The emulator, unlike Lambda, does not set X-Amz-Function-Error, so
// this checks the recognition of the error payload.
func TestFunctionError(t *testing.T) {
	seedPromoter(t)
	startPromoter(t, "AWS_ENDPOINT_URL=http://"+freeAddr(t), "AWS_MAX_ATTEMPTS=1")
	client, err := newLambdaClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = invoke(t.Context(), client, "function", []byte(`{"action":"status","repository":"hello-color"}`))
	var fe *funcerr.Error
	if !errors.As(err, &fe) || fe.Function != "function" || fe.Type == "" || !strings.Contains(fe.Message, "connect") {
		t.Fatalf("invoke = %#v (%v), want a function error naming the function and the handler's error", err, err)
	}
	if got := err.Error(); !strings.HasPrefix(got, "function function failed (Unhandled): "+fe.Type+": ") {
		t.Errorf("message = %q", got)
	}
}

// TestFunctionInitError checks a function that cannot start (a bad setting).
// Lambda answers that with a function error (Runtime.ExitError); the
// emulator answers 502 Bad Gateway, which the CLI reports as a failed
// invocation, once: Invoke is not retried.
func TestFunctionInitError(t *testing.T) {
	seedPromoter(t)
	startPromoter(t, "ECRDEPLOY_PREFIX=no-slash")
	code, stdout, stderr := runCLI(t, "", "status", "hello-color", "--function", "function")
	if code != exitFailed || stdout != "" || !strings.Contains(stderr, "ecrdeploy: invoke function function: ") || !strings.Contains(stderr, "502") {
		t.Errorf("exit code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "attempts") {
		t.Errorf("Invoke was retried: %s", stderr)
	}
}

// TestFunctionUnreachable checks that a failed Invoke is an AWS failure.
func TestFunctionUnreachable(t *testing.T) {
	seedPromoter(t)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", "http://"+freeAddr(t))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"status", "hello-color", "--function", "ecrdeploy-promoter"}, strings.NewReader(""), &stdout, &stderr, os.Getenv)
	if code != exitFailed || stdout.Len() != 0 || !strings.Contains(stderr.String(), "invoke function ecrdeploy-promoter: ") {
		t.Errorf("exit code %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
}

// TestExitCodesLocallyAndThroughTheFunction checks every exit code of a
// manual request, run here and in the deployed promoter: the same code, and
// the answer's verdict carrying it.
func TestExitCodesLocallyAndThroughTheFunction(t *testing.T) {
	seedPromoter(t)
	startPromoter(t)
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"status", "hello-color"}, exitOK},
		{[]string{"deploy", "hello-color", "1.4.0", "--env", "qa"}, exitFailed},          // its service is gone
		{[]string{"status", "nothing-here"}, exitBadInput},                               // not configured
		{[]string{"deploy", "hello-color", "2.0.0", "--env", "production"}, exitNothing}, // outside the range
	} {
		for _, function := range []bool{false, true} {
			args := append(slices.Clone(tt.args), "-o", "json")
			if function {
				args = append(args, "--function", "function")
			}
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, stdout, stderr := runCLI(t, "", args...)
				if code != tt.want {
					t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, stdout, stderr)
				}
				if want := fmt.Sprintf(`"exitCode":%d`, tt.want); !strings.Contains(stdout, `"verdict":{`) || !strings.Contains(stdout, want) {
					t.Errorf("the answer's verdict does not say %s: %s", want, stdout)
				}
			})
		}
	}
}
