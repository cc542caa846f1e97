package deploy

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// wait polls ECS until every deployment the result started has completed or
// failed, recording each outcome in the state, or until the invocation's
// deadline minus a margin, when the rows still running say in-progress
// instead of the invocation timing out. until (request.Until) may stop it
// earlier for a deployment of the blue-green family: once it awaits
// approval, or has test or all production traffic on its new revision,
// its row says so (Row.Reached) and is no longer waited for; a deployment
// that fails first is a failure as ever. It returns the result with the
// rollout of each deployed row.
func (d *Deployer) wait(ctx context.Context, res Result, until string) Result {
	res.Results = slices.Clone(res.Results)
	var pending []*Row
	for i := range res.Results {
		if r := &res.Results[i]; r.Outcome == Deployed && r.DeploymentID != "" {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 {
		return res
	}
	doc, err := d.Config.Get(ctx, res.Repository)
	if err != nil {
		for _, r := range pending {
			r.Rollout, r.Error = state.InProgress, "not waited: "+err.Error()
		}
		return res
	}
	finished := Result{Repository: res.Repository, Tag: res.Tag, Version: res.Version, Digest: res.Digest, Cause: res.Cause}
	defer func() {
		if len(finished.Results) > 0 {
			d.announce(ctx, finished, "", 0)
		}
	}()
	start := d.now()
	deadline := start.Add(d.maxWait())
	if dl, ok := ctx.Deadline(); ok && dl.Add(-d.waitMargin()).Before(deadline) {
		deadline = dl.Add(-d.waitMargin())
	}
	for {
		byEnv := map[string][]*Row{}
		for _, r := range pending {
			byEnv[r.Environment] = append(byEnv[r.Environment], r)
		}
		pending = pending[:0]
		for name, rows := range byEnv {
			if env := doc.Environments[name]; env != nil {
				pending = append(pending, d.poll(ctx, res.Repository, name, env, rows, start, until, &finished)...)
				continue
			}
			for _, r := range rows { // the configuration changed under us
				r.Rollout, r.Error = state.InProgress, "not waited: environment no longer configured"
			}
		}
		if len(pending) == 0 {
			return res
		}
		stop := !d.now().Add(d.pollInterval()).Before(deadline)
		if !stop {
			select {
			case <-ctx.Done():
				stop = true
			case <-time.After(d.pollInterval()):
			}
		}
		if stop {
			for _, r := range pending {
				r.Rollout = state.InProgress
			}
			return res
		}
	}
}

// poll looks once at the rollouts of one environment's waited rows: it
// records those that ended (in the state, and in finished for the result
// events) and returns those still going, or that could not be looked at.
func (d *Deployer) poll(ctx context.Context, repository, name string, env *config.Environment, rows []*Row, start time.Time, until string, finished *Result) []*Row {
	client, err := d.Targets.ECS(ctx, targetOf(repository, name, env))
	if err != nil {
		return rows
	}
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.Service
	}
	observed, err := target.DescribeServices(ctx, client, env.Cluster, names)
	if err != nil {
		return rows // try again next poll
	}
	var pending []*Row
	rolledBack := false
	// The record is read only for a deployment ECS no longer lists: its
	// entry knows the deployment the update replaced.
	recorded := sync.OnceValue(func() state.Record {
		rec, _ := d.State.Get(ctx, repository, name)
		return rec
	})
	codeDeploy := d.codeDeployOf(ctx, repository, name, env)
	for _, r := range rows {
		svc := observed[ecsref.ServiceName(r.Service)]
		v := d.viewOf(ctx, client, codeDeploy, env, r, svc, start, recorded)
		r.Stage, _ = stageStatus(v, svc.CurrentServiceDeployment, d.now())
		if d.Progress != nil {
			d.Progress(Progress{Environment: name, Service: r.Service, DeploymentID: r.DeploymentID, Rollout: v.rollout, Stage: r.Stage, Elapsed: d.now().Sub(start)})
		}
		switch {
		case v.rollout == state.InProgress && reached(v, until, env):
			r.Rollout, r.Reached = state.InProgress, until
		case v.rollout.Terminal():
			r.Rollout = v.rollout
			if v.rollout == state.Failed {
				r.Error = failureText(v)
				rolledBack = rolledBack || v.rolledBack
			}
			rec, recorded, err := d.recordRollout(ctx, repository, name, r.Service, r.DeploymentID, v.rollout, v.reason, v.at)
			if err != nil {
				d.log().ErrorContext(ctx, "record rollout", "repository", repository, "environment", name, "service", r.Service, "error", err.Error())
			}
			if recorded {
				done := *r
				done.LeadTime = leadTime(rec, v.rollout, d.now())
				finished.Results = append(finished.Results, done)
			}
		case v.replaced:
			r.Rollout, r.Error = state.Superseded, replacedText(observed[ecsref.ServiceName(r.Service)])
		default:
			pending = append(pending, r)
		}
	}
	if rolledBack {
		// Record what ECS rolled back to, so that nothing points the
		// services at the failed revision again.
		if _, err := d.refreshRecord(ctx, repository, name, env, client); err != nil {
			d.log().ErrorContext(ctx, "record rollback", "repository", repository, "environment", name, "error", err.Error())
		}
	}
	return pending
}

// viewOf is what ECS says of the deployment a waited row started: CodeDeploy
// says it of a CODE_DEPLOY service's; from its service deployment for the
// blue-green family (waitedServiceDeployment); otherwise reading the
// service-deployments history when ECS no longer lists it, and then the
// deployment the update replaced from the environment's record (recorded),
// when it still names the row's deployment.
func (d *Deployer) viewOf(ctx context.Context, client target.ECSAPI, codeDeploy codeDeployClient, env *config.Environment, r *Row, svc target.Service, since time.Time, recorded func() state.Record) ecsView {
	cluster := env.Cluster
	entry := state.Service{TaskDefinition: r.TaskDefinition, PreviousTaskDefinition: r.PreviousTaskDefinition, DeploymentID: r.DeploymentID, Rollout: state.InProgress}
	if svc.CodeDeployControlled() {
		return codeDeployView(ctx, codeDeploy, entry, svc)
	}
	if blueGreenFamily(env, svc) {
		if v, ok := describeBlueGreen(ctx, client, entry, svc, waitedServiceDeployment(r, svc, recorded)); ok {
			return v
		}
	}
	if !needsHistory(entry, svc) {
		return judgeRollout(entry, svc, nil, false)
	}
	if e, ok := recorded().Services[r.Service]; ok && e.DeploymentID == r.DeploymentID {
		entry.ReplacedDeploymentID = e.ReplacedDeploymentID
	}
	history, err := target.ServiceDeployments(ctx, client, cluster, ecsref.ServiceName(r.Service), since.Add(-time.Minute))
	return judgeRollout(entry, svc, history, err == nil)
}

// failureText says why a rollout failed, in ECS's words.
func failureText(v ecsView) string {
	msg := "rollout failed"
	if v.rolledBack {
		msg = "rollout failed and ECS rolled the service back to " + ecsref.FamilyRevision(v.running)
	}
	if v.reason != "" {
		msg += ": " + v.reason
	}
	return msg
}

// replacedText says that another deployment replaced the one a request
// started.
func replacedText(svc target.Service) string {
	if svc.CodeDeployControlled() {
		return codeDeployReplacedText(svc)
	}
	primary, _ := svc.Primary()
	return fmt.Sprintf("replaced before it finished by deployment %s of %s, which this request did not start", primary.ID, ecsref.FamilyRevision(primary.TaskDefinition))
}
