package taskdef

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// goldenSpecs are what a deployment of hello-color 1.4.0 renders into each
// fixture.
var goldenSpecs = map[string]Spec{
	"fargate-web": {
		Repository:  "hello-color",
		Image:       "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.4.0",
		Environment: map[string]string{"OCTO_COLOR": "#f00"},
		Secrets:     map[string]string{"SESSION_KEY": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hello-color/session-XyZ123"},
		Tags: map[string]string{
			"ecrdeploy:version": "1.4.0",
			"ecrdeploy:digest":  "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			"ecrdeploy:event":   "5b1a6a9e-2f4c-4d8e-9c1e-0f7a3b2c1d0e",
		},
	},
	"ec2-bridge": {
		Repository:  "hello-color",
		Containers:  []string{"app"},
		Image:       "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello-color:1.4.0",
		Environment: map[string]string{"OCTO_COLOR": "#f00", "OCTO_ENV": "Staging"},
		Secrets:     map[string]string{"DB_PASSWORD": "arn:aws:ssm:eu-west-1:123456789012:parameter/hello-color/staging/db"},
		Tags: map[string]string{
			"ecrdeploy:repository": "hello-color",
			"ecrdeploy:version":    "1.4.0",
			"ecrdeploy:event":      "0c0b6f1e-7a55-4f0e-8d0a-3c2b1a0f9e8d",
		},
	},
}

func TestRenderGolden(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			spec := goldenSpecs[name]
			base := mustInput(t, name)
			got := mustRender(t, base, spec)

			checkGolden(t, name+".rendered.golden.json", mustCanonical(t, got))
			diff, err := Diff(base, got, name+".json", name+".rendered")
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			checkGolden(t, name+".diff.golden", diff)
		})
	}
}

// TestRenderChangesOnlyTargets checks on the real definitions that Render
// changes the targeted containers' image, environment and secrets and the
// tags, and nothing else: put those back and the result is the base again.
func TestRenderChangesOnlyTargets(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			spec := goldenSpecs[name]
			base := mustInput(t, name)
			got := mustRender(t, base, spec)

			targets, err := Images(base, spec.Containers, spec.Repository)
			if err != nil {
				t.Fatalf("Images: %v", err)
			}
			if len(targets) != 1 {
				t.Fatalf("fixture %s has targets %v, want exactly one", name, targets)
			}

			restored := Clone(got)
			restored.Tags = base.Tags
			for i := range restored.ContainerDefinitions {
				c, b := &restored.ContainerDefinitions[i], base.ContainerDefinitions[i]
				if _, ok := targets[deref(c.Name)]; !ok {
					if diff := cmp.Diff(b, *c, ignoreUnexported); diff != "" {
						t.Errorf("sidecar %s changed (-want +got):\n%s", deref(c.Name), diff)
					}
					continue
				}
				checkTarget(t, *c, spec)
				c.Image, c.Environment, c.Secrets = b.Image, b.Environment, b.Secrets
			}
			if diff := cmp.Diff(base, restored, ignoreUnexported); diff != "" {
				t.Errorf("Render changed more than the targets' image, environment, secrets and the tags (-base +rendered):\n%s", diff)
			}

			for key, value := range spec.Tags {
				if !slices.ContainsFunc(got.Tags, func(tag ecstypes.Tag) bool { return deref(tag.Key) == key && deref(tag.Value) == value }) {
					t.Errorf("tag %s=%s missing from %v", key, value, got.Tags)
				}
			}
			if !slices.IsSortedFunc(got.Tags, func(a, b ecstypes.Tag) int { return compareStrings(deref(a.Key), deref(b.Key)) }) {
				t.Errorf("tags not sorted by key")
			}
		})
	}
}

// checkTarget checks a targeted container: new image, spec's environment
// and secrets present, both sorted by name.
func checkTarget(t *testing.T, c ecstypes.ContainerDefinition, spec Spec) {
	t.Helper()
	if deref(c.Image) != spec.Image {
		t.Errorf("container %s image = %q, want %q", deref(c.Name), deref(c.Image), spec.Image)
	}
	for name, value := range spec.Environment {
		if !slices.ContainsFunc(c.Environment, func(kv ecstypes.KeyValuePair) bool { return deref(kv.Name) == name && deref(kv.Value) == value }) {
			t.Errorf("container %s environment lacks %s=%s", deref(c.Name), name, value)
		}
	}
	for name, value := range spec.Secrets {
		if !slices.ContainsFunc(c.Secrets, func(s ecstypes.Secret) bool { return deref(s.Name) == name && deref(s.ValueFrom) == value }) {
			t.Errorf("container %s secrets lack %s=%s", deref(c.Name), name, value)
		}
	}
	if !slices.IsSortedFunc(c.Environment, func(a, b ecstypes.KeyValuePair) int { return compareStrings(deref(a.Name), deref(b.Name)) }) {
		t.Errorf("container %s environment not sorted by name", deref(c.Name))
	}
	if !slices.IsSortedFunc(c.Secrets, func(a, b ecstypes.Secret) int { return compareStrings(deref(a.Name), deref(b.Name)) }) {
		t.Errorf("container %s secrets not sorted by name", deref(c.Name))
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestEqualFixtures(t *testing.T) {
	for _, name := range fixtures {
		spec := goldenSpecs[name]
		base := mustInput(t, name)
		rendered := mustRender(t, base, spec)
		tests := []struct {
			name string
			a, b *ecs.RegisterTaskDefinitionInput
			want bool
		}{
			{"render is not the base", base, rendered, false},
			{"rendering again changes nothing", rendered, mustRender(t, rendered, spec), true},
			{"rendering again with other tags changes nothing", rendered, mustRender(t, rendered, Spec{
				Repository: spec.Repository, Image: spec.Image, Containers: spec.Containers,
				Tags: map[string]string{"ecrdeploy:event": "another-event"},
			}), true},
			{"environment reordered", rendered, reverseEnvironment(rendered), true},
			{"other image", rendered, mustRender(t, rendered, Spec{
				Repository: spec.Repository, Image: ImageFor("123456789012.dkr.ecr.us-east-1.amazonaws.com", "hello-color", "1.4.1", "", false), Containers: spec.Containers,
			}), false},
			{"canonical JSON decodes to the same definition", rendered, mustDecodeCanonical(t, rendered), true},
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				if got := Equal(tt.a, tt.b); got != tt.want {
					t.Errorf("Equal = %v, want %v; Diff:\n%s", got, tt.want, mustDiff(t, tt.a, tt.b))
				}
			})
		}
	}
}

// reverseEnvironment returns a copy of in with every container's
// environment and secrets in reverse order.
func reverseEnvironment(in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionInput {
	out := Clone(in)
	for i := range out.ContainerDefinitions {
		slices.Reverse(out.ContainerDefinitions[i].Environment)
		slices.Reverse(out.ContainerDefinitions[i].Secrets)
	}
	return out
}

// mustDecodeCanonical decodes the Canonical JSON of in as a bare task
// definition, which shows that Canonical writes ECS's own field names.
func mustDecodeCanonical(t *testing.T, in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	td, tags, err := DecodeDescribeJSON([]byte(mustCanonical(t, in)))
	if err != nil {
		t.Fatalf("decode canonical JSON: %v", err)
	}
	return FromDescribe(td, tags)
}
