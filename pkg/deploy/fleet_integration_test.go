package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// The tests of this file reconcile a fleet: repositories whose three push
// environments run in two clusters, dev and staging in apps (two dozen
// services, so that describing them takes several calls) and production
// in apps-prod.

const fleetSize = 12

// fleetClusters are the clusters of a fleet's environments.
var fleetClusters = map[string]string{"dev": "apps", "staging": "apps", "production": "apps-prod"}

// fleetWorld is one test's local AWS with a fleet in it.
type fleetWorld struct {
	env   *awstest.Env
	d     *deploy.Deployer
	repos []string
}

// newFleet seeds moto with the fleet: per repository an ECR repository
// with 1.0.0, and per environment a service running a task definition
// family of its own; then it reconciles once, which deploys 1.0.0
// everywhere.
func newFleet(t *testing.T) *fleetWorld {
	t.Helper()
	env := awstest.New(t)
	for _, c := range []string{"apps", "apps-prod"} {
		awstest.Must(env.Local.CreateCluster(t.Context(), c))(t)
	}
	in := awstest.Must(localaws.ReadTaskDefinitionFile(fargateFixture))(t)
	f := &fleetWorld{env: env, d: newDeployer(env, nil)}
	for i := range fleetSize {
		repo := fmt.Sprintf("app-%02d", i)
		f.repos = append(f.repos, repo)
		if err := seedFleetRepository(t.Context(), env.Local, in, repo); err != nil {
			t.Fatal(err)
		}
	}
	res := f.reconcile(t)
	for k, got := range repoOutcomes(res) {
		if got != "deployed" {
			t.Fatalf("first reconcile: %s %s, want deployed", k, got)
		}
	}
	if n := len(repoOutcomes(res)); n != fleetSize*len(fleetClusters) {
		t.Fatalf("first reconcile reached %d environments, want %d", n, fleetSize*len(fleetClusters))
	}
	return f
}

// seedFleetRepository seeds one repository of the fleet.
func seedFleetRepository(ctx context.Context, local *localaws.Client, in *ecs.RegisterTaskDefinitionInput, repo string) error {
	if _, err := local.CreateRepository(ctx, repo); err != nil {
		return err
	}
	if _, err := local.PutImage(ctx, repo, "1.0.0", localaws.ImageManifest(repo+" 1.0.0")); err != nil {
		return err
	}
	for name, c := range fleetClusters {
		td := taskdef.Clone(in)
		td.Family = aws.String(repo + "-" + name)
		arn, err := local.RegisterTaskDefinition(ctx, td)
		if err != nil {
			return err
		}
		if _, err := local.CreateService(ctx, c, repo+"-"+name, arn, 1); err != nil {
			return err
		}
	}
	_, err := local.PutParameter(ctx, "/ecrdeploy/config/"+repo, fmt.Sprintf(`{"environments":{
		"dev":        {"cluster":"apps","services":["%[1]s-dev"],"container":"web","prereleases":true},
		"staging":    {"cluster":"apps","services":["%[1]s-staging"],"container":"web","versions":"^1.0.0"},
		"production": {"cluster":"apps-prod","services":["%[1]s-production"],"container":"web","versions":"^1.0.0"}}}`, repo))
	return err
}

func (f *fleetWorld) reconcile(t *testing.T) deploy.Result {
	t.Helper()
	res, err := f.d.Reconcile(t.Context(), event.Schedule{ID: "sched", Time: time.Now()})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if len(res.NotReached) > 0 {
		t.Fatalf("Reconcile did not reach %v", res.NotReached)
	}
	return res
}

// push puts an image in ECR and delivers its push event when deliver is
// set (else the event is lost).
func (f *fleetWorld) push(t *testing.T, repo, tag string, deliver bool) {
	t.Helper()
	digest := awstest.Must(f.env.Local.PutImage(t.Context(), repo, tag, localaws.ImageManifest(repo+" "+tag)))(t)
	if !deliver {
		return
	}
	res, err := f.d.Push(t.Context(), event.Push{
		ID: "ev-" + repo + "-" + tag, Time: time.Now().UTC(), Account: localaws.AccountID, Region: localaws.Region,
		Repository: repo, Tag: tag, Digest: digest,
		ManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
		ArtifactMediaType: "application/vnd.docker.container.image.v1+json",
	})
	if err != nil || res.Error != "" {
		t.Fatalf("push %s:%s: %v %s", repo, tag, err, res.Error)
	}
}

