package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// throttledShape is a burst of pushes under AWS's request buckets:
// Repositories × 10 versions, each repository with burstEnvironments (dev
// and staging, each its own service and family), delivered in one shuffled
// order through Workers warm function instances. An invocation that
// returns an error is delivered again, up to twice, as Lambda does for an
// asynchronous invocation (the deployer's MaximumRetryAttempts in
// template.yaml); an event whose last delivery fails is lost (it would go
// to the dead-letter queue).
type throttledShape struct {
	Repositories, Workers int
}

// throttledRetries is how often Lambda delivers a failed asynchronous
// invocation again (template.yaml, the deployer's MaximumRetryAttempts).
const throttledRetries = 2

// throttledTags are the ten versions of burst repository r: dev (every
// version, pre-releases too) ends on 2.1.0 for even r and 2.0.0-rc.2 for
// odd r, staging (1.x) on 1.2.0 for even r and 1.4.0 for odd r.
func throttledTags(r int) []string {
	tags := []string{"0.9.0", "1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0-rc.1", "2.0.0-rc.2"}
	if r%2 == 0 {
		return append(tags, "2.0.0", "2.0.1", "2.1.0")
	}
	return append(tags, "1.3.0", "1.3.1", "1.4.0")
}

func throttledRepository(r int) string { return fmt.Sprintf("burst-%03d", r) }

// throttledBurst is what one burst under throttling did.
type throttledBurst struct {
	Shape     throttledShape
	Buckets   string // what the buckets were, in words
	Events    int
	Wall      time.Duration
	Calls     map[string]int // attempts by operation, throttled ones included
	Throttled map[string]int // attempts answered ThrottlingException
	Errors    int            // invocations that returned an error
	// ClaimWaits are the errors of an invocation that waited for another
	// delivery's claim on an environment longer than the deployer waits
	// (a *state.Claimed): returned so that the event is delivered again,
	// by design, and not for want of retries.
	ClaimWaits   int
	Failures     []string // the first few errors, for the report
	Redelivered  int      // deliveries after a failed one
	Lost         int      // events whose last delivery failed
	Outcomes     map[string]int
	Environments int
	Wrong        []string
}

// runThrottledBurst seeds the repositories (their images in ECR, as the
// pushes left them) and delivers their push events with buckets throttling
// every call; then checks that every environment runs, and records, its
// highest accepted version.
func runThrottledBurst(t *testing.T, s throttledShape, buckets *awstest.Buckets, describe string) throttledBurst {
	w := newWorld(t)
	type image struct{ repo, tag string }
	var images []image
	for r := range s.Repositories {
		repo := throttledRepository(r)
		w.burstRepository(t, repo, true)
		for _, tag := range throttledTags(r) {
			images = append(images, image{repo, tag})
		}
	}
	events := make([][]byte, len(images))
	for i, im := range images {
		digest := awstest.Must(w.env.Local.PutImage(t.Context(), im.repo, im.tag, localaws.ImageManifest(im.repo+":"+im.tag)))(t)
		events[i] = rawPush(pushEvent(im.repo, im.tag, digest))
	}
	rand.New(rand.NewPCG(2026, 12)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	res := throttledBurst{Shape: s, Buckets: describe, Events: len(events), Outcomes: map[string]int{}}
	var mu sync.Mutex // res's counts of outcomes and deliveries
	counter := countCalls(w.env.Proxy, nil)
	handlers := make([]*handler.Handler, s.Workers)
	for i := range handlers {
		handlers[i] = w.handler()
	}

	// The queue of deliveries: every event once, then again after a
	// failed delivery, at the back, up to throttledRetries times.
	type delivery struct {
		raw     []byte
		attempt int
	}
	queue := make(chan delivery, len(events)*(1+throttledRetries))
	var pending sync.WaitGroup
	pending.Add(len(events))
	for _, ev := range events {
		queue <- delivery{raw: ev}
	}
	go func() { pending.Wait(); close(queue) }()

	w.env.Proxy.Throttle(buckets)
	start := time.Now()
	var wg sync.WaitGroup
	for i, h := range handlers {
		wg.Go(func() {
			for d := range queue {
				out, err := h.Event(context.WithoutCancel(t.Context()), d.raw)
				mu.Lock()
				for _, r := range out.Results {
					res.Outcomes[rowKey(r)]++
				}
				if err != nil {
					res.Errors++
					if _, ok := errors.AsType[*state.Claimed](err); ok {
						res.ClaimWaits++
					}
					if len(res.Failures) < 5 {
						res.Failures = append(res.Failures, err.Error())
					}
					if d.attempt < throttledRetries {
						res.Redelivered++
						mu.Unlock()
						queue <- delivery{raw: d.raw, attempt: d.attempt + 1}
						continue
					}
					res.Lost++
					t.Logf("instance %d: event lost after %d deliveries: %v", i, d.attempt+1, err)
				}
				mu.Unlock()
				pending.Done()
			}
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	w.env.Proxy.Throttle(nil)
	res.Calls, res.Throttled = counter.stop()

	for r := range s.Repositories {
		repo := throttledRepository(r)
		for _, name := range slices.Sorted(maps.Keys(burstEnvironments)) {
			res.Environments++
			want := highestAccepted(t, burstEnvironments[name], throttledTags(r))
			running := w.running(t, repo+"-"+name)
			rec, _ := w.recorded(t, repo, name)
			if running != want || rec.Version != want {
				res.Wrong = append(res.Wrong, fmt.Sprintf("%s/%s runs %s, records %s, want %s", repo, name, running, rec.Version, want))
			}
		}
	}
	return res
}

// errWrong is the error of a burst or fleet that did not end where it
// should.
func errWrong(what string, wrong []string) error {
	if len(wrong) == 0 {
		return nil
	}
	n := min(len(wrong), 5)
	return fmt.Errorf("%s: %d environments wrong, such as %v", what, len(wrong), wrong[:n])
}
