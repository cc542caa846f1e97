package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Errors of the ECS calls, translated from the SDK's.
var (
	// ErrServiceNotFound is a configured service that does not exist (or is
	// INACTIVE) in its cluster.
	ErrServiceNotFound = errors.New("service not found")
	// ErrClusterNotFound is a configured cluster that does not exist.
	ErrClusterNotFound = errors.New("cluster not found")
)

// Service is what ECS says about one service.
type Service struct {
	// TaskDefinition is the revision the service runs, as ECS reports it:
	// an ARN, or family[:revision] as it was set. After a rollback it is the
	// revision ECS rolled back to. For a service of task sets (CODE_DEPLOY,
	// EXTERNAL) it is the PRIMARY task set's.
	TaskDefinition string
	DesiredCount   int32
	// Controller is the service's deployment controller: "ECS" (or ""),
	// "CODE_DEPLOY" or "EXTERNAL".
	Controller string
	// Deployments are the deployments ECS lists, PRIMARY first. A
	// CODE_DEPLOY or EXTERNAL service has none: it has TaskSets.
	Deployments []Deployment
	// TaskSets are the task sets of a CODE_DEPLOY or EXTERNAL service,
	// PRIMARY (the one serving production traffic) first.
	TaskSets []TaskSet
	// LoadBalancers are the service's load balancers: for a CODE_DEPLOY
	// service, the container and port its deployments route traffic to;
	// for the blue-green family, the target groups and listener rules.
	LoadBalancers []LoadBalancer
	// PlatformVersion is the service's Fargate platform version, "" when
	// it has none.
	PlatformVersion string
	// CapacityProviderStrategy is the service's capacity provider
	// strategy, nil when it has none (a launch type instead).
	CapacityProviderStrategy []CapacityProvider
	// DeploymentConfiguration is the service's deployment configuration as
	// ECS reports it (strategy, bake time, alarms, hooks, ...); nil when
	// ECS reports none. An UpdateService that sends part of a nested
	// object is completed from it, so that what is left out is kept.
	DeploymentConfiguration *ecstypes.DeploymentConfiguration
	// CurrentServiceDeployment is the ARN of the service deployment ECS
	// runs, or ran last; "" when ECS does not say.
	CurrentServiceDeployment string
	// ServiceConnect reports whether the PRIMARY deployment uses Service
	// Connect.
	ServiceConnect bool
}

// TaskSet is one of the task sets of a CODE_DEPLOY or EXTERNAL service, as
// DescribeServices lists them ("TaskSet", Amazon ECS API Reference).
type TaskSet struct {
	ID             string
	Status         string // PRIMARY, ACTIVE or DRAINING
	TaskDefinition string
	// ExternalID is, for a task set a CodeDeploy deployment created, the
	// id of that deployment.
	ExternalID string
	// StartedBy is CODE_DEPLOY for a task set a CodeDeploy deployment
	// created.
	StartedBy string
	// StabilityStatus is STEADY_STATE or STABILIZING.
	StabilityStatus string
}

// CapacityProvider is one entry of a capacity provider strategy.
type CapacityProvider struct {
	Name         string
	Base, Weight int32
}

// CodeDeployControlled reports whether CodeDeploy runs the service's
// deployments: a new revision goes out as a CodeDeploy deployment.
func (s Service) CodeDeployControlled() bool { return s.Controller == "CODE_DEPLOY" }

// PrimaryTaskSet returns the task set that serves production traffic; ok
// is false when ECS lists none (a service ECS deploys itself).
func (s Service) PrimaryTaskSet() (TaskSet, bool) {
	for _, ts := range s.TaskSets {
		if ts.Status == "PRIMARY" {
			return ts, true
		}
	}
	return TaskSet{}, false

}

// LoadBalancer is a load balancer of a service, with what a deployment of
// the blue-green family needs of it ("AdvancedConfiguration", Amazon ECS API
// Reference).
type LoadBalancer struct {
	TargetGroupARN   string
	LoadBalancerName string // a Classic Load Balancer's
	ContainerName    string
	ContainerPort    int32
	// AlternateTargetGroupARN is the target group of the new revision
	// during a blue-green deployment.
	AlternateTargetGroupARN string
	// ProductionListenerRule and TestListenerRule are the listener rules
	// (an Application Load Balancer's) or listeners (a Network Load
	// Balancer's) that route production and test traffic.
	ProductionListenerRule, TestListenerRule string
	// RoleARN is the role ECS assumes to shift traffic.
	RoleARN string
}

