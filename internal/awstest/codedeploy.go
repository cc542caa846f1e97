package awstest

// The CodeDeploy model: deployments that progress, in front of moto.
//
// moto serves CodeDeploy's applications, deployment groups and
// CreateDeployment, but a deployment stays Created for ever, its times are
// ISO strings (which aws-sdk-go-v2 refuses: awsJson1_1 timestamps are
// epoch seconds), and it lacks StopDeployment and BatchGetDeploymentGroups
// (HTTP 500). The model keeps the deployments itself and answers
// GetDeployment, BatchGetDeployments, ListDeployments and StopDeployment;
// CreateDeployment reaches moto (which checks the application and group
// and makes the id) after the model's own checks. BatchGetDeploymentGroups
// is left to moto, so that code under test meets its absence. moto's
// ListDeploymentGroups lists nothing for an application that does not exist
// (AWS answers ApplicationDoesNotExistException), and its applications'
// createTime is an ISO string: the model mends both.
//
// Shapes and texts, with their sources:
//   - DeploymentInfo ("DeploymentInfo", AWS CodeDeploy API Reference,
//     https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentInfo.html),
//     with the member names of aws-sdk-go-v2/service/codedeploy v1.36.0:
//     status Created | Queued | InProgress | Baking | Succeeded | Failed |
//     Stopped | Ready; errorInformation {code, message}; rollbackInfo
//     {rollbackMessage}. GetDeployment's revision carries no AppSpec
//     content: "The content property of the appSpecContent object in the
//     returned revision is always null" (GetDeployment, API Reference).
//   - One deployment at a time per group: CreateDeployment answers
//     DeploymentLimitExceededException "The Deployment Group '<group>'
//     already has an active Deployment '<id>'" (the text AWS returns,
//     quoted in CircleCI-Public/aws-ecs-orb#181).
//   - StopDeployment answers {"status": "Succeeded", "statusMessage": "No
//     more commands will be scheduled for execution in the deployment
//     instances"} (the example of `aws deploy stop-deployment`, AWS CLI
//     Command Reference), and DeploymentAlreadyCompletedException for a
//     deployment that has ended ("The deployment is already complete.",
//     StopDeployment, API Reference).
//   - The AppSpec's required properties: TaskDefinition, and
//     LoadBalancerInfo's ContainerName and ContainerPort ("AppSpec
//     'resources' section for Amazon ECS deployments", CodeDeploy User
//     Guide). The model refuses an AppSpec without them at CreateDeployment
//     with InvalidRevisionException; AWS documents the exception ("The
//     revision was specified in an invalid format") but not when it checks
//     the AppSpec, and the message is the model's.
//   - Made up by the model, as AWS does not document them: the
//     errorInformation of a stopped deployment (MANUAL_STOP, one of the
//     SDK's ErrorCode values, "The deployment was stopped by a user."),
//     the default errorInformation of a failed deployment (ECS_UPDATE_ERROR,
//     also an SDK ErrorCode value, [CodeDeployFailedMessage]) and the
//     rollbackInfo message of a deployment rolled back
//     ([CodeDeployRolledBack]).

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"gopkg.in/yaml.v3"
)

// CodeDeploy's deployment statuses (DeploymentInfo, API Reference).
const (
	CodeDeployCreated    = "Created"
	CodeDeployQueued     = "Queued"
	CodeDeployInProgress = "InProgress"
	CodeDeployBaking     = "Baking"
	CodeDeployReady      = "Ready"
	CodeDeploySucceeded  = "Succeeded"
	CodeDeployFailed     = "Failed"
	CodeDeployStopped    = "Stopped"
)

// Texts the model writes where AWS documents none (see the top of this
// file).
const (
	// CodeDeployFailedMessage is the default errorInformation message of
	// [CodeDeployModel.Fail].
	CodeDeployFailedMessage = "The ECS service's replacement task set did not become healthy."
	// CodeDeployRolledBack is the rollbackInfo message of a deployment
	// CodeDeploy rolled back (failed, or stopped with its rollback).
	CodeDeployRolledBack = "Rollback to the original task set succeeded."
	// CodeDeployStoppedMessage is the errorInformation message of a
	// deployment StopDeployment stopped.
	CodeDeployStoppedMessage = "The deployment was stopped by a user."
)

