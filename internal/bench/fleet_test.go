package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// fleetShape is a fleet of repositories, each with the three push
// environments of fleetEnvironments, each environment one service with its
// own task-definition family, spread over Clusters clusters.
type fleetShape struct {
	Repositories, Clusters int
	// Behind is how many repositories get a new version in ECR whose push
	// event was lost, before the second measured reconcile.
	Behind int
}

// fleetEnvironments take every push of a 1.x release.
var fleetEnvironments = []string{"dev", "staging", "prod"}

func (s fleetShape) services() int { return s.Repositories * len(fleetEnvironments) }

func fleetRepository(r int) string { return fmt.Sprintf("app-%04d", r) }

func fleetCluster(c int) string { return fmt.Sprintf("fleet-%02d", c) }

// fleetPlace returns the cluster of environment e of repository r: the
// services go round the clusters, so that each holds as many.
func (s fleetShape) place(r, e int) string {
	return fleetCluster((r*len(fleetEnvironments) + e) % s.Clusters)
}

// fleetRun is one measured reconcile of a fleet.
type fleetRun struct {
	Wall      time.Duration
	Calls     map[string]int // by operation, throttled attempts included
	Throttled map[string]int // attempts answered ThrottlingException, by operation
	Mutating  int
	// MaxServices is the most services one DescribeServices named;
	// MixedClusters counts the DescribeServices that named services of a
	// cluster other than the request's. MaxKeys is the most state records
	// one BatchGetItem read.
	MaxServices, MixedClusters, MaxKeys int
	Outcomes                            map[string]int // outcome (and reason) -> rows
	Failed                              []string       // rows that failed, with their error
	NotReached                          int
	Err                                 string // the error Reconcile returned
}

// fleetResult is a fleet and its two measured reconciles.
type fleetResult struct {
	Shape         fleetShape
	Scale         float64 // the buckets' scale (awstest.NewBuckets)
	Setup         time.Duration
	Idle, Behind  fleetRun
	BehindDeploys int      // environments the second reconcile was to deploy
	Wrong         []string // environments not on their highest version after it
}

// newFleet seeds moto with a fleet straight (not through the proxy): the
// clusters, one revision and one service of one task per environment,
// running repository:1.0.0, the ECR repositories with that image and the
// configuration documents. Returns when every call has been made.
func newFleet(t *testing.T, w *world, s fleetShape) {
	t.Helper()
	ctx := t.Context()
	for c := range s.Clusters {
		awstest.Must(w.env.Local.CreateCluster(ctx, fleetCluster(c)))(t)
	}
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	seedEach(t, s.Repositories, func(r int) error { return seedFleetRepository(ctx, w, s, r, data) })
}

