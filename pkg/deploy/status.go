package deploy

import (
	"context"
)

// Status reports, per environment, what its state record says runs there:
// version, digest, task definitions, rollout status and held versions.
// Errors are as for Manual.
func (d *Deployer) Status(ctx context.Context, repository string) (Result, error) {
	res := Result{Repository: repository, Results: []ServiceResult{}}
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
		st := EnvironmentStatus{Environment: name, Cluster: env.Cluster, Trigger: string(env.Trigger), Services: []ServiceStatus{}}
		if st.Trigger == "" {
			st.Trigger = "push"
		}
		rec, ok := recs[name]
		if ok {
			st.Version, st.Tag, st.Digest, st.Image = rec.Version, rec.Tag, rec.Digest, rec.Image
			st.Rollout, st.Held, st.DeployedBy = rolloutWord(rec.AggregateRollout()), rec.Held, rec.Trigger
			t := rec.Time
			st.DeployedAt = &t
		}
		for _, svc := range env.Services {
			ss := ServiceStatus{Service: svc}
			if s, ok := rec.Services[svc]; ok {
				ss.TaskDefinition, ss.DeploymentID, ss.Rollout = s.TaskDefinition, s.DeploymentID, rolloutWord(s.Rollout)
			}
			st.Services = append(st.Services, ss)
		}
		res.Environments = append(res.Environments, st)
	}
	return res, nil
}
