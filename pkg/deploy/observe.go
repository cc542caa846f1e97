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
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
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
// now, its services as ECS describes them, by name, and this delivery's
// claim on it.
type observation struct {
	client   target.ECSAPI
	rec      *state.Record
	services map[string]target.Service
	// repaired says rec is the stored record brought up to what ECS says
	// (a rollout that ended, a rollback): it is to be written, from read
	// and views.
	repaired bool
	read     state.Record
	views    map[string]ecsView
	// claim is this delivery's claim on the environment; nil for a dry
	// run, and for a delivery that found the environment claimed by
	// another and would not act on it anyway (unclaimed).
	claim     *claim
	unclaimed bool
	// held, when set, holds the environment back as a whole (a closed
	// change calendar, a replica without the image yet): nothing is
	// decided of it.
	held *holdBack
}

// recordRead reads an environment's record for a delivery: nil when it has
// none. A delivery claims the environment in the same step (c); a dry run
// reads without claiming; a delivery that found the environment claimed by
// another and would not act on it returns no claim and unclaimed true.
type recordRead func() (rec *state.Record, c *claim, unclaimed bool, err error)

// claimRecord is the recordRead of a delivery that acts: it claims the
// environment, waiting for another's claim only when it would act (from
// the record the failed claim read, and, for a push, what ECR has: a
// superseded delivery does not wait).
func (d *Deployer) claimRecord(ctx context.Context, req Request, e environment, owner string, pushed func() (pushedImages, error)) recordRead {
	k := state.Key{Repository: req.Repository, Environment: e.name}
	return func() (*state.Record, *claim, bool, error) {
		rec, c, err := d.acquire(ctx, k, owner, func(r *state.Record) bool {
			if compareState(req, e.version, r) != policy.Accepted {
				return false
			}
			images, err := pushed()
			_, superseded := supersededBy(images, e, r)
			return err != nil || !superseded
		})
		return rec, c, err == nil && c == nil, err
	}
}

// sharedRecords is the recordRead of a dry run: the records of every
// environment of the request, read once for all (states).
func sharedRecords(name string, states func() (map[string]state.Record, error)) recordRead {
	return func() (*state.Record, *claim, bool, error) {
		recs, err := states()
		var unreadable *state.Unreadable
		if errors.As(err, &unreadable) {
			// Another environment's bad record is not this one's concern.
			err = unreadable.Of(name)
		}
		if err != nil {
			return nil, nil, false, err
		}
		return recordOf(recs, name), nil, false, nil
	}
}

// observeEnvironment reads what deciding about an environment needs first:
// whether the image is in the registry the environment pulls from, its
// services, and its state record (read, and claimed, by read), all at
// once.
func (d *Deployer) observeEnvironment(ctx context.Context, req Request, e environment, read recordRead) (observation, error) {
	type readResult struct {
		rec       *state.Record
		claim     *claim
		unclaimed bool
		err       error
	}
	recCh := make(chan readResult, 1)
	go func() {
		var r readResult
		r.rec, r.claim, r.unclaimed, r.err = read()
		recCh <- r
	}()
	obs, err := d.describeEnvironment(ctx, req, e)
	r := <-recCh
	obs.claim, obs.unclaimed = r.claim, r.unclaimed
	if err == nil {
		err = r.err
	}
	if err != nil || obs.held != nil {
		d.release(ctx, obs.claim)
		obs.claim = nil
		return obs, err
	}
	if r.rec != nil && !r.unclaimed {
		obs.read, obs.views = *r.rec, ecsViews(ctx, obs.client, d.codeDeployOf(ctx, req.Repository, e.name, e.env), e.env.Cluster, *r.rec, obs.services)
		repaired, changed := repairRecord(obs.read, obs.views, d.now())
		obs.rec, obs.repaired = &repaired, changed
	} else {
		obs.rec = r.rec
	}
	return obs, nil
}

// describeEnvironment returns the ECS client of an environment and its
// services, having checked beside the describe what may hold it back as a
// whole (gates: a closed change calendar, a replica without the image yet);
// when something does, the observation says so (held) and nothing else.
func (d *Deployer) describeEnvironment(ctx context.Context, req Request, e environment) (observation, error) {
	client, err := d.Targets.ECS(ctx, targetOf(req.Repository, e.name, e.env))
	if err != nil {
		return observation{}, err
	}
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
	return observation{client: client, services: services}, nil
}

