package target

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// fakeCodeDeploy answers from its function fields; a call whose field is
// nil fails the test.
type fakeCodeDeploy struct {
	t     *testing.T
	calls []string

	ListApplicationsFn         func(*codedeploy.ListApplicationsInput) (*codedeploy.ListApplicationsOutput, error)
	BatchGetApplicationsFn     func(*codedeploy.BatchGetApplicationsInput) (*codedeploy.BatchGetApplicationsOutput, error)
	ListDeploymentGroupsFn     func(*codedeploy.ListDeploymentGroupsInput) (*codedeploy.ListDeploymentGroupsOutput, error)
	BatchGetDeploymentGroupsFn func(*codedeploy.BatchGetDeploymentGroupsInput) (*codedeploy.BatchGetDeploymentGroupsOutput, error)
	GetDeploymentGroupFn       func(*codedeploy.GetDeploymentGroupInput) (*codedeploy.GetDeploymentGroupOutput, error)
	CreateDeploymentFn         func(*codedeploy.CreateDeploymentInput) (*codedeploy.CreateDeploymentOutput, error)
	GetDeploymentFn            func(*codedeploy.GetDeploymentInput) (*codedeploy.GetDeploymentOutput, error)
	StopDeploymentFn           func(*codedeploy.StopDeploymentInput) (*codedeploy.StopDeploymentOutput, error)
	ListDeploymentsFn          func(*codedeploy.ListDeploymentsInput) (*codedeploy.ListDeploymentsOutput, error)
	BatchGetDeploymentsFn      func(*codedeploy.BatchGetDeploymentsInput) (*codedeploy.BatchGetDeploymentsOutput, error)
}

var _ CodeDeployAPI = (*fakeCodeDeploy)(nil)

func call[I, O any](f *fakeCodeDeploy, name string, fn func(I) (O, error), in I) (O, error) {
	f.calls = append(f.calls, name)
	if fn == nil {
		f.t.Errorf("unexpected call of %s", name)
		var zero O
		return zero, errors.New("unexpected call of " + name)
	}
	return fn(in)
}

func (f *fakeCodeDeploy) ListApplications(_ context.Context, in *codedeploy.ListApplicationsInput, _ ...func(*codedeploy.Options)) (*codedeploy.ListApplicationsOutput, error) {
	return call(f, "ListApplications", f.ListApplicationsFn, in)
}
func (f *fakeCodeDeploy) BatchGetApplications(_ context.Context, in *codedeploy.BatchGetApplicationsInput, _ ...func(*codedeploy.Options)) (*codedeploy.BatchGetApplicationsOutput, error) {
	return call(f, "BatchGetApplications", f.BatchGetApplicationsFn, in)
}
func (f *fakeCodeDeploy) ListDeploymentGroups(_ context.Context, in *codedeploy.ListDeploymentGroupsInput, _ ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentGroupsOutput, error) {
	return call(f, "ListDeploymentGroups", f.ListDeploymentGroupsFn, in)
}
func (f *fakeCodeDeploy) BatchGetDeploymentGroups(_ context.Context, in *codedeploy.BatchGetDeploymentGroupsInput, _ ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentGroupsOutput, error) {
	return call(f, "BatchGetDeploymentGroups", f.BatchGetDeploymentGroupsFn, in)
}
func (f *fakeCodeDeploy) GetDeploymentGroup(_ context.Context, in *codedeploy.GetDeploymentGroupInput, _ ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentGroupOutput, error) {
	return call(f, "GetDeploymentGroup", f.GetDeploymentGroupFn, in)
}
func (f *fakeCodeDeploy) CreateDeployment(_ context.Context, in *codedeploy.CreateDeploymentInput, _ ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error) {
	return call(f, "CreateDeployment", f.CreateDeploymentFn, in)
}
func (f *fakeCodeDeploy) GetDeployment(_ context.Context, in *codedeploy.GetDeploymentInput, _ ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error) {
	return call(f, "GetDeployment", f.GetDeploymentFn, in)
}
func (f *fakeCodeDeploy) StopDeployment(_ context.Context, in *codedeploy.StopDeploymentInput, _ ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error) {
	return call(f, "StopDeployment", f.StopDeploymentFn, in)
}
func (f *fakeCodeDeploy) ListDeployments(_ context.Context, in *codedeploy.ListDeploymentsInput, _ ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error) {
	return call(f, "ListDeployments", f.ListDeploymentsFn, in)
}
func (f *fakeCodeDeploy) BatchGetDeployments(_ context.Context, in *codedeploy.BatchGetDeploymentsInput, _ ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentsOutput, error) {
	return call(f, "BatchGetDeployments", f.BatchGetDeploymentsFn, in)
}

