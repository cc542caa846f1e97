package awstest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// modelWorld is a service "worker" in cluster "prod", seeded directly in
// moto at revision v1, with v2 and v3 registered.
type modelWorld struct {
	env        *awstest.Env
	v1, v2, v3 string
}

func newModelWorld(t *testing.T) modelWorld {
	t.Helper()
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("testdata/taskdef-bridge.json"))(t)
	w := modelWorld{env: env}
	w.v1 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	w.v2 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	w.v3 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(env.Local.CreateService(t.Context(), "prod", "worker", w.v1, 1))(t)
	return w
}

// update points the service at td through the proxy and returns the id of
// the PRIMARY deployment of the answer.
func (w modelWorld) update(t *testing.T, td string) string {
	t.Helper()
	return w.updateTo(t, td, td)
}

// updateTo updates the service to td, which resolves to the ARN want.
func (w modelWorld) updateTo(t *testing.T, td, want string) string {
	t.Helper()
	out, err := w.env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("worker"), TaskDefinition: aws.String(td),
	})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if got := aws.ToString(out.Service.TaskDefinition); got != want {
		t.Errorf("UpdateService answered taskDefinition %s, want %s", got, want)
	}
	for _, d := range out.Service.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	t.Fatalf("UpdateService answered no PRIMARY deployment: %+v", out.Service.Deployments)
	return ""
}

func (w modelWorld) describe(t *testing.T) ecstypes.Service {
	t.Helper()
	out, err := w.env.ECS().DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"worker"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	return out.Services[0]
}

// dep is the part of a Deployment the tests compare.
type dep struct{ id, status, rollout, reason, td string }

func deps(s ecstypes.Service) []dep {
	var out []dep
	for _, d := range s.Deployments {
		out = append(out, dep{aws.ToString(d.Id), aws.ToString(d.Status), string(d.RolloutState), aws.ToString(d.RolloutStateReason), aws.ToString(d.TaskDefinition)})
	}
	return out
}

func sameDeps(t *testing.T, what string, got, want []dep) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: deployments\n got %+v\nwant %+v", what, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: deployment %d\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

