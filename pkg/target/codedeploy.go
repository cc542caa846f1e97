package target

// The CodeDeploy side of a service whose deployment controller is
// CODE_DEPLOY: finding the deployment group that deploys it, creating a
// deployment of a revision, stopping one, and reading what became of one.
//
// Sources, cited where used:
//   - "DeploymentInfo", AWS CodeDeploy API Reference,
//     https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentInfo.html:
//     status is "The current state of the deployment as a whole", one of
//     Created | Queued | InProgress | Baking | Succeeded | Failed | Stopped |
//     Ready (aws-sdk-go-v2/service/codedeploy v1.36.0, types.DeploymentStatus).
//   - "DeploymentReadyOption" (API Reference): with STOP_DEPLOYMENT, "If
//     traffic rerouting is not started before the end of the specified wait
//     period, the deployment status is changed to Stopped."
//   - "StopDeployment" (API Reference): autoRollbackEnabled, "whether
//     instances that have been updated should be rolled back to the previous
//     version of the application revision"; DeploymentAlreadyCompletedException
//     "The deployment is already complete."
//   - DeploymentLimitExceededException's message, which names the deployment
//     in progress: "The Deployment Group 'x' already has an active Deployment
//     'd-id-x'" (quoted in CircleCI-Public/aws-ecs-orb#181); an older
//     wording, "... is already deploying 'd-...'", is matched too (as
//     webfactory/create-aws-codedeploy-deployment does since its #24, when
//     AWS changed the text).
//   - Batch limits: BatchGetDeployments takes at most 25 deployment ids,
//     BatchGetApplications and BatchGetDeploymentGroups at most 100 names
//     (API Reference).

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/smithy-go"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// CodeDeployAPI is the part of the CodeDeploy API ecrdeploy calls;
// *codedeploy.Client satisfies it.
type CodeDeployAPI interface {
	ListApplications(ctx context.Context, in *codedeploy.ListApplicationsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListApplicationsOutput, error)
	BatchGetApplications(ctx context.Context, in *codedeploy.BatchGetApplicationsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetApplicationsOutput, error)
	ListDeploymentGroups(ctx context.Context, in *codedeploy.ListDeploymentGroupsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentGroupsOutput, error)
	BatchGetDeploymentGroups(ctx context.Context, in *codedeploy.BatchGetDeploymentGroupsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentGroupsOutput, error)
	GetDeploymentGroup(ctx context.Context, in *codedeploy.GetDeploymentGroupInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentGroupOutput, error)
	CreateDeployment(ctx context.Context, in *codedeploy.CreateDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	GetDeployment(ctx context.Context, in *codedeploy.GetDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	StopDeployment(ctx context.Context, in *codedeploy.StopDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
	ListDeployments(ctx context.Context, in *codedeploy.ListDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	BatchGetDeployments(ctx context.Context, in *codedeploy.BatchGetDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentsOutput, error)
}

// CodeDeploy returns the target's CodeDeploy client.
func (p *Pool) CodeDeploy(ctx context.Context, t Target) (CodeDeployAPI, error) {
	cfg, err := p.config(ctx, t)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.codedeploy[t]; ok {
		return c, nil
	}
	if p.codedeploy == nil {
		p.codedeploy = map[Target]*codedeploy.Client{}
	}
	c := codedeploy.NewFromConfig(cfg)
	p.codedeploy[t] = c
	return c, nil
}

// Errors of the CodeDeploy calls, translated from the SDK's.
var (
	// ErrCodeDeployApplicationNotFound is a CodeDeploy application that
	// does not exist.
	ErrCodeDeployApplicationNotFound = errors.New("CodeDeploy application not found")
	// ErrDeploymentGroupNotFound is a named deployment group that does not
	// exist in its application.
	ErrDeploymentGroupNotFound = errors.New("CodeDeploy deployment group not found")
	// ErrNoDeploymentGroup is a service that no deployment group deploys
	// (among those looked at).
	ErrNoDeploymentGroup = errors.New("no CodeDeploy deployment group deploys the service")
	// ErrDeploymentGroupMismatch is a named deployment group that deploys
	// another ECS service (or none), or several groups that deploy the
	// same one.
	ErrDeploymentGroupMismatch = errors.New("the CodeDeploy deployment group does not deploy the service")
	// ErrCodeDeployDeploymentNotFound is a deployment id CodeDeploy does
	// not know.
	ErrCodeDeployDeploymentNotFound = errors.New("CodeDeploy deployment not found")
	// ErrDeploymentInProgress is a deployment group that already runs a
	// deployment: CodeDeploy takes one at a time. The error is a
	// *DeploymentInProgressError, which names it. A retry can succeed once
	// that deployment has ended.
	ErrDeploymentInProgress = errors.New("another CodeDeploy deployment of the deployment group is in progress")
	// ErrCodeDeployRefused is a deployment CodeDeploy refuses for what it
	// was asked or how the group is set up (the revision, the group's
	// role, configuration, load balancer or service): a retry will not
	// change it.
	ErrCodeDeployRefused = errors.New("CodeDeploy refused the deployment")
)

// refusals are the errors of CreateDeployment that the request or the
// deployment group's set-up causes (CreateDeployment's errors, API
// Reference).
var refusals = []string{
	"DeploymentConfigDoesNotExistException", "DescriptionTooLongException", "InvalidAlarmConfigException",
	"InvalidApplicationNameException", "InvalidAutoRollbackConfigException", "InvalidAutoScalingGroupException",
	"InvalidBlueGreenDeploymentConfigurationException", "InvalidDeploymentConfigNameException",
	"InvalidDeploymentGroupNameException", "InvalidFileExistsBehaviorException", "InvalidGitHubAccountTokenException",
	"InvalidIgnoreApplicationStopFailuresValueException", "InvalidLoadBalancerInfoException", "InvalidRevisionException",
	"InvalidRoleException", "InvalidTargetInstancesException", "InvalidTrafficRoutingConfigurationException",
	"InvalidUpdateOutdatedInstancesOnlyValueException", "RevisionDoesNotExistException", "RevisionRequiredException",
	"InvalidECSServiceException", "UnsupportedActionForDeploymentTypeException",
}

// codeDeployError translates CodeDeploy's error codes into ours, keeping
// CodeDeploy's message.
func codeDeployError(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	var named error
	switch code := ae.ErrorCode(); {
	case code == "ApplicationDoesNotExistException":
		named = ErrCodeDeployApplicationNotFound
	case code == "DeploymentGroupDoesNotExistException":
		named = ErrDeploymentGroupNotFound
	case code == "DeploymentDoesNotExistException":
		named = ErrCodeDeployDeploymentNotFound
	case code == "DeploymentAlreadyCompletedException":
		named = ErrDeploymentEnded
	case code == "DeploymentLimitExceededException":
		return &DeploymentInProgressError{Active: activeDeployment(ae.ErrorMessage()), Err: err}
	case slices.Contains(refusals, code):
		named = ErrCodeDeployRefused
	default:
		return err
	}
	return fmt.Errorf("%w: %s", named, ae.ErrorMessage())
}

// DeploymentInProgressError is CodeDeploy's answer to a deployment of a
// group that already runs one. It matches ErrDeploymentInProgress.
type DeploymentInProgressError struct {
	// Active is the id of the deployment in progress, as CodeDeploy's
	// message names it; "" when the message does not.
	Active string
	// Err is CodeDeploy's error.
	Err error
}

func (e *DeploymentInProgressError) Error() string {
	if e.Active == "" {
		return ErrDeploymentInProgress.Error()
	}
	return ErrDeploymentInProgress.Error() + ": " + e.Active
}

// Is makes the error match ErrDeploymentInProgress.
func (e *DeploymentInProgressError) Is(target error) bool { return target == ErrDeploymentInProgress }

// Unwrap returns CodeDeploy's error.
func (e *DeploymentInProgressError) Unwrap() error { return e.Err }

var activeDeploymentText = regexp.MustCompile(`(?:already has an active Deployment|is already deploying) '([^']+)'`)

// activeDeployment returns the id of the deployment DeploymentLimitExceeded's
// message names, or "".
func activeDeployment(message string) string {
	if m := activeDeploymentText.FindStringSubmatch(message); m != nil {
		return m[1]
	}
	return ""
}

// CodeDeployGroup is a deployment group of the ECS compute platform.
type CodeDeployGroup struct {
	Application string
	Name        string
	// DeploymentConfig is the group's deployment configuration, such as
	// CodeDeployDefault.ECSAllAtOnce.
	DeploymentConfig string
	// Cluster and Service name the ECS service the group deploys ("" when
	// it names none).
	Cluster, Service string
}

// Deploys reports whether the group deploys the service (cluster and
// service by name or ARN).
func (g CodeDeployGroup) Deploys(cluster, service string) bool {
	return g.Service != "" && g.Cluster == ecsref.ClusterName(cluster) && g.Service == ecsref.ServiceName(service)
}

func (g CodeDeployGroup) String() string { return g.Application + "/" + g.Name }

func codeDeployGroup(info cdtypes.DeploymentGroupInfo) CodeDeployGroup {
	g := CodeDeployGroup{
		Application: aws.ToString(info.ApplicationName), Name: aws.ToString(info.DeploymentGroupName),
		DeploymentConfig: aws.ToString(info.DeploymentConfigName),
	}
	if len(info.EcsServices) > 0 {
		g.Cluster, g.Service = ecsref.ClusterName(aws.ToString(info.EcsServices[0].ClusterName)), ecsref.ServiceName(aws.ToString(info.EcsServices[0].ServiceName))
	}
	return g
}

// FindCodeDeployGroup returns the deployment group that deploys the ECS
// service (cluster and service by name or ARN). application and group name
// it when the environment does: with both, that group is read and must
// deploy the service; with only the application, its groups are searched;
// with neither, the groups of every application of the ECS compute platform
// are. It returns an error wrapping ErrCodeDeployApplicationNotFound or
// ErrDeploymentGroupNotFound for a named application or group that does not
// exist, ErrDeploymentGroupMismatch for a named group that deploys another
// service or for several groups that deploy this one, and
// ErrNoDeploymentGroup when none does.
func FindCodeDeployGroup(ctx context.Context, client CodeDeployAPI, cluster, service, application, group string) (CodeDeployGroup, error) {
	what := fmt.Sprintf("find the CodeDeploy deployment group of %s/%s", ecsref.ClusterName(cluster), ecsref.ServiceName(service))
	if application != "" && group != "" {
		out, err := client.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(application), DeploymentGroupName: aws.String(group)})
		if err != nil {
			return CodeDeployGroup{}, fmt.Errorf("%s: get deployment group %s/%s: %w", what, application, group, codeDeployError(err))
		}
		g := codeDeployGroup(*out.DeploymentGroupInfo)
		if !g.Deploys(cluster, service) {
			deploys := "no ECS service"
			if g.Service != "" {
				deploys = g.Cluster + "/" + g.Service
			}
			return CodeDeployGroup{}, fmt.Errorf("%s: %w: %s deploys %s", what, ErrDeploymentGroupMismatch, g, deploys)
		}
		return g, nil
	}
	applications := []string{application}
	if application == "" {
		var err error
		if applications, err = ecsApplications(ctx, client); err != nil {
			return CodeDeployGroup{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	var found []CodeDeployGroup
	for _, app := range applications {
		groups, err := deploymentGroups(ctx, client, app)
		if err != nil {
			return CodeDeployGroup{}, fmt.Errorf("%s: %w", what, err)
		}
		for _, g := range groups {
			if g.Deploys(cluster, service) {
				found = append(found, g)
			}
		}
	}
	switch len(found) {
	case 0:
		where := "in any CodeDeploy application of the ECS compute platform"
		if application != "" {
			where = "in application " + application
		}
		return CodeDeployGroup{}, fmt.Errorf("%s: %w %s", what, ErrNoDeploymentGroup, where)
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, g := range found {
		names[i] = g.String()
	}
	return CodeDeployGroup{}, fmt.Errorf("%s: %w: several groups deploy it (%s)", what, ErrDeploymentGroupMismatch, strings.Join(names, ", "))
}

// ecsApplications returns the names of the account's CodeDeploy
// applications of the ECS compute platform.
func ecsApplications(ctx context.Context, client CodeDeployAPI) ([]string, error) {
	var names []string
	pages := codedeploy.NewListApplicationsPaginator(client, &codedeploy.ListApplicationsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list applications: %w", codeDeployError(err))
		}
		names = append(names, page.Applications...)
	}
	var ecs []string
	for chunk := range slices.Chunk(names, 100) {
		out, err := client.BatchGetApplications(ctx, &codedeploy.BatchGetApplicationsInput{ApplicationNames: chunk})
		if err != nil {
			return nil, fmt.Errorf("get applications: %w", codeDeployError(err))
		}
		for _, a := range out.ApplicationsInfo {
			if a.ComputePlatform == cdtypes.ComputePlatformEcs {
				ecs = append(ecs, aws.ToString(a.ApplicationName))
			}
		}
	}
	slices.Sort(ecs)
	return ecs, nil
}

// deploymentGroups returns the deployment groups of an application.
// BatchGetDeploymentGroups reads a hundred a call; where it fails (moto
// lacks it, a policy may not grant it), it is tried once and each group
// is read with GetDeploymentGroup instead.
func deploymentGroups(ctx context.Context, client CodeDeployAPI, application string) ([]CodeDeployGroup, error) {
	var names []string
	pages := codedeploy.NewListDeploymentGroupsPaginator(client, &codedeploy.ListDeploymentGroupsInput{ApplicationName: aws.String(application)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list deployment groups of %s: %w", application, codeDeployError(err))
		}
		names = append(names, page.DeploymentGroups...)
	}
	var groups []CodeDeployGroup
	once := func(o *codedeploy.Options) { o.RetryMaxAttempts = 1 }
	for chunk := range slices.Chunk(names, 100) {
		out, err := client.BatchGetDeploymentGroups(ctx, &codedeploy.BatchGetDeploymentGroupsInput{ApplicationName: aws.String(application), DeploymentGroupNames: chunk}, once)
		if err == nil {
			for _, info := range out.DeploymentGroupsInfo {
				groups = append(groups, codeDeployGroup(info))
			}
			continue
		}
		for _, name := range chunk {
			out, err := client.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(application), DeploymentGroupName: aws.String(name)})
			if err != nil {
				return nil, fmt.Errorf("get deployment group %s/%s: %w", application, name, codeDeployError(err))
			}
			groups = append(groups, codeDeployGroup(*out.DeploymentGroupInfo))
		}
	}
	return groups, nil
}

// CodeDeployOrigin is what ecrdeploy writes in the description of a
// CodeDeploy deployment it creates, so that a deployment is known as
// ecrdeploy's, of which repository, version and environment, and which
// deployment it replaced.
type CodeDeployOrigin struct {
	Repository, Version, Environment string
	// Replaces is the id of the deployment of the same environment that
	// ecrdeploy stopped to make room for this one, "" if none.
	Replaces string
}

const descriptionPrefix = "ecrdeploy: "

// Description returns the deployment's description:
// "ecrdeploy: REPOSITORY VERSION to ENVIRONMENT", and " (replaces ID)" when
// it replaced one. None of the parts contains a space.
func (o CodeDeployOrigin) Description() string {
	s := descriptionPrefix + o.Repository + " " + o.Version + " to " + o.Environment
	if o.Replaces != "" {
		s += " (replaces " + o.Replaces + ")"
	}
	return s
}

// ParseCodeDeployOrigin reads a description Description wrote; ok is false
// for any other (a deployment someone else created).
func ParseCodeDeployOrigin(description string) (o CodeDeployOrigin, ok bool) {
	rest, ok := strings.CutPrefix(description, descriptionPrefix)
	if !ok {
		return CodeDeployOrigin{}, false
	}
	f := strings.Fields(rest)
	switch {
	case len(f) == 4 && f[2] == "to":
	case len(f) == 6 && f[2] == "to" && f[4] == "(replaces" && strings.HasSuffix(f[5], ")"):
		o.Replaces = strings.TrimSuffix(f[5], ")")
	default:
		return CodeDeployOrigin{}, false
	}
	o.Repository, o.Version, o.Environment = f[0], f[1], f[3]
	return o, true
}

// CodeDeployRequest is a deployment of a revision through a deployment
// group.
type CodeDeployRequest struct {
	Group CodeDeployGroup
	// AppSpec is the AppSpec content (JSON or YAML) naming the revision.
	AppSpec []byte
	// Origin says which repository, version and environment it deploys;
	// Replaces is filled in when a deployment is stopped to make room.
	Origin CodeDeployOrigin
	// Supersede says whether the deployment in progress that keeps this
	// one from starting may be stopped to make room for it; nil never
	// stops one. OwnDeployment is the usual answer.
	Supersede func(active CodeDeployDeployment) bool
}

// OwnDeployment returns a Supersede that stops only what ecrdeploy itself
// deploys to that repository's environment: a newer decision about the same
// environment replaces an older one, but a deployment someone else started
// is waited for.
func OwnDeployment(repository, environment string) func(CodeDeployDeployment) bool {
	return func(active CodeDeployDeployment) bool {
		o, ok := ParseCodeDeployOrigin(active.Description)
		return ok && o.Repository == repository && o.Environment == environment
	}
}

// createAfterStopAttempts bounds the attempts of the deployment that
// follows a stop: the stopped deployment may hold the group for a moment
// longer (StopDeployment can answer Pending).
const createAfterStopAttempts = 8

// CreateCodeDeployDeployment creates a deployment of req.AppSpec through
// req.Group (with the group's deployment configuration and rollback
// settings) and returns its id and, when it stopped the deployment in
// progress to make room (req.Supersede), that deployment's id. It returns an
// error wrapping ErrDeploymentInProgress (a *DeploymentInProgressError) when
// another deployment keeps the group busy and may not be stopped,
// ErrCodeDeployApplicationNotFound or ErrDeploymentGroupNotFound when the
// group is gone, and ErrCodeDeployRefused when CodeDeploy refuses the
// revision or the group's set-up.
func CreateCodeDeployDeployment(ctx context.Context, client CodeDeployAPI, req CodeDeployRequest) (id, replaced string, err error) {
	what := fmt.Sprintf("create a CodeDeploy deployment in %s", req.Group)
	id, err = createDeployment(ctx, client, req)
	var busy *DeploymentInProgressError
	if err == nil || !errors.As(err, &busy) || busy.Active == "" || req.Supersede == nil {
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", what, err)
		}
		return id, "", nil
	}
	active, err := GetCodeDeployDeployment(ctx, client, busy.Active)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", what, err)
	}
	if !req.Supersede(active) {
		return "", "", fmt.Errorf("%s: %w", what, busy)
	}
	if err := StopCodeDeployDeployment(ctx, client, busy.Active); err != nil && !errors.Is(err, ErrDeploymentEnded) {
		return "", "", fmt.Errorf("%s: %w", what, err)
	}
	req.Origin.Replaces = busy.Active
	id, err = createDeployment(ctx, client, req, func(o *codedeploy.Options) {
		o.Retryer = retryAlso{Retryer: o.Retryer, retryable: isDeploymentLimitExceeded, attempts: createAfterStopAttempts}
	})
	if err != nil {
		return "", "", fmt.Errorf("%s after stopping %s: %w", what, busy.Active, err)
	}
	return id, busy.Active, nil
}

func createDeployment(ctx context.Context, client CodeDeployAPI, req CodeDeployRequest, optFns ...func(*codedeploy.Options)) (string, error) {
	out, err := client.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName:     aws.String(req.Group.Application),
		DeploymentGroupName: aws.String(req.Group.Name),
		Description:         aws.String(req.Origin.Description()),
		Revision: &cdtypes.RevisionLocation{
			RevisionType:   cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(string(req.AppSpec))},
		},
	}, optFns...)
	if err != nil {
		return "", codeDeployError(err)
	}
	return aws.ToString(out.DeploymentId), nil
}