func groupInfo(app, name, cluster, service string) cdtypes.DeploymentGroupInfo {
	info := cdtypes.DeploymentGroupInfo{
		ApplicationName: aws.String(app), DeploymentGroupName: aws.String(name),
		DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce"), ComputePlatform: cdtypes.ComputePlatformEcs,
	}
	if service != "" {
		info.EcsServices = []cdtypes.ECSService{{ClusterName: aws.String(cluster), ServiceName: aws.String(service)}}
	}
	return info
}

// groups answers ListDeploymentGroups, BatchGetDeploymentGroups and
// GetDeploymentGroup from a set of groups by application.
func (f *fakeCodeDeploy) groups(byApp map[string][]cdtypes.DeploymentGroupInfo) {
	find := func(app, name string) (cdtypes.DeploymentGroupInfo, bool) {
		for _, g := range byApp[app] {
			if aws.ToString(g.DeploymentGroupName) == name {
				return g, true
			}
		}
		return cdtypes.DeploymentGroupInfo{}, false
	}
	f.ListDeploymentGroupsFn = func(in *codedeploy.ListDeploymentGroupsInput) (*codedeploy.ListDeploymentGroupsOutput, error) {
		gs, ok := byApp[aws.ToString(in.ApplicationName)]
		if !ok {
			return nil, &cdtypes.ApplicationDoesNotExistException{Message: aws.String("No application found for name: " + aws.ToString(in.ApplicationName))}
		}
		out := &codedeploy.ListDeploymentGroupsOutput{ApplicationName: in.ApplicationName}
		for _, g := range gs {
			out.DeploymentGroups = append(out.DeploymentGroups, aws.ToString(g.DeploymentGroupName))
		}
		return out, nil
	}
	f.BatchGetDeploymentGroupsFn = func(in *codedeploy.BatchGetDeploymentGroupsInput) (*codedeploy.BatchGetDeploymentGroupsOutput, error) {
		out := &codedeploy.BatchGetDeploymentGroupsOutput{}
		for _, name := range in.DeploymentGroupNames {
			if g, ok := find(aws.ToString(in.ApplicationName), name); ok {
				out.DeploymentGroupsInfo = append(out.DeploymentGroupsInfo, g)
			}
		}
		return out, nil
	}
	f.GetDeploymentGroupFn = func(in *codedeploy.GetDeploymentGroupInput) (*codedeploy.GetDeploymentGroupOutput, error) {
		if _, ok := byApp[aws.ToString(in.ApplicationName)]; !ok {
			return nil, &cdtypes.ApplicationDoesNotExistException{Message: aws.String("No application found for name: " + aws.ToString(in.ApplicationName))}
		}
		g, ok := find(aws.ToString(in.ApplicationName), aws.ToString(in.DeploymentGroupName))
		if !ok {
			return nil, &cdtypes.DeploymentGroupDoesNotExistException{Message: aws.String("No Deployment Group found for name: " + aws.ToString(in.DeploymentGroupName))}
		}
		return &codedeploy.GetDeploymentGroupOutput{DeploymentGroupInfo: &g}, nil
	}
}

