package awstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// CreateCluster creates an ECS cluster in moto and returns its ARN.
func (e *Env) CreateCluster(t testing.TB, name string) string {
	t.Helper()
	arn, err := e.local.CreateCluster(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// RegisterTaskDefinitionFile registers the task definition in the JSON file
// at path (see [ParseTaskDefinition]) and returns its ARN.
func (e *Env) RegisterTaskDefinitionFile(t testing.TB, path string) string {
	t.Helper()
	in, err := localaws.ReadTaskDefinitionFile(path)
	if err != nil {
		t.Fatalf("register task definition: %v", err)
	}
	return e.RegisterTaskDefinition(t, in)
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
	arn, err := e.local.RegisterTaskDefinition(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// ParseTaskDefinition decodes a task definition in any of the shapes people
// keep them in: the output of `aws ecs describe-task-definition --include
// TAGS` ({"taskDefinition": {...}, "tags": [...]}), the bare taskDefinition
// object, or register-task-definition's --cli-input-json. Fields that only
// describe prints (ARN, revision, status, timestamps...) are dropped. Any
// other field the SDK does not know is an error, so that a typo in a fixture
// does not silently drop a setting.
func ParseTaskDefinition(data []byte) (*ecs.RegisterTaskDefinitionInput, error) {
	return localaws.ParseTaskDefinition(data)
}

// CreateService creates a service with desired tasks of the task definition
// taskDefARN (an ARN or family[:revision]) and returns it. A task definition
// that requires FARGATE gets launch type FARGATE, others EC2; an awsvpc one
// gets the [Env.Network] subnet and security group.
func (e *Env) CreateService(t testing.TB, cluster, service, taskDefARN string, desired int32) *ecstypes.Service {
	t.Helper()
	svc, err := e.local.CreateService(t.Context(), cluster, service, taskDefARN, desired)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// DescribeService returns the service as moto has it; it fails t if the
// service does not exist.
func (e *Env) DescribeService(t testing.TB, cluster, service string) *ecstypes.Service {
	t.Helper()
	svc, err := e.local.DescribeService(t.Context(), cluster, service)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// ServiceTaskDefinition returns the task definition a service points to.
// moto stores it as it was last passed, so it may be an ARN or
// family[:revision]; compare with [SameTaskDefinition].
func (e *Env) ServiceTaskDefinition(t testing.TB, cluster, service string) string {
	t.Helper()
	td, err := e.local.ServiceTaskDefinition(t.Context(), cluster, service)
	if err != nil {
		t.Fatal(err)
	}
	return td
}

// SameTaskDefinition reports whether two task definition references name the
// same revision, whether given as ARNs or as family:revision.
func SameTaskDefinition(a, b string) bool { return localaws.SameTaskDefinition(a, b) }

// DescribeTaskDefinition returns a task definition (by ARN or
// family[:revision]) and its tags.
func (e *Env) DescribeTaskDefinition(t testing.TB, arn string) (*ecstypes.TaskDefinition, []ecstypes.Tag) {
	t.Helper()
	td, tags, err := e.local.DescribeTaskDefinition(t.Context(), arn)
	if err != nil {
		t.Fatal(err)
	}
	return td, tags
}

// ListTaskDefinitionRevisions returns the ARNs of the ACTIVE revisions of
// exactly this family (not of families it is a prefix of), oldest first.
func (e *Env) ListTaskDefinitionRevisions(t testing.TB, family string) []string {
	t.Helper()
	arns, err := e.local.ListTaskDefinitionRevisions(t.Context(), family)
	if err != nil {
		t.Fatal(err)
	}
	return arns
}
