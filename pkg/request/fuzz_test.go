package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// FuzzDecode checks that Decode never panics, that every refusal is an
// *input.Error with a bounded message, and that every request it accepts is
// well formed for its action and decodes the same after a round trip through
// JSON. The seed corpus (testdata/fuzz/FuzzDecode) holds the requests the
// README shows and the CLI's, and near misses of them (a field twice, in
// another case, bytes that are not UTF-8).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"action":"deploy","repository":"hello-color","tag":"1.0.1","environment":"production"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			var e *input.Error
			if !errors.As(err, &e) || e != err {
				t.Fatalf("Decode error %v is a %T, want *input.Error", err, err)
			}
			if e.Problem == "" {
				t.Fatalf("Decode error %#v has no problem", e)
			}
			if n := len(err.Error()); n > maxErrorLen {
				t.Fatalf("Decode error is %d bytes: %.300q…", n, err)
			}
			// A request that decoded is returned with its validation error,
			// if its repository is valid.
			if r != (Request{}) {
				if !input.ValidRepository(r.Repository) {
					t.Fatalf("Decode returned %+v, with an invalid repository, and %v", r, err)
				}
				if verr := r.Validate(); verr == nil || verr.Error() != err.Error() {
					t.Fatalf("Decode returned %+v with %v, but Validate says %v", r, err, verr)
				}
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted a request that is not valid UTF-8: %q", data)
		}
		checkAccepted(t, data, r)
	})
}

// FuzzRequestFields builds requests from fuzzed field values, as the CLI does
// (json.Marshal of a Request), so that validation sees far more well-formed
// requests than byte mutations reach. Decode must agree with Validate.
func FuzzRequestFields(f *testing.F) {
	f.Add("deploy", "hello-color", "1.0.1", "production", "", "", false, false, false, "")
	f.Add("promote", "hello-color", "", "", "staging", "production", true, true, true, "")
	f.Add("promote", "team/web", "", "", "production", "production", false, false, false, "")
	f.Add("rollback", "hello-color", "", "production", "", "", false, false, true, "")
	f.Add("plan", "hello-color", "1.5.0-rc.1", "", "", "", false, true, false, "")
	f.Add("status", "hello-color", "", "..", "", "", false, false, false, "")
	f.Add("board", "", "", "", "", "", false, false, false, "html")
	f.Add("board", "hello-color", "", "", "", "", false, false, false, "")
	f.Add("status", "hello-color", "", "", "", "", false, false, false, "json")
	f.Fuzz(func(t *testing.T, action, repository, tag, environment, from, to string, force, wait, dryRun bool, output string) {
		req := Request{Action: action, Repository: repository, Tag: tag, Environment: environment,
			From: from, To: to, Force: force, Wait: wait, DryRun: dryRun, Output: output}
		data, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data)
		verr := req.Validate()
		if len(data) > MaxSize {
			if err == nil || verr == nil {
				t.Fatalf("a %d-byte request: Decode error %v, Validate error %v", len(data), err, verr)
			}
			return
		}
		// json.Marshal writes invalid UTF-8 as U+FFFD, so the request
		// decoded is not quite the one sent; it is still refused.
		sent := []string{action, repository, tag, environment, from, to, output}
		if !slices.ContainsFunc(sent, func(s string) bool { return !utf8.ValidString(s) }) {
			if (err == nil) != (verr == nil) || (err != nil && err.Error() != verr.Error()) {
				t.Fatalf("Decode(%s) = %v, but Validate = %v", data, err, verr)
			}
		} else if err == nil || verr == nil {
			t.Fatalf("invalid UTF-8 accepted: Decode error %v, Validate error %v", err, verr)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(req, got); diff != "" {
			t.Fatalf("Decode(%s) (-sent +decoded):\n%s", data, diff)
		}
		checkAccepted(t, data, got)
	})
}

// checkAccepted checks what Decode accepted from data: JSON with nothing
// after it, its keys exactly the field names, and a request that has exactly
// the fields its action needs, each well formed, and that decodes the same
// after a round trip.
func checkAccepted(t *testing.T, data []byte, r Request) {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatalf("Decode accepted %+v, which Validate refuses: %v", r, err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("Decode accepted %q, which is not one JSON object: %v", data, err)
	}
	for k, v := range keys {
		if !slices.Contains(fieldNames, k) {
			t.Fatalf("Decode accepted the field %q", k)
		}
		if string(v) == "null" {
			t.Fatalf("Decode accepted null for %q", k)
		}
	}

	if !input.ValidRepository(r.Repository) && (r.Action != Board || r.Repository != "") {
		t.Fatalf("accepted repository %q", r.Repository)
	}
	if r.Output != "" {
		if _, err := board.ParseFormat(r.Output); err != nil || r.Action != Board {
			t.Fatalf("accepted output %q for %s", r.Output, r.Action)
		}
	}
	if r.Tag != "" && !input.ValidTag(r.Tag) {
		t.Fatalf("accepted tag %q", r.Tag)
	}
	for _, env := range []string{r.Environment, r.From, r.To} {
		if env != "" && !input.ValidEnvironment(env) {
			t.Fatalf("accepted environment %q", env)
		}
	}
	has := func(s string) bool { return s != "" }
	flags := r.Force || r.Wait || r.DryRun
	var ok bool
	switch r.Action {
	case Deploy:
		ok = has(r.Tag) && has(r.Environment) && !has(r.From) && !has(r.To)
	case Promote:
		ok = !has(r.Tag) && !has(r.Environment) && has(r.To) && r.From != r.To
	case Rollback:
		ok = !has(r.Tag) && has(r.Environment) && !has(r.From) && !has(r.To)
	case Plan:
		ok = has(r.Tag) && !has(r.From) && !has(r.To) && !flags
	case Status:
		ok = !has(r.Tag) && !has(r.Environment) && !has(r.From) && !has(r.To) && !flags
	case History:
		ok = !has(r.Tag) && !has(r.From) && !has(r.To) && !flags
	case Board:
		ok = !has(r.Repository) && !has(r.Tag) && !has(r.Environment) && !has(r.From) && !has(r.To) && !flags
	}
	if !ok {
		t.Fatalf("accepted %+v, which is not a well-formed %q request", r, r.Action)
	}

	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r); err != nil {
		t.Fatal(err)
	}
	again, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatalf("accepted %q, but not its re-encoding %s: %v", data, buf.Bytes(), err)
	}
	if diff := cmp.Diff(r, again); diff != "" {
		t.Fatalf("re-encoded request decodes differently (-first +again):\n%s", diff)
	}
}