func TestFindCodeDeployGroup(t *testing.T) {
	web := CodeDeployGroup{Application: "apps", Name: "web-dg", DeploymentConfig: "CodeDeployDefault.ECSAllAtOnce", Cluster: "prod", Service: "web"}
	byApp := map[string][]cdtypes.DeploymentGroupInfo{
		"apps":   {groupInfo("apps", "api-dg", "prod", "api"), groupInfo("apps", "web-dg", "prod", "web")},
		"other":  {groupInfo("other", "lambda-dg", "", "")},
		"legacy": {groupInfo("legacy", "web-old", "staging", "web")},
	}
	tests := []struct {
		name               string
		service            string
		application, group string
		batchFails         bool
		want               CodeDeployGroup
		wantErr            error
		wantCalls          []string
	}{
		{name: "named", service: "web", application: "apps", group: "web-dg", want: web, wantCalls: []string{"GetDeploymentGroup"}},
		{name: "named group of another service", service: "web", application: "apps", group: "api-dg", wantErr: ErrDeploymentGroupMismatch, wantCalls: []string{"GetDeploymentGroup"}},
		{name: "named group missing", service: "web", application: "apps", group: "nope", wantErr: ErrDeploymentGroupNotFound, wantCalls: []string{"GetDeploymentGroup"}},
		{name: "named application missing", service: "web", application: "nope", group: "web-dg", wantErr: ErrCodeDeployApplicationNotFound, wantCalls: []string{"GetDeploymentGroup"}},
		{name: "application only", service: "web", application: "apps", want: web, wantCalls: []string{"ListDeploymentGroups", "BatchGetDeploymentGroups"}},
		{
			name: "application only, without BatchGetDeploymentGroups", service: "web", application: "apps", batchFails: true, want: web,
			wantCalls: []string{"ListDeploymentGroups", "BatchGetDeploymentGroups", "GetDeploymentGroup", "GetDeploymentGroup"},
		},
		{name: "application only, none deploys it", service: "worker", application: "apps", wantErr: ErrNoDeploymentGroup, wantCalls: []string{"ListDeploymentGroups", "BatchGetDeploymentGroups"}},
		{name: "application only, application missing", service: "web", application: "nope", wantErr: ErrCodeDeployApplicationNotFound, wantCalls: []string{"ListDeploymentGroups"}},
		{
			name: "looked up among ECS applications", service: "arn:aws:ecs:us-east-1:111111111111:service/prod/web", want: web,
			wantCalls: []string{"ListApplications", "BatchGetApplications", "ListDeploymentGroups", "BatchGetDeploymentGroups", "ListDeploymentGroups", "BatchGetDeploymentGroups"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCodeDeploy{t: t}
			f.groups(byApp)
			if tt.batchFails {
				f.BatchGetDeploymentGroupsFn = func(*codedeploy.BatchGetDeploymentGroupsInput) (*codedeploy.BatchGetDeploymentGroupsOutput, error) {
					return nil, errors.New("http 500")
				}
			}
			f.ListApplicationsFn = func(*codedeploy.ListApplicationsInput) (*codedeploy.ListApplicationsOutput, error) {
				return &codedeploy.ListApplicationsOutput{Applications: []string{"apps", "legacy", "lambdas"}}, nil
			}
			f.BatchGetApplicationsFn = func(in *codedeploy.BatchGetApplicationsInput) (*codedeploy.BatchGetApplicationsOutput, error) {
				out := &codedeploy.BatchGetApplicationsOutput{}
				for _, name := range in.ApplicationNames {
					platform := cdtypes.ComputePlatformEcs
					if name == "lambdas" {
						platform = cdtypes.ComputePlatformLambda
					}
					out.ApplicationsInfo = append(out.ApplicationsInfo, cdtypes.ApplicationInfo{ApplicationName: aws.String(name), ComputePlatform: platform})
				}
				return out, nil
			}
			got, err := FindCodeDeployGroup(t.Context(), f, "prod", tt.service, tt.application, tt.group)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("group (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindCodeDeployGroupSeveral(t *testing.T) {
	f := &fakeCodeDeploy{t: t}
	f.groups(map[string][]cdtypes.DeploymentGroupInfo{"apps": {groupInfo("apps", "a", "prod", "web"), groupInfo("apps", "b", "prod", "web")}})
	_, err := FindCodeDeployGroup(t.Context(), f, "prod", "web", "apps", "")
	if !errors.Is(err, ErrDeploymentGroupMismatch) || !strings.Contains(err.Error(), "apps/a, apps/b") {
		t.Errorf("error %v, want ErrDeploymentGroupMismatch naming apps/a and apps/b", err)
	}
}

func TestCodeDeployOrigin(t *testing.T) {
	for _, o := range []CodeDeployOrigin{
		{Repository: "team/web", Version: "1.4.0", Environment: "production"},
		{Repository: "web", Version: "1.5.0-rc.1+b7", Environment: "dev", Replaces: "d-ABCDEF123"},
	} {
		got, ok := ParseCodeDeployOrigin(o.Description())
		if !ok || got != o {
			t.Errorf("ParseCodeDeployOrigin(%q) = %+v, %v, want %+v", o.Description(), got, ok, o)
		}
	}
	if got := (CodeDeployOrigin{Repository: "web", Version: "1.4.0", Environment: "dev", Replaces: "d-1"}).Description(); got != "ecrdeploy: web 1.4.0 to dev (replaces d-1)" {
		t.Errorf("Description = %q", got)
	}
	for _, s := range []string{"", "deployed by hand", "ecrdeploy: web 1.4.0", "ecrdeploy: web 1.4.0 on dev", "ecrdeploy: web 1.4.0 to dev (replaces d-1", "Ecrdeploy: web 1.4.0 to dev"} {
		if o, ok := ParseCodeDeployOrigin(s); ok {
			t.Errorf("ParseCodeDeployOrigin(%q) = %+v, want not ecrdeploy's", s, o)
		}
	}
}

func TestActiveDeployment(t *testing.T) {
	for msg, want := range map[string]string{
		"The Deployment Group 'web-dg' already has an active Deployment 'd-ABCDEF123'": "d-ABCDEF123",
		"Deployment group 'web-dg' is already deploying 'd-XYZ9'":                      "d-XYZ9",
		"Rate exceeded": "",
	} {
		if got := activeDeployment(msg); got != want {
			t.Errorf("activeDeployment(%q) = %q, want %q", msg, got, want)
		}
	}
	err := codeDeployError(&cdtypes.DeploymentLimitExceededException{Message: aws.String("The Deployment Group 'web-dg' already has an active Deployment 'd-1'")})
	var busy *DeploymentInProgressError
	if !errors.As(err, &busy) || busy.Active != "d-1" || !errors.Is(err, ErrDeploymentInProgress) || !Retryable(err) {
		t.Errorf("codeDeployError = %v, want a retryable *DeploymentInProgressError naming d-1", err)
	}
}

func TestCodeDeployErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want error
	}{
		{&cdtypes.ApplicationDoesNotExistException{Message: aws.String("x")}, ErrCodeDeployApplicationNotFound},
		{&cdtypes.DeploymentGroupDoesNotExistException{Message: aws.String("x")}, ErrDeploymentGroupNotFound},
		{&cdtypes.DeploymentDoesNotExistException{Message: aws.String("x")}, ErrCodeDeployDeploymentNotFound},
		{&cdtypes.DeploymentAlreadyCompletedException{Message: aws.String("x")}, ErrDeploymentEnded},
		{&cdtypes.InvalidRevisionException{Message: aws.String("x")}, ErrCodeDeployRefused},
		{&cdtypes.InvalidRoleException{Message: aws.String("x")}, ErrCodeDeployRefused},
		{&cdtypes.DeploymentConfigDoesNotExistException{Message: aws.String("x")}, ErrCodeDeployRefused},
	} {
		if got := codeDeployError(tt.err); !errors.Is(got, tt.want) || Retryable(got) {
			t.Errorf("codeDeployError(%T) = %v (retryable %v), want %v, not retryable", tt.err, got, Retryable(got), tt.want)
		}
	}
	throttled := &cdtypes.ThrottlingException{Message: aws.String("Rate exceeded")}
	if got := codeDeployError(throttled); got != throttled {
		t.Errorf("codeDeployError(throttling) = %v, want it unchanged", got)
	}
}

func TestCodeDeployRollout(t *testing.T) {
	tests := []struct {
		d          CodeDeployDeployment
		want       state.Rollout
		wantReason string
	}{
		{CodeDeployDeployment{ID: "d-1", Status: "Created"}, state.InProgress, ""},
		{CodeDeployDeployment{ID: "d-1", Status: "Queued"}, state.InProgress, ""},
		{CodeDeployDeployment{ID: "d-1", Status: "InProgress"}, state.InProgress, ""},
		{CodeDeployDeployment{ID: "d-1", Status: "Ready"}, state.InProgress, ""},
		{CodeDeployDeployment{ID: "d-1", Status: "Baking"}, state.InProgress, ""},
		{CodeDeployDeployment{ID: "d-1", Status: "SomethingNew"}, state.InProgress, ""},
		{CodeDeployDeployment{ID: "d-1", Status: "Succeeded"}, state.Completed, ""},
		{
			CodeDeployDeployment{ID: "d-1", Status: "Failed", ErrorCode: "ECS_UPDATE_ERROR", ErrorMessage: "tasks failed", RollbackMessage: "rolled back"},
			state.Failed, "CodeDeploy deployment d-1 failed: ECS_UPDATE_ERROR tasks failed; rollback: rolled back",
		},
		{CodeDeployDeployment{ID: "d-1", Status: "Failed"}, state.Failed, "CodeDeploy deployment d-1 failed"},
		{CodeDeployDeployment{ID: "d-1", Status: "Stopped", ErrorCode: "ALARM_ACTIVE", ErrorMessage: "alarm 5xx"}, state.Failed, "CodeDeploy deployment d-1 stopped: ALARM_ACTIVE alarm 5xx"},
		{CodeDeployDeployment{ID: "d-1", Status: "Stopped", ErrorCode: "MANUAL_STOP"}, state.Failed, "CodeDeploy deployment d-1 stopped: MANUAL_STOP"},
		{CodeDeployDeployment{ID: "d-1", Status: "Stopped", ErrorCode: "MANUAL_STOP", SupersededBy: "d-2"}, state.Superseded, "CodeDeploy deployment d-1 stopped: superseded by d-2"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s-%s", tt.d.Status, tt.d.ErrorCode, tt.d.SupersededBy), func(t *testing.T) {
			if got := tt.d.Rollout(); got != tt.want {
				t.Errorf("Rollout() = %s, want %s", got, tt.want)
			}
			if got := tt.d.Reason(); got != tt.wantReason {
				t.Errorf("Reason() = %q, want %q", got, tt.wantReason)
			}
		})
	}
}

// deployments answers GetDeployment, ListDeployments and
// BatchGetDeployments from a set of deployments of one group.
func (f *fakeCodeDeploy) deployments(ds ...cdtypes.DeploymentInfo) {
	byID := map[string]cdtypes.DeploymentInfo{}
	var ids []string
	for _, d := range ds {
		byID[aws.ToString(d.DeploymentId)] = d
		ids = append(ids, aws.ToString(d.DeploymentId))
	}
	f.GetDeploymentFn = func(in *codedeploy.GetDeploymentInput) (*codedeploy.GetDeploymentOutput, error) {
		d, ok := byID[aws.ToString(in.DeploymentId)]
		if !ok {
			return nil, &cdtypes.DeploymentDoesNotExistException{Message: aws.String("no such deployment")}
		}
		return &codedeploy.GetDeploymentOutput{DeploymentInfo: &d}, nil
	}
	f.ListDeploymentsFn = func(in *codedeploy.ListDeploymentsInput) (*codedeploy.ListDeploymentsOutput, error) {
		return &codedeploy.ListDeploymentsOutput{Deployments: ids}, nil
	}
	f.BatchGetDeploymentsFn = func(in *codedeploy.BatchGetDeploymentsInput) (*codedeploy.BatchGetDeploymentsOutput, error) {
		out := &codedeploy.BatchGetDeploymentsOutput{}
		for _, id := range in.DeploymentIds {
			out.DeploymentsInfo = append(out.DeploymentsInfo, byID[id])
		}
		return out, nil
	}
}

func info(id string, status cdtypes.DeploymentStatus, description string) cdtypes.DeploymentInfo {
	return cdtypes.DeploymentInfo{
		DeploymentId: aws.String(id), Status: status, Description: aws.String(description),
		ApplicationName: aws.String("apps"), DeploymentGroupName: aws.String("web-dg"),
		CreateTime: aws.Time(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)),
	}
}

