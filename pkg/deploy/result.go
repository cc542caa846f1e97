package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Outcome is what happened to one service of one environment.
type Outcome string

// The outcomes.
const (
	Deployed  Outcome = "deployed"
	Unchanged Outcome = "unchanged"
	Skipped   Outcome = "skipped"
	Planned   Outcome = "planned"
	Failed    Outcome = "failed"
)

// Result is the answer of every invocation: a push, a manual request, an
// ECS deployment event, the reconcile schedule. Rows are the outcome per
// service; a status request answers in Environments, the schedule in
// Repositories, a board request in Board. It always encodes "results",
// empty or not.
type Result struct {
	Repository string      `json:"repository"`
	Tag        string      `json:"tag,omitempty"`
	Version    string      `json:"version,omitempty"`
	Digest     string      `json:"digest,omitempty"`
	Cause      state.Cause `json:"trigger,omitempty"`
	Results    []Row       `json:"results"`
	// Environments is the answer of a status request.
	Environments []EnvironmentStatus `json:"environments,omitempty"`
	// History is the answer of a history request, newest first.
	History []HistoryEntry `json:"history,omitempty"`
	// Next is the cursor of the history's next page ("" for the last).
	Next string `json:"next,omitempty"`
	// Repositories is the answer to the reconcile schedule, one result per
	// configured repository; NotReached lists those the invocation had no
	// time for (the next schedule picks them up).
	Repositories []Result `json:"repositories,omitempty"`
	NotReached   []string `json:"notReached,omitempty"`
	// Board is the answer of a board request: the release board laid out
	// when it was read (board.Grid: "at", the "environments" that are its
	// columns, the "repositories" that are its rows, each with its
	// "cells", and the "counts" of each state).
	Board *board.Grid `json:"board,omitempty"`
	// Rendered is the board written as a board request's output asks:
	// "table" (plain text, 120 columns) or "html" (the self-contained
	// page); absent for "json" and for no output, which Board is.
	Rendered string `json:"rendered,omitempty"`
	// Error is why the request as a whole was not carried out, and
	// ErrorKind what sort of failure that is.
	Error     string `json:"error,omitempty"`
	ErrorKind Kind   `json:"errorKind,omitempty"`
	// Verdict is the judgement of the whole answer, set by the promoter.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// MarshalJSON encodes the result with "results" always a list, and without
// escaping HTML characters (a diff may hold them), as Lambda encodes it.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	p := plain(r)
	if p.Results == nil {
		p.Results = []Row{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Row is the outcome for one service of one environment. A row of an ECS
// deployment event has no outcome, only a rollout.
type Row struct {
	Environment            string        `json:"environment"`
	Cluster                string        `json:"cluster"`
	Service                string        `json:"service"`
	Outcome                Outcome       `json:"outcome,omitempty"`
	Reason                 policy.Reason `json:"reason"`
	Image                  string        `json:"image,omitempty"`
	PreviousTaskDefinition string        `json:"previousTaskDefinition,omitempty"`
	TaskDefinition         string        `json:"taskDefinition,omitempty"`
	DeploymentID           string        `json:"deploymentId,omitempty"`
	// Rollout is the rollout status when it is known: after waiting, or for
	// an ECS deployment state change.
	Rollout state.Rollout `json:"rollout,omitempty"`
	Error   string        `json:"error,omitempty"`
	// Detail says in words why an environment was held back (a closed
	// change calendar, a replica without the image yet, an image being
	// restored), beyond the reason's code.
	Detail string `json:"detail,omitempty"`
	// Until is when a held-back environment is expected to proceed: when
	// its change calendars open. Absent when not known.
	Until *time.Time `json:"until,omitempty"`
	Diff  string     `json:"diff,omitempty"`
	// Update is what a planned UpdateService would send besides the task
	// definition (desired count, deployment settings).
	Update string `json:"update,omitempty"`
	// Stage says where a deployment of the blue-green family is, as its
	// service deployment says when it was last looked at: "canary 10 %,
	// baking, 12 of 15 min".
	Stage string `json:"stage,omitempty"`
	// Reached is the point a wait waited for (request.Until: approval,
	// test-traffic, production-traffic) when the deployment got there: its
	// rollout goes on, and that is no failure.
	Reached string `json:"reached,omitempty"`
	// Approval is a pause of the deployment for a person's approval: one
	// that awaits it (an ECS Hook State Change), or one a person answered
	// (approve, reject).
	Approval *Approval `json:"approval,omitempty"`
	// LeadTime is the time from the push to the rollout's completion, when
	// this row reports a completion and the push time is known.
	LeadTime time.Duration `json:"-"`
}

// EnvironmentStatus is what runs in one environment, from its state record.
type EnvironmentStatus struct {
	Environment string         `json:"environment"`
	Cluster     string         `json:"cluster"`
	Trigger     config.Trigger `json:"trigger"` // the environment's trigger: push or manual
	Version     string         `json:"version,omitempty"`
	Tag         string         `json:"tag,omitempty"`
	Digest      string         `json:"digest,omitempty"`
	Image       string         `json:"image,omitempty"`
	Rollout     state.Rollout  `json:"rollout,omitempty"`
	Held        []string       `json:"held,omitempty"`
	DeployedBy  state.Cause    `json:"deployedBy,omitempty"` // what caused the last deployment
	DeployedAt  *time.Time     `json:"deployedAt,omitempty"`
	// Failed is the last deployment ECS failed or rolled back here.
	Failed *state.Failure `json:"failed,omitempty"`
	// Frozen says which of the environment's change calendars are CLOSED,
	// and until when; absent when none is.
	Frozen *FreezeStatus `json:"frozen,omitempty"`
	// Approval is the recorded deployment's pause that awaits a person's
	// approval, with the commands that answer it.
	Approval *Approval       `json:"approval,omitempty"`
	Services []ServiceStatus `json:"services"`
	// Error says why ECS could not be asked what runs.
	Error string `json:"error,omitempty"`
}

// ServiceStatus is what runs in one service of an environment.
type ServiceStatus struct {
	Service        string        `json:"service"`
	TaskDefinition string        `json:"taskDefinition,omitempty"`
	DeploymentID   string        `json:"deploymentId,omitempty"`
	Rollout        state.Rollout `json:"rollout,omitempty"`
	// Running is the revision ECS runs; Drift says it is not the one
	// recorded (someone changed the service outside ecrdeploy).
	Running string `json:"running,omitempty"`
	Drift   bool   `json:"drift,omitempty"`
	// Stage says where a deployment of the blue-green family is ("canary
	// 10 %, baking, 12 of 15 min"), and ProductionTraffic the share of
	// production traffic on its new revision, in percent, while it runs,
	// as its service deployment says.
	Stage             string   `json:"stage,omitempty"`
	ProductionTraffic *float64 `json:"productionTraffic,omitempty"`
	// ServiceDeploymentARN is the recorded deployment's service deployment.
	ServiceDeploymentARN string `json:"serviceDeploymentArn,omitempty"`
}

// Kind is what sort of failure a result reports.
type Kind string

// The kinds of failure.
const (
	// BadInput is a request, event or configuration that cannot be carried
	// out as it is; retrying it changes nothing.
	BadInput Kind = "bad-input"
	// NotFound is a request naming something that does not exist: an
	// unconfigured repository or environment, a tag ECR does not have, an
	// environment with nothing deployed.
	NotFound Kind = "not-found"
	// AWS is a call to AWS that failed.
	AWS Kind = "aws"
	// Rollout is a rollout that failed, had not finished when waiting
	// stopped, or was replaced by someone else's.
	Rollout Kind = "rollout"
	// Nothing is a valid manual request that did nothing: every service
	// was skipped.
	Nothing Kind = "nothing-done"
)

// ExitCode is the exit status of a command whose invocation was judged k:
// 0 done, 2 bad input (a bad event, request or configuration, or something
// it names that does not exist), 1 an AWS call or a rollout failed.
func (k Kind) ExitCode() int {
	switch k {
	case "":
		return 0
	case BadInput, NotFound:
		return 2
	case Nothing:
		return 3
	}
	return 1
}

// Verdict is the judgement of an invocation as its answer carries it, so
// that a caller of the function (a pipeline, the CLI with --function) reads
// the same judgement the CLI makes locally.
type Verdict struct {
	// Kind is what failed, or "" when the request was carried out.
	Kind Kind `json:"kind,omitempty"`
	// ExitCode is the exit status the CLI gives it: 0 done, 1 AWS or a
	// rollout failed, 2 bad input, 3 nothing done.
	ExitCode int `json:"exitCode"`
	// Message says why, for a failure or nothing done.
	Message string `json:"message,omitempty"`
}

// Judgement is the Verdict of an invocation's result and error.
func Judgement(res Result, err error) Verdict {
	k := Judge(res, err)
	v := Verdict{Kind: k, ExitCode: k.ExitCode()}
	switch {
	case k == Nothing:
		v.Message = nothingDone(res)
	case res.Error != "":
		v.Message = res.Error
	case err != nil:
		v.Message = err.Error()
	}
	return v
}

// forceable are the skips a forced request goes through.
var forceable = map[policy.Reason]bool{
	policy.OutsideRange: true, policy.Prerelease: true, policy.OlderThanCurrent: true, policy.Retagged: true, policy.Held: true,
	policy.RolloutUnknown: true,
	policy.Frozen:         true,
}

// nothingDone says why a manual request did nothing, and whether --force
// would change that.
func nothingDone(res Result) string {
	var parts []string
	force := true
	for _, r := range res.Results {
		where := r.Environment
		if r.Service != "" && where != "" {
			where += "/" + r.Service
		}
		part := strings.TrimPrefix(where+": "+string(r.Reason), ": ")
		if r.Detail != "" {
			part += " (" + r.Detail + ")"
		}
		parts = append(parts, part)
		force = force && forceable[r.Reason]
	}
	msg := "nothing done: " + strings.Join(slices.Compact(parts), ", ")
	if force {
		return msg + " (--force would deploy it)"
	}
	return msg + " (--force would not change that)"
}

// Errors of requests.
var (
	// ErrUnknownEnvironment is a request for an environment the repository's
	// configuration does not have.
	ErrUnknownEnvironment = errors.New("environment not configured")
	// ErrNothingDeployed is a promote or rollback whose environment has no
	// deployment to start from.
	ErrNothingDeployed = errors.New("nothing deployed")
	// ErrNotCompleted is a promote from an environment whose last deployment
	// has not completed.
	ErrNotCompleted = errors.New("last deployment has not completed")
	// ErrNothingCompleted is a promote from an environment where nothing
	// ecrdeploy deployed runs: its only deployment was rolled back. It is
	// bad input (the request names the wrong source), not nothing done.
	ErrNothingCompleted = errors.New("nothing completed to promote")
)

// kindOf classifies the error of a request that was not carried out.
func kindOf(err error) Kind {
	for _, nf := range []error{config.ErrNotFound, ErrUnknownEnvironment, ErrNothingDeployed, target.ErrImageNotFound, target.ErrRepositoryNotFound} {
		if errors.Is(err, nf) {
			return NotFound
		}
	}
	var api smithy.APIError
	var resp *awshttp.ResponseError
	var attempts *retry.MaxAttemptsError
	if errors.As(err, &api) || errors.As(err, &resp) || errors.As(err, &attempts) || target.Retryable(err) {
		return AWS
	}
	return BadInput
}

// Judge is the one judgement of an invocation: what sort of failure its
// result (and the error a retry could fix) reports, or "" when it was
// carried out. The CLI's exit status and the functions' answers derive from
// it. A service that failed is an AWS failure; a deployment whose rollout
// failed, had not finished when waiting stopped (unless it reached the
// point the wait was for: Row.Reached), or was replaced by someone else's
// before it finished is a rollout failure.
// Rows that only report an ECS deployment event (no outcome) are records,
// not requests, and are not judged.
func Judge(res Result, err error) Kind {
	switch {
	case err != nil:
		return AWS
	case res.ErrorKind != "":
		return res.ErrorKind
	case res.Error != "":
		return BadInput // a result from a promoter that did not classify its error
	}
	rollout := false
	skipped := 0
	for _, r := range res.Results {
		switch {
		case r.Outcome == Skipped:
			skipped++
		case r.Outcome == Failed:
			return AWS
		case r.Outcome == Deployed && (r.Rollout == state.Failed || (r.Rollout == state.InProgress && r.Reached == "") || r.Rollout == state.Superseded):
			rollout = true
		}
	}
	for _, repo := range res.Repositories {
		// A repository the schedule could not reconcile fails the schedule,
		// whatever the reason.
		switch k := Judge(repo, nil); k {
		case "":
		case Rollout:
			rollout = true
		default:
			return AWS
		}
	}
	switch {
	case rollout:
		return Rollout
	case res.Cause.Manual() && skipped > 0 && skipped == len(res.Results):
		return Nothing
	}
	return ""
}

// utcTime is t in UTC, for a result's optional time: nil when t is zero
// (not known).
func utcTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
