// Package request decodes the manual requests the promoter function takes
// (DESIGN section 4): deploy, promote, rollback, plan and status.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// Actions.
const (
	Deploy   = "deploy"
	Promote  = "promote"
	Rollback = "rollback"
	Plan     = "plan"
	Status   = "status"
)

// MaxSize is the largest request accepted; a request is a few hundred bytes.
const MaxSize = 64 << 10

// Request is one manual request.
type Request struct {
	Action      string `json:"action"`
	Repository  string `json:"repository"`
	Tag         string `json:"tag,omitempty"`
	Environment string `json:"environment,omitempty"`
	From        string `json:"from,omitempty"`
	To          string `json:"to,omitempty"`
	Force       bool   `json:"force,omitempty"`
	Wait        bool   `json:"wait,omitempty"`
	DryRun      bool   `json:"dryRun,omitempty"`
}

// Error is a malformed request; it names the field.
type Error struct {
	Field   string
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "bad request: " + e.Problem
	}
	return "bad request: " + e.Field + ": " + e.Problem
}

var environmentRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// fieldNames are the JSON names of Request's fields, as they must be written.
var fieldNames = []string{"action", "repository", "tag", "environment", "from", "to", "force", "wait", "dryRun"}

// Decode decodes and validates a request. It returns *Error for: a request
// larger than MaxSize; anything but one JSON object; invalid JSON; a field
// that is unknown (names are case-sensitive), given twice, null or of the
// wrong type; data after the object; and any problem Validate finds. On a
// validation error the decoded request is returned with the error when its
// repository is valid, so that the caller can name the repository in its
// reply; otherwise the request returned is empty.
func Decode(data []byte) (Request, error) {
	var r Request
	if len(data) > MaxSize {
		return r, &Error{Problem: fmt.Sprintf("request is %d bytes, more than %d", len(data), MaxSize)}
	}
	// encoding/json matches field names case-insensitively, takes the last
	// of duplicate keys and ignores null, so {"environment": "dev",
	// "Environment": "prod"} would act on prod; checkFields refuses those
	// first.
	if err := checkFields(data); err != nil {
		return Request{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Request{}, &Error{Problem: "data after the request object"}
	}
	if err := r.Validate(); err != nil {
		if !event.ValidRepository(r.Repository) {
			// Not a repository worth naming in a reply: it may be 64 KiB.
			return Request{}, err
		}
		return r, err
	}
	return r, nil
}

// checkFields checks the top level of a request: one JSON object whose keys
// are the field names exactly, each given once and not null. It returns nil
// for what it cannot judge (invalid JSON, a value of the wrong type), which
// decoding then reports.
func checkFields(data []byte) *Error {
	rest := bytes.TrimLeft(data, " \t\r\n")
	if len(rest) == 0 {
		return nil // empty
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	switch {
	case rest[0] != '{' && err != nil:
		return &Error{Problem: "want a JSON object"}
	case err != nil:
		return nil
	case tok != json.Delim('{'):
		return &Error{Problem: "want a JSON object, got " + describeToken(tok)}
	}
	seen := make(map[string]bool, len(fieldNames))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string) // the decoder returns only strings in key position
		switch {
		case seen[key]:
			return &Error{Field: quoteField(key), Problem: "given more than once"}
		case !slices.Contains(fieldNames, key):
			return unknownField(key)
		}
		seen[key] = true
		tok, err = dec.Token()
		switch {
		case err != nil:
			return nil
		case tok == nil:
			return &Error{Field: key, Problem: "null (leave the field out instead)"}
		case tok == json.Delim('{') || tok == json.Delim('['):
			return nil // a wrong type, which decoding reports with the type wanted
		}
	}
	return nil
}

