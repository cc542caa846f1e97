package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Errors of the calls on a service deployment, translated from ECS's.
var (
	// ErrServiceDeploymentNotFound is a service deployment ECS does not
	// know (ServiceDeploymentNotFoundException, or a MISSING failure of
	// DescribeServiceDeployments).
	ErrServiceDeploymentNotFound = errors.New("service deployment not found")
	// ErrHookNotAwaiting is ECS's refusal to continue a lifecycle hook:
	// the hook is not awaiting action (it was continued, rolled back or
	// timed out) or the deployment is no longer in progress ("You can
	// continue a deployment that has a pause hook in AWAITING_ACTION
	// status. The deployment must be in the IN_PROGRESS state",
	// "Continuing service deployments", Amazon ECS Developer Guide). ECS
	// documents no text for this refusal, so any InvalidParameterException
	// or ClientException of ContinueServiceDeployment is taken for it,
	// with ECS's message kept.
	ErrHookNotAwaiting = errors.New("lifecycle hook is not awaiting action")
	// ErrDeploymentEnded is a stop of a deployment that has ended: ECS's
	// refusal to stop a service deployment (ConflictException: "The request
	// could not be processed because of conflict in the current state of
	// the resource"), or CodeDeploy's (DeploymentAlreadyCompletedException).
	ErrDeploymentEnded = errors.New("the deployment has ended")
)

// HookAction is what ContinueServiceDeployment does with a paused hook.
type HookAction string

// The actions of ContinueServiceDeployment ("DeploymentLifecycleHookAction",
// API Reference).
const (
	// Continue proceeds to the next lifecycle stage.
	Continue HookAction = "CONTINUE"
	// Rollback rolls the deployment back to the previous service revision.
	Rollback HookAction = "ROLLBACK"
)

// ContinueServiceDeployment answers the paused lifecycle hook hookID of a
// service deployment: CONTINUE (an approval) or ROLLBACK (a rejection).
// It returns an error wrapping ErrServiceDeploymentNotFound when ECS does
// not know the deployment, and ErrHookNotAwaiting when the hook is not
// awaiting action.
func ContinueServiceDeployment(ctx context.Context, client ECSAPI, serviceDeploymentARN, hookID string, action HookAction) error {
	_, err := client.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(serviceDeploymentARN), HookId: aws.String(hookID), Action: ecstypes.DeploymentLifecycleHookAction(action),
	})
	if err == nil {
		return nil
	}
	var nf *ecstypes.ServiceDeploymentNotFoundException
	var ip *ecstypes.InvalidParameterException
	var ce *ecstypes.ClientException
	switch {
	case errors.As(err, &nf):
		err = ErrServiceDeploymentNotFound
	case errors.As(err, &ip):
		err = fmt.Errorf("%w: %s", ErrHookNotAwaiting, ip.ErrorMessage())
	case errors.As(err, &ce):
		err = fmt.Errorf("%w: %s", ErrHookNotAwaiting, ce.ErrorMessage())
	}
	return fmt.Errorf("continue service deployment %s hook %s (%s): %w", serviceDeploymentARN, hookID, action, err)
}

// StopServiceDeployment stops a service deployment in progress and rolls
// it back to the previous service revision (stop type ROLLBACK: "You can
// use this option even if you didn't configure the service deployment for
// the rollback option", API Reference). A deployment whose rollback was
// already requested goes on with it. It returns an error wrapping
// ErrServiceDeploymentNotFound when ECS does not know the deployment, and
// ErrDeploymentEnded when it has ended.
func StopServiceDeployment(ctx context.Context, client ECSAPI, serviceDeploymentARN string) error {
	_, err := client.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(serviceDeploymentARN), StopType: ecstypes.StopServiceDeploymentStopTypeRollback,
	})
	if err == nil {
		return nil
	}
	var nf *ecstypes.ServiceDeploymentNotFoundException
	var conflict *ecstypes.ConflictException
	switch {
	case errors.As(err, &nf):
		err = ErrServiceDeploymentNotFound
	case errors.As(err, &conflict):
		err = fmt.Errorf("%w: %s", ErrDeploymentEnded, conflict.ErrorMessage())
	}
	return fmt.Errorf("stop service deployment %s: %w", serviceDeploymentARN, err)
}

