package deploy

// Services whose deployment controller is CODE_DEPLOY: ECS refuses to change
// their task definition (UpdateService), and CodeDeploy deploys them. The
// revision is registered as for any service; then a CodeDeploy deployment
// is created in the deployment group that deploys the service, with an
// AppSpec naming the revision and the container and port of the service's
// load balancer. Its id is the service's DeploymentID in the record, with
// Controller CODE_DEPLOY, and what became of it is CodeDeploy's to say
// (GetDeployment), wherever a recorded deployment is judged: a push, the
// reconcile, status, promote, rollback, wait.
//
// What CodeDeploy does to the service's task sets, and so what the service
// runs afterwards ("What happens during an Amazon ECS deployment", AWS
// CodeDeploy User Guide,
// https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html):
// a deployment starts a replacement task set beside the original one, and
// when it succeeds production traffic is on the replacement, which becomes
// the PRIMARY task set; when it fails or is stopped (StopDeployment with its
// automatic rollback), traffic stays on, or returns to, the original task
// set, and the replacement is terminated. target.Service.TaskDefinition is
// the PRIMARY task set's.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/appspec"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Task set statuses ("TaskSet", Amazon ECS API Reference): PRIMARY serves
// production traffic; ACTIVE does not (for a CodeDeploy deployment in
// progress, the replacement).
const (
	taskSetPrimary = "PRIMARY"
	taskSetActive  = "ACTIVE"
)

// deployable reports whether ecrdeploy can deploy a service: ECS deploys it
// (UpdateService), or CodeDeploy does (a CodeDeploy deployment). An
// EXTERNAL service is neither.
func deployable(svc target.Service) bool {
	return svc.ECSControlled() || svc.CodeDeployControlled()
}

// codeDeployClient returns the CodeDeploy client of an environment, made
// when first asked for: most environments have no CODE_DEPLOY service.
type codeDeployClient func() (target.CodeDeployAPI, error)

// codeDeployOf returns the codeDeployClient of a repository's environment.
func (d *Deployer) codeDeployOf(ctx context.Context, repository, name string, env *config.Environment) codeDeployClient {
	return sync.OnceValues(func() (target.CodeDeployAPI, error) {
		return d.Targets.CodeDeploy(ctx, targetOf(repository, name, env))
	})
}

// --- deploying ---

// deployThroughCodeDeploy deploys a registered revision (its ARN) to a
// CODE_DEPLOY service: it finds the deployment group that deploys the
// service, and creates a CodeDeploy deployment of the revision there,
// stopping a deployment of ecrdeploy's to the same environment that is
// still under way (a newer decision replaces it), and returns the
// deployment's id. A deployment someone else started keeps the group busy:
// the error then wraps target.ErrDeploymentInProgress, which a retry can
// get past. The AppSpec's errors (appspec.ErrNoLoadBalancer, ...),
// target.ErrNoDeploymentGroup, target.ErrDeploymentGroupMismatch and
// target.ErrCodeDeployRefused are the service's set-up: no retry changes
// them.
func (d *Deployer) deployThroughCodeDeploy(ctx context.Context, req Request, e environment, p servicePlan, revision string) (string, error) {
	return d.codeDeploy(ctx, req.Repository, e.version.String(), e, p, revision)
}

// codeDeploy creates the CodeDeploy deployment of revision to the service
// of plan p, for a version of a repository (which the deployment's
// description names: target.CodeDeployOrigin).
func (d *Deployer) codeDeploy(ctx context.Context, repository, version string, e environment, p servicePlan, revision string) (string, error) {
	// The AppSpec first: a service it cannot be written for costs no call.
	spec, err := appspec.Build(revision, p.observed.service, e.env.Container)
	if err != nil {
		return "", fmt.Errorf("deploy %s through CodeDeploy: %w", p.service, err)
	}
	client, err := d.Targets.CodeDeploy(ctx, targetOf(repository, e.name, e.env))
	if err != nil {
		return "", err
	}
	k := d.groupKey(e, p.service)
	group, err := d.deploymentGroup(ctx, client, k)
	if err != nil {
		return "", err
	}
	id, replaced, err := target.CreateCodeDeployDeployment(ctx, client, target.CodeDeployRequest{
		Group: group, AppSpec: spec,
		Origin:    target.CodeDeployOrigin{Repository: repository, Version: version, Environment: e.name},
		Supersede: target.OwnDeployment(repository, e.name),
	})
	if err != nil {
		if !errors.Is(err, target.ErrDeploymentInProgress) {
			// The group may have changed (deleted, renamed, pointed at
			// another service): the next delivery looks for it again.
			d.groups.forget(k)
		}
		return "", err
	}
	if replaced != "" {
		d.log().InfoContext(ctx, "stopped the CodeDeploy deployment in progress to deploy another", "repository", repository,
			"environment", e.name, "service", p.service, "stopped", replaced, "deploymentId", id)
	}
	return id, nil
}

