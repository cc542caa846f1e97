package awstest

// The ECS model: what moto's ECS lacks, in front of moto.
//
// Shapes and texts come from AWS's documentation, cited where used:
//   - [Deployment] in DescribeServices: "Deployment" and "DescribeServices",
//     Amazon ECS API Reference,
//     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
//     (status PRIMARY / ACTIVE / INACTIVE, rolloutState, rolloutStateReason).
//   - The rollout reasons: the examples of "Amazon ECS service deployment
//     state change events", Amazon ECS Developer Guide,
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
//     ("ECS deployment ecs-svc/123 in progress.", "... completed.",
//     "ECS deployment circuit breaker: rolling back to deploymentId ...",
//     "ECS deployment circuit breaker: task failed to start."); the
//     rolloutStateReason of a failed deployment, "ECS deployment circuit
//     breaker: tasks failed to start.", is what DescribeServices shows in
//     public reports of real rollbacks (the docs show no failed Deployment).
//   - The circuit breaker with rollback: "How the Amazon ECS deployment
//     circuit breaker detects failures" (Developer Guide,
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html)
//     and "DeploymentCircuitBreaker" (API Reference): the failed deployment
//     is rolled back "to the last deployment that completed successfully",
//     and that deployment itself "changes from a COMPLETED to IN_PROGRESS"
//     (so it is PRIMARY again under its own id; see [ECSModel.RollBack]);
//     "Amazon ECS deployment failure detection": "The rollback method
//     requires a previous deployment in COMPLETED state."
//   - The service-deployments API: "ListServiceDeployments",
//     "DescribeServiceDeployments", "DescribeServiceRevisions" (API
//     Reference) and "View service history using Amazon ECS service
//     deployments" / "Properties included in an Amazon ECS service
//     deployment" (Developer Guide,
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html):
//     the statuses PENDING, IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED,
//     ROLLBACK_IN_PROGRESS (ongoing) and SUCCESSFUL, STOPPED,
//     ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED (completed). The JSON member
//     names are those of aws-sdk-go-v2/service/ecs v1.105.1's schemas.
//   - The CODE_DEPLOY refusal: InvalidParameterException "Unable to update
//     task definition on services with a CODE_DEPLOY deployment controller.
//     Use AWS CodeDeploy to trigger a new deployment.", the message AWS
//     returns (quoted in aws/aws-cdk#11243, cdklabs/cdk-ecs-codedeploy#121,
//     fabfuel/ecs-deploy#175); "UpdateService" (API Reference) lists what a
//     CODE_DEPLOY or EXTERNAL service may update, and the task definition is
//     not among it.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
)

// Deployment and rollout states of a [Deployment] (API Reference,
// "Deployment") and statuses of a service deployment (Developer Guide,
// "View service history using Amazon ECS service deployments").
const (
	DeploymentPrimary = "PRIMARY"
	DeploymentActive  = "ACTIVE"

	RolloutInProgress = "IN_PROGRESS"
	RolloutCompleted  = "COMPLETED"
	RolloutFailed     = "FAILED"

	ServiceDeploymentInProgress         = "IN_PROGRESS"
	ServiceDeploymentSuccessful         = "SUCCESSFUL"
	ServiceDeploymentStopped            = "STOPPED"
	ServiceDeploymentRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	ServiceDeploymentRollbackSuccessful = "ROLLBACK_SUCCESSFUL"
	ServiceDeploymentRollbackFailed     = "ROLLBACK_FAILED"
)

// Texts ECS writes (see the sources at the top of this file).
const (
	// CircuitBreakerFailed is the rolloutStateReason of a deployment the
	// circuit breaker failed, and the default reason of [ECSModel.Fail].
	CircuitBreakerFailed = "ECS deployment circuit breaker: tasks failed to start."
	// CodeDeployUpdateRefused is the message of the
	// InvalidParameterException ECS answers to an UpdateService that
	// changes the task definition of a CODE_DEPLOY service.
	CodeDeployUpdateRefused = "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment."
	// ExternalUpdateRefused is the model's message for the same refusal
	// on an EXTERNAL service. AWS does not document its text; the model
	// uses the CODE_DEPLOY sentence's shape (an EXTERNAL service deploys
	// through task sets: CreateTaskSet, UpdateServicePrimaryTaskSet).
	ExternalUpdateRefused = "Unable to update task definition on services with a EXTERNAL deployment controller. Use task sets to trigger a new deployment."
	// ConcurrentRevisions is the message of the ClientException
	// RegisterTaskDefinition answers when registrations of one family race
	// (quoted in hashicorp/terraform-provider-aws#9777,
	// PrefectHQ/prefect#15865, dask/dask-cloudprovider#290; AWS does not
	// document it).
	ConcurrentRevisions = "Too many concurrent attempts to create a new revision of the specified family."
	// SupersededReason is the statusReason the model gives a service
	// deployment stopped because a newer one started (STOPPED, a
	// "completed" status: "View service history using Amazon ECS service
	// deployments", Developer Guide). AWS documents no text for it (nor
	// this case among the causes of stoppedAt in "ServiceDeployment", API
	// Reference); this one is made up. It names no failure, as a failure's
	// reason does (the circuit breaker's, an alarm's).
	SupersededReason = "ECS deployment stopped: a new service deployment started."
)

// RollingBackReason is the rolloutStateReason of the deployment the circuit
// breaker starts to roll back to the deployment with id to.
func RollingBackReason(to string) string {
	return "ECS deployment circuit breaker: rolling back to deploymentId " + to + "."
}

// circuitBreakerThreshold is the failure count at which the circuit breaker
// trips for a small service: "a minimum threshold of 3" (API Reference,
// "ServiceDeploymentCircuitBreaker").
const circuitBreakerThreshold = 3

// Refusal is how an account without the service-deployments API answers
// ListServiceDeployments, DescribeServiceDeployments and
// DescribeServiceRevisions; see [ECSModel.RefuseServiceDeployments].
type Refusal int

