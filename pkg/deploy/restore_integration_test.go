package deploy_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// rememberingState is a state store that also remembers the deployments
// waiting on a restore, as the functions' store does, in memory: what one
// invocation remembers, a later one (another Deployer) reads.
type rememberingState struct {
	deploy.StateStore
	mu      sync.Mutex
	pending map[string]deploy.PendingRestore
}

func remembering(s deploy.StateStore) *rememberingState {
	return &rememberingState{StateStore: s, pending: map[string]deploy.PendingRestore{}}
}

func (r *rememberingState) PutRestore(_ context.Context, p deploy.PendingRestore) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[p.Repository+"/"+p.Environment] = p
	return nil
}

func (r *rememberingState) PendingRestores(context.Context) ([]deploy.PendingRestore, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []deploy.PendingRestore
	for _, p := range r.pending {
		out = append(out, p)
	}
	return out, nil
}

func (r *rememberingState) DeleteRestore(_ context.Context, p deploy.PendingRestore) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := p.Repository + "/" + p.Environment
	if cur, ok := r.pending[k]; ok && cur.Since.Equal(p.Since) && cur.Digest == p.Digest {
		delete(r.pending, k)
	}
	return nil
}

func (r *rememberingState) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// TestRollbackToAnArchivedImageRestoresItAndDeploysOnceActive: a rollback
// that waits restores the archived image it needs, polls ECR while it is
// ACTIVATING, and deploys it once ACTIVE; nothing is registered before.
func TestRollbackToAnArchivedImageRestoresItAndDeploysOnceActive(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	pushes := completedInDev(t, w, "1.1.0", "1.2.0")
	old := pushes["1.1.0"].Digest
	w.env.ECRModel.Archive("hello-color", old)
	w.d.PollInterval, w.d.MaxWait = time.Millisecond, 10*time.Minute

	// ECR finishes the restore on the second look after it was asked for;
	// the rollout completes once the request waits on it.
	var looks atomic.Int32
	var restoredAt atomic.Int64
	w.env.Proxy.Before("DescribeImages", func(awstest.Call) {
		if w.env.ECRModel.Status("hello-color", old) == awstest.ImageActivating && looks.Add(1) == 2 {
			restoredAt.Store(time.Now().UnixNano())
			w.env.ECRModel.FinishRestore("hello-color", old)
		}
	})
	var completed atomic.Bool
	w.d.Progress = func(deploy.Progress) {
		if completed.CompareAndSwap(false, true) {
			if _, err := w.env.ECSModel.Complete(cluster, "hello-color-dev"); err != nil {
				t.Errorf("complete: %v", err)
			}
		}
	}
	w.env.Proxy.Reset()
	res, err := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev", Wait: true})
	if err != nil || res.Error != "" {
		t.Fatalf("rollback: %v %s", err, res.Error)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Deployed || !strings.Contains(r.Image, "1.1.0") {
		t.Errorf("dev = %+v, want 1.1.0 deployed", r)
	}
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("dev runs %s, want 1.1.0", got)
	}
	if n := w.env.Proxy.Count("UpdateImageStorageClass"); n != 1 {
		t.Errorf("UpdateImageStorageClass calls = %d, want 1", n)
	}
	if !strings.Contains(string(firstCall(w.env, "UpdateImageStorageClass").Request), `"targetStorageClass":"STANDARD"`) {
		t.Errorf("restore request %s, want targetStorageClass STANDARD", firstCall(w.env, "UpdateImageStorageClass").Request)
	}
	// No service moves until ECR said ACTIVE (the rollback reuses 1.1.0's
	// revision: nothing is registered).
	if upd := firstCall(w.env, "UpdateService"); upd.Start.IsZero() || upd.Start.UnixNano() < restoredAt.Load() {
		t.Errorf("updated at %s, before the image was ACTIVE (%s)", upd.Start, time.Unix(0, restoredAt.Load()))
	}
	if rec := w.state(t, "dev"); !rec.IsHeld("1.2.0") {
		t.Errorf("dev holds %v, want 1.2.0 held by the rollback", rec.Held)
	}
}