func TestGetCodeDeployDeploymentStopped(t *testing.T) {
	f := &fakeCodeDeploy{t: t}
	f.deployments(
		info("d-1", cdtypes.DeploymentStatusStopped, "ecrdeploy: web 1.4.0 to prod"),
		info("d-2", cdtypes.DeploymentStatusInProgress, "ecrdeploy: web 1.5.0 to prod (replaces d-1)"),
		info("d-3", cdtypes.DeploymentStatusStopped, "by hand"),
		info("d-4", cdtypes.DeploymentStatusSucceeded, "ecrdeploy: web 1.5.0 to prod (replaces d-9)"),
	)
	d1, err := GetCodeDeployDeployment(t.Context(), f, "d-1")
	if err != nil || d1.SupersededBy != "d-2" || d1.Rollout() != state.Superseded {
		t.Errorf("d-1 = %+v, %v, want superseded by d-2", d1, err)
	}
	d3, err := GetCodeDeployDeployment(t.Context(), f, "d-3")
	if err != nil || d3.SupersededBy != "" || d3.Rollout() != state.Failed {
		t.Errorf("d-3 = %+v, %v, want failed (stopped, not replaced)", d3, err)
	}
	f.calls = nil
	if d2, err := GetCodeDeployDeployment(t.Context(), f, "d-2"); err != nil || d2.Rollout() != state.InProgress {
		t.Errorf("d-2 = %+v, %v, want in progress", d2, err)
	}
	if diff := cmp.Diff([]string{"GetDeployment"}, f.calls); diff != "" {
		t.Errorf("a deployment that is not Stopped costs one call (-want +got):\n%s", diff)
	}
	if _, err := GetCodeDeployDeployment(t.Context(), f, "d-404"); !errors.Is(err, ErrCodeDeployDeploymentNotFound) {
		t.Errorf("unknown deployment: %v, want ErrCodeDeployDeploymentNotFound", err)
	}
}

