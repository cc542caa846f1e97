package config

import (
	"strings"
	"testing"
)

func nest(n int, s string) string {
	return strings.Repeat("[", n) + s + strings.Repeat("]", n)
}

// devWith is a valid document whose environment dev has the extra members
// extra (a JSON fragment starting with a comma).
func devWith(extra string) string {
	return `{"environments":{"dev":{"cluster":"apps","services":["web"]` + extra + `}}}`
}

// TestParseLimits feeds Parse oversized documents, names at their length
// limits, unicode, control characters and JSON nesting bombs: each is
// accepted or refused with every problem named at its path, never a panic.
func TestParseLimits(t *testing.T) {
	const template = `{"family":"hello-color","containerDefinitions":[{"name":"web","image":"placeholder"}]}`
	tests := []struct {
		name string
		in   string
		want string // part of a problem, "" when the document is valid
	}{
		// Sizes.
		{"at the size limit with a template", devWith(`,"taskDefinition":`+template) + strings.Repeat("\n", MaxDocumentSize-len(devWith(`,"taskDefinition":`+template))), ""},
		{"one byte over the size limit", devWith("") + strings.Repeat(" ", MaxDocumentSize+1-len(devWith(""))), "document is 8193 bytes, more than the 8192 bytes"},
		{"a megabyte", devWith(`,"family":"` + strings.Repeat("f", 1<<20) + `"`), "document is 1048650 bytes, more than the 8192 bytes"},

		// JSON nesting bombs: over the size limit, refused before decoding.
		{"100000 nested arrays", nest(100000, ""), "document is 200000 bytes, more than the 8192 bytes"},
		{"100000 nested arrays in services", devWith(`,"container":` + nest(100000, `"web"`)), "more than the 8192 bytes"},
		{"100000 nested objects in a template", devWith(`,"taskDefinition":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)), "more than the 8192 bytes"},
		// Within the size limit, nesting is reported as a type error where it
		// stands, without recursion.
		{"4000 nested arrays", nest(4000, ""), "expected an object, got a list"},
		{"4000 nested arrays as environments", `{"environments":` + nest(4000, "") + `}`, "environments: expected an object, got a list"},
		{"4000 nested arrays as services", `{"environments":{"dev":{"cluster":"apps","services":` + nest(4000, "") + `}}}`, "environments.dev.services[0]: expected a string, got a list"},
		{"4000 nested arrays as container", devWith(`,"container":` + nest(4000, "")), "environments.dev.container[0]: expected a string, got a list"},
		{"4000 nested arrays as a variable", devWith(`,"environment":{"A":` + nest(4000, "") + `}`), "environments.dev.environment.A: expected a string, got a list"},
		{"4000 nested arrays in an unknown field", devWith(`,"x":` + nest(4000, "")), "environments.dev.x: unknown field"},
		{"1000 nested objects in an unknown field", devWith(`,"x":` + strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)), "environments.dev.x: unknown field"},
		{"4000 nested arrays in a template", devWith(`,"taskDefinition":{"family":"x","containerDefinitions":` + nest(4000, "") + `}`), "environments.dev.taskDefinition: decode task definition JSON: containerDefinitions[0]: want an object, got a list"},
		{"4000 nested arrays as the template", devWith(`,"taskDefinition":` + nest(4000, "")), "environments.dev.taskDefinition: decode task definition JSON: want an object, got a list"},
		{"nesting left open", `{"environments":` + strings.Repeat("[", 4000), "environments: invalid JSON: unexpected end of the document"},

		// Names at their limits.
		{"environment name of 64 characters", `{"environments":{"` + strings.Repeat("e", 64) + `":{"cluster":"apps","services":["web"]}}}`, ""},
		{"environment name of 65 characters", `{"environments":{"` + strings.Repeat("e", 65) + `":{"cluster":"apps","services":["web"]}}}`, "invalid environment name"},
		{"cluster of 255 characters", `{"environments":{"dev":{"cluster":"` + strings.Repeat("c", 255) + `","services":["web"]}}}`, ""},
		{"cluster of 256 characters", `{"environments":{"dev":{"cluster":"` + strings.Repeat("c", 256) + `","services":["web"]}}}`, "environments.dev.cluster: invalid cluster"},
		{"service of 255 characters", `{"environments":{"dev":{"cluster":"apps","services":["` + strings.Repeat("s", 255) + `"]}}}`, ""},
		{"service of 256 characters", `{"environments":{"dev":{"cluster":"apps","services":["` + strings.Repeat("s", 256) + `"]}}}`, "environments.dev.services[0]: invalid service"},
		{"container of 255 characters", devWith(`,"container":"` + strings.Repeat("c", 255) + `"`), ""},
		{"container of 256 characters", devWith(`,"container":"` + strings.Repeat("c", 256) + `"`), "environments.dev.container: invalid container name"},
		{"family of 255 characters", devWith(`,"family":"` + strings.Repeat("f", 255) + `"`), ""},
		{"family of 256 characters", devWith(`,"family":"` + strings.Repeat("f", 256) + `"`), "environments.dev.family: invalid family"},

		// Unicode and control characters.
		{"unicode and control characters in values", devWith(`,"environment":{"GREETING":"héllo, 世界 👋","CTRL":"a\u0000b\u001b[31m\n","SEP":"\u2028"}`), ""},
		{"unicode variable name", devWith(`,"environment":{"ÜBER":"1"}`), ""},
		{"NUL in a variable name", devWith(`,"environment":{"A\u0000B":"1"}`), `environments.dev.environment["A\x00B"]: invalid variable name: contains a NUL byte`},
		{"newline in a secret's valueFrom", devWith(`,"secrets":{"DB":"arn:aws:ssm:us-east-1:123456789012:parameter/db\n"}`), "environments.dev.secrets.DB: invalid valueFrom"},
		{"unicode environment name", `{"environments":{"prød":{"cluster":"apps","services":["web"]}}}`, `environments["prød"]: invalid environment name`},
		{"NUL in an environment name", `{"environments":{"dev\u0000":{"cluster":"apps","services":["web"]}}}`, `environments["dev\x00"]: invalid environment name`},
		{"newline in a cluster", `{"environments":{"dev":{"cluster":"apps\n","services":["web"]}}}`, `environments.dev.cluster: invalid cluster: want`},
		{"unicode service", `{"environments":{"dev":{"cluster":"apps","services":["wéb"]}}}`, `environments.dev.services[0]: invalid service: want`},
		{"right-to-left override in a container", devWith(`,"container":"web\u202e"`), `environments.dev.container: invalid container name: use`},
		{"unicode region", devWith(`,"region":"us-éast-1"`), "environments.dev.region: invalid region"},
		{"unicode in a template", devWith(`,"taskDefinition":{"family":"x","containerDefinitions":[{"name":"wéb","environment":[{"name":"Ω","value":"\u0000"}]}]}`), ""},
		{"unknown field in unicode", devWith(`,"clüster":"x"`), `environments.dev["clüster"]: unknown field`},
		{"unknown field with a control character", devWith(`,"cluster\u0000":"x"`), `environments.dev["cluster\x00"]: unknown field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(testParameter, []byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", doc)
			}
			if doc != nil {
				t.Errorf("Parse returned a document with the error")
			}
			problems := Problems(err)
			if len(problems) == 0 {
				t.Fatalf("error %v holds no *input.Error", err)
			}
			found := false
			for _, p := range problems {
				if p.Input != inputName || p.Source != testParameter || p.Problem == "" {
					t.Errorf("incomplete problem %#v", p)
				}
				found = found || strings.Contains(p.Error(), tt.want)
			}
			if !found {
				t.Errorf("no problem contains %q: %.500q", tt.want, err)
			}
			if n := len(err.Error()); n > 2000 {
				t.Errorf("error is %d bytes: %.300q…", n, err)
			}
		})
	}
}
