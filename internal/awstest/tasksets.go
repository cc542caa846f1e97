package awstest

// The task sets of a CODE_DEPLOY service, in the ECS model.
//
// ECS lists no deployments for a service whose deployment controller is
// CODE_DEPLOY: it lists task sets ("For CodeDeploy or External deployment
// controllers, services will have TaskSets but the deployments field is
// empty", aws/copilot-cli#1061). The shape is "TaskSet", Amazon ECS API
// Reference, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskSet.html,
// as aws-sdk-go-v2/service/ecs v1.105.1 names its members: status PRIMARY
// ("serving production traffic"), ACTIVE ("isn't serving production
// traffic") or DRAINING; externalId, for a task set a CodeDeploy deployment
// created, "contains the CodeDeploy deployment ID", and startedBy is then
// CODE_DEPLOY; stabilityStatus STEADY_STATE or STABILIZING; scale a
// percentage of the desired count. The ARN is
// arn:aws:ecs:REGION:ACCOUNT:task-set/CLUSTER/SERVICE/ID, the id "ecs-svc/"
// and 19 digits, the shape of a deployment id.
//
// The model's sequence, from "What happens during an Amazon ECS
// deployment" (CodeDeploy User Guide): a deployment creates the
// replacement task set (ACTIVE, STABILIZING, 100% scale) beside the original
// PRIMARY one; when it succeeds, production traffic is on the replacement,
// which becomes PRIMARY, and the original is terminated; when it fails or
// is stopped, traffic stays on (or returns to) the original and the
// replacement is terminated. service.taskDefinition is the PRIMARY task
// set's.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Task set statuses ("TaskSet", API Reference).
const (
	TaskSetPrimary = "PRIMARY"
	TaskSetActive  = "ACTIVE"
)

// ECSTaskSet is one task set of a CODE_DEPLOY service as the model has it.
type ECSTaskSet struct {
	ID, Status, TaskDefinition string
	// ExternalID is the CodeDeploy deployment that created the task set,
	// "" for the service's first.
	ExternalID      string
	StabilityStatus string
}

type modelTaskSet struct {
	id, status, taskDefinition, externalID, stability string
	createdAt, updatedAt                              time.Time
}

// TaskSets returns the task sets of a CODE_DEPLOY service, PRIMARY first,
// or nil if the model does not know the service.
func (m *ECSModel) TaskSets(cluster, service string) []ECSTaskSet {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.services[keyOf(cluster, service)]
	if s == nil {
		return nil
	}
	var out []ECSTaskSet
	for _, ts := range s.orderedTaskSets() {
		out = append(out, ECSTaskSet{ID: ts.id, Status: ts.status, TaskDefinition: ts.taskDefinition, ExternalID: ts.externalID, StabilityStatus: ts.stability})
	}
	return out
}

// firstTaskSet gives a CODE_DEPLOY service the task set it runs before any
// CodeDeploy deployment. Called with m.mu held.
func (s *modelService) firstTaskSet(taskDefinition string, at time.Time) {
	if s.controller != "CODE_DEPLOY" || taskDefinition == "" || len(s.taskSets) > 0 {
		return
	}
	s.taskSets = []*modelTaskSet{{id: s.newID(), status: TaskSetPrimary, taskDefinition: taskDefinition, stability: "STEADY_STATE", createdAt: at, updatedAt: at}}
}

func (s *modelService) orderedTaskSets() []*modelTaskSet {
	out := slices.Clone(s.taskSets)
	slices.SortStableFunc(out, func(a, b *modelTaskSet) int {
		return taskSetRank(a) - taskSetRank(b)
	})
	return out
}

func taskSetRank(ts *modelTaskSet) int {
	if ts.status == TaskSetPrimary {
		return 0
	}
	return 1
}

