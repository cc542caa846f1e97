package event

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Event names of ECS Hook State Change events, one per status of a
// lifecycle hook ("Amazon ECS service deployment hook state change events"
// and "Pause hooks for Amazon ECS service deployments", Amazon ECS
// Developer Guide).
const (
	// HookInProgress: "A hook is in progress."
	HookInProgress = "HOOK_IN_PROGRESS"
	// HookAwaitingAction: "A pause hook has started and requires action to
	// complete. Call ContinueServiceDeployment to continue or roll back the
	// deployment."
	HookAwaitingAction = "HOOK_AWAITING_ACTION"
	// HookSucceeded: "The hook completed successfully. For pause hooks,
	// this means ContinueServiceDeployment was called with the CONTINUE
	// action."
	HookSucceeded = "HOOK_SUCCEEDED"
	// HookFailed: "The hook failed. For pause hooks, this means
	// ContinueServiceDeployment was called with the ROLLBACK action."
	HookFailed = "HOOK_FAILED"
	// HookTimedOut: "A hook timed out without completing."
	HookTimedOut = "HOOK_TIMED_OUT"
)

// Hook types ("DeploymentLifecycleHook", Amazon ECS API Reference).
const (
	HookTypePause  = "PAUSE"
	HookTypeLambda = "AWS_LAMBDA"
)

// HookChange is a change of state of a lifecycle hook of an ECS service
// deployment: a pause hook awaiting action (an approval), or a hook that
// succeeded, failed, timed out or is in progress.
type HookChange struct {
	ID      string    // EventBridge event id
	Time    time.Time // when ECS emitted the event
	Account string
	Region  string
	// ServiceARN is arn:aws:ecs:region:account:service/cluster/service.
	ServiceARN string
	Cluster    string
	Service    string
	// ServiceDeploymentARN is the service deployment the hook belongs to,
	// the one ContinueServiceDeployment names.
	ServiceDeploymentARN string
	// EventName is one of HookInProgress, HookAwaitingAction,
	// HookSucceeded, HookFailed and HookTimedOut.
	EventName string
	// HookID is the id ContinueServiceDeployment takes; a pause hook's is
	// new at every pause.
	HookID string
	// HookType is PAUSE or AWS_LAMBDA.
	HookType string
	// Stage is the lifecycle stage of the hook, as ECS spells it
	// (POST_TEST_TRAFFIC_SHIFT). Stage names are open: ECS documents more
	// than the SDK's enums list.
	Stage string
	// ExpiresAt is when the hook times out and ECS takes its timeout
	// action; zero when the event does not say.
	ExpiresAt time.Time
	// UpdatedAt orders the events of one hook.
	UpdatedAt time.Time
}

// Status returns the hook's status the event reports, as
// DescribeServiceDeployments spells it: AWAITING_ACTION, IN_PROGRESS,
// SUCCEEDED, FAILED or TIMED_OUT.
func (h HookChange) Status() string { return strings.TrimPrefix(h.EventName, "HOOK_") }

// Ended reports whether the hook is over: it succeeded, failed or timed out.
func (h HookChange) Ended() bool {
	return h.EventName == HookSucceeded || h.EventName == HookFailed || h.EventName == HookTimedOut
}

type ecsHookDetail struct {
	EventType            string  `json:"eventType"`
	EventName            string  `json:"eventName"`
	HookID               string  `json:"hookId"`
	HookType             string  `json:"hookType"`
	ExpiresAt            *string `json:"expiresAt"`
	LifecycleStage       string  `json:"lifecycleStage"`
	ClusterARN           string  `json:"clusterArn"`
	ServiceARN           string  `json:"serviceArn"`
	ServiceDeploymentARN string  `json:"serviceDeploymentArn"`
	UpdatedAt            *string `json:"updatedAt"`
}

