package config

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse checks that no input makes Parse panic, that every refusal is
// reported as *input.Error values, and that an accepted document written back as JSON parses
// again to an equal document with the same policies. The seed corpus
// (testdata/fuzz/FuzzParse) holds, besides valid and invalid documents, keys
// given twice and beside themselves in another case, at the top, in an
// environment and inside a taskDefinition, and services named twice.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("/ecrdeploy/config/fuzz", data)
		if err != nil {
			if doc != nil {
				t.Fatalf("Parse returned a document and the error %v", err)
			}
			problems := Problems(err)
			if len(problems) == 0 {
				t.Fatalf("error %v (%T) holds no *input.Error", err, err)
			}
			for _, p := range problems {
				if p.Input != inputName || p.Source != "/ecrdeploy/config/fuzz" || p.Problem == "" {
					t.Fatalf("incomplete problem %#v", p)
				}
			}
			return
		}
		checkRoundTrip(t, data, doc)
	})
}

// checkRoundTrip checks that an accepted document has its policies, and that
// written back as JSON it parses again to an equal document.
func checkRoundTrip(t *testing.T, data []byte, doc *Document) {
	t.Helper()
	for name, env := range doc.Environments {
		if env.Policy() == nil {
			t.Fatalf("environment %q has no policy", name)
		}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatalf("marshal accepted document: %v", err)
	}
	if buf.Len() > MaxDocumentSize {
		// Written back compactly a document is rarely larger, but the
		// escapes JSON requires (\u2028, control characters) can push a
		// document at the limit over it.
		t.Skipf("document written back is %d bytes", buf.Len())
	}
	again, err := Parse("/ecrdeploy/config/fuzz", buf.Bytes())
	if err != nil {
		t.Fatalf("accepted document written back does not parse: %v\ninput: %s\nwritten: %s", err, data, buf.Bytes())
	}
	// Empty maps written back are omitted and so come back nil.
	if diff := cmp.Diff(doc, again, ignorePolicy, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("document written back parses differently (-first +again):\n%s", diff)
	}
	for name, env := range doc.Environments {
		if got, want := again.Environments[name].Policy().String(), env.Policy().String(); got != want {
			t.Fatalf("environment %q policy %s, written back %s", name, want, got)
		}
	}
}

// FuzzParseFields builds valid-looking documents from fuzzed field values, so
// that validation and the round trip see many more accepted documents than
// byte mutations of whole documents reach.
func FuzzParseFields(f *testing.F) {
	f.Add("dev", ">=0.1.0", true, "", "web", "OCTO_COLOR", "#0f0", int32(2), int32(200), int32(100), "")
	f.Add("production", "^1.0.0", false, "release-(?P<version>.+)", "web", "A", "<&>\u2028", int32(0), int32(100), int32(0), "base")
	f.Add("my.env", "", false, "", "", "", "", int32(-1), int32(0), int32(101), "my.env")
	f.Fuzz(func(t *testing.T, name, versions string, prereleases bool, tagPattern, container, key, value string, desired, maxPct, minPct int32, promoteFrom string) {
		env := map[string]any{
			"cluster":      "apps",
			"services":     []string{"web", name},
			"versions":     versions,
			"prereleases":  prereleases,
			"tagPattern":   tagPattern,
			"container":    container,
			"environment":  map[string]string{key: value},
			"secrets":      map[string]string{"S" + key: value},
			"desiredCount": desired,
			"deployment":   map[string]any{"maximumPercent": maxPct, "minimumHealthyPercent": minPct},
			"promoteFrom":  promoteFrom,
		}
		if tagPattern == "" {
			delete(env, "tagPattern")
		}
		if promoteFrom == "" {
			delete(env, "promoteFrom")
		}
		// base runs a service of its own: a service belongs to one environment.
		envs := map[string]any{"base": map[string]any{"cluster": "apps", "services": []string{"web-base"}}}
		envs[name] = env // a promoteFrom of "base" names an environment that exists
		data, err := json.Marshal(map[string]any{"environments": envs})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Parse("/ecrdeploy/config/fuzz", data)
		if err != nil {
			if doc != nil || len(Problems(err)) == 0 {
				t.Fatalf("Parse = %v, %v", doc, err)
			}
			return
		}
		e := doc.Environments[name]
		if *e.DesiredCount < 0 || *e.Deployment.MinimumHealthyPercent >= *e.Deployment.MaximumPercent || e.PromoteFrom == name {
			t.Fatalf("accepted an invalid environment %+v", e)
		}
		checkRoundTrip(t, data, doc)
	})
}
