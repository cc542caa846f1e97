package deploy

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// DeploymentChanged records an ECS deployment state change in the state of
// the environment whose service it is: the rollout becomes IN_PROGRESS,
// COMPLETED or FAILED, and a FAILED deployment holds its version. An event
// for a service no configuration names, or for a deployment the state does
// not record (one ecrdeploy did not start, or one already superseded),
// changes nothing. The error is non-nil only when a retry could succeed.
func (d *Deployer) DeploymentChanged(ctx context.Context, ev event.DeploymentChange) (Result, error) {
	res := Result{Results: []ServiceResult{}}
	docs, err := d.Config.List(ctx)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	repos := make([]string, 0, len(docs))
	for repo := range docs {
		repos = append(repos, repo)
	}
	slices.Sort(repos)
	var errs []error
	leadTimes := map[string]time.Duration{}
	for _, repo := range repos {
		doc := docs[repo]
		for _, name := range doc.Names() {
			env := doc.Environments[name]
			region := env.Region
			if region == "" {
				region = d.Region
			}
			if region != ev.Region || !sameCluster(env.Cluster, ev.Cluster) {
				continue
			}
			for _, svc := range env.Services {
				if serviceName(svc) != ev.Service {
					continue
				}
				rec, recorded, err := d.recordRollout(ctx, repo, name, svc, ev.DeploymentID, ev.Rollout(), ev.Reason)
				row := ServiceResult{Environment: name, Cluster: env.Cluster, Service: svc, DeploymentID: ev.DeploymentID, Rollout: rolloutWord(ev.Rollout())}
				if recorded {
					row.TaskDefinition, row.Image = rec.Services[svc].TaskDefinition, rec.Image
					res.Version, res.Tag, res.Digest, res.Trigger = rec.Version, rec.Tag, rec.Digest, Trigger(rec.Trigger)
					at := ev.Time
					if at.IsZero() {
						at = d.now()
					}
					if lt, ok := leadTime(rec, at); ok && ev.Rollout() == state.Completed {
						leadTimes[name+"/"+svc] = lt
					}
				}
				switch {
				case err != nil:
					row.Outcome, row.Error = Failed, err.Error()
					if Retryable(err) {
						errs = append(errs, err)
					}
				case !recorded:
					continue
				}
				res.Repository = repo
				res.Results = append(res.Results, row)
				d.log().InfoContext(ctx, "rollout", "repository", repo, "environment", name, "cluster", env.Cluster, "service", svc,
					"deploymentId", ev.DeploymentID, "rollout", ev.Rollout(), "reason", ev.Reason)
			}
		}
	}
	if len(res.Results) == 0 {
		d.log().InfoContext(ctx, "rollout not recorded: no state names this deployment", "cluster", ev.Cluster, "service", ev.Service,
			"deploymentId", ev.DeploymentID, "rollout", ev.Rollout())
	}
	d.reportRollouts(ctx, res, ev.ID, leadTimes)
	if len(errs) > 0 {
		return res, errs[0]
	}
	return res, nil
}

// sameCluster reports whether a configured cluster (a name or an ARN) is the
// named cluster.
func sameCluster(configured, name string) bool {
	if i := strings.LastIndex(configured, ":cluster/"); i >= 0 {
		configured = configured[i+len(":cluster/"):]
	}
	return configured == name
}
