package deploy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
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
	ctx, protect := d.protecting(ctx) // the keep tags follow the records written (protectwritten.go)
	defer protect()
	var res Result
	docs, err := d.Config.List(ctx)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	reported := state.ParseRollout(ev.Rollout())
	at := ev.Time
	if at.IsZero() {
		at = d.now()
	}
	var retry error
	for _, repo := range slices.Sorted(maps.Keys(docs)) {
		doc := docs[repo]
		for _, name := range doc.Names() {
			env := doc.Environments[name]
			if cmp.Or(env.Region, d.Region) != ev.Region || !ev.InCluster(env.Cluster) {
				continue
			}
			for _, svc := range env.Services {
				if ecsref.ServiceName(svc) != ev.Service {
					continue
				}
				// A deployment of the blue-green family is recorded as its
				// service deployment says, not as the event does.
				rec, recorded, rollout, judged, err := d.blueGreenChanged(ctx, repo, name, env, svc, ev.DeploymentID)
				if !judged {
					rollout = reported
					rec, recorded, err = d.recordRollout(ctx, repo, name, svc, ev.DeploymentID, rollout, ev.Reason, ev.UpdatedAt)
				}
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
					if rollout == state.Failed && !judged {
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
					"deploymentId", ev.DeploymentID, "rollout", string(rollout), "reported", string(reported), "reason", ev.Reason)
			}
		}
	}
	if len(res.Results) == 0 {
		d.log().InfoContext(ctx, "rollout not recorded: no state names this deployment", "cluster", ev.Cluster, "service", ev.Service,
			"deploymentId", ev.DeploymentID, "rollout", string(reported))
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
	// unknown says ECS no longer lists the deployment, its
	// service-deployments history could not be read, and what runs proves
	// neither that ECS rolled it back nor that it runs: how it ended is
	// not known yet. Its version is held back (awaitECS) until it is, and
	// nothing is recorded of it.
	unknown bool
	// sd is the service deployment ECS described for a deployment of the
	// blue-green family, which the view was judged from (blueGreenRollout);
	// nil when it was judged from DescribeServices alone.
	sd *target.ServiceDeploymentDetail
}

// judgeRollout decides what became of the deployment a record's entry
// names, from ECS's description of the service and, where ECS no longer
// lists that deployment, from the service-deployments history (read says
// whether it was read: false when it was not needed or could not be). It
// calls nothing.
//
// ECS's circuit breaker and alarms roll a failed deployment back by making
// the deployment it replaced PRIMARY again, under that deployment's own id:
// the entry's ReplacedDeploymentID back as PRIMARY is a rollback, whether
// the failed deployment is still listed (IN_PROGRESS in the first seconds,
// then FAILED) or already gone, and whatever the PRIMARY's reason says by
// then ("ECS deployment ... completed." once the rollback is done). A
// PRIMARY under any other id is someone's new deployment: UpdateService
// always starts one with a new id.
func judgeRollout(entry state.Service, svc target.Service, history []target.ServiceDeployment, read bool) ecsView {
	v := ecsView{running: svc.TaskDefinition}
	primary, _ := svc.Primary()
	if entry.DeploymentID == "" {
		return v
	}
	if dep, ok := svc.Deployment(entry.DeploymentID); ok {
		v.rollout, v.reason, v.at = rolloutOf(svc, dep), dep.Reason, dep.UpdatedAt
		switch {
		case dep.Status == "PRIMARY":
		case rolledBackTo(entry, primary):
			v.rollout, v.rolledBack, v.rollback = state.Failed, true, primary
			if dep.Rollout != state.Failed {
				// The first seconds of the rollback: the failed deployment
				// is still listed as it was.
				v.reason, v.at = rollbackReason(primary), primary.UpdatedAt
			}
		case dep.Rollout == state.Failed:
			// Failed, and then replaced. A record written before the
			// replaced deployment was kept cannot tell a rollback from
			// someone's deployment: another revision is taken for one.
			if entry.ReplacedDeploymentID == "" && !ecsref.SameRevision(primary.TaskDefinition, entry.TaskDefinition) {
				v.rolledBack, v.rollback = true, primary
			}
		case dep.Rollout != state.Completed:
			// A newer deployment took over before this one finished.
			v = ecsView{running: svc.TaskDefinition, replaced: !ecsref.SameRevision(primary.TaskDefinition, entry.TaskDefinition)}
		}
		return v
	}
	// ECS no longer lists it: the history says how it ended.
	for _, h := range history {
		if ecsref.SameRevision(h.TaskDefinition, entry.TaskDefinition) {
			if h.Rollout() == state.Superseded {
				// Stopped because a newer deployment started: nothing
				// failed, nothing is recorded of it; what runs now says
				// the rest (drift, when it is not this revision).
				v.replaced = !ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition)
				if !v.replaced {
					v.rollout, v.reason, v.at = rolloutOf(svc, primary), primary.Reason, primary.UpdatedAt
				}
				return v
			}
			// When it ended, not when it was created; zero (the time of
			// this look) while it runs or when ECS does not say.
			v.rollout, v.reason, v.at = h.Rollout(), h.Reason, h.FinishedAt
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
	// Without it, what ECS runs: the deployment the entry's replaced back
	// as PRIMARY (a rollback), the entry's own revision (ECS replaced the
	// deployment with another of the same revision: a forced new
	// deployment), or something else, which is someone else's deployment
	// only when ECS said so (its history was read and does not list this
	// one) or the record already knows how the deployment ended.
	switch {
	case rolledBackTo(entry, primary):
		v.rollout, v.reason, v.at, v.rolledBack, v.rollback = state.Failed, rollbackReason(primary), primary.UpdatedAt, true, primary
	case ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition):
		v.rollout, v.reason, v.at = rolloutOf(svc, primary), primary.Reason, primary.UpdatedAt
	case read || entry.Rollout.Terminal():
		v.replaced = true
	default:
		v.unknown = true
	}
	return v
}

