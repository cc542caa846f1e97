package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ecrdeploy/ecrdeploy/internal/report"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Output formats.
const (
	formatTable = "table"
	formatJSON  = "json"
)

// manualOptions are the flags of a manual request that are not part of the
// request itself.
type manualOptions struct {
	output   string // formatTable or formatJSON
	function string // the promoter function to invoke; empty runs the handler locally
	verbose  bool   // log every decision (local runs)
	aws      awsFlags
	limit    int // history: the newest changes to show, 0 for all
}

// manualHelp is the description of each manual verb.
var manualHelp = map[string]struct{ synopsis, help string }{
	request.Deploy: {"REPO TAG --env E [flags]", `
Deploy TAG of the ECR repository REPO to environment E, whatever E's trigger.
The tag must exist in ECR, and E's version range applies unless --force.`},
	request.Promote: {"REPO --to B [--from A] [flags]", `
Deploy to environment B the exact image (by digest) that runs in environment
A, or in B's promoteFrom when --from is not given. B's version range applies,
and a source whose last deployment has not completed is refused, unless
--force.`},
	request.Rollback: {"REPO --env E [flags]", `
Redeploy to environment E the newest version whose deployment completed there
and that is neither the current one nor held, and hold the version it
replaces so that pushes and reconcile skip it. Rollbacks in a row walk back;
with nothing left to go back to it fails and changes nothing. A deployment
still in progress in E (a canary baking, a deployment paused for approval)
is stopped instead (StopServiceDeployment, ROLLBACK: ECS returns to its last
successful revision), and its version held.`},
	request.Plan: {"REPO TAG [--env E] [flags]", `
Show what deploying TAG would do to every environment of REPO (or to E only),
with a diff of each new task definition. Changes nothing.`},
	request.Status: {"REPO [flags]", `
Show what runs in each environment of REPO: version, digest, rollout status,
held versions, task definitions and the last deployment, beside what ECS
runs (drift is marked).`},
	request.Approve: {"REPO --env E [flags]", `
Approve the deployment that ECS paused in environment E for approval (the
environment's deployment.approval stage): ECS continues exactly the pause
that was recorded (ContinueServiceDeployment, CONTINUE). Refused (exit 2),
with nothing changed, when nothing awaits approval there, the pause has
timed out, or ECS has moved on to another deployment of the service. A
linear or canary deployment that pauses before every traffic step asks at
every step.`},
	request.Reject: {"REPO --env E --reason TEXT [flags]", `
Reject the deployment that ECS paused in environment E for approval: ECS
rolls it back (ContinueServiceDeployment, ROLLBACK), and its version is
recorded failed, with the reason, and held there, so that pushes and
reconcile do not deploy it again. Refused (exit 2), with nothing changed,
as approve is.`},
	request.History: {"REPO [--env E] [flags]", `
Show the audit log of REPO's environments (or of E only), newest first: each
change of their state records, with the version, digest, what caused it
(trigger and event or request id), the rollout and the held versions. Every
change is kept (unless the stack sets a retention); all of them are shown
unless --limit, read page by page.`},
}

// manualFlags holds the values of a manual verb's flags.
type manualFlags struct {
	env, from, to       string
	until, reason       string
	force, wait, dryRun bool
	limit               int
	manualOptions
}

