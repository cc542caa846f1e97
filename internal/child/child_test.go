package child

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartInOwnGroupAndDone(t *testing.T) {
	var out Output
	cmd := exec.Command("sh", "-c", "echo out; echo err >&2; exit 3")
	cmd.Stdout, cmd.Stderr = &out, &out
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not exit")
	}
	if p.Err() == nil || !strings.Contains(p.Err().Error(), "exit status 3") {
		t.Errorf("Err() = %v, want exit status 3", p.Err())
	}
	if got := out.String(); !strings.Contains(got, "out") || !strings.Contains(got, "err") {
		t.Errorf("output = %q", got)
	}
	if cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		t.Error("the child was not put in a process group of its own")
	}
}

func TestErrIsNilWhileRunning(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if p.Err() != nil {
		t.Errorf("Err() = %v while running", p.Err())
	}
	pgid, err := syscall.Getpgid(cmd.Process.Pid)
	if err != nil || pgid != cmd.Process.Pid {
		t.Errorf("process group = %d (%v), want the child's own %d", pgid, err, cmd.Process.Pid)
	}
	if p.Pid() != cmd.Process.Pid {
		t.Errorf("Pid() = %d, want %d", p.Pid(), cmd.Process.Pid)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Stop returned before the child exited")
	}
}

// TestStopKillsGroup checks that Stop kills what the child started too, and
// that a second Stop, and a Stop after exit, do nothing.
func TestStopKillsGroup(t *testing.T) {
	var out Output
	cmd := exec.Command("sh", "-c", "sleep 30 & echo $!; wait")
	cmd.Stdout = &out
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	var grandchild int
	for deadline := time.Now().Add(10 * time.Second); grandchild == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		grandchild, _ = strconv.Atoi(strings.TrimSpace(out.String()))
	}
	if grandchild == 0 {
		t.Fatalf("no pid from the child: %q", out.String())
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	// The grandchild's parent is gone, so init reaps it (or, if init does
	// not reap, leaves a zombie): wait for that.
	for deadline := time.Now().Add(5 * time.Second); running(grandchild); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d, started by the child, still runs after Stop", grandchild)
		}
	}
	if err := KillGroup(p.Pid()); err != nil {
		t.Errorf("KillGroup of a group that is gone: %v", err)
	}
}

func TestOutputMaxAndTee(t *testing.T) {
	var tee strings.Builder
	o := Output{Max: 4, Tee: &tee}
	for _, s := range []string{"ab", "cde", "f"} {
		if n, err := o.Write([]byte(s)); n != len(s) || err != nil {
			t.Errorf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := o.String(); got != "cdef" {
		t.Errorf("String() = %q, want the last 4 bytes, cdef", got)
	}
	if got := tee.String(); got != "abcdef" {
		t.Errorf("Tee got %q, want every write", got)
	}
}

func TestGroupKillsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, "sleep", "30")
	Group(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if pgid, err := syscall.Getpgid(cmd.Process.Pid); err != nil || pgid != cmd.Process.Pid {
		t.Errorf("process group = %d (%v), want the command's own %d", pgid, err, cmd.Process.Pid)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Wait = nil after cancel, want the kill")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command still runs after its context was cancelled")
	}
}

func TestStartError(t *testing.T) {
	if _, err := Start(exec.Command("/nonexistent/program")); err == nil {
		t.Error("Start of a missing program succeeded")
	}
}

// running reports whether pid exists and, where /proc tells, is not a
// zombie.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || len(stat) < i+3 || stat[i+2] != 'Z'
}