const (
	// ServeServiceDeployments answers them from the model (the default).
	ServeServiceDeployments Refusal = iota
	// RefuseAccessDenied answers AccessDeniedException (HTTP 400), as a
	// role whose policy lacks ecs:ListServiceDeployments is answered.
	RefuseAccessDenied
	// RefuseUnknownOperation forwards them to moto, which does not know
	// them and answers HTTP 500 with an HTML page (the SDK retries it).
	RefuseUnknownOperation
)

// ECSDeployment is one deployment of a service as the model has it: as
// DescribeServices lists it, with its place in the service-deployments API.
type ECSDeployment struct {
	ID                 string // "ecs-svc/" and 19 digits
	Status             string // PRIMARY or ACTIVE
	RolloutState       string // IN_PROGRESS, COMPLETED or FAILED
	RolloutStateReason string
	TaskDefinition     string // ARN
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// ServiceDeploymentARN is the service deployment the deployment
	// belongs to: its own, or for a rollback deployment that of the
	// deployment it rolls back.
	ServiceDeploymentARN string
	// ServiceDeploymentStatus is that service deployment's status.
	ServiceDeploymentStatus string
	// ServiceRevisionARN is the service revision the deployment runs: its
	// own, or for a rollback deployment the one rolled back to.
	ServiceRevisionARN string
}

// ECSModel sits in the proxy in front of moto's ECS and shows what real ECS
// would: deployments that move from PRIMARY to ACTIVE, rollouts that
// complete, fail or roll back when a test says so, the service-deployments
// API, and the refusal of a task definition change under a CODE_DEPLOY or
// EXTERNAL controller. It intercepts CreateService, UpdateService,
// DescribeServices, ListServiceDeployments, DescribeServiceDeployments and
// DescribeServiceRevisions; every other call reaches moto unchanged. A
// CODE_DEPLOY service has task sets instead of deployments (tasksets.go),
// which the CodeDeploy model's deployments change.
//
// It learns a service it has not seen created (one seeded through
// [Env.Local]) from moto, the first time a call names it, as a service that
// ran before the test: one PRIMARY deployment, COMPLETED (with a
// SUCCESSFUL service deployment), of the task definition moto has. A
// service created through the proxy starts with a PRIMARY deployment
// IN_PROGRESS, as on ECS.
//
// An UpdateService moto accepts that changes the task definition (or sets
// forceNewDeployment) starts a deployment: PRIMARY, IN_PROGRESS, of the task
// definition sent, resolved to its ARN; the previous PRIMARY becomes ACTIVE
// and keeps its rollout state. Its id is the one moto's answer gives its
// PRIMARY deployment, unless the model already has that id (moto changes it
// only with forceNewDeployment), in which case the model makes up a new one
// of the same shape. DescribeServices and UpdateService answer the model's
// deployments (INACTIVE ones are dropped, as ECS drops them), newest first,
// with service.taskDefinition the PRIMARY deployment's task definition and
// service.currentServiceDeployment its service deployment.
//
// Deployment ids and service-deployment ARNs: for a deployment
// "ecs-svc/N" the model's service revision is
// arn:aws:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/N and its
// service deployment arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/X,
// where X is an opaque 21-character id. AWS documents no relation between a
// deployment id and these ARNs: the examples of DescribeServiceDeployments
// (API Reference) show a 19-digit revision id, the shape of deployment ids,
// and an opaque deployment id ("NCWGC2ZR-taawPAYrIaU5"). So code that has
// a deployment id finds its service deployment through ListServiceDeployments
// (the one whose targetServiceRevisionArn ends in /N) or through
// service.currentServiceDeployment, never by building the ARN.
//
// The methods are safe for concurrent use; the drivers (Complete, Fail,
// RollBack, Drain) return an error for a service the model does not know
// and must not be called from a proxy hook while a call waits on them.
type ECSModel struct {
	proxy *Proxy
	moto  *ecs.Client

	mu       sync.Mutex
	services map[serviceKey]*modelService
	refusal  Refusal
	resolved map[string]string // task definition reference -> ARN
	now      func() time.Time
}

type serviceKey struct{ cluster, service string }

type modelService struct {
	arn, clusterARN string
	controller      string
	taskDefinition  string             // moto's, for a service the model does not deploy
	deployments     []*modelDeployment // listed by DescribeServices, newest first
	history         []*serviceDeployment
	revisions       []*serviceRevision
	lastCompleted   *modelDeployment
	// classic says the service is behind a Classic Load Balancer: its
	// deployments have no rolloutState (see [ECSModel.ClassicLoadBalancer]).
	classic  bool
	taskSets []*modelTaskSet // of a CODE_DEPLOY service (tasksets.go)
	// config is the service's deploymentConfiguration as ECS keeps it: an
	// UpdateService replaces the members it sends and keeps the others
	// (moto replaces the whole object). nil: as moto has it.
	config map[string]any
	// hookEvents are the ECS Hook State Change events of the service's
	// lifecycle hooks, in the order ECS would send them.
	hookEvents []hookEvent
}

type modelDeployment struct {
	id, status, rollout, reason, taskDefinition string
	createdAt, updatedAt                        time.Time
	revision                                    *serviceRevision
	sd                                          *serviceDeployment
	// rollback says the circuit breaker made this deployment PRIMARY again
	// to roll a failed one back; sd is then the failed one's.
	rollback bool
}

type serviceRevision struct {
	arn, taskDefinition string
	createdAt           time.Time
}

type serviceDeployment struct {
	arn                  string
	status, statusReason string
	createdAt, updatedAt time.Time
	finishedAt           time.Time // zero: not finished
	stoppedAt            time.Time // zero: not stopped
	target               *serviceRevision
	sources              []*serviceRevision
	rollback             *sdRollback
	breaker              string // MONITORING, TRIGGERED, MONITORING_COMPLETE
	failures             int
	// rollout is the progress of a deployment of the blue-green family
	// (ecsmodel_rollouts.go); nil for a rolling update.
	rollout *rollout
}

