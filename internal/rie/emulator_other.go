//go:build !linux

package rie

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
)

// Emulator is a running aws-lambda-rie process; only on Linux.
type Emulator struct {
	// Addr is the loopback address of the Invoke API.
	Addr string
}

// URL returns the base URL of the emulator's Invoke API.
func (e *Emulator) URL() string { return "http://" + e.Addr }

// Pid returns 0: there is no emulator off Linux.
func (e *Emulator) Pid() int { return 0 }

// Err returns nil.
func (e *Emulator) Err() error { return nil }

// Stop does nothing.
func (e *Emulator) Stop() error { return nil }

// Start returns an error wrapping [errors.ErrUnsupported]: the Runtime
// Interface Emulator runs only on Linux.
func Start(ctx context.Context, o Options) (*Emulator, error) {
	return nil, fmt.Errorf("the Lambda Runtime Interface Emulator runs only on Linux, not %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// ChildrenOf returns nil: it reads Linux's /proc.
func ChildrenOf(pid int) []int { return nil }

// setGroup leaves cmd as it is.
func setGroup(cmd *exec.Cmd) {}