// ServiceDeploymentDetail is a service deployment as
// DescribeServiceDeployments reports it, with what judging a deployment of
// the blue-green family needs.
type ServiceDeploymentDetail struct {
	ARN string
	// Status is ECS's: PENDING, IN_PROGRESS, SUCCESSFUL, STOP_REQUESTED,
	// STOPPED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS,
	// ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED ("ServiceDeployment", API
	// Reference; ServiceDeploymentStatus in aws-sdk-go-v2/service/ecs).
	Status string
	Reason string
	// Stage is the lifecycle stage, as ECS spells it; "" for a rolling
	// update. Stage names are open: ECS reports PRE_PRODUCTION_TRAFFIC_SHIFT,
	// which the SDK's enum lacks.
	Stage string
	// Strategy is the deployment's strategy as ECS spells it (ROLLING,
	// BLUE_GREEN, LINEAR, CANARY); "" when ECS does not say.
	Strategy string
	// BakeMinutes, CanaryBakeMinutes and StepBakeMinutes are the bake
	// times of the deployment's configuration; CanaryPercent and
	// StepPercent its shares of traffic. nil when it does not set them.
	BakeMinutes, CanaryBakeMinutes, StepBakeMinutes *int32
	CanaryPercent, StepPercent                      *float64
	// TargetRevisionARN is the service revision being deployed.
	TargetRevisionARN string
	// Production and Test are the shares of production and test traffic
	// ECS sends to the target revision, in percent; nil when ECS does not
	// report them (a rolling update).
	Production, Test *float64
	// Hooks are the lifecycle hooks ECS lists for the deployment.
	Hooks []HookDetail
	// Rollback is the rollback of the deployment; nil when there is none.
	Rollback *RollbackDetail
	// TriggeredAlarms are the CloudWatch alarms that went into ALARM.
	TriggeredAlarms []string
	// CircuitBreaker is the circuit breaker's status (TRIGGERED, ...).
	CircuitBreaker                                         string
	CreatedAt, StartedAt, UpdatedAt, FinishedAt, StoppedAt time.Time
}

// HookDetail is a lifecycle hook of a service deployment
// ("DeploymentLifecycleHookDetail", API Reference).
type HookDetail struct {
	ID string
	// Type is PAUSE or AWS_LAMBDA.
	Type string
	// Status is AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED or
	// TIMED_OUT.
	Status string
	// TargetARN is a Lambda hook's function.
	TargetARN string
	// TimeoutAction is what ECS does when the hook times out: CONTINUE or
	// ROLLBACK.
	TimeoutAction string
	ExpiresAt     time.Time
}

// RollbackDetail is the rollback of a service deployment ("Rollback", API
// Reference).
type RollbackDetail struct {
	Reason string
	// RevisionARN is the service revision ECS rolled back to.
	RevisionARN string
	StartedAt   time.Time
}

// AwaitingHook returns the pause hook awaiting action; ok is false when
// none is.
func (sd ServiceDeploymentDetail) AwaitingHook() (HookDetail, bool) {
	for _, h := range sd.Hooks {
		if h.Status == string(ecstypes.DeploymentLifecycleHookStatusAwaitingAction) {
			return h, true
		}
	}
	return HookDetail{}, false
}

