package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
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
