package deploy

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
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
// (a forced manual deploy) is left alone. It uses the deciding and applying
// code of a push, works on reconcileConcurrency repositories at once and
// stops before the invocation's deadline, reporting what it did not reach.
// The error is non-nil only when a retry could succeed.
func (d *Deployer) Reconcile(ctx context.Context, ev event.Schedule) (Result, error) {
	out := Result{Cause: state.CauseReconcile}
	docs, err := d.Config.List(ctx)
	if err != nil {
		if target.Retryable(err) {
			return out, err
		}
		d.log().ErrorContext(ctx, "reconcile: list configuration", "error", err.Error())
		return out, nil
	}
	repos := slices.Sorted(maps.Keys(docs))

	// Stop starting repositories once the deadline minus the margin is near.
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		var stop context.CancelFunc
		work, stop = context.WithDeadline(ctx, dl.Add(-d.waitMargin()))
		defer stop()
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
			res, err := d.reconcileRepository(work, ev, repo, docs[repo])
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
	return out, errors.Join(errs...)
}

// reconcileRepository deploys to each push environment of one repository the
// best image ECR has for it.
func (d *Deployer) reconcileRepository(ctx context.Context, ev event.Schedule, repo string, doc *config.Document) (Result, error) {
	res := Result{Repository: repo, Cause: state.CauseReconcile}
	var envs []string
	for _, name := range doc.Names() {
		if doc.Environments[name].Trigger != config.TriggerManual {
			envs = append(envs, name)
		}
	}
	if len(envs) == 0 {
		return res, nil
	}
	images, err := target.ListImages(ctx, d.ECR, d.Region, repo)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	recs, err := d.State.GetMany(ctx, repo, envs)
	var unreadable *state.Unreadable
	if err != nil && !errors.As(err, &unreadable) {
		return d.fail(ctx, res, err)
	}
	// Environments that want the same image are deployed together.
	byImage := map[string][]string{}
	chosen := map[string]candidate{}
	for _, name := range envs {
		if bad := unreadable.Of(name); bad != nil {
			// Without its record nothing is known of what runs there.
			res.Results = append(res.Results, environmentRows(name, doc.Environments[name], "", bad)...)
			continue
		}
		rec, ok := recs[name]
		var recp *state.Record
		if ok {
			recp = &rec
		}
		c, ok := best(images, doc.Environments[name], recp)
		if !ok {
			continue
		}
		k := c.Digest + " " + c.Tag
		byImage[k] = append(byImage[k], name)
		chosen[k] = c
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(byImage)) {
		c := chosen[k]
		r, err := d.deploy(ctx, Request{
			Repository: repo, Tag: c.Tag, Digest: c.Digest, Registry: c.Registry,
			Cause: state.CauseReconcile, EventID: ev.ID, PushedAt: c.PushedAt, Environments: byImage[k],
		}, &stateRead{recs, err})
		if err != nil {
			errs = append(errs, err)
		}
		if res.Version == "" || (r.Version != "" && semver.MustParse(r.Version).GreaterThan(semver.MustParse(res.Version))) {
			res.Tag, res.Version, res.Digest = r.Tag, r.Version, r.Digest
		}
		res.Results = append(res.Results, r.Results...)
		if r.Error != "" {
			res.Error = r.Error
		}
	}
	return res, errors.Join(errs...)
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
