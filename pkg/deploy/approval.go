package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Approvals: an environment whose deployment configuration has an approval
// stage gets a pause lifecycle hook there, and ECS pauses each deployment
// at it (ECS Hook State Change, HOOK_AWAITING_ACTION) until
// ContinueServiceDeployment answers the hook: CONTINUE goes on, ROLLBACK
// rolls the deployment back. The pending approval is kept in the
// environment's record (state.Record.Approval), announced as a result
// event, and answered by the promoter's approve and reject, for exactly
// the recorded hook. Each pause is its own approval: a linear or canary
// deployment paused before every production traffic step asks at every
// step, each time with a new hook.

// Approval is a pause of a deployment for a person's approval, as a result
// row or a status tells it: where it waits, the hook ECS waits on, and the
// commands that answer it; once answered, what was decided.
type Approval struct {
	// Stage is the lifecycle stage of the pause, in the configuration's
	// spelling (post-test-traffic-shift).
	Stage                string `json:"stage"`
	HookID               string `json:"hookId"`
	ServiceDeploymentARN string `json:"serviceDeploymentArn"`
	// Since is when ECS paused, and Expires when the hook times out (and
	// the environment's onTimeout applies); nil when not known.
	Since   *time.Time `json:"since,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
	// Approve and Reject are the commands that answer it.
	Approve string `json:"approve,omitempty"`
	Reject  string `json:"reject,omitempty"`
	// Decision is what a person decided (DecisionApproved,
	// DecisionRejected); empty while it awaits. Reason is a rejection's.
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// The decisions of Approval.Decision.
const (
	DecisionApproved = "approved"
	DecisionRejected = "rejected"
)

// Errors of approve and reject. Each is bad input (exit 2): the request
// names no pause ECS waits on, and nothing was changed.
var (
	// ErrNothingAwaiting is an approve or reject of an environment where
	// no deployment awaits approval (or ECS no longer waits on the hook
	// recorded).
	ErrNothingAwaiting = errors.New("nothing awaits approval")
	// ErrApprovalExpired is an approve or reject after the hook's timeout:
	// ECS has taken the environment's onTimeout action.
	ErrApprovalExpired = errors.New("the approval has expired")
	// ErrMovedOn is an approve or reject of a pause whose service ECS has
	// moved on to another service deployment since.
	ErrMovedOn = errors.New("ECS has moved on to another deployment")
)

// approvalStage is the stage at which an environment's deployments pause
// for approval; "" when it configures none.
func approvalStage(env *config.Environment) config.Stage {
	if env == nil || env.Deployment == nil || env.Deployment.Approval == nil {
		return ""
	}
	return env.Deployment.Approval.Stage
}

// approvalOf is how a result tells a recorded approval, with the commands
// that answer it.
func approvalOf(a state.Approval, repository, environment string) *Approval {
	out := &Approval{
		Stage: a.Stage, HookID: a.HookID, ServiceDeploymentARN: a.ServiceDeploymentARN,
		Approve: "ecrdeploy approve " + repository + " --env " + environment,
		Reject:  "ecrdeploy reject " + repository + " --env " + environment + " --reason TEXT",
	}
	out.Since, out.Expires = utcTime(a.Since), utcTime(a.Expires)
	return out
}

// HookChanged records an ECS Hook State Change in the state of the
// environment whose service's recorded deployment it concerns. A pause at
// the environment's approval stage that awaits action is recorded as the
// environment's pending approval (unless ECS says the hook no longer
// awaits: a late event) and announced (Deployment Awaiting Approval, with
// the command that approves it); the hook's later states (succeeded,
// failed, timed out) clear it; a hook that failed or timed out (ECS rolls
// the deployment back) has the record brought up to what ECS says, so that
// the failure is recorded and its version held at once. An event for a
// service no configuration names, or for a deployment the state does not
// record, changes nothing. The error is non-nil only when a retry could
// succeed.
func (d *Deployer) HookChanged(ctx context.Context, ev event.HookChange) (Result, error) {
	ctx, protect := d.protecting(ctx) // a failed hook's repair may change what runs (protectwritten.go)
	defer protect()
	var res Result
	docs, err := d.Config.List(ctx)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	var retry error
	for _, repo := range slices.Sorted(maps.Keys(docs)) {
		doc := docs[repo]
		for _, name := range doc.Names() {
			env := doc.Environments[name]
			if cmp.Or(env.Region, d.Region) != ev.Region || ecsref.ClusterName(env.Cluster) != ev.Cluster {
				continue
			}
			for _, svc := range env.Services {
				if ecsref.ServiceName(svc) != ev.Service {
					continue
				}
				row, rec, ok, err := d.hookChanged(ctx, repo, name, env, svc, ev)
				switch {
				case err != nil:
					row = Row{Environment: name, Cluster: env.Cluster, Service: svc, Outcome: Failed, Error: err.Error()}
					if retry == nil && target.Retryable(err) {
						retry = err
					}
				case !ok:
					continue
				default:
					res.Version, res.Tag, res.Digest = rec.Version, rec.Tag, rec.Digest
				}
				res.Repository = repo
				res.Results = append(res.Results, row)
			}
		}
	}
	d.log().InfoContext(ctx, "hook state change", "cluster", ev.Cluster, "service", ev.Service, "serviceDeployment", ev.ServiceDeploymentARN,
		"event", ev.EventName, "hookType", ev.HookType, "stage", ev.Stage, "recorded", len(res.Results))
	d.announce(ctx, res, ev.ID, 0)
	return res, retry
}

// hookChanged applies a hook event to one environment's record: ok is false
// when the event says nothing to it (another deployment's hook, not its
// approval stage, already recorded).
func (d *Deployer) hookChanged(ctx context.Context, repository, name string, env *config.Environment, service string, ev event.HookChange) (Row, state.Record, bool, error) {
	rec, err := d.State.Get(ctx, repository, name)
	if errors.Is(err, state.ErrNotFound) {
		return Row{}, rec, false, nil
	}
	if err != nil {
		return Row{}, rec, false, err
	}
	entry, ok := rec.Services[service]
	if !ok || entry.DeploymentID == "" {
		return Row{}, rec, false, nil
	}
	client, err := d.Targets.ECS(ctx, targetOf(repository, name, env))
	if err != nil {
		return Row{}, rec, false, err
	}
	arn := entry.ServiceDeploymentARN
	if arn == "" {
		services, err := target.DescribeServices(ctx, client, env.Cluster, []string{service})
		if err != nil {
			return Row{}, rec, false, err
		}
		arn = serviceDeploymentOf(entry, services[ecsref.ServiceName(service)])
	}
	if arn != ev.ServiceDeploymentARN {
		return Row{}, rec, false, nil // not the deployment the record names
	}
	row := Row{Environment: name, Cluster: env.Cluster, Service: service, DeploymentID: entry.DeploymentID}
	k := state.Key{Repository: repository, Environment: name}
	switch {
	case ev.EventName == event.HookAwaitingAction:
		a, ok, err := d.awaitApproval(ctx, client, k, env, service, entry, ev)
		if err != nil || !ok {
			return row, rec, false, err
		}
		row.Approval = approvalOf(a, repository, name)
		return row, rec, true, nil
	case !ev.Ended():
		return row, rec, false, nil
	}
	// The hook has ended: its approval, if recorded, is over.
	written, err := d.clearApproval(ctx, k, ev.HookID)
	if err != nil {
		return row, rec, false, fmt.Errorf("clear the approval of %s in %s: %w", repository, name, err)
	}
	if ev.EventName == event.HookSucceeded {
		return row, written, false, nil
	}
	// A hook that failed or timed out rolls the deployment back (unless
	// its timeout action continues): record what ECS says now.
	after, _, err := d.refresh(ctx, written, env, client)
	if err != nil {
		return row, written, false, err
	}
	f := after.Failed
	if f == nil || f.Version != written.Version || written.AggregateRollout() == state.Failed || (written.Failed != nil && *written.Failed == *f) {
		return row, written, false, nil
	}
	row.Rollout, row.Detail = state.Failed, f.Reason
	return row, written, true, nil
}

// awaitApproval records a pause that awaits action as the environment's
// pending approval, when it is the environment's approval stage, ECS (when
// it describes the service deployment) says the hook still awaits action,
// and the record still names the deployment and knows no newer pause. It
// returns the approval recorded; ok is false when it recorded nothing.
func (d *Deployer) awaitApproval(ctx context.Context, client target.ECSAPI, k state.Key, env *config.Environment, service string, entry state.Service, ev event.HookChange) (state.Approval, bool, error) {
	stage := approvalStage(env)
	if ev.HookType != event.HookTypePause || stage == "" || config.ParseStage(ev.Stage) != stage {
		d.log().InfoContext(ctx, "pause not recorded: not the environment's approval stage", "repository", k.Repository,
			"environment", k.Environment, "service", service, "stage", ev.Stage, "approvalStage", string(stage))
		return state.Approval{}, false, nil
	}
	// ECS says whether the hook still awaits action: a late event of a
	// pause someone answered since is not recorded again.
	if sd, err := target.DescribeServiceDeployment(ctx, client, ev.ServiceDeploymentARN); err == nil && !awaits(sd, ev.HookID) {
		return state.Approval{}, false, nil
	}
	a := state.Approval{
		Service: service, Stage: string(stage), HookID: ev.HookID, ServiceDeploymentARN: ev.ServiceDeploymentARN,
		Since: cmpTime(firstSet(ev.UpdatedAt, ev.Time), d.now()), Expires: ev.ExpiresAt.UTC(),
	}
	if ev.ExpiresAt.IsZero() {
		a.Expires = time.Time{}
	}
	_, written, err := d.amend(ctx, k, nil, func(r state.Record) (state.Record, bool) {
		e, ok := r.Services[service]
		switch {
		case !ok || e.DeploymentID != entry.DeploymentID:
			return r, false // the record moved on
		case r.Approval != nil && (r.Approval.HookID == a.HookID || r.Approval.Since.After(a.Since)):
			return r, false // recorded already, or a newer pause is
		}
		if e.ServiceDeploymentARN == "" {
			e.ServiceDeploymentARN = a.ServiceDeploymentARN
			r.Services[service] = e
		}
		r.Approval = &a
		return r, true
	})
	if err != nil {
		return a, false, fmt.Errorf("record the approval awaited in %s of %s: %w", k.Environment, k.Repository, err)
	}
	if written {
		d.log().InfoContext(ctx, "awaiting approval", "repository", k.Repository, "environment", k.Environment, "service", service,
			"stage", a.Stage, "hookId", a.HookID, "expires", a.Expires)
	}
	return a, written, nil
}

// answer carries out an approve (ContinueServiceDeployment, CONTINUE) or a
// reject (ROLLBACK) of the pause that awaits approval in an environment:
// exactly the hook recorded there (or, when no event recorded it, the one
// ECS says awaits action at the environment's approval stage). It is
// refused, with nothing changed and ContinueServiceDeployment not called,
// when nothing awaits approval there, the hook has expired, or ECS has
// moved on to another service deployment of the service (which it checks
// first). A rejected deployment is failed, and its version held.
func (d *Deployer) answer(ctx context.Context, req request.Request, requestID string) (Result, error) {
	approve := req.Action == request.Approve
	res := Result{Repository: req.Repository}
	doc, err := d.manualConfig(ctx, req.Repository, req.Environment)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	name, env := req.Environment, doc.Environments[req.Environment]
	k := state.Key{Repository: req.Repository, Environment: name}
	refuse := func(why error, format string, args ...any) (Result, error) {
		return d.fail(ctx, res, fmt.Errorf("%s %s in %s: %w: %s", req.Action, req.Repository, name, why, fmt.Sprintf(format, args...)))
	}
	rec, err := d.State.Get(ctx, req.Repository, name)
	if errors.Is(err, state.ErrNotFound) {
		return refuse(ErrNothingAwaiting, "nothing was deployed there")
	}
	if err != nil {
		return d.fail(ctx, res, err)
	}
	res.Version, res.Tag, res.Digest = rec.Version, rec.Tag, rec.Digest
	a := rec.Approval
	if a == nil && (rec.AggregateRollout().Terminal() || approvalStage(env) == "") {
		return refuse(ErrNothingAwaiting, "%s", awaitingNothing(rec, env))
	}
	if a != nil && !a.Expires.IsZero() && !d.now().Before(a.Expires) {
		d.dropApproval(ctx, k, a.HookID)
		return refuse(ErrApprovalExpired, "the pause at %s of %s timed out at %s (ECS took the environment's timeout action)",
			a.Stage, rec.Version, a.Expires.UTC().Format(time.RFC3339))
	}
	client, err := d.Targets.ECS(ctx, targetOf(req.Repository, name, env))
	if err != nil {
		return d.fail(ctx, res, err)
	}
	services, err := target.DescribeServices(ctx, client, env.Cluster, env.Services)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	if a == nil {
		// No event recorded a pause: ECS may still wait on one.
		if a, err = pendingInECS(ctx, client, env, rec, services); err != nil {
			return d.fail(ctx, res, err)
		}
		if a == nil {
			return refuse(ErrNothingAwaiting, "%s", awaitingNothing(rec, env))
		}
	}
	entry := rec.Services[a.Service]
	svc, described := services[ecsref.ServiceName(a.Service)]
	switch {
	case !described:
		return d.fail(ctx, res, fmt.Errorf("service %s in cluster %s: %w", a.Service, env.Cluster, target.ErrServiceNotFound))
	case svc.CurrentServiceDeployment != "" && svc.CurrentServiceDeployment != a.ServiceDeploymentARN,
		entry.ServiceDeploymentARN != "" && entry.ServiceDeploymentARN != a.ServiceDeploymentARN:
		d.dropApproval(ctx, k, a.HookID)
		return refuse(ErrMovedOn, "service %s now runs service deployment %s, not %s, which paused at %s",
			a.Service, cmp.Or(svc.CurrentServiceDeployment, entry.ServiceDeploymentARN), a.ServiceDeploymentARN, a.Stage)
	}
	action, decision := target.Continue, DecisionApproved
	if !approve {
		action, decision = target.Rollback, DecisionRejected
	}
	if err := target.ContinueServiceDeployment(ctx, client, a.ServiceDeploymentARN, a.HookID, action); err != nil {
		if errors.Is(err, target.ErrHookNotAwaiting) || errors.Is(err, target.ErrServiceDeploymentNotFound) {
			d.dropApproval(ctx, k, a.HookID)
			return refuse(ErrNothingAwaiting, "ECS no longer waits on hook %s at %s: %v", a.HookID, a.Stage, err)
		}
		return d.fail(ctx, res, err)
	}
	reason := "approval rejected: " + req.Reason
	now := d.now()
	_, _, err = d.amend(ctx, k, nil, func(r state.Record) (state.Record, bool) {
		changed := false
		if r.Approval != nil && r.Approval.HookID == a.HookID {
			r.Approval, changed = nil, true
		}
		if e, ok := r.Services[a.Service]; !approve && ok && e.DeploymentID == entry.DeploymentID && r.Version == rec.Version {
			// Rejected: failed, and held, at once; ECS rolls it back.
			changed = applyRollout(&r, a.Service, e.DeploymentID, state.Failed, reason, now) || changed
			if !r.IsHeld(r.Version) {
				r.Hold(r.Version)
				changed = true
			}
		}
		return r, changed
	})
	row := Row{Environment: name, Cluster: env.Cluster, Service: a.Service, DeploymentID: entry.DeploymentID, Approval: approvalOf(*a, req.Repository, name)}
	row.Approval.Decision, row.Approval.Approve, row.Approval.Reject = decision, "", ""
	if !approve {
		row.Approval.Reason, row.Rollout = req.Reason, state.Failed
	}
	if err != nil {
		row.Error = fmt.Sprintf("ECS was told to %s, but the record was not written: %v", strings.ToLower(string(action)), err)
	}
	res.Results = []Row{row}
	d.log().InfoContext(ctx, "approval answered", "repository", req.Repository, "environment", name, "service", a.Service,
		"decision", decision, "stage", a.Stage, "hookId", a.HookID, "requestId", requestID)
	d.announce(ctx, res, requestID, 0)
	return res, nil
}

// pendingInECS returns the pause ECS says awaits action at the
// environment's approval stage in one of the service deployments the
// record names, the first by service name; nil when none does.
func pendingInECS(ctx context.Context, client target.ECSAPI, env *config.Environment, rec state.Record, services map[string]target.Service) (*state.Approval, error) {
	stage := approvalStage(env)
	for _, name := range slices.Sorted(slices.Values(env.Services)) {
		entry, ok := rec.Services[name]
		if !ok || entry.Rollout.Terminal() {
			continue
		}
		arn := serviceDeploymentOf(entry, services[ecsref.ServiceName(name)])
		if arn == "" {
			continue
		}
		sd, err := target.DescribeServiceDeployment(ctx, client, arn)
		if errors.Is(err, target.ErrNoServiceDeployments) || errors.Is(err, target.ErrServiceDeploymentNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		h, ok := sd.AwaitingHook()
		if !ok || sd.Status != sdInProgress || h.Type != hookTypePause || config.ParseStage(sd.Stage) != stage {
			continue
		}
		return &state.Approval{Service: name, Stage: string(stage), HookID: h.ID, ServiceDeploymentARN: arn, Since: sd.UpdatedAt, Expires: h.ExpiresAt}, nil
	}
	return nil, nil
}

// awaitingNothing says why nothing awaits approval in an environment.
func awaitingNothing(rec state.Record, env *config.Environment) string {
	if approvalStage(env) == "" {
		return "the environment has no approval stage (deployment.approval)"
	}
	switch r := rec.AggregateRollout(); {
	case rec.Version == "":
		return "no deployment of ecrdeploy's runs there"
	case r.Terminal():
		return fmt.Sprintf("the deployment of %s is %s", rec.Version, r)
	}
	return fmt.Sprintf("the deployment of %s is not paused at %s", rec.Version, approvalStage(env))
}

// dropApproval clears a recorded approval that ECS no longer waits on. A
// failure to write is logged: the next look at the service clears it.
func (d *Deployer) dropApproval(ctx context.Context, k state.Key, hookID string) {
	if _, err := d.clearApproval(ctx, k, hookID); err != nil {
		d.log().ErrorContext(ctx, "clear a stale approval", "repository", k.Repository, "environment", k.Environment, "error", err.Error())
	}
}

// clearApproval clears the approval an environment's record waits on for
// hook hookID, if it still does, and returns the record as it stands.
func (d *Deployer) clearApproval(ctx context.Context, k state.Key, hookID string) (state.Record, error) {
	written, _, err := d.amend(ctx, k, nil, func(r state.Record) (state.Record, bool) {
		if r.Approval == nil || r.Approval.HookID != hookID {
			return r, false
		}
		r.Approval = nil
		return r, true
	})
	return written, err
}
