package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// DeployTag deploys a tag to one environment on request, whatever the
// environment's trigger. The tag must exist in ECR. Errors are as for Manual.
func (d *Deployer) DeployTag(ctx context.Context, req request.Request, requestID string) (Result, error) {
	res := Result{Repository: req.Repository, Tag: req.Tag, Trigger: TriggerDeploy, Results: []ServiceResult{}}
	doc, err := d.manualConfig(ctx, req.Repository, req.Environment)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	img, err := d.resolve(ctx, req.Repository, req.Tag)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	res, err = d.Deploy(ctx, Request{
		Repository: req.Repository, Tag: req.Tag, Digest: img.Digest, Registry: img.Registry,
		Trigger: TriggerDeploy, EventID: requestID, Environments: []string{req.Environment},
		Force: req.Force, DryRun: req.DryRun,
	})
	return d.waitIfAsked(ctx, res, err, req, doc)
}

// manualConfig returns the configuration of a repository for a manual
// request, failing clearly when the repository or any of the named
// environments is not configured.
func (d *Deployer) manualConfig(ctx context.Context, repository string, environments ...string) (*config.Document, error) {
	doc, err := d.Config.Get(ctx, repository)
	if errors.Is(err, config.ErrNotFound) {
		return nil, fmt.Errorf("repository %s is not configured: %w", repository, err)
	}
	if err != nil {
		return nil, err
	}
	for _, env := range environments {
		if env == "" {
			continue
		}
		if _, ok := doc.Environments[env]; !ok {
			return nil, fmt.Errorf("repository %s: environment %q: %w (have %v)", repository, env, ErrUnknownEnvironment, doc.Names())
		}
	}
	return doc, nil
}

// waitIfAsked waits for the rollouts a deployment started when the request
// or the environment asks for it.
func (d *Deployer) waitIfAsked(ctx context.Context, res Result, err error, req request.Request, doc *config.Document) (Result, error) {
	if err != nil || req.DryRun || res.Error != "" {
		return res, err
	}
	env := req.Environment
	if req.Action == request.Promote {
		env = req.To
	}
	if req.Wait || (doc.Environments[env] != nil && doc.Environments[env].Wait) {
		d.wait(ctx, &res)
	}
	return res, nil
}
