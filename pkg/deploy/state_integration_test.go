package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// An environment of 40 services (a monolith's web, workers and queue
// consumers) deploys, records and reports every one.
func TestFortyServicesDeployRecordAndReport(t *testing.T) {
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("hello-color-consumer-%02d", i))
	}
	cfg := `{"environments":{"production":{"cluster":"apps","services":["` + strings.Join(names, `","`) + `"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	arn := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t)
	for _, svc := range names {
		awstest.Must(w.env.Local.CreateService(t.Context(), cluster, svc, arn, 1))(t)
	}
	res := w.deliver(t, w.push(t, "1.4.0"))
	if len(res.Results) != 40 {
		t.Fatalf("%d rows, want 40", len(res.Results))
	}
	for _, r := range res.Results {
		if r.Outcome != deploy.Deployed {
			t.Errorf("%s: %s %s %s", r.Service, r.Outcome, r.Reason, r.Error)
		}
	}
	rec := w.state(t, "production")
	if len(rec.Services) != 40 || rec.Version != "1.4.0" {
		t.Errorf("record of %d services at %s, want 40 at 1.4.0", len(rec.Services), rec.Version)
	}
	status, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"})
	if err != nil || status.Error != "" {
		t.Fatalf("status: %v %s", err, status.Error)
	}
	if n := len(status.Environments[0].Services); n != 40 {
		t.Errorf("status reports %d services, want 40", n)
	}
	for _, s := range status.Environments[0].Services {
		if s.Drift || s.TaskDefinition == "" {
			t.Errorf("status of %s: %+v", s.Service, s)
		}
	}
}

// A version ECS rolled back stays held when a newer one deploys: 1.1.0 is
// rolled back, 1.2.0 deploys and is rolled back too, and the reconcile
// after it leaves the environment on 1.0.0 instead of sending 1.1.0 out
// again.
func TestHoldsOutliveNewerDeployments(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.0.0")
	for _, v := range []string{"1.1.0", "1.2.0"} {
		if got := outcomes(w.deliver(t, w.push(t, v)))["dev"]; got != "deployed" {
			t.Fatalf("%s to dev: %s", v, got)
		}
		awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-dev"))(t)
		w.complete(t, "hello-color-dev") // the rollback completes: 1.0.0 runs, COMPLETED again
		w.reconcile(t)                   // learns the rollback from ECS, and holds the version
		if got := w.runsVersion(t); got != "1.0.0" {
			t.Fatalf("after %s's rollback dev runs %s, want 1.0.0", v, got)
		}
	}
	rec := w.state(t, "dev")
	if !rec.IsHeld("1.1.0") || !rec.IsHeld("1.2.0") || rec.Version != "1.0.0" {
		t.Errorf("record = %s, held %v; want 1.0.0 with 1.1.0 and 1.2.0 held", rec.Version, rec.Held)
	}
	w.env.Proxy.Reset()
	w.reconcile(t)
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("the reconcile changed ECS: %v", ops)
	}
	if got := w.runsVersion(t); got != "1.0.0" {
		t.Errorf("dev runs %s, want 1.0.0: both later versions failed there", got)
	}
	// A person may deploy a held version by hand, with force; that
	// releases its hold, and only its.
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Environment: "dev", Tag: "1.1.0", Force: true})
	if err != nil || row(t, res, "dev").Outcome != deploy.Deployed {
		t.Fatalf("forced deploy of 1.1.0: %v %+v", err, res)
	}
	if rec := w.state(t, "dev"); rec.IsHeld("1.1.0") || !rec.IsHeld("1.2.0") {
		t.Errorf("after the forced deploy held %v, want 1.2.0 alone", rec.Held)
	}
}

// Twenty deliveries of ten versions (each twice) for one environment at
// once, through twenty deployers, one of which dies between its claim and
// its UpdateService: the dead one's claim blocks the environment until it
// expires, deliveries that wait too long fail retryably and are delivered
// again (as Lambda retries them, the dead one's too), and the environment
// ends on the highest version, the record agreeing, with no claim left.
func TestConcurrentDeliveriesWithAHolderThatDies(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	var pushes []event.Push
	for i := range 10 {
		p := w.push(t, fmt.Sprintf("1.%d.0", i+1))
		pushes = append(pushes, p)
		again := p
		again.ID += "-again"
		pushes = append(pushes, again)
	}
	const dies = "ev-1.10.0" // its first delivery claims first, and dies before its update
	dead, kill := context.WithCancel(t.Context())
	var died sync.Once
	w.env.Proxy.Before("RegisterTaskDefinition", func(c awstest.Call) {
		if strings.Contains(string(c.Request), `"`+dies+`"`) {
			died.Do(kill)
		}
	})
	// A dead process gives nothing up: its release never arrives.
	var deadOwner string
	var ownerMu sync.Mutex
	claimed := make(chan struct{})
	w.env.Proxy.Intercept("UpdateItem", func(ctx context.Context, in awstest.Intercepted) (*awstest.Response, error) {
		owner := claimOwner(in.Call.Request)
		ownerMu.Lock()
		if deadOwner == "" && dead.Err() == nil && strings.HasPrefix(owner, dies+"/") {
			deadOwner = owner
			defer close(claimed)
		}
		gone := dead.Err() != nil && owner == deadOwner
		ownerMu.Unlock()
		if gone {
			return nil, errors.New("the process is gone")
		}
		return in.Forward(ctx)
	})
	const ttl = 3 * time.Second
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lost []string
	order := []event.Push{pushes[len(pushes)-2]} // ev-1.10.0 first
	order = append(order, pushes[:len(pushes)-2]...)
	order = append(order, pushes[len(pushes)-1])
	for i, p := range order {
		if i == 1 {
			<-claimed // the others start once the one that dies holds the environment
		}
		wg.Go(func() {
			ctx := t.Context()
			if p.ID == dies {
				ctx = dead
			}
			for attempt := 1; ; attempt++ {
				d := newDeployer(w.env, nil)
				d.ClaimTTL, d.ClaimWait = ttl, 2*ttl
				_, err := d.Push(ctx, p)
				if ctx == dead && dead.Err() != nil {
					ctx = t.Context() // Lambda delivers the event of the dead invocation again
					continue
				}
				if err == nil {
					return
				}
				if !target.Retryable(err) || attempt == 3 {
					mu.Lock()
					lost = append(lost, fmt.Sprintf("%s (delivery %d of push %d): %v", p.ID, attempt, i, err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if died.Do(func() {}); dead.Err() == nil {
		t.Fatalf("the delivery of %s never registered: the test killed nothing", dies)
	}
	if len(lost) > 0 {
		t.Errorf("deliveries failed after Lambda's retries: %v", lost)
	}
	if got := w.runsVersion(t); got != "1.10.0" {
		t.Errorf("dev runs %s, want 1.10.0", got)
	}
	rec := w.state(t, "dev")
	running := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t)
	if rec.Version != "1.10.0" || !localaws.SameTaskDefinition(rec.Services["hello-color-dev"].TaskDefinition, running) {
		t.Errorf("record says %s on %s; dev runs %s", rec.Version, rec.Services["hello-color-dev"].TaskDefinition, running)
	}
	if rec.Claim != nil {
		t.Errorf("a claim outlived the deliveries: %+v (now %s)", rec.Claim, time.Now().UTC())
	}
}

// A record the SSM store of an earlier release wrote is imported on first
// read, with its parameter history, and decides as it did: a version it
// holds is not deployed.
func TestARecordOfAnEarlierReleaseDecides(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	running := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t)
	for i, v := range []string{"1.2.0", "1.3.0"} {
		rec := state.Record{Repository: "hello-color", Environment: "dev", Version: v, Tag: v, Digest: fmt.Sprintf("sha256:%064d", i),
			Services: map[string]state.Service{"hello-color-dev": {Cluster: cluster, TaskDefinition: running, Rollout: state.Completed}},
			Rollout:  state.Completed, Time: time.Now().Add(time.Duration(i-5) * time.Minute).UTC()}
		if v == "1.3.0" {
			rec.Version, rec.Tag, rec.Held = "1.2.0", "1.2.0", []string{"1.3.0"} // 1.3.0 was rolled back
		}
		b, _ := json.Marshal(rec)
		awstest.Must(w.env.Local.PutParameter(t.Context(), "/ecrdeploy/state/hello-color/dev", string(b)))(t)
	}
	res := w.deliver(t, w.push(t, "1.3.0"))
	if r := row(t, res, "dev"); r.Outcome != deploy.Skipped || r.Reason != policy.Held {
		t.Errorf("1.3.0 = %+v, want skipped held, as the imported record says", r)
	}
	hist, err := w.manual(t, request.Request{Action: "history", Repository: "hello-color", Environment: "dev"})
	if err != nil || hist.Error != "" {
		t.Fatalf("history: %v %s", err, hist.Error)
	}
	var changes []int64
	for _, h := range hist.History {
		changes = append(changes, h.Change)
	}
	if diff := cmp.Diff([]int64{2, 1}, changes); diff != "" {
		t.Errorf("history's changes (-want +got):\n%s", diff)
	}
}

// claimOwner is the owner a claim or release on the state table names.
func claimOwner(request []byte) string {
	var in struct {
		Values map[string]struct{ S string } `json:"ExpressionAttributeValues"`
	}
	_ = json.Unmarshal(request, &in)
	return in.Values[":owner"].S
}
