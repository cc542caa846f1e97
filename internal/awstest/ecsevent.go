package awstest

import (
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// Event returns the event ECS sends for the deployment's current rollout
// state, as [localaws.DeploymentEvent.JSON]: IN_PROGRESS, COMPLETED or FAILED with
// the deployment's rolloutStateReason, at its last update. Deliver it late,
// twice, out of order or never, as EventBridge may.
func (m *ECSModel) Event(cluster, service, deploymentID string) ([]byte, error) {
	m.mu.Lock()
	s := m.services[keyOf(cluster, service)]
	var e localaws.DeploymentEvent
	found := false
	if s != nil {
		for _, d := range s.deployments {
			if d.id == deploymentID {
				e = localaws.DeploymentEvent{ServiceARN: s.arn, EventName: "SERVICE_DEPLOYMENT_" + d.rollout, DeploymentID: d.id, Reason: d.reason, At: d.updatedAt}
				found = true
			}
		}
	}
	m.mu.Unlock()
	if !found {
		return nil, fmt.Errorf("ECS model: %s/%s lists no deployment %s", cluster, service, deploymentID)
	}
	return e.JSON()
}
