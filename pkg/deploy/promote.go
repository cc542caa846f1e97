package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// promote deploys to req.To the exact image that runs in req.From (or in the
// target's promoteFrom), with the target's own variables and secrets. The
// target's version range still applies, and a source whose last deployment
// has not COMPLETED is refused, unless forced.
func (d *Deployer) promote(ctx context.Context, req request.Request, requestID string) (Result, error) {
	res := Result{Repository: req.Repository, Cause: state.CausePromote}
	doc, err := d.manualConfig(ctx, req.Repository, req.To, req.From)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	from := req.From
	if from == "" {
		from = doc.Environments[req.To].PromoteFrom
	}
	if from == "" {
		return d.fail(ctx, res, fmt.Errorf("promote %s to %s: no source: name one with from, or set promoteFrom on %s", req.Repository, req.To, req.To))
	}
	// What ECS says of the source's rollout, not only what was recorded.
	src, err := d.refreshRecord(ctx, req.Repository, from, doc.Environments[from], nil)
	if errors.Is(err, state.ErrNotFound) {
		return d.fail(ctx, res, fmt.Errorf("promote %s from %s: %w there", req.Repository, from, ErrNothingDeployed))
	}
	if err != nil {
		return d.fail(ctx, res, err)
	}
	if src.Version == "" {
		// ECS rolled back the only deployment ecrdeploy made there: what
		// runs is not an image ecrdeploy deployed, and forcing changes that
		// not.
		return d.fail(ctx, res, fmt.Errorf("promote %s from %s to %s: %w in %s%s", req.Repository, from, req.To, ErrNothingCompleted, from, rolledBackHeld(src)))
	}
	if rollout := src.AggregateRollout(); rollout != state.Completed && !req.Force {
		return d.fail(ctx, res, fmt.Errorf("promote %s from %s: version %s: rollout %s: %w (promote what has completed, or force)",
			req.Repository, from, src.Version, rollout, ErrNotCompleted))
	}
	good := state.Deployment{Version: src.Version, Tag: src.Tag, Digest: src.Digest, Image: src.Image}
	return d.redeploy(ctx, req, doc, res, good, Request{
		Cause: state.CausePromote, EventID: requestID, Environments: []string{req.To}, Force: req.Force, DryRun: req.DryRun,
	})
}

// rolledBackHeld says, for a message, which version of a record ECS rolled
// back and whether it is held there: " (1.1.0 was rolled back and is held
// there)", or "" when the record names no failure.
func rolledBackHeld(rec state.Record) string {
	f := rec.Failed
	switch {
	case f == nil || f.Version == "":
		return ""
	case rec.IsHeld(f.Version):
		return fmt.Sprintf(" (%s was rolled back and is held there)", f.Version)
	}
	return fmt.Sprintf(" (%s was rolled back)", f.Version)
}

// redeploy deploys the image of a deployment (promote's source, rollback's
// last good version) as req says, by digest when its tag has moved since,
// and waits when asked. The image must still be pullable where the
// environments pull from: nothing is changed otherwise.
func (d *Deployer) redeploy(ctx context.Context, manual request.Request, doc *config.Document, res Result, dep state.Deployment, req Request) (Result, error) {
	res.Tag, res.Digest = dep.Tag, dep.Digest
	req.Repository, req.Tag, req.Digest = manual.Repository, dep.Tag, dep.Digest
	req.Registry = taskdef.ParseImage(dep.Image).Registry
	if err := d.checkImage(ctx, req, doc); err != nil {
		return d.fail(ctx, res, err)
	}
	byDigest, err := d.tagMoved(ctx, manual.Repository, dep)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	req.ByDigest = byDigest
	res, err = d.Deploy(ctx, req)
	return d.waitIfAsked(ctx, res, err, manual, doc)
}

// tagMoved reports whether the tag of a deployment now points to another
// digest in ECR (it was overwritten), in which case the image is deployed
// by digest so that exactly that image runs.
func (d *Deployer) tagMoved(ctx context.Context, repository string, dep state.Deployment) (bool, error) {
	img, err := target.ResolveTag(ctx, d.ECR, d.Region, repository, dep.Tag)
	if errors.Is(err, target.ErrImageNotFound) {
		return true, nil // the tag is gone; the digest is there (checkImage)
	}
	if err != nil {
		return false, err
	}
	return img.Digest != dep.Digest, nil
}

// checkImage checks, before anything is registered, that the digest a
// manual request deploys exists, and is not archived, in the registry each
// of its environments pulls from: the environment's registry, or the one
// the image came from. It returns an error naming the digest otherwise.
func (d *Deployer) checkImage(ctx context.Context, req Request, doc *config.Document) error {
	for _, name := range req.Environments {
		env := doc.Environments[name]
		client, registryID, region := d.ECR, "", d.Region
		if host := cmp.Or(env.Registry, req.Registry); host != "" {
			if account, r, ok := input.ParseRegistryHost(host); ok && (env.Registry != "" || r != d.Region) {
				t := targetOf(req.Repository, name, env)
				t.Region = r
				c, err := d.Targets.ECR(ctx, t)
				if err != nil {
					return err
				}
				client, registryID, region = c, account, r
			}
		}
		img, err := target.FindImage(ctx, client, registryID, region, req.Repository, req.Digest)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", req.Repository, name, err)
		}
		if err := img.Pullable(req.Repository); err != nil {
			return fmt.Errorf("%s in %s: %w", req.Repository, name, err)
		}
		if !input.RunnableImage(img.ManifestMediaType, img.ArtifactMediaType) {
			return fmt.Errorf("%s in %s: %s@%s is not a runnable container image", req.Repository, name, req.Repository, req.Digest)
		}
	}
	return nil
}
