package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// What a request does with the image it needs, from what ECR says of it.
type imageStep int

const (
	// useImage: ACTIVE (or ECR does not say, as older APIs do not): deploy
	// it.
	useImage imageStep = iota
	// restoreImage: ARCHIVED: ask ECR to restore it, then wait.
	restoreImage
	// awaitImage: ACTIVATING: ECR is restoring it; wait.
	awaitImage
)

// stepFor decides what a request does with an image ECR has. An image ECR
// no longer has is not decided here: looking it up fails, naming the digest.
func stepFor(img target.Image) imageStep {
	switch img.Status {
	case target.StatusArchived:
		return restoreImage
	case target.StatusActivating:
		return awaitImage
	}
	return useImage
}

// restoreBound is how long a restore may take before the request waiting
// on it fails: ECR documents "up to 20 minutes" ("Restoring an image",
// Amazon ECR User Guide); three times that is a restore that is not coming.
const restoreBound = time.Hour

// imageWait is an image an environment of a request waits on: ECR is
// restoring it in the registry the environment pulls from.
type imageWait struct {
	environment string
	client      target.ECRAPI
	registryID  string // "" for the client's own registry
	region      string
	registry    string // the registry's host, for messages
	status      string
}

// PendingRestore is a deployment that waits for ECR to restore the archived
// image it needs. It is what is remembered between invocations, so that
// the deployment is resumed by a later one (a reconcile, ECR's restore
// event) once the image is ACTIVE: the concrete deployment, not the request
// that led to it (a rollback resumed twice must not go back twice), the
// digest the environment ran when it was asked (a deployment the
// environment has moved on from since is abandoned, not carried out over
// the newer one), and since when it waits (a restore that outlasts
// restoreBound fails).
type PendingRestore struct {
	Repository  string `json:"repository"`
	Environment string `json:"environment"`
	// Digest is the image restored, in Registry (the host the environment
	// pulls from).
	Digest   string `json:"digest"`
	Registry string `json:"registry"`
	// Tag, Cause, EventID, Force, ForceAsked, ByDigest and Hold are the
	// deployment's, as the Request that waits carries them.
	Tag        string      `json:"tag"`
	Cause      state.Cause `json:"trigger"`
	EventID    string      `json:"eventId,omitempty"`
	Force      bool        `json:"force,omitempty"`
	ForceAsked bool        `json:"forceAsked,omitempty"`
	ByDigest   bool        `json:"byDigest,omitempty"`
	Hold       string      `json:"hold,omitempty"`
	// Replaces is the digest the environment ran when the deployment was
	// asked for ("" for none).
	Replaces string `json:"replaces,omitempty"`
	// Since is when the restore was asked for.
	Since time.Time `json:"since"`

	// stored is the entry it was read from, when a StoredRestores read it.
	stored *state.Pending
}

// request is the deployment to carry out once the image is ACTIVE.
func (p PendingRestore) request() Request {
	return Request{
		Repository: p.Repository, Tag: p.Tag, Digest: p.Digest, Registry: p.Registry,
		Cause: p.Cause, EventID: p.EventID, Environments: []string{p.Environment},
		Force: p.Force, ForceAsked: p.ForceAsked, ByDigest: p.ByDigest, Hold: p.Hold,
	}
}

// RestoreStore remembers the deployments that wait on a restore, across
// invocations (the Deployer's Restores; the functions' is StoredRestores,
// in the state table); without it a waiting request says so, and is made
// again by hand once the image is ACTIVE.
type RestoreStore interface {
	// PutRestore remembers p, replacing one of the same repository and
	// environment asked for earlier.
	PutRestore(ctx context.Context, p PendingRestore) error
	// PendingRestores returns every deployment that waits.
	PendingRestores(ctx context.Context) ([]PendingRestore, error)
	// TakeRestore makes owner the one who carries p out, until a time (a
	// time already past gives it up). It returns an error wrapping
	// state.ErrConflict when another does, or p is no longer the
	// deployment remembered for its environment.
	TakeRestore(ctx context.Context, p PendingRestore, owner string, until time.Time) error
	// DeleteRestore forgets p, if it is still the one remembered for its
	// repository and environment.
	DeleteRestore(ctx context.Context, p PendingRestore) error
}

// restores returns the store of waiting deployments, if the Deployer has
// one.
func (d *Deployer) restores() (RestoreStore, bool) {
	return d.Restores, d.Restores != nil
}

