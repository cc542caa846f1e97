package child

import (
	"os/exec"
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
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-p.Done()
}

func TestStartError(t *testing.T) {
	if _, err := Start(exec.Command("/nonexistent/program")); err == nil {
		t.Error("Start of a missing program succeeded")
	}
}
