package taskdef_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

// defaultTemplates are templates under testdata that leave out what ECS
// fills in on register (networkMode on EC2, essential, a container's cpu, a
// port mapping's protocol and hostPort, a health check's timings, an empty
// host volume); their describe outputs are testdata/<name>.describe.json.
var defaultTemplates = []string{"template-ec2-defaults", "template-fargate-defaults"}

func readTemplate(t *testing.T, name string) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	td, tags, err := taskdef.DecodeDescribeJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return taskdef.FromDescribe(td, tags)
}

// TestTemplateUnchangedOnceRegistered registers each template in moto,
// describes it back and checks that the template equals what was
// registered: rendered again it would be unchanged, not a new revision.
// With -update it rewrites the golden describe outputs that
// TestTemplateEqualsDescribeGolden reads.
func TestTemplateUnchangedOnceRegistered(t *testing.T) {
	env := awstest.New(t)
	for _, name := range defaultTemplates {
		t.Run(name, func(t *testing.T) {
			in := readTemplate(t, name)
			out, err := env.ECS().RegisterTaskDefinition(t.Context(), taskdef.Clone(in))
			if err != nil {
				t.Fatal(err)
			}
			desc, err := env.ECS().DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: out.TaskDefinition.TaskDefinitionArn, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
			if err != nil {
				t.Fatal(err)
			}
			if name == "template-ec2-defaults" && desc.TaskDefinition.NetworkMode != ecstypes.NetworkModeBridge {
				t.Errorf("networkMode described as %q, want bridge filled in", desc.TaskDefinition.NetworkMode)
			}
			if !taskdef.Equal(in, taskdef.FromDescribe(desc.TaskDefinition, desc.Tags)) {
				diff, _ := taskdef.Diff(in, taskdef.FromDescribe(desc.TaskDefinition, desc.Tags), "template", "described")
				t.Errorf("the template differs from what ECS describes back:\n%s", diff)
			}
			if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
				desc.TaskDefinition.RegisteredAt = nil
				data, err := cliJSON(desc.TaskDefinition, desc.Tags)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("testdata", name+".describe.json"), append(data, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// cliJSON writes a describe output as `aws ecs describe-task-definition`
// prints it: camelCase names, absent fields left out.
func cliJSON(td *ecstypes.TaskDefinition, tags []ecstypes.Tag) ([]byte, error) {
	data, err := json.Marshal(map[string]any{"taskDefinition": td, "tags": tags})
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return nil, err
	}
	var camel func(any) any
	camel = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			m := make(map[string]any, len(v))
			for k, x := range v {
				if x != nil && x != "" {
					m[strings.ToLower(k[:1])+k[1:]] = camel(x)
				}
			}
			return m
		case []any:
			for i := range v {
				v[i] = camel(v[i])
			}
		}
		return v
	}
	return json.MarshalIndent(camel(tree), "", "  ")
}

// TestTemplateEqualsDescribeGolden checks, without moto, each template
// against the describe output its registration gave (the golden files
// TestTemplateUnchangedOnceRegistered writes), and that the defaults are
// what makes them equal: the describe output has fields the template
// leaves out.
func TestTemplateEqualsDescribeGolden(t *testing.T) {
	for _, name := range defaultTemplates {
		t.Run(name, func(t *testing.T) {
			in := readTemplate(t, name)
			described := readTemplate(t, name+".describe")
			if !taskdef.Equal(in, described) {
				diff, _ := taskdef.Diff(in, described, "template", "described")
				t.Errorf("the template differs from its describe output:\n%s", diff)
			}
			if aws.ToString(described.Family) != aws.ToString(in.Family) {
				t.Errorf("family %q, want %q", aws.ToString(described.Family), aws.ToString(in.Family))
			}
		})
	}
}