// prepareImage brings the image a request needs towards being ACTIVE in
// the registry each of its environments pulls from: an ARCHIVED one is
// restored. It returns the environments that wait (ACTIVATING), and an
// error naming the digest when one of them does not have the image (or has
// something that is not a runnable image).
func (d *Deployer) prepareImage(ctx context.Context, req Request, doc *config.Document) ([]imageWait, error) {
	var waits []imageWait
	for _, name := range req.Environments {
		w, img, err := d.findImage(ctx, req, name, doc.Environments[name])
		if err != nil {
			return nil, fmt.Errorf("%s in %s: %w", req.Repository, name, err)
		}
		if !input.RunnableImage(img.ManifestMediaType, img.ArtifactMediaType) {
			return nil, fmt.Errorf("%s in %s: %s@%s is not a runnable container image", req.Repository, name, req.Repository, req.Digest)
		}
		switch stepFor(img) {
		case useImage:
			continue
		case restoreImage:
			if req.DryRun {
				continue // a plan restores nothing: it shows what the deployment would do
			}
			status, err := target.Restore(ctx, w.client, w.registryID, req.Repository, req.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s in %s: %w", req.Repository, name, err)
			}
			d.log().InfoContext(ctx, "restoring archived image", "repository", req.Repository, "environment", name,
				"digest", req.Digest, "registry", w.registry, "status", status)
			if status == target.StatusActive {
				continue
			}
			w.status = status
		case awaitImage:
			if req.DryRun {
				continue
			}
			w.status = img.Status
		}
		waits = append(waits, w)
	}
	return waits, nil
}

// findImage looks up the image of a request in the registry an
// environment pulls from: the environment's registry, or the one the image
// came from.
func (d *Deployer) findImage(ctx context.Context, req Request, name string, env *config.Environment) (imageWait, target.Image, error) {
	w := imageWait{environment: name, client: d.ECR, region: d.Region, registry: req.Registry}
	if host := cmp.Or(env.Registry, req.Registry); host != "" {
		if account, r, ok := input.ParseRegistryHost(host); ok && (env.Registry != "" || r != d.Region) {
			t := targetOf(req.Repository, name, env)
			t.Region = r
			c, err := d.Targets.ECR(ctx, t)
			if err != nil {
				return w, target.Image{}, err
			}
			w.client, w.registryID, w.region, w.registry = c, account, r, host
		}
	}
	img, err := target.FindImage(ctx, w.client, w.registryID, w.region, req.Repository, req.Digest)
	return w, img, err
}

// awaitImages polls the images that environments wait on until ECR reports
// them ACTIVE, every PollInterval, for as long as a manual request may wait
// (waitMargin before the invocation's deadline, MaxWait without one). It
// returns those still waiting when it stops.
func (d *Deployer) awaitImages(ctx context.Context, req Request, waits []imageWait) ([]imageWait, error) {
	stop := d.now().Add(d.maxWait())
	if dl, ok := ctx.Deadline(); ok && dl.Add(-d.waitMargin()).Before(stop) {
		stop = dl.Add(-d.waitMargin())
	}
	for len(waits) > 0 && d.now().Add(d.pollInterval()).Before(stop) {
		select {
		case <-ctx.Done():
			return waits, nil
		case <-time.After(d.pollInterval()):
		}
		var still []imageWait
		for _, w := range waits {
			img, err := target.FindImage(ctx, w.client, w.registryID, w.region, req.Repository, req.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s in %s: %w", req.Repository, w.environment, err)
			}
			if stepFor(img) == restoreImage {
				// The restore did not take (archived again): ask again.
				if _, err := target.Restore(ctx, w.client, w.registryID, req.Repository, req.Digest); err != nil {
					return nil, fmt.Errorf("%s in %s: %w", req.Repository, w.environment, err)
				}
			}
			if stepFor(img) != useImage {
				w.status = img.Status
				still = append(still, w)
			}
		}
		waits = still
	}
	return waits, nil
}

