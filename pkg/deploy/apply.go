package deploy

import (
	"cmp"
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

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// applying is one environment's plans as apply carries them out: the row of
// each service, and the error that failed it, index for index with the plans.
// Only the functions of this file write it.
type applying struct {
	e     environment
	plans []servicePlan
	rows  []Row
	errs  []error
	hold  string // the version the request holds once applied
}

func (a *applying) fail(i int, err error) {
	a.rows[i].Outcome, a.rows[i].Error, a.errs[i] = Failed, err.Error(), err
}

func (a *applying) skip(i int, r policy.Reason) {
	a.rows[i].Outcome, a.rows[i].Reason, a.rows[i].PreviousTaskDefinition = Skipped, r, ""
}

// pending returns the services still to update: planned to be deployed and
// not failed on the way.
func (a *applying) pending() []int {
	var out []int
	for i, p := range a.plans {
		if p.outcome == Deployed && a.errs[i] == nil && a.rows[i].Outcome == Deployed {
			out = append(out, i)
		}
	}
	return out
}

// apply carries out an environment's plans: it registers the revisions they
// need, re-checks the state record, updates the services and records what
// now runs there, then makes concurrent deliveries converge. Once the
// services are updated it hands the rows to decided (when not nil), and
// describes the services for the convergence check beside the state write.
// It returns each service's row and the error that failed it, if any.
func (d *Deployer) apply(ctx context.Context, client target.ECSAPI, req Request, e environment, rec *state.Record, plans []servicePlan, decided func([]Row)) ([]Row, []error) {
	a := &applying{e: e, plans: plans, rows: make([]Row, len(plans)), errs: make([]error, len(plans))}
	for i, p := range plans {
		a.rows[i], a.errs[i] = p.row(e), p.err
	}
	pending := a.pending()
	if len(pending) == 0 {
		if rec != nil {
			a.hold = holdFor(req, e.version, *rec)
		} else {
			a.hold = req.Hold
		}
		d.repairState(ctx, req, a, rec)
		return a.rows, a.errs
	}

	// Re-read the state while registering, immediately before UpdateService:
	// another delivery may have deployed a newer version meanwhile.
	recheck := sync.OnceValues(func() (state.Record, error) {
		return d.State.Get(ctx, req.Repository, e.name)
	})
	go recheck()
	var wg sync.WaitGroup
	for _, i := range pending {
		if plans[i].register() {
			wg.Go(func() {
				arn, err := d.register(ctx, client, e.env.Region, plans[i].rendered)
				if err != nil {
					a.fail(i, err)
					return
				}
				a.rows[i].TaskDefinition = arn
			})
		}
	}
	wg.Wait()

	latest, err := recheck()
	switch {
	case errors.Is(err, state.ErrNotFound):
		latest, err = state.Record{}, nil
		if rec != nil {
			latest = *rec
		}
	case err != nil:
		for _, i := range a.pending() {
			a.fail(i, err)
		}
		return a.rows, a.errs
	}
	if r := compareState(req, e.version, &latest); r == policy.OlderThanCurrent || r == policy.Held {
		for _, i := range a.pending() {
			a.skip(i, r)
		}
		return a.rows, a.errs
	}
	// A version this request replaces for good (a rollback's, a manual
	// downgrade's) is held before any service moves, so that no crash after
	// this point lets a reconcile or a re-delivery put it back.
	if a.hold = holdFor(req, e.version, latest); a.hold != "" && !latest.IsHeld(a.hold) {
		held := cloneRecord(latest)
		held.Hold(a.hold)
		held.ParameterVersion = 0
		n, err := d.State.Put(ctx, held)
		if err != nil {
			for _, i := range a.pending() {
				a.fail(i, fmt.Errorf("hold %s before replacing it: %w", a.hold, err))
			}
			return a.rows, a.errs
		}
		held.ParameterVersion = n
		latest = held
	}

	ids := make([]string, len(plans))
	updateErrs := make([]error, len(plans))
	for _, i := range a.pending() {
		wg.Go(func() {
			ids[i], updateErrs[i] = d.update(ctx, client, e, a.rows[i].Service, a.rows[i].TaskDefinition, a.plans[i].observed.service.DeploymentConfiguration)
		})
	}
	wg.Wait()
	for i := range plans {
		if updateErrs[i] != nil {
			a.fail(i, updateErrs[i])
		} else if ids[i] != "" {
			a.rows[i].DeploymentID = ids[i]
		}
	}
	if decided != nil {
		decided(a.rows)
	}
	next, recorded := d.recordOf(req, a, latest)
	if len(recorded) == 0 {
		return a.rows, a.errs
	}
	// The convergence check's first look at the services runs beside the
	// state write: it only has to see them after our UpdateService, and
	// a delivery that updates them after this look writes its record
	// after it too, which the check of the version chain sees.
	names := slices.Sorted(maps.Keys(next.Services))
	observed := sync.OnceValues(func() (map[string]target.Service, error) {
		return target.DescribeServices(ctx, client, e.env.Cluster, names)
	})
	go observed()
	if written, ok := d.write(ctx, a, next, recorded); ok {
		d.settle(ctx, client, req, a, latest.ParameterVersion, written, observed)
	}
	return a.rows, a.errs
}

// register registers a rendered revision. Registrations into one family are
// serialised: ECS rejects concurrent revisions of a family.
func (d *Deployer) register(ctx context.Context, client target.ECSAPI, region string, in *ecs.RegisterTaskDefinitionInput) (string, error) {
	mu := d.familyLock(region, aws.ToString(in.Family))
	mu.Lock()
	defer mu.Unlock()
	return target.RegisterTaskDefinition(ctx, client, in)
}

// update points a service at a revision, sending desiredCount and the
// deployment configuration only when the environment configures them, and
// returns the id of the deployment ECS started.
func (d *Deployer) update(ctx context.Context, client target.ECSAPI, e environment, service, taskDefinition string, current *ecstypes.DeploymentConfiguration) (string, error) {
	in := &ecs.UpdateServiceInput{
		Cluster:                 aws.String(e.env.Cluster),
		Service:                 aws.String(service),
		TaskDefinition:          aws.String(taskDefinition),
		DesiredCount:            e.env.DesiredCount,
		DeploymentConfiguration: deploymentConfiguration(e.env.Deployment, current),
	}
	return target.UpdateService(ctx, client, in)
}

// record writes the environment's new state after an update and returns
// it. Services that failed keep their previous entry, so a re-delivery finds
// them behind and deploys them again. A failure to write fails the services
// the record speaks for: the invocation is retried, and every retry fails
// until the record is written.
func (d *Deployer) record(ctx context.Context, req Request, a *applying, prev state.Record) (state.Record, bool) {
	rec, recorded := d.recordOf(req, a, prev)
	if len(recorded) == 0 {
		return state.Record{}, false
	}
	return d.write(ctx, a, rec, recorded)
}

// recordOf is the state record of the environment after an update, and the
// rows (by index) it speaks for: none when no service was deployed or
// found unchanged.
func (d *Deployer) recordOf(req Request, a *applying, prev state.Record) (state.Record, []int) {
	var recorded []int
	for i, r := range a.rows {
		if r.Outcome == Deployed || r.Outcome == Unchanged {
			recorded = append(recorded, i)
		}
	}
	if len(recorded) == 0 {
		return state.Record{}, nil
	}
	rec := d.newRecord(req, a, prev)
	for _, i := range recorded {
		r, p := a.rows[i], a.plans[i]
		entry := state.Service{Cluster: a.e.env.Cluster, TaskDefinition: r.TaskDefinition, DeploymentID: r.DeploymentID, Rollout: state.InProgress}
		if r.Outcome == Unchanged {
			entry = unchangedEntry(prev, a.e, p)
		} else if p.current() != r.TaskDefinition {
			entry.PreviousTaskDefinition = p.current()
		}
		rec.Services[r.Service] = entry
	}
	rec.Rollout = rec.AggregateRollout()
	return rec, recorded
}

// write writes the record recordOf made. A failure to write fails the rows
// it was to speak for.
func (d *Deployer) write(ctx context.Context, a *applying, rec state.Record, recorded []int) (state.Record, bool) {
	n, err := d.State.Put(ctx, rec)
	if err != nil {
		// Every service the record was to speak for fails, unchanged ones
		// too: a re-delivery finds them running what was asked and would
		// otherwise answer "unchanged" and leave the record unwritten.
		for _, i := range recorded {
			a.fail(i, fmt.Errorf("service runs %s but its state was not recorded: %w", a.rows[i].TaskDefinition, err))
		}
		return state.Record{}, false
	}
	rec.ParameterVersion = n
	return rec, true
}

// settleAttempts bounds how often settle corrects a race before leaving the
// rest to the next delivery or reconcile.
const settleAttempts = 8

// settle makes concurrent deliveries for one environment converge, so that
// when the last one finishes the services run the highest version any of
// them recorded and the record agrees. Parameter Store numbers the writes
// of the state record, so each writer can tell whom it overwrote: the
// record one version before its own. A writer that overwrote a newer
// version puts that version back, service and record; so the last record is
// never lower than the one before it, and holds the highest version written.
// Then, when the services do not run what the record says (another delivery
// updated them later), the writer points them there, or, when the record is
// lower than its own (written after it, by a delivery that has not corrected
// itself yet), writes its own again. When the record just before ours is the
// one the re-check read, nobody wrote in between and checking it costs no
// call: the uncontended case costs one DescribeServices.
//
// observed, when not nil, is the first look at the services, started beside
// the state write; it is used unless a correction came before it.
func (d *Deployer) settle(ctx context.Context, client target.ECSAPI, req Request, a *applying, read int64, written state.Record, observed func() (map[string]target.Service, error)) {
	e := a.e
	want := written
	describe := func(names []string) (map[string]target.Service, error) {
		if first := observed; first != nil {
			observed = nil
			return first()
		}
		return target.DescribeServices(ctx, client, e.env.Cluster, names)
	}
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
			if err == nil && wins(prev, want) {
				// We overwrote a deployment that should stand: put it back,
				// with every hold either record made.
				prev = withHolds(prev, want)
				d.restore(ctx, client, a, prev, revisions(want))
				observed = nil // it saw the services before this correction
				read = n
				if !put(prev) {
					return
				}
				continue
			}
		}
		names := slices.Sorted(maps.Keys(want.Services))
		services, err := describe(names)
		if err != nil {
			return
		}
		if d.settleFailure(ctx, a, want, services, put) {
			return // ECS failed or rolled the deployment back: its decision stands
		}
		running := map[string]string{}
		drift := false
		for _, svc := range names {
			if obs, ok := services[ecsref.ServiceName(svc)]; ok {
				running[svc] = obs.TaskDefinition
				drift = drift || !ecsref.SameRevision(obs.TaskDefinition, want.Services[svc].TaskDefinition)
			}
		}
		if !drift {
			return
		}
		latest, err := d.State.Get(ctx, req.Repository, e.name)
		if err != nil {
			return
		}
		if wins(want, latest) {
			// A record that should not stand was written after ours (a
			// lower version, or one ours holds): ours stands.
			want = withHolds(want, latest)
			d.restore(ctx, client, a, want, running)
			read = latest.ParameterVersion
			if !put(want) {
				return
			}
			continue
		}
		d.restore(ctx, client, a, latest, running)
		want, read = latest, latest.ParameterVersion-1
	}
}

