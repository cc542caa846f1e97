package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// apply registers the revisions an environment needs, re-checks its state,
// updates its services and records what now runs there.
func (d *Deployer) apply(ctx context.Context, client ECSAPI, req Request, e *envRun) {
	var pending []*serviceRun
	for _, s := range e.services {
		if s.needsUpdate() {
			pending = append(pending, s)
		}
	}
	if len(pending) == 0 {
		d.repairState(ctx, req, e)
		return
	}

	// Re-read the state while registering, immediately before UpdateService:
	// another delivery may have deployed a newer version meanwhile.
	recheck := sync.OnceValues(func() (state.Record, error) {
		return d.State.Get(ctx, req.Repository, e.name)
	})
	go recheck()
	var wg sync.WaitGroup
	for _, s := range pending {
		if s.newTD == "" {
			wg.Go(func() { d.register(ctx, client, e, s) })
		}
	}
	wg.Wait()

	rec, err := recheck()
	switch {
	case errors.Is(err, state.ErrNotFound):
		rec, err = state.Record{}, nil
		if e.rec != nil {
			rec = *e.rec
		}
	case err != nil:
		for _, s := range pending {
			if s.err == nil {
				s.fail(err)
			}
		}
		return
	}
	if r := compareState(req, e.version, &rec); r == OlderThanCurrent || r == Held {
		for _, s := range pending {
			if s.err == nil {
				s.skip(r)
			}
		}
		return
	}

	for _, s := range pending {
		if s.err == nil {
			wg.Go(func() { d.update(ctx, client, e, s) })
		}
	}
	wg.Wait()
	d.record(ctx, req, e, rec)
}

// register registers a service's rendered revision. Registrations into one
// family are serialised: ECS rejects concurrent revisions of a family.
func (d *Deployer) register(ctx context.Context, client ECSAPI, e *envRun, s *serviceRun) {
	family := aws.ToString(s.rendered.Family)
	mu := d.familyLock(e.env.Region, family)
	mu.Lock()
	defer mu.Unlock()
	out, err := client.RegisterTaskDefinition(ctx, s.rendered)
	if err != nil {
		s.fail(fmt.Errorf("register task definition %s: %w", family, err))
		return
	}
	s.newTD = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// update points a service at its new revision, sending desiredCount and the
// deployment configuration only when the environment configures them.
func (d *Deployer) update(ctx context.Context, client ECSAPI, e *envRun, s *serviceRun) {
	in := &ecs.UpdateServiceInput{
		Cluster:        aws.String(e.env.Cluster),
		Service:        aws.String(s.name),
		TaskDefinition: aws.String(s.newTD),
		DesiredCount:   e.env.DesiredCount,
	}
	if dc := e.env.Deployment; dc != nil {
		in.DeploymentConfiguration = deploymentConfiguration(dc)
	}
	id, err := updateService(ctx, client, in)
	if err != nil {
		s.fail(err)
		return
	}
	s.outcome, s.deployID = Deployed, id
}

func deploymentConfiguration(dc *config.Deployment) *ecstypes.DeploymentConfiguration {
	out := &ecstypes.DeploymentConfiguration{
		MaximumPercent:        dc.MaximumPercent,
		MinimumHealthyPercent: dc.MinimumHealthyPercent,
	}
	if dc.CircuitBreaker != nil {
		out.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: *dc.CircuitBreaker, Rollback: *dc.CircuitBreaker}
	}
	return out
}

// record writes the environment's new state after an update. Services that
// failed keep their previous entry, so a re-delivery finds them behind and
// deploys them again. A failure to write fails the deployed services: the
// invocation is retried and the retry repairs the record.
func (d *Deployer) record(ctx context.Context, req Request, e *envRun, prev state.Record) {
	var deployed []*serviceRun
	for _, s := range e.services {
		if s.outcome == Deployed || s.outcome == Unchanged {
			deployed = append(deployed, s)
		}
	}
	if len(deployed) == 0 {
		return
	}
	rec := d.newRecord(req, e, prev)
	for _, s := range deployed {
		entry := state.Service{Cluster: e.env.Cluster, TaskDefinition: s.newTD, DeploymentID: s.deployID, Rollout: state.InProgress}
		if s.outcome == Unchanged {
			entry = unchangedEntry(prev, e, s)
		} else if s.current != s.newTD {
			entry.PreviousTaskDefinition = s.current
		}
		rec.Services[s.name] = entry
	}
	rec.Rollout = rec.AggregateRollout()
	if err := d.State.Put(ctx, rec); err != nil {
		for _, s := range deployed {
			if s.outcome == Deployed {
				s.fail(fmt.Errorf("service updated to %s but its state was not recorded: %w", s.newTD, err))
			}
		}
	}
}

// repairState writes the state record when every service already runs what
// was asked but the record does not say so (a previous delivery updated the
// services and then failed to record them).
func (d *Deployer) repairState(ctx context.Context, req Request, e *envRun) {
	unchanged := false
	for _, s := range e.services {
		if s.outcome == Unchanged {
			unchanged = true
		}
	}
	if !unchanged || (e.rec != nil && recordMatches(*e.rec, req, e)) {
		return
	}
	var prev state.Record
	if e.rec != nil {
		prev = *e.rec
	}
	d.record(ctx, req, e, prev)
}

// recordMatches reports whether a record already says that the request's
// image runs on every unchanged service.
func recordMatches(rec state.Record, req Request, e *envRun) bool {
	if rec.Digest != req.Digest || rec.Version != e.version.String() {
		return false
	}
	for _, s := range e.services {
		if s.outcome == Unchanged && !sameRevision(rec.Services[s.name].TaskDefinition, s.newTD) {
			return false
		}
	}
	return true
}

func (d *Deployer) newRecord(req Request, e *envRun, prev state.Record) state.Record {
	rec := state.Record{
		Repository: req.Repository, Environment: e.name,
		Version: e.version.String(), Tag: req.Tag, Digest: req.Digest,
		Trigger: string(req.Trigger), EventID: req.EventID, Time: d.now().UTC(),
		Services: maps.Clone(prev.Services), Held: slices.Clone(prev.Held),
		LastCompleted: prev.LastCompleted,
	}
	for _, s := range e.services {
		if s.image != "" {
			rec.Image = s.image
			break
		}
	}
	if rec.Services == nil {
		rec.Services = map[string]state.Service{}
	}
	if !req.PushedAt.IsZero() {
		t := req.PushedAt.UTC()
		rec.PushedAt = &t
	}
	// Holds of this version or older ones are lifted: this version is the
	// current one now (a forced deploy of a held version releases it).
	rec.Unhold(func(h string) bool {
		hv, err := semver.StrictNewVersion(h)
		return err != nil || hv.Compare(e.version) <= 0
	})
	rec.Hold(req.Hold)
	return rec
}

// unchangedEntry is the state entry of a service that already ran the
// requested revision: what was recorded if it names that revision, else what
// ECS reports.
func unchangedEntry(prev state.Record, e *envRun, s *serviceRun) state.Service {
	if old, ok := prev.Services[s.name]; ok && sameRevision(old.TaskDefinition, s.newTD) {
		return old
	}
	rollout := s.observed.Rollout
	if rollout == "" {
		rollout = state.InProgress
	}
	return state.Service{Cluster: e.env.Cluster, TaskDefinition: s.newTD, DeploymentID: s.observed.DeploymentID, Rollout: rollout}
}
