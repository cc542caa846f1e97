package deploy

import (
	"context"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Rollout states as a result reports them.
const (
	RolloutCompleted  = "completed"
	RolloutFailed     = "failed"
	RolloutInProgress = "in-progress"
	// RolloutSuperseded is a deployment ECS no longer lists: another
	// deployment replaced it before it finished.
	RolloutSuperseded = "superseded"
)

// Progress is one observation while waiting for a rollout.
type Progress struct {
	Environment, Service, DeploymentID string
	Rollout                            string // as ECS says: IN_PROGRESS, COMPLETED, FAILED
	Elapsed                            time.Duration
}

func (d *Deployer) pollInterval() time.Duration { return cmpOr(d.PollInterval, 10*time.Second) }
func (d *Deployer) waitMargin() time.Duration   { return cmpOr(d.WaitMargin, 10*time.Second) }
func (d *Deployer) maxWait() time.Duration      { return cmpOr(d.MaxWait, 15*time.Minute) }

func cmpOr(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// wait polls ECS until every deployment the result started has COMPLETED or
// FAILED, recording each outcome in the state, or until the invocation's
// deadline minus a margin, when the rows still running say in-progress
// instead of the invocation timing out.
func (d *Deployer) wait(ctx context.Context, res *Result) {
	var pending []*ServiceResult
	for i := range res.Results {
		if r := &res.Results[i]; r.Outcome == Deployed && r.DeploymentID != "" {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 {
		return
	}
	doc, err := d.Config.Get(ctx, res.Repository)
	if err != nil {
		for _, r := range pending {
			r.Rollout, r.Error = RolloutInProgress, "not waited: "+err.Error()
		}
		return
	}
	finished := Result{Repository: res.Repository, Tag: res.Tag, Version: res.Version, Digest: res.Digest, Trigger: res.Trigger}
	leadTimes := map[string]time.Duration{}
	defer func() {
		if len(finished.Results) > 0 {
			d.reportRollouts(ctx, finished, "", leadTimes)
		}
	}()
	start := d.now()
	deadline := start.Add(d.maxWait())
	if dl, ok := ctx.Deadline(); ok && dl.Add(-d.waitMargin()).Before(deadline) {
		deadline = dl.Add(-d.waitMargin())
	}
	for {
		byEnv := map[string][]*ServiceResult{}
		for _, r := range pending {
			byEnv[r.Environment] = append(byEnv[r.Environment], r)
		}
		pending = pending[:0]
		for envName, rows := range byEnv {
			env := doc.Environments[envName]
			if env == nil { // the configuration changed under us
				for _, r := range rows {
					r.Rollout, r.Error = RolloutInProgress, "not waited: environment no longer configured"
				}
				continue
			}
			client, err := d.Targets.ECS(ctx, target(res.Repository, envName, env))
			if err != nil {
				pending = append(pending, rows...)
				continue
			}
			names := make([]string, len(rows))
			for i, r := range rows {
				names[i] = r.Service
			}
			observed, err := describeServices(ctx, client, env.Cluster, names)
			if err != nil {
				pending = append(pending, rows...) // try again next poll
				continue
			}
			for _, r := range rows {
				obs := observed[serviceName(r.Service)]
				rollout, listed := obs.Deployments[r.DeploymentID]
				if d.Progress != nil {
					d.Progress(Progress{Environment: envName, Service: r.Service, DeploymentID: r.DeploymentID, Rollout: rollout, Elapsed: d.now().Sub(start)})
				}
				switch {
				case !listed:
					r.Rollout = RolloutSuperseded
				case rollout == state.Completed || rollout == state.Failed:
					r.Rollout = rolloutWord(rollout)
					rec, recorded, err := d.recordRollout(ctx, res.Repository, envName, r.Service, r.DeploymentID, rollout, "")
					if err != nil {
						d.log().ErrorContext(ctx, "record rollout", "repository", res.Repository, "environment", envName, "service", r.Service, "error", err.Error())
					}
					if recorded {
						finished.Results = append(finished.Results, *r)
						if lt, ok := leadTime(rec, d.now()); ok && rollout == state.Completed {
							leadTimes[r.Environment+"/"+r.Service] = lt
						}
					}
				default:
					pending = append(pending, r)
				}
			}
		}
		if len(pending) == 0 {
			return
		}
		if !d.now().Add(d.pollInterval()).Before(deadline) {
			for _, r := range pending {
				r.Rollout = RolloutInProgress
			}
			return
		}
		select {
		case <-ctx.Done():
			for _, r := range pending {
				r.Rollout = RolloutInProgress
			}
			return
		case <-time.After(d.pollInterval()):
		}
	}
}

// rolloutWord spells an ECS rollout state (IN_PROGRESS) as results do
// (in-progress).
func rolloutWord(state string) string {
	return strings.ToLower(strings.ReplaceAll(state, "_", "-"))
}
