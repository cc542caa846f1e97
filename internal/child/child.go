// Package child starts the helper processes of the tests, the demo and the
// benchmarks (moto_server, the Lambda Runtime Interface Emulator) so that
// none outlives the program that started it.
package child

import (
	"bytes"
	"os/exec"
	"runtime"
	"sync"
)

// Process is a started child process.
type Process struct {
	done chan struct{}
	err  error // Wait's error, set before done is closed
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
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

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

// Output collects a child's stdout and stderr, which its two pipes write
// concurrently.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns what was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