func isDeploymentLimitExceeded(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "DeploymentLimitExceededException"
}

// StopCodeDeployDeployment stops a deployment in progress, with its
// automatic rollback, so that the service goes back to the revision it ran
// before (for ECS, traffic returns to the original task set). It returns an
// error wrapping ErrDeploymentEnded when the deployment has already ended,
// and ErrCodeDeployDeploymentNotFound when CodeDeploy does not know it.
func StopCodeDeployDeployment(ctx context.Context, client CodeDeployAPI, id string) error {
	_, err := client.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("stop CodeDeploy deployment %s: %w", id, codeDeployError(err))
	}
	return nil
}

// CodeDeploy's deployment statuses (DeploymentInfo, API Reference).
const (
	CodeDeployCreated    = string(cdtypes.DeploymentStatusCreated)
	CodeDeployQueued     = string(cdtypes.DeploymentStatusQueued)
	CodeDeployInProgress = string(cdtypes.DeploymentStatusInProgress)
	CodeDeployBaking     = string(cdtypes.DeploymentStatusBaking)
	CodeDeployReady      = string(cdtypes.DeploymentStatusReady)
	CodeDeploySucceeded  = string(cdtypes.DeploymentStatusSucceeded)
	CodeDeployFailed     = string(cdtypes.DeploymentStatusFailed)
	CodeDeployStopped    = string(cdtypes.DeploymentStatusStopped)
)

