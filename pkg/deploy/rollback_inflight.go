package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// A rollback of an environment whose deployment is still in progress stops
// that deployment (StopServiceDeployment, ROLLBACK: ECS takes the service
// back to its last successful revision) rather than deploying the last
// good version on top of it: a blue-green deployment baking for hours, or
// paused for approval, is undone where it stands. Its version is held
// first, so that nothing deploys it again there.

// inFlight returns the services of a record whose deployment, one
// ecrdeploy started, is still in progress as far as ECS said when the
// record was last brought up to date; nil when there is none (the
// deployment ended, or the record names what ECS rolled back to). A
// rollback's own deployment is not stopped: ECS would return to the
// revision that rollback replaced, which it holds; a second rollback walks
// further back instead.
func inFlight(rec state.Record) []string {
	if rec.Cause == state.CauseECS || rec.Cause == state.CauseRollback || rec.Version == "" || rec.AggregateRollout() != state.InProgress {
		return nil
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(rec.Services)) {
		if s := rec.Services[name]; s.DeploymentID != "" && !s.Rollout.Terminal() {
			out = append(out, name)
		}
	}
	return out
}

// stopInFlight stops the deployment in progress of a record just brought up
// to date (rec), when it has one whose service deployment is known: it
// holds its version, then calls StopServiceDeployment (ROLLBACK) on each
// service's, and records those deployments failed. stopped is false, and
// nothing is changed, when there is nothing in flight to stop (the caller
// then rolls back as usual); also when every deployment had ended by the
// time ECS was asked to stop it (the hold stays: it is the version the
// rollback replaces anyway). A dry run says what it would stop.
func (d *Deployer) stopInFlight(ctx context.Context, req request.Request, env *config.Environment, rec state.Record, requestID string) (Result, bool, error) {
	names := inFlight(rec)
	if len(names) == 0 {
		return Result{}, false, nil
	}
	res := Result{Repository: req.Repository, Version: rec.Version, Tag: rec.Tag, Digest: rec.Digest, Cause: state.CauseRollback}
	client, err := d.Targets.ECS(ctx, targetOf(req.Repository, req.Environment, env))
	if err != nil {
		res, err = d.fail(ctx, res, err)
		return res, true, err
	}
	services, err := target.DescribeServices(ctx, client, env.Cluster, names)
	if err != nil {
		res, err = d.fail(ctx, res, err)
		return res, true, err
	}
	stops := map[string]string{} // service -> service deployment
	for _, name := range names {
		if arn := serviceDeploymentOf(rec.Services[name], services[ecsref.ServiceName(name)]); arn != "" {
			stops[name] = arn
		}
	}
	if len(stops) == 0 {
		return Result{}, false, nil
	}
	row := func(name, detail string) Row {
		e := rec.Services[name]
		return Row{Environment: req.Environment, Cluster: env.Cluster, Service: name, DeploymentID: e.DeploymentID, TaskDefinition: e.TaskDefinition, Detail: detail}
	}
	if req.DryRun {
		for _, name := range slices.Sorted(maps.Keys(stops)) {
			r := row(name, fmt.Sprintf("would stop service deployment %s (StopServiceDeployment, ROLLBACK) and hold %s", stops[name], rec.Version))
			r.Outcome = Planned
			res.Results = append(res.Results, r)
		}
		return res, true, nil
	}
	// Held before ECS is asked, so that no crash in between lets a push
	// or reconcile deploy it again.
	if !rec.IsHeld(rec.Version) {
		if rec, err = d.holdFirst(ctx, rec, rec.Version); err != nil {
			res, err = d.fail(ctx, res, err)
			return res, true, err
		}
	}
	reason := "stopped by a rollback request (" + requestID + "): ECS rolls the service back to its last successful revision"
	var stopped []string
	for _, name := range slices.Sorted(maps.Keys(stops)) {
		err := target.StopServiceDeployment(ctx, client, stops[name])
		switch {
		case errors.Is(err, target.ErrDeploymentEnded), errors.Is(err, target.ErrServiceDeploymentNotFound):
			d.log().InfoContext(ctx, "rollback: the deployment had ended", "repository", req.Repository, "environment", req.Environment,
				"service", name, "serviceDeployment", stops[name], "error", err.Error())
		case err != nil:
			res.Results = append(res.Results, Row{Environment: req.Environment, Cluster: env.Cluster, Service: name, Outcome: Failed, Error: err.Error()})
		default:
			stopped = append(stopped, name)
		}
	}
	if len(stopped) == 0 && len(res.Results) == 0 {
		return Result{}, false, nil // it ended meanwhile: roll back as usual
	}
	now := d.now()
	k := state.Key{Repository: req.Repository, Environment: req.Environment}
	_, _, err = d.amend(ctx, k, nil, func(r state.Record) (state.Record, bool) {
		changed := false
		for _, name := range stopped {
			changed = applyRollout(&r, name, rec.Services[name].DeploymentID, state.Failed, reason, now) || changed
		}
		if r.Approval != nil && slices.Contains(stopped, r.Approval.Service) {
			r.Approval, changed = nil, true
		}
		return r, changed
	})
	for _, name := range stopped {
		r := row(name, fmt.Sprintf("stopped service deployment %s (StopServiceDeployment, ROLLBACK): ECS rolls the service back to its last successful revision; %s is held", stops[name], rec.Version))
		r.Rollout = state.Failed
		if err != nil {
			r.Error = "stopped, but the record was not written: " + err.Error()
		}
		res.Results = append(res.Results, r)
	}
	d.log().InfoContext(ctx, "rollback stopped a deployment in progress", "repository", req.Repository, "environment", req.Environment,
		"version", rec.Version, "services", stopped)
	d.announce(ctx, res, requestID, 0)
	return res, true, nil
}
