package target

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Errors of the ECS calls, translated from the SDK's.
var (
	// ErrServiceNotFound is a configured service that does not exist (or is
	// INACTIVE) in its cluster.
	ErrServiceNotFound = errors.New("service not found")
	// ErrClusterNotFound is a configured cluster that does not exist.
	ErrClusterNotFound = errors.New("cluster not found")
)

// Service is what ECS says about one service.
type Service struct {
	TaskDefinition string // as ECS reports it: an ARN, or family[:revision] as it was set
	DesiredCount   int32
	Rollout        state.Rollout // rollout state of the PRIMARY deployment
	DeploymentID   string        // id of the PRIMARY deployment
	// Deployments maps the id of every deployment ECS lists to its rollout
	// state.
	Deployments map[string]state.Rollout
}

// DescribeServices returns the services of one cluster that exist and are
// not INACTIVE, by name; missing ones are absent from the map. It describes
// ten per call, the API's limit. It returns an error wrapping
// ErrClusterNotFound when the cluster does not exist.
func DescribeServices(ctx context.Context, client ECSAPI, cluster string, names []string) (map[string]Service, error) {
	found := make(map[string]Service, len(names))
	for chunk := range slices.Chunk(names, 10) {
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: chunk})
		if err != nil {
			var cnf *ecstypes.ClusterNotFoundException
			if errors.As(err, &cnf) {
				return nil, fmt.Errorf("describe services in %s: %w", cluster, ErrClusterNotFound)
			}
			return nil, fmt.Errorf("describe services in %s: %w", cluster, err)
		}
		for _, s := range out.Services {
			if aws.ToString(s.Status) == "INACTIVE" {
				continue
			}
			o := Service{TaskDefinition: aws.ToString(s.TaskDefinition), DesiredCount: s.DesiredCount, Deployments: map[string]state.Rollout{}}
			for _, dep := range s.Deployments {
				rollout := state.ParseRollout(string(dep.RolloutState))
				o.Deployments[aws.ToString(dep.Id)] = rollout
				if aws.ToString(dep.Status) == "PRIMARY" {
					o.Rollout, o.DeploymentID = rollout, aws.ToString(dep.Id)
				}
			}
			found[aws.ToString(s.ServiceName)] = o
		}
	}
	return found, nil
}

// TaskDefinition is a task definition ECS describes, with its tags.
type TaskDefinition struct {
	ARN  string
	Def  *ecstypes.TaskDefinition
	Tags []ecstypes.Tag
}

// DescribeTaskDefinition returns a task definition and its tags; ok is false
// when ECS does not know ref (ECS answers a ClientException).
func DescribeTaskDefinition(ctx context.Context, client ECSAPI, ref string) (td TaskDefinition, ok bool, err error) {
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		var ce *ecstypes.ClientException
		if errors.As(err, &ce) {
			return TaskDefinition{}, false, nil
		}
		return TaskDefinition{}, false, fmt.Errorf("describe task definition %s: %w", ref, err)
	}
	return TaskDefinition{ARN: aws.ToString(out.TaskDefinition.TaskDefinitionArn), Def: out.TaskDefinition, Tags: out.Tags}, true, nil
}

// RegisterTaskDefinition registers a revision and returns its ARN.
func RegisterTaskDefinition(ctx context.Context, client ECSAPI, in *ecs.RegisterTaskDefinitionInput) (string, error) {
	out, err := client.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", aws.ToString(in.Family), err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// UpdateService points a service at a task definition and returns the id of
// the deployment ECS started. It returns an error wrapping
// ErrServiceNotFound when the service does not exist or is not active.
func UpdateService(ctx context.Context, client ECSAPI, in *ecs.UpdateServiceInput) (string, error) {
	out, err := client.UpdateService(ctx, in)
	if err != nil {
		var snf *ecstypes.ServiceNotFoundException
		var sna *ecstypes.ServiceNotActiveException
		if errors.As(err, &snf) || errors.As(err, &sna) {
			err = ErrServiceNotFound
		}
		return "", fmt.Errorf("update service %s/%s: %w", aws.ToString(in.Cluster), aws.ToString(in.Service), err)
	}
	if out.Service == nil {
		return "", nil
	}
	for _, dep := range out.Service.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" {
			return aws.ToString(dep.Id), nil
		}
	}
	return "", nil
}