// CodeDeployDeployment is what CodeDeploy says about one deployment.
type CodeDeployDeployment struct {
	ID, Application, DeploymentGroup string
	// Status is CodeDeploy's: Created, Queued, InProgress, Baking, Ready,
	// Succeeded, Failed or Stopped; a status a later API adds is kept as
	// it comes.
	Status string
	// ErrorCode and ErrorMessage are CodeDeploy's errorInformation: why it
	// failed or stopped (ALARM_ACTIVE, TIMEOUT, ...).
	ErrorCode, ErrorMessage string
	// RollbackMessage is rollbackInfo's: how the rollback went, when
	// CodeDeploy rolled the deployment back.
	RollbackMessage string
	// RollbackDeploymentID is the deployment CodeDeploy created to roll
	// this one back, if it created one.
	RollbackDeploymentID string
	Description          string
	Creator              string
	CreateTime           time.Time
	CompleteTime         time.Time
	// SupersededBy is, for a Stopped deployment, the deployment ecrdeploy
	// created in its place (the one whose description says it replaces
	// this one); "" otherwise.
	SupersededBy string
}

// Rollout is the rollout state the deployment's status means:
//   - Succeeded: completed.
//   - Failed: failed (whatever CodeDeploy then rolled back).
//   - Stopped: superseded when ecrdeploy stopped it to deploy another
//     revision of the same environment in its place (SupersededBy), and
//     failed otherwise: a person stopped it (the same as a rejection), an
//     alarm stopped it (ALARM_ACTIVE), or the wait for traffic rerouting
//     ran out (DeploymentReadyOption's STOP_DEPLOYMENT); in each case the
//     revision did not go out and the service runs the one before.
//   - Created, Queued, InProgress, Baking, Ready, and any status this code
//     does not know: in progress (not ended as far as we can tell).
func (d CodeDeployDeployment) Rollout() state.Rollout {
	switch d.Status {
	case CodeDeploySucceeded:
		return state.Completed
	case CodeDeployFailed:
		return state.Failed
	case CodeDeployStopped:
		if d.SupersededBy != "" {
			return state.Superseded
		}
		return state.Failed
	}
	return state.InProgress
}

