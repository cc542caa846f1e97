package target_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/appspec"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

// blueGreen is a CODE_DEPLOY service "web" in cluster "prod" (container
// app, port 8080 behind a target group, Fargate 1.4.0) running v1, with v2
// and v3 registered, the deployment group apps/web-dg that deploys it, and
// the clients of the code under test, through the proxy.
type blueGreen struct {
	env        *awstest.Env
	v1, v2, v3 string
	ecs        target.ECSAPI
	cd         target.CodeDeployAPI
}

func newBlueGreen(t *testing.T) blueGreen {
	t.Helper()
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../../internal/awstest/testdata/taskdef-fargate.json"))(t)
	w := blueGreen{env: env, ecs: env.ECS(), cd: env.CodeDeploy()}
	w.v1 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	w.v2 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	w.v3 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	n := awstest.Must(env.Local.Network(t.Context()))(t)
	_, err := ecs.NewFromConfig(env.Local.Config).CreateService(t.Context(), &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(w.v1), DesiredCount: aws.Int32(2),
		LaunchType: ecstypes.LaunchTypeFargate, PlatformVersion: aws.String("1.4.0"),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:" + localaws.AccountID + ":targetgroup/web-blue/0123456789abcdef"),
			ContainerName:  aws.String("app"), ContainerPort: aws.Int32(8080),
		}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{n.SubnetID}, SecurityGroups: []string{n.SecurityGroupID}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	awstest.Must(0, env.Local.CreateCodeDeployGroup(t.Context(), "apps", "web-dg", "prod", "web"))(t)
	return w
}

func (w blueGreen) service(t *testing.T) target.Service {
	t.Helper()
	found, err := target.DescribeServices(t.Context(), w.ecs, "prod", []string{"web"})
	if err != nil || len(found) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, found)
	}
	return found["web"]
}