func TestECSModelUpdateShowsPrimaryAndActive(t *testing.T) {
	w := newModelWorld(t)
	before := w.describe(t)
	first := aws.ToString(before.Deployments[0].Id)
	sameDeps(t, "seeded", deps(before), []dep{{first, "PRIMARY", "COMPLETED", "ECS deployment " + first + " completed.", w.v1}})

	id := w.update(t, w.v2)
	if id == first {
		t.Fatalf("the update kept deployment id %s", id)
	}
	got := w.describe(t)
	if td := aws.ToString(got.TaskDefinition); td != w.v2 {
		t.Errorf("service taskDefinition = %s, want %s", td, w.v2)
	}
	sameDeps(t, "after update", deps(got), []dep{
		{id, "PRIMARY", "IN_PROGRESS", "ECS deployment " + id + " in progress.", w.v2},
		{first, "ACTIVE", "COMPLETED", "ECS deployment " + first + " completed.", w.v1},
	})
	if got.CreatedAt == nil && got.Deployments[0].CreatedAt == nil {
		t.Error("deployment createdAt missing")
	}

	// A bare family is resolved to the revision's ARN.
	third := w.updateTo(t, "worker", w.v3)
	if d := w.env.ECSModel.Deployments("prod", "worker"); len(d) != 3 || d[0].ID != third || d[0].TaskDefinition != w.v3 || d[1].Status != "ACTIVE" {
		t.Errorf("after a family update, model deployments = %+v", d)
	}
	if n := w.env.Proxy.Count("DescribeServices"); n != 2 {
		t.Errorf("proxy counted %d DescribeServices, want the 2 the test made", n)
	}

	if _, err := w.env.ECSModel.Complete("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	sameDeps(t, "after Complete", deps(w.describe(t)), []dep{{third, "PRIMARY", "COMPLETED", "ECS deployment " + third + " completed.", w.v3}})
}

func TestECSModelRollBack(t *testing.T) {
	w := newModelWorld(t)
	first := aws.ToString(w.describe(t).Deployments[0].Id)
	failing := w.update(t, w.v2)

	if _, err := w.env.ECSModel.RollBack(t.Context(), "prod", "nope"); err == nil {
		t.Error("RollBack of an unknown service succeeded")
	}
	back, err := w.env.ECSModel.RollBack(t.Context(), "prod", "worker")
	if err != nil {
		t.Fatal(err)
	}
	// The circuit breaker goes back to the last COMPLETED deployment
	// itself: the same id, PRIMARY again, IN_PROGRESS.
	if back != first {
		t.Errorf("RollBack made deployment %s PRIMARY, want %s, the one it rolls back to, with its own id", back, first)
	}
	got := w.describe(t)
	if td := aws.ToString(got.TaskDefinition); td != w.v1 {
		t.Errorf("service taskDefinition after rollback = %s, want %s", td, w.v1)
	}
	sameDeps(t, "rolling back", deps(got), []dep{
		{first, "PRIMARY", "IN_PROGRESS", "ECS deployment circuit breaker: rolling back to deploymentId " + first + ".", w.v1},
		{failing, "ACTIVE", "FAILED", awstest.CircuitBreakerFailed, w.v2},
	})
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), "prod", "worker"))(t); !localaws.SameTaskDefinition(td, w.v1) {
		t.Errorf("moto's service runs %s after the rollback, want %s", td, w.v1)
	}
	// While it runs, nothing is COMPLETED: no second rollback.
	if _, err := w.env.ECSModel.RollBack(t.Context(), "prod", "worker"); err == nil {
		t.Error("a second RollBack during the first succeeded: no deployment is COMPLETED to go back to")
	}

	// FAILED and then gone.
	if err := w.env.ECSModel.Drain("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	sameDeps(t, "drained", deps(w.describe(t)), []dep{{first, "PRIMARY", "IN_PROGRESS", "ECS deployment circuit breaker: rolling back to deploymentId " + first + ".", w.v1}})
	if _, err := w.env.ECSModel.Complete("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	sameDeps(t, "rolled back", deps(w.describe(t)), []dep{{first, "PRIMARY", "COMPLETED", "ECS deployment " + first + " completed.", w.v1}})
	if _, err := w.env.ECSModel.RollBack(t.Context(), "prod", "worker"); err == nil {
		t.Error("RollBack of a completed deployment succeeded")
	}
}

// Each phase of a rollback as DescribeServices shows it: first the failed
// deployment still ACTIVE and IN_PROGRESS beside the rollback, then
// FAILED, and once the rollback completes, only the deployment rolled back
// to, under its own id.
func TestECSModelRollBackPhases(t *testing.T) {
	w := newModelWorld(t)
	first := aws.ToString(w.describe(t).Deployments[0].Id)
	failing := w.update(t, w.v2)
	rollingBack := dep{first, "PRIMARY", "IN_PROGRESS", awstest.RollingBackReason(first), w.v1}

	back, err := w.env.ECSModel.StartRollBack(t.Context(), "prod", "worker")
	if err != nil || back != first {
		t.Fatalf("StartRollBack = %s, %v; want %s", back, err, first)
	}
	sameDeps(t, "first seconds", deps(w.describe(t)), []dep{
		rollingBack,
		{failing, "ACTIVE", "IN_PROGRESS", "ECS deployment " + failing + " in progress.", w.v2},
	})
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), "prod", "worker"))(t); !localaws.SameTaskDefinition(td, w.v1) {
		t.Errorf("moto's service runs %s once the rollback started, want %s", td, w.v1)
	}
	list, err := w.env.ECS().ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker")})
	if err != nil || len(list.ServiceDeployments) == 0 || list.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusRollbackInProgress {
		t.Errorf("service deployments once the rollback started: %v %+v, want the newest ROLLBACK_IN_PROGRESS", err, list)
	}

	if back, err := w.env.ECSModel.RollBack(t.Context(), "prod", "worker"); err != nil || back != first {
		t.Fatalf("RollBack after StartRollBack = %s, %v; want %s", back, err, first)
	}
	sameDeps(t, "failed", deps(w.describe(t)), []dep{rollingBack, {failing, "ACTIVE", "FAILED", awstest.CircuitBreakerFailed, w.v2}})

	if _, err := w.env.ECSModel.Complete("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	sameDeps(t, "completed", deps(w.describe(t)), []dep{{first, "PRIMARY", "COMPLETED", "ECS deployment " + first + " completed.", w.v1}})
}