// TestARestoreThatOutlastsTheInvocationIsResumed: a rollback that does not
// wait asks ECR to restore the image and answers that it waits
// (restoring, nothing done); the deployment is remembered, and a later
// invocation carries it out once ECR says the image is ACTIVE, once.
func TestARestoreThatOutlastsTheInvocationIsResumed(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	pushes := completedInDev(t, w, "1.1.0", "1.2.0")
	old := pushes["1.1.0"].Digest
	w.env.ECRModel.Archive("hello-color", old)
	store := remembering(w.d.State)
	w.d.State = store
	w.env.Proxy.Reset()

	res := w.rollback(t)
	r := row(t, res, "dev")
	if r.Outcome != deploy.Skipped || r.Reason != policy.Restoring || !strings.Contains(r.Detail, old) ||
		!strings.Contains(r.Detail, "deployed once ECR reports it ACTIVE") {
		t.Errorf("dev = %+v, want skipped restoring, naming %s", r, old)
	}
	if v := deploy.Judgement(res, nil); v.ExitCode != 3 || !strings.Contains(v.Message, "restoring") {
		t.Errorf("judged %+v, want nothing done (exit 3), restoring", v)
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("rollback changed ECS while the image was archived: %v", ops)
	}
	if store.count() != 1 || w.env.ECRModel.Status("hello-color", old) != awstest.ImageActivating {
		t.Fatalf("remembered %d deployments, image %s; want 1, ACTIVATING", store.count(), w.env.ECRModel.Status("hello-color", old))
	}

	// A later invocation (another function instance): still restoring,
	// nothing happens.
	later := newDeployer(w.env, nil)
	later.State = store
	w.env.Proxy.Reset()
	if res, err := later.ResumeRestores(t.Context(), ""); err != nil || len(res.Repositories) != 0 || len(ecsChanges(w.env)) != 0 {
		t.Errorf("resume while ACTIVATING: %+v %v, ECS %v; want nothing", res, err, ecsChanges(w.env))
	}

	// ECR restored it, and says so: the rollback is carried out.
	w.env.ECRModel.FinishRestore("hello-color", old)
	res, err := later.ImageRestored(t.Context(), event.ImageRestored{Account: localaws.AccountID, Region: localaws.Region, Repository: "hello-color", Digest: old})
	if err != nil || len(res.Repositories) != 1 {
		t.Fatalf("resume once ACTIVE: %+v %v", res, err)
	}
	if got := outcomes(res.Repositories[0])["dev"]; got != "deployed" {
		t.Errorf("resumed dev = %q, want deployed", got)
	}
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("dev runs %s, want 1.1.0", got)
	}
	if rec := w.state(t, "dev"); !rec.IsHeld("1.2.0") || rec.Cause != "rollback" {
		t.Errorf("dev record: held %v, trigger %s; want 1.2.0 held by a rollback", rec.Held, rec.Cause)
	}
	// Forgotten once done: a further resume does nothing (a rollback
	// resumed twice would go back twice).
	w.env.Proxy.Reset()
	if res, err := later.ResumeRestores(t.Context(), ""); err != nil || len(res.Repositories) != 0 || store.count() != 0 || len(ecsChanges(w.env)) != 0 {
		t.Errorf("second resume: %+v %v, %d remembered, ECS %v; want nothing", res, err, store.count(), ecsChanges(w.env))
	}
}

// TestManualDeployOfAnArchivedTagWithoutAStoreSaysToAskAgain: without a
// store to remember it in, a deploy of an archived image restores it and
// says to make the request again once it is ACTIVE.
func TestManualDeployOfAnArchivedTagWithoutAStoreSaysToAskAgain(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	p := w.push(t, "1.4.0")
	w.env.ECRModel.Archive("hello-color", p.Digest)
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if r := row(t, res, "production"); r.Reason != policy.Restoring || !strings.Contains(r.Detail, "run the request again once it is ACTIVE") {
		t.Errorf("production = %+v, want restoring, saying to ask again", r)
	}
	if got := w.env.ECRModel.Status("hello-color", p.Digest); got != awstest.ImageActivating {
		t.Errorf("image %s, want ACTIVATING: the deploy asked ECR to restore it", got)
	}
}

// firstCall returns the first call of op the proxy saw.
func firstCall(env *awstest.Env, op string) awstest.Call {
	for _, c := range env.Proxy.Log() {
		if c.Operation == op {
			return c
		}
	}
	return awstest.Call{}
}
