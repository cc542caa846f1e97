package deploy

import (
	"cmp"
	"context"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
)

// status reports, per environment, what its state record says runs there:
// version, digest, task definitions, rollout status and held versions.
func (d *Deployer) status(ctx context.Context, repository string) (Result, error) {
	res := Result{Repository: repository}
	doc, err := d.manualConfig(ctx, repository)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	names := doc.Names()
	recs, err := d.State.GetMany(ctx, repository, names)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	for _, name := range names {
		env := doc.Environments[name]
		st := EnvironmentStatus{Environment: name, Cluster: env.Cluster, Trigger: cmp.Or(env.Trigger, config.TriggerPush), Services: []ServiceStatus{}}
		rec, ok := recs[name]
		if ok {
			st.Version, st.Tag, st.Digest, st.Image = rec.Version, rec.Tag, rec.Digest, rec.Image
			st.Rollout, st.Held, st.DeployedBy = rec.AggregateRollout(), rec.Held, rec.Cause
			t := rec.Time
			st.DeployedAt = &t
		}
		for _, svc := range env.Services {
			ss := ServiceStatus{Service: svc}
			if s, ok := rec.Services[svc]; ok {
				ss.TaskDefinition, ss.DeploymentID, ss.Rollout = s.TaskDefinition, s.DeploymentID, s.Rollout
			}
			st.Services = append(st.Services, ss)
		}
		res.Environments = append(res.Environments, st)
	}
	return res, nil
}