type sdRollback struct {
	reason    string
	revision  *serviceRevision
	startedAt time.Time
}

// NewECSModel installs an ECS model in p. moto reaches moto directly
// (localaws.Config of its URL): the model reads task definitions and
// services it has not seen created there, and points moto's service at the
// rolled-back revision on [ECSModel.RollBack]; those calls are not counted.
func NewECSModel(p *Proxy, moto aws.Config) *ECSModel {
	m := &ECSModel{
		proxy:    p,
		moto:     ecs.NewFromConfig(moto),
		services: make(map[serviceKey]*modelService),
		resolved: make(map[string]string),
		now:      time.Now,
	}
	p.Intercept("ecs:CreateService", m.createService)
	p.Intercept("ecs:UpdateService", m.updateService)
	p.Intercept("ecs:DescribeServices", m.describeServices)
	p.Intercept("ecs:ListServiceDeployments", m.refusable(m.listServiceDeployments))
	p.Intercept("ecs:DescribeServiceDeployments", m.refusable(m.describeServiceDeployments))
	p.Intercept("ecs:DescribeServiceRevisions", m.refusable(m.describeServiceRevisions))
	m.interceptRollouts(p)
	return m
}

// RefuseServiceDeployments makes ListServiceDeployments,
// DescribeServiceDeployments and DescribeServiceRevisions answer as how
// says, from the next call on.
func (m *ECSModel) RefuseServiceDeployments(how Refusal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refusal = how
}

// FailRegistrations makes the next n RegisterTaskDefinition calls answer
// ECS's ClientException [ConcurrentRevisions] (HTTP 400), as a burst of
// registrations of one family is answered; [Always] fails every one.
func (m *ECSModel) FailRegistrations(n int) {
	m.proxy.Fail("ecs:RegisterTaskDefinition", n, AWSError(http.StatusBadRequest, "ClientException", ConcurrentRevisions))
}

// ClassicLoadBalancer puts the service behind a Classic Load Balancer, from
// the next call on: DescribeServices and UpdateService then answer its
// deployments without rolloutState and rolloutStateReason, as ECS does
// ("The rolloutState of a service is only returned for services that use
// the rolling update (ECS) deployment type that aren't behind a Classic
// Load Balancer": rolloutState, "Deployment", Amazon ECS API Reference,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html).
// Only the counts tell how far a rollout has got: the PRIMARY's
// runningCount reaches its desiredCount when [ECSModel.Complete] completes
// it. It returns an error for a service the model does not know.
func (m *ECSModel) ClassicLoadBalancer(cluster, service string) error {
	_, err := m.drive(cluster, service, func(s *modelService, _ *modelDeployment, _ time.Time) error {
		s.classic = true
		return nil
	})
	return err
}

// SetClock makes now the model's clock, from the next call on: the time of
// deployments started, driven and ended. Tests that compare those times
// set it; the default is time.Now.
func (m *ECSModel) SetClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// Deployments returns the deployments DescribeServices lists for the
// service, newest (the PRIMARY) first, or nil if the model does not know it.
func (m *ECSModel) Deployments(cluster, service string) []ECSDeployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.services[keyOf(cluster, service)]
	if s == nil {
		return nil
	}
	out := make([]ECSDeployment, len(s.deployments))
	for i, d := range s.deployments {
		out[i] = ECSDeployment{
			ID: d.id, Status: d.status, RolloutState: d.rollout, RolloutStateReason: d.reason,
			TaskDefinition: d.taskDefinition, CreatedAt: d.createdAt, UpdatedAt: d.updatedAt,
			ServiceDeploymentARN: d.sd.arn, ServiceDeploymentStatus: d.sd.status, ServiceRevisionARN: d.revision.arn,
		}
	}
	return out
}

// Primary returns the service's PRIMARY deployment; ok is false if the model
// knows no deployment of it.
func (m *ECSModel) Primary(cluster, service string) (d ECSDeployment, ok bool) {
	ds := m.Deployments(cluster, service)
	if len(ds) == 0 {
		return ECSDeployment{}, false
	}
	return ds[0], true
}

// Complete finishes the PRIMARY deployment's rollout: COMPLETED, its service
// deployment SUCCESSFUL (ROLLBACK_SUCCESSFUL for a rollback), and every
// other deployment drained and gone. It returns the deployment's id.
func (m *ECSModel) Complete(cluster, service string) (string, error) {
	return m.drive(cluster, service, func(s *modelService, p *modelDeployment, now time.Time) error {
		p.rollout, p.reason, p.updatedAt = RolloutCompleted, localaws.CompletedReason(p.id), now
		s.deployments = []*modelDeployment{p}
		s.lastCompleted = p
		sd := p.sd
		if p.rollback {
			sd.status = ServiceDeploymentRollbackSuccessful
		} else {
			sd.status, sd.breaker = ServiceDeploymentSuccessful, "MONITORING_COMPLETE"
		}
		sd.finishedAt, sd.updatedAt = now, now
		return nil
	})
}

// Fail fails the PRIMARY deployment's rollout without a rollback, as the
// circuit breaker without rollback does: it stays PRIMARY, FAILED, with
// reason as its rolloutStateReason ([CircuitBreakerFailed] if empty); its
// service deployment is STOPPED (ROLLBACK_FAILED for a rollback). It
// returns the deployment's id.
func (m *ECSModel) Fail(cluster, service, reason string) (string, error) {
	reason = cmp.Or(reason, CircuitBreakerFailed)
	return m.drive(cluster, service, func(s *modelService, p *modelDeployment, now time.Time) error {
		p.rollout, p.reason, p.updatedAt = RolloutFailed, reason, now
		sd := p.sd
		if p.rollback {
			sd.status = ServiceDeploymentRollbackFailed
			sd.finishedAt = now
		} else {
			sd.status, sd.statusReason, sd.stoppedAt, sd.finishedAt = ServiceDeploymentStopped, reason, now, now
		}
		sd.breaker, sd.failures, sd.updatedAt = "TRIGGERED", circuitBreakerThreshold, now
		return nil
	})
}

