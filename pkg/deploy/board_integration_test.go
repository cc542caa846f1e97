package deploy_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// boardFleetConfig are the documents of the board's fleet: one of
// everything the board shows. Every service is in the cluster apps, but
// partner's, in another account (its role), and ghost's, which does not
// exist.
var boardFleetConfig = map[string]string{
	// dev completes 1.4.0; staging's 1.4.0 is rolled back by the circuit
	// breaker (to 1.3.0, holding 1.4.0); production has no record.
	"hello-color": `{"environments":{
		"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"},
		"staging":{"cluster":"apps","services":["hello-color-staging"],"container":"web","promoteFrom":"dev"},
		"production":{"trigger":"manual","cluster":"apps","services":["hello-color-production"],"container":"web","promoteFrom":"staging"}}}`,
	// dev drifts (someone updates its service); production is frozen.
	"orders": `{"environments":{
		"dev":{"cluster":"apps","services":["orders-dev"],"container":"web"},
		"production":{"trigger":"manual","cluster":"apps","services":["orders-production"],"container":"web","promoteFrom":"dev",
			"freeze":{"calendars":["release-freeze"]}}}}`,
	// dev's blue-green deployment waits for approval (and names the
	// closed calendar too); production's canary bakes 10 %.
	"search": `{"environments":{
		"dev":{"cluster":"apps","services":["search-dev"],"container":"web","freeze":{"calendars":["release-freeze"]},
			"deployment":{"strategy":"blue-green","approval":{"stage":"post-test-traffic-shift","timeoutMinutes":120}}},
		"production":{"trigger":"manual","cluster":"apps","services":["search-production"],"container":"web","promoteFrom":"dev",
			"deployment":{"strategy":"canary","canary":{"percent":10,"bakeMinutes":15}}}}}`,
	// dev's deployment fails without a rollback; perf's record is not a
	// record.
	"payments": `{"environments":{
		"dev":{"cluster":"apps","services":["payments-dev"],"container":"web"},
		"perf":{"cluster":"apps","services":["payments-perf"],"container":"web","promoteFrom":"dev"}}}`,
	// The service the document names does not exist.
	"ghost": `{"environments":{"dev":{"cluster":"apps","services":["ghost-dev"],"container":"web"}}}`,
	// In another account: its record is seeded, its service is there.
	"partner": `{"environments":{"prod":{"cluster":"apps","services":["partner-prod"],"container":"web",
		"roleArn":"arn:aws:iam::111111111111:role/ecrdeploy-target"}}}`,
	// Not a valid document.
	"broken": `{"environments":{"dev":{"cluster":"apps","services":["broken-dev"],"replicas":2}}}`,
}

// boardServices are the services the fleet's documents name that exist.
var boardServices = []string{
	"hello-color-dev", "hello-color-staging", "hello-color-production",
	"orders-dev", "orders-production", "search-dev", "search-production",
	"payments-dev", "payments-perf",
}

// boardFleet is a local AWS with the board's fleet in it and the deployer
// that made it.
type boardFleet struct {
	env *awstest.Env
	d   *deploy.Deployer
	// until is when the release freeze ends.
	until time.Time
}

