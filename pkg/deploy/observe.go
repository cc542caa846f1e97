package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
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
// its state record (nil when it has none yet) as ECS says it should read
// now, and its services as ECS describes them, by name.
type observation struct {
	client   target.ECSAPI
	rec      *state.Record
	services map[string]target.Service
	// repaired says rec is the stored record brought up to what ECS says
	// (a rollout that ended, a rollback): it is to be written.
	repaired bool
	// held, when set, holds the environment back as a whole (a closed
	// change calendar, a replica without the image yet): nothing else of
	// it was read, and nothing is decided.
	held *holdBack
}

// observeEnvironment reads what deciding about an environment needs first:
// whether its change calendars let the request through and the image is in
// the registry the environment pulls from (either holds it back: nothing
// more is read), its services, and its state record (states, shared by the
// environments of a request, reads once for all of them, concurrently with
// the describes).
func (d *Deployer) observeEnvironment(ctx context.Context, req Request, e environment, states func() (map[string]state.Record, error)) (observation, error) {
	client, err := d.Targets.ECS(ctx, targetOf(req.Repository, e.name, e.env))
	if err != nil {
		return observation{}, err
	}
	// The calendars and the replica are read beside the describe.
	type gate struct {
		held *holdBack
		err  error
	}
	gates := make(chan gate, 1)
	go func() {
		held, err := d.gates(ctx, req, e)
		gates <- gate{held, err}
	}()
	services, err := target.DescribeServices(ctx, client, e.env.Cluster, e.env.Services)
	switch g := <-gates; {
	case g.err != nil:
		return observation{}, g.err
	case g.held != nil:
		return observation{client: client, held: g.held}, nil
	}
	if err != nil {
		return observation{}, err
	}
	recs, err := states()
	var unreadable *state.Unreadable
	if errors.As(err, &unreadable) {
		// Another environment's bad record is not this one's concern.
		err = unreadable.Of(e.name)
	}
	if err != nil {
		return observation{}, err
	}
	obs := observation{client: client, services: services}
	if rec, ok := recs[e.name]; ok {
		repaired, changed := repairRecord(rec, ecsViews(ctx, client, e.env.Cluster, rec, services), d.now())
		obs.rec, obs.repaired = &repaired, changed
	}
	return obs, nil
}

// ecsViews judges, for each service a record names, what became of the
// deployment it records. It reads the service-deployments history only for
// a deployment ECS no longer lists whose end the record does not know, so
// that a push whose last deployment ended, or is still listed, costs no
// call; those reads run concurrently.
func ecsViews(ctx context.Context, client target.ECSAPI, cluster string, rec state.Record, services map[string]target.Service) map[string]ecsView {
	views := make(map[string]ecsView, len(rec.Services))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, entry := range rec.Services {
		svc, ok := services[ecsref.ServiceName(name)]
		if !ok {
			continue
		}
		if !needsHistory(entry, svc) {
			views[name] = judgeRollout(entry, svc, nil)
			continue
		}
		wg.Go(func() {
			// A history that cannot be read is no history: the services'
			// deployments are judged on their own.
			history, _ := target.ServiceDeployments(ctx, client, cluster, ecsref.ServiceName(name), rec.Time.Add(-historyWindow))
			mu.Lock()
			defer mu.Unlock()
			views[name] = judgeRollout(entry, svc, history)
		})
	}
	wg.Wait()
	return views
}

// historyWindow is how long before a record was written the deployment it
// records may have been created (UpdateService, then the record).
const historyWindow = 15 * time.Minute

// writeRepair writes a record brought up to what ECS says, and logs what
// changed. It returns the record as written.
func (d *Deployer) writeRepair(ctx context.Context, rec state.Record) (state.Record, error) {
	rec.ParameterVersion = 0
	n, err := d.State.Put(ctx, rec)
	if err != nil {
		return rec, fmt.Errorf("record what ECS says of %s in %s: %w", rec.Repository, rec.Environment, err)
	}
	rec.ParameterVersion = n
	d.log().InfoContext(ctx, "state repaired from ECS", "repository", rec.Repository, "environment", rec.Environment,
		"version", rec.Version, "rollout", string(rec.Rollout), "held", rec.Held)
	return rec, nil
}

// refreshRecord reads an environment's record, brings it up to what ECS
// says of its services and writes it when that changed anything. It
// returns the record as it now reads, with ECS's description of its
// services; state.ErrNotFound (wrapped) when the environment has no record.
func (d *Deployer) refreshRecord(ctx context.Context, repository, name string, env *config.Environment, client target.ECSAPI) (state.Record, error) {
	rec, err := d.State.Get(ctx, repository, name)
	if err != nil {
		return rec, err
	}
	rec, _, err = d.refresh(ctx, rec, env, client)
	return rec, err
}

// refresh brings a record just read up to what ECS says, writing it when
// that changed anything, and returns it with ECS's description of the
// environment's services. client nil means the environment's own.
func (d *Deployer) refresh(ctx context.Context, rec state.Record, env *config.Environment, client target.ECSAPI) (state.Record, map[string]target.Service, error) {
	if client == nil {
		c, err := d.Targets.ECS(ctx, targetOf(rec.Repository, rec.Environment, env))
		if err != nil {
			return rec, nil, err
		}
		client = c
	}
	services, err := target.DescribeServices(ctx, client, env.Cluster, env.Services)
	if err != nil {
		return rec, nil, err
	}
	repaired, changed := repairRecord(rec, ecsViews(ctx, client, env.Cluster, rec, services), d.now())
	if !changed {
		return rec, services, nil
	}
	repaired, err = d.writeRepair(ctx, repaired)
	return repaired, services, err
}

// gates reads, concurrently, what may hold an environment back before
// anything of it is decided: its change calendars (freezeCheck) and the
// replica it pulls from (replicaCheck). A freeze is told before a missing
// replica: the environment would not deploy either way.
func (d *Deployer) gates(ctx context.Context, req Request, e environment) (*holdBack, error) {
	var frozen, replica *holdBack
	var ferr, rerr error
	var wg sync.WaitGroup
	wg.Go(func() { frozen, ferr = d.freezeCheck(ctx, req, e) })
	wg.Go(func() { replica, rerr = d.replicaCheck(ctx, req, e) })
	wg.Wait()
	switch {
	case ferr != nil:
		return nil, ferr
	case frozen != nil:
		return frozen, nil
	case rerr != nil:
		return nil, rerr
	}
	return replica, nil
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
	if !svc.ECSControlled() {
		return o // nothing of it can be deployed; planService says why
	}
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