// CodeDeployDeployment is one deployment as the model has it.
type CodeDeployDeployment struct {
	ID, Application, DeploymentGroup string
	Status                           string
	Description                      string
	// AppSpec is the AppSpec content CreateDeployment sent.
	AppSpec string
	// Cluster and Service are the ECS service of the deployment group;
	// TaskDefinition, ContainerName and ContainerPort are the AppSpec's.
	Cluster, Service, TaskDefinition string
	ContainerName                    string
	ContainerPort                    int
	ErrorCode, ErrorMessage          string
	RollbackMessage                  string
	CreateTime, CompleteTime         time.Time
}

type cdDeployment struct {
	CodeDeployDeployment
	deploymentConfig string
	startTime        time.Time
}

// CodeDeployModel sits in the proxy in front of moto's CodeDeploy and
// drives deployments as a test says: started, succeeded (the ECS service
// then runs the AppSpec's task definition, in the ECS model and in moto),
// failed with a rollback or stopped (the service stays on what it ran). It
// intercepts CreateDeployment, GetDeployment, BatchGetDeployments,
// ListDeployments and StopDeployment, and mends moto's answers to
// ListDeploymentGroups (an unknown application), BatchGetApplications and
// GetApplication (their times).
//
// Its methods are safe for concurrent use; the drivers must not be called
// from a proxy hook while a call waits on them.
type CodeDeployModel struct {
	moto *codedeploy.Client
	ecs  *ECSModel

	// creating serialises CreateDeployment, so that two at once cannot
	// both find the group free.
	creating sync.Mutex

	mu          sync.Mutex
	deployments map[string]*cdDeployment
	order       []string // ids, in creation order
	now         func() time.Time
}

// NewCodeDeployModel installs a CodeDeploy model in p. moto reaches moto
// directly (localaws.Config of its URL), for the deployment groups; ecs is
// the ECS model whose CODE_DEPLOY services the deployments change.
func NewCodeDeployModel(p *Proxy, moto aws.Config, ecs *ECSModel) *CodeDeployModel {
	m := &CodeDeployModel{
		moto: codedeploy.NewFromConfig(moto), ecs: ecs,
		deployments: make(map[string]*cdDeployment), now: time.Now,
	}
	p.Intercept("codedeploy:CreateDeployment", m.createDeployment)
	p.Intercept("codedeploy:GetDeployment", m.getDeployment)
	p.Intercept("codedeploy:BatchGetDeployments", m.batchGetDeployments)
	p.Intercept("codedeploy:ListDeployments", m.listDeployments)
	p.Intercept("codedeploy:StopDeployment", m.stopDeployment)
	p.Intercept("codedeploy:ListDeploymentGroups", m.listDeploymentGroups)
	p.Intercept("codedeploy:BatchGetApplications", epochTimes)
	p.Intercept("codedeploy:GetApplication", epochTimes)
	return m
}

// epochTimes forwards the call and writes the createTime moto answers as
// an ISO string as the epoch seconds awsJson1_1 carries, which the SDK
// requires.
func epochTimes(ctx context.Context, in Intercepted) (*Response, error) {
	return rewrite(ctx, in, func(out map[string]any) { epochCreateTimes(out) })
}

func epochCreateTimes(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "createTime" {
				v[k] = epoch(parseEpoch(s))
				continue
			}
			epochCreateTimes(x)
		}
	case []any:
		for _, x := range v {
			epochCreateTimes(x)
		}
	}
}

