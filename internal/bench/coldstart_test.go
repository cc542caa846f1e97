package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/rie"

	"github.com/ecrdeploy/ecrdeploy/internal/child"
)

// functions are the Lambda functions, by name, as main packages relative to
// this directory.
var functions = []struct {
	Name, Package string
	// Request is the first invocation's payload; Want is a string its
	// answer must contain.
	Request, RequestName, Want string
}{
	{"deployer", "../../functions/deployer",
		`{"version":"0","id":"cold-1","detail-type":"ECR Image Action","source":"aws.ecr","account":"123456789012","time":"2026-11-27T09:30:00Z","region":"us-east-1","resources":[],"detail":{"result":"SUCCESS","repository-name":"not-configured","image-digest":"sha256:b1a2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff01","action-type":"PUSH","image-tag":"1.0.0"}}`,
		"push of an unconfigured repository", `"no-config"`},
	{"promoter", "../../functions/promoter",
		`{"action":"status","repository":"hello-color"}`,
		"status of hello-color", `"environments"`},
}

// coldStart is the cold start of one function.
type coldStart struct {
	Function, Request string
	Runs              int
	Total             time.Duration // median: emulator started → first answer
	Invoke            time.Duration // median: first invocation sent → answer (function started and initialised, request handled)
	FirstCall         time.Duration // median: first invocation sent → the function's first AWS call (process start and init)
	Calls             int           // AWS calls of the first invocation
	RSS               int64         // the function's VmHWM after its first invocation, bytes
	Size              int64         // bootstrap for linux/arm64, stripped, bytes
}

// runColdStarts starts each function under the Runtime Interface Emulator
// runs times, against moto through the proxy (L = 0), and times its first
// answer. The emulator starts the bootstrap on the first invocation, so the
// invocation's time includes the process start and the function's init
// phase (reading the environment, loading the AWS configuration, building
// the clients). Sizes are of the binaries Lambda runs (make build).
func runColdStarts(t *testing.T, runs int) []coldStart {
	w := newWorld(t)
	w.configure(t, manualRepository, manualConfig())
	w.env.SetEnv(t)
	ctx := t.Context()

	dir := t.TempDir()
	var pkgs []string
	for _, f := range functions {
		pkgs = append(pkgs, f.Package)
	}
	// Built here rather than with rie.Build, whose signature is in flux.
	bootstraps, err := build(ctx, filepath.Join(dir, "host"), pkgs, runtime.GOARCH, false)
	if err != nil {
		t.Fatal(err)
	}
	emulator, err := rie.Binary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lambda, err := build(ctx, filepath.Join(dir, "arm64"), pkgs, "arm64", true)
	if err != nil {
		t.Fatal(err)
	}
	sizes := make([]int64, len(lambda))
	for i, path := range lambda {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		sizes[i] = fi.Size()
	}

	var out []coldStart
	for i, f := range functions {
		cs := coldStart{Function: f.Name, Request: f.RequestName, Runs: runs, Size: sizes[i]}
		var totals, invokes, firstCalls []time.Duration
		// One run more than measured: the first warms moto's backends
		// and the page cache, which is not the function's cold start.
		for run := range runs + 1 {
			w.env.Proxy.Reset()
			var logs child.Output
			start := time.Now()
			em, err := rie.Start(ctx, rie.Options{
				Emulator: emulator, Bootstrap: bootstraps[i],
				Env:    []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_NAME=ecrdeploy-" + f.Name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"},
				Output: &logs,
			})
			if err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			answer, err := invoke(ctx, em.URL(), f.Request)
			done := time.Now()
			for _, pid := range rie.ChildrenOf(em.Pid()) {
				cs.RSS = max(cs.RSS, procStatus(fmt.Sprintf("/proc/%d/status", pid), "VmHWM"))
			}
			if stopErr := em.Stop(); stopErr != nil {
				t.Error(stopErr)
			}
			if err != nil || !strings.Contains(answer, f.Want) {
				t.Fatalf("%s: answer %q (%v), want it to contain %s; emulator and function output:\n%s", f.Name, answer, err, f.Want, logs.String())
			}
			if run == 0 {
				continue
			}
			totals = append(totals, done.Sub(start))
			invokes = append(invokes, done.Sub(sent))
			cs.Calls = w.env.Proxy.Total()
			if log := w.env.Proxy.Log(); len(log) > 0 {
				firstCalls = append(firstCalls, log[0].Start.Sub(sent))
			}
		}
		cs.Total, cs.Invoke, cs.FirstCall = medianDuration(totals), medianDuration(invokes), medianDuration(firstCalls)
		out = append(out, cs)
	}
	return out
}

// invoke sends payload to the emulator's Invoke API and returns the answer.
func invoke(ctx context.Context, url, payload string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/2015-03-31/functions/"+rie.FunctionName+"/invocations", strings.NewReader(payload))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("invoke: HTTP %d", resp.StatusCode)
	}
	return string(b), err
}

// build builds the main packages pkgs as Lambda's provided.al2023 runtime
// runs them: GOOS=linux, CGO_ENABLED=0, -tags lambda.norpc, -trimpath, and,
// when stripped, -ldflags "-s -w" (make build). It returns the paths of
// the executables, dir/NAME/bootstrap.
func build(ctx context.Context, dir string, pkgs []string, goarch string, stripped bool) ([]string, error) {
	paths := make([]string, len(pkgs))
	for i, pkg := range pkgs {
		paths[i] = filepath.Join(dir, filepath.Base(pkg), "bootstrap")
		args := []string{"build", "-tags", "lambda.norpc", "-trimpath"}
		if stripped {
			args = append(args, "-ldflags", "-s -w")
		}
		cmd := exec.CommandContext(ctx, "go", append(args, "-o", paths[i], pkg)...)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
	}
	return paths, nil
}