// deploymentGroupKey names what finding a deployment group depends on:
// where (region and role), the service, and what the environment names.
type deploymentGroupKey struct {
	region, roleARN, cluster, service string
	application, group                string
}

func (d *Deployer) groupKey(e environment, service string) deploymentGroupKey {
	k := deploymentGroupKey{
		region: cmp.Or(e.env.Region, d.Region), roleARN: e.env.RoleARN,
		cluster: ecsref.ClusterName(e.env.Cluster), service: ecsref.ServiceName(service),
	}
	if cd := e.env.Deployment; cd != nil && cd.CodeDeploy != nil {
		k.application, k.group = cd.CodeDeploy.Application, cd.CodeDeploy.DeploymentGroup
	}
	return k
}

// groupTTL is how long a deployment group found for a service is used
// without looking again.
const groupTTL = 15 * time.Minute

// groupCache keeps the deployment groups found for CODE_DEPLOY services, so
// that a warm function does not look for them at every deployment. Finding
// one costs from one call (application and group named: GetDeploymentGroup)
// to, with nothing named, ListApplications, BatchGetApplications and, per
// application of the ECS compute platform, ListDeploymentGroups and
// BatchGetDeploymentGroups (or a GetDeploymentGroup per group where that is
// refused). An entry lasts groupTTL, and is dropped when CodeDeploy refuses
// a deployment through it (the group may be gone, or deploy another service
// now).
type groupCache struct {
	mu     sync.Mutex
	groups map[deploymentGroupKey]cachedGroup
}

type cachedGroup struct {
	group target.CodeDeployGroup
	until time.Time
}

func (c *groupCache) get(k deploymentGroupKey, now time.Time) (target.CodeDeployGroup, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[k]
	if !ok || !now.Before(g.until) {
		return target.CodeDeployGroup{}, false
	}
	return g.group, true
}

func (c *groupCache) put(k deploymentGroupKey, g target.CodeDeployGroup, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups == nil {
		c.groups = map[deploymentGroupKey]cachedGroup{}
	}
	c.groups[k] = cachedGroup{group: g, until: until}
}

func (c *groupCache) forget(k deploymentGroupKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.groups, k)
}

// deploymentGroup returns the deployment group that deploys a service
// (target.FindCodeDeployGroup), from the cache when it was found less than
// groupTTL ago.
func (d *Deployer) deploymentGroup(ctx context.Context, client target.CodeDeployAPI, k deploymentGroupKey) (target.CodeDeployGroup, error) {
	if g, ok := d.groups.get(k, d.now()); ok {
		return g, nil
	}
	g, err := target.FindCodeDeployGroup(ctx, client, k.cluster, k.service, k.application, k.group)
	if err != nil {
		return target.CodeDeployGroup{}, err
	}
	d.groups.put(k, g, d.now().Add(groupTTL))
	return g, nil
}

// codeDeployed completes the record's entry of a service just deployed:
// for a CODE_DEPLOY service, that CodeDeploy deployed it, and the
// deployment that created the task set it replaces (which runs again if
// CodeDeploy rolls it back). Other entries are returned as they are.
func codeDeployed(entry state.Service, p servicePlan) state.Service {
	if !p.observed.service.CodeDeployControlled() {
		return entry
	}
	entry.Controller = state.ControllerCodeDeploy
	if ts, ok := p.observed.service.PrimaryTaskSet(); ok {
		entry.ReplacedDeploymentID = ts.ExternalID
	}
	return entry
}

