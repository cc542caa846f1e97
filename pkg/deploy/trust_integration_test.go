package deploy_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// completedInDev deploys each version to dev in turn and has its rollout
// complete in ECS (the next look at the service learns it), and returns the
// push events.
func completedInDev(t *testing.T, w *world, versions ...string) map[string]event.Push {
	t.Helper()
	pushes := map[string]event.Push{}
	for _, v := range versions {
		p := w.push(t, v)
		pushes[v] = p
		if got := outcomes(w.deliver(t, p))["dev"]; got != "deployed" {
			t.Fatalf("%s to dev: %s", v, got)
		}
		w.complete(t, "hello-color-dev")
	}
	return pushes
}

func (w *world) rollback(t *testing.T) deploy.Result {
	t.Helper()
	res, err := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	return res
}

// runsVersion is the version the revision dev runs says it is.
func (w *world) runsVersion(t *testing.T) string {
	t.Helper()
	_, tags := w.running(t, "hello-color-dev")
	for _, tg := range tags {
		if aws.ToString(tg.Key) == "ecrdeploy:version" {
			return aws.ToString(tg.Value)
		}
	}
	return ""
}

func TestRollbacksInARowWalkBack(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.0.0", "1.1.0", "1.2.0")
	for _, step := range []struct{ to, held string }{{"1.1.0", "1.2.0"}, {"1.0.0", "1.1.0"}} {
		res := w.rollback(t)
		if res.Error != "" || row(t, res, "dev").Outcome != deploy.Deployed {
			t.Fatalf("rollback to %s: %s %+v", step.to, res.Error, res.Results)
		}
		w.complete(t, "hello-color-dev")
		if got := w.runsVersion(t); got != step.to {
			t.Errorf("after a rollback dev runs %s, want %s", got, step.to)
		}
		if rec := w.state(t, "dev"); rec.Version != step.to || !rec.IsHeld(step.held) {
			t.Errorf("state = %s, held %v; want %s with %s held", rec.Version, rec.Held, step.to, step.held)
		}
	}
	// Nothing is left to go back to: a clear error, nothing changed.
	w.env.Proxy.Reset()
	res := w.rollback(t)
	if !strings.Contains(res.Error, "nothing deployed to go back to") || deploy.Judge(res, nil).ExitCode() != 2 {
		t.Errorf("third rollback: %q (exit %d), want a clear error, exit 2", res.Error, deploy.Judge(res, nil).ExitCode())
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("third rollback changed ECS: %v", ops)
	}
	if got := w.runsVersion(t); got != "1.0.0" {
		t.Errorf("dev runs %s, want 1.0.0", got)
	}
}

func TestAFixDeploysAfterARollbackWhoseRolloutFailed(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.1.0", "1.2.0")
	if res := w.rollback(t); res.Error != "" {
		t.Fatal(res.Error)
	}
	awstest.Must(w.env.ECSModel.Fail(cluster, "hello-color-dev", awstest.CircuitBreakerFailed))(t) // 1.1.0 is bad too
	if got := outcomes(w.deliver(t, w.push(t, "1.1.1")))["dev"]; got != "deployed" {
		t.Errorf("the fix 1.1.1: %s, want deployed (neither 1.2.0 nor 1.1.0 is a floor: both are held)", got)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.1.1" || !rec.IsHeld("1.2.0") {
		t.Errorf("state = %s, held %v; want 1.1.1, 1.2.0 still held", rec.Version, rec.Held)
	}
}

func TestAFixReachesDevByReconcileAfterAFailedRollback(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.1.0", "1.2.0")
	if res := w.rollback(t); res.Error != "" {
		t.Fatal(res.Error)
	}
	awstest.Must(w.env.ECSModel.Fail(cluster, "hello-color-dev", awstest.CircuitBreakerFailed))(t)
	w.push(t, "1.1.1") // its push event is lost
	w.reconcile(t)
	if got := w.runsVersion(t); got != "1.1.1" {
		t.Errorf("after reconcile dev runs %s, want the fix 1.1.1", got)
	}
}

// ecsChanges are the calls that changed ECS: registrations and updates.
// (Bringing a state record up to what ECS says is not a change.)
func ecsChanges(env *awstest.Env) []string {
	var ops []string
	for _, c := range env.Proxy.Log() {
		if c.Operation == "RegisterTaskDefinition" || c.Operation == "UpdateService" {
			ops = append(ops, c.Operation)
		}
	}
	return ops
}