// listDeploymentGroups answers ApplicationDoesNotExistException for an
// application that does not exist, as AWS does (ListDeploymentGroups'
// errors, API Reference), where moto lists no groups.
func (m *CodeDeployModel) listDeploymentGroups(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		ApplicationName string `json:"applicationName"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	_, err := m.moto.GetApplication(ctx, &codedeploy.GetApplicationInput{ApplicationName: aws.String(req.ApplicationName)})
	var missing *cdtypes.ApplicationDoesNotExistException
	if errors.As(err, &missing) {
		return in.Error(http.StatusBadRequest, "ApplicationDoesNotExistException", missing.ErrorMessage()), nil
	}
	return in.Forward(ctx)
}

// Deployment returns the deployment with the id; ok is false if the model
// has none.
func (m *CodeDeployModel) Deployment(id string) (CodeDeployDeployment, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deployments[id]
	if !ok {
		return CodeDeployDeployment{}, false
	}
	return d.CodeDeployDeployment, true
}

// Deployments returns every deployment created through the proxy, oldest
// first.
func (m *CodeDeployModel) Deployments() []CodeDeployDeployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]CodeDeployDeployment, len(m.order))
	for i, id := range m.order {
		out[i] = m.deployments[id].CodeDeployDeployment
	}
	return out
}

// Start moves a Created (or Queued) deployment to InProgress, as CodeDeploy
// does when it starts: the ECS service gets the replacement task set.
func (m *CodeDeployModel) Start(ctx context.Context, id string) error {
	d, err := m.take(id, func(d *cdDeployment) error {
		if d.Status != CodeDeployCreated && d.Status != CodeDeployQueued {
			return fmt.Errorf("deployment %s is %s, not Created or Queued", id, d.Status)
		}
		d.Status, d.startTime = CodeDeployInProgress, m.now()
		return nil
	})
	if err != nil {
		return err
	}
	return m.ecs.codeDeployStart(ctx, d.Cluster, d.Service, d.TaskDefinition, id)
}

// Advance sets a started deployment's status to another one of a running
// deployment: InProgress, Ready (waiting for traffic to be rerouted) or
// Baking. The ECS service is not changed.
func (m *CodeDeployModel) Advance(id, status string) error {
	if !slices.Contains([]string{CodeDeployInProgress, CodeDeployReady, CodeDeployBaking}, status) {
		return fmt.Errorf("CodeDeploy model: %s is not a status of a running deployment", status)
	}
	_, err := m.take(id, func(d *cdDeployment) error {
		if !running(d.Status) || d.startTime.IsZero() {
			return fmt.Errorf("deployment %s is %s: start it first", id, d.Status)
		}
		d.Status = status
		return nil
	})
	return err
}

// Succeed ends a deployment successfully (starting it first if need be):
// the ECS service runs the AppSpec's task definition, on its replacement
// task set, now PRIMARY.
func (m *CodeDeployModel) Succeed(ctx context.Context, id string) error {
	if err := m.startIfCreated(ctx, id); err != nil {
		return err
	}
	d, err := m.take(id, func(d *cdDeployment) error {
		if !running(d.Status) {
			return fmt.Errorf("deployment %s has ended (%s)", id, d.Status)
		}
		d.Status, d.CompleteTime = CodeDeploySucceeded, m.now()
		return nil
	})
	if err != nil {
		return err
	}
	return m.ecs.codeDeploySucceed(ctx, d.Cluster, d.Service, id)
}

// Fail ends a deployment as failed and rolled back (starting it first if
// need be), with errorInformation code and message (ECS_UPDATE_ERROR and
// [CodeDeployFailedMessage] when empty) and rollbackInfo
// [CodeDeployRolledBack]: the ECS service stays on what it ran.
func (m *CodeDeployModel) Fail(ctx context.Context, id, code, message string) error {
	if err := m.startIfCreated(ctx, id); err != nil {
		return err
	}
	return m.end(id, CodeDeployFailed, cmp.Or(code, "ECS_UPDATE_ERROR"), cmp.Or(message, CodeDeployFailedMessage))
}

// Stop ends a running deployment as Stopped, with errorInformation code and
// message, as an alarm (ALARM_ACTIVE) or the end of the wait for traffic
// rerouting (TIMEOUT) stops one, and rolls it back: the ECS service stays on
// what it ran. StopDeployment through the proxy does the same with
// MANUAL_STOP.
func (m *CodeDeployModel) Stop(id, code, message string) error {
	return m.end(id, CodeDeployStopped, code, message)
}

func (m *CodeDeployModel) startIfCreated(ctx context.Context, id string) error {
	d, ok := m.Deployment(id)
	if !ok {
		return fmt.Errorf("CodeDeploy model: no deployment %s", id)
	}
	if d.Status == CodeDeployCreated || d.Status == CodeDeployQueued {
		return m.Start(ctx, id)
	}
	return nil
}

// end ends a running deployment with status, errorInformation and a
// rollback to the original task set.
func (m *CodeDeployModel) end(id, status, code, message string) error {
	d, err := m.take(id, func(d *cdDeployment) error {
		if !running(d.Status) {
			return fmt.Errorf("deployment %s has ended (%s)", id, d.Status)
		}
		d.Status, d.CompleteTime = status, m.now()
		d.ErrorCode, d.ErrorMessage, d.RollbackMessage = code, message, CodeDeployRolledBack
		return nil
	})
	if err != nil {
		return err
	}
	m.ecs.codeDeployRevert(d.Cluster, d.Service, id)
	return nil
}

// take applies change to the deployment under the lock and returns it as
// it is afterwards.
func (m *CodeDeployModel) take(id string, change func(*cdDeployment) error) (CodeDeployDeployment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deployments[id]
	if !ok {
		return CodeDeployDeployment{}, fmt.Errorf("CodeDeploy model: no deployment %s", id)
	}
	if err := change(d); err != nil {
		return CodeDeployDeployment{}, fmt.Errorf("CodeDeploy model: %w", err)
	}
	return d.CodeDeployDeployment, nil
}

func running(status string) bool {
	return !slices.Contains([]string{CodeDeploySucceeded, CodeDeployFailed, CodeDeployStopped}, status)
}

// --- the intercepted operations ---

// appSpec is what the model reads of an AppSpec (JSON or YAML).
type appSpec struct {
	Resources []map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			TaskDefinition   string `yaml:"TaskDefinition"`
			LoadBalancerInfo struct {
				ContainerName string `yaml:"ContainerName"`
				ContainerPort int    `yaml:"ContainerPort"`
			} `yaml:"LoadBalancerInfo"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

func (m *CodeDeployModel) createDeployment(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		ApplicationName     string `json:"applicationName"`
		DeploymentGroupName string `json:"deploymentGroupName"`
		Description         string `json:"description"`
		Revision            *struct {
			RevisionType   string `json:"revisionType"`
			AppSpecContent *struct {
				Content string `json:"content"`
			} `json:"appSpecContent"`
		} `json:"revision"`
	}
	if err := json.Unmarshal(in.Call.Request, &req); err != nil {
		return in.Forward(ctx)
	}
	m.creating.Lock()
	defer m.creating.Unlock()
	group, err := m.moto.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(req.ApplicationName), DeploymentGroupName: aws.String(req.DeploymentGroupName)})
	if err != nil || group.DeploymentGroupInfo == nil {
		return in.Forward(ctx) // moto answers the missing application or group
	}
	if active := m.active(req.ApplicationName, req.DeploymentGroupName); active != "" {
		return in.Error(http.StatusBadRequest, "DeploymentLimitExceededException",
			fmt.Sprintf("The Deployment Group '%s' already has an active Deployment '%s'", req.DeploymentGroupName, active)), nil
	}
	d := CodeDeployDeployment{Application: req.ApplicationName, DeploymentGroup: req.DeploymentGroupName, Status: CodeDeployCreated, Description: req.Description}
	if s := group.DeploymentGroupInfo.EcsServices; len(s) > 0 {
		d.Cluster, d.Service = aws.ToString(s[0].ClusterName), aws.ToString(s[0].ServiceName)
	}
	if req.Revision == nil || req.Revision.RevisionType != "AppSpecContent" || req.Revision.AppSpecContent == nil {
		return in.Error(http.StatusBadRequest, "InvalidRevisionException", "The model deploys ECS revisions of type AppSpecContent only."), nil
	}
	d.AppSpec = req.Revision.AppSpecContent.Content
	var spec appSpec
	if err := yaml.Unmarshal([]byte(d.AppSpec), &spec); err != nil {
		return in.Error(http.StatusBadRequest, "InvalidRevisionException", "The AppSpec content is neither JSON nor YAML: "+err.Error()), nil
	}
	if len(spec.Resources) != 1 {
		return in.Error(http.StatusBadRequest, "InvalidRevisionException", "The AppSpec must have one TargetService resource."), nil
	}
	for _, r := range spec.Resources {
		ts, ok := r["TargetService"]
		p := ts.Properties
		if !ok || ts.Type != "AWS::ECS::Service" || p.TaskDefinition == "" || p.LoadBalancerInfo.ContainerName == "" || p.LoadBalancerInfo.ContainerPort == 0 {
			return in.Error(http.StatusBadRequest, "InvalidRevisionException",
				"The AppSpec's TargetService of Type AWS::ECS::Service must have a TaskDefinition and a LoadBalancerInfo with ContainerName and ContainerPort."), nil
		}
		d.TaskDefinition, d.ContainerName, d.ContainerPort = p.TaskDefinition, p.LoadBalancerInfo.ContainerName, p.LoadBalancerInfo.ContainerPort
	}
	resp, err := in.Forward(ctx)
	if err != nil || resp.Status != http.StatusOK {
		return resp, err
	}
	var out struct {
		DeploymentID string `json:"deploymentId"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.DeploymentID == "" {
		return nil, fmt.Errorf("CodeDeploy model: moto's CreateDeployment answered %s", resp.Body)
	}
	d.ID, d.CreateTime = out.DeploymentID, m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deployments[d.ID] = &cdDeployment{CodeDeployDeployment: d, deploymentConfig: aws.ToString(group.DeploymentGroupInfo.DeploymentConfigName)}
	m.order = append(m.order, d.ID)
	return resp, nil
}

// active returns the id of the group's deployment that has not ended, "" if
// none.
func (m *CodeDeployModel) active(application, group string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range m.order {
		d := m.deployments[id]
		if d.Application == application && d.DeploymentGroup == group && running(d.Status) {
			return id
		}
	}
	return ""
}

func (m *CodeDeployModel) getDeployment(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		DeploymentID string `json:"deploymentId"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	m.mu.Lock()
	d, ok := m.deployments[req.DeploymentID]
	var info map[string]any
	if ok {
		info = d.info()
	}
	m.mu.Unlock()
	if !ok {
		return in.Forward(ctx) // moto answers DeploymentDoesNotExistException
	}
	return in.JSON(map[string]any{"deploymentInfo": info})
}

