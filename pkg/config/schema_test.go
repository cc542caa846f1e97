package config

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite schema/config.schema.json from the Go types")

const schemaFile = "../../schema/config.schema.json"

// TestSchemaUpToDate regenerates the JSON Schema from the Go types and
// compares it with the committed one; run with -update after changing the
// types.
func TestSchemaUpToDate(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/config -run TestSchemaUpToDate -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("schema/config.schema.json is stale; run go test ./pkg/config -run TestSchemaUpToDate -update (-committed +generated):\n%s", diff)
	}
}

// TestSchemaShape pins what editors rely on: required fields, no unknown
// fields, and every field of the document described.
func TestSchemaShape(t *testing.T) {
	raw, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Required   []string `json:"required"`
		Additional *bool    `json:"additionalProperties"`
		Properties map[string]struct {
			AdditionalProperties struct {
				Required   []string                   `json:"required"`
				Additional *bool                      `json:"additionalProperties"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"additionalProperties"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	env := s.Properties["environments"].AdditionalProperties
	if diff := cmp.Diff([]string{"cluster", "services"}, env.Required); diff != "" {
		t.Errorf("required environment fields (-want +got):\n%s", diff)
	}
	if env.Additional == nil || *env.Additional {
		t.Error("environment allows unknown fields")
	}
	for _, f := range []string{"trigger", "versions", "prereleases", "tagPattern", "cluster", "services", "container", "environment", "secrets",
		"taskDefinition", "family", "region", "roleArn", "registry", "imageRef", "desiredCount", "deployment", "promoteFrom", "wait", "freeze"} {
		if _, ok := env.Properties[f]; !ok {
			t.Errorf("schema lacks %s", f)
		}
	}
}
