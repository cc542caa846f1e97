package deploy

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// nextRecord is an environment's record after a delivery, made from prev
// (the record as it stands), and which services it speaks for: those
// updated, and those found already running what was asked (unchanged).
// Services that failed keep their entry of prev, so that a re-delivery
// finds them behind and deploys them again. Holds carry over: a newer
// version deploying releases none; a person's forced deploy of a held
// version releases that version. It calls nothing.
func nextRecord(req Request, e environment, prev state.Record, plans []servicePlan, a *applied, now time.Time) (state.Record, []bool) {
	speaks := make([]bool, len(plans))
	for i, p := range plans {
		speaks[i] = p.outcome == Unchanged || (p.outcome == Deployed && a.updated(i))
	}
	if !slices.Contains(speaks, true) {
		return prev, speaks
	}
	rec := state.Record{
		Repository: req.Repository, Environment: e.name,
		Version: e.version.String(), Tag: req.Tag, Digest: req.Digest,
		Cause: req.Cause, EventID: req.EventID, Time: now.UTC(),
		Services: maps.Clone(prev.Services), Held: slices.Clone(prev.Held), HeldThrough: prev.HeldThrough,
		LastCompleted: prev.LastCompleted, Good: slices.Clone(prev.Good), Failed: prev.Failed,
		Revision: prev.Revision,
	}
	for _, p := range plans {
		if p.image != "" {
			rec.Image = p.image
			break
		}
	}
	if rec.Services == nil {
		rec.Services = map[string]state.Service{}
	}
	rec.PushedAt = utcTime(req.PushedAt)
	if req.Force && req.Cause.Manual() {
		rec.Release(rec.Version)
	}
	rec.Hold(a.hold)
	for i, p := range plans {
		switch {
		case !speaks[i]:
		case p.outcome == Unchanged:
			rec.Services[p.service] = unchangedEntry(prev, e, p)
		default:
			entry := state.Service{Cluster: e.env.Cluster, TaskDefinition: a.revision[i], DeploymentID: a.deploymentID[i],
				ReplacedDeploymentID: p.replaces(), ServiceDeploymentARN: a.serviceDeployment[i], Rollout: state.InProgress}
			if p.current() != a.revision[i] {
				entry.PreviousTaskDefinition = p.current()
			}
			rec.Services[p.service] = codeDeployed(entry, p)
		}
	}
	rec.Rollout = rec.AggregateRollout()
	return rec, speaks
}

// unchangedEntry is the state entry of a service that already ran the
// requested revision: what was recorded if it names that revision, else what
// ECS reports.
func unchangedEntry(prev state.Record, e environment, p servicePlan) state.Service {
	if old, ok := prev.Services[p.service]; ok && ecsref.SameRevision(old.TaskDefinition, p.revision) {
		return old
	}
	if p.observed.service.CodeDeployControlled() {
		return codeDeployUnchanged(e, p)
	}
	primary, _ := p.observed.service.Primary()
	return state.Service{Cluster: e.env.Cluster, TaskDefinition: p.revision, DeploymentID: primary.ID, Rollout: cmp.Or(primary.Rollout, state.InProgress)}
}
