package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// rollback redeploys to an environment the last version before the current
// one whose deployment COMPLETED, read from the environment's state history
// (never "revision - 1"), and holds the version it replaces so pushes and
// reconcile skip it.
func (d *Deployer) rollback(ctx context.Context, req request.Request, requestID string) (Result, error) {
	res := Result{Repository: req.Repository, Cause: state.CauseRollback}
	doc, err := d.manualConfig(ctx, req.Repository, req.Environment)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	// Record first what ECS says (a rollout that ended, a rollback ECS
	// made), so that the history ends with what runs.
	if _, err := d.refreshRecord(ctx, req.Repository, req.Environment, doc.Environments[req.Environment], nil); err != nil && !errors.Is(err, state.ErrNotFound) {
		return d.fail(ctx, res, err)
	}
	history, err := d.State.History(ctx, req.Repository, req.Environment)
	if errors.Is(err, state.ErrNotFound) {
		return d.fail(ctx, res, fmt.Errorf("rollback %s in %s: %w there", req.Repository, req.Environment, ErrNothingDeployed))
	}
	if err != nil {
		return d.fail(ctx, res, err)
	}
	current := history[len(history)-1]
	good, ok := lastGood(history, current.Version)
	if !ok {
		return d.fail(ctx, res, fmt.Errorf("rollback %s in %s: no version before %s completed there: %w",
			req.Repository, req.Environment, current.Version, ErrNothingDeployed))
	}
	return d.redeploy(ctx, req, doc, res, good, Request{
		Cause: state.CauseRollback, EventID: requestID, Environments: []string{req.Environment},
		Force: true, DryRun: req.DryRun, Hold: current.Version,
	})
}

// lastGood returns the newest record of another version than current whose
// deployment COMPLETED.
func lastGood(history []state.Record, current string) (state.Record, bool) {
	for i := len(history) - 1; i >= 0; i-- {
		if r := history[i]; r.Version != current && r.AggregateRollout() == state.Completed && r.Digest != "" {
			return r, true
		}
	}
	return state.Record{}, false
}