// Reason says why the deployment is where it is, for the state record and
// the result: CodeDeploy's error and rollback messages, or the deployment
// that superseded it; "" while it runs or once it succeeded.
func (d CodeDeployDeployment) Reason() string {
	switch d.Rollout() {
	case state.Superseded:
		return "CodeDeploy deployment " + d.ID + " stopped: superseded by " + d.SupersededBy
	case state.Failed:
		var parts []string
		if d.ErrorCode != "" || d.ErrorMessage != "" {
			parts = append(parts, strings.TrimSpace(d.ErrorCode+" "+d.ErrorMessage))
		}
		if d.RollbackMessage != "" {
			parts = append(parts, "rollback: "+d.RollbackMessage)
		}
		if len(parts) == 0 {
			return "CodeDeploy deployment " + d.ID + " " + strings.ToLower(d.Status)
		}
		return "CodeDeploy deployment " + d.ID + " " + strings.ToLower(d.Status) + ": " + strings.Join(parts, "; ")
	}
	return ""
}

func codeDeployDeployment(info *cdtypes.DeploymentInfo) CodeDeployDeployment {
	d := CodeDeployDeployment{
		ID: aws.ToString(info.DeploymentId), Application: aws.ToString(info.ApplicationName),
		DeploymentGroup: aws.ToString(info.DeploymentGroupName), Status: string(info.Status),
		Description: aws.ToString(info.Description), Creator: string(info.Creator),
		CreateTime: aws.ToTime(info.CreateTime), CompleteTime: aws.ToTime(info.CompleteTime),
	}
	if e := info.ErrorInformation; e != nil {
		d.ErrorCode, d.ErrorMessage = string(e.Code), aws.ToString(e.Message)
	}
	if r := info.RollbackInfo; r != nil {
		d.RollbackMessage, d.RollbackDeploymentID = aws.ToString(r.RollbackMessage), aws.ToString(r.RollbackDeploymentId)
	}
	return d
}

