package target

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// fakeRetryer stands for a client's retryer: it retries nothing of its own
// and counts the attempt tokens asked of it.
type fakeRetryer struct {
	attemptTokens int
}

var _ aws.RetryerV2 = (*fakeRetryer)(nil)

func (f *fakeRetryer) IsErrorRetryable(error) bool { return false }
func (f *fakeRetryer) MaxAttempts() int            { return 5 }
func (f *fakeRetryer) RetryDelay(int, error) (time.Duration, error) {
	return 7 * time.Millisecond, nil
}
func (f *fakeRetryer) GetRetryToken(context.Context, error) (func(error) error, error) {
	return func(error) error { return nil }, nil
}
func (f *fakeRetryer) GetInitialToken() func(error) error { return func(error) error { return nil } }
func (f *fakeRetryer) GetAttemptToken(context.Context) (func(error) error, error) {
	f.attemptTokens++
	return func(error) error { return nil }, nil
}

// The registration's retryer is the client's, wrapped: it adds the
// concurrent-registration answer and attempts, and keeps the rest, the
// attempt token (where an adaptive retryer paces) above all.
func TestRetryConcurrentRegistrationWrapsTheClientsRetryer(t *testing.T) {
	client := &fakeRetryer{}
	o := ecs.Options{Retryer: client}
	retryConcurrentRegistration(&o)
	r, ok := o.Retryer.(aws.RetryerV2)
	if !ok {
		t.Fatalf("retryer %T is not an aws.RetryerV2", o.Retryer)
	}

	retryable := map[string]bool{
		"concurrent registration": r.IsErrorRetryable(&ecstypes.ClientException{Message: aws.String(concurrentRegistration + ".")}),
		"other ClientException":   r.IsErrorRetryable(&ecstypes.ClientException{Message: aws.String("Invalid family")}),
		"other error":             r.IsErrorRetryable(errors.New("boom")),
	}
	want := map[string]bool{"concurrent registration": true, "other ClientException": false, "other error": false}
	for k, v := range want {
		if retryable[k] != v {
			t.Errorf("IsErrorRetryable(%s) = %v, want %v", k, retryable[k], v)
		}
	}
	if got := r.MaxAttempts(); got != registrationAttempts {
		t.Errorf("MaxAttempts() = %d, want %d", got, registrationAttempts)
	}
	concurrent := &ecstypes.ClientException{Message: aws.String(concurrentRegistration + ".")}
	if _, err := r.RetryDelay(registrationAttempts-1, concurrent); err != nil {
		t.Errorf("concurrent registration, attempt %d: %v, want another attempt", registrationAttempts-1, err)
	}
	var maxErr *retry.MaxAttemptsError
	if _, err := r.RetryDelay(registrationAttempts, concurrent); !errors.As(err, &maxErr) {
		t.Errorf("concurrent registration, attempt %d: %v, want the last", registrationAttempts, err)
	}
	if d, _ := r.RetryDelay(1, errors.New("boom")); d != 7*time.Millisecond {
		t.Errorf("RetryDelay = %v, want the client's 7ms", d)
	}
	if _, err := r.GetAttemptToken(t.Context()); err != nil || client.attemptTokens != 1 {
		t.Errorf("GetAttemptToken: err %v, client's attempt tokens taken %d, want 1", err, client.attemptTokens)
	}
}

// A stopped service deployment failed only when its failure detection
// stopped it; one stopped because a newer deployment started was
// superseded: nothing failed.
func TestServiceDeploymentRollout(t *testing.T) {
	tests := []struct {
		status, reason string
		want           state.Rollout
	}{
		{"SUCCESSFUL", "", state.Completed},
		{"IN_PROGRESS", "", state.InProgress},
		{"PENDING", "", state.InProgress},
		{"ROLLBACK_IN_PROGRESS", "ECS deployment circuit breaker: tasks failed to start.", state.Failed},
		{"ROLLBACK_SUCCESSFUL", "", state.Failed},
		{"ROLLBACK_FAILED", "", state.Failed},
		{"STOPPED", "ECS deployment circuit breaker: tasks failed to start.", state.Failed},
		{"STOPPED", "CloudWatch alarm high-5xx is in ALARM state", state.Failed},
		{"STOPPED", "ECS deployment stopped: a new service deployment started.", state.Superseded},
		{"STOPPED", "", state.Superseded},
		{"STOP_REQUESTED", "", state.Superseded},
	}
	for _, tt := range tests {
		if got := (ServiceDeployment{Status: tt.status, Reason: tt.reason}).Rollout(); got != tt.want {
			t.Errorf("%s %q: Rollout() = %s, want %s", tt.status, tt.reason, got, tt.want)
		}
	}
}

