package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// recordRollout records the rollout status of one service's deployment in
// its environment's state. It changes nothing, and reports false, when the
// state no longer names that deployment (it was superseded, or is not ours)
// or already has that status (a re-delivered event). A FAILED deployment
// holds its version in the environment (DESIGN section 3, last rule). It
// returns the record as written.
func (d *Deployer) recordRollout(ctx context.Context, repository, environment, service, deploymentID, rollout, reason string) (state.Record, bool, error) {
	rec, err := d.State.Get(ctx, repository, environment)
	if err != nil {
		return rec, false, err
	}
	s, ok := rec.Services[service]
	if !ok || s.DeploymentID != deploymentID || s.Rollout == rollout {
		return rec, false, nil
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
	if _, err := d.State.Put(ctx, rec); err != nil {
		return rec, false, fmt.Errorf("record rollout of %s in %s: %w", service, environment, err)
	}
	return rec, true, nil
}

// reportRollouts publishes the result events and metrics of rollouts that
// finished, with the lead time from the push to completion.
func (d *Deployer) reportRollouts(ctx context.Context, res Result, eventID string, leadTimes map[string]time.Duration) {
	d.publish(ctx, announcements(res, eventID, leadTimes))
	d.emitMetrics(res, 0, leadTimes)
}

// leadTime is the time from the push of a record's image to now, when the
// record knows when it was pushed.
func leadTime(rec state.Record, now time.Time) (time.Duration, bool) {
	if rec.PushedAt == nil || rec.PushedAt.IsZero() {
		return 0, false
	}
	return now.Sub(*rec.PushedAt), true
}