// deploy does what the apply path does for a CODE_DEPLOY service: find the
// group, build the AppSpec of td from the service, create the deployment.
func (w blueGreen) deploy(t *testing.T, td, version string) (id, replaced string, err error) {
	t.Helper()
	svc := w.service(t)
	g, err := target.FindCodeDeployGroup(t.Context(), w.cd, "prod", "web", "", "")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := appspec.Build(td, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return target.CreateCodeDeployDeployment(t.Context(), w.cd, target.CodeDeployRequest{
		Group: g, AppSpec: spec, Origin: target.CodeDeployOrigin{Repository: "web", Version: version, Environment: "prod"},
		Supersede: target.OwnDeployment("web", "prod"),
	})
}

func (w blueGreen) rollout(t *testing.T, id string) target.CodeDeployDeployment {
	t.Helper()
	d, err := target.GetCodeDeployDeployment(t.Context(), w.cd, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCodeDeployDeploymentSucceeds(t *testing.T) {
	w := newBlueGreen(t)
	before := w.service(t)
	if !before.CodeDeployControlled() || len(before.Deployments) != 0 {
		t.Fatalf("service %+v, want CODE_DEPLOY without deployments", before)
	}
	if ts, ok := before.PrimaryTaskSet(); !ok || ts.TaskDefinition != w.v1 || len(before.TaskSets) != 1 {
		t.Errorf("task sets %+v, want one PRIMARY of v1", before.TaskSets)
	}

	w.env.Proxy.Reset()
	id, replaced, err := w.deploy(t, w.v2, "1.5.0")
	if err != nil || replaced != "" {
		t.Fatalf("deploy: %q, %q, %v", id, replaced, err)
	}
	// moto lacks BatchGetDeploymentGroups (HTTP 500): tried once, then
	// the group is read by itself.
	for op, want := range map[string]int{"BatchGetDeploymentGroups": 1, "GetDeploymentGroup": 1, "CreateDeployment": 1, "StopDeployment": 0} {
		if n := w.env.Proxy.Count("codedeploy:" + op); n != want {
			t.Errorf("%d %s calls, want %d", n, op, want)
		}
	}
	// What CodeDeploy was sent.
	d, _ := w.env.CodeDeployModel.Deployment(id)
	if d.TaskDefinition != w.v2 || d.ContainerName != "app" || d.ContainerPort != 8080 || d.Description != "ecrdeploy: web 1.5.0 to prod" ||
		d.Cluster != "prod" || d.Service != "web" || !strings.Contains(d.AppSpec, `"PlatformVersion": "1.4.0"`) || strings.Contains(d.AppSpec, "NetworkConfiguration") {
		t.Errorf("deployment sent %+v", d)
	}
	if got := w.rollout(t, id); got.Rollout() != state.InProgress || got.Status != "Created" || got.Application != "apps" || got.DeploymentGroup != "web-dg" {
		t.Errorf("created: %+v, want in progress", got)
	}

	awstest.Must(0, w.env.CodeDeployModel.Start(t.Context(), id))(t)
	during := w.service(t)
	if len(during.TaskSets) != 2 || during.TaskSets[1].ExternalID != id || during.TaskSets[1].TaskDefinition != w.v2 || during.TaskDefinition != w.v1 {
		t.Errorf("during: service runs %s, task sets %+v", during.TaskDefinition, during.TaskSets)
	}
	if got := w.rollout(t, id); got.Rollout() != state.InProgress {
		t.Errorf("started: %+v, want in progress", got)
	}

	awstest.Must(0, w.env.CodeDeployModel.Succeed(t.Context(), id))(t)
	if got := w.rollout(t, id); got.Rollout() != state.Completed || got.Reason() != "" || got.CompleteTime.IsZero() {
		t.Errorf("succeeded: %+v, want completed", got)
	}
	after := w.service(t)
	if ts, ok := after.PrimaryTaskSet(); !ok || after.TaskDefinition != w.v2 || ts.ExternalID != id || len(after.TaskSets) != 1 {
		t.Errorf("after: service runs %s, task sets %+v; want v2 on the deployment's task set", after.TaskDefinition, after.TaskSets)
	}
}

func TestCodeDeployDeploymentFails(t *testing.T) {
	w := newBlueGreen(t)
	id, _ := awstest.Must2(w.deploy(t, w.v2, "1.5.0"))(t)
	awstest.Must(0, w.env.CodeDeployModel.Fail(t.Context(), id, "", ""))(t)
	got := w.rollout(t, id)
	if got.Rollout() != state.Failed || got.ErrorCode != "ECS_UPDATE_ERROR" || got.RollbackMessage != awstest.CodeDeployRolledBack {
		t.Errorf("failed: %+v", got)
	}
	if want := "CodeDeploy deployment " + id + " failed: ECS_UPDATE_ERROR " + awstest.CodeDeployFailedMessage + "; rollback: " + awstest.CodeDeployRolledBack; got.Reason() != want {
		t.Errorf("reason %q, want %q", got.Reason(), want)
	}
	after := w.service(t)
	if after.TaskDefinition != w.v1 || len(after.TaskSets) != 1 {
		t.Errorf("after: service runs %s, task sets %+v; want v1 alone", after.TaskDefinition, after.TaskSets)
	}
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), "prod", "web"))(t); !localaws.SameTaskDefinition(td, w.v1) {
		t.Errorf("moto's service runs %s, want v1", td)
	}
	// A failed deployment leaves the group free.
	if _, _, err := w.deploy(t, w.v3, "1.6.0"); err != nil {
		t.Errorf("deployment after the failure: %v", err)
	}
}

func TestCodeDeployDeploymentSuperseded(t *testing.T) {
	w := newBlueGreen(t)
	first, _ := awstest.Must2(w.deploy(t, w.v2, "1.5.0"))(t)
	awstest.Must(0, w.env.CodeDeployModel.Start(t.Context(), first))(t)

	w.env.Proxy.Reset()
	second, replaced, err := w.deploy(t, w.v3, "1.6.0")
	if err != nil || replaced != first {
		t.Fatalf("second deployment: %q, replaced %q, %v; want it to replace %s", second, replaced, err, first)
	}
	if n := w.env.Proxy.Count("codedeploy:StopDeployment"); n != 1 {
		t.Errorf("%d StopDeployment calls, want 1", n)
	}
	if d, _ := w.env.CodeDeployModel.Deployment(second); d.Description != "ecrdeploy: web 1.6.0 to prod (replaces "+first+")" || d.TaskDefinition != w.v3 {
		t.Errorf("second deployment sent %+v", d)
	}

	got := w.rollout(t, first)
	if got.Status != "Stopped" || got.SupersededBy != second || got.Rollout() != state.Superseded {
		t.Errorf("first: %+v, want stopped and superseded by %s", got, second)
	}
	if want := "CodeDeploy deployment " + first + " stopped: superseded by " + second; got.Reason() != want {
		t.Errorf("reason %q, want %q", got.Reason(), want)
	}
	if svc := w.service(t); svc.TaskDefinition != w.v1 || len(svc.TaskSets) != 1 {
		t.Errorf("after the stop: service runs %s, task sets %+v; want v1 alone", svc.TaskDefinition, svc.TaskSets)
	}

	awstest.Must(0, w.env.CodeDeployModel.Succeed(t.Context(), second))(t)
	if got := w.rollout(t, second); got.Rollout() != state.Completed {
		t.Errorf("second: %+v, want completed", got)
	}
	if svc := w.service(t); svc.TaskDefinition != w.v3 {
		t.Errorf("service runs %s, want v3", svc.TaskDefinition)
	}
	// The superseded one stays superseded, whatever came after.
	if got := w.rollout(t, first); got.Rollout() != state.Superseded {
		t.Errorf("first, later: %+v, want superseded", got)
	}
}