// codeDeployUnchanged is the record's entry of a CODE_DEPLOY service found
// running the requested revision when the record does not name it: its
// CodeDeploy deployment in progress, or the one that made the PRIMARY task
// set (none for the service's first), completed.
func codeDeployUnchanged(e environment, p servicePlan) state.Service {
	entry := state.Service{Cluster: e.env.Cluster, TaskDefinition: p.revision, Controller: state.ControllerCodeDeploy, Rollout: state.Completed}
	if ts, ok := replacementTaskSet(p.observed.service, p.revision); ok {
		entry.DeploymentID, entry.Rollout = ts.ExternalID, state.InProgress
		return entry
	}
	if ts, ok := p.observed.service.PrimaryTaskSet(); ok {
		entry.DeploymentID = ts.ExternalID
	}
	return entry
}

// replacementTaskSet returns the task set a CodeDeploy deployment of
// revision has started and not ended: ACTIVE beside the PRIMARY one, with
// the deployment's id.
func replacementTaskSet(svc target.Service, revision string) (target.TaskSet, bool) {
	for _, ts := range svc.TaskSets {
		if ts.Status == taskSetActive && ts.ExternalID != "" && ecsref.SameRevision(ts.TaskDefinition, revision) {
			return ts, true
		}
	}
	return target.TaskSet{}, false
}

// codeDeploying reports whether a CodeDeploy deployment of the family's
// newest revision (o.latest) is under way on a CODE_DEPLOY service: the
// service has its replacement task set, or the record names that
// deployment in progress (CodeDeploy has not started it yet). Deploying
// that revision again would only stop the deployment and start it anew:
// the service is as good as running it. It calls nothing.
func codeDeploying(rec *state.Record, o serviceObservation) bool {
	if !o.service.CodeDeployControlled() || o.latest == nil {
		return false
	}
	if _, ok := replacementTaskSet(o.service, o.latest.ARN); ok {
		return true
	}
	if rec == nil {
		return false
	}
	entry, ok := rec.Services[o.name]
	return ok && entry.Controller == state.ControllerCodeDeploy && entry.DeploymentID != "" &&
		entry.Rollout == state.InProgress && ecsref.SameRevision(entry.TaskDefinition, o.latest.ARN)
}

// --- observing ---

// codeDeployView is what CodeDeploy says became of the deployment a
// record's entry names (GetDeployment), judged by judgeCodeDeploy. An entry
// whose end the record knows costs no call.
func codeDeployView(ctx context.Context, codeDeploy codeDeployClient, entry state.Service, svc target.Service) ecsView {
	if entry.DeploymentID == "" || entry.Rollout.Terminal() {
		return judgeCodeDeploy(entry, svc, target.CodeDeployDeployment{}, nil)
	}
	client, err := codeDeploy()
	if err != nil {
		return judgeCodeDeploy(entry, svc, target.CodeDeployDeployment{}, err)
	}
	dep, err := target.GetCodeDeployDeployment(ctx, client, entry.DeploymentID)
	return judgeCodeDeploy(entry, svc, dep, err)
}

// judgeCodeDeploy decides what became of the CodeDeploy deployment a
// record's entry names, from what CodeDeploy said of it (dep, or the error
// of asking) and the service as ECS describes it. It calls nothing.
//
//   - Succeeded: completed.
//   - Failed, or stopped other than by ecrdeploy to deploy another revision
//     in its place: failed, and its version held. When the service no
//     longer runs its revision, CodeDeploy rolled it back: the service runs
//     its PRIMARY task set's revision, that of the deployment the entry
//     replaced, as after a rollback of ECS's.
//   - Stopped by ecrdeploy for another deployment of the same environment
//     (superseded): nothing failed, nothing is recorded of it.
//   - Anything else: in progress.
//
// An entry whose end the record knows (dep not asked for) is judged from
// what runs: a failed one whose service is back on the revision it
// replaced was rolled back since. CodeDeploy's not knowing the deployment
// leaves what runs to say the rest; any other error is no answer (unknown:
// its version is held back, and nothing recorded, until CodeDeploy can be
// asked).
func judgeCodeDeploy(entry state.Service, svc target.Service, dep target.CodeDeployDeployment, err error) ecsView {
	v := ecsView{running: svc.TaskDefinition}
	runs := ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition)
	switch {
	case entry.DeploymentID == "":
		return v
	case entry.Rollout.Terminal() && dep.ID == "" && err == nil:
		if entry.Rollout == state.Failed && !runs && ecsref.SameRevision(svc.TaskDefinition, entry.PreviousTaskDefinition) {
			v.rollout, v.reason, v.rolledBack, v.rollback = state.Failed, entry.Reason, true, originalTaskSet(svc)
		}
		return v
	case errors.Is(err, target.ErrCodeDeployDeploymentNotFound):
		if runs {
			v.rollout = state.Completed
		} else {
			v.replaced = true
		}
		return v
	case err != nil:
		v.unknown = true
		return v
	}
	switch dep.Rollout() {
	case state.Completed:
		v.rollout, v.at = state.Completed, dep.CompleteTime
	case state.Failed:
		v.rollout, v.reason, v.at = state.Failed, dep.Reason(), dep.CompleteTime
		if !runs {
			v.rolledBack, v.rollback = true, originalTaskSet(svc)
		}
	case state.Superseded:
		v.replaced = true
	default:
		v.rollout = state.InProgress
	}
	return v
}