// deleteImage deletes an image from ECR, as a lifecycle rule does.
func (w *world) deleteImage(t *testing.T, digest string) {
	t.Helper()
	out, err := w.env.ECR().BatchDeleteImage(t.Context(), &ecr.BatchDeleteImageInput{
		RepositoryName: aws.String("hello-color"), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	})
	if err != nil || len(out.Failures) > 0 {
		t.Fatalf("delete image %s: %v %+v", digest, err, out)
	}
}

// describeImagesAs rewrites what ECR's DescribeImages answers, image by
// image, as moto does not report everything ECR does.
func (w *world) describeImagesAs(change func(image map[string]any)) {
	w.env.Proxy.Intercept("DescribeImages", func(ctx context.Context, in awstest.Intercepted) (*awstest.Response, error) {
		resp, err := in.Forward(ctx)
		if err != nil || resp.Status != 200 {
			return resp, err
		}
		var out map[string]any
		if json.Unmarshal(resp.Body, &out) != nil {
			return resp, nil
		}
		details, _ := out["imageDetails"].([]any)
		for _, d := range details {
			if m, ok := d.(map[string]any); ok {
				change(m)
			}
		}
		body, _ := json.Marshal(out)
		resp.Body = body
		return resp, nil
	})
}

// TestRollbackAndPromoteOfAnImageThatIsGone: a rollback or promote whose
// image ECR no longer has (deleted, perhaps by a lifecycle rule) fails
// clearly, naming the digest, and changes nothing. (An archived image is
// restored: restore_integration_test.go.)
func TestRollbackAndPromoteOfAnImageThatIsGone(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	pushes := completedInDev(t, w, "1.1.0", "1.2.0")
	gone := pushes["1.1.0"].Digest
	w.deleteImage(t, gone)
	w.env.Proxy.Reset()
	res := w.rollback(t)
	if !strings.Contains(res.Error, gone) || deploy.Judge(res, nil).ExitCode() != 2 {
		t.Errorf("rollback to deleted 1.1.0: %q (exit %d), want a clear error naming %s, exit 2", res.Error, deploy.Judge(res, nil).ExitCode(), gone)
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("rollback changed ECS: %v; nothing may change", ops)
	}
	if got := w.runsVersion(t); got != "1.2.0" {
		t.Errorf("dev runs %s, want 1.2.0 still", got)
	}
	// Promote of dev's image (1.2.0) to production, once it is gone too, is
	// checked the same way.
	w.deleteImage(t, pushes["1.2.0"].Digest)
	w.env.Proxy.Reset()
	pr, err := w.manual(t, request.Request{Action: "promote", Repository: "hello-color", From: "dev", To: "production", Force: true})
	if err != nil || !strings.Contains(pr.Error, pushes["1.2.0"].Digest) || deploy.Judge(pr, nil).ExitCode() != 2 {
		t.Errorf("promote of a deleted image: %v %q, want a clear error naming the digest, exit 2", err, pr.Error)
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("promote changed ECS: %v", ops)
	}
}

func TestARedeliveryRacingARollbackDoesNotUndoIt(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	pushes := completedInDev(t, w, "1.1.0", "1.2.0")
	other := newDeployer(w.env, nil) // another function instance
	// Fires once; not sync.Once, whose second Do would wait for the first:
	// the re-delivery's own PutParameter comes through this hook too.
	var fired atomic.Bool
	w.env.Proxy.Before("TransactWriteItems", func(awstest.Call) {
		if countUpdates(w.env, "hello-color-dev") < 3 || !fired.CompareAndSwap(false, true) {
			return // two deliveries, then the rollback's update, come first
		}
		// The rollback is between UpdateService and its state write.
		p := pushes["1.2.0"]
		p.ID = "ev-1.2.0-redelivered"
		res, err := other.Push(context.WithoutCancel(t.Context()), p)
		if err != nil {
			t.Errorf("re-delivery: %v", err)
		}
		if got := row(t, res, "dev"); got.Outcome == deploy.Deployed {
			t.Errorf("the re-delivery of 1.2.0 deployed during the rollback: %+v", got)
		}
	})
	res := w.rollback(t)
	if res.Error != "" || row(t, res, "dev").Outcome != deploy.Deployed {
		t.Fatalf("rollback: %s %+v", res.Error, res.Results)
	}
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("dev runs %s, want 1.1.0", got)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.1.0" || !rec.IsHeld("1.2.0") {
		t.Errorf("state = %s, held %v; want 1.1.0 with 1.2.0 held", rec.Version, rec.Held)
	}
}