// settleFailure records, when ECS has failed or rolled back a deployment
// the record want names, what ECS did (the failure held, what it rolled
// back to as running), with put, and reports whether it did: settling then
// stops, since pointing the services at the failed revision again would
// undo ECS's rollback. The rows of the services concerned say the rollout
// failed.
func (d *Deployer) settleFailure(ctx context.Context, a *applying, want state.Record, observed map[string]target.Service, put func(state.Record) bool) bool {
	views := map[string]ecsView{}
	failed := false
	for name, entry := range want.Services {
		if svc, ok := observed[ecsref.ServiceName(name)]; ok {
			v := judgeRollout(entry, svc, nil)
			views[name] = v
			failed = failed || v.rollout == state.Failed
		}
	}
	if !failed {
		return false
	}
	if repaired, changed := repairRecord(want, views, d.now()); changed {
		put(repaired)
	}
	for i, r := range a.rows {
		if v, ok := views[r.Service]; ok && v.rollout == state.Failed && r.Outcome == Deployed {
			a.rows[i].Rollout = state.Failed
		}
	}
	return true
}

// revisions returns the revision of each service a record names.
func revisions(rec state.Record) map[string]string {
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
func (d *Deployer) restore(ctx context.Context, client target.ECSAPI, a *applying, rec state.Record, running map[string]string) {
	for i, r := range a.rows {
		entry, ok := rec.Services[r.Service]
		if !ok || entry.Rollout == state.Failed || ecsref.SameRevision(entry.TaskDefinition, running[r.Service]) {
			// A revision whose deployment failed is never put back.
			continue
		}
		id, err := d.update(ctx, client, a.e, r.Service, entry.TaskDefinition, a.plans[i].observed.service.DeploymentConfiguration)
		switch {
		case err != nil:
			a.fail(i, err)
		case a.errs[i] != nil:
			// It failed earlier in this delivery, and says so.
		case ecsref.SameRevision(entry.TaskDefinition, r.TaskDefinition):
			a.rows[i].Outcome, a.rows[i].DeploymentID = Deployed, id
		default:
			// Another delivery's version stands: this one was superseded.
			a.skip(i, policy.OlderThanCurrent)
			a.rows[i].TaskDefinition, a.rows[i].DeploymentID = "", ""
		}
	}
}

// wins reports whether record a should stand over record b when two
// deliveries raced: the rule is "the highest version that is not held",
// with the holds of both records, so that a rollback (which holds the
// version it replaces) is never undone by a re-delivery of that version.
func wins(a, b state.Record) bool {
	heldA := a.IsHeld(a.Version) || b.IsHeld(a.Version)
	heldB := a.IsHeld(b.Version) || b.IsHeld(b.Version)
	if heldA != heldB {
		return heldB
	}
	av, err1 := semver.StrictNewVersion(a.Version)
	bv, err2 := semver.StrictNewVersion(b.Version)
	return err1 == nil && err2 == nil && av.GreaterThan(bv)
}

// withHolds returns rec holding also what other holds, but its own version.
func withHolds(rec, other state.Record) state.Record {
	rec = cloneRecord(rec)
	for _, h := range other.Held {
		if h != rec.Version {
			rec.Hold(h)
		}
	}
	return rec
}

// repairState writes the state record when every service already runs what
// was asked but the record does not say so (a previous delivery updated the
// services and then failed to record them).
func (d *Deployer) repairState(ctx context.Context, req Request, a *applying, rec *state.Record) {
	unchanged := false
	for _, r := range a.rows {
		unchanged = unchanged || r.Outcome == Unchanged
	}
	if !unchanged || (rec != nil && recordMatches(*rec, req, a) && (a.hold == "" || rec.IsHeld(a.hold))) {
		return
	}
	var prev state.Record
	if rec != nil {
		prev = *rec
	}
	d.record(ctx, req, a, prev)
}

// recordMatches reports whether a record already says that the request's
// image runs on every unchanged service.
func recordMatches(rec state.Record, req Request, a *applying) bool {
	if rec.Digest != req.Digest || rec.Version != a.e.version.String() {
		return false
	}
	for _, r := range a.rows {
		if r.Outcome == Unchanged && !ecsref.SameRevision(rec.Services[r.Service].TaskDefinition, r.TaskDefinition) {
			return false
		}
	}
	return true
}

// newRecord is the state record of an environment after this request,
// carrying over from prev what the request does not change.
func (d *Deployer) newRecord(req Request, a *applying, prev state.Record) state.Record {
	v := a.e.version
	rec := state.Record{
		Repository: req.Repository, Environment: a.e.name,
		Version: v.String(), Tag: req.Tag, Digest: req.Digest,
		Cause: req.Cause, EventID: req.EventID, Time: d.now().UTC(),
		Services: maps.Clone(prev.Services), Held: slices.Clone(prev.Held),
		LastCompleted: prev.LastCompleted, Good: slices.Clone(prev.Good), Failed: prev.Failed,
	}
	for _, p := range a.plans {
		if p.image != "" {
			rec.Image = p.image
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
		return err != nil || hv.Compare(v) <= 0
	})
	rec.Hold(a.hold)
	return rec
}

// unchangedEntry is the state entry of a service that already ran the
// requested revision: what was recorded if it names that revision, else what
// ECS reports.
func unchangedEntry(prev state.Record, e environment, p servicePlan) state.Service {
	if old, ok := prev.Services[p.service]; ok && ecsref.SameRevision(old.TaskDefinition, p.revision) {
		return old
	}
	primary, _ := p.observed.service.Primary()
	return state.Service{Cluster: e.env.Cluster, TaskDefinition: p.revision, DeploymentID: primary.ID, Rollout: cmp.Or(primary.Rollout, state.InProgress)}
}
