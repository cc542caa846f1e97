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
	// event (the tag moved since) or a forged one deploys nothing.
	pushed := sync.OnceValue(func() error { return d.verifyPush(ctx, req, registry) })
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
	retry := make([][]error, len(admitted))
	final := make([][]Row, len(admitted))
	var wg sync.WaitGroup
	for i, e := range admitted {
		wg.Go(func() {
			read := d.claimRecord(ctx, req, e, owner)
			if req.DryRun {
				read = sharedRecords(e.name, states)
			}
			decided := publish.decided(i)
			final[i], retry[i] = d.runEnvironment(ctx, req, e, read, pushed, decided)
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
// done, with the write that records what it did when there is one. pushed
// is the check of a push against ECR, which ran beside the environment's
// reads. It returns the environment's rows and the errors of it a retry
// could fix.
//
// decided is handed the rows once the services have been updated, before
// the state write and the convergence check, so that the result events go
// out beside them.
func (d *Deployer) runEnvironment(ctx context.Context, req Request, e environment, read recordRead, pushed func() error, decided func([]Row)) ([]Row, []error) {
	obs, err := d.observeEnvironment(ctx, req, e, read)
	if err == nil {
		err = pushed() // read beside the environment's own reads
	}
	if err == nil && obs.repaired && !req.DryRun {
		// What ECS says is recorded before anything is decided from it.
		var rec state.Record
		rec, err = d.writeRepair(ctx, obs.read, obs.views)
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
	plans := make([]servicePlan, len(e.env.Services))
	var wg sync.WaitGroup
	for i, name := range e.env.Services {
		wg.Go(func() {
			plans[i] = planService(req, e, obs.rec, observeService(ctx, obs.client, e, name, obs.services))
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
		rows, failures = d.apply(ctx, obs.client, req, e, obs.rec, plans, obs.claim, decided)
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

// ErrStalePush is a push event whose tag ECR does not have with the event's
// digest: the tag moved since, or the event was made up.
var ErrStalePush = errors.New("ECR does not have this image under this tag (a stale or forged push event)")

// verifyPush checks that ECR has the pushed tag with the pushed digest, in
// the function's own registry. It checks nothing when it cannot: the push
// comes from another registry (an environment's replica), or the deployer
// has no ECR client or does not know its registry (own "").
func (d *Deployer) verifyPush(ctx context.Context, req Request, own string) error {
	if d.ECR == nil || own == "" || req.Registry != own {
		return nil
	}
	img, err := target.ResolveTag(ctx, d.ECR, d.Region, req.Repository, req.Tag)
	switch {
	case errors.Is(err, target.ErrImageNotFound), errors.Is(err, target.ErrRepositoryNotFound):
		return fmt.Errorf("push of %s:%s: %w", req.Repository, req.Tag, ErrStalePush)
	case err != nil:
		return err
	case img.Digest != req.Digest:
		return fmt.Errorf("push of %s:%s@%s: the tag names %s now: %w", req.Repository, req.Tag, req.Digest, img.Digest, ErrStalePush)
	}
	return nil
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
