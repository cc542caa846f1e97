package bench

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// lambdaModel is how Lambda runs the deployer for EventBridge's events, as
// template.yaml configures it: events are invoked asynchronously, Lambda
// queues them and hands each to one of at most Concurrency instances (the
// function's reserved concurrency), an instance takes one event at a time,
// an invocation has Timeout to run, and an invocation that returns an error
// is run again after each of RetryDelays (MaximumRetryAttempts: 2).
//
// "How Lambda handles errors and retries with asynchronous invocation",
// AWS Lambda Developer Guide,
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html:
// "If the function returns an error, by default Lambda attempts to run it
// two more times, with a one-minute wait between the first two attempts,
// and two minutes between the second and third attempts." Events that find
// no instance free wait in the queue (throttled invocations are returned
// to it and retried for up to six hours), which the model has them do
// without a delay: an event is handed to the first instance that is free,
// in the order the events became due.
//
// The deployer's queue (an SQS queue with a delay, template.yaml's
// RegistrationQueue) is modelled by sqsModel: a message sent is due after
// its delay, and its event source mapping invokes the function with it, at
// most SQSConcurrency messages at once (ScalingConfig.MaximumConcurrency),
// on the same instances as the asynchronous events (the function's
// reserved concurrency is shared); a message whose invocation fails is due
// again after VisibilityTimeout, up to MaxReceives times, after which it
// goes to the dead-letter queue (lost to the run).
type lambdaModel struct {
	Concurrency int
	Timeout     time.Duration
	RetryDelays []time.Duration

	SQSConcurrency    int
	VisibilityTimeout time.Duration
	MaxReceives       int
}

// deployerLambda is the deployer as template.yaml deploys it: reserved
// concurrency 20 (DeployerReservedConcurrency's default), a timeout of 900
// s, and Lambda's two retries of a failed asynchronous invocation, after 1
// and 2 minutes, scaled by retryScale.
//
// Its queue's event source mapping has MaximumConcurrency 10, and the
// queue a visibility timeout of 6 × 900 s and 5 receives before the
// dead-letter queue, scaled by retryScale too.
func deployerLambda(concurrency int, retryScale float64) lambdaModel {
	return lambdaModel{Concurrency: concurrency, Timeout: 900 * time.Second,
		RetryDelays:    []time.Duration{time.Duration(retryScale * float64(time.Minute)), time.Duration(retryScale * float64(2*time.Minute))},
		SQSConcurrency: min(10, concurrency), VisibilityTimeout: time.Duration(retryScale * float64(5400*time.Second)), MaxReceives: 5}
}

// delivery is one invocation of an event, to be made once due.
type delivery struct {
	event   int // index of the event
	attempt int // 0 for the first delivery
	due     time.Time
	seq     int  // order of arrival in the queue, among deliveries due together
	sqs     bool // a message of the deployer's queue, not an asynchronous event
}

// invocation is what one delivery did.
type invocation struct {
	Event, Attempt int
	// Origin is the asynchronous event the invocation works for: Event,
	// or the event whose delivery sent the message it was given.
	Origin     int
	Instance   int
	Due        time.Time // when it could have started (queued, or retry due)
	Start, End time.Time
	Err        error
	// Lost is a failed invocation that was the event's (or message's)
	// last.
	Lost bool
}

// asyncQueue is Lambda's queue of a function's asynchronous events.
type asyncQueue struct {
	mu     sync.Mutex
	wake   *sync.Cond
	queued []delivery
	seq    int
	open   int // events not yet settled: handled, or failed on their last attempt
	// sqsCap is the most messages of the deployer's queue invoked at
	// once (0: no cap), sqsRunning those invoked now.
	sqsCap, sqsRunning int
}

func newAsyncQueue(events int) *asyncQueue {
	q := &asyncQueue{open: events}
	q.wake = sync.NewCond(&q.mu)
	return q
}

// add queues a delivery, due at d.due.
func (q *asyncQueue) add(d delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	d.seq = q.seq
	q.queued = append(q.queued, d)
	q.wake.Broadcast()
}

// addEvent queues a delivery of a new event (a message sent to the
// deployer's queue), to be settled like the others.
func (q *asyncQueue) addEvent(d delivery) {
	q.mu.Lock()
	q.open++
	q.mu.Unlock()
	q.add(d)
}

// settle marks an event as settled.
func (q *asyncQueue) settle() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.open--
	q.wake.Broadcast()
}

// finished marks a delivery's invocation as ended.
func (q *asyncQueue) finished(d delivery) {
	if !d.sqs {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sqsRunning--
	q.wake.Broadcast()
}

// eligible reports whether d may be invoked now, as far as the cap on the
// queue's messages goes; q.mu is held.
func (q *asyncQueue) eligible(d delivery) bool {
	return !d.sqs || q.sqsCap == 0 || q.sqsRunning < q.sqsCap
}

// take returns the delivery due first (and, among those due together,
// queued first), once it is due; ok is false when every event has
// settled.
func (q *asyncQueue) take() (d delivery, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.open == 0 {
			return delivery{}, false
		}
		i := -1
		for j, c := range q.queued {
			if q.eligible(c) && (i < 0 || c.due.Before(q.queued[i].due) || c.due.Equal(q.queued[i].due) && c.seq < q.queued[i].seq) {
				i = j
			}
		}
		if i < 0 {
			q.wake.Wait()
			continue
		}
		next := q.queued[i]
		if wait := time.Until(next.due); wait > 0 {
			timer := time.AfterFunc(wait, func() {
				q.mu.Lock()
				defer q.mu.Unlock()
				q.wake.Broadcast()
			})
			q.wake.Wait()
			timer.Stop()
			continue
		}
		q.queued = slices.Delete(q.queued, i, i+1)
		if next.sqs {
			q.sqsRunning++
		}
		return next, true
	}
}

