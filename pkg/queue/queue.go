// Package queue is the deployer's queue on Amazon SQS: a delivery whose
// registration slot is far off is sent to the queue with a delay, and the
// queue's event source mapping brings it back to the deployer when the
// delay is over (deploy.Queue).
package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// MaxDelay is the longest delay SQS gives a message: "The maximum is 15
// minutes" ("Amazon SQS delay queues", Amazon SQS Developer Guide). A
// delivery due later comes back at MaxDelay, and the deployer hands it off
// again.
const MaxDelay = 15 * time.Minute

// SQSAPI is the operation of *sqs.Client that SQS uses.
type SQSAPI interface {
	SendMessage(ctx context.Context, params *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQS sends deliveries to the queue at URL, each delayed until it is due.
// It is the deploy.Queue of the functions.
type SQS struct {
	Client SQSAPI
	// URL is the queue's URL (ECRDEPLOY_QUEUE).
	URL string
	// Now is the clock the delay is measured from; nil means time.Now.
	Now func() time.Time
}

// Send sends body to the queue, delayed until due: the whole seconds from
// now to due, rounded up so that it never comes back early, none when due
// has passed, and at most MaxDelay. It returns SendMessage's error wrapped
// with the queue's URL.
func (q *SQS) Send(ctx context.Context, body []byte, due time.Time) error {
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	_, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(q.URL),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: delaySeconds(due.Sub(now())),
	})
	if err != nil {
		return fmt.Errorf("send to queue %s: %w", q.URL, err)
	}
	return nil
}

// delaySeconds is the DelaySeconds of a message due in d: d in whole
// seconds, a fraction rounded up, 0 for a d of 0 or less, MaxDelay for one
// longer.
func delaySeconds(d time.Duration) int32 {
	switch {
	case d <= 0:
		return 0
	case d >= MaxDelay:
		return int32(MaxDelay / time.Second)
	}
	return int32((d + time.Second - 1) / time.Second)
}