// A deployment someone else started is waited for, not stopped; one a
// person stopped, or an alarm, is a failure even when another follows.
func TestCodeDeployDeploymentNotOurs(t *testing.T) {
	w := newBlueGreen(t)
	theirs, err := w.env.CodeDeploy().CreateDeployment(t.Context(), &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String("apps"), DeploymentGroupName: aws.String("web-dg"), Description: aws.String("pipeline run 12"),
		Revision: awstest.Must(appSpecRevision(w.v2, w.service(t)))(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = w.deploy(t, w.v3, "1.6.0")
	var busy *target.DeploymentInProgressError
	if !errors.As(err, &busy) || busy.Active != aws.ToString(theirs.DeploymentId) || !target.Retryable(err) {
		t.Fatalf("deploy beside someone else's deployment: %v, want a retryable ErrDeploymentInProgress naming it", err)
	}
	if d, _ := w.env.CodeDeployModel.Deployment(aws.ToString(theirs.DeploymentId)); d.Status != "Created" {
		t.Errorf("their deployment is %s, want left alone", d.Status)
	}

	// A person stops it; ours follows, replacing nothing.
	if err := target.StopCodeDeployDeployment(t.Context(), w.cd, aws.ToString(theirs.DeploymentId)); err != nil {
		t.Fatal(err)
	}
	if err := target.StopCodeDeployDeployment(t.Context(), w.cd, aws.ToString(theirs.DeploymentId)); !errors.Is(err, target.ErrDeploymentEnded) {
		t.Errorf("second stop: %v, want ErrDeploymentEnded", err)
	}
	ours, _ := awstest.Must2(w.deploy(t, w.v3, "1.6.0"))(t)
	if got := w.rollout(t, aws.ToString(theirs.DeploymentId)); got.Rollout() != state.Failed || got.SupersededBy != "" || got.ErrorCode != "MANUAL_STOP" {
		t.Errorf("stopped by a person: %+v, want failed", got)
	}

	// An alarm stops ours.
	awstest.Must(0, w.env.CodeDeployModel.Start(t.Context(), ours))(t)
	awstest.Must(0, w.env.CodeDeployModel.Stop(ours, "ALARM_ACTIVE", "alarm web-5xx (the test's text)"))(t)
	if got := w.rollout(t, ours); got.Rollout() != state.Failed || !strings.Contains(got.Reason(), "ALARM_ACTIVE") {
		t.Errorf("stopped by an alarm: %+v, want failed", got)
	}
	if svc := w.service(t); svc.TaskDefinition != w.v1 {
		t.Errorf("service runs %s, want v1", svc.TaskDefinition)
	}
	if _, err := target.GetCodeDeployDeployment(t.Context(), w.cd, "d-UNKNOWN"); !errors.Is(err, target.ErrCodeDeployDeploymentNotFound) {
		t.Errorf("unknown deployment: %v, want ErrCodeDeployDeploymentNotFound", err)
	}
}

func appSpecRevision(td string, svc target.Service) (*cdtypes.RevisionLocation, error) {
	spec, err := appspec.Build(td, svc, nil)
	if err != nil {
		return nil, err
	}
	return &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(string(spec))}}, nil
}