// Deployment is one of a service's deployments as DescribeServices lists it.
type Deployment struct {
	ID             string
	Status         string // PRIMARY, ACTIVE or INACTIVE
	TaskDefinition string
	Rollout        state.Rollout
	// Reason is ECS's rolloutStateReason: why the rollout is where it is
	// (the circuit breaker's verdict, for one).
	Reason    string
	UpdatedAt time.Time
	// The deployment's task counts. ECS reports no rolloutState for a
	// service behind a Classic Load Balancer: they are what says how far
	// its rollout has got.
	DesiredCount, RunningCount, PendingCount int32
}

// Primary returns the PRIMARY deployment, the one ECS is rolling out or
// has rolled out; ok is false when ECS lists none (a service whose
// deployments another controller runs).
func (s Service) Primary() (Deployment, bool) {
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" {
			return d, true
		}
	}
	return Deployment{}, false
}

// Deployment returns the deployment with the id; ok is false when ECS no
// longer lists it.
func (s Service) Deployment(id string) (Deployment, bool) {
	for _, d := range s.Deployments {
		if d.ID == id && id != "" {
			return d, true
		}
	}
	return Deployment{}, false
}

// ECSControlled reports whether ECS itself runs the service's deployments,
// so that UpdateService can change its task definition: CODE_DEPLOY and
// EXTERNAL services refuse it.
func (s Service) ECSControlled() bool { return s.Controller == "" || s.Controller == "ECS" }

// DescribeServices returns the services of one cluster that exist and are
// not INACTIVE, by name; missing ones are absent from the map. It describes
// ten per call, the API's limit. It returns an error wrapping
// ErrClusterNotFound when the cluster does not exist.
func DescribeServices(ctx context.Context, client ECSAPI, cluster string, names []string) (map[string]Service, error) {
	found := make(map[string]Service, len(names))
	for chunk := range slices.Chunk(names, 10) {
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: chunk})
		if err != nil {
			var cnf *ecstypes.ClusterNotFoundException
			if errors.As(err, &cnf) {
				return nil, fmt.Errorf("describe services in %s: %w", cluster, ErrClusterNotFound)
			}
			return nil, fmt.Errorf("describe services in %s: %w", cluster, err)
		}
		for _, s := range out.Services {
			if aws.ToString(s.Status) == "INACTIVE" {
				continue
			}
			found[aws.ToString(s.ServiceName)] = service(s)
		}
	}
	return found, nil
}

