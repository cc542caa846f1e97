package main

// The demo runs only on Linux, and this test reads /proc, hence the file
// name.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"

	"github.com/ecrdeploy/ecrdeploy/internal/child"
)

// TestInterrupt runs the demo and stops it with a signal halfway, then checks
// that no process it started (moto_server, an emulator, a function, a go
// build) is left: each is found by a variable set only in the demo's
// environment, which every process it starts inherits.
func TestInterrupt(t *testing.T) {
	awstest.RequireIntegration(t)
	bin := filepath.Join(t.TempDir(), "demo")
	// With make demo's flags, so that it finds the packages compiled.
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name string
		sig  syscall.Signal
		// after is the start of the line after which the signal is sent.
		after string
		// running are the processes that must be running then.
		running []string
	}{
		// moto is starting and the functions are being built.
		{"SIGTERM during setup", syscall.SIGTERM, "== setup", []string{"moto_server"}},
		// Everything runs; the deployer has run.
		{"SIGINT after the push", syscall.SIGINT, "== 2/6", []string{"moto_server", "aws-lambda-rie", "aws-lambda-rie", "bootstrap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := "DEMO_INTERRUPT_TEST=" + randomHex() // not AWS_* or ECRDEPLOY_*, which the demo drops
			t.Cleanup(func() { killMarked(mark) })       // if the demo leaves something, do not leave it to the machine

			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), mark, "NO_COLOR=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr child.Output
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var output child.Output
			reached := make(chan struct{})
			copied := make(chan struct{})
			go func() {
				defer close(copied)
				sc := bufio.NewScanner(stdout)
				once := sync.Once{}
				for sc.Scan() {
					fmt.Fprintln(&output, sc.Text())
					if strings.HasPrefix(sc.Text(), tt.after) {
						once.Do(func() { close(reached) })
					}
				}
				io.Copy(io.Discard, stdout)
			}()
			select {
			case <-reached:
			case <-copied:
				cmd.Wait()
				t.Fatalf("the demo ended before %q\nstdout:\n%s\nstderr:\n%s", tt.after, output.String(), stderr.String())
			case <-time.After(90 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("no %q after 90s\nstdout:\n%s\nstderr:\n%s", tt.after, output.String(), stderr.String())
			}

			// The processes may take a moment to start.
			var before []proc
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				before = marked(mark)
				missing := missingProcesses(before, tt.running)
				if len(missing) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not running before the signal: %q; running: %+v", missing, before)
				}
			}

			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { <-copied; done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the demo did not exit within 30s of %v\nstderr:\n%s", tt.sig, stderr.String())
			}
			var ee *exec.ExitError
			if want := 128 + int(tt.sig); !errors.As(err, &ee) || ee.ExitCode() != want {
				t.Errorf("exit: %v, want exit status %d\nstderr:\n%s", err, want, stderr.String())
			}
			if !strings.Contains(stderr.String(), "demo: interrupted after") {
				t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
			}
			// Processes killed with SIGKILL may take a moment to vanish
			// from /proc.
			var left []proc
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if left = marked(mark); len(left) == 0 || time.Now().After(deadline) {
					break
				}
			}
			if len(left) > 0 {
				t.Errorf("left running after %v: %+v (before the signal: %+v)", tt.sig, left, before)
			}
		})
	}
}

// missingProcesses returns the names in want (a name may repeat) that are
// not among running.
func missingProcesses(running []proc, want []string) []string {
	var names []string
	for _, p := range running {
		names = append(names, p.comm)
	}
	var missing []string
	for _, w := range want {
		i := slices.Index(names, w)
		if i < 0 {
			missing = append(missing, w)
			continue
		}
		names = slices.Delete(names, i, i+1)
	}
	return missing
}

// proc is a process found in /proc.
type proc struct {
	pid  int
	comm string
}

// marked returns the live processes (not zombies) whose environment holds
// mark.
func marked(mark string) []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !slices.ContainsFunc(bytes.Split(env, []byte{0}), func(kv []byte) bool { return string(kv) == mark }) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ...: comm may hold spaces and parentheses.
		open, close := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || close < open || len(stat) < close+3 || stat[close+2] == 'Z' {
			continue
		}
		out = append(out, proc{pid: pid, comm: string(stat[open+1 : close])})
	}
	return out
}

// killMarked kills the processes whose environment holds mark.
func killMarked(mark string) {
	for _, p := range marked(mark) {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
