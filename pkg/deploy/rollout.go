package deploy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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
				rec, recorded, err := d.recordRollout(ctx, repo, name, svc, ev.DeploymentID, rollout, ev.Reason, ev.UpdatedAt)
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
					if rollout == state.Failed {
						// ECS may have rolled the service back: record what
						// runs now, so nothing points it at the failed
						// revision again.
						if _, _, err := d.refresh(ctx, rec, env, nil); err != nil {
							d.log().ErrorContext(ctx, "record rollback", "repository", repo, "environment", name, "error", err.Error())
						}
					}
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

// recordRollout records what ECS reported at a time (an event's updatedAt)
// of one service's deployment in its environment's state. It changes
// nothing, and reports false, when the state no longer names that
// deployment (it was superseded, or is not ours), when it already says so
// (a re-delivered event), or when the report is older than what the record
// has, or would replace an ended rollout with one still in progress (a late
// event). A failed deployment holds its version in the environment. It
// returns the record as written.
func (d *Deployer) recordRollout(ctx context.Context, repository, environment, service, deploymentID string, rollout state.Rollout, reason string, at time.Time) (state.Record, bool, error) {
	at = cmpTime(at, d.now())
	k := state.Key{Repository: repository, Environment: environment}
	rec, recorded, err := d.amend(ctx, k, nil, func(r state.Record) (state.Record, bool) {
		return r, applyRollout(&r, service, deploymentID, rollout, reason, at)
	})
	if err != nil {
		return rec, false, fmt.Errorf("record rollout of %s in %s: %w", service, environment, err)
	}
	return rec, recorded, nil
}

func cmpTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def.UTC()
	}
	return t.UTC()
}

// applyRollout records in rec what ECS reported at a time of one service's
// deployment, and reports whether that changed the record. Reports are
// applied in time order: an ended rollout (completed or failed) is never
// replaced by an older report or one still in progress. When every
// service's rollout has completed the deployment is known good; when one
// failed, its version is held and the failure recorded.
func applyRollout(rec *state.Record, service, deploymentID string, rollout state.Rollout, reason string, at time.Time) bool {
	s, ok := rec.Services[service]
	switch {
	case !ok || deploymentID == "" || s.DeploymentID != deploymentID || s.Rollout == rollout:
		return false
	case s.RolloutAt != nil && at.Before(*s.RolloutAt):
		return false // older than what the record says
	case s.Rollout.Terminal() && !rollout.Terminal():
		return false // a late report of a rollout that has ended
	}
	s.Rollout, s.Reason, s.RolloutAt = rollout, reason, &at
	rec.Services[service] = s
	before := rec.Rollout
	rec.Rollout = rec.AggregateRollout()
	if rec.Rollout == before {
		return true
	}
	switch rec.Rollout {
	case state.Failed:
		rec.Hold(rec.Version)
		rec.Failed = &state.Failure{Version: rec.Version, Digest: rec.Digest, DeploymentID: deploymentID, Reason: reason, Time: at}
	case state.Completed:
		rec.Completed(at)
	}
	return true
}

// ecsView is what ECS says became of the deployment a record names for one
// service.
type ecsView struct {
	// rollout is the deployment's rollout, or "" when ECS says nothing
	// of it that can be relied on.
	rollout state.Rollout
	reason  string
	at      time.Time
	// rolledBack says ECS put the service back on an earlier revision
	// (the circuit breaker, an alarm): running is that revision, and
	// rollback the deployment that runs it.
	rolledBack bool
	running    string
	rollback   target.Deployment
	// replaced says another deployment, not ecrdeploy's, replaced it:
	// someone changed the service outside ecrdeploy.
	replaced bool
}

// judgeRollout decides what became of the deployment a record's entry
// names, from ECS's description of the service and, where ECS no longer
// lists that deployment, from the service-deployments history (nil when the
// API is not available). It calls nothing.
func judgeRollout(entry state.Service, svc target.Service, history []target.ServiceDeployment) ecsView {
	v := ecsView{running: svc.TaskDefinition}
	primary, _ := svc.Primary()
	if entry.DeploymentID == "" {
		return v
	}
	if dep, ok := svc.Deployment(entry.DeploymentID); ok {
		v.rollout, v.reason, v.at = dep.Rollout, dep.Reason, dep.UpdatedAt
		switch {
		case dep.Rollout == state.Failed && dep.Status != "PRIMARY" && !ecsref.SameRevision(primary.TaskDefinition, entry.TaskDefinition):
			v.rolledBack, v.rollback = true, primary
		case dep.Status != "PRIMARY" && dep.Rollout == state.InProgress:
			// A newer deployment took over before this one finished.
			v.rollout, v.replaced = "", !ecsref.SameRevision(primary.TaskDefinition, entry.TaskDefinition)
		}
		return v
	}
	// ECS no longer lists it: the history says how it ended.
	for _, h := range history {
		if ecsref.SameRevision(h.TaskDefinition, entry.TaskDefinition) {
			v.rollout, v.reason, v.at = h.Rollout(), h.Reason, h.CreatedAt
			v.rolledBack = h.RolledBack() && !ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition)
			if v.rolledBack {
				v.rollback = primary
			}
			if !v.rolledBack && !ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition) {
				v.replaced = true
			}
			return v
		}
	}
	// Without a history, the shape of what ECS runs: the deployment's own
	// revision (ECS replaced the deployment with another of the same
	// revision: a forced new deployment), the revision it replaced (a
	// rollback: ECS goes back to the last deployment that completed), or
	// something else (someone else's deployment).
	switch {
	case ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition):
		v.rollout, v.reason, v.at = primary.Rollout, primary.Reason, primary.UpdatedAt
	case entry.PreviousTaskDefinition != "" && ecsref.SameRevision(svc.TaskDefinition, entry.PreviousTaskDefinition) && rollingBack(primary.Reason):
		v.rollout, v.reason, v.at, v.rolledBack, v.rollback = state.Failed, primary.Reason, primary.UpdatedAt, true, primary
	default:
		v.replaced = true
	}
	return v
}