// service converts ECS's description of a service, where ECS's spelling of
// rollout states enters.
func service(s ecstypes.Service) Service {
	o := Service{
		TaskDefinition: aws.ToString(s.TaskDefinition), DesiredCount: s.DesiredCount, PlatformVersion: aws.ToString(s.PlatformVersion),
		DeploymentConfiguration: s.DeploymentConfiguration, CurrentServiceDeployment: aws.ToString(s.CurrentServiceDeployment),
	}
	if s.DeploymentController != nil {
		o.Controller = string(s.DeploymentController.Type)
	}
	for _, lb := range s.LoadBalancers {
		l := LoadBalancer{
			TargetGroupARN: aws.ToString(lb.TargetGroupArn), LoadBalancerName: aws.ToString(lb.LoadBalancerName),
			ContainerName: aws.ToString(lb.ContainerName), ContainerPort: aws.ToInt32(lb.ContainerPort),
		}
		if a := lb.AdvancedConfiguration; a != nil {
			l.AlternateTargetGroupARN, l.RoleARN = aws.ToString(a.AlternateTargetGroupArn), aws.ToString(a.RoleArn)
			l.ProductionListenerRule, l.TestListenerRule = aws.ToString(a.ProductionListenerRule), aws.ToString(a.TestListenerRule)
		}
		o.LoadBalancers = append(o.LoadBalancers, l)
	}
	for _, cp := range s.CapacityProviderStrategy {
		o.CapacityProviderStrategy = append(o.CapacityProviderStrategy, CapacityProvider{Name: aws.ToString(cp.CapacityProvider), Base: cp.Base, Weight: cp.Weight})
	}
	for _, ts := range s.TaskSets {
		o.TaskSets = append(o.TaskSets, TaskSet{
			ID: aws.ToString(ts.Id), Status: aws.ToString(ts.Status), TaskDefinition: aws.ToString(ts.TaskDefinition),
			ExternalID: aws.ToString(ts.ExternalId), StartedBy: aws.ToString(ts.StartedBy), StabilityStatus: string(ts.StabilityStatus),
		})
	}
	slices.SortStableFunc(o.TaskSets, func(a, b TaskSet) int {
		return primaryTaskSetFirst(a) - primaryTaskSetFirst(b)
	})
	if ts, ok := o.PrimaryTaskSet(); ok && ts.TaskDefinition != "" && !ecsref.SameRevision(ts.TaskDefinition, o.TaskDefinition) {
		// A service of task sets runs what its PRIMARY task set runs, the
		// one "serving production traffic" ("TaskSet", Amazon ECS API
		// Reference): after a CodeDeploy deployment, the replacement task
		// set if it succeeded, the original one if it was rolled back.
		o.TaskDefinition = ts.TaskDefinition
	}
	for _, dep := range s.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" && dep.ServiceConnectConfiguration != nil {
			o.ServiceConnect = dep.ServiceConnectConfiguration.Enabled
		}
	}
	for _, dep := range s.Deployments {
		d := Deployment{
			ID: aws.ToString(dep.Id), Status: aws.ToString(dep.Status), TaskDefinition: aws.ToString(dep.TaskDefinition),
			Rollout: state.ParseRollout(string(dep.RolloutState)), Reason: aws.ToString(dep.RolloutStateReason),
			DesiredCount: dep.DesiredCount, RunningCount: dep.RunningCount, PendingCount: dep.PendingCount,
		}
		if dep.UpdatedAt != nil {
			d.UpdatedAt = *dep.UpdatedAt
		}
		o.Deployments = append(o.Deployments, d)
	}
	slices.SortStableFunc(o.Deployments, func(a, b Deployment) int {
		return primaryFirst(a) - primaryFirst(b)
	})
	return o
}

func primaryTaskSetFirst(ts TaskSet) int {
	if ts.Status == "PRIMARY" {
		return 0
	}
	return 1
}

func primaryFirst(d Deployment) int {
	if d.Status == "PRIMARY" {
		return 0
	}
	return 1
}

// TaskDefinition is a task definition ECS describes, with its tags.
type TaskDefinition struct {
	ARN  string
	Def  *ecstypes.TaskDefinition
	Tags []ecstypes.Tag
}

// DescribeTaskDefinition returns a task definition and its tags; ok is false
// when ECS does not know ref (ECS answers a ClientException).
func DescribeTaskDefinition(ctx context.Context, client ECSAPI, ref string) (td TaskDefinition, ok bool, err error) {
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		var ce *ecstypes.ClientException
		if errors.As(err, &ce) {
			return TaskDefinition{}, false, nil
		}
		return TaskDefinition{}, false, fmt.Errorf("describe task definition %s: %w", ref, err)
	}
	return TaskDefinition{ARN: aws.ToString(out.TaskDefinition.TaskDefinitionArn), Def: out.TaskDefinition, Tags: out.Tags}, true, nil
}

// concurrentRegistration is ECS's answer (a ClientException) to a
// registration while another process registers a revision of the same
// family: CI, the CLI beside the function, Terraform.
const concurrentRegistration = "Too many concurrent attempts to create a new revision of the specified family"

// registrationAttempts bounds the attempts of one registration that ECS
// answers "too many concurrent attempts": with registrationBackoff, eight
// attempts wait up to about ten seconds for the other registration to
// finish. Throttled attempts are bounded by the client's retryer.
const registrationAttempts = 8

// retryConcurrentRegistration makes the client's retryer retry ECS's
// concurrent-registration answer too, besides what it retries anyway
// (throttling, 5xx), for up to registrationAttempts attempts. It wraps the
// client's retryer rather than replacing it, so that the registration keeps
// the client's backoff, retry quota and pacing under throttling.
func retryConcurrentRegistration(o *ecs.Options) {
	o.Retryer = retryAlso{Retryer: o.Retryer, retryable: isConcurrentRegistration, attempts: registrationAttempts}
}

// registrationBackoff spaces out the retries of a concurrent registration.
var registrationBackoff = retry.NewExponentialJitterBackoff(2 * time.Second)

func isConcurrentRegistration(err error) bool {
	var ce *ecstypes.ClientException
	return errors.As(err, &ce) && strings.Contains(ce.ErrorMessage(), concurrentRegistration)
}

