package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// replicaCheck checks, before anything is registered, that the image
// exists in the registry the environment pulls from (a replica in another
// region or account). An image that is not there yet holds the environment
// back (awaiting-replica): replication takes up to half an hour, and its
// ECR Replication Action event, or a later reconcile, deploys it; retrying
// the push would only end in the dead-letter queue. nil means go on.
func (d *Deployer) replicaCheck(ctx context.Context, req Request, e environment) (*holdBack, error) {
	if e.env.Registry == "" {
		return nil, nil
	}
	account, region, _ := input.ParseRegistryHost(e.env.Registry)
	t := targetOf(req.Repository, e.name, e.env)
	t.Region = region
	client, err := d.Targets.ECR(ctx, t)
	if err != nil {
		return nil, err
	}
	err = target.CheckReplica(ctx, client, e.env.Registry, account, req.Repository, req.Digest)
	if errors.Is(err, target.ErrReplicaMissing) {
		return awaitingReplica(e.env.Registry, req.Repository, req.Digest), nil
	}
	return nil, err
}

// awaitingReplica holds an environment back until its replica registry has
// the image.
func awaitingReplica(registry, repository, digest string) *holdBack {
	return &holdBack{
		reason: policy.AwaitingReplica,
		detail: fmt.Sprintf("%s/%s@%s is not replicated yet: it deploys when ECR reports it replicated there, or on the next reconcile", registry, repository, digest),
	}
}

// Replicated acts on ECR's word that it replicated an image to a registry
// (an ECR Replication Action, sent in the destination): on SUCCESS it
// deploys the image to the environments that pull from that registry, as
// a push to them would (their policy, holds and trigger apply: a manual
// environment is not deployed); on FAILED it reports the replication as a
// failure of each environment that would have taken the image, so that it
// is announced rather than waited on for ever. A replication to a registry
// no environment pulls from, or of a repository without configuration,
// does nothing. Errors are as for Deploy.
func (d *Deployer) Replicated(ctx context.Context, ev event.Replication) (Result, error) {
	start := d.now()
	req := Request{
		Repository: ev.Repository, Tag: ev.Tag, Digest: ev.Digest, Registry: ev.Registry(),
		Cause: state.CausePush, EventID: ev.ID, PushedAt: ev.Time,
	}
	res := Result{Repository: ev.Repository, Tag: ev.Tag, Digest: ev.Digest, Cause: state.CausePush}
	doc, err := d.Config.Get(ctx, ev.Repository)
	switch {
	case errors.Is(err, config.ErrNotFound):
		return res, nil
	case err != nil:
		return d.fail(ctx, res, err)
	}
	req.Environments = pullingFrom(doc, ev.Registry())
	if len(req.Environments) == 0 || ev.Tag == "" {
		// Nobody pulls from there, or nothing names the image's version: a
		// push by digest is no deployment either.
		return res, nil
	}
	if ev.Succeeded() {
		return d.Deploy(ctx, req)
	}
	for _, name := range req.Environments {
		env := doc.Environments[name]
		v, reason := admit(req, env)
		if reason != policy.Accepted {
			continue // it would not have taken the image: nothing waits
		}
		if res.Version == "" {
			res.Version = v.String()
		}
		res.Results = append(res.Results, environmentRows(name, env, "", fmt.Errorf(
			"ECR could not replicate %s/%s@%s (%s) to %s: this environment does not get it; push it again, or deploy another version",
			input.RegistryHost(ev.SourceAccount, ev.SourceRegion), ev.Repository, ev.Digest, ev.Tag, ev.Registry()))...)
	}
	d.finish(ctx, req, res, start)
	return res, nil
}

// pullingFrom returns the environments of a document, in name order, that
// pull from a registry host.
func pullingFrom(doc *config.Document, registry string) []string {
	var names []string
	for _, name := range doc.Names() {
		if doc.Environments[name].Registry == registry {
			names = append(names, name)
		}
	}
	return names
}
