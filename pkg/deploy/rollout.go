package deploy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// DeploymentChanged records an ECS deployment state change in the state of
// the environment whose service it is: the rollout becomes in-progress,
// completed or failed, and a failed deployment holds its version. An event
// for a service no configuration names, or for a deployment the state does
// not record (one ecrdeploy did not start, or one already superseded),
// changes nothing. The error is non-nil only when a retry could succeed.
func (d *Deployer) DeploymentChanged(ctx context.Context, ev event.DeploymentChange) (Result, error) {
	var res Result
	docs, err := d.Config.List(ctx)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	rollout := state.ParseRollout(ev.Rollout())
	at := ev.Time
	if at.IsZero() {
		at = d.now()
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
				rec, recorded, err := d.recordRollout(ctx, repo, name, svc, ev.DeploymentID, rollout, ev.Reason)
				if err == nil && !recorded {
					continue
				}
				row := Row{Environment: name, Cluster: env.Cluster, Service: svc, DeploymentID: ev.DeploymentID, Rollout: rollout}
				if err != nil {
					row.Outcome, row.Error = Failed, err.Error()
					if retry == nil && target.Retryable(err) {
						retry = err
					}
				} else {
					row.TaskDefinition, row.Image = rec.Services[svc].TaskDefinition, rec.Image
					row.LeadTime = leadTime(rec, rollout, at)
					res.Version, res.Tag, res.Digest, res.Cause = rec.Version, rec.Tag, rec.Digest, rec.Cause
				}
				res.Repository = repo
				res.Results = append(res.Results, row)
				d.log().InfoContext(ctx, "rollout", "repository", repo, "environment", name, "cluster", env.Cluster, "service", svc,
					"deploymentId", ev.DeploymentID, "rollout", string(rollout), "reason", ev.Reason)
			}
		}
	}
	if len(res.Results) == 0 {
		d.log().InfoContext(ctx, "rollout not recorded: no state names this deployment", "cluster", ev.Cluster, "service", ev.Service,
			"deploymentId", ev.DeploymentID, "rollout", string(rollout))
	}
	d.announce(ctx, res, ev.ID, 0)
	return res, retry
}

// recordRollout records the rollout status of one service's deployment in
// its environment's state. It changes nothing, and reports false, when the
// state no longer names that deployment (it was superseded, or is not ours)
// or already has that status (a re-delivered event). A failed deployment
// holds its version in the environment. It returns the record as written.
func (d *Deployer) recordRollout(ctx context.Context, repository, environment, service, deploymentID string, rollout state.Rollout, reason string) (state.Record, bool, error) {
	rec, err := d.State.Get(ctx, repository, environment)
	if err != nil {
		return rec, false, err
	}
	s, ok := rec.Services[service]
	if !ok || s.DeploymentID != deploymentID || s.Rollout == rollout {
		return rec, false, nil
	}
	s.Rollout, s.Reason = rollout, reason
	rec.Services[service] = s
	rec.Rollout = rec.AggregateRollout()
	switch rec.Rollout {
	case state.Failed:
		rec.Hold(rec.Version)
	case state.Completed:
		rec.LastCompleted = rec.Version
	}
	if _, err := d.State.Put(ctx, rec); err != nil {
		return rec, false, fmt.Errorf("record rollout of %s in %s: %w", service, environment, err)
	}
	return rec, true, nil
}

// leadTime is the time from the push of a record's image to at, when the
// rollout completed and the record knows when the image was pushed; zero
// otherwise.
func leadTime(rec state.Record, rollout state.Rollout, at time.Time) time.Duration {
	if rollout != state.Completed || rec.PushedAt == nil || rec.PushedAt.IsZero() {
		return 0
	}
	return at.Sub(*rec.PushedAt)
}

// wait polls ECS until every deployment the result started has completed or
// failed, recording each outcome in the state, or until the invocation's
// deadline minus a margin, when the rows still running say in-progress
// instead of the invocation timing out. It returns the result with the
// rollout of each deployed row.
func (d *Deployer) wait(ctx context.Context, res Result) Result {
	res.Results = slices.Clone(res.Results)
	var pending []*Row
	for i := range res.Results {
		if r := &res.Results[i]; r.Outcome == Deployed && r.DeploymentID != "" {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 {
		return res
	}
	doc, err := d.Config.Get(ctx, res.Repository)
	if err != nil {
		for _, r := range pending {
			r.Rollout, r.Error = state.InProgress, "not waited: "+err.Error()
		}
		return res
	}
	finished := Result{Repository: res.Repository, Tag: res.Tag, Version: res.Version, Digest: res.Digest, Cause: res.Cause}
	defer func() {
		if len(finished.Results) > 0 {
			d.announce(ctx, finished, "", 0)
		}
	}()
	start := d.now()
	deadline := start.Add(d.maxWait())
	if dl, ok := ctx.Deadline(); ok && dl.Add(-d.waitMargin()).Before(deadline) {
		deadline = dl.Add(-d.waitMargin())
	}
	for {
		byEnv := map[string][]*Row{}
		for _, r := range pending {
			byEnv[r.Environment] = append(byEnv[r.Environment], r)
		}
		pending = pending[:0]
		for envName, rows := range byEnv {
			env := doc.Environments[envName]
			if env == nil { // the configuration changed under us
				for _, r := range rows {
					r.Rollout, r.Error = state.InProgress, "not waited: environment no longer configured"
				}
				continue
			}
			client, err := d.Targets.ECS(ctx, targetOf(res.Repository, envName, env))
			if err != nil {
				pending = append(pending, rows...)
				continue
			}
			names := make([]string, len(rows))
			for i, r := range rows {
				names[i] = r.Service
			}
			observed, err := target.DescribeServices(ctx, client, env.Cluster, names)
			if err != nil {
				pending = append(pending, rows...) // try again next poll
				continue
			}
			for _, r := range rows {
				obs := observed[ecsref.ServiceName(r.Service)]
				rollout, listed := obs.Deployments[r.DeploymentID]
				if d.Progress != nil {
					d.Progress(Progress{Environment: envName, Service: r.Service, DeploymentID: r.DeploymentID, Rollout: rollout, Elapsed: d.now().Sub(start)})
				}
				switch {
				case !listed:
					r.Rollout = state.Superseded
				case rollout.Terminal():
					r.Rollout = rollout
					rec, recorded, err := d.recordRollout(ctx, res.Repository, envName, r.Service, r.DeploymentID, rollout, "")
					if err != nil {
						d.log().ErrorContext(ctx, "record rollout", "repository", res.Repository, "environment", envName, "service", r.Service, "error", err.Error())
					}
					if recorded {
						done := *r
						done.LeadTime = leadTime(rec, rollout, d.now())
						finished.Results = append(finished.Results, done)
					}
				default:
					pending = append(pending, r)
				}
			}
		}
		if len(pending) == 0 {
			return res
		}
		if !d.now().Add(d.pollInterval()).Before(deadline) {
			for _, r := range pending {
				r.Rollout = state.InProgress
			}
			return res
		}
		select {
		case <-ctx.Done():
			for _, r := range pending {
				r.Rollout = state.InProgress
			}
			return res
		case <-time.After(d.pollInterval()):
		}
	}
}
