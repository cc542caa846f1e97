package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// Queue holds deliveries handed off until their registration slot: a
// delivery whose slot is far off gives its Lambda instance back rather
// than sleep in it, and comes back through the queue when the slot is due.
// The functions' queue is an SQS queue with a delay (pkg/queue); without
// one a delivery waits for its slot in the invocation, as the CLI does.
type Queue interface {
	// Send delivers body back to the deployer at due, or soon after.
	Send(ctx context.Context, body []byte, due time.Time) error
}

// Dequeued carries out the deliveries its queue gave back.
func (d *Deployer) Dequeued(ctx context.Context, ev event.Queued) (Result, error) {
	return Result{}, errors.New("not yet")
}