// codeDeployStart creates the replacement task set of a CodeDeploy
// deployment: ACTIVE, stabilizing, of the AppSpec's task definition.
func (m *ECSModel) codeDeployStart(ctx context.Context, cluster, service, taskDefinition, deploymentID string) error {
	s, err := m.lookup(ctx, keyOf(cluster, service))
	if err != nil {
		return fmt.Errorf("ECS model: %s/%s: %w", cluster, service, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.controller != "CODE_DEPLOY" {
		return fmt.Errorf("ECS model: %s/%s has deployment controller %s, not CODE_DEPLOY", cluster, service, s.controller)
	}
	now := m.now()
	s.firstTaskSet(s.taskDefinition, now)
	s.taskSets = append(s.taskSets, &modelTaskSet{
		id: s.newID(), status: TaskSetActive, taskDefinition: taskDefinition, externalID: deploymentID,
		stability: "STABILIZING", createdAt: now, updatedAt: now,
	})
	return nil
}

// codeDeploySucceed ends a CodeDeploy deployment that succeeded: its task
// set serves production traffic (PRIMARY) and the original is gone; the
// service, and moto's, run its task definition.
func (m *ECSModel) codeDeploySucceed(ctx context.Context, cluster, service, deploymentID string) error {
	m.mu.Lock()
	s := m.services[keyOf(cluster, service)]
	var td string
	if s != nil {
		for _, ts := range s.taskSets {
			if ts.externalID == deploymentID {
				td = ts.taskDefinition
				ts.status, ts.stability, ts.updatedAt = TaskSetPrimary, "STEADY_STATE", m.now()
			}
		}
		if td != "" {
			s.taskSets = slices.DeleteFunc(s.taskSets, func(ts *modelTaskSet) bool { return ts.externalID != deploymentID })
			s.taskDefinition = td
		}
	}
	m.mu.Unlock()
	if td == "" {
		return fmt.Errorf("ECS model: %s/%s has no task set of CodeDeploy deployment %s", cluster, service, deploymentID)
	}
	// moto accepts this update of a CODE_DEPLOY service (AWS would not);
	// it is the model's own call, made directly, so that Env.Local sees
	// what CodeDeploy made the service run.
	if _, err := m.moto.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(service), TaskDefinition: aws.String(td)}); err != nil {
		return fmt.Errorf("point moto's %s/%s at %s: %w", cluster, service, td, err)
	}
	return nil
}

// codeDeployRevert ends a CodeDeploy deployment that failed or was
// stopped: its task set is gone, and the original serves traffic.
func (m *ECSModel) codeDeployRevert(cluster, service, deploymentID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.services[keyOf(cluster, service)]; s != nil {
		s.taskSets = slices.DeleteFunc(s.taskSets, func(ts *modelTaskSet) bool { return ts.externalID == deploymentID })
	}
}

// renderTaskSets sets the task sets of a CODE_DEPLOY service in svc (a
// service object of moto's answer), its deployments to none and its task
// definition to the PRIMARY task set's. moto's own task sets, if any, are
// replaced. Called with m.mu held.
func (m *ECSModel) renderTaskSets(svc map[string]any, s *modelService) {
	sets := make([]any, 0, len(s.taskSets))
	for _, ts := range s.orderedTaskSets() {
		o := map[string]any{
			"id": ts.id, "taskSetArn": s.resourceARN("task-set", ts.id), "serviceArn": s.arn, "clusterArn": s.clusterARN,
			"status": ts.status, "taskDefinition": ts.taskDefinition, "stabilityStatus": ts.stability,
			"createdAt": epoch(ts.createdAt), "updatedAt": epoch(ts.updatedAt), "stabilityStatusAt": epoch(ts.updatedAt),
			"scale":                map[string]any{"value": 100.0, "unit": "PERCENT"},
			"computedDesiredCount": svc["desiredCount"], "pendingCount": 0, "runningCount": 0,
		}
		if ts.externalID != "" {
			o["externalId"], o["startedBy"] = ts.externalID, "CODE_DEPLOY"
		}
		for _, k := range []string{"launchType", "platformVersion", "networkConfiguration", "loadBalancers", "capacityProviderStrategy"} {
			if v, ok := svc[k]; ok {
				o[k] = v
			}
		}
		if ts.status == TaskSetPrimary {
			svc["taskDefinition"] = ts.taskDefinition
			if desired, ok := svc["desiredCount"]; ok && ts.stability == "STEADY_STATE" {
				o["runningCount"] = desired
			}
		}
		sets = append(sets, o)
	}
	svc["taskSets"] = sets
	svc["deployments"] = []any{}
}
