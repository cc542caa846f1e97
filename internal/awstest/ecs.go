package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CreateCluster creates an ECS cluster in moto and returns its ARN.
func (e *Env) CreateCluster(t testing.TB, name string) string {
	t.Helper()
	out, err := e.direct.ecs.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil {
		t.Fatalf("create cluster %s: %v", name, err)
	}
	return aws.ToString(out.Cluster.ClusterArn)
}

// RegisterTaskDefinitionFile registers the task definition in the JSON file
// at path (see [ParseTaskDefinition]) and returns its ARN.
func (e *Env) RegisterTaskDefinitionFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("register task definition: %v", err)
	}
	return e.RegisterTaskDefinitionJSON(t, data)
}

// RegisterTaskDefinitionJSON registers the task definition in data (see
// [ParseTaskDefinition]) and returns its ARN.
func (e *Env) RegisterTaskDefinitionJSON(t testing.TB, data []byte) string {
	t.Helper()
	in, err := ParseTaskDefinition(data)
	if err != nil {
		t.Fatal(err)
	}
	return e.RegisterTaskDefinition(t, in)
}

// RegisterTaskDefinition registers in and returns the ARN of the new revision.
func (e *Env) RegisterTaskDefinition(t testing.TB, in *ecs.RegisterTaskDefinitionInput) string {
	t.Helper()
	out, err := e.direct.ecs.RegisterTaskDefinition(t.Context(), in)
	if err != nil {
		t.Fatalf("register task definition %s: %v", aws.ToString(in.Family), err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// describeOnly are the task definition fields that describe-task-definition
// prints but register-task-definition does not take.
var describeOnly = []string{
	"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt",
}

// ParseTaskDefinition decodes a task definition in any of the shapes people
// keep them in: the output of `aws ecs describe-task-definition --include
// TAGS` ({"taskDefinition": {...}, "tags": [...]}), the bare taskDefinition
// object, or register-task-definition's --cli-input-json. Fields that only
// describe prints (ARN, revision, status, timestamps...) are dropped. Any
// other field the SDK does not know is an error, so that a typo in a fixture
// does not silently drop a setting.
func ParseTaskDefinition(data []byte) (*ecs.RegisterTaskDefinitionInput, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse task definition: %w", err)
	}
	var tags json.RawMessage
	if td, ok := doc["taskDefinition"]; ok {
		tags = doc["tags"]
		doc = nil
		if err := json.Unmarshal(td, &doc); err != nil {
			return nil, fmt.Errorf("parse task definition: taskDefinition: %w", err)
		}
		if tags != nil {
			doc["tags"] = tags
		}
	}
	for _, k := range describeOnly {
		delete(doc, k)
	}
	// Decoding into the SDK's input works because its fields match the
	// JSON names case-insensitively and its enums are string types; the
	// timestamps, which would not decode from every CLI format, are among
	// the describe-only fields dropped above.
	filtered, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("parse task definition: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(filtered))
	dec.DisallowUnknownFields()
	var in ecs.RegisterTaskDefinitionInput
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("parse task definition: %w", err)
	}
	if aws.ToString(in.Family) == "" {
		return nil, fmt.Errorf("parse task definition: no family")
	}
	if len(in.Tags) == 0 {
		// RegisterTaskDefinition rejects an empty tag list.
		in.Tags = nil
	}
	return &in, nil
}

// CreateService creates a service with desired tasks of the task definition
// taskDefARN (an ARN or family[:revision]) and returns it. A task definition
// that requires FARGATE gets launch type FARGATE, others EC2; an awsvpc one
// gets the [Env.Network] subnet and security group.
func (e *Env) CreateService(t testing.TB, cluster, service, taskDefARN string, desired int32) *ecstypes.Service {
	t.Helper()
	td, _ := e.DescribeTaskDefinition(t, taskDefARN)
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
		n := e.Network(t)
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{
			AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
				Subnets:        []string{n.SubnetID},
				SecurityGroups: []string{n.SecurityGroupID},
				AssignPublicIp: ecstypes.AssignPublicIpDisabled,
			},
		}
	}
	out, err := e.direct.ecs.CreateService(t.Context(), in)
	if err != nil {
		t.Fatalf("create service %s/%s: %v", cluster, service, err)
	}
	return out.Service
}

// DescribeService returns the service as moto has it; it fails t if the
// service does not exist.
func (e *Env) DescribeService(t testing.TB, cluster, service string) *ecstypes.Service {
	t.Helper()
	out, err := e.direct.ecs.DescribeServices(t.Context(), &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: []string{service},
	})
	if err != nil {
		t.Fatalf("describe service %s/%s: %v", cluster, service, err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("describe service %s/%s: not found (failures %+v)", cluster, service, out.Failures)
	}
	return &out.Services[0]
}

// ServiceTaskDefinition returns the task definition a service points to.
// moto stores it as it was last passed, so it may be an ARN or
// family[:revision]; compare with [SameTaskDefinition].
func (e *Env) ServiceTaskDefinition(t testing.TB, cluster, service string) string {
	t.Helper()
	return aws.ToString(e.DescribeService(t, cluster, service).TaskDefinition)
}

// SameTaskDefinition reports whether two task definition references name the
// same revision, whether given as ARNs or as family:revision.
func SameTaskDefinition(a, b string) bool {
	return shortTaskDefinition(a) == shortTaskDefinition(b)
}

func shortTaskDefinition(ref string) string {
	if i := strings.LastIndex(ref, ":task-definition/"); i >= 0 {
		return ref[i+len(":task-definition/"):]
	}
	return ref
}

// DescribeTaskDefinition returns a task definition (by ARN or
// family[:revision]) and its tags.
func (e *Env) DescribeTaskDefinition(t testing.TB, arn string) (*ecstypes.TaskDefinition, []ecstypes.Tag) {
	t.Helper()
	out, err := e.direct.ecs.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatalf("describe task definition %s: %v", arn, err)
	}
	return out.TaskDefinition, out.Tags
}

// ListTaskDefinitionRevisions returns the ARNs of the ACTIVE revisions of
// exactly this family (not of families it is a prefix of), oldest first.
func (e *Env) ListTaskDefinitionRevisions(t testing.TB, family string) []string {
	t.Helper()
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(e.direct.ecs, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family),
		Sort:         ecstypes.SortOrderAsc,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list task definitions %s: %v", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			name, _, _ := strings.Cut(shortTaskDefinition(arn), ":")
			if name == family {
				arns = append(arns, arn)
			}
		}
	}
	// Sort numerically: moto's order is not documented, and a string sort
	// puts web:10 before web:2.
	slices.SortFunc(arns, func(a, b string) int { return revision(a) - revision(b) })
	return arns
}

func revision(arn string) int {
	_, rev, _ := strings.Cut(shortTaskDefinition(arn), ":")
	n, _ := strconv.Atoi(rev)
	return n
}