// RollBack does what the deployment circuit breaker with rollback does when
// the PRIMARY deployment fails: that deployment becomes ACTIVE with rollout
// FAILED and reason [CircuitBreakerFailed], and the last COMPLETED
// deployment becomes PRIMARY again, with its own id, IN_PROGRESS, with
// reason [RollingBackReason] naming that same id. The failed deployment's
// service deployment becomes ROLLBACK_IN_PROGRESS, with its rollback naming
// the revision rolled back to. The failed deployment stays listed until
// [ECSModel.Drain] or [ECSModel.Complete]; Complete then leaves the
// deployment rolled back to alone, COMPLETED, its reason "ECS deployment
// <its id> completed.". moto's service is pointed at the rolled-back task
// definition too, so that [Env.Local] agrees.
//
// After [ECSModel.StartRollBack], RollBack moves the rollback on: the
// failed deployment, still IN_PROGRESS beside the rollback, becomes FAILED.
//
// Sources: "How the Amazon ECS deployment circuit breaker detects
// failures" (Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html):
// "When the deployment circuit breaker determines that a deployment failed,
// it looks for the most recent deployment that is in a COMPLETED state.
// This is the deployment that it uses as the roll-back deployment. When the
// rollback starts, the deployment changes from a COMPLETED to IN_PROGRESS"
// ("Deployment 1 transitions to the IN_PROGRESS state"): the rollback is
// that deployment, not a new one, and no other rollback can go back to it
// until it has completed again. A public report of DescribeServices
// through a real rollback (sevenwestmedia-labs/pulumi-components,
// libs/wait-for-ecs-deploy/README.md) shows the same: the PRIMARY's reason
// "rolling back to deploymentId ecs-svc/6405940160831029548.", and once
// the rollback is complete that PRIMARY alone, "ECS deployment
// ecs-svc/6405940160831029548 completed.".
//
// It returns the id of the deployment rolled back to, and an error if the
// PRIMARY deployment has completed or no deployment is COMPLETED (ECS needs
// one to roll back to).
func (m *ECSModel) RollBack(ctx context.Context, cluster, service string) (string, error) {
	return m.circuitRollBack(ctx, cluster, service, true)
}

// StartRollBack is the first moment of [ECSModel.RollBack]: the deployment
// rolled back to is PRIMARY again, IN_PROGRESS, but the failed deployment
// is still listed ACTIVE and IN_PROGRESS beside it, with its in-progress
// reason, as public reports of real rollbacks show it in their first
// seconds (sevenwestmedia-labs/pulumi-components,
// libs/wait-for-ecs-deploy/README.md: the failed revision's deployment
// "ACTIVE", "IN_PROGRESS", "ECS deployment ecs-svc/1281894607538416024 in
// progress." beside the PRIMARY "rolling back to deploymentId ..."). Its
// service deployment is ROLLBACK_IN_PROGRESS already. RollBack, Drain or
// Complete take it on. It returns the id of the deployment rolled back to.
func (m *ECSModel) StartRollBack(ctx context.Context, cluster, service string) (string, error) {
	return m.circuitRollBack(ctx, cluster, service, false)
}

func (m *ECSModel) circuitRollBack(ctx context.Context, cluster, service string, failNow bool) (string, error) {
	var td string
	id, err := m.drive(cluster, service, func(s *modelService, p *modelDeployment, now time.Time) error {
		if failing := s.rollingBack(p); failing != nil {
			// StartRollBack came first: the rollback is under way.
			if failNow {
				failing.rollout, failing.reason, failing.updatedAt = RolloutFailed, CircuitBreakerFailed, now
			}
			return nil
		}
		rollout, reason := p.rollout, p.reason
		var err error
		if td, err = s.rollBack(p, CircuitBreakerFailed, "", now); err != nil {
			return err
		}
		if !failNow {
			// The first seconds: the failed deployment still reads as it did.
			p.rollout, p.reason = rollout, reason
		}
		p.sd.breaker, p.sd.failures = "TRIGGERED", circuitBreakerThreshold
		return nil
	})
	if err != nil || td == "" {
		return id, err
	}
	return id, m.repoint(ctx, cluster, service, td)
}

// rollBack rolls the PRIMARY deployment p of a rolling update back to the
// last completed deployment, as the circuit breaker does (see
// [ECSModel.RollBack]): p fails with reason, and the completed deployment
// becomes PRIMARY again, with its own id, IN_PROGRESS and no longer
// COMPLETED. The rollback's reason is rollbackReason, or
// [RollingBackReason] if empty. It returns the task definition rolled back
// to. Called with m.mu held.
func (s *modelService) rollBack(p *modelDeployment, reason, rollbackReason string, now time.Time) (string, error) {
	to := s.lastCompleted
	switch {
	case p.rollout == RolloutCompleted:
		return "", fmt.Errorf("deployment %s has completed: nothing to roll back", p.id)
	case to == nil || to == p:
		return "", errors.New("no deployment is COMPLETED: the circuit breaker has nothing to roll back to")
	}
	rollbackReason = cmp.Or(rollbackReason, RollingBackReason(to.id))
	p.status, p.rollout, p.reason, p.updatedAt = DeploymentActive, RolloutFailed, reason, now
	sd := p.sd
	sd.status, sd.statusReason, sd.updatedAt = ServiceDeploymentRollbackInProgress, reason, now
	sd.rollback = &sdRollback{reason: rollbackReason, revision: to.revision, startedAt: now}
	s.deployments = slices.DeleteFunc(s.deployments, func(d *modelDeployment) bool { return d == to })
	to.status, to.rollout, to.reason, to.updatedAt = DeploymentPrimary, RolloutInProgress, rollbackReason, now
	to.sd, to.rollback = sd, true
	s.deployments = slices.Insert(s.deployments, 0, to)
	s.lastCompleted = nil
	return to.taskDefinition, nil
}

