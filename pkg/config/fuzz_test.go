package config

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse checks that no input makes Parse panic, that every refusal is
// reported as *Error values, and that an accepted document written back as JSON
// parses again to an equal document with the same policies.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("/ecrdeploy/config/fuzz", data)
		if err != nil {
			if doc != nil {
				t.Fatalf("Parse returned a document and the error %v", err)
			}
			problems := Problems(err)
			if len(problems) == 0 {
				t.Fatalf("error %v (%T) holds no *config.Error", err, err)
			}
			for _, p := range problems {
				if p.Parameter != "/ecrdeploy/config/fuzz" || p.Problem == "" {
					t.Fatalf("incomplete problem %#v", p)
				}
			}
			return
		}
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
	})
}