// newBoardFleet seeds moto with the fleet and drives every environment to
// where boardFleetConfig says it is, through the deployer and the ECS
// model, as pushes, requests and ECS would.
func newBoardFleet(t *testing.T) *boardFleet {
	t.Helper()
	ctx := t.Context()
	env := awstest.New(t)
	f := &boardFleet{env: env, d: newDeployer(env, nil)}
	awstest.Must(env.Local.CreateCluster(ctx, cluster))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile(fargateFixture))(t)
	for _, svc := range boardServices {
		td := taskdef.Clone(in)
		td.Family = aws.String(svc)
		arn := awstest.Must(env.Local.RegisterTaskDefinition(ctx, td))(t)
		awstest.Must(env.Local.CreateService(ctx, cluster, svc, arn, 1))(t)
	}
	for _, repo := range []string{"hello-color", "orders", "search", "payments"} {
		awstest.Must(env.Local.CreateRepository(ctx, repo))(t)
	}
	for repo, doc := range boardFleetConfig {
		awstest.Must(env.Local.PutParameter(ctx, "/ecrdeploy/config/"+repo, doc))(t)
	}
	env.Calendars.Create(releaseFreeze)

	// hello-color: 1.3.0 completes in dev and staging, then 1.4.0 is
	// pushed (the push records 1.3.0's completion first); dev completes
	// it, the circuit breaker rolls staging back.
	f.push(t, "hello-color", "1.3.0")
	f.complete(t, "hello-color-dev", "hello-color-staging")
	f.push(t, "hello-color", "1.4.0")
	f.complete(t, "hello-color-dev")
	awstest.Must(env.ECSModel.RollBack(ctx, cluster, "hello-color-staging"))(t)

	// orders: dev completes 1.4.0, then someone points its service at a
	// revision of their own; production gets 1.4.0 by request.
	f.push(t, "orders", "1.4.0")
	f.manual(t, "orders", "1.4.0", "production")
	f.complete(t, "orders-dev", "orders-production")
	td := taskdef.Clone(in)
	td.Family = aws.String("orders-dev")
	hand := awstest.Must(env.Local.RegisterTaskDefinition(ctx, td))(t)
	if _, err := env.ECS().UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("orders-dev"), TaskDefinition: aws.String(hand)}); err != nil {
		t.Fatal(err)
	}
	awstest.Must(env.ECSModel.Complete(cluster, "orders-dev"))(t)

	// search: dev's blue-green deployment pauses for approval after its
	// test traffic; production's canary shifts its 10 % and bakes.
	f.push(t, "search", "1.4.0")
	if r := awstest.Must(env.ECSModel.Progress(ctx, cluster, "search-dev"))(t); r.Stage != awstest.StagePostTestTrafficShift {
		t.Fatalf("search-dev is at %s, want %s", r.Stage, awstest.StagePostTestTrafficShift)
	}
	f.manual(t, "search", "1.4.0", "production")
	if r := awstest.Must(env.ECSModel.Progress(ctx, cluster, "search-production"))(t); r.Stage != awstest.StageProductionTrafficShift {
		t.Fatalf("search-production is at %s, want %s", r.Stage, awstest.StageProductionTrafficShift)
	}

	// payments: dev's deployment fails; perf's record is garbage.
	f.push(t, "payments", "1.4.0")
	awstest.Must(env.ECSModel.Fail(cluster, "payments-dev", ""))(t)
	awstest.Must(0, env.Local.PutStateRecord(ctx, env.Table, "payments", "perf", `{"version": `))(t)

	// partner: what an earlier deployment in the other account recorded.
	rec, err := json.Marshal(state.Record{
		Repository: "partner", Environment: "prod", Version: "2.0.0", Tag: "2.0.0", Digest: "sha256:" + strings.Repeat("ab", 32),
		Cause: state.CausePush, Time: time.Now().Add(-time.Hour).UTC(), Rollout: state.Completed,
		Services: map[string]state.Service{"partner-prod": {Cluster: cluster, TaskDefinition: "arn:aws:ecs:us-east-1:111111111111:task-definition/partner-prod:7",
			DeploymentID: "ecs-svc/1234567890123456789", Rollout: state.Completed}},
	})
	if err != nil {
		t.Fatal(err)
	}
	awstest.Must(0, env.Local.PutStateRecord(ctx, env.Table, "partner", "prod", string(rec)))(t)

	// The release freeze closes last: nothing above deploys through it.
	f.until = time.Now().UTC().Add(30 * time.Hour).Truncate(time.Second)
	env.Calendars.Close(releaseFreeze, time.Now().Add(-time.Minute), f.until)
	return f
}

// push pushes repository:tag and delivers its push event.
func (f *boardFleet) push(t *testing.T, repo, tag string) {
	t.Helper()
	digest := awstest.Must(f.env.Local.PutImage(t.Context(), repo, tag, localaws.ImageManifest(repo+" "+tag)))(t)
	res, err := f.d.Push(t.Context(), event.Push{
		ID: "ev-" + repo + "-" + tag, Time: time.Now().UTC(), Account: localaws.AccountID, Region: localaws.Region,
		Repository: repo, Tag: tag, Digest: digest,
		ManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
		ArtifactMediaType: "application/vnd.docker.container.image.v1+json",
	})
	if err != nil || res.Error != "" {
		t.Fatalf("push %s:%s: %v %s", repo, tag, err, res.Error)
	}
	for _, r := range res.Results {
		if r.Outcome == deploy.Failed {
			t.Fatalf("push %s:%s: %s failed: %s", repo, tag, r.Environment, r.Error)
		}
	}
}