func (m *CodeDeployModel) batchGetDeployments(_ context.Context, in Intercepted) (*Response, error) {
	var req struct {
		DeploymentIDs []string `json:"deploymentIds"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	m.mu.Lock()
	infos := []any{}
	for _, id := range req.DeploymentIDs {
		if d, ok := m.deployments[id]; ok {
			infos = append(infos, d.info())
		}
	}
	m.mu.Unlock()
	return in.JSON(map[string]any{"deploymentsInfo": infos})
}

func (m *CodeDeployModel) listDeployments(_ context.Context, in Intercepted) (*Response, error) {
	var req struct {
		ApplicationName     string   `json:"applicationName"`
		DeploymentGroupName string   `json:"deploymentGroupName"`
		IncludeOnlyStatuses []string `json:"includeOnlyStatuses"`
		CreateTimeRange     *struct {
			Start any `json:"start"`
			End   any `json:"end"`
		} `json:"createTimeRange"`
	}
	if err := decodeJSON(in.Call.Request, &req); err != nil {
		return in.Error(http.StatusBadRequest, "InvalidInputException", err.Error()), nil
	}
	m.mu.Lock()
	ids := []string{}
	for _, id := range m.order {
		d := m.deployments[id]
		if (req.ApplicationName != "" && d.Application != req.ApplicationName) || (req.DeploymentGroupName != "" && d.DeploymentGroup != req.DeploymentGroupName) {
			continue
		}
		if len(req.IncludeOnlyStatuses) > 0 && !slices.Contains(req.IncludeOnlyStatuses, d.Status) {
			continue
		}
		if r := req.CreateTimeRange; r != nil {
			if start := parseEpoch(r.Start); !start.IsZero() && d.CreateTime.Before(start) {
				continue
			}
			if end := parseEpoch(r.End); !end.IsZero() && d.CreateTime.After(end) {
				continue
			}
		}
		ids = append(ids, id)
	}
	m.mu.Unlock()
	return in.JSON(map[string]any{"deployments": ids})
}

func (m *CodeDeployModel) stopDeployment(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		DeploymentID string `json:"deploymentId"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	d, ok := m.Deployment(req.DeploymentID)
	switch {
	case !ok:
		return in.Error(http.StatusBadRequest, "DeploymentDoesNotExistException", fmt.Sprintf("The deployment %s does not exist with the user or AWS account.", req.DeploymentID)), nil
	case !running(d.Status):
		return in.Error(http.StatusBadRequest, "DeploymentAlreadyCompletedException", "The deployment is already complete."), nil
	}
	if err := m.end(req.DeploymentID, CodeDeployStopped, "MANUAL_STOP", CodeDeployStoppedMessage); err != nil {
		return nil, err
	}
	return in.JSON(map[string]any{"status": "Succeeded", "statusMessage": "No more commands will be scheduled for execution in the deployment instances"})
}

// info returns the deployment as GetDeployment describes it. Called with
// m.mu held.
func (d *cdDeployment) info() map[string]any {
	sum := sha256.Sum256([]byte(d.AppSpec))
	o := map[string]any{
		"deploymentId": d.ID, "applicationName": d.Application, "deploymentGroupName": d.DeploymentGroup,
		"deploymentConfigName": d.deploymentConfig, "status": d.Status, "creator": "user", "computePlatform": "ECS",
		"createTime": epoch(d.CreateTime),
		"revision": map[string]any{
			"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"sha256": hex.EncodeToString(sum[:])},
		},
		"deploymentStyle": map[string]any{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
	}
	setString(o, "description", d.Description)
	setTime(o, "startTime", d.startTime)
	setTime(o, "completeTime", d.CompleteTime)
	if d.ErrorCode != "" || d.ErrorMessage != "" {
		o["errorInformation"] = map[string]any{"code": d.ErrorCode, "message": d.ErrorMessage}
	}
	if d.RollbackMessage != "" {
		o["rollbackInfo"] = map[string]any{"rollbackMessage": d.RollbackMessage}
	}
	return o
}
