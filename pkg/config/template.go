package config

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/invopop/jsonschema"

	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// TaskDefinition is a full task definition in an environment's
// configuration, in the JSON shape `aws ecs describe-task-definition` prints
// (with or without the {"taskDefinition": …} wrapper; read-only fields are
// ignored, unknown fields are an error naming the field). The revision is
// rendered from it instead of from the service's current task definition.
type TaskDefinition struct {
	raw   []byte
	input *ecs.RegisterTaskDefinitionInput
}

// UnmarshalJSON decodes and checks the task definition. It returns an error
// naming the offending field.
func (t *TaskDefinition) UnmarshalJSON(data []byte) error {
	td, tags, err := taskdef.DecodeDescribeJSON(data)
	if err != nil {
		return err
	}
	in := taskdef.FromDescribe(td, tags)
	switch {
	case in.Family == nil || *in.Family == "":
		return fmt.Errorf("family: missing")
	case len(in.ContainerDefinitions) == 0:
		return fmt.Errorf("containerDefinitions: at least one container is needed")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return err
	}
	t.raw, t.input = compact.Bytes(), in
	return nil
}

// MarshalJSON returns the task definition as it was written.
func (t TaskDefinition) MarshalJSON() ([]byte, error) {
	if t.raw == nil {
		return []byte("null"), nil
	}
	return t.raw, nil
}

// Input returns a copy of the task definition as a RegisterTaskDefinition
// input, or nil for a zero TaskDefinition.
func (t *TaskDefinition) Input() *ecs.RegisterTaskDefinitionInput {
	if t == nil || t.input == nil {
		return nil
	}
	return taskdef.Clone(t.input)
}

// JSONSchema describes the task definition as an object: its full schema is
// ECS's, which editors know as RegisterTaskDefinition's.
func (TaskDefinition) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "object",
		Description: "A full task definition as `aws ecs describe-task-definition` prints it (the {\"taskDefinition\": …} wrapper is optional; read-only fields are ignored). The revision is rendered from it instead of the service's current task definition; the image of the named container(s) is set by ecrdeploy.",
		Required:    []string{"family", "containerDefinitions"},
	}
}

// Equal reports whether two task definitions were written the same.
func (t TaskDefinition) Equal(o TaskDefinition) bool { return bytes.Equal(t.raw, o.raw) }

// IsZero reports whether no task definition was given.
func (t TaskDefinition) IsZero() bool { return t.raw == nil }
