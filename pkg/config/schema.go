package config

import (
	"encoding/json"

	"github.com/invopop/jsonschema"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// SchemaID is the $id of the configuration document's JSON Schema.
const SchemaID = "https://github.com/ecrdeploy/ecrdeploy/schema/config.schema.json"

// Schema returns the JSON Schema of the configuration document, generated
// from the Go types so it cannot drift from what Parse accepts.
func Schema() ([]byte, error) {
	r := &jsonschema.Reflector{
		DoNotReference: true,
		// Fields without omitempty (cluster, services, environments) are the
		// required ones, as in Parse.
		RequiredFromJSONSchemaTags: false,
		AllowAdditionalProperties:  false,
	}
	s := r.Reflect(&Document{})
	// What struct tags cannot say: at least one environment, and names that
	// can be SSM path segments.
	if envs, ok := s.Properties.Get("environments"); ok {
		envs.MinProperties = ptrUint(1)
		envs.PropertyNames = &jsonschema.Schema{Pattern: input.EnvironmentPattern}
	}
	s.ID = SchemaID
	s.Title = "ecrdeploy configuration document"
	s.Description = "One SSM parameter per repository, {prefix}/config/{repository}: which environments run the repository's images and how they take new versions."
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// JSONSchema describes Names: one container name or a list of them.
func (Names) JSONSchema() *jsonschema.Schema {
	name := &jsonschema.Schema{Type: "string", Pattern: `^[A-Za-z0-9_-]{1,255}$`}
	return &jsonschema.Schema{
		Description: "The container, or list of containers, that get the new image. Default: every container whose image is from this repository.",
		OneOf: []*jsonschema.Schema{
			name,
			{Type: "array", Items: name, MinItems: ptrUint(1), UniqueItems: true},
		},
	}
}

func ptrUint(n uint64) *uint64 { return &n }