func TestECSModelFailWithoutRollback(t *testing.T) {
	w := newModelWorld(t)
	id := w.update(t, w.v2)
	if got, err := w.env.ECSModel.Fail("prod", "worker", ""); err != nil || got != id {
		t.Fatalf("Fail = %s, %v", got, err)
	}
	d := deps(w.describe(t))[0]
	if d != (dep{id, "PRIMARY", "FAILED", awstest.CircuitBreakerFailed, w.v2}) {
		t.Errorf("after Fail, PRIMARY = %+v", d)
	}
}

func TestECSModelServiceDeployments(t *testing.T) {
	w := newModelWorld(t)
	first := aws.ToString(w.describe(t).Deployments[0].Id)
	failing := w.update(t, w.v2)
	back, err := w.env.ECSModel.RollBack(t.Context(), "prod", "worker")
	if err != nil {
		t.Fatal(err)
	}
	c := w.env.ECS()
	ctx := t.Context()

	list, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ServiceDeployments) != 2 {
		t.Fatalf("ListServiceDeployments = %+v, want the update's and the seeded one's", list.ServiceDeployments)
	}
	newest, oldest := list.ServiceDeployments[0], list.ServiceDeployments[1]
	if newest.Status != ecstypes.ServiceDeploymentStatusRollbackInProgress || oldest.Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("statuses = %s, %s; want ROLLBACK_IN_PROGRESS, SUCCESSFUL", newest.Status, oldest.Status)
	}
	// The deployment id maps to its revision, not to the deployment ARN.
	if !strings.HasSuffix(aws.ToString(newest.TargetServiceRevisionArn), "/"+strings.TrimPrefix(failing, "ecs-svc/")) ||
		!strings.Contains(aws.ToString(newest.ServiceDeploymentArn), ":service-deployment/prod/worker/") {
		t.Errorf("newest = %+v, want the revision of %s", newest, failing)
	}
	if d, _ := w.env.ECSModel.Primary("prod", "worker"); d.ID != back || d.ServiceDeploymentARN != aws.ToString(newest.ServiceDeploymentArn) {
		t.Errorf("the rollback deployment %+v is not in the failed one's service deployment %s", d, aws.ToString(newest.ServiceDeploymentArn))
	}
	if cur := aws.ToString(w.describe(t).CurrentServiceDeployment); cur != aws.ToString(newest.ServiceDeploymentArn) {
		t.Errorf("currentServiceDeployment = %s, want %s", cur, aws.ToString(newest.ServiceDeploymentArn))
	}
	filtered, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker"),
		Status: []ecstypes.ServiceDeploymentStatus{ecstypes.ServiceDeploymentStatusSuccessful}})
	if err != nil || len(filtered.ServiceDeployments) != 1 || aws.ToString(filtered.ServiceDeployments[0].ServiceDeploymentArn) != aws.ToString(oldest.ServiceDeploymentArn) {
		t.Errorf("status filter: %v %+v", err, filtered)
	}

	desc, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{aws.ToString(newest.ServiceDeploymentArn), "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/worker/nope"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ServiceDeployments) != 1 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeServiceDeployments = %+v", desc)
	}
	sd := desc.ServiceDeployments[0]
	if sd.Status != ecstypes.ServiceDeploymentStatusRollbackInProgress || aws.ToString(sd.StatusReason) != awstest.CircuitBreakerFailed ||
		sd.Rollback == nil || aws.ToString(sd.Rollback.ServiceRevisionArn) != aws.ToString(oldest.TargetServiceRevisionArn) ||
		aws.ToString(sd.Rollback.Reason) != awstest.RollingBackReason(first) ||
		sd.DeploymentCircuitBreaker == nil || sd.DeploymentCircuitBreaker.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered ||
		sd.TargetServiceRevision == nil || len(sd.SourceServiceRevisions) != 1 || aws.ToString(sd.SourceServiceRevisions[0].Arn) != aws.ToString(oldest.TargetServiceRevisionArn) ||
		sd.CreatedAt == nil || sd.CreatedAt.Before(time.Now().Add(-time.Minute)) {
		t.Errorf("DescribeServiceDeployments = %+v", sd)
	}

	revs, err := c.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{
		ServiceRevisionArns: []string{aws.ToString(newest.TargetServiceRevisionArn), aws.ToString(oldest.TargetServiceRevisionArn)},
	})
	if err != nil || len(revs.ServiceRevisions) != 2 {
		t.Fatalf("DescribeServiceRevisions: %v %+v", err, revs)
	}
	if a, b := aws.ToString(revs.ServiceRevisions[0].TaskDefinition), aws.ToString(revs.ServiceRevisions[1].TaskDefinition); a != w.v2 || b != w.v1 {
		t.Errorf("revisions run %s and %s, want %s and %s", a, b, w.v2, w.v1)
	}

	if _, err := w.env.ECSModel.Complete("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	desc, err = c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(newest.ServiceDeploymentArn)}})
	if err != nil || desc.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || desc.ServiceDeployments[0].FinishedAt == nil {
		t.Errorf("after the rollback completed: %v %+v", err, desc)
	}

	// An update during an ongoing deployment stops it.
	w.update(t, w.v3)
	w.update(t, w.v2)
	list, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker"), MaxResults: aws.Int32(2)})
	if err != nil || len(list.ServiceDeployments) != 2 || list.NextToken == nil ||
		list.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusInProgress || list.ServiceDeployments[1].Status != ecstypes.ServiceDeploymentStatusStopped ||
		aws.ToString(list.ServiceDeployments[1].StatusReason) != awstest.SupersededReason {
		t.Errorf("after two updates: %v %+v, want the first STOPPED, superseded", err, list)
	}
	if _, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("nope")}); !isAPIError(err, "ServiceNotFoundException") {
		t.Errorf("unknown service: %v, want ServiceNotFoundException", err)
	}
}

