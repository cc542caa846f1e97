package main

// The Runtime Interface Emulator runs only on Linux, hence the file name.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "../../functions/promoter")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./functions/promoter: %w\n%s", err, out)
	}
	return bin, nil
})

// rieBinary builds the emulator (the go.mod tool aws-lambda-rie) once per
// test binary and returns the path of the cached executable.
var rieBinary = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go tool -n aws-lambda-rie: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child's
// stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startPromoter runs the promoter function under the Runtime Interface
// Emulator on free loopback ports, with this process's environment (so the
// function reaches moto as the local handler does) plus env, and points the
// CLI's Lambda client at it with AWS_ENDPOINT_URL_LAMBDA. The emulator
// serves one function, named "function". It is stopped, with the function,
// when the test ends.
func startPromoter(t *testing.T, env ...string) {
	t.Helper()
	bootstrap, err := promoterBinary()
	if err != nil {
		t.Fatal(err)
	}
	rie, err := rieBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", addr,
		// The runtime API port defaults to 9001: another emulator (another
		// package's tests) may hold it.
		"--runtime-api-address", apiAddr,
		"--log-level", "error",
		bootstrap)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_NAME=ecrdeploy-promoter")
	cmd.Env = append(cmd.Env, env...)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Its own process group, so that the cleanup kills it and what it
	// started; killed by the kernel if this test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", rie, err)
	}
	t.Cleanup(func() {
		// The emulator starts the function in a process group of its own:
		// find it (and anything else it started) by parent pid, and kill it
		// first, so that the emulator reaps it rather than leave a zombie
		// to an init that may not reap.
		children := childrenOf(cmd.Process.Pid)
		for _, pid := range children {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && len(childrenOf(cmd.Process.Pid)) > 0; {
			time.Sleep(5 * time.Millisecond)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("runtime interface emulator and function output:\n%s", logs.String())
		}
	})
	waitListening(t, addr)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", "http://"+addr)
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

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("runtime interface emulator not listening on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// childrenOf returns the pids of the processes whose parent is pid, from
// /proc.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
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

// TestFunctionError checks that an error the function returns instead of a
// result is reported as such. The emulator, unlike Lambda, does not set
// X-Amz-Function-Error, so this checks the recognition of the error payload.
func TestFunctionError(t *testing.T) {
	seedPromoter(t)
	startPromoter(t)
	client, err := newLambdaClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Not JSON: the Lambda runtime fails to decode it, before the handler.
	_, err = invoke(t.Context(), client, "function", []byte("not JSON"))
	var fe *functionError
	if !errors.As(err, &fe) || fe.Function != "function" || fe.Type == "" || !strings.Contains(fe.Message, "invalid character") {
		t.Fatalf("invoke = %#v (%v), want a function error naming the function and the runtime's error", err, err)
	}
	if got := err.Error(); !strings.HasPrefix(got, "function function failed (Unhandled): "+fe.Type+": invalid character") {
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
	if code != exitFailed || stdout != "" || !strings.Contains(stderr, "ecrdeploy status: invoke function function: ") || !strings.Contains(stderr, "502") {
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
