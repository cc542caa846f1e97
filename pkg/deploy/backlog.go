package deploy

import (
	"context"
	"slices"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// A push delivered promptly reads everything it may need at once: its
// record (claiming the environment), its services and ECR's images, so
// that deploying costs as few sequential calls as it can. Most pushes of a
// burst deploy nothing (an older version, or one a higher version in ECR
// supersedes), and for those the describes and the claim are spent for
// nothing: 900 pushes superseded by 100 cost 1,800 DescribeServices, 18 s
// of ECS's describe bucket (20 a second) at the least, and their claims and
// releases, while the events behind them (another team's push among them)
// wait in Lambda's queue. A push that waited in that queue (backlogged: its
// event is more than backlogAge old when it is handled) is the sign of
// such a burst: it first reads the records (one read for every
// environment) beside ECR's images, and claims and describes only the
// environments it may act on, one sequential call later.

// backlogAge is how old a push's event must be, when its delivery starts,
// for the push to read before it claims (backlogged): EventBridge delivers
// within a second or so when nothing is queued.
const backlogAge = 5 * time.Second

// backlogged reports whether a request is a push whose event waited in
// Lambda's queue: not one handed off to the deployer's queue, which comes
// back when its slot is due and deploys.
func backlogged(req Request, now time.Time) bool {
	return req.Cause == state.CausePush && !req.DryRun && req.Slot.At.IsZero() && !req.PushedAt.IsZero() &&
		now.Sub(req.PushedAt) > backlogAge
}

// settledUnclaimed returns the rows of an environment a push will not act
// on, from its record read without a claim and ECR's images: an older
// version than the record's, a held one, or one a higher version in ECR
// supersedes, as the claim would find (claimRecord's wouldAct). ok is
// false when the push may act there (or the reads failed): the delivery
// claims and describes the environment then. A change calendar or a
// replica that would hold the environment back answers first
// (settleUnclaimed).
//
// The record is read without looking at ECS, so it may not know yet that
// its deployment in progress was rolled back (a repair, which the claimed
// path makes first, would hold that version and lower the floor). Such a
// record settles a push only when the push would be skipped as well were
// that version held (asIfFailed): a push that a rollback could make
// deployable is claimed and decided from what ECS says.
func settledUnclaimed(req Request, e environment, rec *state.Record, images pushedImages) ([]Row, bool) {
	rows, ok := skippedBy(req, e, rec, images)
	if !ok || rec == nil || rec.AggregateRollout().Terminal() {
		return rows, ok
	}
	if _, still := skippedBy(req, e, asIfFailed(*rec), images); !still {
		return nil, false
	}
	return rows, true
}

// skippedBy returns the rows of an environment a push is skipped in by its
// record as rec says (older, held) or by a higher version in ECR; ok is
// false when the push may act there.
func skippedBy(req Request, e environment, rec *state.Record, images pushedImages) ([]Row, bool) {
	if reason := compareState(req, e.version, rec); reason != policy.Accepted {
		return environmentRows(e.name, e.env, reason, nil), true
	}
	if by, ok := supersededBy(images, e, rec); ok {
		return supersededRows(e, by), true
	}
	return nil, false
}

// asIfFailed is a record as it would be had ECS rolled its deployment in
// progress back: its version held (and so no floor for a push).
func asIfFailed(rec state.Record) *state.Record {
	alt := rec
	alt.Held = slices.Clone(rec.Held)
	alt.Hold(rec.Version)
	return &alt
}

// settleUnclaimed is settledUnclaimed of the environment's record as the
// request's shared read of its records (states) says, and of pushed. What
// holds the environment back as a whole (a closed change calendar, a
// replica without the image: gates) still answers first, as it does for
// a push read the other way; it costs nothing for an environment that has
// neither.
func (d *Deployer) settleUnclaimed(ctx context.Context, req Request, e environment, states func() (map[string]state.Record, error), pushed func() (pushedImages, error)) ([]Row, bool) {
	recs, err := states()
	if err != nil {
		return nil, false
	}
	images, err := pushed()
	if err != nil {
		return nil, false
	}
	rows, ok := settledUnclaimed(req, e, recordOf(recs, e.name), images)
	if !ok {
		return nil, false
	}
	held, err := d.gates(ctx, req, e)
	switch {
	case err != nil:
		return nil, false
	case held != nil:
		return held.rows(e), true
	}
	return rows, true
}