func isAPIError(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestECSModelRefuseServiceDeployments(t *testing.T) {
	w := newModelWorld(t)
	c := w.env.ECS()
	list := func() error {
		_, err := c.ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker")}, ecsOnce)
		return err
	}
	if err := list(); err != nil {
		t.Fatalf("served: %v", err)
	}

	w.env.ECSModel.RefuseServiceDeployments(awstest.RefuseAccessDenied)
	err := list()
	if !isAPIError(err, "AccessDeniedException") || httpStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "ecs:ListServiceDeployments") {
		t.Errorf("access denied: %v (HTTP %d)", err, httpStatus(err))
	}
	_, err = c.DescribeServiceRevisions(t.Context(), &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{"x"}}, ecsOnce)
	if !isAPIError(err, "AccessDeniedException") {
		t.Errorf("DescribeServiceRevisions denied: %v", err)
	}

	w.env.ECSModel.RefuseServiceDeployments(awstest.RefuseUnknownOperation)
	w.env.Proxy.Reset()
	if err := list(); httpStatus(err) != http.StatusInternalServerError {
		t.Errorf("unknown to moto: %v (HTTP %d), want moto's 500", err, httpStatus(err))
	}
	if c := w.env.Proxy.Log(); len(c) != 1 || !c[0].Forwarded {
		t.Errorf("calls = %+v, want one forwarded to moto", c)
	}

	w.env.ECSModel.RefuseServiceDeployments(awstest.ServeServiceDeployments)
	w.env.Proxy.Reset()
	if err := list(); err != nil {
		t.Errorf("served again: %v", err)
	}
	if c := w.env.Proxy.Log(); len(c) != 1 || c[0].Forwarded || c[0].Status != http.StatusOK {
		t.Errorf("calls = %+v, want one answered by the model", c)
	}
}