// repoint points moto's service at the task definition a rollback returned
// to, so that [Env.Local] agrees with the model. It must not be called
// with m.mu held.
func (m *ECSModel) repoint(ctx context.Context, cluster, service, td string) error {
	if _, err := m.moto.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(cluster), Service: aws.String(service), TaskDefinition: aws.String(td),
	}); err != nil {
		return fmt.Errorf("point moto's %s/%s at %s: %w", cluster, service, td, err)
	}
	return nil
}

// rollingBack returns, when p is a rollback deployment StartRollBack began,
// the failed deployment still IN_PROGRESS beside it; nil otherwise.
func (s *modelService) rollingBack(p *modelDeployment) *modelDeployment {
	if !p.rollback || p.rollout != RolloutInProgress {
		return nil
	}
	for _, d := range s.deployments {
		if d != p && d.sd == p.sd && d.rollout == RolloutInProgress {
			return d
		}
	}
	return nil
}

// Drain removes every deployment but the PRIMARY one from the list, as ECS
// does once their tasks have stopped: a FAILED deployment is shown, and then
// gone.
func (m *ECSModel) Drain(cluster, service string) error {
	_, err := m.drive(cluster, service, func(s *modelService, p *modelDeployment, _ time.Time) error {
		s.deployments = []*modelDeployment{p}
		return nil
	})
	return err
}

// drive applies change to the service's PRIMARY deployment under the lock
// and returns the id of the PRIMARY deployment afterwards.
func (m *ECSModel) drive(cluster, service string, change func(s *modelService, p *modelDeployment, now time.Time) error) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.services[keyOf(cluster, service)]
	if s == nil || len(s.deployments) == 0 {
		return "", fmt.Errorf("ECS model: no deployment of %s/%s (a call through the proxy must name the service first)", cluster, service)
	}
	if err := change(s, s.deployments[0], m.now()); err != nil {
		return "", fmt.Errorf("ECS model: %s/%s: %w", cluster, service, err)
	}
	return s.deployments[0].id, nil
}

func keyOf(cluster, service string) serviceKey {
	return serviceKey{cluster: ecsref.ClusterName(cmp.Or(cluster, "default")), service: ecsref.ServiceName(service)}
}

// seen is what the model needs of a service moto has, to learn it.
type seen struct {
	arn, clusterARN, controller, taskDefinition string
	deploymentID, rollout                       string
	createdAt                                   time.Time
	config                                      map[string]any // moto's deploymentConfiguration
}

// learn returns the model of the service, creating it from moto's view if the
// model does not know it; fresh replaces a known one (a service created
// again). Called with m.mu held.
func (m *ECSModel) learn(k serviceKey, v seen, fresh bool) *modelService {
	if s := m.services[k]; s != nil && !fresh {
		return s
	}
	s := &modelService{arn: v.arn, clusterARN: v.clusterARN, controller: cmp.Or(v.controller, "ECS"), taskDefinition: v.taskDefinition}
	m.services[k] = s
	if s.controller != "ECS" || v.deploymentID == "" {
		s.firstTaskSet(v.taskDefinition, m.now())
		return s
	}
	at := v.createdAt
	if at.IsZero() {
		at = m.now()
	}
	d := s.start(v.deploymentID, v.taskDefinition, at)
	if v.rollout == RolloutCompleted || !fresh {
		// A service that ran before the test has finished its rollout.
		d.rollout, d.reason = RolloutCompleted, localaws.CompletedReason(d.id)
		d.sd.status, d.sd.breaker, d.sd.finishedAt = ServiceDeploymentSuccessful, "MONITORING_COMPLETE", at
		s.lastCompleted = d
	}
	return s
}

// start starts a deployment: the PRIMARY one becomes ACTIVE, and an ongoing
// service deployment is stopped.
func (s *modelService) start(id, taskDefinition string, now time.Time) *modelDeployment {
	var sources []*serviceRevision
	for _, d := range s.deployments {
		if d.status == DeploymentPrimary {
			d.status, d.updatedAt = DeploymentActive, now
		}
		if !slices.Contains(sources, d.revision) {
			sources = append(sources, d.revision)
		}
		switch d.sd.status {
		case ServiceDeploymentInProgress:
			d.sd.status, d.sd.statusReason = ServiceDeploymentStopped, SupersededReason
			d.sd.stoppedAt, d.sd.finishedAt, d.sd.updatedAt = now, now, now
		case ServiceDeploymentRollbackInProgress:
			// A rollback cut short: it keeps the failure's reason (AWS
			// documents nothing of this case; the model keeps what is
			// known, that the deployment failed).
			d.sd.status, d.sd.stoppedAt, d.sd.finishedAt, d.sd.updatedAt = ServiceDeploymentStopped, now, now, now
		}
	}
	rev := &serviceRevision{arn: s.resourceARN("service-revision", strings.TrimPrefix(id, "ecs-svc/")), taskDefinition: taskDefinition, createdAt: now}
	s.revisions = append(s.revisions, rev)
	sd := &serviceDeployment{
		arn: s.resourceARN("service-deployment", opaqueID(s.arn, id)), status: ServiceDeploymentInProgress,
		createdAt: now, updatedAt: now, target: rev, sources: sources, breaker: "MONITORING",
	}
	s.history = append(s.history, sd)
	d := &modelDeployment{
		id: id, status: DeploymentPrimary, rollout: RolloutInProgress, reason: localaws.InProgressReason(id),
		taskDefinition: taskDefinition, createdAt: now, updatedAt: now, revision: rev, sd: sd,
	}
	s.deployments = slices.Insert(s.deployments, 0, d)
	return d
}

// newID returns a deployment id of ECS's shape that the service has not
// used.
func (s *modelService) newID() string {
	for {
		id := fmt.Sprintf("ecs-svc/%019d", rand.Int64N(1e18)+1e18)
		if !s.hasID(id) {
			return id
		}
	}
}

