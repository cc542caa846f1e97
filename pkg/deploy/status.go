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

// status reports, per environment, what its state record says runs there
// (version, digest, task definitions, rollout status, held versions) beside
// what ECS runs, marking drift: a service that runs another revision than
// the record says. A record that ECS has moved on from (a rollout that
// ended, a rollback) is brought up to date first, as every look at a
// service does. An environment that cannot be described says why and
// shows its record.
func (d *Deployer) status(ctx context.Context, repository string) (Result, error) {
	res := Result{Repository: repository}
	doc, err := d.manualConfig(ctx, repository)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	names := doc.Names()
	recs, err := d.State.GetMany(ctx, repository, names)
	var unreadable *state.Unreadable
	if err != nil && !errors.As(err, &unreadable) {
		return d.fail(ctx, res, err)
	}
	res.Environments = make([]EnvironmentStatus, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			rec, ok := recs[name]
			res.Environments[i] = d.environmentStatus(ctx, repository, name, doc.Environments[name], rec, ok)
			if bad := unreadable.Of(name); bad != nil {
				res.Environments[i].Error = bad.Error() // what ECS runs is shown all the same
			}
		})
	}
	wg.Wait()
	return res, nil
}

// environmentStatus is the status of one environment, from its record (ok
// false: none) and ECS.
func (d *Deployer) environmentStatus(ctx context.Context, repository, name string, env *config.Environment, rec state.Record, ok bool) EnvironmentStatus {
	st := EnvironmentStatus{Environment: name, Cluster: env.Cluster, Trigger: cmp.Or(env.Trigger, config.TriggerPush), Services: []ServiceStatus{}}
	var services map[string]target.Service
	var views map[string]ecsView
	client, err := d.Targets.ECS(ctx, targetOf(repository, name, env))
	if err == nil && ok {
		rec, services, views, err = d.refreshViews(ctx, rec, env, client)
	} else if err == nil {
		services, err = target.DescribeServices(ctx, client, env.Cluster, env.Services)
	}
	if err != nil {
		st.Error = err.Error()
	}
	st.Frozen = d.freezeStatus(ctx, env)
	if ok {
		st.Version, st.Tag, st.Digest, st.Image = rec.Version, rec.Tag, rec.Digest, rec.Image
		st.Rollout, st.Held, st.DeployedBy, st.Failed = rec.AggregateRollout(), rec.Held, rec.Cause, rec.Failed
		t := rec.Time
		st.DeployedAt = &t
		if rec.Approval != nil {
			st.Approval = approvalOf(*rec.Approval, repository, name)
		}
	}
	for _, svc := range env.Services {
		ss := ServiceStatus{Service: svc}
		s, recorded := rec.Services[svc]
		if recorded {
			ss.TaskDefinition, ss.DeploymentID, ss.Rollout = s.TaskDefinition, s.DeploymentID, s.Rollout
			ss.ServiceDeploymentARN = s.ServiceDeploymentARN
		}
		if observed, ok := services[ecsref.ServiceName(svc)]; ok {
			ss.Running = observed.TaskDefinition
			ss.Drift = ss.TaskDefinition != "" && !ecsref.SameRevision(ss.TaskDefinition, ss.Running) && !codeDeployUnderWay(s)
			// Where a deployment of the blue-green family is: its stage and
			// the share of production traffic on the new revision.
			ss.Stage, ss.ProductionTraffic = stageStatus(views[svc], observed.CurrentServiceDeployment, d.now())
		}
		st.Services = append(st.Services, ss)
	}
	return st
}
