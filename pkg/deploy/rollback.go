package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// rollback stops the deployment of an environment that is still in
// progress (stopInFlight), or else redeploys to it the newest version whose
// deployment COMPLETED there and that is neither the current version nor
// held (never "revision - 1"), and holds the version it replaces, so that
// pushes and reconcile skip it. Rollbacks in a row therefore walk back; when
// nothing is left to go back to it fails clearly and changes nothing. The
// record's known-good deployments say where to go; when none of them will
// do, the change history is read, however long it is.
func (d *Deployer) rollback(ctx context.Context, req request.Request, requestID string) (Result, error) {
	res := Result{Repository: req.Repository, Cause: state.CauseRollback}
	doc, err := d.manualConfig(ctx, req.Repository, req.Environment)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	// What ECS says first (a rollout that ended, a rollback ECS made): the
	// current version is what runs.
	rec, err := d.refreshRecord(ctx, req.Repository, req.Environment, doc.Environments[req.Environment], nil)
	if errors.Is(err, state.ErrNotFound) {
		return d.fail(ctx, res, fmt.Errorf("rollback %s in %s: %w there", req.Repository, req.Environment, ErrNothingDeployed))
	}
	if err != nil {
		return d.fail(ctx, res, err)
	}
	// A CodeDeploy deployment still under way is stopped (codedeploy.go);
	// so is an ECS deployment still in progress, where it stands.
	if res, done, err := d.rollbackInFlight(ctx, req, doc.Environments[req.Environment], &rec, requestID); done {
		return res, err
	}
	if stop, stopped, err := d.stopInFlight(ctx, req, doc.Environments[req.Environment], rec, requestID); stopped {
		return stop, err
	}
	good, ok := rollbackTarget(rec)
	if !ok {
		// None of the known-good deployments the record keeps will do:
		// the change history, which has no horizon, may know an older one.
		if good, ok, err = d.lastGood(ctx, rec); err != nil {
			return d.fail(ctx, res, err)
		}
	}
	if !ok {
		return d.fail(ctx, res, fmt.Errorf("rollback %s in %s: %w to go back to: no version other than %s%s completed there",
			req.Repository, req.Environment, ErrNothingDeployed, currentLabel(rec), heldLabel(rec)))
	}
	return d.redeploy(ctx, req, doc, res, good, Request{
		Cause: state.CauseRollback, EventID: requestID, Environments: []string{req.Environment},
		Force: true, ForceAsked: req.Force, DryRun: req.DryRun, Hold: rec.Version,
	})
}

// rollbackTarget returns the newest known-good deployment of an
// environment that is neither its current version nor held there.
func rollbackTarget(rec state.Record) (state.Deployment, bool) {
	for _, g := range rec.Good {
		if usable(rec, g.Version, g.Digest) {
			return g, true
		}
	}
	return state.Deployment{}, false
}

// usable reports whether a version is one a rollback may go back to.
func usable(rec state.Record, version, digest string) bool {
	return version != "" && digest != "" && version != rec.Version && !rec.IsHeld(version)
}

// historyPage is how many changes a rollback reads at a time when it looks
// for a known-good deployment in the history.
const historyPage = 100

// lastGood returns, from an environment's change history (newest first,
// page by page), the newest deployment of a version a rollback may go back
// to whose rollout completed.
func (d *Deployer) lastGood(ctx context.Context, current state.Record) (state.Deployment, bool, error) {
	var before int64
	for {
		page, err := d.State.History(ctx, current.Repository, current.Environment, historyPage, before)
		if errors.Is(err, state.ErrNotFound) {
			return state.Deployment{}, false, nil
		}
		if err != nil {
			return state.Deployment{}, false, err
		}
		if good, ok := lastGoodIn(page.Records, current); ok {
			return good, true, nil
		}
		if !page.More || len(page.Records) == 0 {
			return state.Deployment{}, false, nil
		}
		before = page.Records[len(page.Records)-1].Revision
	}
}

// lastGoodIn returns, from changes of a record (newest first), the newest of
// a version a rollback may go back to whose rollout completed.
func lastGoodIn(changes []state.Record, current state.Record) (state.Deployment, bool) {
	for _, r := range changes {
		if r.AggregateRollout() == state.Completed && usable(current, r.Version, r.Digest) {
			return state.Deployment{Version: r.Version, Tag: r.Tag, Digest: r.Digest, Image: r.Image}, true
		}
	}
	return state.Deployment{}, false
}

func currentLabel(rec state.Record) string {
	if rec.Version == "" {
		return "the current one"
	}
	return rec.Version
}

func heldLabel(rec state.Record) string {
	if len(rec.Held) == 0 {
		return ""
	}
	return " and the held " + strings.Join(rec.Held, ", ")
}