// run delivers events through the model: each event is queued at its time
// in at (the zero time: at once), and invoke is called with a context of
// the invocation's deadline by instance 0 … Concurrency-1, each taking one
// delivery at a time. An invocation whose error is non-nil is delivered
// again after the next retry delay, until the retries run out. Messages
// sent to sq (nil: none) during the run are invoked too, as events
// len(at), len(at)+1, …, at most SQSConcurrency at once. It returns every
// invocation made, in the order they ended, once every event and message
// has settled.
func (m lambdaModel) run(ctx context.Context, at []time.Time, sq *sqsModel, invoke func(ctx context.Context, instance, event int) error) []invocation {
	q := newAsyncQueue(len(at))
	q.sqsCap = m.SQSConcurrency
	if sq != nil {
		sq.attach(q, len(at))
	}
	start := time.Now()
	var arrivals sync.WaitGroup
	for i, t := range at {
		if t.IsZero() || !t.After(start) {
			q.add(delivery{event: i, due: start})
			continue
		}
		arrivals.Go(func() {
			timer := time.NewTimer(time.Until(t))
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
			q.add(delivery{event: i, due: t})
		})
	}
	var mu sync.Mutex
	var done []invocation
	var wg sync.WaitGroup
	for instance := range max(m.Concurrency, 1) {
		wg.Go(func() {
			for {
				d, ok := q.take()
				if !ok {
					return
				}
				inv := invocation{Event: d.event, Attempt: d.attempt, Origin: d.event, Instance: instance, Due: d.due, Start: time.Now()}
				if sq != nil {
					inv.Origin = sq.origin(d.event)
				}
				ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.Timeout)
				inv.Err = invoke(context.WithValue(ictx, originKey{}, inv.Origin), instance, d.event)
				cancel()
				inv.End = time.Now()
				q.finished(d)
				retry, delay := m.retry(d)
				inv.Lost = inv.Err != nil && !retry
				mu.Lock()
				done = append(done, inv)
				mu.Unlock()
				if inv.Err != nil && retry {
					q.add(delivery{event: d.event, attempt: d.attempt + 1, due: inv.End.Add(delay), sqs: d.sqs})
					continue
				}
				q.settle()
			}
		})
	}
	wg.Wait()
	arrivals.Wait()
	return done
}

// retry says whether a delivery that failed is made again, and after how
// long: an asynchronous event after its next retry delay, a message after
// the queue's visibility timeout, up to its receives.
func (m lambdaModel) retry(d delivery) (bool, time.Duration) {
	if d.sqs {
		return d.attempt+1 < m.MaxReceives, m.VisibilityTimeout
	}
	if d.attempt < len(m.RetryDelays) {
		return true, m.RetryDelays[d.attempt]
	}
	return false, 0
}

// originKey is the context key of the event an invocation works for.
type originKey struct{}

// sqsModel is the deployer's queue in the model: a deploy.Queue whose
// messages the model invokes the function with once due.
type sqsModel struct {
	mu       sync.Mutex
	q        *asyncQueue
	first    int
	messages []sqsMessage
}

type sqsMessage struct {
	body   []byte
	origin int
}

func (s *sqsModel) attach(q *asyncQueue, first int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q, s.first = q, first
}

// Send queues body, due at due, as the invocation of ctx's event sent it.
func (s *sqsModel) Send(ctx context.Context, body []byte, due time.Time) error {
	origin, ok := ctx.Value(originKey{}).(int)
	if !ok {
		return errors.New("sqs model: a message sent outside an invocation")
	}
	s.mu.Lock()
	event := s.first + len(s.messages)
	s.messages = append(s.messages, sqsMessage{body: slices.Clone(body), origin: origin})
	q := s.q
	s.mu.Unlock()
	// SQS's delay is whole seconds, at most 900 (pkg/queue rounds up).
	wait := min(max(time.Until(due), 0), 900*time.Second)
	q.addEvent(delivery{event: event, due: time.Now().Add(wait), sqs: true})
	return nil
}

// message returns the message that event is; ok is false for an
// asynchronous event.
func (s *sqsModel) message(event int) (sqsMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if event < s.first || s.q == nil {
		return sqsMessage{}, false
	}
	return s.messages[event-s.first], true
}

// origin returns the event an event or message works for.
func (s *sqsModel) origin(event int) int {
	if m, ok := s.message(event); ok {
		return m.origin
	}
	return event
}

// sent returns how many messages were sent.
func (s *sqsModel) sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

// sqsEvent is the event an SQS event source mapping invokes the function
// with for one message (aws-lambda-go's events.SQSEvent).
func sqsEvent(id string, body []byte) []byte {
	ev := events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: id, ReceiptHandle: "receipt-" + id, Body: string(body),
		Attributes:        map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "AROAEXAMPLE", "ApproximateFirstReceiveTimestamp": "0"},
		MessageAttributes: map[string]events.SQSMessageAttribute{}, EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:ecrdeploy-registrations", AWSRegion: "us-east-1",
	}}}
	raw, err := json.Marshal(ev)
	if err != nil {
		panic(err) // cannot happen: strings
	}
	return raw
}
