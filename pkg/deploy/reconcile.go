package deploy

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// reconcileConcurrency is how many repositories a reconcile works on at once.
const reconcileConcurrency = 4

// candidate is an image a reconcile may deploy.
type candidate struct {
	target.Image
	version *semver.Version
}

// Reconcile brings every push environment of every configured repository
// to the highest version its policy accepts that is not held, when it is
// behind: it catches up after lost push events. An environment that is ahead
// (a forced manual deploy) is left alone. It first reads the state records
// and describes the services of the whole fleet, in batches across
// repositories (observeFleet); an environment that this proves in sync
// costs nothing more, a record ECS has moved on from is repaired, and the
// rest go through the deciding and applying code of a push. It works on
// reconcileConcurrency repositories at once and stops before the
// invocation's deadline, reporting what it did not reach. The error is
// non-nil only when a retry could succeed.
func (d *Deployer) Reconcile(ctx context.Context, ev event.Schedule) (Result, error) {
	ctx, protect := d.protecting(ctx) // the keep tags follow the records written (protectwritten.go)
	defer protect()
	out := Result{Cause: state.CauseReconcile}
	resumed, resumeErr := d.ResumeRestores(ctx, "") // deployments that waited on a restore (restore.go)
	docs, err := d.Config.List(ctx)
	if err != nil {
		if target.Retryable(err) {
			return out, err
		}
		d.log().ErrorContext(ctx, "reconcile: list configuration", "error", err.Error())
		return out, nil
	}
	repos := slices.Sorted(maps.Keys(docs))

	// Stop beginning repositories once the deadline is near: a delivery
	// begun needs its margin (deadlineMargin) and some time to act.
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		var stop context.CancelFunc
		work, stop = context.WithDeadline(ctx, dl.Add(-d.deadlineMargin()-d.waitMargin()))
		defer stop()
	}
	var observed *fleet
	if work.Err() == nil {
		observed = d.observeFleet(work, docs, repos)
	}

	results := make([]*Result, len(repos))
	var errs []error
	var mu sync.Mutex
	sem := make(chan struct{}, reconcileConcurrency)
	var wg sync.WaitGroup
	for i, repo := range repos {
		select {
		case sem <- struct{}{}:
		case <-work.Done():
		}
		if work.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			// A repository begun goes on under ctx: its deliveries keep
			// their own margin before the deadline (actContext), and the
			// record of what they changed must not be cut short by the
			// reconcile's stopping to begin others.
			res, err := d.reconcileRepository(ctx, ev, repo, docs[repo], observed)
			mu.Lock()
			defer mu.Unlock()
			results[i] = &res
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r == nil {
			out.NotReached = append(out.NotReached, repos[i])
			continue
		}
		out.Repositories = append(out.Repositories, *r)
	}
	if len(out.NotReached) > 0 {
		d.log().WarnContext(ctx, "reconcile stopped before the deadline", "notReached", out.NotReached)
	}
	out.Repositories = append(resumed.Repositories, out.Repositories...)
	return out, errors.Join(append(errs, resumeErr)...)
}