// originalTaskSet is the deployment a CODE_DEPLOY service went back to
// when CodeDeploy rolled one back: its PRIMARY task set, which already
// served production traffic before (completed), under the id of the
// CodeDeploy deployment that created it ("" for the service's first).
func originalTaskSet(svc target.Service) target.Deployment {
	ts, _ := svc.PrimaryTaskSet()
	return target.Deployment{ID: ts.ExternalID, Status: taskSetPrimary, TaskDefinition: cmp.Or(ts.TaskDefinition, svc.TaskDefinition), Rollout: state.Completed}
}

// codeDeployUnderWay reports whether a record's entry names a CodeDeploy
// deployment that has not ended: until CodeDeploy moves production traffic,
// the service runs the revision it replaces, which is no drift.
func codeDeployUnderWay(entry state.Service) bool {
	return entry.Controller == state.ControllerCodeDeploy && entry.DeploymentID != "" && !entry.Rollout.Terminal()
}

// codeDeployReplacedText says, for a wait, that another CodeDeploy
// deployment replaced the one a request started.
func codeDeployReplacedText(svc target.Service) string {
	return "replaced before it finished by another CodeDeploy deployment; the service runs " + ecsref.FamilyRevision(svc.TaskDefinition)
}

// --- rolling back a deployment in progress ---

// rollbackInFlight rolls back an environment whose current deployment
// CodeDeploy is still carrying out: it stops those CodeDeploy deployments
// with their automatic rollback (traffic stays on, or returns to, the
// original task sets), and records that, holding their version, before
// anything else: the version that ran before is what runs again, so the
// rollback goes no further back. done reports that the rollback is over
// (every service of the record was stopped), or failed; otherwise rec is
// the record as now written (the stopped services on their original
// revision, the version held), for the rollback to carry on with. A dry
// run stops nothing.
func (d *Deployer) rollbackInFlight(ctx context.Context, req request.Request, env *config.Environment, rec *state.Record, requestID string) (res Result, done bool, err error) {
	res = Result{Repository: req.Repository, Cause: state.CauseRollback}
	inFlight := inFlightCodeDeploys(*rec)
	if len(inFlight) == 0 || req.DryRun {
		return res, false, nil
	}
	fail := func(err error) (Result, bool, error) {
		r, err := d.fail(ctx, res, err)
		return r, true, err
	}
	client, err := d.Targets.CodeDeploy(ctx, targetOf(req.Repository, req.Environment, env))
	if err != nil {
		return fail(err)
	}
	// The version is held before anything is stopped, as stopInFlight
	// holds it: no crash or refusal in between lets a push or reconcile
	// deploy it again.
	held, err := d.holdFirst(ctx, *rec, rec.Version)
	if err != nil {
		return fail(fmt.Errorf("rollback %s in %s: %w", req.Repository, req.Environment, err))
	}
	*rec = held
	start := d.now()
	views := map[string]ecsView{}
	for _, name := range inFlight {
		entry := rec.Services[name]
		err := target.StopCodeDeployDeployment(ctx, client, entry.DeploymentID)
		if errors.Is(err, target.ErrDeploymentEnded) {
			continue // it ended meanwhile: what CodeDeploy says of it is read below
		}
		if err != nil {
			return fail(fmt.Errorf("rollback %s in %s: %w", req.Repository, req.Environment, err))
		}
		views[name] = stoppedView(entry, start)
	}
	if len(views) < len(inFlight) {
		// A deployment ended before it could be stopped: the record is
		// brought up to what CodeDeploy says of it, as any look does.
		refreshed, err := d.refreshRecord(ctx, req.Repository, req.Environment, env, nil)
		if err != nil {
			return fail(err)
		}
		*rec = refreshed
	}
	if len(views) == 0 {
		return res, false, nil
	}
	k := state.Key{Repository: req.Repository, Environment: req.Environment}
	stopped := *rec
	written, _, err := d.amend(ctx, k, rec, func(r state.Record) (state.Record, bool) {
		if !sameDeployments(r, stopped) {
			return r, false // another wrote meanwhile; the next look repairs it from CodeDeploy
		}
		next, _ := repairRecord(r, views, start)
		if next.Version != r.Version {
			next.Cause, next.EventID = state.CauseRollback, requestID
		}
		next.Hold(r.Version)
		return next, true
	})
	if err != nil {
		return fail(fmt.Errorf("rollback %s in %s: record the stopped CodeDeploy deployments: %w", req.Repository, req.Environment, err))
	}
	d.log().InfoContext(ctx, "stopped CodeDeploy deployments in progress", "repository", req.Repository, "environment", req.Environment,
		"version", stopped.Version, "held", written.Held)
	if len(views) < len(rec.Services) {
		*rec = written
		return res, false, nil
	}
	res.Version, res.Tag, res.Digest = written.Version, written.Tag, written.Digest
	for _, svc := range env.Services {
		v, ok := views[svc]
		if !ok {
			continue
		}
		entry := stopped.Services[svc]
		res.Results = append(res.Results, Row{
			Environment: req.Environment, Cluster: env.Cluster, Service: svc, Outcome: Deployed,
			Image: written.Image, PreviousTaskDefinition: entry.TaskDefinition, TaskDefinition: v.running,
			Detail: "stopped CodeDeploy deployment " + entry.DeploymentID + " of " + stopped.Version + " in progress: CodeDeploy rolls the service back to " +
				ecsref.FamilyRevision(v.running) + "; " + stopped.Version + " is held",
		})
	}
	d.finish(ctx, Request{Repository: req.Repository, Tag: res.Tag, Digest: res.Digest, Cause: state.CauseRollback, EventID: requestID}, res, start)
	return res, true, nil
}