func (s *modelService) hasID(id string) bool {
	suffix := "/" + strings.TrimPrefix(id, "ecs-svc/")
	for _, r := range s.revisions {
		if strings.HasSuffix(r.arn, suffix) {
			return true
		}
	}
	for _, d := range s.deployments {
		if d.id == id {
			return true
		}
	}
	return false
}

// resourceARN returns the ARN of a resource of the service:
// arn:aws:ecs:REGION:ACCOUNT:KIND/CLUSTER/SERVICE/ID, the shape of the
// examples of DescribeServiceDeployments (API Reference).
func (s *modelService) resourceARN(kind, id string) string {
	prefix, path, _ := strings.Cut(s.arn, ":service/")
	return prefix + ":" + kind + "/" + path + "/" + id
}

// opaqueID returns the 21-character id of a service deployment ARN, derived
// from the deployment so that it is stable but not guessable from it.
func opaqueID(serviceARN, deploymentID string) string {
	sum := sha256.Sum256([]byte(serviceARN + "\x00" + deploymentID))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:21]
}

func (s *modelService) primary() *modelDeployment {
	if len(s.deployments) == 0 {
		return nil
	}
	return s.deployments[0]
}

// --- the intercepted operations ---

// serviceRequest holds the members of CreateService and UpdateService the
// model reads.
type serviceRequest struct {
	Cluster            string `json:"cluster"`
	Service            string `json:"service"`
	ServiceName        string `json:"serviceName"`
	TaskDefinition     string `json:"taskDefinition"`
	ForceNewDeployment bool   `json:"forceNewDeployment"`
	// DeploymentConfiguration is the configuration sent, merged into the
	// model's (see modelService.config).
	DeploymentConfiguration map[string]any `json:"deploymentConfiguration"`
	DeploymentController    *struct {
		Type string `json:"type"`
	} `json:"deploymentController"`
}

func (m *ECSModel) createService(ctx context.Context, in Intercepted) (*Response, error) {
	return m.rewriteService(ctx, in, func(ctx context.Context, req serviceRequest, v seen) {
		m.mu.Lock()
		defer m.mu.Unlock()
		s := m.learn(keyOf(req.Cluster, req.ServiceName), v, true)
		s.config = mergeConfig(nil, req.DeploymentConfiguration)
	})
}

func (m *ECSModel) updateService(ctx context.Context, in Intercepted) (*Response, error) {
	var req serviceRequest
	if err := json.Unmarshal(in.Call.Request, &req); err != nil {
		return in.Forward(ctx)
	}
	k := keyOf(req.Cluster, req.Service)
	s, err := m.lookup(ctx, k)
	if err != nil {
		return in.Forward(ctx) // moto answers the missing service or cluster
	}
	want := ""
	if req.TaskDefinition != "" {
		want = m.resolve(ctx, req.TaskDefinition)
	}
	m.mu.Lock()
	controller, current := s.controller, s.taskDefinition
	m.mu.Unlock()
	if want != "" && controller != "ECS" && !ecsref.SameRevision(want, current) {
		msg := CodeDeployUpdateRefused
		if controller == "EXTERNAL" {
			msg = ExternalUpdateRefused
		}
		return in.Error(http.StatusBadRequest, "InvalidParameterException", msg), nil
	}
	return m.rewriteService(ctx, in, func(ctx context.Context, req serviceRequest, v seen) {
		m.mu.Lock()
		defer m.mu.Unlock()
		s.taskDefinition = v.taskDefinition
		if req.DeploymentConfiguration != nil {
			s.config = mergeConfig(s.config, req.DeploymentConfiguration)
		}
		p := s.primary()
		if s.controller != "ECS" || p == nil {
			return
		}
		if (want != "" && want != p.taskDefinition) || req.ForceNewDeployment {
			id := v.deploymentID
			if id == "" || s.hasID(id) {
				id = s.newID()
			}
			listed := len(s.deployments)
			m.beginRollout(s, s.start(id, cmp.Or(want, p.taskDefinition), m.now()), listed)
		}
	})
}

// rewriteService forwards a CreateService or UpdateService, lets change
// update the model from moto's answer, and answers moto's service with the
// model's deployments.
func (m *ECSModel) rewriteService(ctx context.Context, in Intercepted, change func(context.Context, serviceRequest, seen)) (*Response, error) {
	var req serviceRequest
	_ = json.Unmarshal(in.Call.Request, &req)
	return rewrite(ctx, in, func(out map[string]any) {
		if svc, ok := out["service"].(map[string]any); ok {
			change(ctx, req, m.seenOf(ctx, svc))
			m.render(ctx, svc)
		}
	})
}

func (m *ECSModel) describeServices(ctx context.Context, in Intercepted) (*Response, error) {
	return rewrite(ctx, in, func(out map[string]any) {
		services, _ := out["services"].([]any)
		for _, v := range services {
			if svc, ok := v.(map[string]any); ok {
				m.render(ctx, svc)
			}
		}
	})
}

// rewrite forwards the call and answers moto's answer as change rewrites
// it; an error, or an answer that is not a JSON object, passes unchanged.
func rewrite(ctx context.Context, in Intercepted, change func(out map[string]any)) (*Response, error) {
	resp, err := in.Forward(ctx)
	if err != nil || resp.Status != http.StatusOK {
		return resp, err
	}
	var out map[string]any
	if err := decodeJSON(resp.Body, &out); err != nil {
		return resp, nil
	}
	change(out)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("ECS model: encode %s answer: %w", in.Call.Operation, err)
	}
	rewritten := *resp
	rewritten.Body = b
	return &rewritten, nil
}

