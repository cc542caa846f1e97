package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// FuzzParseTemplate puts a fuzzed task definition into an otherwise valid
// document, as an environment's taskDefinition, with fuzzed registry and
// imageRef. The FuzzParse corpus has few templates, and byte mutations of a
// whole document rarely keep one decodable. An accepted template must give
// the definition DecodeDescribeJSON gives, with a family and at least one
// container, must set the environment's family when none is given, and
// must survive the round trip of checkRoundTrip; a refused one must be
// reported at its path. The seed corpus holds the real task definitions
// under pkg/taskdef/testdata, compacted to fit a parameter.
func FuzzParseTemplate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "taskdef", "testdata", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "web", "", "")
	}
	f.Add([]byte(`{"family":"hello-color","containerDefinitions":[{"name":"web","image":"placeholder"}]}`), "", "222222222222.dkr.ecr.eu-west-1.amazonaws.com", "digest")
	f.Fuzz(func(t *testing.T, template []byte, family, registry, imageRef string) {
		env := map[string]any{
			"cluster":        "apps",
			"services":       []string{"web"},
			"taskDefinition": json.RawMessage(template),
		}
		for k, v := range map[string]string{"family": family, "registry": registry, "imageRef": imageRef} {
			if v != "" {
				env[k] = v
			}
		}
		data, err := json.Marshal(map[string]any{"environments": map[string]any{"dev": env}})
		if err != nil {
			return // not JSON: json.Marshal checks a RawMessage
		}
		doc, err := Parse("/ecrdeploy/config/fuzz", data)
		if err != nil {
			problems := Problems(err)
			if doc != nil || len(problems) == 0 {
				t.Fatalf("Parse = %v, %v", doc, err)
			}
			for _, p := range problems {
				if p.Input != inputName || p.Source != "/ecrdeploy/config/fuzz" || p.Problem == "" || (p.Field != "" && !strings.HasPrefix(p.Field, "environments.dev")) {
					t.Fatalf("problem %#v", p)
				}
				if n := len(p.Error()); n > 2*MaxDocumentSize+1000 { // a message may quote a key, a value and a path
					t.Fatalf("problem is %d bytes: %.300q…", n, p)
				}
			}
			return
		}
		e := doc.Environments["dev"]
		in := e.TaskDefinition.Input()
		if in == nil || in.Family == nil || *in.Family == "" || len(in.ContainerDefinitions) == 0 {
			t.Fatalf("accepted a template without family or containers: %+v", in)
		}
		td, tags, err := taskdef.DecodeDescribeJSON(template)
		if err != nil {
			t.Fatalf("accepted a template that DecodeDescribeJSON refuses: %v", err)
		}
		if !taskdef.Equal(in, taskdef.FromDescribe(td, tags)) {
			t.Fatal("the template's input differs from DecodeDescribeJSON's")
		}
		if family == "" && e.Family != *in.Family {
			t.Fatalf("family %q, want the template's %q", e.Family, *in.Family)
		}
		if family != "" && e.Family != family {
			t.Fatalf("family %q, want %q", e.Family, family)
		}
		// Input returns a copy: changing it does not change the document.
		in.Family = new("changed")
		if *e.TaskDefinition.Input().Family == "changed" {
			t.Fatal("Input returned the document's own definition")
		}
		checkRoundTrip(t, data, doc)
	})
}
