package deploy

import (
	"context"
	"errors"
	"fmt"
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

// Applying an environment's plans is a straight line of stages, under the
// delivery's claim on the environment: register the revisions, hold the
// version a rollback replaces, update the services, record what now runs
// (releasing the claim), check what ECS made of it. Each stage writes only
// its own fields of applied, and outcome, a pure function, turns the plans
// and applied into the rows a caller sees.

// applied is what applying an environment's plans did, index for index with
// the plans.
type applied struct {
	// hold is the version the request holds once applied ("" none).
	hold string
	// register: the revision each service is to run (registered now, or
	// an identical one reused), or the error that failed it.
	revision    []string
	registerErr []error
	// holdErr is the hold that could not be written before any service
	// moved, and claimErr the claim lost before the update: either way no
	// service was updated.
	holdErr, claimErr error
	// update: the deployment ECS started for each service (and its
	// service deployment), or the error.
	deploymentID      []string
	serviceDeployment []string
	updateErr         []error
	// record: the services the record speaks for, and the error of a
	// record that could not be written (the services it speaks for fail,
	// so that a re-delivery deploys them again).
	speaksFor []bool
	recordErr error
	// check: services whose new deployment ECS failed at once, and those
	// whose update was undone because a higher version stands.
	failedRollout []bool
	superseded    []bool
}

func newApplied(n int) *applied {
	return &applied{
		revision: make([]string, n), registerErr: make([]error, n),
		deploymentID: make([]string, n), serviceDeployment: make([]string, n), updateErr: make([]error, n),
		failedRollout: make([]bool, n), superseded: make([]bool, n),
	}
}

// updated reports whether service i was updated.
func (a *applied) updated(i int) bool { return a.deploymentID[i] != "" }

// toUpdate returns the services whose plan is to deploy them.
func toUpdate(plans []servicePlan) []int {
	var out []int
	for i, p := range plans {
		if p.outcome == Deployed && p.err == nil {
			out = append(out, i)
		}
	}
	return out
}

// apply carries out an environment's plans under the claim c (released
// before it returns, with the record's write when there is one). rec is the
// environment's record as claimed (nil: none). Once the services are
// updated it hands the rows to decided (when not nil), and describes the
// services for the check beside the state write. It returns each service's
// row and the error that failed it, if any.
func (d *Deployer) apply(ctx, act context.Context, client target.ECSAPI, req Request, e environment, rec *state.Record, plans []servicePlan, c *claim, paced *slots, decided func([]Row)) ([]Row, []error) {
	a := newApplied(len(plans))
	prev := state.Record{Repository: req.Repository, Environment: e.name}
	if rec != nil {
		prev = *rec
	}
	a.hold = holdFor(req, e.version, prev)
	pending := toUpdate(plans)
	if len(pending) == 0 {
		rctx, cancel := d.recordContext(ctx)
		defer cancel()
		d.recordUnchanged(rctx, req, e, rec, plans, a, c)
		return outcome(e, plans, a)
	}

	if rows, ok := d.handOffFar(act, req, e, plans, pending, paced); ok {
		d.release(ctx, c)
		return rows, make([]error, len(plans))
	}
	d.register(act, client, e, plans, pending, a, paced)
	registered := slices.ContainsFunc(pending, func(i int) bool { return a.registerErr[i] == nil })
	if registered && a.hold != "" && !prev.IsHeld(a.hold) {
		// A version this request replaces for good (a rollback's, a manual
		// downgrade's) is held before any service moves, so that no crash
		// after this point lets a reconcile or a re-delivery put it back.
		rctx, cancel := d.recordContext(ctx)
		prev, a.holdErr = d.holdFirst(rctx, prev, a.hold)
		cancel()
	}
	if registered && a.holdErr == nil {
		a.claimErr = d.keep(act, c)
	}
	if registered && a.holdErr == nil && a.claimErr == nil && act.Err() != nil {
		// No update starts without the time to record it: this delivery
		// fails retryably, and is made again.
		a.claimErr = fmt.Errorf("too close to the invocation's deadline to update and record the services: %w", context.DeadlineExceeded)
	}
	if registered && a.holdErr == nil && a.claimErr == nil {
		d.update(act, client, req, e, plans, pending, a)
	}
	if decided != nil {
		rows, _ := outcome(e, plans, a)
		decided(rows)
	}
	if !slices.ContainsFunc(pending, a.updated) {
		d.release(ctx, c)
		return outcome(e, plans, a)
	}
	// The check's first look at the services runs beside the state write:
	// it only has to see them after our UpdateService.
	observed := sync.OnceValues(func() (map[string]target.Service, error) {
		return target.DescribeServices(ctx, client, e.env.Cluster, e.env.Services)
	})
	go observed()
	// What was done is recorded (and the claim released) even when act has
	// ended: the record context is the margin kept for it.
	rctx, cancel := d.recordContext(ctx)
	defer cancel()
	if written, ok := d.record(rctx, client, req, e, prev, plans, a, c); ok {
		d.check(rctx, client, e, written, plans, a, observed)
	}
	return outcome(e, plans, a)
}

// register registers the revisions the plans need, concurrently, and notes
// the revision each service is to run.
func (d *Deployer) register(ctx context.Context, client target.ECSAPI, e environment, plans []servicePlan, pending []int, a *applied, paced *slots) {
	var wg sync.WaitGroup
	for _, i := range pending {
		if !plans[i].register() {
			a.revision[i] = plans[i].revision
			continue
		}
		wg.Go(func() {
			if a.registerErr[i] = paced.wait(ctx); a.registerErr[i] != nil {
				return
			}
			a.revision[i], a.registerErr[i] = d.registerRevision(ctx, client, e.env.Region, plans[i].rendered)
		})
	}
	wg.Wait()
}

// registerRevision registers a rendered revision. Registrations into one
// family are serialised: ECS rejects concurrent revisions of a family.
func (d *Deployer) registerRevision(ctx context.Context, client target.ECSAPI, region string, in *ecs.RegisterTaskDefinitionInput) (string, error) {
	mu := d.familyLock(region, aws.ToString(in.Family))
	mu.Lock()
	defer mu.Unlock()
	return target.RegisterTaskDefinition(ctx, client, in)
}

// holdFirst writes the hold of version into the record and returns the
// record as written.
func (d *Deployer) holdFirst(ctx context.Context, prev state.Record, version string) (state.Record, error) {
	k := state.Key{Repository: prev.Repository, Environment: prev.Environment}
	written, _, err := d.amend(ctx, k, &prev, func(r state.Record) (state.Record, bool) {
		if r.IsHeld(version) {
			return r, false
		}
		r.Hold(version)
		return r, true
	})
	if err != nil {
		return prev, fmt.Errorf("hold %s before replacing it: %w", version, err)
	}
	return written, nil
}

// update points the services whose revision is ready at it, concurrently:
// through UpdateService, or a CodeDeploy deployment for a CODE_DEPLOY
// service (codedeploy.go).
func (d *Deployer) update(ctx context.Context, client target.ECSAPI, req Request, e environment, plans []servicePlan, pending []int, a *applied) {
	var wg sync.WaitGroup
	for _, i := range pending {
		if a.registerErr[i] != nil {
			continue
		}
		wg.Go(func() {
			if plans[i].observed.service.CodeDeployControlled() {
				a.deploymentID[i], a.updateErr[i] = d.deployThroughCodeDeploy(ctx, req, e, plans[i], a.revision[i])
				return
			}
			started, err := d.updateService(ctx, client, e, plans[i].service, a.revision[i], plans[i].observed.service.DeploymentConfiguration)
			a.deploymentID[i], a.serviceDeployment[i], a.updateErr[i] = started.DeploymentID, started.ServiceDeploymentARN, err
		})
	}
	wg.Wait()
}

// updateService points a service at a revision, sending desiredCount and the
// deployment configuration only when the environment configures them (what
// the document leaves out of a nested object is completed from the
// service's current configuration, so that it is kept), and returns the
// deployment ECS started.
func (d *Deployer) updateService(ctx context.Context, client target.ECSAPI, e environment, service, taskDefinition string, current *ecstypes.DeploymentConfiguration) (target.Started, error) {
	in := &ecs.UpdateServiceInput{
		Cluster:                 aws.String(e.env.Cluster),
		Service:                 aws.String(service),
		TaskDefinition:          aws.String(taskDefinition),
		DesiredCount:            e.env.DesiredCount,
		DeploymentConfiguration: deploymentConfiguration(e.env.Deployment, current),
	}
	return target.StartDeployment(ctx, client, in)
}

// recordUnchanged records, when no service needed an update, what the
// environment runs when its record does not say so already (a previous
// delivery updated the services and then failed to record them), and a
// hold the request asks for; and releases the claim.
func (d *Deployer) recordUnchanged(ctx context.Context, req Request, e environment, rec *state.Record, plans []servicePlan, a *applied, c *claim) {
	unchanged := slices.ContainsFunc(plans, func(p servicePlan) bool { return p.outcome == Unchanged })
	if !unchanged || (rec != nil && recordMatches(*rec, req, e, plans) && (a.hold == "" || rec.IsHeld(a.hold))) {
		d.release(ctx, c)
		return
	}
	prev := state.Record{Repository: req.Repository, Environment: e.name}
	if rec != nil {
		prev = *rec
	}
	d.record(ctx, nil, req, e, prev, plans, a, c)
}

// recordMatches reports whether a record already says that the request's
// image runs on every unchanged service.
func recordMatches(rec state.Record, req Request, e environment, plans []servicePlan) bool {
	if rec.Digest != req.Digest || rec.Version != e.version.String() {
		return false
	}
	for _, p := range plans {
		if p.outcome == Unchanged && !ecsref.SameRevision(rec.Services[p.service].TaskDefinition, p.revision) {
			return false
		}
	}
	return true
}

// record writes the environment's record after the update (nextRecord),
// releasing the claim in the same write, and returns it as written. A write
// that lost to an ECS event recorded meanwhile is made again from the
// record read anew. When another delivery took the environment over (this
// one's claim expired before it recorded), it claims the environment back
// and decides again: its own version is recorded if it stands over what
// the other recorded, and otherwise its services are put back where that
// record says (they were superseded). A record that cannot be written
// fails the services it speaks for.
func (d *Deployer) record(ctx context.Context, client target.ECSAPI, req Request, e environment, prev state.Record, plans []servicePlan, a *applied, c *claim) (state.Record, bool) {
	k := state.Key{Repository: req.Repository, Environment: e.name}
	for attempt := 1; ; attempt++ {
		next, speaks := nextRecord(req, e, prev, plans, a, d.now())
		a.speaksFor = speaks
		if !slices.Contains(speaks, true) {
			d.release(ctx, c)
			return state.Record{}, false
		}
		written, err := d.State.Put(ctx, next, state.Releasing(c.owner))
		if err == nil {
			noteWrite(ctx, prev, written) // the keep tags follow (protectwritten.go)
			return written, true
		}
		if !errors.Is(err, state.ErrConflict) || attempt == amendAttempts {
			a.recordErr = err
			d.release(ctx, c)
			return state.Record{}, false
		}
		latest, err := d.read(ctx, k)
		if err != nil {
			a.recordErr = err
			d.release(ctx, c)
			return state.Record{}, false
		}
		if latest.Claim == nil || latest.Claim.Owner != c.owner {
			// The claim is gone: it expired, and another delivery took the
			// environment (it may have released it since).
			back, again, err := d.acquire(ctx, k, c.owner, nil)
			if err != nil {
				a.recordErr = fmt.Errorf("the claim on the environment expired before the update was recorded: %w", err)
				return state.Record{}, false
			}
			*c = *again
			latest = state.Record{Repository: k.Repository, Environment: k.Environment}
			if back != nil {
				latest = *back
			}
		}
		if (latest.Version != prev.Version || latest.Digest != prev.Digest) && stands(latest, e.version) {
			// Another deployment was recorded meanwhile, of a version
			// that stands over this one's.
			d.undo(ctx, client, e, latest, plans, a)
			d.release(ctx, c)
			return state.Record{}, false
		}
		prev = latest
	}
}

// read returns an environment's record, an empty one when it has none.
func (d *Deployer) read(ctx context.Context, k state.Key) (state.Record, error) {
	rec, err := d.State.Get(ctx, k.Repository, k.Environment)
	if errors.Is(err, state.ErrNotFound) {
		return state.Record{Repository: k.Repository, Environment: k.Environment}, nil
	}
	return rec, err
}

// stands reports whether a record's version stands over v: it is higher
// and not held, or v is held there.
func stands(rec state.Record, v *semver.Version) bool {
	return wins(rec, state.Record{Version: v.String()})
}

// undo points the services this delivery updated back at the revisions a
// record that stands over it names, and marks them superseded. A service
// the record does not name, or whose recorded deployment failed, is left
// as it is.
func (d *Deployer) undo(ctx context.Context, client target.ECSAPI, e environment, rec state.Record, plans []servicePlan, a *applied) {
	for i, p := range plans {
		entry, ok := rec.Services[p.service]
		if !a.updated(i) || !ok || entry.Rollout == state.Failed || ecsref.SameRevision(entry.TaskDefinition, a.revision[i]) {
			continue
		}
		var err error
		if p.observed.service.CodeDeployControlled() {
			err = d.putBackThroughCodeDeploy(ctx, e, rec, p, entry.TaskDefinition)
		} else {
			_, err = d.updateService(ctx, client, e, p.service, entry.TaskDefinition, p.observed.service.DeploymentConfiguration)
		}
		if err != nil {
			a.updateErr[i] = fmt.Errorf("put %s back on %s, which a higher version recorded meanwhile: %w", p.service, entry.TaskDefinition, err)
			continue
		}
		a.superseded[i] = true
	}
}

// check looks, once the record is written, at what ECS made of the update
// (observed: the look started beside the write). A deployment ECS failed
// at once (the circuit breaker rolled it back) is recorded as failed and
// its version held, and the rows say so. A service that another delivery
// of this repository put back on a version that does not stand over the
// recorded one (a late update, after its claim expired) is pointed at the
// recorded revision again; a change made outside ecrdeploy is left as it
// is, for status to show as drift.
func (d *Deployer) check(ctx context.Context, client target.ECSAPI, e environment, written state.Record, plans []servicePlan, a *applied, observed func() (map[string]target.Service, error)) {
	services, err := observed()
	if err != nil {
		return
	}
	views := map[string]ecsView{}
	failed := false
	for i, p := range plans {
		svc, ok := services[ecsref.ServiceName(p.service)]
		if !a.updated(i) || !ok || svc.CodeDeployControlled() {
			continue // CodeDeploy takes minutes to get anywhere: nothing to check yet
		}
		v := judgeRollout(written.Services[p.service], svc, nil, false)
		views[p.service] = v
		if v.rollout == state.Failed {
			a.failedRollout[i], failed = true, true
		}
	}
	if failed {
		if _, err := d.writeRepair(ctx, written, views); err != nil {
			d.log().ErrorContext(ctx, "record a rollback ECS made at once", "repository", written.Repository, "environment", e.name, "error", err.Error())
		}
		return
	}
	for i, p := range plans {
		svc, ok := services[ecsref.ServiceName(p.service)]
		if !a.updated(i) || !ok || svc.CodeDeployControlled() || ecsref.SameRevision(svc.TaskDefinition, a.revision[i]) {
			continue
		}
		d.correct(ctx, client, e, written, p.service, svc, a.revision[i])
	}
}

// correct points a service back at the revision just recorded when the
// revision it runs instead is another delivery's of this repository, of a
// version that does not stand over the recorded one.
func (d *Deployer) correct(ctx context.Context, client target.ECSAPI, e environment, written state.Record, service string, svc target.Service, recorded string) {
	running := svc.TaskDefinition
	td, ok, err := target.DescribeTaskDefinition(ctx, client, running)
	if err != nil || !ok || revisionTag(td, "ecrdeploy:repository") != written.Repository {
		return // someone else's change: drift, which status shows
	}
	theirs := state.Record{Version: revisionTag(td, "ecrdeploy:version"), Held: written.Held, HeldThrough: written.HeldThrough}
	if wins(theirs, written) {
		return
	}
	d.log().WarnContext(ctx, "a late delivery replaced a recorded deployment: put back", "repository", written.Repository,
		"environment", e.name, "service", service, "running", running, "taskDefinition", recorded)
	if _, err := d.updateService(ctx, client, e, service, recorded, svc.DeploymentConfiguration); err != nil {
		d.log().ErrorContext(ctx, "put back a recorded deployment", "repository", written.Repository, "environment", e.name,
			"service", service, "error", err.Error())
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

// outcome turns the plans of an environment and what applying them did
// into its rows, and the error that failed each service, if any. It calls
// nothing.
func outcome(e environment, plans []servicePlan, a *applied) ([]Row, []error) {
	rows := make([]Row, len(plans))
	errs := make([]error, len(plans))
	for i, p := range plans {
		r, err := p.row(e), p.err
		fail := func(e error) { r.Outcome, r.Error, err = Failed, e.Error(), e }
		if p.outcome == Deployed && p.err == nil {
			switch {
			case a.registerErr[i] != nil:
				fail(a.registerErr[i])
			case a.holdErr != nil:
				fail(a.holdErr)
			case a.claimErr != nil:
				fail(a.claimErr)
			case a.updateErr[i] != nil:
				fail(a.updateErr[i])
			default:
				r.TaskDefinition, r.DeploymentID = a.revision[i], a.deploymentID[i]
			}
		}
		switch {
		case a.superseded[i]:
			r.Outcome, r.Reason, r.TaskDefinition, r.DeploymentID, r.PreviousTaskDefinition = Skipped, policy.Superseded, "", "", ""
		case a.speaksFor != nil && a.speaksFor[i] && a.recordErr != nil:
			// Unchanged services fail too: a re-delivery finds them running
			// what was asked and would otherwise leave the record unwritten.
			fail(fmt.Errorf("service runs %s but its state was not recorded: %w", r.TaskDefinition, a.recordErr))
		case a.failedRollout[i] && r.Outcome == Deployed:
			r.Rollout = state.Failed
		}
		rows[i], errs[i] = r, err
	}
	return rows, errs
}
