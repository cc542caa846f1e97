// Command ecrdeploy is the command line of ecrdeploy. It makes the promoter's
// manual requests (deploy, promote, rollback, plan, status, history,
// approve, reject) by running the promoter's handler locally with the
// caller's AWS configuration, or by invoking the deployed promoter function;
// it runs the deployer's handler on an event; and it checks, writes and
// reads configuration documents.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
)

// Exit codes.
const (
	exitOK       = 0 // nothing failed
	exitFailed   = 1 // an environment (or AWS) failed
	exitBadInput = 2 // bad usage, event, request or configuration
	exitNothing  = 3 // a valid request that did nothing: every service skipped
)

const usage = `usage: ecrdeploy <command> [arguments]

manual requests (run the promoter locally, or with --function NAME invoke the deployed one):
  deploy REPO TAG --env E      deploy a tag to one environment (--wait [--until approval|test-traffic|
                               production-traffic|done] waits for its rollout, or that far into it)
  promote REPO --to B          promote the image running in --from A (default: B's promoteFrom) to B
  rollback REPO --env E        redeploy the newest version that completed there, not current, not held
                               (a deployment still in progress there is stopped and held instead)
  approve REPO --env E         continue the deployment ECS paused there for approval
  reject REPO --env E --reason TEXT  roll the paused deployment back, and hold its version
  plan REPO TAG [--env E]      show what deploying a tag would do, with task definition diffs
  status REPO                  show what runs in each environment, beside what ECS runs
  history REPO [--env E] [--limit N]  show the audit log: every change of the environments' records
  board [-o table|json|html]   show every repository and environment: what runs, what moves, what
                               is stuck, what waits for approval (--out FILE writes it to a file)

configuration documents ({prefix}/config/{REPO} in SSM Parameter Store):
  config validate FILE|-       check a document; exit 2 when it is invalid
  config put REPO FILE|-       check a document, then write it (nothing when it is unchanged)
  config get REPO              print the document
  config list                  list the configured repositories
  config diff REPO FILE|-      show what config put would change
  config verify REPO           check the document against AWS (clusters, services, containers,
                               secret parameters, roles, the lifecycle policy); exit 1 when a
                               check fails

images:
  lifecycle REPO               say which running and rollback-target digests the repository's
                               lifecycle policy would expire or archive; exit 1 when one would

events:
  handle [FILE|-]              run the deployer's handler locally on an event and print the
                               JSON result

Run 'ecrdeploy <command> --help' for a command's flags; 'ecrdeploy --version' prints the version.

Exit status: 0 when the request was carried out, 1 when AWS or a rollout failed, 2 for bad input
(usage, request, configuration, an unconfigured repository or environment, an image missing from
ECR), 3 when a valid request did nothing (every service skipped; the reason says whether --force
would change that).

Settings come from ECRDEPLOY_PREFIX, ECRDEPLOY_EVENT_BUS and ECRDEPLOY_CONFIG_TTL; AWS access
from the usual AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...), or from the
--profile and --region flags of every command that calls AWS. Colour is used on a terminal unless
NO_COLOR is set. Interrupted (Ctrl-C), a command stops at once and exits 130.
`

func main() {
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the CLI without the process: it returns the exit code. When ctx
// was cancelled by a signal (see signalContext) and the command did not
// succeed, the exit code is the shell's for that signal: 130 for SIGINT.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	code := dispatch(ctx, args, stdin, stdout, stderr, getenv)
	var sig *signalError
	if code != exitOK && errors.As(context.Cause(ctx), &sig) {
		return sig.exitCode()
	}
	return code
}

// dispatch runs the command args names.
func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadInput
	}
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	switch args[0] {
	case "handle":
		return c.handle(ctx, args[1:])
	case "deploy", "promote", "rollback", "plan", "status", "history", "approve", "reject":
		return c.manual(ctx, args[0], args[1:])
	case "board":
		return c.board(ctx, args[1:])
	case "config":
		return c.config(ctx, args[1:])
	case "lifecycle":
		return c.lifecycle(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, version())
		return exitOK
	}
	c.errorf("unknown command %q\n\n%s", args[0], usage)
	return exitBadInput
}

// errorPrefix starts every error the CLI prints, whatever the command.
const errorPrefix = "ecrdeploy: "

// errorf prints one error on standard error, after errorPrefix.
func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.stderr, errorPrefix+format+"\n", args...)
}

// cli is one run of the command: its standard streams and environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	aws            awsFlags // --region and --profile of the command that calls AWS
	// boardSource, when set, is what the board is read from instead of the
	// handler's source; now, when set, is the board's clock (tests).
	boardSource board.Source
	now         func() time.Time
}

// color reports whether output to w may be coloured: w is a terminal and
// neither NO_COLOR (https://no-color.org) nor TERM=dumb says otherwise.
func (c *cli) color(w io.Writer) bool {
	return isTerminal(w) && c.getenv("NO_COLOR") == "" && c.getenv("TERM") != "dumb"
}

// isTerminal reports whether w is a terminal (a character device). A writer
// that is not an *os.File may say so itself with a Terminal method, which is
// how tests pretend to be one.
func isTerminal(w io.Writer) bool {
	switch w := w.(type) {
	case interface{ Terminal() bool }:
		return w.Terminal()
	case *os.File:
		fi, err := w.Stat()
		return err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return false
}
