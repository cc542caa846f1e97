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
			wg.Go(func() { d.update(ctx, client, e, s, s.newTD) })
		}
	}
	wg.Wait()
	if written, ok := d.record(ctx, req, e, rec); ok {
		d.settle(ctx, client, req, e, rec.ParameterVersion, written)
	}
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

// update points a service at a revision, sending desiredCount and the
// deployment configuration only when the environment configures them.
func (d *Deployer) update(ctx context.Context, client ECSAPI, e *envRun, s *serviceRun, taskDefinition string) {
	in := &ecs.UpdateServiceInput{
		Cluster:        aws.String(e.env.Cluster),
		Service:        aws.String(s.name),
		TaskDefinition: aws.String(taskDefinition),
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

// record writes the environment's new state after an update and returns
// it. Services that failed keep their previous entry, so a re-delivery finds
// them behind and deploys them again. A failure to write fails the deployed
// services: the invocation is retried and the retry repairs the record.
func (d *Deployer) record(ctx context.Context, req Request, e *envRun, prev state.Record) (state.Record, bool) {
	var deployed []*serviceRun
	for _, s := range e.services {
		if s.outcome == Deployed || s.outcome == Unchanged {
			deployed = append(deployed, s)
		}
	}
	if len(deployed) == 0 {
		return state.Record{}, false
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
	n, err := d.State.Put(ctx, rec)
	if err != nil {
		for _, s := range deployed {
			if s.outcome == Deployed {
				s.fail(fmt.Errorf("service updated to %s but its state was not recorded: %w", s.newTD, err))
			}
		}
		return state.Record{}, false
	}
	rec.ParameterVersion = n
	return rec, true
}

// settleAttempts bounds how often settle corrects a race before leaving the
// rest to the next delivery or reconcile.
const settleAttempts = 8

// settle makes concurrent deliveries for one environment converge (DESIGN
// section 3). Parameter Store numbers the writes of the state record, so
// each writer can tell whom it overwrote: the record one version before its
// own. A writer that overwrote a newer version puts that version back,
// service and record; so the last record is never lower than the one before
// it, and holds the highest version written. Then, when the services do not
// run what the record says (another delivery updated them later), the
// writer points them there, or, when the record is lower than its own
// (written after it, by a delivery that has not corrected itself yet),
// writes its own again. When the record just before ours is the one the
// re-check read, nobody wrote in between and checking it costs no call: the
// uncontended case costs one DescribeServices.
func (d *Deployer) settle(ctx context.Context, client ECSAPI, req Request, e *envRun, read int64, written state.Record) {
	want := written
	put := func(rec state.Record) bool {
		rec.ParameterVersion = 0
		n, err := d.State.Put(ctx, rec)
		if err != nil {
			d.log().ErrorContext(ctx, "settle: write state", "repository", req.Repository, "environment", e.name, "error", err.Error())
			return false
		}
		want = rec
		want.ParameterVersion = n
		return true
	}
	for range settleAttempts {
		if n := want.ParameterVersion; n > 1 && n != read+1 {
			prev, err := d.State.GetVersion(ctx, req.Repository, e.name, n-1)
			if err == nil && newer(prev, want) {
				// We overwrote a newer deployment: put it back.
				d.restore(ctx, client, e, prev, entries(want))
				read = n
				if !put(prev) {
					return
				}
				continue
			}
		}
		names := slices.Sorted(maps.Keys(want.Services))
		observed, err := describeServices(ctx, client, e.env.Cluster, names)
		if err != nil {
			return
		}
		running := map[string]string{}
		drift := false
		for _, svc := range names {
			if obs, ok := observed[serviceName(svc)]; ok {
				running[svc] = obs.TaskDefinition
				drift = drift || !sameRevision(obs.TaskDefinition, want.Services[svc].TaskDefinition)
			}
		}
		if !drift {
			return
		}
		latest, err := d.State.Get(ctx, req.Repository, e.name)
		if err != nil {
			return
		}
		if newer(want, latest) {
			// A lower version was written after ours: ours stands.
			d.restore(ctx, client, e, want, running)
			read = latest.ParameterVersion
			if !put(want) {
				return
			}
			continue
		}
		d.restore(ctx, client, e, latest, running)
		want, read = latest, latest.ParameterVersion-1
	}
}

// entries returns the revision of each service a record names.
func entries(rec state.Record) map[string]string {
	m := make(map[string]string, len(rec.Services))
	for name, s := range rec.Services {
		m[name] = s.TaskDefinition
	}
	return m
}

// restore points the environment's services at the revisions a record
// names, where they run something else (running: service -> revision), and
// reports this delivery's services as superseded when the record is not
// what it deployed.
func (d *Deployer) restore(ctx context.Context, client ECSAPI, e *envRun, rec state.Record, running map[string]string) {
	for _, s := range e.services {
		entry, ok := rec.Services[s.name]
		if !ok {
			continue
		}
		if !sameRevision(entry.TaskDefinition, running[s.name]) {
			mine := s.newTD
			d.update(ctx, client, e, s, entry.TaskDefinition)
			if s.err == nil && !sameRevision(entry.TaskDefinition, mine) {
				s.outcome, s.reason, s.newTD, s.deployID = Skipped, OlderThanCurrent, "", ""
			}
		}
	}
}

// newer reports whether record a is of a higher version than b.
func newer(a, b state.Record) bool {
	av, err1 := semver.StrictNewVersion(a.Version)
	bv, err2 := semver.StrictNewVersion(b.Version)
	return err1 == nil && err2 == nil && av.GreaterThan(bv)
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
