package bench

import (
	"context"
	"slices"
	"sync"
	"time"
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
type lambdaModel struct {
	Concurrency int
	Timeout     time.Duration
	RetryDelays []time.Duration
}

// deployerLambda is the deployer as template.yaml deploys it: reserved
// concurrency 20 (DeployerReservedConcurrency's default), a timeout of 900
// s, and Lambda's two retries of a failed asynchronous invocation, after 1
// and 2 minutes, scaled by retryScale.
func deployerLambda(concurrency int, retryScale float64) lambdaModel {
	return lambdaModel{Concurrency: concurrency, Timeout: 900 * time.Second,
		RetryDelays: []time.Duration{time.Duration(retryScale * float64(time.Minute)), time.Duration(retryScale * float64(2*time.Minute))}}
}

// delivery is one invocation of an event, to be made once due.
type delivery struct {
	event   int // index of the event
	attempt int // 0 for the first delivery
	due     time.Time
	seq     int // order of arrival in the queue, among deliveries due together
}

// invocation is what one delivery did.
type invocation struct {
	Event, Attempt int
	Instance       int
	Due            time.Time // when it could have started (queued, or retry due)
	Start, End     time.Time
	Err            error
}

// asyncQueue is Lambda's queue of a function's asynchronous events.
type asyncQueue struct {
	mu     sync.Mutex
	wake   *sync.Cond
	queued []delivery
	seq    int
	open   int // events not yet settled: handled, or failed on their last attempt
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

// settle marks an event as settled.
func (q *asyncQueue) settle() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.open--
	q.wake.Broadcast()
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
		if len(q.queued) > 0 {
			i := 0
			for j, c := range q.queued {
				if c.due.Before(q.queued[i].due) || c.due.Equal(q.queued[i].due) && c.seq < q.queued[i].seq {
					i = j
				}
			}
			next := q.queued[i]
			if wait := time.Until(next.due); wait <= 0 {
				q.queued = slices.Delete(q.queued, i, i+1)
				return next, true
			} else {
				timer := time.AfterFunc(wait, func() {
					q.mu.Lock()
					defer q.mu.Unlock()
					q.wake.Broadcast()
				})
				q.wake.Wait()
				timer.Stop()
				continue
			}
		}
		q.wake.Wait()
	}
}

// run delivers events through the model: each event is queued at its time
// in at (the zero time: at once), and invoke is called with a context of
// the invocation's deadline by instance 0 … Concurrency-1, each taking one
// delivery at a time. An invocation whose error is non-nil is delivered
// again after the next retry delay, until the retries run out. It returns
// every invocation made, in the order they ended, once every event has
// settled.
func (m lambdaModel) run(ctx context.Context, at []time.Time, invoke func(ctx context.Context, instance, event int) error) []invocation {
	q := newAsyncQueue(len(at))
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
				inv := invocation{Event: d.event, Attempt: d.attempt, Instance: instance, Due: d.due, Start: time.Now()}
				ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.Timeout)
				inv.Err = invoke(ictx, instance, d.event)
				cancel()
				inv.End = time.Now()
				mu.Lock()
				done = append(done, inv)
				mu.Unlock()
				if inv.Err != nil && d.attempt < len(m.RetryDelays) {
					q.add(delivery{event: d.event, attempt: d.attempt + 1, due: inv.End.Add(m.RetryDelays[d.attempt])})
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
