package deploy_test

import (
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
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// restoresOf is the store of deployments waiting on a restore that a
// process of the functions has: in the state table of env, through a state
// store of its own (a later invocation in another process reads what an
// earlier one remembered).
func restoresOf(env *awstest.Env) deploy.StoredRestores {
	return deploy.StoredRestores{Store: stateStore(env)}
}

// waitingRestores is how many deployments wait on a restore in env's
// table.
func waitingRestores(t *testing.T, env *awstest.Env) int {
	t.Helper()
	pending, err := restoresOf(env).PendingRestores(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(pending)
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
	w.d.Restores = restoresOf(w.env)
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
	if n := waitingRestores(t, w.env); n != 1 || w.env.ECRModel.Status("hello-color", old) != awstest.ImageActivating {
		t.Fatalf("remembered %d deployments, image %s; want 1, ACTIVATING", n, w.env.ECRModel.Status("hello-color", old))
	}

	// A later invocation (another function instance, in a new process):
	// still restoring, nothing happens.
	later := newDeployer(w.env, nil)
	later.Restores = restoresOf(w.env)
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
	if res, err := later.ResumeRestores(t.Context(), ""); err != nil || len(res.Repositories) != 0 || waitingRestores(t, w.env) != 0 || len(ecsChanges(w.env)) != 0 {
		t.Errorf("second resume: %+v %v, %d remembered, ECS %v; want nothing", res, err, waitingRestores(t, w.env), ecsChanges(w.env))
	}
}

// TestTwoResumersAtOnceDeployOnce: two processes resume the same waiting
// rollback at once (the restore event and the schedule), both having read
// it: one takes it and deploys, the other leaves it; it is forgotten once
// done. A resumer that took it and crashed holds it back only until its
// claim expires: then a later resumer carries it out.
func TestTwoResumersAtOnceDeployOnce(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	pushes := completedInDev(t, w, "1.1.0", "1.2.0")
	old := pushes["1.1.0"].Digest
	w.env.ECRModel.Archive("hello-color", old)
	w.d.Restores = restoresOf(w.env)
	if r := row(t, w.rollback(t), "dev"); r.Reason != policy.Restoring {
		t.Fatalf("rollback = %+v, want restoring", r)
	}
	w.env.ECRModel.FinishRestore("hello-color", old)

	// Both read the waiting deployment before either acts on it.
	var arrived sync.WaitGroup
	var reads atomic.Int32
	arrived.Add(2)
	w.env.Proxy.Before("Query", func(c awstest.Call) {
		if strings.Contains(string(c.Request), "pending#restore") && reads.Add(1) <= 2 {
			arrived.Done()
			arrived.Wait()
		}
	})
	w.env.Proxy.Reset()
	var results [2]deploy.Result
	var errs [2]error
	var wg sync.WaitGroup
	for i := range results {
		d := newDeployer(w.env, nil)
		d.Restores = restoresOf(w.env)
		wg.Go(func() { results[i], errs[i] = d.ResumeRestores(t.Context(), "") })
	}
	wg.Wait()
	deployed := 0
	for i, res := range results {
		if errs[i] != nil {
			t.Errorf("resumer %d: %v", i, errs[i])
		}
		for _, repo := range res.Repositories {
			if outcomes(repo)["dev"] == "deployed" {
				deployed++
			}
		}
	}
	if deployed != 1 || len(results[0].Repositories)+len(results[1].Repositories) != 1 {
		t.Errorf("resumers answered %+v and %+v; want one deployment, by one of them", results[0], results[1])
	}
	if n := w.env.Proxy.Count("UpdateService"); n != 1 {
		t.Errorf("UpdateService calls = %d, want 1", n)
	}
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("dev runs %s, want 1.1.0", got)
	}
	if n := waitingRestores(t, w.env); n != 0 {
		t.Errorf("%d deployments still waiting, want none", n)
	}
}

// TestAResumerThatCrashedHoldsTheRestoreBackUntilItsClaimExpires: a
// resumer that took a waiting deployment and never finished it (its
// process died) keeps others off it only until its claim expires; then the
// next resume carries it out.
func TestAResumerThatCrashedHoldsTheRestoreBackUntilItsClaimExpires(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	pushes := completedInDev(t, w, "1.1.0", "1.2.0")
	old := pushes["1.1.0"].Digest
	w.env.ECRModel.Archive("hello-color", old)
	w.d.Restores = restoresOf(w.env)
	w.rollback(t)
	w.env.ECRModel.FinishRestore("hello-color", old)

	store := restoresOf(w.env)
	pending, err := store.PendingRestores(t.Context())
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	crashedUntil := time.Now().Add(time.Minute)
	if err := store.TakeRestore(t.Context(), pending[0], "crashed", crashedUntil); err != nil {
		t.Fatal(err)
	}
	later := newDeployer(w.env, nil)
	later.Restores = restoresOf(w.env)
	w.env.Proxy.Reset()
	if res, err := later.ResumeRestores(t.Context(), ""); err != nil || len(res.Repositories) != 0 || len(ecsChanges(w.env)) != 0 {
		t.Errorf("resume while another holds it: %+v, %v, ECS %v; want nothing", res, err, ecsChanges(w.env))
	}
	later.Now = func() time.Time { return crashedUntil.Add(time.Second) }
	later.Restores = deploy.StoredRestores{Store: func() *state.Store {
		s := stateStore(w.env)
		s.Now = later.Now
		return s
	}()}
	res, err := later.ResumeRestores(t.Context(), "")
	if err != nil || len(res.Repositories) != 1 || outcomes(res.Repositories[0])["dev"] != "deployed" {
		t.Fatalf("resume after the claim expired: %+v, %v; want dev deployed", res, err)
	}
	if n := waitingRestores(t, w.env); n != 0 {
		t.Errorf("%d deployments still waiting, want none", n)
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
