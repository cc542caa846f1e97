// Package child starts and stops the helper processes of the tests, the demo
// and the benchmarks (moto_server, the Lambda Runtime Interface Emulator, the
// go command) so that none outlives the program that started it, and
// collects their output.
package child

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// stopTimeout bounds how long [Process.Stop] waits for the killed child to
// exit.
const stopTimeout = 10 * time.Second

// Process is a started child process.
type Process struct {
	pid  int
	done chan struct{}
	err  error // Wait's error, set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// Start starts cmd in a process group of its own, so that killing the group
// stops the child and whatever it started, and, on Linux, has the kernel kill
// the child if this process dies without stopping it. It returns the error of
// exec.Cmd.Start.
func Start(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = sysProcAttr()
	p := &Process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child exits, so
		// that thread must live as long as the child does: keep this
		// goroutine locked to it, blocked in Wait.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Pid returns the child's process id, which is also its process group's.
func (p *Process) Pid() int { return p.pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns Wait's error once Done is closed, and nil before.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop kills the child's whole process group, so that nothing it started is
// left behind, and waits for the child to exit. It does nothing if the child
// has exited already. It is safe to call more than once; it returns an error
// only if the group could not be killed or the child still runs 10 seconds
// later.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		if p.stopErr = KillGroup(p.pid); p.stopErr != nil {
			return
		}
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.stopErr = fmt.Errorf("pid %d still running after SIGKILL", p.pid)
		}
	})
	return p.stopErr
}

// KillGroup sends SIGKILL to the process group pgid. A group that is gone
// already is not an error.
func KillGroup(pgid int) error {
	// A negative pid signals the process group.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	return nil
}

// Group is for a command that exec runs to the end itself (Run, Output,
// CombinedOutput), such as the go command: it puts cmd in a process group of
// its own and, when cmd's context (exec.CommandContext) is done, kills the
// whole group, so that a cancelled command leaves nothing it started
// behind.
func Group(cmd *exec.Cmd) {
	// Not sysProcAttr's Pdeathsig: exec may start cmd from a thread that
	// exits before it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return KillGroup(cmd.Process.Pid) }
	cmd.WaitDelay = 5 * time.Second
}

// Output collects a child's stdout and stderr, which its two pipes write
// concurrently. The zero value keeps everything.
type Output struct {
	// Max, if not zero, bounds what is kept to the last Max bytes, for a
	// child that writes without end.
	Max int
	// Tee, if not nil, receives every write too, one at a time, so it need
	// not be safe for concurrent use; its errors are ignored.
	Tee io.Writer

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	if over := o.b.Len() - o.Max; o.Max > 0 && over > 0 {
		o.b.Next(over)
	}
	if o.Tee != nil {
		_, _ = o.Tee.Write(p)
	}
	return len(p), nil
}

// String returns what was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
