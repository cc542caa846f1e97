package deploy

import (
	"context"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// recordRollout records the rollout status of one service's deployment in
// its environment's state. It changes nothing, and reports false, when the
// state no longer names that deployment (it was superseded, or is not ours)
// or already has that status (a re-delivered event). A FAILED deployment
// holds its version in the environment (DESIGN section 3, last rule).
func (d *Deployer) recordRollout(ctx context.Context, repository, environment, service, deploymentID, rollout, reason string) (bool, error) {
	rec, err := d.State.Get(ctx, repository, environment)
	if err != nil {
		return false, err
	}
	s, ok := rec.Services[service]
	if !ok || s.DeploymentID != deploymentID || s.Rollout == rollout {
		return false, nil
	}
	s.Rollout, s.Reason = rollout, reason
	rec.Services[service] = s
	rec.Rollout = rec.AggregateRollout()
	switch rec.Rollout {
	case state.Failed:
		rec.Hold(rec.Version)
	case state.Completed:
		rec.LastCompleted = rec.Version
	}
	if err := d.State.Put(ctx, rec); err != nil {
		return false, fmt.Errorf("record rollout of %s in %s: %w", service, environment, err)
	}
	return true, nil
}