// rollingBack reports whether a deployment's rolloutStateReason says ECS
// started it to roll a failed deployment back ("ECS deployment circuit
// breaker: rolling back to deploymentId ..."). Only then does a service
// back on the revision it ran before count as rolled back: someone may have
// put it there by hand, or a slower delivery of an older version.
func rollingBack(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "rolling back") || strings.Contains(r, "rollback") || strings.Contains(r, "roll back")
}

// needsHistory reports whether judging an entry needs the
// service-deployments history: its rollout has not ended as far as the
// record knows, and ECS no longer lists its deployment.
func needsHistory(entry state.Service, svc target.Service) bool {
	if entry.DeploymentID == "" || entry.Rollout.Terminal() {
		return false
	}
	_, listed := svc.Deployment(entry.DeploymentID)
	return !listed
}

// repairRecord brings an environment's record up to what ECS says of each
// service (views: by service) at now, and reports whether it changed
// anything. Rollouts are recorded as ECS reports them; a deployment ECS
// rolled back is failed and its version held, and the services are recorded
// as running what ECS rolled back to: when every service was rolled back,
// the record becomes that of the last known-good deployment, with the
// failure kept beside it. It calls nothing.
func repairRecord(rec state.Record, views map[string]ecsView, now time.Time) (state.Record, bool) {
	rec = cloneRecord(rec)
	changed := false
	rolledBack := 0
	for _, name := range slices.Sorted(maps.Keys(views)) {
		v, entry := views[name], rec.Services[name]
		if v.rollout != "" && applyRollout(&rec, name, entry.DeploymentID, v.rollout, v.reason, cmpTime(v.at, now)) {
			changed = true
		}
		if v.rolledBack {
			rolledBack++
		}
	}
	if rolledBack == 0 {
		return rec, changed
	}
	if rolledBack < len(rec.Services) {
		// Some services were rolled back: they run what ECS went back to.
		for name, v := range views {
			if entry := rec.Services[name]; v.rolledBack && !ecsref.SameRevision(entry.TaskDefinition, v.running) {
				entry.PreviousTaskDefinition, entry.TaskDefinition = entry.TaskDefinition, v.running
				rec.Services[name] = entry
				changed = true
			}
		}
		return rec, changed
	}
	// Every service was rolled back: what runs is what ran before.
	failure := rec.Failed
	good, known := rec.LastGood()
	rec.Hold(rec.Version)
	if failure == nil || failure.Version != rec.Version {
		failure = &state.Failure{Version: rec.Version, Digest: rec.Digest, Time: now.UTC()}
	}
	next := rec
	next.Version, next.Tag, next.Digest, next.Image = "", "", "", ""
	if known {
		next.Version, next.Tag, next.Digest, next.Image = good.Version, good.Tag, good.Digest, good.Image
	}
	next.Cause, next.EventID, next.Time, next.PushedAt = state.CauseECS, "", now.UTC(), nil
	next.Services = map[string]state.Service{}
	for name, entry := range rec.Services {
		v := views[name]
		next.Services[name] = state.Service{
			Cluster: entry.Cluster, TaskDefinition: v.running, PreviousTaskDefinition: entry.TaskDefinition,
			DeploymentID: v.rollback.ID, Rollout: cmp.Or(v.rollback.Rollout, state.InProgress), Reason: v.rollback.Reason,
		}
	}
	next.Rollout = next.AggregateRollout()
	next.Failed = failure
	return next, true
}

// cloneRecord returns a copy of rec that shares nothing that repairing
// changes.
func cloneRecord(rec state.Record) state.Record {
	rec.Services = maps.Clone(rec.Services)
	rec.Held = slices.Clone(rec.Held)
	rec.Good = slices.Clone(rec.Good)
	return rec
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
