package deploy

import (
	"cmp"
	"context"
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// environment is one environment of a request that its policy admitted.
type environment struct {
	name    string
	env     *config.Environment
	version *semver.Version
}

// observation is what the reads of one environment returned: its ECS client,
// its state record (nil when it has none yet) and its services as ECS
// describes them, by name.
type observation struct {
	client   target.ECSAPI
	rec      *state.Record
	services map[string]target.Service
}

// observeEnvironment reads what deciding about an environment needs first:
// whether the image is in the registry the environment pulls from, its
// services, and its state record (states, shared by the environments of a
// request, reads once for all of them, concurrently with the describes).
func (d *Deployer) observeEnvironment(ctx context.Context, req Request, e environment, states func() (map[string]state.Record, error)) (observation, error) {
	client, err := d.Targets.ECS(ctx, targetOf(req.Repository, e.name, e.env))
	if err != nil {
		return observation{}, err
	}
	if e.env.Registry != "" {
		if err := d.checkReplica(ctx, req, e); err != nil {
			return observation{}, err
		}
	}
	services, err := target.DescribeServices(ctx, client, e.env.Cluster, e.env.Services)
	if err != nil {
		return observation{}, err
	}
	recs, err := states()
	if err != nil {
		return observation{}, err
	}
	obs := observation{client: client, services: services}
	if rec, ok := recs[e.name]; ok {
		obs.rec = &rec
	}
	return obs, nil
}

// checkReplica checks, before anything is registered, that the image exists
// in the registry the environment pulls from (a replica in another region or
// account). It returns target.ErrReplicaMissing (wrapped) when it does not.
func (d *Deployer) checkReplica(ctx context.Context, req Request, e environment) error {
	account, region, _ := input.ParseRegistryHost(e.env.Registry)
	t := targetOf(req.Repository, e.name, e.env)
	t.Region = region
	client, err := d.Targets.ECR(ctx, t)
	if err != nil {
		return err
	}
	return target.CheckReplica(ctx, client, e.env.Registry, account, req.Repository, req.Digest)
}

// serviceObservation is what ECS says about one configured service and the
// task definitions deciding needs: the one it runs and the newest revision
// of the family a deployment registers into.
type serviceObservation struct {
	name    string
	service target.Service
	current target.TaskDefinition
	// latest is the newest revision of the family, when it is not current
	// (a previous delivery registered it and did not get to update the
	// service); nil otherwise.
	latest *target.TaskDefinition
	err    error
}

// observeService describes the task definitions of one service: the
// newest revision of its family first, which usually is the one it runs,
// so that one call serves both.
func observeService(ctx context.Context, client target.ECSAPI, e environment, name string, services map[string]target.Service) serviceObservation {
	o := serviceObservation{name: name}
	svc, ok := services[ecsref.ServiceName(name)]
	if !ok {
		o.err = fmt.Errorf("service %s in cluster %s: %w", name, e.env.Cluster, target.ErrServiceNotFound)
		return o
	}
	o.service = svc
	family := cmp.Or(e.env.Family, ecsref.Family(svc.TaskDefinition))
	latest, found, err := target.DescribeTaskDefinition(ctx, client, family)
	if err != nil {
		o.err = err
		return o
	}
	if found && ecsref.SameRevision(latest.ARN, svc.TaskDefinition) {
		o.current = latest
		return o
	}
	current, ok, err := target.DescribeTaskDefinition(ctx, client, svc.TaskDefinition)
	switch {
	case err != nil:
		o.err = err
	case !ok:
		o.err = fmt.Errorf("task definition %s of service %s: not found", svc.TaskDefinition, name)
	default:
		o.current = current
		if found {
			o.latest = &latest
		}
	}
	return o
}