// state reads an environment's record from moto directly.
func (f *fleetWorld) state(t *testing.T, repo, env string) state.Record {
	t.Helper()
	raw, ok := awstest.Must2(f.env.Local.StateRecord(t.Context(), f.env.Table, repo, env))(t)
	if !ok {
		t.Fatalf("no state record for %s/%s", repo, env)
	}
	var rec state.Record
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// allUnchanged is every environment of the fleet unchanged, but those of
// except, which say what they are.
func (f *fleetWorld) allUnchanged(except map[string]string) map[string]string {
	want := map[string]string{}
	for _, repo := range f.repos {
		for name := range fleetClusters {
			want[repo+"/"+name] = "unchanged"
		}
	}
	for k, v := range except {
		want[k] = v
	}
	return want
}

// ecsRequest is what this file reads of the ECS calls' requests.
type ecsRequest struct {
	Cluster        string   `json:"cluster"`
	Services       []string `json:"services"`
	Service        string   `json:"service"`
	TaskDefinition string   `json:"taskDefinition"`
}

func requestOf(t *testing.T, c awstest.Call) ecsRequest {
	t.Helper()
	var r ecsRequest
	if err := json.Unmarshal(c.Request, &r); err != nil {
		t.Fatalf("%s request %s: %v", c.Operation, c.Request, err)
	}
	return r
}

// calls returns the calls of one operation the proxy saw.
func calls(env *awstest.Env, op string) []awstest.Call {
	var out []awstest.Call
	for _, c := range env.Proxy.Log() {
		if c.Operation == op {
			out = append(out, c)
		}
	}
	return out
}

func ceilTenth(n int) int { return (n + 9) / 10 }

// A reconcile of a fleet that is in sync reads the records ten a call
// across repositories, describes the services ten a call per cluster, and
// does nothing else: no task definition described, nothing changed.
func TestFleetReconcileInSyncReadsInBatchesAndChangesNothing(t *testing.T) {
	f := newFleet(t)
	f.env.Proxy.Reset()
	res := f.reconcile(t)
	t.Logf("reconcile of %d environments in sync: %v", fleetSize*len(fleetClusters), f.env.Proxy.Calls())
	if diff := cmp.Diff(f.allUnchanged(nil), repoOutcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if ops := mutating(f.env); len(ops) != 0 {
		t.Errorf("mutating calls %v, want none", ops)
	}
	if n := f.env.Proxy.Count("DescribeTaskDefinition"); n != 0 {
		t.Errorf("DescribeTaskDefinition calls = %d, want none", n)
	}
	envs := fleetSize * len(fleetClusters)
	if n, want := f.env.Proxy.Count("dynamodb:BatchGetItem"), (envs+state.BatchGetLimit-1)/state.BatchGetLimit; n != want {
		t.Errorf("BatchGetItem calls = %d, want %d for %d records", n, want, envs)
	}
	if n := f.env.Proxy.Count("ecr:DescribeImages"); n != fleetSize {
		t.Errorf("DescribeImages calls = %d, want one per repository (%d)", n, fleetSize)
	}

	perCluster := map[string]int{} // cluster -> services in it
	for _, c := range fleetClusters {
		perCluster[c] += fleetSize
	}
	got, want := map[string]int{}, map[string]int{}
	for c, n := range perCluster {
		want[c] = ceilTenth(n)
	}
	for _, c := range calls(f.env, "DescribeServices") {
		r := requestOf(t, c)
		got[r.Cluster]++
		if len(r.Services) > 10 {
			t.Errorf("DescribeServices in %s names %d services, more than ten", r.Cluster, len(r.Services))
		}
		for _, svc := range r.Services {
			name := svc[strings.LastIndexByte(svc, '-')+1:]
			if fleetClusters[name] != r.Cluster {
				t.Errorf("DescribeServices in %s names %s, a service of %s", r.Cluster, svc, fleetClusters[name])
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeServices calls per cluster (-want +got):\n%s", diff)
	}
}

// In a fleet, the environments behind are deployed, and only they: an
// environment ahead of its range is left alone, an unreadable record fails
// its environment only, and the environments in sync cost no task
// definition's description.
func TestFleetReconcileDeploysOnlyWhatIsBehind(t *testing.T) {
	f := newFleet(t)
	f.push(t, "app-00", "1.1.0", false) // every environment of app-00 behind
	awstest.Must(0, f.env.Local.PutStateRecord(t.Context(), f.env.Table, "app-01", "staging", "{not a record"))(t)
	f.push(t, "app-02", "2.0.0", false)
	if res, err := f.d.Manual(t.Context(), request.Request{Action: "deploy", Repository: "app-02", Tag: "2.0.0", Environment: "staging", Force: true}, "req"); err != nil || res.Error != "" {
		t.Fatalf("forced deploy of 2.0.0 to app-02 staging: %v %s", err, res.Error)
	}
	f.env.Proxy.Reset()
	res := f.reconcile(t)
	behind := map[string]string{
		"app-00/dev": "deployed", "app-00/staging": "deployed", "app-00/production": "deployed",
		"app-02/dev": "deployed", // dev's range takes 2.0.0
	}
	want := f.allUnchanged(behind)
	want["app-01/staging"] = "failed"
	want["app-02/staging"] = "skipped older-than-current" // ahead of its range: left alone
	if diff := cmp.Diff(want, repoOutcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	for _, r := range res.Repositories {
		for _, row := range r.Results {
			if r.Repository == "app-01" && row.Environment == "staging" && !strings.Contains(row.Error, "not a state record") {
				t.Errorf("app-01 staging error %q, want it to say the record is unreadable", row.Error)
			}
		}
	}
	// What the deploy path reads and changes is of the environments behind.
	isBehind := func(service string) bool {
		name := ecsref.ServiceName(service) // repository-environment
		i := strings.LastIndexByte(name, '-')
		_, ok := behind[name[:max(i, 0)]+"/"+name[i+1:]]
		return ok
	}
	for _, op := range []string{"DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService"} {
		var touched []string
		for _, c := range calls(f.env, op) {
			r := requestOf(t, c)
			what := r.Service
			if op == "DescribeTaskDefinition" {
				what = ecsref.Family(r.TaskDefinition)
			}
			if op == "RegisterTaskDefinition" {
				var in struct{ Family string }
				_ = json.Unmarshal(c.Request, &in)
				what = in.Family
			}
			if !isBehind(what) {
				touched = append(touched, what)
			}
		}
		if len(touched) > 0 {
			t.Errorf("%s of environments not behind: %v", op, touched)
		}
	}
	if rec := f.state(t, "app-02", "staging"); rec.Version != "2.0.0" {
		t.Errorf("app-02 staging records %s, want 2.0.0 still", rec.Version)
	}
	for _, env := range []string{"dev", "staging", "production"} {
		if rec := f.state(t, "app-00", env); rec.Version != "1.1.0" || rec.Cause != state.CauseReconcile {
			t.Errorf("app-00 %s records %s by %s, want 1.1.0 by reconcile", env, rec.Version, rec.Cause)
		}
	}
}

// A record whose rollout ECS has since ended is repaired by the reconcile,
// without deploying anything: a completed rollout is recorded as
// completed, and a rollback as ECS left it, with the version that failed
// held and not deployed again.
func TestFleetReconcileRepairsWhatECSEnded(t *testing.T) {
	f := newFleet(t)
	awstest.Must(f.env.ECSModel.Complete("apps", "app-04-dev"))(t)
	// app-05 staging: 1.0.0 completed, then 1.1.0 deployed and rolled
	// back by the circuit breaker; neither event arrives.
	awstest.Must(f.env.ECSModel.Complete("apps", "app-05-staging"))(t)
	f.push(t, "app-05", "1.1.0", true)
	good := f.state(t, "app-05", "staging").Services["app-05-staging"].PreviousTaskDefinition
	awstest.Must(f.env.ECSModel.RollBack(t.Context(), "apps", "app-05-staging"))(t)

	f.env.Proxy.Reset()
	res := f.reconcile(t)
	t.Logf("reconcile repairing two records: %v", f.env.Proxy.Calls())
	if diff := cmp.Diff(f.allUnchanged(nil), repoOutcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	ops := mutating(f.env)
	slices.Sort(ops)
	if diff := cmp.Diff([]string{"TransactWriteItems", "TransactWriteItems"}, ops); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
	if n := f.env.Proxy.Count("DescribeTaskDefinition"); n != 0 {
		t.Errorf("DescribeTaskDefinition calls = %d, want none: nothing is deployed", n)
	}
	if rec := f.state(t, "app-04", "dev"); rec.Rollout != state.Completed || rec.LastCompleted != "1.0.0" {
		t.Errorf("app-04 dev: rollout %s, last completed %q; want completed 1.0.0", rec.Rollout, rec.LastCompleted)
	}
	rec := f.state(t, "app-05", "staging")
	if rec.Version != "1.0.0" || !rec.IsHeld("1.1.0") || rec.Failed == nil || rec.Failed.Version != "1.1.0" {
		t.Errorf("app-05 staging: %s, held %v, failed %+v; want 1.0.0 with 1.1.0 failed and held", rec.Version, rec.Held, rec.Failed)
	}
	if td := awstest.Must(f.env.Local.ServiceTaskDefinition(t.Context(), "apps", "app-05-staging"))(t); !ecsref.SameRevision(td, good) {
		t.Errorf("app-05 staging runs %s, want %s (what ECS rolled back to)", td, good)
	}

	// Repaired, the fleet is in sync.
	f.env.Proxy.Reset()
	f.reconcile(t)
	if ops := mutating(f.env); len(ops) != 0 {
		t.Errorf("the reconcile after the repairs made mutating calls %v", ops)
	}
}

// The fleet's records may be minutes old when a repository's turn comes: a
// record another writer changed since (a person's request beside the
// function, say) is not overwritten with a repair of the one read before.
func TestFleetReconcileDoesNotRepairOverANewerRecord(t *testing.T) {
	f := newFleet(t)
	awstest.Must(f.env.ECSModel.Complete("apps", "app-04-dev"))(t)
	const name = "app-04/dev"
	var wrote atomic.Bool
	f.env.Proxy.Before("DescribeImages", func(c awstest.Call) {
		// app-04's turn, after the fleet was read: another writer holds
		// a version there.
		if !strings.Contains(string(c.Request), `"app-04"`) || !wrote.CompareAndSwap(false, true) {
			return
		}
		raw, _, err := f.env.Local.StateRecord(context.Background(), f.env.Table, "app-04", "dev")
		var rec state.Record
		if err == nil {
			err = json.Unmarshal([]byte(raw), &rec)
		}
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			return
		}
		rec.Hold("1.5.0")
		rec.EventID = "another-writer"
		b, _ := json.Marshal(rec)
		if err := f.env.Local.PutStateRecord(context.Background(), f.env.Table, "app-04", "dev", string(b)); err != nil {
			t.Errorf("write %s: %v", name, err)
		}
	})
	res := f.reconcile(t)
	if !wrote.Load() {
		t.Fatal("the other writer did not write")
	}
	if diff := cmp.Diff(f.allUnchanged(nil), repoOutcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	rec := f.state(t, "app-04", "dev")
	if !rec.IsHeld("1.5.0") || rec.Rollout != state.Completed {
		t.Errorf("app-04 dev: held %v, rollout %s; want the other writer's hold kept and the rollout completed", rec.Held, rec.Rollout)
	}
}
