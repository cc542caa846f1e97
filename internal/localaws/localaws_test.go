package localaws_test

import (
	"context"
	"errors"
	"go/token"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

// The seeding methods are tested in internal/awstest, through Env.Local;
// these are the parts those tests do not reach.

func TestPutImageDigest(t *testing.T) {
	env := awstest.New(t)
	c := env.Local
	ctx := t.Context()
	if _, err := c.CreateRepository(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"
	got, err := c.PutImageDigest(ctx, "web", "1.1.0", localaws.ImageManifest("one"), digest)
	if err != nil || got != digest {
		t.Fatalf("PutImageDigest = %s, %v; want %s", got, err, digest)
	}
	// Put again, as the SDK's retry of a put that moto stored does: ECR
	// answers ImageAlreadyExistsException, and the image is there as asked.
	if again, err := c.PutImageDigest(ctx, "web", "1.1.0", localaws.ImageManifest("one"), digest); err != nil || again != digest {
		t.Errorf("PutImageDigest of an image already there = %s, %v; want %s", again, err, digest)
	}
	if _, err := c.PutImageDigest(ctx, "web", "1.2.0", []byte("not JSON"), digest); err == nil {
		t.Error("PutImageDigest accepted a manifest that is not JSON")
	}
}

func TestMissing(t *testing.T) {
	env := awstest.New(t)
	c := env.Local
	ctx := t.Context()
	if _, err := c.CreateCluster(ctx, "apps"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeService(ctx, "apps", "nothing"); !errors.Is(err, localaws.ErrServiceNotFound) {
		t.Errorf("DescribeService of a missing service = %v, want ErrServiceNotFound", err)
	}
	if v, ok, err := c.GetParameter(ctx, "/nothing"); ok || err != nil || v != "" {
		t.Errorf("GetParameter of a missing parameter = %q, %v, %v; want not found", v, ok, err)
	}
}

// TestStartMotoCancelled checks that a start given up by the caller (an
// interrupted demo) says so, rather than report a timeout.
func TestStartMotoCancelled(t *testing.T) {
	awstest.RequireIntegration(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m, err := localaws.StartMoto(ctx)
	if err == nil {
		m.Stop()
		t.Fatal("StartMoto with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("StartMoto = %v, want context.Canceled", err)
	}
}

// ignoreUnexported skips the SDK types' unexported marker fields.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

func TestParseTaskDefinition(t *testing.T) {
	web := func(tags ...ecstypes.Tag) *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
			Tags:                 tags,
		}
	}
	tag := ecstypes.Tag{Key: aws.String("team"), Value: aws.String("platform")}
	const containers = `"containerDefinitions":[{"name":"app","image":"nginx:1.27"}]`
	tests := []struct {
		name string
		doc  string
		want *ecs.RegisterTaskDefinitionInput
	}{
		{"describe output with RFC 3339 time", `{"taskDefinition":{"family":"web",` + containers + `,"revision":3,"status":"ACTIVE","registeredAt":"2025-05-14T09:21:33.412000+00:00"},"tags":[{"key":"team","value":"platform"}]}`, web(tag)},
		{"describe output with epoch time", `{"taskDefinition":{"family":"web",` + containers + `,"registeredAt":1700000000.1}}`, web()},
		{"bare definition with tags", `{"family":"web",` + containers + `,"compatibilities":["EC2"],"tags":[{"key":"team","value":"platform"}]}`, web(tag)},
		{"register input with empty lists", `{"family":"web",` + containers + `,"volumes":[],"placementConstraints":[],"tags":[]}`, web()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := localaws.ParseTaskDefinition([]byte(tt.doc))
			if err != nil {
				t.Fatalf("ParseTaskDefinition: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreUnexported); diff != "" {
				t.Errorf("ParseTaskDefinition (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTaskDefinitionErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		is        error // the error wrapped, if any
	}{
		{"not JSON", `{`, nil},
		{"no family", `{"containerDefinitions":[]}`, nil},
		{"unknown field", `{"family":"web","containerDefinitions":[{"name":"a","imag":"x"}]}`, taskdef.ErrUnknownField},
		{"unknown field beside the describe output", `{"taskDefinition":{"family":"web"},"nextToken":"x"}`, taskdef.ErrUnknownField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := localaws.ParseTaskDefinition([]byte(tt.doc))
			if err == nil {
				t.Fatal("ParseTaskDefinition succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("ParseTaskDefinition = %v, want %v", err, tt.is)
			}
		})
	}
}
