package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// A push deploys the highest version an environment accepts among the
// images in ECR, not only the one just pushed: when versions arrive faster
// than they deploy (a burst), the older deliveries are superseded, and each
// environment registers one revision, for the version it ends on. The push
// learns what ECR has in the call it makes anyway to check the event
// (DescribeImages of the repository's tagged images: one call for up to a
// thousand), beside the environment's other reads.

// pushedImages is what a push learns of its repository in ECR: its tagged
// images, when the push was checked against them (checked false: a push
// from another registry, or a deployer that cannot tell its own).
type pushedImages struct {
	images  []target.Image
	checked bool
}

// ErrStalePush is a push event whose tag ECR does not have with the event's
// digest: the tag moved since, or the event was made up.
var ErrStalePush = errors.New("ECR does not have this image under this tag (a stale or forged push event)")

// listPushed lists the tagged images of a push's repository in the
// function's own registry, and checks that ECR has the pushed tag with the
// pushed digest: a stale or forged event deploys nothing. It lists nothing
// when it cannot check: the request is not a push, the push comes from
// another registry (an environment's replica), or the deployer has no ECR
// client or does not know its registry (own "").
func (d *Deployer) listPushed(ctx context.Context, req Request, own string) (pushedImages, error) {
	if req.Cause != state.CausePush || d.ECR == nil || own == "" || req.Registry != own {
		return pushedImages{}, nil
	}
	images, err := target.ListImages(ctx, d.ECR, d.Region, req.Repository)
	switch {
	case errors.Is(err, target.ErrRepositoryNotFound):
		return pushedImages{}, fmt.Errorf("push of %s:%s: %w", req.Repository, req.Tag, ErrStalePush)
	case err != nil:
		return pushedImages{}, err
	}
	i := slices.IndexFunc(images, func(img target.Image) bool { return img.Tag == req.Tag })
	switch {
	case i < 0:
		return pushedImages{}, fmt.Errorf("push of %s:%s: %w", req.Repository, req.Tag, ErrStalePush)
	case images[i].Digest != req.Digest:
		return pushedImages{}, fmt.Errorf("push of %s:%s@%s: the tag names %s now: %w", req.Repository, req.Tag, req.Digest, images[i].Digest, ErrStalePush)
	}
	return pushedImages{images: images, checked: true}, nil
}

// supersededBy returns, for a push, the image that supersedes it in an
// environment: the highest version the environment accepts among the images
// in ECR that is not held there, when it is higher than the pushed one. ok
// is false when the push stands (or was not checked against ECR). It calls
// nothing.
func supersededBy(pushed pushedImages, e environment, rec *state.Record) (candidate, bool) {
	if !pushed.checked || e.version == nil {
		return candidate{}, false
	}
	c, ok := best(pushed.images, e.env, rec)
	return c, ok && c.version.GreaterThan(e.version)
}

// supersededRows are the rows of an environment a higher version in ECR
// supersedes.
func supersededRows(e environment, by candidate) []Row {
	rows := environmentRows(e.name, e.env, policy.Superseded, nil)
	for i := range rows {
		rows[i].Detail = fmt.Sprintf("%s is in ECR: that version is deployed instead", by.Tag)
	}
	return rows
}