// ecsViews judges, for each service a record names, what became of the
// deployment it records; CodeDeploy is asked of a deployment it made
// (codeDeployView, with codeDeploy's client). A deployment of the
// blue-green family still in progress as far as the record knows is judged
// from its service deployment (DescribeServiceDeployments: done only when
// SUCCESSFUL after the bake, failed when rolled back by a hook, an alarm, a
// timeout or a rejection). It reads the service-deployments history only for
// a deployment ECS no longer lists whose end the record does not know, so
// that a push whose last deployment ended, or is still listed, costs no
// call; those reads run concurrently, and are retried as every call is. A
// history that cannot be read is no answer: judgeRollout then goes by what
// ECS runs, and says when that proves nothing (unknown).
func ecsViews(ctx context.Context, client target.ECSAPI, codeDeploy codeDeployClient, cluster string, rec state.Record, services map[string]target.Service) map[string]ecsView {
	views := make(map[string]ecsView, len(rec.Services))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, entry := range rec.Services {
		svc, ok := services[ecsref.ServiceName(name)]
		if !ok {
			continue
		}
		if entry.Controller == state.ControllerCodeDeploy {
			wg.Go(func() {
				v := codeDeployView(ctx, codeDeploy, entry, svc)
				mu.Lock()
				defer mu.Unlock()
				views[name] = v
			})
			continue
		}
		sd := blueGreenDeployment(entry, svc)
		if sd == "" && !needsHistory(entry, svc) {
			views[name] = judgeRollout(entry, svc, nil, false)
			continue
		}
		wg.Go(func() {
			// A deployment of the blue-green family is judged from its
			// service deployment, when ECS describes it.
			v, judged := describeBlueGreen(ctx, client, entry, svc, sd)
			if !judged && needsHistory(entry, svc) {
				history, err := target.ServiceDeployments(ctx, client, cluster, ecsref.ServiceName(name), rec.Time.Add(-historyWindow))
				v = judgeRollout(entry, svc, history, err == nil)
			} else if !judged {
				v = judgeRollout(entry, svc, nil, false)
			}
			mu.Lock()
			defer mu.Unlock()
			views[name] = v
		})
	}
	wg.Wait()
	return views
}

// historyWindow is how long before a record was written the deployment it
// records may have been created (UpdateService, then the record).
const historyWindow = 15 * time.Minute

// writeRepair writes what ECS says (views, from ecsViews) of the
// deployments a record names, as repairRecord brings the record up to it,
// conditionally on the revision read was read as; when another writer came
// first, the record is read again and repaired from the same views, as long
// as it still names the deployments they judge. It returns the record as it
// now stands, and logs what changed.
func (d *Deployer) writeRepair(ctx context.Context, read state.Record, views map[string]ecsView) (state.Record, error) {
	k := state.Key{Repository: read.Repository, Environment: read.Environment}
	now := d.now()
	written, changed, err := d.amend(ctx, k, &read, func(r state.Record) (state.Record, bool) {
		if !sameDeployments(r, read) {
			return r, false // moved on since ECS was asked: the next look repairs it
		}
		return repairRecord(r, views, now)
	})
	if err != nil {
		return read, fmt.Errorf("record what ECS says of %s in %s: %w", read.Repository, read.Environment, err)
	}
	if changed {
		d.log().InfoContext(ctx, "state repaired from ECS", "repository", written.Repository, "environment", written.Environment,
			"version", written.Version, "rollout", string(written.Rollout), "held", written.Held)
	}
	return written, nil
}

// sameDeployments reports whether two records name the same deployment of
// every service.
func sameDeployments(a, b state.Record) bool {
	if len(a.Services) != len(b.Services) {
		return false
	}
	for name, s := range a.Services {
		if b.Services[name].DeploymentID != s.DeploymentID {
			return false
		}
	}
	return true
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
	rec, services, _, err := d.refreshViews(ctx, rec, env, client)
	return rec, services, err
}

// refreshViews is refresh that also returns what ECS said of the
// deployments the record named when it was read (ecsViews, by service).
func (d *Deployer) refreshViews(ctx context.Context, rec state.Record, env *config.Environment, client target.ECSAPI) (state.Record, map[string]target.Service, map[string]ecsView, error) {
	if client == nil {
		c, err := d.Targets.ECS(ctx, targetOf(rec.Repository, rec.Environment, env))
		if err != nil {
			return rec, nil, nil, err
		}
		client = c
	}
	services, err := target.DescribeServices(ctx, client, env.Cluster, env.Services)
	if err != nil {
		return rec, nil, nil, err
	}
	views := ecsViews(ctx, client, d.codeDeployOf(ctx, rec.Repository, rec.Environment, env), env.Cluster, rec, services)
	if _, changed := repairRecord(rec, views, d.now()); !changed {
		return rec, services, views, nil
	}
	rec, err = d.writeRepair(ctx, rec, views)
	return rec, services, views, err
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
	// known is the revision the record knows for the version deployed
	// (observeKnown), when it is neither current nor latest; nil otherwise.
	known *target.TaskDefinition
	err   error
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
	if !deployable(svc) {
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