func TestCreateCodeDeployDeployment(t *testing.T) {
	group := CodeDeployGroup{Application: "apps", Name: "web-dg", Cluster: "prod", Service: "web"}
	spec := []byte(`{"version": 0.0}`)
	busy := func(id string) error {
		return &cdtypes.DeploymentLimitExceededException{Message: aws.String("The Deployment Group 'web-dg' already has an active Deployment '" + id + "'")}
	}
	tests := []struct {
		name         string
		active       cdtypes.DeploymentInfo // the deployment keeping the group busy at first; none if no id
		supersede    bool
		wantID       string
		wantReplaced string
		wantErr      error
		wantCalls    []string
		wantLast     string // description of the last CreateDeployment
	}{
		{name: "free group", wantID: "d-new", wantCalls: []string{"CreateDeployment"}, wantLast: "ecrdeploy: web 1.5.0 to prod"},
		{
			name: "own deployment in progress", active: info("d-old", cdtypes.DeploymentStatusInProgress, "ecrdeploy: web 1.4.0 to prod"), supersede: true,
			wantID: "d-new", wantReplaced: "d-old", wantCalls: []string{"CreateDeployment", "GetDeployment", "StopDeployment", "CreateDeployment"},
			wantLast: "ecrdeploy: web 1.5.0 to prod (replaces d-old)",
		},
		{
			name: "someone else's deployment in progress", active: info("d-old", cdtypes.DeploymentStatusInProgress, "pipeline run 12"), supersede: true,
			wantErr: ErrDeploymentInProgress, wantCalls: []string{"CreateDeployment", "GetDeployment"},
		},
		{
			name: "another environment's deployment", active: info("d-old", cdtypes.DeploymentStatusInProgress, "ecrdeploy: web 1.4.0 to staging"), supersede: true,
			wantErr: ErrDeploymentInProgress, wantCalls: []string{"CreateDeployment", "GetDeployment"},
		},
		{
			name: "own deployment, superseding not asked", active: info("d-old", cdtypes.DeploymentStatusInProgress, "ecrdeploy: web 1.4.0 to prod"),
			wantErr: ErrDeploymentInProgress, wantCalls: []string{"CreateDeployment"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCodeDeploy{t: t}
			activeID := aws.ToString(tt.active.DeploymentId)
			if activeID != "" {
				f.deployments(tt.active)
			}
			stopped := false
			var last string
			f.CreateDeploymentFn = func(in *codedeploy.CreateDeploymentInput) (*codedeploy.CreateDeploymentOutput, error) {
				if aws.ToString(in.ApplicationName) != "apps" || aws.ToString(in.DeploymentGroupName) != "web-dg" ||
					in.Revision.RevisionType != cdtypes.RevisionLocationTypeAppSpecContent || aws.ToString(in.Revision.AppSpecContent.Content) != string(spec) {
					t.Errorf("CreateDeployment %+v", in)
				}
				last = aws.ToString(in.Description)
				if activeID != "" && !stopped {
					return nil, busy(activeID)
				}
				return &codedeploy.CreateDeploymentOutput{DeploymentId: aws.String("d-new")}, nil
			}
			f.StopDeploymentFn = func(in *codedeploy.StopDeploymentInput) (*codedeploy.StopDeploymentOutput, error) {
				if aws.ToString(in.DeploymentId) != activeID || !aws.ToBool(in.AutoRollbackEnabled) {
					t.Errorf("StopDeployment %+v, want %s with its rollback", in, activeID)
				}
				stopped = true
				return &codedeploy.StopDeploymentOutput{Status: cdtypes.StopStatusSucceeded}, nil
			}
			req := CodeDeployRequest{Group: group, AppSpec: spec, Origin: CodeDeployOrigin{Repository: "web", Version: "1.5.0", Environment: "prod"}}
			if tt.supersede {
				req.Supersede = OwnDeployment("web", "prod")
			}
			id, replaced, err := CreateCodeDeployDeployment(t.Context(), f, req)
			if !errors.Is(err, tt.wantErr) || id != tt.wantID || replaced != tt.wantReplaced {
				t.Errorf("= %q, %q, %v; want %q, %q, %v", id, replaced, err, tt.wantID, tt.wantReplaced, tt.wantErr)
			}
			if tt.wantErr != nil {
				var b *DeploymentInProgressError
				if !errors.As(err, &b) || b.Active != activeID {
					t.Errorf("error %v does not name %s", err, activeID)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if tt.wantLast != "" && last != tt.wantLast {
				t.Errorf("description %q, want %q", last, tt.wantLast)
			}
		})
	}
}
