package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string {
	if e.sig == os.Interrupt {
		return "interrupted"
	}
	return fmt.Sprintf("stopped by %v", e.sig)
}

// exitCode is the exit status a shell gives a command the signal ended:
// 128 plus the signal's number (130 for SIGINT, 143 for SIGTERM).
func (e *signalError) exitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitFailed
}

// signalContext returns a context cancelled, with a *signalError as its
// cause, by the first SIGINT or SIGTERM. After that first one the signals
// have their default effect again, so a second Ctrl-C ends the process even
// if something does not watch the context. stop releases the signals.
func signalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-signals:
			signal.Stop(signals)
			cancel(&signalError{s})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel(context.Canceled)
	}
}

// interrupted returns the signal that cancelled ctx, if one did.
func interrupted(ctx context.Context) (*signalError, bool) {
	se, ok := context.Cause(ctx).(*signalError)
	return se, ok
}
