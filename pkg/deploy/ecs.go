package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// observedService is what ECS says about one service.
type observedService struct {
	TaskDefinition string // as ECS reports it: an ARN, or family[:revision] as it was set
	DesiredCount   int32
	Rollout        string // rollout state of the PRIMARY deployment
	DeploymentID   string // id of the PRIMARY deployment
	// Deployments maps the id of every deployment ECS lists to its rollout
	// state.
	Deployments map[string]string
}

// describeServices returns the services of one cluster that exist and are not
// INACTIVE; missing ones are absent from the map. It describes ten per call,
// the API's limit.
func describeServices(ctx context.Context, client ECSAPI, cluster string, names []string) (map[string]observedService, error) {
	found := make(map[string]observedService, len(names))
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
			o := observedService{TaskDefinition: aws.ToString(s.TaskDefinition), DesiredCount: s.DesiredCount, Deployments: map[string]string{}}
			for _, dep := range s.Deployments {
				o.Deployments[aws.ToString(dep.Id)] = string(dep.RolloutState)
				if aws.ToString(dep.Status) == "PRIMARY" {
					o.Rollout = string(dep.RolloutState)
					o.DeploymentID = aws.ToString(dep.Id)
				}
			}
			found[aws.ToString(s.ServiceName)] = o
		}
	}
	return found, nil
}

// describeTaskDefinition returns a task definition and its tags. ok is false
// when ECS does not know ref (ECS answers a ClientException).
func describeTaskDefinition(ctx context.Context, client ECSAPI, ref string) (td *ecstypes.TaskDefinition, tags []ecstypes.Tag, ok bool, err error) {
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		var ce *ecstypes.ClientException
		if errors.As(err, &ce) {
			return nil, nil, false, nil
		}
		return nil, nil, false, fmt.Errorf("describe task definition %s: %w", ref, err)
	}
	return out.TaskDefinition, out.Tags, true, nil
}

// updateService points a service at a task definition and returns the id of
// the deployment ECS started.
func updateService(ctx context.Context, client ECSAPI, in *ecs.UpdateServiceInput) (string, error) {
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

// familyOf returns the family of a task definition reference: an ARN,
// family:revision or a bare family.
func familyOf(ref string) string {
	if i := strings.LastIndex(ref, ":task-definition/"); i >= 0 {
		ref = ref[i+len(":task-definition/"):]
	}
	if i := strings.LastIndexByte(ref, ':'); i >= 0 {
		ref = ref[:i]
	}
	return ref
}

// sameRevision reports whether two task definition references name the same
// revision, comparing family:revision so an ARN matches the short form ECS
// may report back.
func sameRevision(a, b string) bool {
	short := func(ref string) string {
		if i := strings.LastIndex(ref, ":task-definition/"); i >= 0 {
			return ref[i+len(":task-definition/"):]
		}
		return ref
	}
	return a != "" && short(a) == short(b)
}

// serviceName returns the name of a service given by name or ARN
// (arn:aws:ecs:region:account:service/cluster/name).
func serviceName(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref[strings.LastIndexByte(ref, '/')+1:]
	}
	return ref
}
