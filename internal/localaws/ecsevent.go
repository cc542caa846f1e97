package localaws

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Event names of "ECS Deployment State Change" events ("Amazon ECS service
// deployment state change events", Amazon ECS Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html).
const (
	EventDeploymentInProgress = "SERVICE_DEPLOYMENT_IN_PROGRESS"
	EventDeploymentCompleted  = "SERVICE_DEPLOYMENT_COMPLETED"
	EventDeploymentFailed     = "SERVICE_DEPLOYMENT_FAILED"
)

// DeploymentEvent is an "ECS Deployment State Change" event as EventBridge
// delivers it, in the shape of the examples of "Amazon ECS service
// deployment state change events" (Developer Guide): version "0", an id,
// detail-type, source aws.ecs, account, time, region, resources [the
// service ARN] and a detail of eventType (INFO, or ERROR for a failure),
// eventName, deploymentId, updatedAt and reason.
type DeploymentEvent struct {
	// ID is the EventBridge event id; a random UUID if empty. Two
	// deliveries of one event share it.
	ID string
	// ServiceARN is arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE; the
	// event's account and region are read from it.
	ServiceARN string
	// EventName is one of the Event* constants.
	EventName    string
	DeploymentID string
	// Reason is the detail's reason; if empty, the one of the
	// documentation's example for EventName: "ECS deployment ID in
	// progress.", "ECS deployment ID completed." or the circuit breaker's "task failed to start".
	Reason string
	// At is the detail's updatedAt and the event's time; now if zero.
	At time.Time
}

// JSON returns the event as EventBridge delivers it to a Lambda function.
func (e DeploymentEvent) JSON() ([]byte, error) {
	// arn:aws:ecs:region:account:service/cluster/service
	parts := strings.SplitN(e.ServiceARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[5], "service/") {
		return nil, fmt.Errorf("deployment event: %q is not an ECS service ARN", e.ServiceARN)
	}
	eventType, reason := "INFO", e.Reason
	switch e.EventName {
	case EventDeploymentInProgress:
		reason = cmp.Or(reason, InProgressReason(e.DeploymentID))
	case EventDeploymentCompleted:
		reason = cmp.Or(reason, CompletedReason(e.DeploymentID))
	case EventDeploymentFailed:
		eventType, reason = "ERROR", cmp.Or(reason, "ECS deployment circuit breaker: task failed to start.")
	default:
		return nil, fmt.Errorf("deployment event: unknown event name %q", e.EventName)
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	type detail struct {
		EventType    string `json:"eventType"`
		EventName    string `json:"eventName"`
		DeploymentID string `json:"deploymentId"`
		UpdatedAt    string `json:"updatedAt"`
		Reason       string `json:"reason"`
	}
	return marshalECSEvent(e.ID, "ECS Deployment State Change", parts, at, e.ServiceARN, detail{
		EventType: eventType, EventName: e.EventName, DeploymentID: e.DeploymentID,
		UpdatedAt: at.Format("2006-01-02T15:04:05.000Z"), Reason: reason,
	})
}

// ecsEvent is the envelope EventBridge puts ECS's events in, its fields in
// the order EventBridge writes them.
type ecsEvent[D any] struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     D        `json:"detail"`
}

// marshalECSEvent writes an ECS event of detailType about resource (an
// ARN, split into arn parts), sent at at with id (a new one when ""), and
// its detail.
func marshalECSEvent[D any](id, detailType string, arn []string, at time.Time, resource string, detail D) ([]byte, error) {
	return json.MarshalIndent(ecsEvent[D]{
		Version: "0", ID: cmp.Or(id, newEventID()), DetailType: detailType, Source: "aws.ecs",
		Account: arn[4], Time: at.Format(time.RFC3339), Region: arn[3], Resources: []string{resource},
		Detail: detail,
	}, "", "  ")
}

// newEventID returns a random (version 4) UUID, the shape of EventBridge
// event ids.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// InProgressReason is the reason ECS gives a deployment in progress, as in
// the examples of "Amazon ECS service deployment state change events".
func InProgressReason(id string) string { return "ECS deployment " + id + " in progress." }

// CompletedReason is the reason ECS gives a completed deployment.
func CompletedReason(id string) string { return "ECS deployment " + id + " completed." }