// restoring answers a request whose image ECR is restoring for some of its
// environments: each is skipped (restoring), saying so, and the deployment
// is remembered to be resumed once the image is ACTIVE, when the Deployer
// has a RestoreStore. replaces is the digest each environment runs now.
func (d *Deployer) restoring(ctx context.Context, req Request, doc *config.Document, res Result, waits []imageWait, replaces map[string]string) Result {
	start := d.now()
	store, remembered := d.restores()
	for _, w := range waits {
		p := PendingRestore{
			Repository: req.Repository, Environment: w.environment, Digest: req.Digest, Registry: req.Registry,
			Tag: req.Tag, Cause: req.Cause, EventID: req.EventID, Force: req.Force, ForceAsked: req.ForceAsked, ByDigest: req.ByDigest, Hold: req.Hold,
			Replaces: replaces[w.environment], Since: start,
		}
		then := "run the request again once it is ACTIVE"
		if remembered {
			if err := store.PutRestore(ctx, p); err != nil {
				d.log().ErrorContext(ctx, "remember a deployment waiting on a restore", "repository", req.Repository,
					"environment", w.environment, "digest", req.Digest, "error", err.Error())
			} else {
				then = "it is deployed once ECR reports it ACTIVE"
			}
		}
		h := &holdBack{reason: policy.Restoring, detail: fmt.Sprintf("ECR is restoring %s/%s@%s, which was archived (%s; ECR documents up to 20 minutes): %s",
			w.registry, req.Repository, req.Digest, w.status, then)}
		res.Results = append(res.Results, h.rows(environment{name: w.environment, env: doc.Environments[w.environment]})...)
	}
	d.finish(ctx, req, res, start)
	return res
}

// What a resumed deployment does, from what ECR and the state record say
// now.
type resumeAction int

const (
	// resumeWait: ECR is still restoring the image, within restoreBound.
	resumeWait resumeAction = iota
	// resumeDeploy: the image is ACTIVE: carry the deployment out.
	resumeDeploy
	// resumeRestore: the image is ARCHIVED again (a restore that did not
	// take): ask ECR again, and wait.
	resumeRestore
	// resumeAbandon: the deployment is not to be carried out: the image is
	// gone, the restore outlasted restoreBound, or the environment moved on
	// to another image meanwhile.
	resumeAbandon
)

// resumeStep decides what a deployment that waits on a restore does now:
// img and found are what ECR says of the image (found false: it is gone),
// current the digest the environment runs now (its state record).
func resumeStep(p PendingRestore, img target.Image, found bool, current string, now time.Time) (resumeAction, string) {
	switch {
	case !found:
		return resumeAbandon, fmt.Sprintf("%s@%s is gone from %s: it was deleted while it was restored", p.Repository, p.Digest, p.Registry)
	case current != p.Replaces && current != p.Digest:
		return resumeAbandon, fmt.Sprintf("%s moved on to %s while %s was restored: the %s is not carried out over it; make it again if it is still wanted",
			p.Environment, current, p.Digest, p.Cause)
	case stepFor(img) == useImage:
		return resumeDeploy, ""
	case now.Sub(p.Since) > restoreBound:
		return resumeAbandon, fmt.Sprintf("ECR has been restoring %s@%s since %s (%s now), longer than %s: the %s is abandoned",
			p.Repository, p.Digest, p.Since.UTC().Format(time.RFC3339), img.Status, restoreBound, p.Cause)
	case stepFor(img) == restoreImage:
		return resumeRestore, ""
	}
	return resumeWait, ""
}

// ResumeRestores carries out the deployments that wait on a restore whose
// image ECR now reports ACTIVE (digest "" for all of them, or only those of
// one image, when ECR said it restored it), and abandons, reporting a
// failure, those that can no longer be: the image is gone, the restore took
// longer than restoreBound, or the environment moved on. One that still
// waits is left. A deployment is carried out or abandoned by the one
// resumer that takes it (resumers at once in other processes leave it),
// and then forgotten; the deployment itself is idempotent besides, so one
// resumed again after its resumer crashed deploys once. The result has one
// repository result per deployment acted on. The error is non-nil only
// when a retry could succeed.
func (d *Deployer) ResumeRestores(ctx context.Context, digest string) (Result, error) {
	ctx, protect := d.protecting(ctx) // the keep tags follow the records written (protectwritten.go)
	defer protect()
	out := Result{Cause: state.CauseReconcile}
	store, ok := d.restores()
	if !ok {
		return out, nil
	}
	pending, err := store.PendingRestores(ctx)
	if err != nil {
		return d.fail(ctx, out, fmt.Errorf("read deployments waiting on a restore: %w", err))
	}
	owner := newOwner("resume")
	var errs []error
	for _, p := range pending {
		if digest != "" && p.Digest != digest {
			continue
		}
		res, acted, err := d.resume(ctx, store, p, owner)
		if err != nil {
			errs = append(errs, err)
		}
		if acted {
			out.Repositories = append(out.Repositories, res)
		}
	}
	return out, errors.Join(errs...)
}

