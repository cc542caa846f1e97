// Command demo shows ecrdeploy working end to end on this machine, with no
// AWS account: it starts a local AWS (moto_server), seeds it with
// hello-color's cluster, services, ECR repository and configuration
// document, builds both Lambda functions for Linux, runs each under the AWS
// Lambda Runtime Interface Emulator, and invokes them through the Lambda
// Invoke API as Lambda would. It is what `make demo`, `make invoke-push` and
// `make invoke-promote` run.
//
// Usage:
//
//	demo [-v] [all]                 the whole story, checked at every step (make demo)
//	demo [-v] [-event FILE] push    one event to the deployer (make invoke-push)
//	demo [-v] [-request R] promote  one request to the promoter (make invoke-promote)
//
// It must run inside the ecrdeploy module, on Linux, with moto_server on
// PATH. Whatever happens, including SIGINT and SIGTERM, it stops every
// process it started before it exits. The exit status is 0 when every step
// did what it said, 1 when one did not (or, for push and promote, when the
// function failed), 2 for bad usage or a rejected input, and 128+n after
// signal n.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadInput = 2
)

const usage = `usage: demo [flags] [all | push | promote]

  all      the whole story on a local AWS, checked at every step (make demo):
           1. the ECR push event of hello-color:1.1.0 goes to the deployer: dev and
              staging deploy it, production (manual) does not;
           2. the ECS event of staging's completed rollout goes to the deployer;
           3. the promoter promotes staging's image to production;
           4. ECS pauses production's canary for approval: the deployer records
              and announces it, and the promoter approves it;
           5. the promoter reports the status of every environment.
  push     send one event (-event) to the deployer and print its result
           (make invoke-push EVENT=...)
  promote  run steps 1 and 2 quietly, then send one request (-request) to the
           promoter and print its result (make invoke-promote REQUEST=...)

Each run starts moto_server and the functions under the Lambda Runtime Interface
Emulator, seeds hello-color, and stops everything it started before it exits.

flags:
`

func main() {
	// Every process the demo starts is in a process group of its own, out of
	// reach of the terminal's Ctrl-C: the demo stops them itself. The
	// signals stay caught until it exits, so that a second one cannot cut
	// the cleanup short.
	// SIGHUP (the terminal went away) and SIGPIPE (so did the reader of the
	// output) would otherwise end the demo before it stops them.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(context.Background())
	var got atomic.Value
	go func() {
		sig := <-sigs
		got.Store(sig)
		fmt.Fprintf(os.Stderr, "\ndemo: %v: stopping everything it started\n", sig)
		cancel()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	if sig, ok := got.Load().(syscall.Signal); ok {
		code = 128 + int(sig)
	}
	os.Exit(code)
}

// options are the command line's flags.
type options struct {
	mode      string
	event     string // push: the event file
	eventName string // event as given
	request   string // promote: the request, JSON or a file
	verbose   bool
}

// run parses args, moves to the module's root and runs the mode. It returns
// the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.event, "event", defaultFiles.Push, "push: the EventBridge event `file` to send to the deployer")
	fs.StringVar(&o.request, "request", "", "promote: the `request` to send to the promoter, as JSON or a file (default: promote staging to production)")
	fs.BoolVar(&o.verbose, "v", false, "copy the functions' logs to standard error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput
	}
	switch fs.NArg() {
	case 0:
		o.mode = "all"
	case 1:
		o.mode = fs.Arg(0)
	default:
		fmt.Fprintf(stderr, "demo: want one mode, got %q\n", fs.Args())
		return exitBadInput
	}
	if o.mode != "all" && o.mode != "push" && o.mode != "promote" {
		fmt.Fprintf(stderr, "demo: unknown mode %q: want all, push or promote\n", o.mode)
		return exitBadInput
	}
	// Files named on the command line are relative to where it was typed;
	// the story's own files to the module's root.
	o.eventName = o.event
	if abs, err := filepath.Abs(o.event); err == nil {
		o.event = abs
	}
	if o.request != "" && !strings.HasPrefix(strings.TrimSpace(o.request), "{") {
		if abs, err := filepath.Abs(o.request); err == nil {
			o.request = abs
		}
	}
	if err := toModuleRoot(ctx); err != nil {
		if ctx.Err() != nil {
			return exitFailed
		}
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitBadInput
	}
	scrubEnv()

	a := &app{opts: o, p: newPrinter(stdout, getenv), stderr: stderr}
	if o.verbose {
		a.verbose = stderr
	}
	code := a.run(ctx)
	if ctx.Err() != nil && code == exitOK {
		code = exitFailed
	}
	return code
}

// toModuleRoot changes to the directory of the module's go.mod, where the
// story's files and the functions' packages are.
func toModuleRoot(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w (is Go installed?)", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("run the demo inside the ecrdeploy module (make demo)")
	}
	if err := os.Chdir(filepath.Dir(gomod)); err != nil {
		return fmt.Errorf("go to the module's root: %w", err)
	}
	return nil
}

// scrubEnv removes the caller's AWS and ecrdeploy settings from the
// environment the emulators and functions inherit, so that nothing reaches
// past moto (AWS_ENDPOINT_URL_ECS, AWS_PROFILE, ...): the functions get
// theirs explicitly.
func scrubEnv() {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "ECRDEPLOY_") {
			os.Unsetenv(name)
		}
	}
}