// inFlightCodeDeploys returns the services of a record whose CodeDeploy
// deployment of the record's version has not ended, in the order of the
// record's services' names.
func inFlightCodeDeploys(rec state.Record) []string {
	var names []string
	for name, entry := range rec.Services {
		if entry.Controller == state.ControllerCodeDeploy && entry.DeploymentID != "" && !entry.Rollout.Terminal() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// stoppedView is what a CodeDeploy deployment stopped by a rollback at a
// time becomes: failed, and rolled back to the revision it replaced (what
// the original task set runs), under the deployment that created that task
// set.
func stoppedView(entry state.Service, at time.Time) ecsView {
	running := cmp.Or(entry.PreviousTaskDefinition, entry.TaskDefinition)
	return ecsView{
		rollout: state.Failed, reason: "CodeDeploy deployment " + entry.DeploymentID + " stopped by a rollback", at: at,
		rolledBack: true, running: running,
		rollback: target.Deployment{ID: entry.ReplacedDeploymentID, Status: taskSetPrimary, TaskDefinition: running, Rollout: state.Completed},
	}
}

// putBackThroughCodeDeploy points a CODE_DEPLOY service back at a revision
// a record that stands over this delivery names (its repository and
// version), through a CodeDeploy deployment that replaces this delivery's.
func (d *Deployer) putBackThroughCodeDeploy(ctx context.Context, e environment, rec state.Record, p servicePlan, revision string) error {
	_, err := d.codeDeploy(ctx, rec.Repository, rec.Version, e, p, revision)
	return err
}

// codeDeployingRequest returns, when the record says a CodeDeploy deployment
// of the very image a request deploys is under way on a CODE_DEPLOY service
// (same version and digest, in progress), the revision it deploys: the
// request is as good as done there, and deploying again would only stop
// that deployment and start it anew. It calls nothing.
func codeDeployingRequest(req Request, e environment, rec *state.Record, o serviceObservation) (string, bool) {
	if rec == nil || e.version == nil || !o.service.CodeDeployControlled() || rec.Version != e.version.String() || rec.Digest != req.Digest {
		return "", false
	}
	entry, ok := rec.Services[o.name]
	if !ok || entry.Controller != state.ControllerCodeDeploy || entry.DeploymentID == "" || entry.Rollout != state.InProgress {
		return "", false
	}
	return entry.TaskDefinition, true
}
