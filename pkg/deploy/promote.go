package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
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
		Cause: state.CausePromote, EventID: requestID, Environments: []string{req.To}, Force: req.Force, ForceAsked: req.Force, DryRun: req.DryRun,
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
// and waits when asked. The image must still be in the registry the
// environments pull from: nothing is changed otherwise. An image ECR has
// archived is restored first (prepareImage), and the request waits for it.
func (d *Deployer) redeploy(ctx context.Context, manual request.Request, doc *config.Document, res Result, dep state.Deployment, req Request) (Result, error) {
	res.Tag, res.Digest = dep.Tag, dep.Digest
	req.Repository, req.Tag, req.Digest = manual.Repository, dep.Tag, dep.Digest
	req.Registry = taskdef.ParseImage(dep.Image).Registry
	waits, err := d.prepareImage(ctx, req, doc)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	byDigest, err := d.tagMoved(ctx, manual.Repository, dep)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	req.ByDigest = byDigest
	if len(waits) > 0 {
		return d.waitForImage(ctx, manual, doc, res, req, waits)
	}
	res, err = d.Deploy(ctx, req)
	return d.waitIfAsked(ctx, res, err, manual, doc)
}

// waitForImage waits, when the request or its environment asks to wait,
// for ECR to restore the image a request needs, and deploys it once ACTIVE;
// otherwise, or when the restore outlasts the wait, it answers that the
// environments wait on the restore (restoring), remembered to be resumed.
func (d *Deployer) waitForImage(ctx context.Context, manual request.Request, doc *config.Document, res Result, req Request, waits []imageWait) (Result, error) {
	if wantsWait(manual, doc) {
		var err error
		if waits, err = d.awaitImages(ctx, req, waits); err != nil {
			return d.fail(ctx, res, err)
		}
		if len(waits) == 0 {
			res, err = d.Deploy(ctx, req)
			return d.waitIfAsked(ctx, res, err, manual, doc)
		}
	}
	replaces := map[string]string{}
	if recs, err := d.State.GetMany(ctx, req.Repository, req.Environments); err == nil {
		for name, rec := range recs {
			replaces[name] = rec.Digest
		}
	}
	return d.restoring(ctx, req, doc, res, waits, replaces), nil
}

// tagMoved reports whether the tag of a deployment now points to another
// digest in ECR (it was overwritten), in which case the image is deployed
// by digest so that exactly that image runs.
func (d *Deployer) tagMoved(ctx context.Context, repository string, dep state.Deployment) (bool, error) {
	img, err := target.ResolveTag(ctx, d.ECR, d.Region, repository, dep.Tag)
	if errors.Is(err, target.ErrImageNotFound) {
		return true, nil // the tag is gone; the digest is there (prepareImage)
	}
	if err != nil {
		return false, err
	}
	return img.Digest != dep.Digest, nil
}