// newManualCommand returns the command of a manual verb with the flags that
// apply to it bound to f.
func newManualCommand(verb string, f *manualFlags) *command {
	h := manualHelp[verb]
	c := newCommand(verb, h.synopsis, h.help+`

By default the promoter's handler runs here, with your AWS configuration;
with --function it runs in the deployed promoter function (lambda:Invoke).`)
	fs := c.flags
	switch verb {
	case request.Deploy, request.Rollback, request.Approve:
		fs.StringVar(&f.env, "env", "", "the `environment` (required)")
	case request.Reject:
		fs.StringVar(&f.env, "env", "", "the `environment` (required)")
		fs.StringVar(&f.reason, "reason", "", "why the deployment is rejected, recorded with its failure (required)")
	case request.Plan:
		fs.StringVar(&f.env, "env", "", "plan only this `environment`")
	case request.History:
		fs.StringVar(&f.env, "env", "", "only this `environment`")
		fs.IntVar(&f.limit, "limit", 0, "show only the newest `N` changes (default: every one)")
	case request.Promote:
		fs.StringVar(&f.from, "from", "", "the source `environment` (default: the target's promoteFrom)")
		fs.StringVar(&f.to, "to", "", "the target `environment` (required)")
	}
	switch verb {
	case request.Deploy, request.Promote, request.Rollback:
		fs.BoolVar(&f.force, "force", false, "allow a downgrade, a re-tagged digest, a held version, a version outside the range, or an unfinished source")
		fs.BoolVar(&f.wait, "wait", false, "wait for the rollout to finish (exit 1 if it fails or is still running when waiting stops)")
		fs.BoolVar(&f.dryRun, "dry-run", false, "plan only: show what would be done, change nothing")
		fs.StringVar(&f.until, "until", "", "wait only until `point`: approval (paused for approval), test-traffic, production-traffic, or done; implies --wait (blue-green, linear and canary deployments)")
	}
	fs.StringVar(&f.output, "o", formatTable, "output `format`: table, or json (the promoter's result exactly as Lambda returns it, then a newline)")
	fs.StringVar(&f.output, "output", formatTable, "the same as -o `format`")
	f.aws.add(fs)
	fs.StringVar(&f.function, "function", "", "invoke the deployed promoter function `name` (or ARN) instead of running the handler here")
	fs.BoolVar(&f.verbose, "v", false, "log every decision as JSON on standard error (local runs; quiet otherwise)")
	return c
}

// parseManual parses the arguments of a manual verb into the request it
// makes. It returns a usage error naming what is missing or wrong; the
// request's values are checked by the promoter (request.Decode), so that the
// CLI and the function accept exactly the same requests.
func parseManual(verb string, args []string, stdout, stderr io.Writer) (request.Request, manualOptions, int, bool) {
	var f manualFlags
	c := newManualCommand(verb, &f)
	pos, code, ok := c.parse(args, stdout, stderr)
	if !ok {
		return request.Request{}, manualOptions{}, code, false
	}
	want := []string{"REPO"}
	if verb == request.Deploy || verb == request.Plan {
		want = append(want, "TAG")
	}
	switch {
	case len(pos) < len(want):
		return request.Request{}, manualOptions{}, c.usageError(stderr, "missing %s", strings.Join(want[len(pos):], " and ")), false
	case len(pos) > len(want):
		return request.Request{}, manualOptions{}, c.usageError(stderr, "unexpected argument %q", pos[len(want)]), false
	case (verb == request.Deploy || verb == request.Rollback || verb == request.Approve || verb == request.Reject) && f.env == "":
		return request.Request{}, manualOptions{}, c.usageError(stderr, "missing --env ENVIRONMENT"), false
	case verb == request.Reject && strings.TrimSpace(f.reason) == "":
		return request.Request{}, manualOptions{}, c.usageError(stderr, "missing --reason TEXT: say why the deployment is rejected"), false
	case verb == request.Promote && f.to == "":
		return request.Request{}, manualOptions{}, c.usageError(stderr, "missing --to ENVIRONMENT"), false
	}
	if code, ok := checkOutput(c, stderr, f.output); !ok {
		return request.Request{}, manualOptions{}, code, false
	}
	if f.limit < 0 {
		return request.Request{}, manualOptions{}, c.usageError(stderr, "--limit %d: want a number of changes, 1 or more", f.limit), false
	}
	f.manualOptions.limit = f.limit
	req := request.Request{
		Action: verb, Repository: pos[0],
		Environment: f.env, From: f.from, To: f.to,
		Force: f.force, Wait: f.wait || f.until != "", DryRun: f.dryRun,
		Until: f.until, Reason: f.reason,
	}
	if len(pos) > 1 {
		req.Tag = pos[1]
	}
	return req, f.manualOptions, exitOK, true
}

