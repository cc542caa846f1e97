package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Manual carries out a manual request. requestID identifies the invocation
// (the Lambda request id) and is recorded like an event id. A request that
// names an unconfigured repository or environment, a tag missing from ECR or
// a source with nothing deployed is reported in Result.Error and changes
// nothing; the error is non-nil only when a retry could succeed.
func (d *Deployer) Manual(ctx context.Context, req request.Request, requestID string) (Result, error) {
	ctx, protect := d.protecting(ctx) // the keep tags follow the records written (protectwritten.go)
	defer protect()
	if err := d.checkUntil(ctx, req); err != nil {
		return d.fail(ctx, Result{Repository: req.Repository}, err)
	}
	switch req.Action {
	case request.Deploy:
		return d.deployTag(ctx, req, requestID)
	case request.Promote:
		return d.promote(ctx, req, requestID)
	case request.Rollback:
		return d.rollback(ctx, req, requestID)
	case request.Plan:
		return d.plan(ctx, req)
	case request.Status:
		return d.status(ctx, req.Repository)
	case request.History:
		return d.history(ctx, req)
	case request.Board:
		return d.boardRequest(ctx, req)
	case request.Approve, request.Reject:
		return d.answer(ctx, req, requestID)
	}
	return d.fail(ctx, Result{Repository: req.Repository}, fmt.Errorf("unknown action %q", req.Action))
}

// deployTag deploys a tag to one environment on request, whatever the
// environment's trigger. The tag must exist in ECR.
func (d *Deployer) deployTag(ctx context.Context, req request.Request, requestID string) (Result, error) {
	res := Result{Repository: req.Repository, Tag: req.Tag, Cause: state.CauseDeploy}
	doc, err := d.manualConfig(ctx, req.Repository, req.Environment)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	img, err := target.ResolveTag(ctx, d.ECR, d.Region, req.Repository, req.Tag)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	if !input.RunnableImage(img.ManifestMediaType, img.ArtifactMediaType) {
		return d.notAnImage(ctx, res, img), nil
	}
	dep := Request{
		Repository: req.Repository, Tag: req.Tag, Digest: img.Digest, Registry: img.Registry,
		Cause: state.CauseDeploy, EventID: requestID, Environments: []string{req.Environment},
		Force: req.Force, ForceAsked: req.Force, DryRun: req.DryRun,
	}
	// An image ECR archived is restored first, and waited for.
	waits, err := d.prepareImage(ctx, dep, doc)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	res.Digest = img.Digest
	if len(waits) > 0 {
		return d.waitForImage(ctx, req, doc, res, dep, waits)
	}
	res, err = d.Deploy(ctx, dep)
	return d.waitIfAsked(ctx, res, err, req, doc)
}

// wantsWait reports whether a manual request waits within the invocation:
// it asks to, or its environment does.
func wantsWait(req request.Request, doc *config.Document) bool {
	env := req.Environment
	if req.Action == request.Promote {
		env = req.To
	}
	return req.Wait || (doc.Environments[env] != nil && doc.Environments[env].Wait)
}

// plan shows, without changing anything, what a manual deploy of a tag would
// do to each environment (or the one named): the outcome and, for a new
// revision, a unified diff of the task definition. It makes no mutating AWS
// call.
func (d *Deployer) plan(ctx context.Context, req request.Request) (Result, error) {
	res := Result{Repository: req.Repository, Tag: req.Tag, Cause: state.CausePlan}
	if _, err := d.manualConfig(ctx, req.Repository, req.Environment); err != nil {
		return d.fail(ctx, res, err)
	}
	img, err := target.ResolveTag(ctx, d.ECR, d.Region, req.Repository, req.Tag)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	if !input.RunnableImage(img.ManifestMediaType, img.ArtifactMediaType) {
		return d.notAnImage(ctx, res, img), nil
	}
	var envs []string
	if req.Environment != "" {
		envs = []string{req.Environment}
	}
	return d.Deploy(ctx, Request{
		Repository: req.Repository, Tag: req.Tag, Digest: img.Digest, Registry: img.Registry,
		Cause: state.CausePlan, Environments: envs, DryRun: true,
	})
}

// notAnImage is the answer to a manual request for a tag that names no
// runnable image (a Helm chart, a signature): one repository-wide row,
// nothing changed.
func (d *Deployer) notAnImage(ctx context.Context, res Result, img target.Image) Result {
	res.Digest = img.Digest
	res.Results = []Row{{Outcome: Skipped, Reason: policy.NotAnImage}}
	d.logRows(ctx, Request{Repository: res.Repository, Tag: res.Tag, Digest: img.Digest, Cause: res.Cause}, res.Results)
	return res
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
			return nil, fmt.Errorf("repository %s: environment %q: %w (have %s)", repository, env, ErrUnknownEnvironment, input.Words(doc.Names()))
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
	if wantsWait(req, doc) {
		res = d.wait(ctx, res, req.Until)
	}
	return res, nil
}
