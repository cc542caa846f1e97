package rie

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/child"
)

// startTimeout bounds how long the emulator may take to listen.
const startTimeout = 10 * time.Second

// Emulator is a running aws-lambda-rie process and the function it runs.
type Emulator struct {
	// Addr is the loopback address of the Invoke API, such as
	// 127.0.0.1:41234.
	Addr string

	proc     *child.Process
	stopOnce sync.Once
	stopErr  error
}

// URL returns the base URL of the emulator's Invoke API, the endpoint for a
// Lambda client.
func (e *Emulator) URL() string { return "http://" + e.Addr }

// Pid returns the emulator's process id.
func (e *Emulator) Pid() int { return e.proc.Pid() }

// Start runs o.Bootstrap under the emulator on free loopback ports and waits
// until its Invoke API accepts connections. The emulator starts the function
// on the first invocation. The caller must call [Emulator.Stop]; if this
// process dies first, the kernel kills the emulator, and the function exits
// when the emulator's runtime API goes away.
//
// Start returns an error if the emulator cannot start, exits, or does not
// listen within 10 seconds, or ctx's error if ctx is done first.
func Start(ctx context.Context, o Options) (*Emulator, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	e := &Emulator{Addr: addr}
	cmd := exec.Command(o.Emulator,
		"--runtime-interface-emulator-address", addr,
		// The runtime API port defaults to 9001, which another emulator
		// may hold.
		"--runtime-api-address", apiAddr,
		"--log-level", "error",
		o.Bootstrap)
	cmd.Env = append(os.Environ(), o.Env...)
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	// The function inherits the output pipe: should it outlive the
	// emulator, Wait must not wait for it to close the pipe.
	cmd.WaitDelay = 2 * time.Second
	if e.proc, err = child.Start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Emulator, err)
	}
	if err := e.waitListening(ctx); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening waits until the emulator accepts connections on its Invoke
// API address.
func (e *Emulator) waitListening(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", e.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.proc.Done():
			return fmt.Errorf("runtime interface emulator exited before it listened on %s: %v", e.Addr, e.proc.Err())
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err
			}
			return fmt.Errorf("runtime interface emulator not listening on %s after %v: %w", e.Addr, startTimeout, err)
		case <-tick.C:
		}
	}
}

// Err returns nil while the emulator runs, and an error once it has exited.
func (e *Emulator) Err() error {
	select {
	case <-e.proc.Done():
		return fmt.Errorf("runtime interface emulator on %s exited: %v", e.Addr, e.proc.Err())
	default:
		return nil
	}
}

// Stop kills the function and the emulator, with anything they started, and
// waits for the emulator to exit. It is safe to call more than once; it
// returns an error only if a process could not be killed.
func (e *Emulator) Stop() error {
	e.stopOnce.Do(func() {
		select {
		case <-e.proc.Done():
			return
		default:
		}
		pid := e.proc.Pid()
		// The emulator starts the function in a process group of its own:
		// find it (and anything else the emulator started) by parent pid,
		// and kill it first, so that the emulator reaps it rather than
		// leave a zombie to an init that may not reap.
		for _, c := range ChildrenOf(pid) {
			_ = child.KillGroup(c)
			_ = syscall.Kill(c, syscall.SIGKILL)
		}
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && len(ChildrenOf(pid)) > 0; {
			time.Sleep(5 * time.Millisecond)
		}
		if err := e.proc.Stop(); err != nil {
			e.stopErr = fmt.Errorf("stop runtime interface emulator: %w", err)
		}
	})
	return e.stopErr
}

// ChildrenOf returns the pids of the processes whose parent is pid, from
// /proc.
func ChildrenOf(pid int) []int {
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

// setGroup runs cmd in a process group of its own, killed as a whole when
// its context is done, so that a cancelled go command leaves no compiler
// behind.
func setGroup(cmd *exec.Cmd) { child.Group(cmd) }
