package rie_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/rie"

	"github.com/ecrdeploy/ecrdeploy/internal/child"
)

// TestStartStop runs the promoter under the emulator, invokes it, and checks
// that Stop leaves neither the emulator nor the function running.
func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function and the emulator")
	}
	ctx := t.Context()
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	if err := rie.Build(ctx, "../../functions/promoter", bootstrap); err != nil {
		t.Fatal(err)
	}
	emulator, err := rie.Binary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var logs child.Output
	em, err := rie.Start(ctx, rie.Options{
		Emulator:  emulator,
		Bootstrap: bootstrap,
		// No AWS is reached: the payload fails before the handler.
		Env:    []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_LAMBDA_FUNCTION_TIMEOUT=10"},
		Output: &logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Stop()

	resp, err := http.Post(em.URL()+"/2015-03-31/functions/"+rie.FunctionName+"/invocations", "application/json", strings.NewReader("not JSON"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("invoke: status %s, want 200 with the runtime's error", resp.Status)
	}
	children := rie.ChildrenOf(em.Pid())
	if len(children) == 0 {
		t.Fatalf("no function running under the emulator after an invocation; output:\n%s", logs.String())
	}
	if comm := comm(children[0]); comm != "bootstrap" {
		t.Errorf("the emulator's child is %q, want bootstrap", comm)
	}

	if err := em.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := em.Err(); err == nil {
		t.Error("Err() = nil after Stop, want the emulator's exit")
	}
	for _, pid := range append(children, em.Pid()) {
		if alive(pid) {
			t.Errorf("pid %d (%s) still running after Stop", pid, comm(pid))
		}
	}
	if err := em.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// comm returns a process's command name, or "" if it is gone.
func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// alive reports whether pid runs and is not a zombie, waiting a moment for
// a killed process to go.
func alive(pid int) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return false
		}
		if syscall.Kill(pid, 0) != nil {
			return false
		}
	}
	return true
}