// DescribeServiceDeployments describes service deployments, 20 a call (the
// API's limit), and returns them by ARN. Deployments ECS does not know are
// absent from the map. It returns an error wrapping ErrNoServiceDeployments
// when the account or region refuses the API (AccessDeniedException,
// UnsupportedFeatureException).
func DescribeServiceDeployments(ctx context.Context, client ECSAPI, arns []string) (map[string]ServiceDeploymentDetail, error) {
	found := make(map[string]ServiceDeploymentDetail, len(arns))
	for chunk := range slices.Chunk(slices.Compact(slices.Sorted(slices.Values(arns))), 20) {
		out, err := client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: chunk})
		if err != nil {
			var ad *ecstypes.AccessDeniedException
			var uf *ecstypes.UnsupportedFeatureException
			if errors.As(err, &ad) || errors.As(err, &uf) {
				return nil, fmt.Errorf("describe service deployments: %w: %w", ErrNoServiceDeployments, err)
			}
			return nil, fmt.Errorf("describe service deployments: %w", err)
		}
		for _, sd := range out.ServiceDeployments {
			d := serviceDeploymentDetail(sd)
			found[d.ARN] = d
		}
	}
	return found, nil
}

// DescribeServiceDeployment describes one service deployment. It returns an
// error wrapping ErrServiceDeploymentNotFound when ECS does not know it,
// and the errors of DescribeServiceDeployments.
func DescribeServiceDeployment(ctx context.Context, client ECSAPI, arn string) (ServiceDeploymentDetail, error) {
	found, err := DescribeServiceDeployments(ctx, client, []string{arn})
	if err != nil {
		return ServiceDeploymentDetail{}, err
	}
	sd, ok := found[arn]
	if !ok {
		return ServiceDeploymentDetail{}, fmt.Errorf("describe service deployment %s: %w", arn, ErrServiceDeploymentNotFound)
	}
	return sd, nil
}

// serviceDeploymentDetail converts ECS's description of a service
// deployment.
func serviceDeploymentDetail(sd ecstypes.ServiceDeployment) ServiceDeploymentDetail {
	d := ServiceDeploymentDetail{
		ARN: aws.ToString(sd.ServiceDeploymentArn), Status: string(sd.Status), Reason: aws.ToString(sd.StatusReason),
		Stage:     string(sd.LifecycleStage),
		CreatedAt: aws.ToTime(sd.CreatedAt), StartedAt: aws.ToTime(sd.StartedAt), UpdatedAt: aws.ToTime(sd.UpdatedAt),
		FinishedAt: aws.ToTime(sd.FinishedAt), StoppedAt: aws.ToTime(sd.StoppedAt),
	}
	if c := sd.DeploymentConfiguration; c != nil {
		d.Strategy, d.BakeMinutes = string(c.Strategy), c.BakeTimeInMinutes
		if k := c.CanaryConfiguration; k != nil {
			d.CanaryPercent, d.CanaryBakeMinutes = k.CanaryPercent, k.CanaryBakeTimeInMinutes
		}
		if l := c.LinearConfiguration; l != nil {
			d.StepPercent, d.StepBakeMinutes = l.StepPercent, l.StepBakeTimeInMinutes
		}
	}
	if t := sd.TargetServiceRevision; t != nil {
		d.TargetRevisionARN = aws.ToString(t.Arn)
		d.Production, d.Test = t.RequestedProductionTrafficWeight, t.RequestedTestTrafficWeight
	}
	for _, h := range sd.LifecycleHookDetails {
		d.Hooks = append(d.Hooks, HookDetail{
			ID: aws.ToString(h.HookId), Type: string(h.TargetType), Status: string(h.Status), TargetARN: aws.ToString(h.TargetArn),
			TimeoutAction: string(h.TimeoutAction), ExpiresAt: aws.ToTime(h.ExpiresAt),
		})
	}
	if r := sd.Rollback; r != nil {
		d.Rollback = &RollbackDetail{Reason: aws.ToString(r.Reason), RevisionARN: aws.ToString(r.ServiceRevisionArn), StartedAt: aws.ToTime(r.StartedAt)}
	}
	if a := sd.Alarms; a != nil {
		d.TriggeredAlarms = a.TriggeredAlarmNames
	}
	if cb := sd.DeploymentCircuitBreaker; cb != nil {
		d.CircuitBreaker = string(cb.Status)
	}
	return d
}
