package taskdef

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

func TestParseImage(t *testing.T) {
	tests := []struct {
		image string
		want  ImageRef
	}{
		{"hello-color", ImageRef{Repository: "hello-color"}},
		{"hello-color:1.0.0", ImageRef{Repository: "hello-color", Tag: "1.0.0"}},
		{ecrHost + "/hello-color:1.0.0", ImageRef{Registry: ecrHost, Repository: "hello-color", Tag: "1.0.0"}},
		{ecrHost + "/team/web:1.4.0-rc.1", ImageRef{Registry: ecrHost, Repository: "team/web", Tag: "1.4.0-rc.1"}},
		{ecrHost + "/team/web@sha256:abc", ImageRef{Registry: ecrHost, Repository: "team/web", Digest: "sha256:abc"}},
		{ecrHost + "/team/web:1.4.0@sha256:abc", ImageRef{Registry: ecrHost, Repository: "team/web", Tag: "1.4.0", Digest: "sha256:abc"}},
		{"localhost:5000/hello-color", ImageRef{Registry: "localhost:5000", Repository: "hello-color"}},
		{"localhost:5000/team/web:2", ImageRef{Registry: "localhost:5000", Repository: "team/web", Tag: "2"}},
		{"localhost/web:2", ImageRef{Registry: "localhost", Repository: "web", Tag: "2"}},
		{"registry.internal:8443/a/b/c@sha256:d", ImageRef{Registry: "registry.internal:8443", Repository: "a/b/c", Digest: "sha256:d"}},
		{"docker.io/library/nginx:1.27-alpine", ImageRef{Registry: "docker.io", Repository: "library/nginx", Tag: "1.27-alpine"}},
		{"bitnami/redis:7", ImageRef{Repository: "bitnami/redis", Tag: "7"}},
		{"public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", ImageRef{Registry: "public.ecr.aws", Repository: "aws-observability/aws-for-fluent-bit", Tag: "stable"}},
		{"", ImageRef{}},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			got := ParseImage(tt.image)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseImage(%q) (-want +got):\n%s", tt.image, diff)
			}
			if s := got.String(); s != tt.image {
				t.Errorf("ParseImage(%q).String() = %q", tt.image, s)
			}
		})
	}
}

func TestInRepository(t *testing.T) {
	tests := []struct {
		name       string
		image      string
		repository string
		want       bool
	}{
		{"ECR with tag", ecrHost + "/hello-color:1.0.0", "hello-color", true},
		{"ECR with digest", ecrHost + "/hello-color@sha256:abc", "hello-color", true},
		{"ECR replica registry", "222222222222.dkr.ecr.eu-west-1.amazonaws.com/hello-color:1.0.0", "hello-color", true},
		{"nested repository", ecrHost + "/team/web:1.0.0", "team/web", true},
		{"last component only is not enough", ecrHost + "/team/web:1.0.0", "web", false},
		{"prefix is not enough", ecrHost + "/hello-color-worker:1.0.0", "hello-color", false},
		{"registry with port", "localhost:5000/hello-color:1.0.0", "hello-color", true},
		{"registry with port, no tag", "registry.internal:8443/hello-color", "hello-color", true},
		{"no registry", "hello-color:1.0.0", "hello-color", true},
		{"no registry, no tag", "hello-color", "hello-color", true},
		{"docker hub library", "docker.io/library/x", "x", true},
		{"docker hub library by full path", "x:1", "library/x", true},
		{"docker hub other user", "docker.io/someone/x", "x", false},
		{"other registry keeps library", "quay.io/library/x", "x", false},
		{"sidecar", "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "hello-color", false},
		{"empty repository never matches", "hello-color", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseImage(tt.image).InRepository(tt.repository); got != tt.want {
				t.Errorf("ParseImage(%q).InRepository(%q) = %v, want %v", tt.image, tt.repository, got, tt.want)
			}
		})
	}
}

func TestImageFor(t *testing.T) {
	tests := []struct {
		name                              string
		registry, repository, tag, digest string
		byDigest                          bool
		want                              string
	}{
		{"tag", ecrHost, "hello-color", "1.4.0", "sha256:abc", false, ecrHost + "/hello-color:1.4.0"},
		{"digest", ecrHost, "hello-color", "1.4.0", "sha256:abc", true, ecrHost + "/hello-color@sha256:abc"},
		{"nested repository", ecrHost, "team/web", "2.0.0", "", false, ecrHost + "/team/web:2.0.0"},
		{"registry with trailing slash", ecrHost + "/", "web", "1", "", false, ecrHost + "/web:1"},
		{"no registry", "", "hello-color", "1.0.0", "", false, "hello-color:1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ImageFor(tt.registry, tt.repository, tt.tag, tt.digest, tt.byDigest)
			if got != tt.want {
				t.Errorf("ImageFor = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestImages(t *testing.T) {
	in := &ecs.RegisterTaskDefinitionInput{
		Family: new("hello-color"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: new("web"), Image: new(ecrHost + "/hello-color:1.0.0")},
			{Name: new("worker"), Image: new(ecrHost + "/hello-color:1.0.0")},
			{Name: new("log_router"), Image: new("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")},
		},
	}
	tests := []struct {
		name       string
		containers []string
		repository string
		want       map[string]string
		wantErr    error
	}{
		{
			name:       "by repository",
			repository: "hello-color",
			want:       map[string]string{"web": ecrHost + "/hello-color:1.0.0", "worker": ecrHost + "/hello-color:1.0.0"},
		},
		{
			name:       "by name",
			containers: []string{"log_router"},
			repository: "hello-color",
			want:       map[string]string{"log_router": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"},
		},
		{name: "unknown container", containers: []string{"api"}, wantErr: ErrContainerNotFound},
		{name: "unused repository", repository: "team/web", wantErr: ErrNoContainer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Images(in, tt.containers, tt.repository)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Images error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Images (-want +got):\n%s", diff)
			}
		})
	}
}
