package localaws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// CodeDeployServiceRole is the service role of the deployment groups
// [Client.CreateCodeDeployGroup] creates; moto does not check it.
const CodeDeployServiceRole = "arn:aws:iam::" + AccountID + ":role/ecsCodeDeployRole"

// CreateCodeDeployGroup creates, in moto, a CodeDeploy deployment group of
// the ECS compute platform that deploys the service cluster/service
// blue/green with traffic control and CodeDeployDefault.ECSAllAtOnce, and
// its application unless it exists.
func (c *Client) CreateCodeDeployGroup(ctx context.Context, application, group, cluster, service string) error {
	client := codedeploy.NewFromConfig(c.Config)
	_, err := client.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: aws.String(application), ComputePlatform: cdtypes.ComputePlatformEcs})
	var exists *cdtypes.ApplicationAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create CodeDeploy application %s: %w", application, err)
	}
	_, err = client.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{
		ApplicationName: aws.String(application), DeploymentGroupName: aws.String(group),
		ServiceRoleArn: aws.String(CodeDeployServiceRole), DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce"),
		EcsServices: []cdtypes.ECSService{{ClusterName: aws.String(cluster), ServiceName: aws.String(service)}},
		DeploymentStyle: &cdtypes.DeploymentStyle{
			DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl,
		},
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{
			Enabled: true, Events: []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure, cdtypes.AutoRollbackEventDeploymentStopOnRequest},
		},
	})
	if err != nil {
		return fmt.Errorf("create CodeDeploy deployment group %s/%s: %w", application, group, err)
	}
	return nil
}