// render learns svc (a service object of moto's answer) if need be and sets
// its deployments, taskDefinition and currentServiceDeployment to the
// model's. moto's first deployment is the template of the model's: launch
// type, network configuration and counts.
func (m *ECSModel) render(ctx context.Context, svc map[string]any) {
	cluster, name, ok := ecsref.ParseServiceARN(str(svc["serviceArn"]))
	if !ok {
		return
	}
	v := m.seenOf(ctx, svc)
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.learn(serviceKey{cluster, name}, v, false)
	if s.controller == "CODE_DEPLOY" {
		s.firstTaskSet(s.taskDefinition, m.now())
		m.renderTaskSets(svc, s)
		return
	}
	p := s.primary()
	if s.controller != "ECS" || p == nil {
		return
	}
	var template map[string]any
	if ds, _ := svc["deployments"].([]any); len(ds) > 0 {
		template, _ = ds[0].(map[string]any)
	}
	deployments := make([]any, len(s.deployments))
	for i, d := range s.deployments {
		o := make(map[string]any, len(template)+8)
		for k, v := range template {
			o[k] = v
		}
		o["id"], o["status"], o["taskDefinition"] = d.id, d.status, d.taskDefinition
		if !s.classic {
			o["rolloutState"], o["rolloutStateReason"] = d.rollout, d.reason
		} else {
			delete(o, "rolloutState")
			delete(o, "rolloutStateReason")
		}
		o["createdAt"], o["updatedAt"] = epoch(d.createdAt), epoch(d.updatedAt)
		if d.status == DeploymentPrimary {
			if desired, ok := svc["desiredCount"]; ok {
				o["desiredCount"] = desired
				if d.rollout == RolloutCompleted {
					o["runningCount"], o["pendingCount"] = desired, 0
				}
			}
		}
		deployments[i] = o
	}
	svc["deployments"] = deployments
	svc["taskDefinition"] = p.taskDefinition
	svc["currentServiceDeployment"] = s.history[len(s.history)-1].arn
	if s.config == nil && v.config != nil {
		s.config = v.config
	}
	if s.config != nil {
		svc["deploymentConfiguration"] = s.config
	}
}

// seenOf reads what the model needs from a service object of moto's answer.
func (m *ECSModel) seenOf(ctx context.Context, svc map[string]any) seen {
	v := seen{arn: str(svc["serviceArn"]), clusterARN: str(svc["clusterArn"]), taskDefinition: str(svc["taskDefinition"])}
	if dc, ok := svc["deploymentController"].(map[string]any); ok {
		v.controller = str(dc["type"])
	}
	v.config, _ = svc["deploymentConfiguration"].(map[string]any)
	if ds, _ := svc["deployments"].([]any); len(ds) > 0 {
		if d, ok := ds[0].(map[string]any); ok {
			v.deploymentID, v.rollout, v.createdAt = str(d["id"]), str(d["rolloutState"]), parseEpoch(d["createdAt"])
		}
	}
	if v.taskDefinition != "" {
		v.taskDefinition = m.resolve(ctx, v.taskDefinition)
	}
	return v
}

// lookup returns the model of a service, learning it from moto (directly,
// uncounted) if the model has not seen it.
func (m *ECSModel) lookup(ctx context.Context, k serviceKey) (*modelService, error) {
	m.mu.Lock()
	s := m.services[k]
	m.mu.Unlock()
	if s != nil {
		return s, nil
	}
	out, err := m.moto.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(k.cluster), Services: []string{k.service}})
	if err != nil {
		return nil, err
	}
	if len(out.Services) == 0 {
		return nil, &ecstypes.ServiceNotFoundException{Message: aws.String("Service not found.")}
	}
	svc := out.Services[0]
	v := seen{arn: aws.ToString(svc.ServiceArn), clusterARN: aws.ToString(svc.ClusterArn), taskDefinition: m.resolve(ctx, aws.ToString(svc.TaskDefinition))}
	if svc.DeploymentController != nil {
		v.controller = string(svc.DeploymentController.Type)
	}
	if len(svc.Deployments) > 0 {
		d := svc.Deployments[0]
		v.deploymentID, v.rollout, v.createdAt = aws.ToString(d.Id), string(d.RolloutState), aws.ToTime(d.CreatedAt)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.learn(k, v, false), nil
}

// resolve returns the ARN of a task definition reference (ARN,
// family:revision or family), or ref if moto does not know it.
func (m *ECSModel) resolve(ctx context.Context, ref string) string {
	if strings.HasPrefix(ref, "arn:") && strings.Contains(ref, ":task-definition/") {
		return ref
	}
	m.mu.Lock()
	arn, ok := m.resolved[ref]
	m.mu.Unlock()
	// A bare family names the latest revision, which a registration changes.
	if ok && strings.Contains(ref, ":") {
		return arn
	}
	out, err := m.moto.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil || out.TaskDefinition == nil {
		return ref
	}
	arn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	m.mu.Lock()
	m.resolved[ref] = arn
	m.mu.Unlock()
	return arn
}

// --- the service-deployments API ---

// refusable answers an operation of the service-deployments API as
// [ECSModel.RefuseServiceDeployments] says.
func (m *ECSModel) refusable(fn InterceptFunc) InterceptFunc {
	return func(ctx context.Context, in Intercepted) (*Response, error) {
		m.mu.Lock()
		how := m.refusal
		m.mu.Unlock()
		switch how {
		case RefuseAccessDenied:
			// The shape of IAM's denial, "Troubleshoot access denied
			// error messages", IAM User Guide.
			return in.Error(http.StatusBadRequest, "AccessDeniedException", fmt.Sprintf(
				"User: arn:aws:iam::%s:user/moto is not authorized to perform: ecs:%s on resource: * because no identity-based policy allows the ecs:%s action",
				localaws.AccountID, in.Call.Operation, in.Call.Operation)), nil
		case RefuseUnknownOperation:
			return in.Forward(ctx)
		}
		return fn(ctx, in)
	}
}

// apiError answers err as the AWS error it is, or forwards the call.
func apiError(in Intercepted, err error) (*Response, error) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return in.Error(http.StatusBadRequest, ae.ErrorCode(), ae.ErrorMessage()), nil
	}
	return nil, err
}

