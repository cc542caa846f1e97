package localaws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// ErrServiceNotFound is returned (wrapped) by [Client.DescribeService] for a
// service moto does not have.
var ErrServiceNotFound = errors.New("service not found")

// CreateCluster creates an ECS cluster in moto and returns its ARN.
func (c *Client) CreateCluster(ctx context.Context, name string) (string, error) {
	out, err := c.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create cluster %s: %w", name, err)
	}
	return aws.ToString(out.Cluster.ClusterArn), nil
}

// ReadTaskDefinitionFile reads and parses the task definition in the JSON
// file at path (see [ParseTaskDefinition]).
func ReadTaskDefinitionFile(path string) (*ecs.RegisterTaskDefinitionInput, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read task definition: %w", err)
	}
	in, err := ParseTaskDefinition(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}

// RegisterTaskDefinition registers in and returns the ARN of the new revision.
func (c *Client) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput) (string, error) {
	out, err := c.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", aws.ToString(in.Family), err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// ParseTaskDefinition decodes a task definition in any of the shapes people
// keep them in: the output of `aws ecs describe-task-definition --include
// TAGS` ({"taskDefinition": {...}, "tags": [...]}), the bare taskDefinition
// object, or register-task-definition's --cli-input-json. It is
// [taskdef.DecodeDescribeJSON] followed by [taskdef.FromDescribe], the
// codec ecrdeploy itself uses, so fields that only describe prints (ARN,
// revision, status, timestamps...) are dropped and empty top-level lists
// are nil (RegisterTaskDefinition rejects an empty tag list). Any other
// field the SDK does not know is an error ([taskdef.ErrUnknownField],
// wrapped), so that a typo in a fixture does not silently drop a setting;
// so is a definition without a family.
func ParseTaskDefinition(data []byte) (*ecs.RegisterTaskDefinitionInput, error) {
	td, tags, err := taskdef.DecodeDescribeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse task definition: %w", err)
	}
	in := taskdef.FromDescribe(td, tags)
	if aws.ToString(in.Family) == "" {
		return nil, errors.New("parse task definition: no family")
	}
	return in, nil
}

// CreateService creates a service with desired tasks of the task definition
// taskDefARN (an ARN or family[:revision]) and returns it. A task definition
// that requires FARGATE gets launch type FARGATE, others EC2; an awsvpc one
// gets the [Client.Network] subnet and security group. Each of opts may set
// more of the request (load balancers, say) before it is sent.
func (c *Client) CreateService(ctx context.Context, cluster, service, taskDefARN string, desired int32, opts ...func(*ecs.CreateServiceInput)) (*ecstypes.Service, error) {
	td, _, err := c.DescribeTaskDefinition(ctx, taskDefARN)
	if err != nil {
		return nil, fmt.Errorf("create service %s/%s: %w", cluster, service, err)
	}
	in := &ecs.CreateServiceInput{
		Cluster:        aws.String(cluster),
		ServiceName:    aws.String(service),
		TaskDefinition: aws.String(taskDefARN),
		DesiredCount:   aws.Int32(desired),
		LaunchType:     ecstypes.LaunchTypeEc2,
	}
	if slices.Contains(td.RequiresCompatibilities, ecstypes.CompatibilityFargate) {
		in.LaunchType = ecstypes.LaunchTypeFargate
	}
	if td.NetworkMode == ecstypes.NetworkModeAwsvpc {
		n, err := c.Network(ctx)
		if err != nil {
			return nil, fmt.Errorf("create service %s/%s: %w", cluster, service, err)
		}
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{
			AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
				Subnets:        []string{n.SubnetID},
				SecurityGroups: []string{n.SecurityGroupID},
				AssignPublicIp: ecstypes.AssignPublicIpDisabled,
			},
		}
	}
	for _, o := range opts {
		o(in)
	}
	out, err := c.ecs.CreateService(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create service %s/%s: %w", cluster, service, err)
	}
	return out.Service, nil
}

// DescribeService returns the service as moto has it. It returns
// [ErrServiceNotFound] (wrapped) if the service does not exist.
func (c *Client) DescribeService(ctx context.Context, cluster, service string) (*ecstypes.Service, error) {
	out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: []string{service},
	})
	if err != nil {
		return nil, fmt.Errorf("describe service %s/%s: %w", cluster, service, err)
	}
	if len(out.Services) != 1 {
		return nil, fmt.Errorf("describe service %s/%s: %w (failures %+v)", cluster, service, ErrServiceNotFound, out.Failures)
	}
	return &out.Services[0], nil
}

// ServiceTaskDefinition returns the task definition a service points to.
// moto stores it as it was last passed, so it may be an ARN or
// family[:revision]; compare with [SameTaskDefinition].
func (c *Client) ServiceTaskDefinition(ctx context.Context, cluster, service string) (string, error) {
	svc, err := c.DescribeService(ctx, cluster, service)
	if err != nil {
		return "", err
	}
	return aws.ToString(svc.TaskDefinition), nil
}

// SameTaskDefinition reports whether two task definition references name the
// same revision, whether given as ARNs or as family:revision. Unlike
// [ecsref.SameRevision], two empty references are the same.
func SameTaskDefinition(a, b string) bool {
	return ecsref.FamilyRevision(a) == ecsref.FamilyRevision(b)
}

// ShortTaskDefinition returns "family:revision" (or the bare family) from a
// task definition ARN, and any other reference unchanged, as
// [ecsref.FamilyRevision] does.
func ShortTaskDefinition(ref string) string { return ecsref.FamilyRevision(ref) }

// DescribeTaskDefinition returns a task definition (by ARN or
// family[:revision]) and its tags.
func (c *Client) DescribeTaskDefinition(ctx context.Context, arn string) (*ecstypes.TaskDefinition, []ecstypes.Tag, error) {
	out, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	return out.TaskDefinition, out.Tags, nil
}

// ListTaskDefinitionRevisions returns the ARNs of the ACTIVE revisions of
// exactly this family (not of families it is a prefix of), oldest first.
func (c *Client) ListTaskDefinitionRevisions(ctx context.Context, family string) ([]string, error) {
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(c.ecs, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family),
		Sort:         ecstypes.SortOrderAsc,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list task definitions %s: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			if ecsref.Family(arn) == family {
				arns = append(arns, arn)
			}
		}
	}
	// Sort numerically: moto's order is not documented, and a string sort
	// puts web:10 before web:2.
	slices.SortFunc(arns, func(a, b string) int { return ecsref.Revision(a) - ecsref.Revision(b) })
	return arns, nil
}