func unknownField(key string) *Error {
	for _, f := range fieldNames {
		if strings.EqualFold(f, key) {
			return &Error{Field: quoteField(key), Problem: fmt.Sprintf("unknown field (did you mean %q?)", f)}
		}
	}
	return &Error{Field: quoteField(key), Problem: "unknown field (want " + strings.Join(fieldNames, ", ") + ")"}
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Field: te.Field, Problem: fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Problem: fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, event.SyntaxProblem(se))}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return unknownField(strings.Trim(f, `"`))
	}
	if errors.Is(err, io.EOF) {
		return &Error{Problem: "empty request"}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Problem: "invalid JSON: unexpected end of the request"}
	}
	return &Error{Problem: msg}
}

// describeToken names a JSON token for a message.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "a list"
		}
		return "an object"
	case string:
		return "string " + event.Quote(v)
	case float64:
		return "number " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return "null"
}

// quoteField is an unknown key as Error.Field: as it is when it is short
// and printable, otherwise quoted (and cut) so that it cannot break or flood
// the message.
func quoteField(key string) string {
	if len(key) <= event.MaxQuoted && key != "" && !strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) {
		return key
	}
	return event.Quote(key)
}

// Validate checks that the request has exactly the fields its action needs
// and that each is well formed: a known action; an ECR repository name; a
// tag that ECR accepts; environment names (environment, from, to) of 1 to 64
// letters, digits, '_', '.' or '-' other than "." and "..", as the
// configuration requires; no promotion from an environment to itself; and
// no force, wait or dryRun on plan or status, which change nothing. It
// returns the first problem as *Error.
func (r Request) Validate() error {
	need := map[string]bool{}
	switch r.Action {
	case Deploy:
		need["tag"], need["environment"] = true, true
	case Promote:
		need["to"], need["from?"] = true, true
	case Rollback:
		need["environment"] = true
	case Plan:
		need["tag"], need["environment?"] = true, true
	case Status:
	case "":
		return &Error{Field: "action", Problem: "missing (want deploy, promote, rollback, plan or status)"}
	default:
		return &Error{Field: "action", Problem: fmt.Sprintf("unknown action %s (want deploy, promote, rollback, plan or status)", event.Quote(r.Action))}
	}
	if !event.ValidRepository(r.Repository) {
		if r.Repository == "" {
			return &Error{Field: "repository", Problem: "missing"}
		}
		return &Error{Field: "repository", Problem: fmt.Sprintf("%s is not an ECR repository name", event.Quote(r.Repository))}
	}
	fields := []struct {
		name, value string
	}{{"tag", r.Tag}, {"environment", r.Environment}, {"from", r.From}, {"to", r.To}}
	for _, f := range fields {
		switch {
		case f.value == "" && need[f.name]:
			return &Error{Field: f.name, Problem: "missing for " + r.Action}
		case f.value != "" && !need[f.name] && !need[f.name+"?"]:
			return &Error{Field: f.name, Problem: "not used by " + r.Action}
		case f.value == "":
		case f.name == "tag" && !event.ValidTag(f.value):
			return &Error{Field: f.name, Problem: fmt.Sprintf("%s is not an image tag", event.Quote(f.value))}
		case f.name != "tag" && !validEnvironment(f.value):
			return &Error{Field: f.name, Problem: fmt.Sprintf("%s is not an environment name", event.Quote(f.value))}
		}
	}
	if r.Action == Promote && r.From != "" && r.From == r.To {
		return &Error{Field: "to", Problem: "promote from an environment to itself"}
	}
	if r.Action == Status || r.Action == Plan {
		// In a fixed order, so that the same request always gets the same error.
		for _, f := range []struct {
			name string
			set  bool
		}{{"force", r.Force}, {"wait", r.Wait}, {"dryRun", r.DryRun}} {
			if f.set {
				return &Error{Field: f.name, Problem: "not used by " + r.Action}
			}
		}
	}
	return nil
}

// validEnvironment is the configuration's rule for environment names, which
// become a segment of an SSM parameter name.
func validEnvironment(s string) bool {
	return environmentRE.MatchString(s) && s != "." && s != ".."
}