// seedEach seeds repositories 0 to n-1 with seed, two at a time, and fails
// t with their errors once every one has been seeded.
func seedEach(t *testing.T, n int, seed func(r int) error) {
	t.Helper()
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 { // moto serves one request at a time: more workers do not help
		wg.Go(func() {
			for r := range next {
				errs[r] = seed(r)
			}
		})
	}
	for r := range n {
		next <- r
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func seedFleetRepository(ctx context.Context, w *world, s fleetShape, r int, fixtureJSON []byte) error {
	repo := fleetRepository(r)
	if _, err := w.env.Local.CreateRepository(ctx, repo); err != nil {
		return err
	}
	if _, err := w.env.Local.PutImage(ctx, repo, "1.0.0", localaws.ImageManifest(repo+":1.0.0")); err != nil {
		return err
	}
	envs := map[string]environment{}
	for e, name := range fleetEnvironments {
		svc := repo + "-" + name
		in, err := localaws.ParseTaskDefinition(fixtureJSON)
		if err != nil {
			return err
		}
		in.Family = aws.String(svc)
		for i := range in.ContainerDefinitions {
			if aws.ToString(in.ContainerDefinitions[i].Name) == container {
				in.ContainerDefinitions[i].Image = aws.String(localaws.ImageURI(repo, "1.0.0"))
			}
		}
		arn, err := w.env.Local.RegisterTaskDefinition(ctx, in)
		if err != nil {
			return err
		}
		if _, err := w.env.Local.CreateService(ctx, s.place(r, e), svc, arn, 1); err != nil {
			return err
		}
		envs[name] = environment{Versions: "^1.0.0", Cluster: s.place(r, e), Services: []string{svc}, Container: container}
	}
	b, err := json.Marshal(map[string]any{"environments": envs})
	if err != nil {
		return err
	}
	_, err = w.env.Local.PutParameter(ctx, prefix+"/config/"+repo, string(b))
	return err
}

// runFleet seeds a fleet, brings it in sync with a first reconcile (not
// measured, no throttling), then measures, with AWS's request buckets
// (scaled by scale) on every call, a reconcile with nothing to do and,
// after s.Behind repositories got a new version in ECR, one that catches
// them up. Each reconcile is a new function instance, as the schedule finds
// it, with a deadline of one Lambda invocation (15 minutes). The state's
// transactions are written item by item (writeItemByItem): moto's cost for
// them grows with the table, to more memory than the machine has at 1,000
// × 3.
func runFleet(t *testing.T, s fleetShape, buckets func() *awstest.Buckets, scale float64) fleetResult {
	w := newWorld(t)
	w.writeItemByItem()
	out := fleetResult{Shape: s, Scale: scale}
	start := time.Now()
	newFleet(t, w, s)
	// The setup registers every environment's revision once, unthrottled:
	// off the registration pace, which would space its 3,000 registrations
	// a second apart.
	d := w.deployer()
	d.Pace = nil
	setup, err := d.Reconcile(t.Context(), event.Schedule{ID: "fleet-setup", Time: time.Now()})
	if err != nil || setup.Error != "" {
		t.Fatalf("setup reconcile: %v %s", err, setup.Error)
	}
	for _, r := range setup.Repositories {
		for _, row := range r.Results {
			if row.Outcome == deploy.Failed {
				t.Fatalf("setup reconcile: %s/%s failed: %s", r.Repository, row.Environment, row.Error)
			}
		}
	}
	out.Setup = time.Since(start)

	out.Idle = w.reconcileThrottled(t, "fleet-idle", buckets())
	for r := range s.Behind {
		repo := fleetRepository(r)
		awstest.Must(w.env.Local.PutImage(t.Context(), repo, "1.1.0", localaws.ImageManifest(repo+":1.1.0")))(t)
	}
	out.BehindDeploys = s.Behind * len(fleetEnvironments)
	out.Behind = w.reconcileThrottled(t, "fleet-behind", buckets())

	for r := range s.Repositories {
		want := "1.0.0"
		if r < s.Behind {
			want = "1.1.0"
		}
		repo := fleetRepository(r)
		for e, name := range fleetEnvironments {
			running := w.runningIn(t, s.place(r, e), repo+"-"+name)
			rec, _ := w.recorded(t, repo, name)
			if running != want || rec.Version != want {
				out.Wrong = append(out.Wrong, fmt.Sprintf("%s/%s runs %s, records %s, want %s", repo, name, running, rec.Version, want))
			}
		}
	}
	return out
}

// reconcileThrottled runs one reconcile by a new function instance with
// buckets throttling every call, and reports what the proxy saw.
func (w *world) reconcileThrottled(t *testing.T, id string, buckets *awstest.Buckets) fleetRun {
	t.Helper()
	run := fleetRun{Outcomes: map[string]int{}}
	w.env.Proxy.Reset()
	counter := countCalls(w.env.Proxy, func(c awstest.Call) {
		if !c.ReadOnly() {
			run.Mutating++
		}
		var in apiRequest
		_ = json.Unmarshal(c.Request, &in)
		switch c.Operation {
		case "DescribeServices":
			run.MaxServices = max(run.MaxServices, len(in.Services))
			for _, s := range in.Services {
				if strings.HasPrefix(s, "arn:") && !strings.Contains(s, "/"+in.Cluster+"/") {
					run.MixedClusters++
				}
			}
		case "BatchGetItem":
			run.MaxKeys = max(run.MaxKeys, len(in.stateKeys()))
		}
	})
	w.env.Proxy.Throttle(buckets)
	defer w.env.Proxy.Throttle(nil)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	d := w.deployer()
	start := time.Now()
	res, err := d.Reconcile(ctx, event.Schedule{ID: id, Time: time.Now()})
	run.Wall = time.Since(start)
	if err != nil {
		run.Err = err.Error()
	}
	if res.Error != "" {
		run.Err = res.Error
	}
	run.NotReached = len(res.NotReached)
	for _, r := range res.Repositories {
		for _, row := range r.Results {
			run.Outcomes[rowKey(row)]++
			if row.Outcome == deploy.Failed {
				run.Failed = append(run.Failed, fmt.Sprintf("%s/%s: %s", r.Repository, row.Environment, row.Error))
			}
		}
	}
	run.Calls, run.Throttled = counter.stop()
	return run
}

// callCounter counts the attempts the proxy answers, by operation, and
// the throttled ones, until stopped (the proxy's hooks stay).
type callCounter struct {
	mu               sync.Mutex
	done             atomic.Bool
	calls, throttled map[string]int
}

// countCalls starts counting the calls of p; see, when not nil, is told of
// each call counted, one at a time.
func countCalls(p *awstest.Proxy, see func(awstest.Call)) *callCounter {
	c := &callCounter{calls: map[string]int{}, throttled: map[string]int{}}
	p.OnCall(func(call awstest.Call) {
		if c.done.Load() {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.calls[call.Operation]++
		if call.Throttled {
			c.throttled[call.Operation]++
		}
		if see != nil {
			see(call)
		}
	})
	return c
}

// stop ends the count and returns it.
func (c *callCounter) stop() (calls, throttled map[string]int) {
	c.done.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls), maps.Clone(c.throttled)
}

// rowKey is a row's outcome and reason, for counting outcomes.
func rowKey(r deploy.Row) string {
	if r.Reason == "" {
		return string(r.Outcome)
	}
	return string(r.Outcome) + " " + string(r.Reason)
}

// runningIn returns the version tag of the image that the web container of
// a service's current revision runs, read from moto directly.
func (w *world) runningIn(t *testing.T, cluster, service string) string {
	t.Helper()
	arn := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, service))(t)
	td, _ := awstest.Must2(w.env.Local.DescribeTaskDefinition(t.Context(), arn))(t)
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			return taskdef.ParseImage(aws.ToString(c.Image)).Tag
		}
	}
	return ""
}