// manual deploys repository:tag to environment by request.
func (f *boardFleet) manual(t *testing.T, repo, tag, environment string) {
	t.Helper()
	res, err := f.d.Manual(t.Context(), request.Request{Action: request.Deploy, Repository: repo, Tag: tag, Environment: environment}, "req-"+repo)
	if err != nil || res.Error != "" || len(res.Results) != 1 || res.Results[0].Outcome != deploy.Deployed {
		t.Fatalf("deploy %s:%s to %s: %+v, %v", repo, tag, environment, res, err)
	}
}

// complete has ECS complete the rollouts of services.
func (f *boardFleet) complete(t *testing.T, services ...string) {
	t.Helper()
	for _, svc := range services {
		awstest.Must(f.env.ECSModel.Complete(cluster, svc))(t)
	}
}

// cellOf returns the cell of repository/environment in a grid.
func cellOf(t *testing.T, g board.Grid, repo, env string) board.Cell {
	t.Helper()
	for _, row := range g.Repositories {
		if row.Repository == repo {
			if c, ok := row.Cell(env); ok {
				return c
			}
		}
	}
	t.Fatalf("no cell %s/%s on the board", repo, env)
	return board.Cell{}
}

// states is every cell's state, "repository/environment": "state", and
// every repository's error, "repository": "error: ...".
func states(g board.Grid) map[string]string {
	out := map[string]string{}
	for _, row := range g.Repositories {
		if row.Error != "" {
			out[row.Repository] = "error: " + row.Error
		}
		for _, c := range row.Cells {
			out[row.Repository+"/"+c.Name] = string(c.State)
		}
	}
	return out
}

