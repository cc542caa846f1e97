// Command ecrdeploy runs the ecrdeploy functions' handlers locally with the
// caller's AWS configuration, and manages configuration documents.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0 // nothing failed
	exitFailed   = 1 // an environment (or AWS) failed
	exitBadInput = 2 // bad usage, event, request or configuration
)

const usage = `usage: ecrdeploy <command> [arguments]

commands:
  handle [FILE|-]   run the deployer's handler locally on an event (stdin when FILE is - or absent)
                    and print the JSON result; exit 0 when nothing failed, 1 when an environment
                    failed, 2 on bad input

Settings come from ECRDEPLOY_PREFIX, ECRDEPLOY_EVENT_BUS and ECRDEPLOY_CONFIG_TTL; AWS access
from the usual AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the CLI without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadInput
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	switch args[0] {
	case "handle":
		return cmdHandle(ctx, args[1:], stdin, stdout, stderr, getenv, log)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "ecrdeploy: unknown command %q\n\n%s", args[0], usage)
	return exitBadInput
}
