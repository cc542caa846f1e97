package awstest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// blueGreen is a CODE_DEPLOY service "web" (container app, port 8080 behind
// a target group) in cluster "prod" running v1, with v2 registered, and the
// deployment group apps/web-dg that deploys it.
type blueGreen struct {
	env    *awstest.Env
	v1, v2 string
}

func newBlueGreen(t *testing.T) blueGreen {
	t.Helper()
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("testdata/taskdef-fargate.json"))(t)
	w := blueGreen{env: env}
	w.v1 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	w.v2 = awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
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
	if err := env.Local.CreateCodeDeployGroup(t.Context(), "apps", "web-dg", "prod", "web"); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w blueGreen) appSpec(td string) string {
	return `{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": "` + td +
		`", "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080}}}}]}`
}

func (w blueGreen) create(t *testing.T, td string) (string, error) {
	t.Helper()
	out, err := w.env.CodeDeploy().CreateDeployment(t.Context(), &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String("apps"), DeploymentGroupName: aws.String("web-dg"), Description: aws.String("to " + td),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(w.appSpec(td))}},
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.DeploymentId), nil
}

func (w blueGreen) get(t *testing.T, id string) cdtypes.DeploymentInfo {
	t.Helper()
	out, err := w.env.CodeDeploy().GetDeployment(t.Context(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetDeployment %s: %v", id, err)
	}
	return *out.DeploymentInfo
}

func (w blueGreen) describe(t *testing.T) ecstypes.Service {
	t.Helper()
	out, err := w.env.ECS().DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	return out.Services[0]
}

type taskSet struct{ status, td, externalID, startedBy string }

func taskSets(s ecstypes.Service) []taskSet {
	var out []taskSet
	for _, ts := range s.TaskSets {
		out = append(out, taskSet{aws.ToString(ts.Status), aws.ToString(ts.TaskDefinition), aws.ToString(ts.ExternalId), aws.ToString(ts.StartedBy)})
	}
	return out
}

func sameTaskSets(t *testing.T, what string, s ecstypes.Service, want ...taskSet) {
	t.Helper()
	got := taskSets(s)
	if len(got) != len(want) {
		t.Fatalf("%s: task sets\n got %+v\nwant %+v", what, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: task set %d\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
	if len(s.Deployments) != 0 {
		t.Errorf("%s: a CODE_DEPLOY service lists deployments %+v", what, s.Deployments)
	}
}

func TestCodeDeployModelSucceeds(t *testing.T) {
	w := newBlueGreen(t)
	sameTaskSets(t, "before", w.describe(t), taskSet{"PRIMARY", w.v1, "", ""})

	id, err := w.create(t, w.v2)
	if err != nil {
		t.Fatal(err)
	}
	d := w.get(t, id)
	if d.Status != cdtypes.DeploymentStatusCreated || aws.ToString(d.Description) != "to "+w.v2 || d.CreateTime == nil || d.ComputePlatform != cdtypes.ComputePlatformEcs {
		t.Errorf("created deployment %+v", d)
	}
	if got, _ := w.env.CodeDeployModel.Deployment(id); got.TaskDefinition != w.v2 || got.Cluster != "prod" || got.Service != "web" || got.ContainerName != "app" || got.ContainerPort != 8080 {
		t.Errorf("model's deployment %+v", got)
	}

	if err := w.env.CodeDeployModel.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if d := w.get(t, id); d.Status != cdtypes.DeploymentStatusInProgress || d.StartTime == nil {
		t.Errorf("started deployment %+v", d)
	}
	during := w.describe(t)
	sameTaskSets(t, "during", during, taskSet{"PRIMARY", w.v1, "", ""}, taskSet{"ACTIVE", w.v2, id, "CODE_DEPLOY"})
	if td := aws.ToString(during.TaskDefinition); td != w.v1 {
		t.Errorf("during the deployment the service runs %s, want %s", td, w.v1)
	}
	if err := w.env.CodeDeployModel.Advance(id, awstest.CodeDeployReady); err != nil {
		t.Fatal(err)
	}
	if d := w.get(t, id); d.Status != cdtypes.DeploymentStatusReady {
		t.Errorf("status %s, want Ready", d.Status)
	}

	if err := w.env.CodeDeployModel.Succeed(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if d := w.get(t, id); d.Status != cdtypes.DeploymentStatusSucceeded || d.CompleteTime == nil || d.ErrorInformation != nil {
		t.Errorf("succeeded deployment %+v", d)
	}
	after := w.describe(t)
	sameTaskSets(t, "after", after, taskSet{"PRIMARY", w.v2, id, "CODE_DEPLOY"})
	if td := aws.ToString(after.TaskDefinition); td != w.v2 {
		t.Errorf("service runs %s, want %s", td, w.v2)
	}
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), "prod", "web"))(t); !localaws.SameTaskDefinition(td, w.v2) {
		t.Errorf("moto's service runs %s, want %s", td, w.v2)
	}
	if err := w.env.CodeDeployModel.Fail(t.Context(), id, "", ""); err == nil {
		t.Error("a succeeded deployment failed")
	}
}

func TestCodeDeployModelFails(t *testing.T) {
	w := newBlueGreen(t)
	id := awstest.Must(w.create(t, w.v2))(t)
	if err := w.env.CodeDeployModel.Fail(t.Context(), id, "", ""); err != nil {
		t.Fatal(err)
	}
	d := w.get(t, id)
	if d.Status != cdtypes.DeploymentStatusFailed || d.ErrorInformation == nil || d.ErrorInformation.Code != cdtypes.ErrorCodeEcsUpdateError ||
		aws.ToString(d.ErrorInformation.Message) != awstest.CodeDeployFailedMessage ||
		d.RollbackInfo == nil || aws.ToString(d.RollbackInfo.RollbackMessage) != awstest.CodeDeployRolledBack {
		t.Errorf("failed deployment %+v", d)
	}
	after := w.describe(t)
	sameTaskSets(t, "after", after, taskSet{"PRIMARY", w.v1, "", ""})
	if td := aws.ToString(after.TaskDefinition); td != w.v1 {
		t.Errorf("service runs %s, want %s", td, w.v1)
	}
	if td := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), "prod", "web"))(t); !localaws.SameTaskDefinition(td, w.v1) {
		t.Errorf("moto's service runs %s, want %s", td, w.v1)
	}
}

