package target_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// The adapters of ContinueServiceDeployment, StopServiceDeployment and
// DescribeServiceDeployments against the ECS model: what a paused
// blue/green deployment reports, an approval, a stop, and ECS's refusals
// translated.
func TestServiceDeploymentCalls(t *testing.T) {
	env := awstest.New(t)
	ctx := t.Context()
	awstest.Must(env.Local.CreateCluster(ctx, "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../taskdef/testdata/fargate-web.json"))(t)
	v1 := awstest.Must(env.Local.RegisterTaskDefinition(ctx, in))(t)
	v2 := awstest.Must(env.Local.RegisterTaskDefinition(ctx, in))(t)
	awstest.Must(env.Local.CreateService(ctx, "apps", "web", v1, 1))(t)
	client := env.ECS()
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("apps"), Service: aws.String("web"), TaskDefinition: aws.String(v2),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(20),
			LifecycleHooks: []ecstypes.DeploymentLifecycleHook{{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause,
				LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"POST_TEST_TRAFFIC_SHIFT"}}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	r := awstest.Must(env.ECSModel.Progress(ctx, "apps", "web"))(t)

	services := awstest.Must(target.DescribeServices(ctx, client, "apps", []string{"web"}))(t)
	svc := services["web"]
	if svc.CurrentServiceDeployment != r.ServiceDeploymentARN || svc.DeploymentConfiguration == nil || svc.DeploymentConfiguration.Strategy != ecstypes.DeploymentStrategyBlueGreen {
		t.Errorf("service = %+v", svc)
	}

	sd := awstest.Must(target.DescribeServiceDeployment(ctx, client, r.ServiceDeploymentARN))(t)
	h, ok := sd.AwaitingHook()
	if sd.Status != "IN_PROGRESS" || sd.Stage != "POST_TEST_TRAFFIC_SHIFT" || sd.Strategy != "BLUE_GREEN" || aws.ToInt32(sd.BakeMinutes) != 20 ||
		aws.ToFloat64(sd.Production) != 0 || aws.ToFloat64(sd.Test) != 100 || !ok || h.Type != "PAUSE" || h.TimeoutAction != "ROLLBACK" || h.ExpiresAt.IsZero() {
		t.Fatalf("paused deployment = %+v", sd)
	}

	if err := target.ContinueServiceDeployment(ctx, client, r.ServiceDeploymentARN, h.ID, target.Continue); err != nil {
		t.Fatal(err)
	}
	if err := target.ContinueServiceDeployment(ctx, client, r.ServiceDeploymentARN, h.ID, target.Continue); !errors.Is(err, target.ErrHookNotAwaiting) {
		t.Errorf("continuing twice: %v, want ErrHookNotAwaiting", err)
	}
	if err := target.ContinueServiceDeployment(ctx, client, r.ServiceDeploymentARN+"0", h.ID, target.Rollback); !errors.Is(err, target.ErrServiceDeploymentNotFound) {
		t.Errorf("continuing an unknown deployment: %v, want ErrServiceDeploymentNotFound", err)
	}
	if _, err := target.DescribeServiceDeployment(ctx, client, r.ServiceDeploymentARN+"0"); !errors.Is(err, target.ErrServiceDeploymentNotFound) {
		t.Errorf("describing an unknown deployment: %v, want ErrServiceDeploymentNotFound", err)
	}

	// Baking: stopped, it rolls back.
	if r = awstest.Must(env.ECSModel.Progress(ctx, "apps", "web"))(t); r.Stage != awstest.StageBakeTime {
		t.Fatalf("after the approval: %+v", r)
	}
	if err := target.StopServiceDeployment(ctx, client, r.ServiceDeploymentARN); err != nil {
		t.Fatal(err)
	}
	awstest.Must(env.ECSModel.Progress(ctx, "apps", "web"))(t)
	awstest.Must(env.ECSModel.Progress(ctx, "apps", "web"))(t)
	sd = awstest.Must(target.DescribeServiceDeployment(ctx, client, r.ServiceDeploymentARN))(t)
	if sd.Status != "ROLLBACK_SUCCESSFUL" || sd.Rollback == nil || sd.Rollback.Reason != awstest.StoppedReason || sd.Rollback.RevisionARN == "" || sd.FinishedAt.IsZero() {
		t.Errorf("stopped deployment = %+v, rollback %+v", sd, sd.Rollback)
	}
	if err := target.StopServiceDeployment(ctx, client, r.ServiceDeploymentARN); !errors.Is(err, target.ErrDeploymentEnded) {
		t.Errorf("stopping an ended deployment: %v, want ErrDeploymentEnded", err)
	}
	if err := target.StopServiceDeployment(ctx, client, r.ServiceDeploymentARN+"0"); !errors.Is(err, target.ErrServiceDeploymentNotFound) {
		t.Errorf("stopping an unknown deployment: %v, want ErrServiceDeploymentNotFound", err)
	}

	env.ECSModel.RefuseServiceDeployments(awstest.RefuseAccessDenied)
	if _, err := target.DescribeServiceDeployment(ctx, client, r.ServiceDeploymentARN); !errors.Is(err, target.ErrNoServiceDeployments) {
		t.Errorf("a refused API: %v, want ErrNoServiceDeployments", err)
	}
}