func TestECSModelCodeDeployRefusesTaskDefinition(t *testing.T) {
	for _, controller := range []ecstypes.DeploymentControllerType{ecstypes.DeploymentControllerTypeCodeDeploy, ecstypes.DeploymentControllerTypeExternal} {
		t.Run(string(controller), func(t *testing.T) {
			w := newModelWorld(t)
			_, err := w.env.ECS().CreateService(t.Context(), &ecs.CreateServiceInput{
				Cluster: aws.String("prod"), ServiceName: aws.String("bluegreen"), TaskDefinition: aws.String(w.v1),
				DesiredCount: aws.Int32(1), DeploymentController: &ecstypes.DeploymentController{Type: controller},
			})
			if err != nil {
				t.Fatal(err)
			}
			update := func(in *ecs.UpdateServiceInput) error {
				in.Cluster, in.Service = aws.String("prod"), aws.String("bluegreen")
				_, err := w.env.ECS().UpdateService(t.Context(), in, ecsOnce)
				return err
			}
			err = update(&ecs.UpdateServiceInput{TaskDefinition: aws.String(w.v2)})
			want := awstest.CodeDeployUpdateRefused
			if controller == ecstypes.DeploymentControllerTypeExternal {
				want = awstest.ExternalUpdateRefused
			}
			if !isAPIError(err, "InvalidParameterException") || !strings.Contains(err.Error(), want) {
				t.Errorf("UpdateService of the task definition: %v, want InvalidParameterException %q", err, want)
			}
			if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), "prod", "bluegreen"))(t); !localaws.SameTaskDefinition(td, w.v1) {
				t.Errorf("moto's service runs %s, want the refused update not to reach it", td)
			}
			if err := update(&ecs.UpdateServiceInput{DesiredCount: aws.Int32(2)}); err != nil {
				t.Errorf("UpdateService of the desired count: %v", err)
			}
		})
	}
}

func TestECSModelFailRegistrations(t *testing.T) {
	w := newModelWorld(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("testdata/taskdef-bridge.json"))(t)
	w.env.ECSModel.FailRegistrations(1)
	_, err := w.env.ECS().RegisterTaskDefinition(t.Context(), in, ecsOnce)
	var ce *ecstypes.ClientException
	if !errors.As(err, &ce) || aws.ToString(ce.Message) != awstest.ConcurrentRevisions {
		t.Errorf("first registration: %v, want ClientException %q", err, awstest.ConcurrentRevisions)
	}
	if _, err := w.env.ECS().RegisterTaskDefinition(t.Context(), in, ecsOnce); err != nil {
		t.Errorf("second registration: %v", err)
	}
}

func TestECSModelEventsDecode(t *testing.T) {
	w := newModelWorld(t)
	id := w.update(t, w.v2)
	serviceARN := aws.ToString(w.describe(t).ServiceArn)
	check := func(raw []byte, wantName, wantReason string) {
		t.Helper()
		ev, err := event.Decode(raw)
		if err != nil {
			t.Fatalf("event.Decode: %v\n%s", err, raw)
		}
		d, ok := ev.(event.DeploymentChange)
		if !ok || d.Cluster != "prod" || d.Service != "worker" || d.ServiceARN != serviceARN || d.DeploymentID != id ||
			d.EventName != wantName || d.Reason != wantReason || d.UpdatedAt.IsZero() ||
			d.Account != localaws.AccountID || d.Region != localaws.Region || d.ID == "" {
			t.Errorf("decoded %+v, want %s %q of %s", ev, wantName, wantReason, id)
		}
	}
	raw, err := w.env.ECSModel.Event("prod", "worker", id)
	if err != nil {
		t.Fatal(err)
	}
	check(raw, localaws.EventDeploymentInProgress, "ECS deployment "+id+" in progress.")

	if _, err := w.env.ECSModel.Fail("prod", "worker", ""); err != nil {
		t.Fatal(err)
	}
	raw = awstest.Must(w.env.ECSModel.Event("prod", "worker", id))(t)
	if !strings.Contains(string(raw), `"eventType": "ERROR"`) {
		t.Errorf("failed event is not an ERROR:\n%s", raw)
	}
	check(raw, localaws.EventDeploymentFailed, awstest.CircuitBreakerFailed)

	raw = awstest.Must(localaws.DeploymentEvent{ServiceARN: serviceARN, EventName: localaws.EventDeploymentCompleted, DeploymentID: id, ID: "same"}.JSON())(t)
	check(raw, localaws.EventDeploymentCompleted, "ECS deployment "+id+" completed.")
	if _, err := (localaws.DeploymentEvent{ServiceARN: "arn:aws:ecs:us-east-1:1:task/x", EventName: localaws.EventDeploymentCompleted}).JSON(); err == nil {
		t.Error("an event for a task ARN was built")
	}
}