func TestCodeDeployModelOneDeploymentAtATime(t *testing.T) {
	w := newBlueGreen(t)
	first := awstest.Must(w.create(t, w.v2))(t)
	awstest.Must(0, w.env.CodeDeployModel.Start(t.Context(), first))(t)

	_, err := w.create(t, w.v1)
	var busy *cdtypes.DeploymentLimitExceededException
	if !errors.As(err, &busy) || !strings.Contains(err.Error(), "The Deployment Group 'web-dg' already has an active Deployment '"+first+"'") {
		t.Fatalf("second deployment: %v, want DeploymentLimitExceededException naming %s", err, first)
	}

	out, err := w.env.CodeDeploy().StopDeployment(t.Context(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(first), AutoRollbackEnabled: aws.Bool(true)})
	if err != nil || out.Status != cdtypes.StopStatusSucceeded {
		t.Fatalf("StopDeployment: %+v, %v", out, err)
	}
	if d := w.get(t, first); d.Status != cdtypes.DeploymentStatusStopped || d.ErrorInformation == nil || d.ErrorInformation.Code != cdtypes.ErrorCodeManualStop {
		t.Errorf("stopped deployment %+v", d)
	}
	sameTaskSets(t, "stopped", w.describe(t), taskSet{"PRIMARY", w.v1, "", ""})

	second, err := w.create(t, w.v2)
	if err != nil {
		t.Fatalf("deployment after the stop: %v", err)
	}
	_, err = w.env.CodeDeploy().StopDeployment(t.Context(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(first)})
	var done *cdtypes.DeploymentAlreadyCompletedException
	if !errors.As(err, &done) {
		t.Errorf("stop of a stopped deployment: %v, want DeploymentAlreadyCompletedException", err)
	}

	list, err := w.env.CodeDeploy().ListDeployments(t.Context(), &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String("apps"), DeploymentGroupName: aws.String("web-dg"), IncludeOnlyStatuses: []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusCreated},
	})
	if err != nil || len(list.Deployments) != 1 || list.Deployments[0] != second {
		t.Errorf("ListDeployments of Created: %+v, %v, want [%s]", list, err, second)
	}
	batch, err := w.env.CodeDeploy().BatchGetDeployments(t.Context(), &codedeploy.BatchGetDeploymentsInput{DeploymentIds: []string{first, second, "d-UNKNOWN"}})
	if err != nil || len(batch.DeploymentsInfo) != 2 {
		t.Errorf("BatchGetDeployments: %+v, %v, want two", batch, err)
	}
	_, err = w.env.CodeDeploy().GetDeployment(t.Context(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String("d-UNKNOWN")})
	var missing *cdtypes.DeploymentDoesNotExistException
	if !errors.As(err, &missing) {
		t.Errorf("GetDeployment of an unknown id: %v, want DeploymentDoesNotExistException", err)
	}
}

func TestCodeDeployModelRefusesAnAppSpecWithoutItsTarget(t *testing.T) {
	w := newBlueGreen(t)
	for _, content := range []string{"not: [yaml", `{"version": 0.0, "Resources": []}`, `{"Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": "` + w.v2 + `"}}}]}`} {
		_, err := w.env.CodeDeploy().CreateDeployment(t.Context(), &codedeploy.CreateDeploymentInput{
			ApplicationName: aws.String("apps"), DeploymentGroupName: aws.String("web-dg"),
			Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(content)}},
		})
		var invalid *cdtypes.InvalidRevisionException
		if !errors.As(err, &invalid) {
			t.Errorf("AppSpec %s: %v, want InvalidRevisionException", content, err)
		}
	}
	if ds := w.env.CodeDeployModel.Deployments(); len(ds) != 0 {
		t.Errorf("refused deployments were created: %+v", ds)
	}
	_, err := w.env.CodeDeploy().CreateDeployment(t.Context(), &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String("apps"), DeploymentGroupName: aws.String("nope"),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(w.appSpec(w.v2))}},
	})
	var noGroup *cdtypes.DeploymentGroupDoesNotExistException
	if !errors.As(err, &noGroup) {
		t.Errorf("unknown group: %v, want DeploymentGroupDoesNotExistException", err)
	}
}