func TestARollbackWhoseStateWriteFailsStaysRolledBack(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.1.0", "1.2.0")
	// The hold is written first; the write after UpdateService fails.
	w.env.Proxy.Before("UpdateService", func(awstest.Call) {
		w.env.Proxy.Fail("TransactWriteItems", awstest.Always, awstest.ServerError(500))
	})
	res, _ := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"}) // fails, retryably
	w.env.Proxy.ClearFaults()
	w.env.Proxy.Before("UpdateService", func(awstest.Call) {})
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, "not recorded") {
		t.Errorf("rollback = %+v, want failed: its state was not recorded", r)
	}
	if rec := w.state(t, "dev"); !rec.IsHeld("1.2.0") {
		t.Fatalf("state holds %v: the hold must be written before the update", rec.Held)
	}
	w.reconcile(t)
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("after reconcile dev runs %s, want 1.1.0: the rolled-back version is held", got)
	}
	if rec := w.state(t, "dev"); !rec.IsHeld("1.2.0") || rec.Version != "1.1.0" {
		t.Errorf("after reconcile: state %s, held %v; want 1.1.0, 1.2.0 held", rec.Version, rec.Held)
	}
}

// A record changed 150 times keeps every change, and a rollback whose
// known-good deployments are none of use still walks back, from the
// history, however long ago the last good one was.
func TestRollbackAfterManyStateWritesFindsTheLastGood(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.1.0", "1.2.0")
	w.d.Reconcile(t.Context(), event.Schedule{ID: "warm"}) // records 1.2.0 as completed
	store := stateStore(w.env)
	rec := w.state(t, "dev")
	rec.Good = nil  // as a record of an earlier release, or one whose known-good list moved on
	for range 150 { // rollout events of an environment with many services add up
		var err error
		if rec, err = store.Put(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := w.d.Manual(t.Context(), request.Request{Action: "history", Repository: "hello-color", Environment: "dev", Limit: request.MaxLimit}, "req-history")
	if err != nil || hist.Error != "" {
		t.Fatalf("history: %v %s", err, hist.Error)
	}
	if n := len(hist.History); n < 150 || hist.History[0].Change != rec.Revision {
		t.Errorf("history has %d changes, newest %d; want all %d", n, hist.History[0].Change, rec.Revision)
	}
	res := w.rollback(t)
	if res.Error != "" || row(t, res, "dev").Outcome != deploy.Deployed {
		t.Fatalf("rollback after 150 writes: %s %+v", res.Error, res.Results)
	}
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("dev runs %s, want 1.1.0", got)
	}
}

func TestReconcileLeavesAForcedDowngrade(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.1.0", "1.2.0")
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.1.0", Environment: "dev", Force: true})
	if err != nil || row(t, res, "dev").Outcome != deploy.Deployed {
		t.Fatalf("forced downgrade: %v %+v", err, res)
	}
	if rec := w.state(t, "dev"); !rec.IsHeld("1.2.0") {
		t.Errorf("state holds %v, want 1.2.0 held by the downgrade", rec.Held)
	}
	w.reconcile(t)
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("after reconcile dev runs %s, want 1.1.0 (the downgrade stands)", got)
	}
}

func TestDigestModeDowngradeWithoutARecordIsRefused(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web","imageRef":"digest"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	// Another instance deployed 1.5.0 by digest; its record is gone.
	w.deliver(t, w.push(t, "1.5.0"))
	if err := w.env.Local.DeleteStateRecord(t.Context(), w.env.Table, "hello-color", "dev"); err != nil {
		t.Fatal(err)
	}
	w.env.Proxy.Reset()
	res := w.deliver(t, w.push(t, "1.4.0"))
	if r := row(t, res, "dev"); r.Outcome != deploy.Skipped || r.Reason != policy.OlderThanCurrent {
		t.Errorf("1.4.0 without a record while 1.5.0 runs by digest: %+v, want skipped older-than-current", r)
	}
}

func TestPushesOnlyFromARegistryAnEnvironmentPullsFrom(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.d.Account = func(context.Context) (string, error) { return localaws.AccountID, nil }
	p := w.push(t, "1.4.0")
	foreign := p
	foreign.ID, foreign.Account = "ev-foreign", "999999999999"
	w.env.Proxy.Reset()
	res := w.deliver(t, foreign)
	for _, env := range []string{"dev", "staging"} {
		if r := row(t, res, env); r.Outcome != deploy.Skipped || r.Reason != policy.ForeignRegistry {
			t.Errorf("%s = %+v, want skipped foreign-registry", env, r)
		}
	}
	if ops := mutating(w.env); len(ops) != 0 {
		t.Errorf("mutating calls %v", ops)
	}
	// Our own registry's push deploys.
	if got := outcomes(w.deliver(t, p))["dev"]; got != "deployed" {
		t.Errorf("own push: dev %s, want deployed", got)
	}
}