// retryAlso is a retryer that also retries the errors retryable reports.
type retryAlso struct {
	aws.Retryer
	retryable func(error) bool
	attempts  int // of an error retryable reports
}

// MaxAttempts is the wrapped retryer's, or attempts if that is more.
func (r retryAlso) MaxAttempts() int { return max(r.attempts, r.Retryer.MaxAttempts()) }

// RetryDelay backs off an error retryable reports for up to attempts
// attempts, and leaves the others to the wrapped retryer.
func (r retryAlso) RetryDelay(attempt int, err error) (time.Duration, error) {
	if !r.retryable(err) {
		return r.Retryer.RetryDelay(attempt, err)
	}
	if attempt >= r.attempts {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	return registrationBackoff.BackoffDelay(attempt, err)
}

var _ aws.RetryerV2 = retryAlso{}

func (r retryAlso) IsErrorRetryable(err error) bool {
	return r.retryable(err) || r.Retryer.IsErrorRetryable(err)
}

// GetAttemptToken is the wrapped retryer's, which is where an adaptive
// retryer waits for its rate limiter.
func (r retryAlso) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := r.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.GetInitialToken(), nil
}

// RegisterTaskDefinition registers a revision and returns its ARN. ECS's
// answer that another process is registering into the family at the same
// time is retried with backoff.
func RegisterTaskDefinition(ctx context.Context, client ECSAPI, in *ecs.RegisterTaskDefinitionInput) (string, error) {
	out, err := client.RegisterTaskDefinition(ctx, in, retryConcurrentRegistration)
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", aws.ToString(in.Family), err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// UpdateService points a service at a task definition and returns the id of
// the deployment ECS started. It returns an error wrapping
// ErrServiceNotFound when the service does not exist or is not active.
func UpdateService(ctx context.Context, client ECSAPI, in *ecs.UpdateServiceInput) (string, error) {
	started, err := StartDeployment(ctx, client, in)
	return started.DeploymentID, err
}

// Started is the deployment an UpdateService started.
type Started struct {
	// DeploymentID is the id of the PRIMARY deployment DescribeServices
	// lists ("ecs-svc/..."); "" when ECS's answer names none.
	DeploymentID string
	// ServiceDeploymentARN is the service's currentServiceDeployment in
	// the answer ("The ARN of the current service deployment", "Service",
	// API Reference; aws-sdk-go-v2/service/ecs types.Service): the service
	// deployment the update started, the one DescribeServiceDeployments,
	// ContinueServiceDeployment and StopServiceDeployment name; "" when
	// ECS's answer has none.
	ServiceDeploymentARN string
}

// StartDeployment is UpdateService that returns both names of the
// deployment ECS started. It returns an error wrapping ErrServiceNotFound
// when the service does not exist or is not active.
func StartDeployment(ctx context.Context, client ECSAPI, in *ecs.UpdateServiceInput) (Started, error) {
	out, err := client.UpdateService(ctx, in)
	if err != nil {
		var snf *ecstypes.ServiceNotFoundException
		var sna *ecstypes.ServiceNotActiveException
		if errors.As(err, &snf) || errors.As(err, &sna) {
			err = ErrServiceNotFound
		}
		return Started{}, fmt.Errorf("update service %s/%s: %w", aws.ToString(in.Cluster), aws.ToString(in.Service), err)
	}
	if out.Service == nil {
		return Started{}, nil
	}
	started := Started{ServiceDeploymentARN: aws.ToString(out.Service.CurrentServiceDeployment)}
	for _, dep := range out.Service.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" {
			started.DeploymentID = aws.ToString(dep.Id)
			break
		}
	}
	return started, nil
}

// ErrNoServiceDeployments is an account or region where the
// service-deployments API is refused or unknown: what ECS lists in a
// service's deployments is all there is to go by.
var ErrNoServiceDeployments = errors.New("service deployments not available")

// ServiceDeployment is one deployment of a service as the
// service-deployments API reports it, with the task definition it deployed.
type ServiceDeployment struct {
	ARN            string
	Status         string // SUCCESSFUL, ROLLBACK_SUCCESSFUL, STOPPED, IN_PROGRESS, ...
	Reason         string
	TaskDefinition string
	CreatedAt      time.Time
	// FinishedAt is when it ended (ListServiceDeployments' finishedAt);
	// zero while it runs, or when ECS does not say.
	FinishedAt time.Time
}