// A CODE_DEPLOY service's description carries what its deployments need:
// the load balancer's container and port, the platform version, the
// capacity provider strategy, and its task sets, PRIMARY first.
func TestServiceOfCodeDeployController(t *testing.T) {
	got := service(ecstypes.Service{
		TaskDefinition:       aws.String("arn:aws:ecs:us-east-1:111111111111:task-definition/web:4"),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		PlatformVersion:      aws.String("1.4.0"),
		LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/blue/1"),
			ContainerName:  aws.String("web"), ContainerPort: aws.Int32(8080),
		}},
		CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3, Base: 1}},
		TaskSets: []ecstypes.TaskSet{
			{Id: aws.String("ecs-svc/2"), Status: aws.String("ACTIVE"), TaskDefinition: aws.String("web:5"), ExternalId: aws.String("d-2"), StartedBy: aws.String("CODE_DEPLOY"), StabilityStatus: ecstypes.StabilityStatusStabilizing},
			{Id: aws.String("ecs-svc/1"), Status: aws.String("PRIMARY"), TaskDefinition: aws.String("web:4"), StabilityStatus: ecstypes.StabilityStatusSteadyState},
		},
	})
	want := Service{
		TaskDefinition: "arn:aws:ecs:us-east-1:111111111111:task-definition/web:4", Controller: "CODE_DEPLOY", PlatformVersion: "1.4.0",
		LoadBalancers:            []LoadBalancer{{TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/blue/1", ContainerName: "web", ContainerPort: 8080}},
		CapacityProviderStrategy: []CapacityProvider{{Name: "FARGATE_SPOT", Base: 1, Weight: 3}},
		TaskSets: []TaskSet{
			{ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: "web:4", StabilityStatus: "STEADY_STATE"},
			{ID: "ecs-svc/2", Status: "ACTIVE", TaskDefinition: "web:5", ExternalID: "d-2", StartedBy: "CODE_DEPLOY", StabilityStatus: "STABILIZING"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}
	if !got.CodeDeployControlled() || got.ECSControlled() {
		t.Error("a CODE_DEPLOY service is deployed by CodeDeploy, not ECS")
	}
	if ts, ok := got.PrimaryTaskSet(); !ok || ts.ID != "ecs-svc/1" {
		t.Errorf("PrimaryTaskSet() = %+v, %v", ts, ok)
	}
}

// What a service of task sets runs is its PRIMARY task set's revision, the
// one serving production traffic, whatever revision the service names.
func TestServiceOfTaskSetsRunsThePrimarys(t *testing.T) {
	got := service(ecstypes.Service{
		TaskDefinition:       aws.String("arn:aws:ecs:us-east-1:111111111111:task-definition/web:4"),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		TaskSets: []ecstypes.TaskSet{
			{Id: aws.String("ecs-svc/1"), Status: aws.String("ACTIVE"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:111111111111:task-definition/web:4")},
			{Id: aws.String("ecs-svc/2"), Status: aws.String("PRIMARY"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:111111111111:task-definition/web:5"), ExternalId: aws.String("d-2")},
		},
	})
	if want := "arn:aws:ecs:us-east-1:111111111111:task-definition/web:5"; got.TaskDefinition != want {
		t.Errorf("TaskDefinition = %s, want the PRIMARY task set's %s", got.TaskDefinition, want)
	}
}