// rolloutOf is a listed deployment's rollout as ECS reports it, or, for a
// service whose deployments have no rolloutState (ECS gives none to a
// service behind a Classic Load Balancer), as its task counts say: the
// PRIMARY, alone, with every desired task running and none pending, has
// completed; anything else is in progress. ("The rolloutState of a service
// is only returned for services that use the rolling update (ECS)
// deployment type that aren't behind a Classic Load Balancer": rolloutState,
// "Deployment", Amazon ECS API Reference,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html.
// Nor can the circuit breaker fail such a deployment: there is no failed
// state to read.)
func rolloutOf(svc target.Service, d target.Deployment) state.Rollout {
	switch {
	case d.Rollout != "":
		return d.Rollout
	case d.ID == "":
		return ""
	case d.Status == "PRIMARY" && len(svc.Deployments) == 1 && d.RunningCount == d.DesiredCount && d.PendingCount == 0:
		return state.Completed
	}
	return state.InProgress
}

// rolledBackTo reports whether ECS's PRIMARY deployment is a rollback of the
// entry's deployment: the deployment the entry's replaced, PRIMARY again
// under its own id. For an entry written before the replaced deployment was
// recorded, it is a PRIMARY on the revision the entry replaced whose reason
// says it rolls back (which it says only until the rollback completes).
func rolledBackTo(entry state.Service, primary target.Deployment) bool {
	switch {
	case primary.ID == "" || primary.ID == entry.DeploymentID:
		return false
	case entry.ReplacedDeploymentID != "":
		return primary.ID == entry.ReplacedDeploymentID
	}
	return entry.PreviousTaskDefinition != "" && ecsref.SameRevision(primary.TaskDefinition, entry.PreviousTaskDefinition) && rollingBack(primary.Reason)
}

// rollbackReason is the reason recorded for a deployment ECS rolled back to
// primary: the PRIMARY's own while it says it rolls back, otherwise (the
// rollback has completed, and its reason says only that) ours.
func rollbackReason(primary target.Deployment) string {
	if rollingBack(primary.Reason) {
		return primary.Reason
	}
	return "ECS rolled the service back to deployment " + primary.ID
}

// rollingBack reports whether a deployment's rolloutStateReason says ECS
// started it to roll a failed deployment back ("ECS deployment circuit
// breaker: rolling back to deploymentId ...").
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

// awaitECS holds back the version of a record whose end ECS has not told
// (a view unknown: the deployment is no longer listed and its history could
// not be read): until ECS's answer is known, a request for that version is
// skipped with policy.RolloutUnknown, and nothing is recorded, neither a
// failure nor a hold, so that the next look that can read ECS's answer
// decides. Another version, or a forced request, goes on (Accepted). It
// calls nothing.
func awaitECS(req Request, v *semver.Version, rec *state.Record, views map[string]ecsView) policy.Reason {
	if rec == nil || v == nil || req.Force || v.String() != rec.Version {
		return policy.Accepted
	}
	for _, view := range views {
		if view.unknown {
			return policy.RolloutUnknown
		}
	}
	return policy.Accepted
}

// replaces is the id of the deployment the service ran (its PRIMARY) when
// the plan was made: the one its update replaces, which ECS makes PRIMARY
// again to roll the update back.
func (p servicePlan) replaces() string {
	primary, _ := p.observed.service.Primary()
	return primary.ID
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
	changed := repairBlueGreen(&rec, views)
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
			Controller: entry.Controller,
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
