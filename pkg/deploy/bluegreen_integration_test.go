package deploy

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// judgeBlueGreen on what the ECS model reports through the adapters: a
// canary that bakes its share ("canary 10 %, baking, 12 of 15 min"), an
// alarm during the bake (failed, with no ECS deployment event needed), and
// a deployment a newer one replaced (superseded).
func TestJudgeBlueGreenOfTheModel(t *testing.T) {
	env := awstest.New(t)
	ctx := t.Context()
	awstest.Must(env.Local.CreateCluster(ctx, "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../taskdef/testdata/fargate-web.json"))(t)
	v1 := awstest.Must(env.Local.RegisterTaskDefinition(ctx, in))(t)
	v2 := awstest.Must(env.Local.RegisterTaskDefinition(ctx, in))(t)
	v3 := awstest.Must(env.Local.RegisterTaskDefinition(ctx, in))(t)
	awstest.Must(env.Local.CreateService(ctx, "apps", "web", v1, 1))(t)
	client := env.ECS()
	update := func(td string, dc *ecstypes.DeploymentConfiguration) {
		t.Helper()
		if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("apps"), Service: aws.String("web"), TaskDefinition: aws.String(td), DeploymentConfiguration: dc}); err != nil {
			t.Fatal(err)
		}
	}
	judge := func(elapsed time.Duration) (blueGreenView, string) {
		t.Helper()
		svc := awstest.Must(target.DescribeServices(ctx, client, "apps", []string{"web"}))(t)["web"]
		r, _ := env.ECSModel.Rollout("apps", "web")
		sd := awstest.Must(target.DescribeServiceDeployment(ctx, client, r.ServiceDeploymentARN))(t)
		return judgeBlueGreen(sd, svc.CurrentServiceDeployment, time.Now().Add(elapsed)), r.ServiceDeploymentARN
	}

	update(v2, &ecstypes.DeploymentConfiguration{
		Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(30),
		CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(15)},
		Alarms:              &ecstypes.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true},
	})
	if v, _ := judge(0); v.rollout != state.InProgress || v.text != "canary 0 %, starting" {
		t.Errorf("at the start: %+v", v)
	}
	awstest.Must(env.ECSModel.Progress(ctx, "apps", "web"))(t)
	env.ECSModel.Elapse(12 * time.Minute)
	if v, _ := judge(12 * time.Minute); v.rollout != state.InProgress || v.stage != "PRODUCTION_TRAFFIC_SHIFT" || v.production != 10 || v.text != "canary 10 %, baking, 12 of 15 min" {
		t.Errorf("baking the canary: %+v", v)
	}
	env.ECSModel.Elapse(3 * time.Minute)
	awstest.Must(env.ECSModel.Progress(ctx, "apps", "web"))(t)
	env.ECSModel.Elapse(5 * time.Minute)
	if v, _ := judge(20 * time.Minute); v.text != "canary 100 %, baking, 5 of 30 min" {
		t.Errorf("baking: %+v", v)
	}
	awstest.Must(0, env.ECSModel.AlarmFires(ctx, "apps", "web", "web-5xx"))(t)
	v, failed := judge(20 * time.Minute)
	if v.rollout != state.Failed || v.cause != causeAlarm || v.reason != awstest.AlarmReason("web-5xx") || v.text != "canary rolling back at bake-time: alarm web-5xx" {
		t.Errorf("after the alarm: %+v", v)
	}
	awstest.Must(env.ECSModel.Progress(ctx, "apps", "web"))(t)
	if v, _ := judge(20 * time.Minute); v.rollout != state.Failed || v.text != "canary rolled back at bake-time: alarm web-5xx" {
		t.Errorf("rolled back: %+v", v)
	}

	// A canary that a newer deployment replaces is superseded.
	update(v3, nil)
	_, stopped := judge(0)
	update(v2, nil)
	svc := awstest.Must(target.DescribeServices(ctx, client, "apps", []string{"web"}))(t)["web"]
	sd := awstest.Must(target.DescribeServiceDeployment(ctx, client, stopped))(t)
	if v := judgeBlueGreen(sd, svc.CurrentServiceDeployment, time.Now()); sd.Status != "STOPPED" || v.rollout != state.Superseded || stopped == failed {
		t.Errorf("replaced deployment: %s, %+v", sd.Status, v)
	}
}