// decodeHookChange decodes the detail of an ECS Hook State Change, in the
// shape of the documentation's examples: eventType, eventName, hookId,
// hookType, expiresAt, lifecycleStage, clusterArn, serviceArn,
// serviceDeploymentArn and updatedAt. The service deployment must be of the
// service the event names, in its cluster.
func decodeHookChange(env events.CloudWatchEvent) (HookChange, error) {
	var d ecsHookDetail
	if err := decodeDetail(env.Detail, &d); err != nil {
		return HookChange{}, err
	}
	switch d.EventName {
	case HookInProgress, HookAwaitingAction, HookSucceeded, HookFailed, HookTimedOut:
	default:
		return HookChange{}, bad("detail.eventName", fmt.Sprintf("unknown hook event %s", input.Quote(d.EventName)))
	}
	cluster, service, ok := ecsref.ParseServiceARN(d.ServiceARN)
	if !ok || cluster == "" {
		return HookChange{}, bad("detail.serviceArn", fmt.Sprintf("%s is not an ECS service ARN", input.Quote(d.ServiceARN)))
	}
	sdCluster, sdService, ok := parseServiceDeploymentARN(d.ServiceDeploymentARN)
	switch {
	case !ok:
		return HookChange{}, bad("detail.serviceDeploymentArn", fmt.Sprintf("%s is not an ECS service deployment ARN", input.Quote(d.ServiceDeploymentARN)))
	case sdCluster != cluster || sdService != service || !sameAccountAndRegion(d.ServiceDeploymentARN, d.ServiceARN):
		return HookChange{}, bad("detail.serviceDeploymentArn", fmt.Sprintf("%s is not a deployment of service %s", input.Quote(d.ServiceDeploymentARN), input.Quote(d.ServiceARN)))
	case d.ClusterARN != "" && ecsref.ClusterName(d.ClusterARN) != cluster:
		return HookChange{}, bad("detail.clusterArn", fmt.Sprintf("%s is not the cluster of service %s", input.Quote(d.ClusterARN), input.Quote(d.ServiceARN)))
	case d.HookID == "":
		return HookChange{}, bad("detail.hookId", "missing")
	case d.LifecycleStage == "":
		return HookChange{}, bad("detail.lifecycleStage", "missing")
	}
	h := HookChange{
		ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region,
		ServiceARN: d.ServiceARN, Cluster: cluster, Service: service, ServiceDeploymentARN: d.ServiceDeploymentARN,
		EventName: d.EventName, HookID: d.HookID, HookType: d.HookType, Stage: d.LifecycleStage,
	}
	var err error
	if h.ExpiresAt, err = detailTime("detail.expiresAt", d.ExpiresAt); err != nil {
		return HookChange{}, err
	}
	if h.UpdatedAt, err = detailTime("detail.updatedAt", d.UpdatedAt); err != nil {
		return HookChange{}, err
	}
	return h, nil
}

// detailTime parses a time of the detail, naming its field when it is not
// an RFC 3339 time; nil is the zero time.
func detailTime(field string, s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, bad(field, fmt.Sprintf("bad time %s: want an RFC 3339 time such as 2026-11-27T09:30:00Z", input.Quote(*s)))
	}
	return t, nil
}

// parseServiceDeploymentARN returns the cluster and service of
// arn:aws:ecs:region:account:service-deployment/cluster/service/id, the
// shape of the ARNs of "DescribeServiceDeployments" (API Reference).
func parseServiceDeploymentARN(arn string) (cluster, service string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", "", false
	}
	resource, ok := strings.CutPrefix(parts[5], "service-deployment/")
	if !ok {
		return "", "", false
	}
	path := strings.Split(resource, "/")
	if len(path) != 3 || path[0] == "" || path[1] == "" || path[2] == "" {
		return "", "", false
	}
	return path[0], path[1], true
}

// sameAccountAndRegion reports whether two ARNs have the same partition,
// region and account.
func sameAccountAndRegion(a, b string) bool {
	pa, pb := strings.SplitN(a, ":", 6), strings.SplitN(b, ":", 6)
	return len(pa) == 6 && len(pb) == 6 && pa[1] == pb[1] && pa[3] == pb[3] && pa[4] == pb[4]
}