// reconcileRepository brings each push environment of one repository to
// the best image ECR has for it, from what the fleet's observation says of
// it: nothing when it is in sync, a repaired record when ECS moved on from
// the one read, the deploy path when it is behind or not provably in sync.
func (d *Deployer) reconcileRepository(ctx context.Context, ev event.Schedule, repo string, doc *config.Document, observed *fleet) (Result, error) {
	start := d.now()
	res := Result{Repository: repo, Cause: state.CauseReconcile}
	envs := pushEnvironments(doc)
	if len(envs) == 0 {
		return res, nil
	}
	images, err := target.ListImages(ctx, d.ECR, d.Region, repo)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	recs, err := observed.records(ctx, d.State, repo, envs)
	var unreadable *state.Unreadable
	if err != nil && !errors.As(err, &unreadable) {
		return d.fail(ctx, res, err)
	}

	plans := map[string]reconcilePlan{}
	for _, name := range envs {
		env := doc.Environments[name]
		if bad := unreadable.Of(name); bad != nil {
			// Without its record nothing is known of what runs there.
			res.Results = append(res.Results, environmentRows(name, env, "", bad)...)
			continue
		}
		rec := recordOf(recs, name)
		seen, described := observed.envs[state.Key{Repository: repo, Environment: name}]
		var views map[string]ecsView
		if rec != nil && described {
			views = ecsViews(ctx, seen.client, d.codeDeployOf(ctx, repo, name, env), env.Cluster, *rec, seen.services)
		}
		p := planReconcile(images, env, rec, seen.services, views, d.now())
		p.views = views
		plans[name] = p
	}
	rows, errs := d.writeRepairs(ctx, doc, images, recs, plans)
	res.Results = append(res.Results, rows...)

	// Environments that want the same image are reported, and deployed,
	// together.
	byImage := map[string][]string{}
	chosen := map[string]candidate{}
	for _, name := range envs {
		p, ok := plans[name]
		if !ok || p.action == leave {
			continue
		}
		k := p.candidate.Digest + " " + p.candidate.Tag
		byImage[k] = append(byImage[k], name)
		chosen[k] = p.candidate
	}
	for _, k := range slices.Sorted(maps.Keys(byImage)) {
		c := chosen[k]
		req := Request{
			Repository: repo, Tag: c.Tag, Digest: c.Digest, Registry: c.Registry,
			Cause: state.CauseReconcile, EventID: ev.ID, PushedAt: c.PushedAt,
		}
		var synced []Row
		for _, name := range byImage[k] {
			switch p := plans[name]; p.action {
			case inSync:
				synced = append(synced, syncedRows(name, doc.Environments[name], p.rec)...)
			case stay:
				synced = append(synced, environmentRows(name, doc.Environments[name], p.reason, nil)...)
			case catchUp:
				req.Environments = append(req.Environments, name)
			}
		}
		if len(synced) > 0 {
			r := Result{Repository: repo, Tag: c.Tag, Version: c.version.String(), Digest: c.Digest, Cause: state.CauseReconcile, Results: synced}
			d.finish(ctx, req, r, start)
			res.merge(r)
		}
		if len(req.Environments) > 0 {
			r, err := d.Deploy(ctx, req)
			if err != nil {
				errs = append(errs, err)
			}
			res.merge(r)
		}
	}
	return res, errors.Join(errs...)
}

// writeRepairs writes the records that ECS has moved on from (a rollout
// that ended, a rollback) as the fleet's observation repaired them,
// conditionally on the revision the fleet read. A record that changed
// meanwhile in another way is decided again from what it says now, and its
// services left to the deploy path to describe anew. It updates plans, and
// returns the rows of the environments that failed, and the errors of them
// a retry could fix.
func (d *Deployer) writeRepairs(ctx context.Context, doc *config.Document, images []target.Image, fleetRecs map[string]state.Record, plans map[string]reconcilePlan) ([]Row, []error) {
	var rows []Row
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(plans)) {
		p := plans[name]
		if p.repaired == nil {
			continue
		}
		written, err := d.writeRepair(ctx, fleetRecs[name], p.views)
		if err != nil {
			rows = append(rows, environmentRows(name, doc.Environments[name], "", err)...)
			errs = append(errs, retryable(name, "", err)...)
			delete(plans, name)
			continue
		}
		if written.Version != p.repaired.Version || written.Digest != p.repaired.Digest || !sameDeployments(written, *p.repaired) {
			p = planReconcile(images, doc.Environments[name], &written, nil, nil, d.now())
		}
		p.rec = &written
		plans[name] = p
	}
	return rows, errs
}

// merge adds the rows of one image's request to a repository's result,
// which names the highest version among them.
func (res *Result) merge(r Result) {
	if res.Version == "" || (r.Version != "" && semver.MustParse(r.Version).GreaterThan(semver.MustParse(res.Version))) {
		res.Tag, res.Version, res.Digest = r.Tag, r.Version, r.Digest
	}
	res.Results = append(res.Results, r.Results...)
	if r.Error != "" {
		res.Error = r.Error
	}
}

// recordOf returns an environment's record in recs, nil when it has none.
func recordOf(recs map[string]state.Record, name string) *state.Record {
	if rec, ok := recs[name]; ok {
		return &rec
	}
	return nil
}

// syncedRows are the rows of an environment in sync: every service
// unchanged, running what its record says.
func syncedRows(name string, env *config.Environment, rec *state.Record) []Row {
	rows := make([]Row, len(env.Services))
	for i, svc := range env.Services {
		rows[i] = Row{
			Environment: name, Cluster: env.Cluster, Service: svc, Outcome: Unchanged,
			Image: rec.Image, TaskDefinition: rec.Services[svc].TaskDefinition,
		}
	}
	return rows
}

