package verify_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/verify"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

// document is a ConfigSource of one parsed document.
type document struct{ doc *config.Document }

func (d document) Get(context.Context, string) (*config.Document, error) { return d.doc, nil }

// codeDeployServices seeds cluster "prod" with CODE_DEPLOY services: "web"
// (container app, port 8080 behind a target group), deployed by
// apps/web-dg, "api" (same), deployed by apps/api-dg, and "bare", without a
// load balancer or a deployment group.
func codeDeployServices(t *testing.T) *awstest.Env {
	t.Helper()
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../../internal/awstest/testdata/taskdef-fargate.json"))(t)
	td := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	n := awstest.Must(env.Local.Network(t.Context()))(t)
	for _, name := range []string{"web", "api", "bare"} {
		svc := &ecs.CreateServiceInput{
			Cluster: aws.String("prod"), ServiceName: aws.String(name), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1),
			LaunchType:           ecstypes.LaunchTypeFargate,
			DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
			NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
				Subnets: []string{n.SubnetID}, SecurityGroups: []string{n.SecurityGroupID}}},
		}
		if name != "bare" {
			svc.LoadBalancers = []ecstypes.LoadBalancer{{
				TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:" + localaws.AccountID + ":targetgroup/" + name + "-blue/0123456789abcdef"),
				ContainerName:  aws.String("app"), ContainerPort: aws.Int32(8080),
			}}
		}
		if _, err := ecs.NewFromConfig(env.Local.Config).CreateService(t.Context(), svc); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"web", "api"} {
		if err := env.Local.CreateCodeDeployGroup(t.Context(), "apps", name+"-dg", "prod", name); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func TestVerifyCodeDeployService(t *testing.T) {
	env := codeDeployServices(t)
	tests := []struct {
		name     string
		services string // JSON list
		cd       string // deployment.codeDeploy, JSON, or ""
		want     map[string]string
	}{
		{
			name: "looked up", services: `["web"]`,
			want: map[string]string{
				"service web is deployed by a CodeDeploy deployment group":                      "ok apps/web-dg (CodeDeployDefault.ECSAllAtOnce)",
				"service web routes traffic to one container and port for CodeDeploy's AppSpec": "ok app:8080",
			},
		},
		{
			name: "application named", services: `["web", "api"]`, cd: `{"application": "apps"}`,
			want: map[string]string{
				"service web is deployed by a deployment group of CodeDeploy application apps": "ok apps/web-dg (CodeDeployDefault.ECSAllAtOnce)",
				"service api is deployed by a deployment group of CodeDeploy application apps": "ok apps/api-dg (CodeDeployDefault.ECSAllAtOnce)",
			},
		},
		{
			name: "group named", services: `["web"]`, cd: `{"application": "apps", "deploymentGroup": "web-dg"}`,
			want: map[string]string{"service web is deployed by CodeDeploy deployment group apps/web-dg": "ok apps/web-dg (CodeDeployDefault.ECSAllAtOnce)"},
		},
		{
			name: "group of another service named", services: `["web"]`, cd: `{"application": "apps", "deploymentGroup": "api-dg"}`,
			want: map[string]string{"service web is deployed by CodeDeploy deployment group apps/api-dg": "failed " + target.ErrDeploymentGroupMismatch.Error() + ": apps/api-dg deploys prod/api"},
		},
		{
			name: "group missing", services: `["web"]`, cd: `{"application": "apps", "deploymentGroup": "nope"}`,
			want: map[string]string{"service web is deployed by CodeDeploy deployment group apps/nope": "failed " + target.ErrDeploymentGroupNotFound.Error()},
		},
		{
			name: "application missing", services: `["web"]`, cd: `{"application": "nope"}`,
			want: map[string]string{"service web is deployed by a deployment group of CodeDeploy application nope": "failed " + target.ErrCodeDeployApplicationNotFound.Error()},
		},
		{
			name: "no group, no load balancer", services: `["bare"]`,
			want: map[string]string{
				"service bare is deployed by a CodeDeploy deployment group":                      "failed " + target.ErrNoDeploymentGroup.Error(),
				"service bare routes traffic to one container and port for CodeDeploy's AppSpec": "failed the service has no load balancer",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deployment := ""
			if tt.cd != "" {
				deployment = `, "deployment": {"codeDeploy": ` + tt.cd + `}`
			}
			doc, err := config.Parse("/ecrdeploy/config/web", []byte(`{"environments": {"prod": {"cluster": "prod", "services": `+tt.services+deployment+`}}}`))
			if err != nil {
				t.Fatal(err)
			}
			v := &verify.Verifier{Config: document{doc}, Targets: &target.Pool{Base: env.Config}}
			checks, err := v.Verify(t.Context(), "web")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range checks {
				state := "failed "
				if c.OK {
					state = "ok "
				}
				got[c.What] = state + c.Detail
			}
			for what, want := range tt.want {
				g, ok := got[what]
				if !ok || !strings.HasPrefix(g, want[:strings.Index(want, " ")]) || !strings.Contains(g, want[strings.Index(want, " ")+1:]) {
					t.Errorf("check %q = %q, want %q (checks %+v)", what, g, want, checks)
				}
			}
			for what, g := range got {
				if strings.Contains(what, "is deployed by ECS") {
					t.Errorf("a CODE_DEPLOY service is reported as %q: %s", what, g)
				}
			}
		})
	}
}
