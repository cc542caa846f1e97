package deploy

import (
	"context"

	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Push deploys a pushed image to every environment of its repository whose
// policy takes it automatically. A push of something that is not a runnable
// image, or of no tag, is skipped before any AWS call, in one row for the
// whole repository. Errors are as for Deploy.
func (d *Deployer) Push(ctx context.Context, p event.Push) (Result, error) {
	req := Request{
		Repository: p.Repository, Tag: p.Tag, Digest: p.Digest,
		Registry: p.Registry(), Cause: state.CausePush, EventID: p.ID, PushedAt: p.Time,
	}
	var reason policy.Reason
	switch {
	case !p.IsImage():
		reason = policy.NotAnImage
	case p.Tag == "":
		reason = policy.NoTag
	default:
		return d.Deploy(ctx, req)
	}
	res := Result{Repository: p.Repository, Tag: p.Tag, Digest: p.Digest, Cause: state.CausePush,
		Results: []Row{{Outcome: Skipped, Reason: reason}}}
	d.finish(ctx, req, res, d.now())
	return res, nil
}
