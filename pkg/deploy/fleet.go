package deploy

import (
	"cmp"
	"context"
	"errors"
	"sync"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// fleet is what a reconcile reads of every push environment of every
// repository before it looks at any one repository: the state records, ten
// a call whatever repository they belong to, and the services, ten a call
// per cluster of each target (region and role), whatever repository they
// run. Reading environment by environment would cost a reconcile of a
// thousand repositories thousands of calls with nothing to do.
type fleet struct {
	recs map[state.Key]state.Record
	// unreadable are the records that could be read but not decoded;
	// stateErr is a read of the records that failed, after which each
	// repository reads its own, as it did before the fleet was read.
	unreadable *state.Unreadable
	stateErr   error
	// envs are the environments whose services ECS described; an
	// environment not in it is observed by the deploy path on its own.
	envs map[state.Key]fleetEnvironment
	// undescribed are the groups whose services could not be described,
	// with why.
	undescribed []fleetFailure
}

// fleetFailure is a group of environments whose services could not be
// described.
type fleetFailure struct {
	region, cluster string
	keys            []state.Key
	err             error
}

// fleetEnvironment is what ECS said of one push environment's services.
type fleetEnvironment struct {
	client target.ECSAPI
	// services are the environment's services that exist, by name.
	services map[string]target.Service
}

// fleetGroup is the push environments whose services DescribeServices can
// name together: those of one cluster of one target.
type fleetGroup struct {
	keys []state.Key
	envs []*config.Environment // index for index with keys
	// names are the services of the group's environments, each once (a
	// service may be named by ARN): seen holds their service names.
	names []string
	seen  map[string]bool
}

// groupKey says which DescribeServices call can describe an environment's
// services: the same region, role and cluster. The cluster is its ARN when
// the document gives one (its account may be another than the role's),
// else its name in the region and the role's account: two clusters of one
// name are never described as one.
type groupKey struct{ region, roleARN, cluster string }

// pushEnvironments returns the names of a document's environments that
// deploy automatically, in name order.
func pushEnvironments(doc *config.Document) []string {
	var names []string
	for _, name := range doc.Names() {
		if doc.Environments[name].Trigger != config.TriggerManual {
			names = append(names, name)
		}
	}
	return names
}

// observeFleet reads the state records and describes the services of every
// push environment of the repositories. It reads the records while it
// describes, and describes reconcileConcurrency clusters at a time. What it
// cannot read is left out, for each repository or environment to read
// again on its own: nothing here fails an environment.
func (d *Deployer) observeFleet(ctx context.Context, docs map[string]*config.Document, repos []string) *fleet {
	f := d.observeEnvironments(ctx, docs, repos, pushEnvironments)
	if f.stateErr != nil {
		d.log().WarnContext(ctx, "reconcile: read the state records of every environment (each repository reads its own)", "error", f.stateErr.Error())
	}
	for _, u := range f.undescribed {
		d.log().WarnContext(ctx, "reconcile: describe the services of a cluster (each environment describes its own)",
			"cluster", u.cluster, "region", u.region, "error", u.err.Error())
	}
	return f
}

// observeEnvironments is observeFleet of the environments names picks of
// each document, saying what it could not read (stateErr, undescribed)
// rather than logging it.
func (d *Deployer) observeEnvironments(ctx context.Context, docs map[string]*config.Document, repos []string, names func(*config.Document) []string) *fleet {
	f := &fleet{envs: map[state.Key]fleetEnvironment{}}
	var keys []state.Key
	groups := map[groupKey]*fleetGroup{}
	var order []groupKey
	for _, repo := range repos {
		doc := docs[repo]
		for _, name := range names(doc) {
			env := doc.Environments[name]
			k := state.Key{Repository: repo, Environment: name}
			keys = append(keys, k)
			gk := groupKey{region: cmp.Or(env.Region, d.Region), roleARN: env.RoleARN, cluster: env.Cluster}
			g := groups[gk]
			if g == nil {
				g = &fleetGroup{seen: map[string]bool{}}
				groups[gk], order = g, append(order, gk)
			}
			g.keys, g.envs = append(g.keys, k), append(g.envs, env)
			for _, svc := range env.Services {
				if !g.seen[ecsref.ServiceName(svc)] {
					g.seen[ecsref.ServiceName(svc)] = true
					g.names = append(g.names, svc)
				}
			}
		}
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		recs, err := d.State.GetKeys(ctx, keys)
		var unreadable *state.Unreadable
		switch {
		case errors.As(err, &unreadable):
			f.recs, f.unreadable = recs, unreadable
		case err != nil:
			f.stateErr = err
		default:
			f.recs = recs
		}
	})
	var mu sync.Mutex
	sem := make(chan struct{}, reconcileConcurrency)
	for _, gk := range order {
		g := groups[gk]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			client, services, err := d.describeGroup(ctx, g)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.undescribed = append(f.undescribed, fleetFailure{region: gk.region, cluster: g.envs[0].Cluster, keys: g.keys, err: err})
				return
			}
			for i, k := range g.keys {
				f.envs[k] = fleetEnvironment{client: client, services: servicesOf(g.envs[i], services)}
			}
		})
	}
	wg.Wait()
	return f
}

// describeGroup describes the services of a group's environments, ten a
// call, with the client of its first environment: every environment of the
// group has the same region and role.
func (d *Deployer) describeGroup(ctx context.Context, g *fleetGroup) (target.ECSAPI, map[string]target.Service, error) {
	first := g.keys[0]
	client, err := d.Targets.ECS(ctx, targetOf(first.Repository, first.Environment, g.envs[0]))
	if err != nil {
		return nil, nil, err
	}
	services, err := target.DescribeServices(ctx, client, g.envs[0].Cluster, g.names)
	return client, services, err
}

// servicesOf returns the part of a cluster's described services that one
// environment configures, as describing its services alone would.
func servicesOf(env *config.Environment, described map[string]target.Service) map[string]target.Service {
	out := make(map[string]target.Service, len(env.Services))
	for _, svc := range env.Services {
		if s, ok := described[ecsref.ServiceName(svc)]; ok {
			out[ecsref.ServiceName(svc)] = s
		}
	}
	return out
}

// records returns a repository's records as the fleet read them, or reads
// them now when the fleet's read failed. The error is an *state.Unreadable
// for the records that could not be decoded, or the read that failed.
func (f *fleet) records(ctx context.Context, store StateStore, repo string, envs []string) (map[string]state.Record, error) {
	if f.stateErr != nil {
		return store.GetMany(ctx, repo, envs)
	}
	recs := make(map[string]state.Record, len(envs))
	for _, name := range envs {
		if rec, ok := f.recs[state.Key{Repository: repo, Environment: name}]; ok {
			recs[name] = rec
		}
	}
	return recs, f.unreadable.Only(repo)
}