func TestAPushOfATagECRDoesNotHaveDeploysNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.d.Account = func(context.Context) (string, error) { return localaws.AccountID, nil }
	p := w.push(t, "1.4.0")
	forged := p
	forged.ID, forged.Tag = "ev-forged", "1.9.0" // ECR has no 1.9.0
	w.env.Proxy.Reset()
	res, err := w.d.Push(t.Context(), forged)
	if err != nil {
		t.Fatalf("a forged push must not be retried: %v", err)
	}
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, "stale or forged") {
		t.Errorf("dev = %+v, want failed: ECR has no such image", r)
	}
	if ops := mutating(w.env); len(ops) != 0 {
		t.Errorf("mutating calls %v", ops)
	}
}

func TestReconcileDeploysNoHelmChart(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.0.0")
	// A Helm chart pushed under a pre-release tag dev would take.
	chart := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":10},"layers":[]}`
	awstest.Must(w.env.Local.PutImage(t.Context(), "hello-color", "1.1.0-chart", []byte(chart)))(t)
	w.reportAsHelmChart("1.1.0-chart")
	res := w.reconcile(t)
	for _, repo := range res.Repositories {
		for _, r := range repo.Results {
			if r.Outcome == deploy.Deployed {
				t.Errorf("reconcile deployed %s to %s: a Helm chart is not an image", repo.Tag, r.Environment)
			}
		}
	}
	if got := w.runsVersion(t); got != "1.0.0" {
		t.Errorf("dev runs %s, want 1.0.0", got)
	}
}

// reportAsHelmChart makes ECR report a tag's image as the Helm chart it
// is: moto does not report artifactMediaType.
func (w *world) reportAsHelmChart(tag string) {
	w.describeImagesAs(func(m map[string]any) {
		tags, _ := m["imageTags"].([]any)
		if slices.Contains(tags, any(tag)) {
			m["imageManifestMediaType"] = "application/vnd.oci.image.manifest.v1+json"
			m["artifactMediaType"] = "application/vnd.cncf.helm.config.v1+json"
		}
	})
}

// A rollback to a known-good version reuses the revision that version ran
// there (rendering gives the same definition): nothing is registered.
func TestARollbackReusesTheKnownGoodRevision(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	completedInDev(t, w, "1.1.0")
	good := w.state(t, "dev").Services["hello-color-dev"].TaskDefinition
	completedInDev(t, w, "1.2.0")
	w.env.Proxy.Reset()
	res := w.rollback(t)
	if r := row(t, res, "dev"); res.Error != "" || r.Outcome != deploy.Deployed || !localaws.SameTaskDefinition(r.TaskDefinition, good) {
		t.Fatalf("rollback: %s %+v, want 1.1.0's revision %s", res.Error, res.Results, good)
	}
	if n := w.env.Proxy.Count("RegisterTaskDefinition"); n != 0 {
		t.Errorf("%d RegisterTaskDefinition calls, want 0: 1.1.0's revision is known", n)
	}
	if got := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t); !localaws.SameTaskDefinition(got, good) {
		t.Errorf("dev runs %s, want %s", got, good)
	}
}

// A push older than the highest version ECR has that the environment
// accepts is superseded: it registers nothing, and the newest push deploys.
func TestAnOlderPushIsSuperseded(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.d.Account = func(context.Context) (string, error) { return localaws.AccountID, nil } // as the function knows it
	older, newer := w.push(t, "1.1.0"), w.push(t, "1.2.0")                                 // a burst: both in ECR before either is delivered
	w.env.Proxy.Reset()
	res := w.deliver(t, older)
	for _, env := range []string{"dev", "staging"} {
		if r := row(t, res, env); r.Outcome != deploy.Skipped || r.Reason != policy.Superseded || !strings.Contains(r.Detail, "1.2.0") {
			t.Errorf("%s = %+v, want skipped superseded by 1.2.0", env, r)
		}
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("a superseded push changed ECS: %v", ops)
	}
	if n := w.env.Proxy.Count("DescribeImages"); n != 1 {
		t.Errorf("%d DescribeImages, want the one that checks the push", n)
	}
	if got := outcomes(w.deliver(t, newer)); got["dev"] != "deployed" || got["staging"] != "deployed" {
		t.Errorf("the newest push: %v, want deployed", got)
	}
}
