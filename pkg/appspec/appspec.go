// Package appspec writes the AppSpec of a CodeDeploy deployment of an ECS
// service: the revision to deploy, and the container and port of the
// service's load balancer that traffic is routed to. It is pure: what it
// copies comes from the service as ECS describes it.
//
// The shape is that of "AppSpec 'resources' section for Amazon ECS
// deployments", AWS CodeDeploy User Guide,
// https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html:
// one TargetService of Type AWS::ECS::Service with Properties TaskDefinition
// ("specified with the ARN of the task definition"), LoadBalancerInfo
// (ContainerName, "a container specified in your Amazon ECS task
// definition", and ContainerPort, a number), and the optional
// PlatformVersion ("If not specified, LATEST is used by default"),
// NetworkConfiguration ("All or none of the settings under
// NetworkConfiguration must be specified ... If none is specified,
// CodeDeploy uses the current network Amazon ECS settings") and
// CapacityProviderStrategy (CapacityProvider, Base, Weight, documented on
// the current page and sent so by kayac/ecspresso's appspec package). The
// version is 0.0, as in that page's examples.
//
// What is copied from the service, and why:
//   - the load balancer's container and port: required, and the only place
//     they are known;
//   - the platform version, when the service has one: left out, CodeDeploy
//     would move a service pinned to a platform version to LATEST;
//   - the capacity provider strategy, when the service has one: the new
//     task set should run where the old one does;
//   - not the network configuration: CodeDeploy keeps the service's own
//     when the AppSpec has none, and a copy that missed one of its settings
//     would be refused ("all or none").
//
// The content is JSON (which CodeDeploy takes as well as YAML, "The
// YAML-formatted or JSON-formatted revision string", AppSpecContent, API
// Reference), indented, with fields in a fixed order, so that equal inputs
// give equal bytes.
package appspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Version is the AppSpec version of ECS deployments.
const Version = "0.0"

// ServiceType is the Type of an ECS TargetService.
const ServiceType = "AWS::ECS::Service"

// Spec is an AppSpec document for an ECS deployment.
type Spec struct {
	Version   json.Number `json:"version"`
	Resources []Resource  `json:"Resources"`
}

// Resource is one entry of Resources.
type Resource struct {
	TargetService TargetService `json:"TargetService"`
}

// TargetService is the ECS service a deployment deploys to.
type TargetService struct {
	Type       string     `json:"Type"`
	Properties Properties `json:"Properties"`
}

// Properties are what the deployment deploys.
type Properties struct {
	TaskDefinition           string                 `json:"TaskDefinition"`
	LoadBalancerInfo         LoadBalancerInfo       `json:"LoadBalancerInfo"`
	PlatformVersion          string                 `json:"PlatformVersion,omitempty"`
	CapacityProviderStrategy []CapacityProviderItem `json:"CapacityProviderStrategy,omitempty"`
}

// LoadBalancerInfo is the container and port traffic is routed to.
type LoadBalancerInfo struct {
	ContainerName string `json:"ContainerName"`
	ContainerPort int32  `json:"ContainerPort"`
}

// CapacityProviderItem is one entry of a capacity provider strategy.
type CapacityProviderItem struct {
	CapacityProvider string `json:"CapacityProvider"`
	Base             int32  `json:"Base"`
	Weight           int32  `json:"Weight"`
}

// Errors of Build.
var (
	// ErrNotARN is a task definition given other than by its ARN, which
	// the AppSpec requires.
	ErrNotARN = errors.New("the AppSpec names a task definition by its ARN")
	// ErrNoLoadBalancer is a service without a load balancer (with a
	// container and port) to route traffic to.
	ErrNoLoadBalancer = errors.New("the service has no load balancer with a container and port")
	// ErrAmbiguousContainer is a service whose load balancers route to
	// several containers or ports, none of which the environment's
	// containers single out.
	ErrAmbiguousContainer = errors.New("the service routes traffic to several containers or ports")
)

// Build returns the AppSpec that deploys the task definition (its ARN) to
// the service, with the container and port of the service's load balancer.
// When the service's load balancers route to several containers or ports,
// containers (the environment's, which get the new image) must single out
// one. It returns an error wrapping ErrNotARN, ErrNoLoadBalancer or
// ErrAmbiguousContainer.
func Build(taskDefinitionARN string, service target.Service, containers []string) ([]byte, error) {
	if !strings.HasPrefix(taskDefinitionARN, "arn:") || !strings.Contains(taskDefinitionARN, ":task-definition/") {
		return nil, fmt.Errorf("build AppSpec: %w, not %q", ErrNotARN, taskDefinitionARN)
	}
	lb, err := chooseLoadBalancer(service.LoadBalancers, containers)
	if err != nil {
		return nil, fmt.Errorf("build AppSpec: %w", err)
	}
	props := Properties{TaskDefinition: taskDefinitionARN, LoadBalancerInfo: lb, PlatformVersion: service.PlatformVersion}
	for _, cp := range service.CapacityProviderStrategy {
		props.CapacityProviderStrategy = append(props.CapacityProviderStrategy, CapacityProviderItem{CapacityProvider: cp.Name, Base: cp.Base, Weight: cp.Weight})
	}
	spec := Spec{Version: Version, Resources: []Resource{{TargetService: TargetService{Type: ServiceType, Properties: props}}}}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("build AppSpec: %w", err)
	}
	return append(out, '\n'), nil
}

// Container returns the container and port of the service's load balancer
// that a deployment routes traffic to, as Build chooses it. It returns an
// error wrapping ErrNoLoadBalancer or ErrAmbiguousContainer.
func Container(service target.Service, containers []string) (LoadBalancerInfo, error) {
	return chooseLoadBalancer(service.LoadBalancers, containers)
}

// chooseLoadBalancer returns the one container and port the load balancers
// route to, among those of containers when any are named.
func chooseLoadBalancer(lbs []target.LoadBalancer, containers []string) (LoadBalancerInfo, error) {
	var all, chosen []LoadBalancerInfo
	for _, lb := range lbs {
		if lb.ContainerName == "" || lb.ContainerPort == 0 {
			continue
		}
		info := LoadBalancerInfo{ContainerName: lb.ContainerName, ContainerPort: lb.ContainerPort}
		if slices.Contains(all, info) {
			continue
		}
		all = append(all, info)
		if len(containers) == 0 || slices.Contains(containers, lb.ContainerName) {
			chosen = append(chosen, info)
		}
	}
	switch {
	case len(all) == 0:
		return LoadBalancerInfo{}, ErrNoLoadBalancer
	case len(chosen) == 1:
		return chosen[0], nil
	case len(chosen) == 0:
		return LoadBalancerInfo{}, fmt.Errorf("%w: its load balancers route to %s, none of the environment's containers (%s)", ErrNoLoadBalancer, list(all), strings.Join(containers, ", "))
	}
	return LoadBalancerInfo{}, fmt.Errorf("%w (%s): name the one to deploy in the environment's container", ErrAmbiguousContainer, list(chosen))
}

func list(infos []LoadBalancerInfo) string {
	s := make([]string, len(infos))
	for i, info := range infos {
		s[i] = info.ContainerName + ":" + strconv.Itoa(int(info.ContainerPort))
	}
	return strings.Join(s, ", ")
}
