package taskdef

import (
	"flag"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixtures are the describe-task-definition outputs under testdata/.
var fixtures = []string{"fargate-web", "ec2-bridge"}

// ignoreUnexported lets cmp compare SDK structs, which carry an unexported
// serde marker.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

// mustDescribeFixture decodes testdata/<name>.json.
func mustDescribeFixture(t *testing.T, name string) (*ecstypes.TaskDefinition, []ecstypes.Tag) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	td, tags, err := DecodeDescribeJSON(data)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return td, tags
}

// mustInput gives the RegisterTaskDefinitionInput of testdata/<name>.json.
func mustInput(t *testing.T, name string) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	return FromDescribe(mustDescribeFixture(t, name))
}

// mustRender renders in with spec, failing the test on an error.
func mustRender(t *testing.T, in *ecs.RegisterTaskDefinitionInput, spec Spec) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	out, err := Render(in, spec)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return out
}

// mustCanonical returns Canonical(in) as a string.
func mustCanonical(t *testing.T, in *ecs.RegisterTaskDefinitionInput) string {
	t.Helper()
	b, err := Canonical(in)
	if err != nil {
		t.Fatalf("Canonical: %v", err)
	}
	return string(b)
}

// checkGolden compares got with testdata/<file>, or rewrites the file with
// -update.
func checkGolden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// ptrValue returns the reflect.Value of what p points to, for scribble.
func ptrValue[T any](p *T) reflect.Value {
	return reflect.ValueOf(p).Elem()
}
