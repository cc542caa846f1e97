package taskdef

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const newImage = ecrHost + "/hello-color:1.4.0"

func env(pairs ...string) []ecstypes.KeyValuePair {
	var kv []ecstypes.KeyValuePair
	for i := 0; i < len(pairs); i += 2 {
		kv = append(kv, ecstypes.KeyValuePair{Name: new(pairs[i]), Value: new(pairs[i+1])})
	}
	return kv
}

func secrets(pairs ...string) []ecstypes.Secret {
	var s []ecstypes.Secret
	for i := 0; i < len(pairs); i += 2 {
		s = append(s, ecstypes.Secret{Name: new(pairs[i]), ValueFrom: new(pairs[i+1])})
	}
	return s
}

func tags(pairs ...string) []ecstypes.Tag {
	var s []ecstypes.Tag
	for i := 0; i < len(pairs); i += 2 {
		s = append(s, ecstypes.Tag{Key: new(pairs[i]), Value: new(pairs[i+1])})
	}
	return s
}

// renderBase is a small definition with two containers from the repository
// and a sidecar.
func renderBase() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: new("hello-color"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{
				Name:        new("web"),
				Image:       new(ecrHost + "/hello-color:1.0.0"),
				Environment: env("OCTO_ENV", "Development", "OCTO_COLOR", "#00f"),
				Secrets:     secrets("DB_PASSWORD", "arn:aws:ssm:us-east-1:123456789012:parameter/db"),
			},
			{
				Name:  new("worker"),
				Image: new(ecrHost + "/hello-color@sha256:abc"),
			},
			{
				Name:        new("log_router"),
				Image:       new("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"),
				Environment: env("Z", "1", "A", "2"),
			},
		},
		Tags: tags("team", "platform", "ecrdeploy:version", "1.0.0"),
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		// edit turns renderBase() into the expected result.
		edit func(want *ecs.RegisterTaskDefinitionInput)
	}{
		{
			name: "every container from the repository",
			spec: Spec{Repository: "hello-color", Image: newImage},
			edit: func(want *ecs.RegisterTaskDefinitionInput) {
				want.ContainerDefinitions[0].Image = new(newImage)
				want.ContainerDefinitions[0].Environment = env("OCTO_COLOR", "#00f", "OCTO_ENV", "Development")
				want.ContainerDefinitions[1].Image = new(newImage)
				want.Tags = tags("ecrdeploy:version", "1.0.0", "team", "platform")
			},
		},
		{
			name: "named container only",
			spec: Spec{Repository: "hello-color", Image: newImage, Containers: []string{"worker"}},
			edit: func(want *ecs.RegisterTaskDefinitionInput) {
				want.ContainerDefinitions[1].Image = new(newImage)
				want.Tags = tags("ecrdeploy:version", "1.0.0", "team", "platform")
			},
		},
		{
			name: "named container need not be from the repository",
			spec: Spec{Image: "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0", Containers: []string{"log_router", "log_router"}},
			edit: func(want *ecs.RegisterTaskDefinitionInput) {
				want.ContainerDefinitions[2].Image = new("public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0")
				want.ContainerDefinitions[2].Environment = env("A", "2", "Z", "1")
				want.Tags = tags("ecrdeploy:version", "1.0.0", "team", "platform")
			},
		},
		{
			name: "environment and secrets merged and sorted",
			spec: Spec{
				Repository:  "hello-color",
				Image:       newImage,
				Containers:  []string{"web"},
				Environment: map[string]string{"OCTO_COLOR": "#0f0", "LOG_LEVEL": "debug"},
				Secrets:     map[string]string{"API_KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/api-key", "DB_PASSWORD": "arn:aws:ssm:us-east-1:123456789012:parameter/db2"},
			},
			edit: func(want *ecs.RegisterTaskDefinitionInput) {
				want.ContainerDefinitions[0].Image = new(newImage)
				want.ContainerDefinitions[0].Environment = env("LOG_LEVEL", "debug", "OCTO_COLOR", "#0f0", "OCTO_ENV", "Development")
				want.ContainerDefinitions[0].Secrets = secrets(
					"API_KEY", "arn:aws:ssm:us-east-1:123456789012:parameter/api-key",
					"DB_PASSWORD", "arn:aws:ssm:us-east-1:123456789012:parameter/db2")
				want.Tags = tags("ecrdeploy:version", "1.0.0", "team", "platform")
			},
		},
		{
			name: "environment added to a container without one",
			spec: Spec{Repository: "hello-color", Image: newImage, Containers: []string{"worker"}, Environment: map[string]string{"B": "2", "A": "1"}},
			edit: func(want *ecs.RegisterTaskDefinitionInput) {
				want.ContainerDefinitions[1].Image = new(newImage)
				want.ContainerDefinitions[1].Environment = env("A", "1", "B", "2")
				want.Tags = tags("ecrdeploy:version", "1.0.0", "team", "platform")
			},
		},
		{
			name: "family and tags",
			spec: Spec{
				Repository: "hello-color",
				Image:      newImage,
				Containers: []string{"web"},
				Family:     "hello-color-staging",
				Tags:       map[string]string{"ecrdeploy:version": "1.4.0", "ecrdeploy:event": "e-1"},
			},
			edit: func(want *ecs.RegisterTaskDefinitionInput) {
				want.Family = new("hello-color-staging")
				want.ContainerDefinitions[0].Image = new(newImage)
				want.ContainerDefinitions[0].Environment = env("OCTO_COLOR", "#00f", "OCTO_ENV", "Development")
				want.Tags = tags("ecrdeploy:event", "e-1", "ecrdeploy:version", "1.4.0", "team", "platform")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := renderBase()
			want := renderBase()
			tt.edit(want)

			got, err := Render(base, tt.spec)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(renderBase(), base, ignoreUnexported); diff != "" {
				t.Errorf("Render changed its base (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderEmptyTagsAreNil(t *testing.T) {
	base := renderBase()
	base.Tags = []ecstypes.Tag{}
	got := mustRender(t, base, Spec{Repository: "hello-color", Image: newImage})
	if got.Tags != nil {
		t.Errorf("Tags = %#v, want nil: RegisterTaskDefinition rejects an empty list", got.Tags)
	}
}

func TestRenderDoesNotShareMemory(t *testing.T) {
	base := renderBase()
	got := mustRender(t, base, Spec{Repository: "hello-color", Image: newImage, Containers: []string{"web"}})
	scribble(ptrValue(got))
	if diff := cmp.Diff(renderBase(), base, ignoreUnexported); diff != "" {
		t.Errorf("changing Render's result changed its base (-want +got):\n%s", diff)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		base *ecs.RegisterTaskDefinitionInput
		spec Spec
		want error
		// wantText are parts the message must contain, so a user can find
		// the problem.
		wantText []string
	}{
		{
			name:     "unknown container",
			spec:     Spec{Repository: "hello-color", Image: newImage, Containers: []string{"web", "api"}},
			want:     ErrContainerNotFound,
			wantText: []string{"hello-color", `"api"`, "web, worker and log_router"},
		},
		{
			name:     "no container uses the repository",
			spec:     Spec{Repository: "team/web", Image: newImage},
			want:     ErrNoContainer,
			wantText: []string{"hello-color", `"team/web"`, "log_router=public.ecr.aws"},
		},
		{
			name:     "empty secret valueFrom",
			spec:     Spec{Repository: "hello-color", Image: newImage, Secrets: map[string]string{"DB_PASSWORD": ""}},
			want:     ErrInvalidSpec,
			wantText: []string{"hello-color", "web, worker", "DB_PASSWORD"},
		},
		{
			name:     "empty environment name",
			spec:     Spec{Repository: "hello-color", Image: newImage, Environment: map[string]string{"": "x"}},
			want:     ErrInvalidSpec,
			wantText: []string{"hello-color", "empty name"},
		},
		{
			name:     "empty secret",
			spec:     Spec{Repository: "hello-color", Image: newImage, Containers: []string{"web"}, Secrets: map[string]string{"DB_PASSWORD": ""}},
			want:     ErrInvalidSpec,
			wantText: []string{"hello-color", "container web", "secret DB_PASSWORD"},
		},
		{
			name:     "no image",
			spec:     Spec{Repository: "hello-color"},
			want:     ErrInvalidSpec,
			wantText: []string{"hello-color", "no image"},
		},
		{
			name:     "no repository and no containers",
			spec:     Spec{Image: newImage},
			want:     ErrInvalidSpec,
			wantText: []string{"hello-color"},
		},
		{
			name:     "empty tag key",
			spec:     Spec{Repository: "hello-color", Image: newImage, Tags: map[string]string{"": "x"}},
			want:     ErrInvalidSpec,
			wantText: []string{"hello-color", "tag"},
		},
		{
			name: "nil base",
			base: nil,
			spec: Spec{Repository: "hello-color", Image: newImage},
			want: ErrInvalidSpec,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == nil && tt.name != "nil base" {
				base = renderBase()
			}
			got, err := Render(base, tt.spec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Render error = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("Render returned %+v with its error", got)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// An empty variable is legal in ECS and accepted by the configuration: it is
// set, not rejected.
func TestRenderEmptyEnvironmentValue(t *testing.T) {
	base := &ecs.RegisterTaskDefinitionInput{Family: new("f"), ContainerDefinitions: []ecstypes.ContainerDefinition{
		{Name: new("web"), Image: new("123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.0.0")}}}
	out, err := Render(base, Spec{Repository: "hello-color", Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.1.0", Environment: map[string]string{"EMPTY": ""}})
	if err != nil {
		t.Fatal(err)
	}
	env := out.ContainerDefinitions[0].Environment
	if len(env) != 1 || *env[0].Name != "EMPTY" || env[0].Value == nil || *env[0].Value != "" {
		t.Errorf("environment = %+v, want EMPTY set to the empty string", env)
	}
}