// ImageRestored resumes the deployments that wait on an image ECR says it
// restored (ResumeRestores of its digest). Errors are as for
// ResumeRestores.
func (d *Deployer) ImageRestored(ctx context.Context, ev event.ImageRestored) (Result, error) {
	return d.ResumeRestores(ctx, ev.Digest)
}

// resumeLease is how long a resumer has a waiting deployment to itself
// (TakeRestore), at most: longer than carrying a deployment out takes.
// Within a Lambda invocation it ends shortly after the deadline instead,
// when the resumer is stopped anyway, so that one that crashed holds the
// deployment back no longer than that.
const resumeLease = 5 * time.Minute

// resume acts on one waiting deployment, as owner. acted reports whether
// it did more than wait.
func (d *Deployer) resume(ctx context.Context, store RestoreStore, p PendingRestore, owner string) (Result, bool, error) {
	req := p.request()
	res := Result{Repository: p.Repository, Tag: p.Tag, Digest: p.Digest, Cause: p.Cause}
	doc, err := d.Config.Get(ctx, p.Repository)
	if err != nil || doc.Environments[p.Environment] == nil {
		if err == nil || errors.Is(err, config.ErrNotFound) {
			// Nothing left to deploy to.
			return res, true, store.DeleteRestore(ctx, p)
		}
		return res, false, d.resumeFailed(ctx, p, err)
	}
	env := doc.Environments[p.Environment]
	w, img, err := d.findImage(ctx, req, p.Environment, env)
	found := err == nil
	if err != nil && !errors.Is(err, target.ErrImageNotFound) && !errors.Is(err, target.ErrRepositoryNotFound) {
		return res, false, d.resumeFailed(ctx, p, err)
	}
	rec, err := d.read(ctx, state.Key{Repository: p.Repository, Environment: p.Environment})
	if err != nil {
		return res, false, d.resumeFailed(ctx, p, err)
	}
	action, why := resumeStep(p, img, found, rec.Digest, d.now())
	switch action {
	case resumeWait:
		return res, false, nil
	case resumeRestore:
		_, err := target.Restore(ctx, w.client, w.registryID, p.Repository, p.Digest)
		return res, false, d.resumeFailed(ctx, p, err)
	}
	// Carrying it out or abandoning it is done once: by the resumer that
	// takes it.
	until := d.now().Add(resumeLease)
	if dl, ok := ctx.Deadline(); ok && dl.Add(5*time.Second).Before(until) {
		until = dl.Add(5 * time.Second)
	}
	if err := store.TakeRestore(ctx, p, owner, until); err != nil {
		if errors.Is(err, state.ErrConflict) {
			d.log().InfoContext(ctx, "a deployment waiting on a restore is another's", "repository", p.Repository,
				"environment", p.Environment, "digest", p.Digest, "reason", err.Error())
			return res, false, nil
		}
		return res, false, d.resumeFailed(ctx, p, err)
	}
	if action == resumeAbandon {
		res.Results = environmentRows(p.Environment, env, "", errors.New(why))
		d.finish(ctx, req, res, d.now())
		return res, true, store.DeleteRestore(ctx, p)
	}
	res, err = d.Deploy(ctx, req)
	if err != nil {
		// Remembered still, and given up at once, so that the next resume
		// (a retry of this invocation) tries again.
		if rerr := store.TakeRestore(ctx, p, owner, d.now()); rerr != nil && !errors.Is(rerr, state.ErrConflict) {
			d.log().ErrorContext(ctx, "give up a deployment waiting on a restore", "repository", p.Repository,
				"environment", p.Environment, "error", rerr.Error())
		}
		return res, true, err
	}
	return res, true, store.DeleteRestore(ctx, p)
}

// resumeFailed logs an error of resuming a deployment, which stays
// remembered for the next resume to try again, and returns it when a retry
// of the invocation could fix it.
func (d *Deployer) resumeFailed(ctx context.Context, p PendingRestore, err error) error {
	if err == nil {
		return nil
	}
	d.log().ErrorContext(ctx, "resume a deployment waiting on a restore", "repository", p.Repository, "environment", p.Environment,
		"digest", p.Digest, "error", err.Error())
	if target.Retryable(err) {
		return err
	}
	return nil
}
