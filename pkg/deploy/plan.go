package deploy

import (
	"context"

	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// Plan shows, without changing anything, what a manual deploy of a tag would
// do to each environment (or the one named): the outcome and, for a new
// revision, a unified diff of the task definition. It makes no mutating AWS
// call. Errors are as for Manual.
func (d *Deployer) Plan(ctx context.Context, req request.Request) (Result, error) {
	res := Result{Repository: req.Repository, Tag: req.Tag, Trigger: TriggerPlan, Results: []ServiceResult{}}
	if _, err := d.manualConfig(ctx, req.Repository, req.Environment); err != nil {
		return d.fail(ctx, res, err)
	}
	img, err := d.resolve(ctx, req.Repository, req.Tag)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	var envs []string
	if req.Environment != "" {
		envs = []string{req.Environment}
	}
	return d.Deploy(ctx, Request{
		Repository: req.Repository, Tag: req.Tag, Digest: img.Digest, Registry: img.Registry,
		Trigger: TriggerPlan, Environments: envs, DryRun: true,
	})
}