// TestBoardOfASeededFleet reads the board of a fleet with one of
// everything, as the board function does (its own credentials, no role),
// and checks each cell against what ECS and the records say; the read
// writes nothing (the records ECS has moved on from are shown as ECS says,
// and stay as they were), and is batched: one listing, one BatchGetItem,
// the services ten a call, the calendar once, the service deployments in
// one call.
func TestBoardOfASeededFleet(t *testing.T) {
	f := newBoardFleet(t)
	ctx := t.Context()
	stagingBefore, _ := awstest.Must2(f.env.Local.StateRecord(ctx, f.env.Table, "hello-color", "staging"))(t)
	f.env.Proxy.Reset()

	b, err := f.d.ReadBoard(ctx, deploy.BoardOptions{OwnCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	g := board.Layout(b, time.Now())
	want := map[string]string{
		"hello-color/dev": "completed", "hello-color/staging": "failed", "hello-color/production": "no-record",
		"orders/dev": "drift", "orders/production": "frozen",
		"search/dev": "awaiting-approval", "search/production": "baking",
		"payments/dev": "failed", "payments/perf": "unknown",
		"ghost/dev":    "unknown",
		"partner/prod": "completed",
		"broken":       "error: config /ecrdeploy/config/broken: environments.dev.replicas: unknown field",
	}
	if diff := cmp.Diff(want, states(g)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if want := []string{"dev", "perf", "staging", "production", "prod"}; !slices.Equal(g.Environments, want) {
		t.Errorf("columns %q, want %q", g.Environments, want)
	}

	// Rolled back by the circuit breaker, with no event: the board says
	// what ECS says, and runs what it went back to.
	staging := cellOf(t, g, "hello-color", "staging")
	if staging.Version != "1.3.0" || staging.Failed == nil || staging.Failed.Version != "1.4.0" || !slices.Equal(staging.Held, []string{"1.4.0"}) ||
		staging.DeployedBy != state.CauseECS {
		t.Errorf("hello-color/staging: %+v, want 1.3.0 running, 1.4.0 failed and held", staging)
	}
	if dev := cellOf(t, g, "hello-color", "dev"); dev.Version != "1.4.0" || dev.Rollout != state.Completed || dev.DeployedBy != state.CausePush ||
		dev.DeployedAt == nil || dev.AgeSeconds == nil || !strings.HasPrefix(dev.Digest, "sha256:") {
		t.Errorf("hello-color/dev: %+v", dev)
	}
	if prod := cellOf(t, g, "hello-color", "production"); prod.Recorded || prod.Error != "" || prod.PromoteFrom != "staging" {
		t.Errorf("hello-color/production: %+v, want no record", prod)
	}

	drift := cellOf(t, g, "orders", "dev")
	if len(drift.Drift) != 1 || drift.Drift[0].Service != "orders-dev" || drift.Drift[0].Recorded != "orders-dev:2" || drift.Drift[0].Running != "orders-dev:3" {
		t.Errorf("orders/dev drift %+v, want orders-dev running orders-dev:3, recorded orders-dev:2", drift.Drift)
	}
	frozen := cellOf(t, g, "orders", "production")
	if frozen.Freeze == nil || !slices.Equal(frozen.Freeze.Calendars, []string{"release-freeze"}) || frozen.Freeze.Until == nil || !frozen.Freeze.Until.Equal(f.until) ||
		frozen.Version != "1.4.0" || frozen.Rollout != state.Completed {
		t.Errorf("orders/production: %+v, freeze %+v; want 1.4.0 completed, frozen by release-freeze until %s", frozen, frozen.Freeze, f.until)
	}

	approval := cellOf(t, g, "search", "dev")
	if a := approval.Approval; a == nil || a.Version != "1.4.0" || a.Stage != "post-test-traffic-shift" || a.Since == nil || a.Expires == nil ||
		a.Expires.Sub(*a.Since) != 2*time.Hour {
		t.Errorf("search/dev approval %+v, want 1.4.0 waiting at post-test-traffic-shift for 2 hours", a)
	}
	if approval.Approve != "ecrdeploy approve search --env dev" || approval.Freeze == nil {
		t.Errorf("search/dev: approve %q, freeze %+v", approval.Approve, approval.Freeze)
	}
	if p := approval.Progress; p == nil || p.Strategy != "blue-green" || p.Stage != "POST_TEST_TRAFFIC_SHIFT" || p.TrafficPercent == nil || *p.TrafficPercent != 0 || p.Baking {
		t.Errorf("search/dev progress %+v", p)
	}
	canary := cellOf(t, g, "search", "production")
	if p := canary.Progress; p == nil || p.Strategy != "canary" || p.Stage != "PRODUCTION_TRAFFIC_SHIFT" || p.TrafficPercent == nil || *p.TrafficPercent != 10 ||
		!p.Baking || p.BakeEnds == nil || p.BakeEnds.Before(time.Now().Add(14*time.Minute)) || p.BakeEnds.After(time.Now().Add(15*time.Minute)) {
		t.Errorf("search/production progress %+v, want canary 10%% baking for 15 minutes", p)
	}

	failed := cellOf(t, g, "payments", "dev")
	if failed.Version != "1.4.0" || failed.Rollout != state.Failed || failed.Failed == nil || failed.Failed.Reason != awstest.CircuitBreakerFailed ||
		!slices.Equal(failed.Held, []string{"1.4.0"}) {
		t.Errorf("payments/dev: %+v, want 1.4.0 failed by the circuit breaker, held", failed)
	}
	if perf := cellOf(t, g, "payments", "perf"); !strings.Contains(perf.Error, "payments/perf") {
		t.Errorf("payments/perf error %q, want the unreadable record named", perf.Error)
	}
	if ghost := cellOf(t, g, "ghost", "dev"); ghost.Error != "service ghost-dev not found in cluster apps" {
		t.Errorf("ghost/dev error %q", ghost.Error)
	}
	if partner := cellOf(t, g, "partner", "prod"); partner.Version != "2.0.0" || partner.Error != "" || len(partner.Drift) > 0 {
		t.Errorf("partner/prod: %+v, want its record's 2.0.0, undescribed (no role assumed)", partner)
	}

	// Read-only, and batched.
	var mutating []string
	for _, c := range f.env.Proxy.Log() {
		if !c.ReadOnly() {
			mutating = append(mutating, c.Operation)
		}
	}
	if len(mutating) > 0 {
		t.Errorf("the board made mutating calls: %q", mutating)
	}
	wantCalls := map[string]int{
		"GetParametersByPath": 1, "BatchGetItem": 1, "DescribeServices": 1, // the 10 services of apps (ghost's included)
		"GetCalendarState": 1, "DescribeServiceDeployments": 1,
		// orders/dev's recorded deployment, which ECS no longer lists and
		// whose end its record does not know: how it ended is in its
		// service's history.
		"ListServiceDeployments": 1, "DescribeServiceRevisions": 1,
	}
	if diff := cmp.Diff(wantCalls, f.env.Proxy.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if after, _ := awstest.Must2(f.env.Local.StateRecord(ctx, f.env.Table, "hello-color", "staging"))(t); after != stagingBefore {
		t.Errorf("the board changed hello-color/staging's record:\n%s\nwas\n%s", after, stagingBefore)
	}

	// With the roles assumed (the promoter, the CLI), partner is described
	// in its own account, where its cluster is not.
	all, err := f.d.Board(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := cellOf(t, board.Layout(all, time.Now()), "partner", "prod"); got.State != board.Unknown || !strings.Contains(got.Error, "cluster not found") {
		t.Errorf("partner/prod with its role: %s %q, want unknown: cluster not found", got.State, got.Error)
	}
}

// TestBoardUnreadableState: when the state table cannot be read at all,
// every environment says so and the board is still drawn; only a
// configuration that cannot be listed fails the read.
func TestBoardUnreadableState(t *testing.T) {
	env, d := oneOrdersService(t)
	ctx := t.Context()

	env.Proxy.Fail("dynamodb:BatchGetItem", awstest.Always, awstest.AWSError(400, "AccessDeniedException", "not authorized to perform: dynamodb:BatchGetItem"))
	b, err := d.Board(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g := board.Layout(b, time.Now())
	if c := cellOf(t, g, "orders", "dev"); c.State != board.Unknown || !strings.Contains(c.Error, "AccessDeniedException") {
		t.Errorf("orders/dev: %s %q, want unknown: access denied", c.State, c.Error)
	}

	env.Proxy.ClearFaults()
	env.Proxy.Fail("ssm:GetParametersByPath", awstest.Always, awstest.AWSError(400, "AccessDeniedException", "not authorized to perform: ssm:GetParametersByPath"))
	d = newDeployer(env, nil) // a new instance: the listing is not cached
	if _, err := d.Board(ctx); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("Board with the configuration unreadable: %v, want the listing's error", err)
	}
}

// TestBoardRequest: the promoter's board request answers the board laid
// out and, when asked, written as a table or a page.
func TestBoardRequest(t *testing.T) {
	_, d := oneOrdersService(t)
	ctx := t.Context()
	for _, tt := range []struct {
		output, rendered string
	}{
		{"", ""},
		{"json", ""},
		{"table", "1 repository, 1 environment"},
		{"html", "<!DOCTYPE html>"},
	} {
		name := tt.output
		if name == "" {
			name = "no output"
		}
		t.Run(name, func(t *testing.T) {
			res, err := d.Manual(ctx, request.Request{Action: request.Board, Output: tt.output}, "req-board")
			if err != nil || res.Error != "" || res.Board == nil {
				t.Fatalf("board: %+v, %v", res, err)
			}
			if got := states(*res.Board); got["orders/dev"] != "no-record" {
				t.Errorf("states %v", got)
			}
			if tt.rendered == "" && res.Rendered != "" || !strings.Contains(res.Rendered, tt.rendered) {
				t.Errorf("rendered %.80q, want %q", res.Rendered, tt.rendered)
			}
			if k := deploy.Judge(res, nil); k != "" {
				t.Errorf("judged %q, want done", k)
			}
		})
	}
}

// oneOrdersService seeds one repository, orders, with one environment, dev,
// on one service running the Fargate fixture, and returns a deployer of it.
func oneOrdersService(t *testing.T) (*awstest.Env, *deploy.Deployer) {
	t.Helper()
	env := awstest.New(t)
	ctx := t.Context()
	awstest.Must(env.Local.CreateCluster(ctx, cluster))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile(fargateFixture))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(ctx, in))(t)
	awstest.Must(env.Local.CreateService(ctx, cluster, "orders-dev", arn, 1))(t)
	awstest.Must(env.Local.PutParameter(ctx, "/ecrdeploy/config/orders", `{"environments":{"dev":{"cluster":"apps","services":["orders-dev"],"container":"web"}}}`))(t)
	return env, newDeployer(env, nil)
}