func (m *ECSModel) listServiceDeployments(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		Cluster   string   `json:"cluster"`
		Service   string   `json:"service"`
		Status    []string `json:"status"`
		CreatedAt *struct {
			After  any `json:"after"`
			Before any `json:"before"`
		} `json:"createdAt"`
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := json.Unmarshal(in.Call.Request, &req); err != nil || req.Service == "" {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", "service must be specified."), nil
	}
	s, err := m.lookup(ctx, keyOf(req.Cluster, req.Service))
	if err != nil {
		return apiError(in, err)
	}
	m.mu.Lock()
	var briefs []any
	// Newest first; the API Reference does not say the order.
	for _, sd := range slices.Backward(s.history) {
		if len(req.Status) > 0 && !slices.Contains(req.Status, sd.status) {
			continue
		}
		if req.CreatedAt != nil {
			if after := parseEpoch(req.CreatedAt.After); !after.IsZero() && !sd.createdAt.After(after) {
				continue
			}
			if before := parseEpoch(req.CreatedAt.Before); !before.IsZero() && !sd.createdAt.Before(before) {
				continue
			}
		}
		b := map[string]any{
			"serviceDeploymentArn": sd.arn, "serviceArn": s.arn, "clusterArn": s.clusterARN,
			"createdAt": epoch(sd.createdAt), "startedAt": epoch(sd.createdAt),
			"targetServiceRevisionArn": sd.target.arn, "status": sd.status,
		}
		setTime(b, "finishedAt", sd.finishedAt)
		setString(b, "statusReason", sd.statusReason)
		briefs = append(briefs, b)
	}
	m.mu.Unlock()
	start, _ := strconv.Atoi(req.NextToken)
	start = min(max(start, 0), len(briefs))
	size := cmp.Or(req.MaxResults, 20)
	out := map[string]any{"serviceDeployments": orEmpty(briefs[start:min(start+size, len(briefs))])}
	if start+size < len(briefs) {
		out["nextToken"] = strconv.Itoa(start + size)
	}
	return in.JSON(out)
}

func (m *ECSModel) describeServiceDeployments(_ context.Context, in Intercepted) (*Response, error) {
	return m.describeEach(in, "serviceDeploymentArns", "serviceDeployments", func(arn string) any {
		for _, s := range m.services {
			for _, sd := range s.history {
				if sd.arn == arn {
					return s.serviceDeployment(sd)
				}
			}
		}
		return nil
	})
}

func (m *ECSModel) describeServiceRevisions(_ context.Context, in Intercepted) (*Response, error) {
	return m.describeEach(in, "serviceRevisionArns", "serviceRevisions", func(arn string) any {
		for _, s := range m.services {
			for _, rev := range s.revisions {
				if rev.arn == arn {
					return map[string]any{
						"serviceRevisionArn": rev.arn, "serviceArn": s.arn, "clusterArn": s.clusterARN,
						"taskDefinition": rev.taskDefinition, "createdAt": epoch(rev.createdAt),
					}
				}
			}
		}
		return nil
	})
}

// describeEach answers a Describe call of up to 20 ARNs, given in the
// request's member arns: the objects describe returns under member found,
// and a failure with reason MISSING (the reason DescribeServices gives, "API
// failure reasons", Developer Guide) for each ARN describe does not know
// (nil). describe runs with m.mu held.
func (m *ECSModel) describeEach(in Intercepted, arns, found string, describe func(arn string) any) (*Response, error) {
	var req map[string][]string
	if err := json.Unmarshal(in.Call.Request, &req); err != nil || len(req[arns]) == 0 {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", arns+" must be specified."), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	objects, failures := []any{}, []any{}
	for _, arn := range req[arns] {
		if o := describe(arn); o != nil {
			objects = append(objects, o)
		} else {
			failures = append(failures, map[string]any{"arn": arn, "reason": "MISSING"})
		}
	}
	return in.JSON(map[string]any{found: objects, "failures": failures})
}

// serviceDeployment returns sd as DescribeServiceDeployments describes it.
func (s *modelService) serviceDeployment(sd *serviceDeployment) map[string]any {
	o := map[string]any{
		"serviceDeploymentArn": sd.arn, "serviceArn": s.arn, "clusterArn": s.clusterARN,
		"createdAt": epoch(sd.createdAt), "startedAt": epoch(sd.createdAt), "updatedAt": epoch(sd.updatedAt),
		"sourceServiceRevisions": revisionSummaries(sd.sources),
		"targetServiceRevision":  revisionSummaries([]*serviceRevision{sd.target})[0],
		"status":                 sd.status,
		"deploymentCircuitBreaker": map[string]any{
			"status": sd.breaker, "failureCount": sd.failures, "threshold": circuitBreakerThreshold,
		},
	}
	setTime(o, "finishedAt", sd.finishedAt)
	setTime(o, "stoppedAt", sd.stoppedAt)
	setString(o, "statusReason", sd.statusReason)
	if rb := sd.rollback; rb != nil {
		o["rollback"] = map[string]any{"reason": rb.reason, "serviceRevisionArn": rb.revision.arn, "startedAt": epoch(rb.startedAt)}
	}
	if r := sd.rollout; r != nil {
		r.describe(o)
	}
	return o
}

// revisionSummaries returns ServiceRevisionSummary objects. The model runs
// no tasks, so the counts are 0.
func revisionSummaries(revs []*serviceRevision) []any {
	out := make([]any, len(revs))
	for i, r := range revs {
		out[i] = map[string]any{"arn": r.arn, "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0}
	}
	return out
}

// --- JSON helpers ---

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// epoch returns t as awsJson writes a timestamp: seconds since the epoch, with
// milliseconds.
func epoch(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
}

// parseEpoch reads a timestamp as seconds since the epoch (a number) or an
// RFC 3339 string; zero if it is neither.
func parseEpoch(v any) time.Time {
	switch v := v.(type) {
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return time.UnixMilli(int64(f * 1000))
		}
	case float64:
		return time.UnixMilli(int64(v * 1000))
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

func setTime(o map[string]any, key string, t time.Time) {
	if !t.IsZero() {
		o[key] = epoch(t)
	}
}

func setString(o map[string]any, key, s string) {
	if s != "" {
		o[key] = s
	}
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}