// GetCodeDeployDeployment returns what CodeDeploy says about a deployment.
// For a Stopped deployment it also looks, among the group's deployments
// created since, for the one ecrdeploy created in its place
// (SupersededBy): ListDeployments and BatchGetDeployments, only then. It
// returns an error wrapping ErrCodeDeployDeploymentNotFound when CodeDeploy
// does not know the id.
func GetCodeDeployDeployment(ctx context.Context, client CodeDeployAPI, id string) (CodeDeployDeployment, error) {
	out, err := client.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return CodeDeployDeployment{}, fmt.Errorf("get CodeDeploy deployment %s: %w", id, codeDeployError(err))
	}
	if out.DeploymentInfo == nil {
		return CodeDeployDeployment{}, fmt.Errorf("get CodeDeploy deployment %s: %w", id, ErrCodeDeployDeploymentNotFound)
	}
	d := codeDeployDeployment(out.DeploymentInfo)
	if d.Status != CodeDeployStopped {
		return d, nil
	}
	if d.SupersededBy, err = supersededBy(ctx, client, d); err != nil {
		return CodeDeployDeployment{}, fmt.Errorf("get CodeDeploy deployment %s: %w", id, err)
	}
	return d, nil
}

// supersededBy returns the deployment of d's group, created since d, whose
// description says ecrdeploy created it in d's place; "" if none.
func supersededBy(ctx context.Context, client CodeDeployAPI, d CodeDeployDeployment) (string, error) {
	in := &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(d.Application), DeploymentGroupName: aws.String(d.DeploymentGroup)}
	if !d.CreateTime.IsZero() {
		in.CreateTimeRange = &cdtypes.TimeRange{Start: aws.Time(d.CreateTime)}
	}
	var ids []string
	pages := codedeploy.NewListDeploymentsPaginator(client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list deployments of %s/%s: %w", d.Application, d.DeploymentGroup, codeDeployError(err))
		}
		ids = append(ids, slices.DeleteFunc(page.Deployments, func(id string) bool { return id == d.ID })...)
	}
	for chunk := range slices.Chunk(ids, 25) {
		out, err := client.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: chunk})
		if err != nil {
			return "", fmt.Errorf("get deployments of %s/%s: %w", d.Application, d.DeploymentGroup, codeDeployError(err))
		}
		for _, info := range out.DeploymentsInfo {
			if o, ok := ParseCodeDeployOrigin(aws.ToString(info.Description)); ok && o.Replaces == d.ID {
				return aws.ToString(info.DeploymentId), nil
			}
		}
	}
	return "", nil
}
