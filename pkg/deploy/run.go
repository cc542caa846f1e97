package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Deploy plans req for every selected environment and, unless req.DryRun,
// applies it. Expected outcomes (skips, unchanged services, failures of one
// service) are in the Result; the error is non-nil only when a retry of the
// invocation could succeed (throttling, 5xx, timeouts, an environment
// another delivery held for longer than this one could wait).
func (d *Deployer) Deploy(ctx context.Context, req Request) (Result, error) {
	ctx, protect := d.protecting(ctx) // the keep tags follow the records written (protectwritten.go)
	defer protect()
	start := d.now()
	res := Result{Repository: req.Repository, Tag: req.Tag, Digest: req.Digest, Cause: req.Cause}
	// Who we are (a cold process asks once) is learnt beside the
	// configuration, not after it.
	own := sync.OnceValues(func() (string, error) { return d.ownRegistry(ctx, req) })
	go own()
	doc, err := d.Config.Get(ctx, req.Repository)
	switch {
	case errors.Is(err, config.ErrNotFound):
		res.Results = []Row{{Outcome: Skipped, Reason: policy.NoConfig}}
		d.finish(ctx, req, res, start)
		return res, nil
	case err != nil:
		return d.fail(ctx, res, err)
	}
	names, err := selectEnvironments(doc, req.Environments)
	if err != nil {
		return d.fail(ctx, res, err)
	}

	registry, err := own()
	if err != nil {
		return d.fail(ctx, res, err)
	}
	rows := make([][]Row, len(names))
	var admitted []environment
	var index []int
	for i, name := range names {
		env := doc.Environments[name]
		v, reason := admit(req, env)
		if reason == policy.Accepted && !fromPulledRegistry(req, env, registry) {
			reason = policy.ForeignRegistry
		}
		if res.Version == "" && v != nil {
			res.Version = v.String()
		}
		if reason != policy.Accepted {
			rows[i] = environmentRows(name, env, reason, nil)
			continue
		}
		admitted = append(admitted, environment{name: name, env: env, version: v})
		index = append(index, i)
	}

	skipped := res
	skipped.Results = slices.Concat(rows...)
	if len(admitted) == 0 {
		d.finish(ctx, req, skipped, start)
		return skipped, nil
	}
	publish := d.earlyPublisher(ctx, req, skipped, len(admitted))
	// A push event is checked against ECR, beside the other reads: a stale
	// event (the tag moved since) or a forged one deploys nothing, and a
	// higher version there supersedes it (coalesce.go).
	pushed := sync.OnceValues(func() (pushedImages, error) { return d.listPushed(ctx, req, registry) })
	go pushed()
	// A dry run reads the records of every environment at once; a
	// delivery claims each environment it acts on, which reads its record
	// in the same call.
	states := sync.OnceValues(func() (map[string]state.Record, error) {
		envs := make([]string, len(admitted))
		for i, e := range admitted {
			envs[i] = e.name
		}
		return d.State.GetMany(ctx, req.Repository, envs)
	})
	owner := newOwner(req.EventID)
	// Reads and changes to ECS stop a margin before the deadline; the
	// records of what was changed are written in it.
	act, stop := d.actContext(ctx)
	defer stop()
	retry := make([][]error, len(admitted))
	final := make([][]Row, len(admitted))
	backlog := backlogged(req, start)
	if backlog {
		go states() // beside ECR's images
	}
	var wg sync.WaitGroup
	for i, e := range admitted {
		wg.Go(func() {
			decided := publish.decided(i)
			var settled bool
			if backlog {
				final[i], settled = d.settleUnclaimed(act, req, e, states, pushed)
			}
			if !settled {
				read := d.claimRecord(act, req, e, owner, pushed)
				if req.DryRun {
					read = sharedRecords(e.name, states)
				}
				final[i], retry[i] = d.runEnvironment(ctx, act, req, e, read, pushed, decided)
			}
			decided(final[i]) // when it returned before updating anything
			rows[index[i]] = final[i]
		})
	}
	wg.Wait()
	res.Results = slices.Concat(rows...)
	publish.finish(ctx, res, final, start)
	return res, errors.Join(slices.Concat(retry...)...)
}

