package deploy

import (
	"context"

	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// Push deploys a pushed image to every environment of its repository whose
// policy takes it automatically. A push of something that is not a runnable
// image, or of no tag, is skipped before any AWS call. Errors are as for
// Deploy.
func (d *Deployer) Push(ctx context.Context, p event.Push) (Result, error) {
	req := Request{
		Repository: p.Repository, Tag: p.Tag, Digest: p.Digest,
		Registry: p.Registry(), Trigger: TriggerPush, EventID: p.ID, PushedAt: p.Time,
	}
	var reason Reason
	switch {
	case !p.IsImage():
		reason = NotAnImage
	case p.Tag == "":
		reason = NoTag
	default:
		return d.Deploy(ctx, req)
	}
	res := Result{Repository: p.Repository, Tag: p.Tag, Digest: p.Digest, Trigger: TriggerPush,
		Results: []ServiceResult{{Outcome: Skipped, Reason: reason}}}
	d.report(ctx, req, res, d.now())
	return res, nil
}
