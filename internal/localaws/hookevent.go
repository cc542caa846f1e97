package localaws

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Event names of "ECS Hook State Change" events ("Amazon ECS service
// deployment hook state change events", Amazon ECS Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_hook_state_change_events.html;
// the pause hooks' four are also listed in "Pause hooks for Amazon ECS
// service deployments",
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html).
const (
	// EventHookInProgress: "A hook is in progress."
	EventHookInProgress = "HOOK_IN_PROGRESS"
	// EventHookAwaitingAction: "A pause hook has started and requires
	// action to complete."
	EventHookAwaitingAction = "HOOK_AWAITING_ACTION"
	// EventHookSucceeded: "The hook completed successfully. For pause
	// hooks, this means ContinueServiceDeployment was called with the
	// CONTINUE action."
	EventHookSucceeded = "HOOK_SUCCEEDED"
	// EventHookFailed: "The hook failed. For pause hooks, this means
	// ContinueServiceDeployment was called with the ROLLBACK action."
	EventHookFailed = "HOOK_FAILED"
	// EventHookTimedOut: "A hook timed out without completing."
	EventHookTimedOut = "HOOK_TIMED_OUT"
)

// DetailHookStateChange is the detail-type of the events.
const DetailHookStateChange = "ECS Hook State Change"

// HookEvent is an "ECS Hook State Change" event as EventBridge delivers it,
// in the shape of the examples of "Amazon ECS service deployment hook state
// change events" and "Pause hooks for Amazon ECS service deployments"
// (Developer Guide): version "0", an id, detail-type, source aws.ecs,
// account, time, region, resources [the service deployment ARN] and a
// detail of eventType, eventName, hookId, hookType, expiresAt,
// lifecycleStage, clusterArn, serviceArn, serviceDeploymentArn and
// updatedAt.
type HookEvent struct {
	// ID is the EventBridge event id; a random UUID if empty.
	ID string
	// ServiceDeploymentARN is
	// arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID; the
	// event's account, region, cluster and service ARNs are made from it.
	ServiceDeploymentARN string
	// EventName is one of the EventHook* constants.
	EventName string
	// EventType is the detail's eventType: INFO if empty. The
	// documentation shows only INFO (for HOOK_AWAITING_ACTION); what ECS
	// sends for a failed or timed-out hook is not documented.
	EventType string
	HookID    string
	// HookType is PAUSE or AWS_LAMBDA.
	HookType string
	// Stage is the lifecycle stage the hook runs at, such as
	// POST_TEST_TRAFFIC_SHIFT.
	Stage string
	// ExpiresAt is when the hook times out; left out of the event if zero.
	ExpiresAt time.Time
	// At is the detail's updatedAt and the event's time; now if zero.
	At time.Time
}

// JSON returns the event as EventBridge delivers it to a Lambda function.
func (e HookEvent) JSON() ([]byte, error) {
	// arn:aws:ecs:region:account:service-deployment/cluster/service/id
	parts := strings.SplitN(e.ServiceDeploymentARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[5], "service-deployment/") {
		return nil, fmt.Errorf("hook event: %q is not an ECS service deployment ARN", e.ServiceDeploymentARN)
	}
	path := strings.Split(strings.TrimPrefix(parts[5], "service-deployment/"), "/")
	if len(path) != 3 {
		return nil, fmt.Errorf("hook event: %q is not an ECS service deployment ARN", e.ServiceDeploymentARN)
	}
	switch e.EventName {
	case EventHookInProgress, EventHookAwaitingAction, EventHookSucceeded, EventHookFailed, EventHookTimedOut:
	default:
		return nil, fmt.Errorf("hook event: unknown event name %q", e.EventName)
	}
	prefix := strings.Join(parts[:5], ":")
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	type detail struct {
		EventType            string `json:"eventType"`
		EventName            string `json:"eventName"`
		HookID               string `json:"hookId"`
		HookType             string `json:"hookType"`
		ExpiresAt            string `json:"expiresAt,omitempty"`
		LifecycleStage       string `json:"lifecycleStage"`
		ClusterARN           string `json:"clusterArn"`
		ServiceARN           string `json:"serviceArn"`
		ServiceDeploymentARN string `json:"serviceDeploymentArn"`
		UpdatedAt            string `json:"updatedAt"`
	}
	d := detail{
		EventType: cmp.Or(e.EventType, "INFO"), EventName: e.EventName, HookID: e.HookID, HookType: e.HookType,
		LifecycleStage: e.Stage,
		ClusterARN:     prefix + ":cluster/" + path[0],
		ServiceARN:     prefix + ":service/" + path[0] + "/" + path[1],
		// The documentation's examples write updatedAt with nanoseconds.
		ServiceDeploymentARN: e.ServiceDeploymentARN, UpdatedAt: at.Format(time.RFC3339Nano),
	}
	if !e.ExpiresAt.IsZero() {
		d.ExpiresAt = e.ExpiresAt.UTC().Format(time.RFC3339)
	}
	// The envelope's fields are in the order of the documentation's
	// examples too.
	return marshalECSEvent(e.ID, DetailHookStateChange, parts, at, e.ServiceDeploymentARN, d)
}
