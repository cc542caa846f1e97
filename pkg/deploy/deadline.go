package deploy

import (
	"cmp"
	"context"
	"time"
)

// Every invocation keeps a margin before its deadline. Reads and the calls
// that change ECS run under the act context, which ends that margin before
// the invocation's deadline: a call that would still be waiting then (a
// throttled UpdateService retried for minutes) is given up, and none starts
// that could not be recorded. The writes that record what was done run
// under the record context, which the act context's end does not cancel:
// the record of an update already made is written even when the deadline
// is near, in the margin kept for it. What could not be done in time fails
// retryably, and the delivery is made again.

// deadlineMargin is how long before an invocation's deadline a delivery
// stops starting calls that change ECS (default 15s): enough for the state
// write that records them, paced and retried, and the result events.
func (d *Deployer) deadlineMargin() time.Duration { return cmp.Or(d.DeadlineMargin, 15*time.Second) }

// actContext returns the context of the calls that read and change ECS:
// ctx, ending deadlineMargin before ctx's deadline when it has one.
func (d *Deployer) actContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-d.deadlineMargin()))
}

// recordContext returns the context of the writes that record what a
// delivery did: not cancelled with ctx (a reconcile stopping before its
// deadline, the act context ending), and bounded by deadlineMargin so that
// it ends by the invocation's deadline at the latest.
func (d *Deployer) recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d.deadlineMargin())
}
