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
	if rollout := src.AggregateRollout(); rollout != state.Completed && !req.Force {
		return d.fail(ctx, res, fmt.Errorf("promote %s from %s: version %s: rollout %s: %w (promote what has completed, or force)",
			req.Repository, from, src.Version, rollout, ErrNotCompleted))
	}
	return d.redeploy(ctx, req, doc, res, src, Request{
		Cause: state.CausePromote, EventID: requestID, Environments: []string{req.To}, Force: req.Force, DryRun: req.DryRun,
	})
}

// redeploy deploys the image a state record names (promote's source,
// rollback's last good version) as req says, by digest when its tag has
// moved since, and waits when asked.
func (d *Deployer) redeploy(ctx context.Context, manual request.Request, doc *config.Document, res Result, rec state.Record, req Request) (Result, error) {
	res.Tag, res.Digest = rec.Tag, rec.Digest
	byDigest, err := d.tagMoved(ctx, manual.Repository, rec)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	req.Repository, req.Tag, req.Digest = manual.Repository, rec.Tag, rec.Digest
	req.Registry, req.ByDigest = taskdef.ParseImage(rec.Image).Registry, byDigest
	res, err = d.Deploy(ctx, req)
	return d.waitIfAsked(ctx, res, err, manual, doc)
}

// tagMoved reports whether the tag of a recorded deployment now points to
// another digest in ECR (it was overwritten), in which case the image is
// deployed by digest so that exactly the recorded image runs.
func (d *Deployer) tagMoved(ctx context.Context, repository string, rec state.Record) (bool, error) {
	img, err := target.ResolveTag(ctx, d.ECR, d.Region, repository, rec.Tag)
	if errors.Is(err, target.ErrImageNotFound) {
		return true, nil // the tag is gone; the digest may still be there
	}
	if err != nil {
		return false, err
	}
	return img.Digest != rec.Digest, nil
}