// reconcileAction is what a reconcile does to a push environment once its
// record reads as ECS says it should.
type reconcileAction int

const (
	// leave: no image the environment's policy accepts is runnable and
	// not held; nothing is reported.
	leave reconcileAction = iota
	// inSync: the environment runs the best image, as its record says;
	// nothing is done and no further call made.
	inSync
	// stay: the record says the environment is where the best image may
	// not take it (ahead of it after a forced deploy, or the same version
	// under another digest): it is skipped with compareState's reason, as
	// the deploy path would skip it.
	stay
	// catchUp: the environment is behind, or not provably in sync; the
	// deploy path decides, from ECS's task definitions.
	catchUp
)

// reconcilePlan is what a reconcile does to one push environment.
type reconcilePlan struct {
	// repaired is the environment's record brought up to what ECS says,
	// to be written before anything else; nil when it needs no repair.
	repaired *state.Record
	action   reconcileAction
	// candidate is the image the environment is to run (not for leave),
	// and rec its record as decided from (the repaired one, if any).
	candidate candidate
	rec       *state.Record
	reason    policy.Reason // why it stays
	// views are what ECS said of the deployments the fleet's record
	// names, from which repaired was made.
	views map[string]ecsView
}

// planReconcile decides what a reconcile does to one push environment from
// the fleet's observation of it: its record (nil: none), its services as
// ECS describes them (nil: not described) and what ECS says of the
// deployments the record names (views, from ecsViews). A record ECS moved
// on from (a rollout that ended, a rollback) is repaired first, and the
// rest decided from the repaired record, so that a version a rollback
// held is not deployed again. It calls nothing.
func planReconcile(images []target.Image, env *config.Environment, rec *state.Record, services map[string]target.Service, views map[string]ecsView, now time.Time) reconcilePlan {
	var p reconcilePlan
	if rec != nil && services != nil {
		if repaired, changed := repairRecord(*rec, views, now); changed {
			rec, p.repaired = &repaired, &repaired
		}
	}
	p.rec = rec
	c, ok := best(images, env, rec)
	if !ok {
		return p
	}
	p.candidate = c
	req := Request{Tag: c.Tag, Digest: c.Digest, Cause: state.CauseReconcile}
	switch reason := cmp.Or(awaitECS(req, c.version, rec, views), compareState(req, c.version, rec)); {
	case services == nil:
		// Without ECS's word the record may say what is no longer so.
		p.action = catchUp
	case reason != policy.Accepted:
		p.action, p.reason = stay, reason
	case runsCandidate(c, env, rec, services):
		p.action = inSync
	default:
		p.action = catchUp
	}
	return p
}

// runsCandidate reports whether an environment provably runs a candidate:
// its record names the candidate's digest and version, and ECS runs, in
// every service the environment configures, the revision the record names
// for it, under ECS's or CodeDeploy's deployment controller. Anything else (no record,
// another digest, a service the record lacks or ECS does not describe,
// drift) is for the deploy path to decide.
func runsCandidate(c candidate, env *config.Environment, rec *state.Record, services map[string]target.Service) bool {
	if rec == nil || services == nil || rec.Digest != c.Digest || rec.Version != c.version.String() {
		return false
	}
	for _, name := range env.Services {
		entry, recorded := rec.Services[name]
		svc, described := services[ecsref.ServiceName(name)]
		if !recorded || !described || !deployable(svc) || !ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition) {
			return false
		}
	}
	return true
}

// best returns the highest version among the images that an environment's
// policy accepts and that is not held there.
func best(images []target.Image, env *config.Environment, rec *state.Record) (candidate, bool) {
	var top candidate
	for _, img := range images {
		if !input.RunnableImage(img.ManifestMediaType, img.ArtifactMediaType) {
			continue // a Helm chart, a signature: nothing a task can run
		}
		v, reason := env.Policy().Evaluate(img.Tag)
		if reason != policy.Accepted || (rec != nil && rec.IsHeld(v.String())) {
			continue
		}
		if top.version == nil || v.GreaterThan(top.version) {
			top = candidate{Image: img, version: v}
		}
	}
	return top, top.version != nil
}