// Behind a Classic Load Balancer ECS reports no rolloutState: only the
// counts say how far a rollout has got.
func TestECSModelClassicLoadBalancer(t *testing.T) {
	w := newModelWorld(t)
	w.describe(t) // the model learns the service
	if err := w.env.ECSModel.ClassicLoadBalancer("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	id := w.update(t, w.v2)
	got := w.describe(t)
	for _, d := range got.Deployments {
		if d.RolloutState != "" || d.RolloutStateReason != nil {
			t.Errorf("deployment %s has rolloutState %q, reason %v; want neither", aws.ToString(d.Id), d.RolloutState, aws.ToString(d.RolloutStateReason))
		}
	}
	if p := got.Deployments[0]; aws.ToString(p.Id) != id || p.RunningCount == p.DesiredCount {
		t.Errorf("rolling out: PRIMARY %s running %d of %d, want %s not yet all running", aws.ToString(p.Id), p.RunningCount, p.DesiredCount, id)
	}
	if _, err := w.env.ECSModel.Complete("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	got = w.describe(t)
	if len(got.Deployments) != 1 || got.Deployments[0].RunningCount != got.Deployments[0].DesiredCount || got.Deployments[0].PendingCount != 0 || got.Deployments[0].RolloutState != "" {
		t.Errorf("completed: deployments %+v, want the PRIMARY alone, every task running, no rolloutState", deps(got))
	}
}

// A service deployment that ended says when: finishedAt, on the model's
// clock, whether it succeeded, was rolled back or was stopped.
func TestECSModelFinishedAt(t *testing.T) {
	w := newModelWorld(t)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	w.env.ECSModel.SetClock(func() time.Time { return at })
	w.update(t, w.v2)
	at = at.Add(time.Minute)
	w.update(t, w.v3) // stops the first: superseded
	at = at.Add(time.Minute)
	if _, err := w.env.ECSModel.Complete("prod", "worker"); err != nil {
		t.Fatal(err)
	}
	list, err := w.env.ECS().ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("worker")})
	if err != nil || len(list.ServiceDeployments) < 2 {
		t.Fatalf("ListServiceDeployments: %v %+v", err, list)
	}
	newest, stopped := list.ServiceDeployments[0], list.ServiceDeployments[1]
	if f := aws.ToTime(newest.FinishedAt); newest.Status != ecstypes.ServiceDeploymentStatusSuccessful || !f.Equal(at) {
		t.Errorf("newest: %s finished %v, want SUCCESSFUL at %v", newest.Status, f, at)
	}
	if f, c := aws.ToTime(stopped.FinishedAt), aws.ToTime(stopped.CreatedAt); stopped.Status != ecstypes.ServiceDeploymentStatusStopped || !f.Equal(at.Add(-time.Minute)) || !c.Equal(at.Add(-2*time.Minute)) {
		t.Errorf("stopped: %s created %v, finished %v; want STOPPED, created %v, finished %v", stopped.Status, c, f, at.Add(-2*time.Minute), at.Add(-time.Minute))
	}
}