// runEnvironment observes, decides and applies one environment: it reads
// (and claims) its record with read, and releases the claim when it is
// done, with the write that records what it did when there is one. Reads
// and changes run under act, which ends a margin before ctx's deadline;
// the records are written under ctx, in that margin if need be. pushed
// is the check of a push against ECR, which ran beside the environment's
// reads. It returns the environment's rows and the errors of it a retry
// could fix.
//
// decided is handed the rows once the services have been updated, before
// the state write and the convergence check, so that the result events go
// out beside them.
func (d *Deployer) runEnvironment(ctx, act context.Context, req Request, e environment, read recordRead, pushed func() (pushedImages, error), decided func([]Row)) ([]Row, []error) {
	obs, err := d.observeEnvironment(act, req, e, read)
	var images pushedImages
	if err == nil {
		images, err = pushed() // read beside the environment's own reads
	}
	if err == nil && obs.repaired && !req.DryRun {
		// What ECS says is recorded before anything is decided from it.
		var rec state.Record
		rctx, cancel := d.recordContext(ctx)
		rec, err = d.writeRepair(rctx, obs.read, obs.views)
		cancel()
		obs.rec = &rec
	}
	if err != nil {
		d.release(ctx, obs.claim)
		return environmentRows(e.name, e.env, "", err), retryable(e.name, "", err)
	}
	if obs.held != nil {
		return obs.held.rows(e), nil // a closed change calendar, a replica without the image yet
	}
	if reason := cmp.Or(awaitECS(req, e.version, obs.rec, obs.views), compareState(req, e.version, obs.rec)); reason != policy.Accepted {
		d.release(ctx, obs.claim)
		return environmentRows(e.name, e.env, reason, nil), nil
	}
	if by, ok := supersededBy(images, e, obs.rec); ok {
		d.release(ctx, obs.claim)
		return supersededRows(e, by), nil
	}
	paced := d.registrationSlots(req, e, behind(images, obs.rec, d.now()))
	if !req.DryRun && registers(req, e, obs.rec) {
		// A registration is all but sure: its slot is reserved beside the
		// describes that plan it.
		paced.prefetch(act)
	}
	plans := make([]servicePlan, len(e.env.Services))
	known := knownRevisions(obs.rec, req, e.version)
	var wg sync.WaitGroup
	for i, name := range e.env.Services {
		wg.Go(func() {
			o := observeKnown(act, obs.client, observeService(act, obs.client, e, name, obs.services), known[name])
			plans[i] = planService(req, e, obs.rec, o)
		})
	}
	wg.Wait()
	var rows []Row
	var failures []error
	if req.DryRun {
		for _, p := range plans {
			p = dryRun(p, e.env)
			rows, failures = append(rows, p.row(e)), append(failures, p.err)
		}
	} else {
		rows, failures = d.apply(ctx, act, obs.client, req, e, obs.rec, plans, obs.claim, paced, decided)
	}
	var errs []error
	for i, err := range failures {
		errs = append(errs, retryable(e.name, plans[i].service, err)...)
	}
	return rows, errs
}

// ownRegistry is the registry host of the function's own account and
// region, where pushes are deployed from: "" when the request is not a push
// or the Deployer trusts every registry.
func (d *Deployer) ownRegistry(ctx context.Context, req Request) (string, error) {
	if req.Cause != state.CausePush || d.Account == nil {
		return "", nil
	}
	account, err := d.Account(ctx)
	if err != nil {
		return "", fmt.Errorf("who am I (to tell a push from our registry from another's): %w", err)
	}
	return input.RegistryHost(account, d.Region), nil
}

// fromPulledRegistry reports whether a push comes from a registry the
// environment pulls from: the function's own (own), or the environment's
// registry. own "" trusts every registry.
func fromPulledRegistry(req Request, env *config.Environment, own string) bool {
	return own == "" || req.Registry == own || (env.Registry != "" && req.Registry == env.Registry)
}

// retryable returns err, naming where it happened, when a retry could fix it.
func retryable(environment, service string, err error) []error {
	if !target.Retryable(err) {
		return nil
	}
	if service == "" {
		return []error{fmt.Errorf("environment %s: %w", environment, err)}
	}
	return []error{fmt.Errorf("environment %s service %s: %w", environment, service, err)}
}

// selectEnvironments returns the environments a request names, or all of
// them in name order.
func selectEnvironments(doc *config.Document, want []string) ([]string, error) {
	if len(want) == 0 {
		return doc.Names(), nil
	}
	for _, name := range want {
		if _, ok := doc.Environments[name]; !ok {
			return nil, fmt.Errorf("environment %q: %w (have %s)", name, ErrUnknownEnvironment, input.Words(doc.Names()))
		}
	}
	return want, nil
}