// RolledBack reports whether ECS rolled the deployment back (the circuit
// breaker or an alarm), or is doing so.
func (sd ServiceDeployment) RolledBack() bool { return strings.HasPrefix(sd.Status, "ROLLBACK_") }

// Rollout is the rollout state a service deployment's status means: a
// successful one completed, one rolled back failed, and one stopped either
// failed (its failure detection stopped it: the circuit breaker or an
// alarm, without the rollback option) or was superseded (a newer
// deployment started: nothing failed).
func (sd ServiceDeployment) Rollout() state.Rollout {
	switch {
	case sd.Status == string(ecstypes.ServiceDeploymentStatusSuccessful):
		return state.Completed
	case sd.RolledBack():
		return state.Failed
	case sd.Status == string(ecstypes.ServiceDeploymentStatusStopped), sd.Status == string(ecstypes.ServiceDeploymentStatusStopRequested):
		if sd.stoppedByFailure() {
			return state.Failed
		}
		return state.Superseded
	}
	return state.InProgress
}

// stoppedByFailure reports whether a stopped service deployment's
// statusReason says its failure detection stopped it. AWS documents that a
// service deployment stops when "a user manually stops the deployment" or
// "the rollback option is not in use for the failure detection mechanism
// (the circuit breaker or alarm-based) and the service fails" (stoppedAt,
// "ServiceDeployment", Amazon ECS API Reference), and gives a failure's
// reason in the detector's words ("ECS deployment circuit breaker: ...");
// it documents no text for a deployment stopped because a newer one
// started, so anything that does not name a failure is taken for that.
func (sd ServiceDeployment) stoppedByFailure() bool {
	r := strings.ToLower(sd.Reason)
	return strings.Contains(r, "circuit breaker") || strings.Contains(r, "alarm") || strings.Contains(r, "fail")
}

// ServiceDeployments returns the deployments of a service created since a
// time, newest first, with the task definition each deployed: one
// ListServiceDeployments and one DescribeServiceRevisions, retried as
// every call is (a throttled read is an answer delayed, not refused). The
// API is optional (not every account or region has it, the role may lack
// the permission, and moto does not have it): any failure is
// ErrNoServiceDeployments (wrapped), for the caller to fall back on what
// DescribeServices says, and to know that it is all it has.
func ServiceDeployments(ctx context.Context, client ECSAPI, cluster, service string, since time.Time) ([]ServiceDeployment, error) {
	in := &ecs.ListServiceDeploymentsInput{Cluster: aws.String(cluster), Service: aws.String(service)}
	if !since.IsZero() {
		in.CreatedAt = &ecstypes.CreatedAt{After: aws.Time(since)}
	}
	out, err := client.ListServiceDeployments(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("list service deployments of %s/%s: %w: %w", cluster, service, ErrNoServiceDeployments, err)
	}
	var list []ServiceDeployment
	var revisions []string
	for _, b := range out.ServiceDeployments {
		sd := ServiceDeployment{ARN: aws.ToString(b.ServiceDeploymentArn), Status: string(b.Status), Reason: aws.ToString(b.StatusReason)}
		if b.CreatedAt != nil {
			sd.CreatedAt = *b.CreatedAt
		}
		if b.FinishedAt != nil {
			sd.FinishedAt = *b.FinishedAt
		}
		list = append(list, sd)
		revisions = append(revisions, aws.ToString(b.TargetServiceRevisionArn))
	}
	if len(list) == 0 {
		return nil, nil
	}
	described, err := client.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: compactRevisions(revisions)})
	if err != nil {
		return nil, fmt.Errorf("describe service revisions of %s/%s: %w: %w", cluster, service, ErrNoServiceDeployments, err)
	}
	taskDefinitions := map[string]string{}
	for _, r := range described.ServiceRevisions {
		taskDefinitions[aws.ToString(r.ServiceRevisionArn)] = aws.ToString(r.TaskDefinition)
	}
	for i := range list {
		list[i].TaskDefinition = taskDefinitions[revisions[i]]
	}
	slices.SortStableFunc(list, func(a, b ServiceDeployment) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return list, nil
}

// compactRevisions returns the distinct, non-empty revision ARNs, at most
// the 20 DescribeServiceRevisions takes.
func compactRevisions(arns []string) []string {
	out := slices.Compact(slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(arns), func(s string) bool { return s == "" }))))
	return out[:min(len(out), 20)]
}