// manual runs a manual verb: it builds the request, has the promoter carry
// it out (here or in Lambda), prints the result and returns the exit code.
func (c *cli) manual(ctx context.Context, verb string, args []string) int {
	req, opts, code, ok := parseManual(verb, args, c.stdout, c.stderr)
	if !ok {
		return code
	}
	c.aws = opts.aws
	// The request goes to the promoter as JSON, locally too, so that both
	// take it through the same decoding (request.Decode).
	payload, err := json.Marshal(req)
	if err != nil {
		c.errorf("encode request: %v", err)
		return exitFailed
	}

	// Shown only if the promoter waits (on --wait, or for an environment
	// configured with "wait": true), or, for the deployed function, once
	// the invocation has lasted a while.
	progress := newProgressLine(c.stderr, isTerminal(c.stderr))
	progress.start(time.Second)
	call := func(payload []byte) (reply, error) {
		if opts.function != "" {
			progress.Pending("function " + opts.function + " is carrying out the request")
			return c.invokeFunction(ctx, opts.function, payload)
		}
		return c.runLocal(ctx, payload, opts.verbose, progress)
	}
	var rep reply
	if verb == request.History {
		rep, err = pages(req, opts.limit, call)
	} else {
		rep, err = call(payload)
	}
	progress.Done()
	if sig, stopped := interrupted(ctx); err != nil && stopped && opts.function != "" {
		// Lambda goes on with an invocation its caller stopped waiting for.
		c.errorf("%s: stopped waiting for function %s, which goes on with the request ('ecrdeploy status' shows what it did)", sig, opts.function)
		return exitFailed
	}
	if err != nil {
		// The promoter could not be reached or set up: no result.
		c.errorf("%v", err)
		return setupExitCode(err)
	}
	return c.report(ctx, verb, opts.output, rep)
}

// logger returns the logger the local handler logs with: with verbose, every
// decision as JSON on standard error, with the keys the functions' log lines
// have in CloudWatch ("timestamp", "level", "message"); without, nothing,
// since the result (table or JSON) already says what the log would.
func (c *cli) logger(verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(c.stderr, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr}))
}

// report prints a reply in the chosen format: the result on standard output,
// and its errors on standard error. A rollout still in progress is a
// failure: waiting stopped at its limit, or was interrupted (Ctrl-C), which
// is said as such. It returns the exit code.
func (c *cli) report(ctx context.Context, verb, format string, rep reply) int {
	if format == formatJSON {
		if rep.Payload != nil {
			c.stdout.Write(append(rep.Payload[:len(rep.Payload):len(rep.Payload)], '\n'))
		}
	} else if rep.Payload != nil {
		t := &report.Tables{W: c.stdout, Color: c.color(c.stdout)}
		if verb == request.Status {
			t.Status(rep.Result)
		} else if verb == request.History {
			t.History(rep.Result)
		} else {
			t.Results(rep.Result)
		}
	}
	v := deploy.Judgement(rep.Result, rep.Err)
	if v.Message != "" {
		c.errorf("%s", v.Message)
	}
	sig, stopped := interrupted(ctx)
	for _, r := range rep.Result.Results {
		if r.Outcome != deploy.Deployed || r.Rollout != state.InProgress || r.Reached != "" {
			continue
		}
		if stopped {
			c.errorf("%s: %s/%s: stopped waiting; the rollout goes on in ECS ('ecrdeploy status' shows it)", sig, r.Environment, r.Service)
		} else {
			c.errorf("%s/%s: rollout still in progress when waiting stopped", r.Environment, r.Service)
		}
	}
	return v.ExitCode
}

// pages reads a history page by page, following the cursor of each answer,
// until limit changes are read (0: every one), and returns them as one
// answer.
func pages(req request.Request, limit int, call func([]byte) (reply, error)) (reply, error) {
	var all reply
	for {
		req.Limit = request.DefaultPage
		if limit > 0 {
			req.Limit = min(limit-len(all.Result.History), request.MaxLimit)
		}
		payload, err := json.Marshal(req)
		if err != nil {
			return reply{}, fmt.Errorf("encode request: %w", err)
		}
		rep, err := call(payload)
		if err != nil || rep.Err != nil || rep.Result.Error != "" || (req.Cursor == "" && rep.Result.Next == "") {
			return rep, err // one page, or a failure: as it came
		}
		if req.Cursor == "" {
			all = rep
		} else {
			all.Result.History = append(all.Result.History, rep.Result.History...)
		}
		all.Result.Next = rep.Result.Next
		if rep.Result.Next == "" || (limit > 0 && len(all.Result.History) >= limit) {
			break
		}
		req.Cursor = rep.Result.Next
	}
	payload, err := json.Marshal(all.Result)
	if err != nil {
		return reply{}, fmt.Errorf("encode history: %w", err)
	}
	all.Payload = payload
	return all, nil
}
