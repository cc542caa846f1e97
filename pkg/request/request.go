// Package request decodes the manual requests the promoter function takes:
// deploy, promote, rollback, plan, status, history, approve, reject and
// board.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Actions.
const (
	Deploy   = "deploy"
	Promote  = "promote"
	Rollback = "rollback"
	Plan     = "plan"
	Status   = "status"
	History  = "history"
	// Board asks for the release board: every configured repository and
	// environment. It names no repository.
	Board = "board"
	// Approve continues the deployment that ECS paused in an environment
	// for a person's approval; Reject rolls it back, with a reason.
	Approve = "approve"
	Reject  = "reject"
)

// How far a wait goes (Request.Until): until the deployment pauses for
// approval, until test traffic or all production traffic is on the new
// revision, or until it is done (the default). The first three concern
// deployments of the blue-green family (blue-green, linear, canary); a
// rolling update is waited for until it is done.
const (
	UntilApproval          = "approval"
	UntilTestTraffic       = "test-traffic"
	UntilProductionTraffic = "production-traffic"
	UntilDone              = "done"
)

// untils are the values of Until, as error messages list them.
var untils = []string{UntilApproval, UntilTestTraffic, UntilProductionTraffic, UntilDone}

// MaxReason is the longest reason a rejection may give, in bytes.
const MaxReason = 1024

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
	// Limit and Cursor page a history: at most Limit changes (0: a page of
	// DefaultPage), after those the answer's cursor stopped at.
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	// Output is how a board request wants the board written: a
	// board.Format (table, json or html); empty leaves it to the answer.
	Output string `json:"output,omitempty"`
	// Until is how far a wait goes (UntilApproval, UntilTestTraffic,
	// UntilProductionTraffic, UntilDone); empty is UntilDone. Only with
	// wait.
	Until string `json:"until,omitempty"`
	// Reason says why a rejection rejects (reject only, and required there).
	Reason string `json:"reason,omitempty"`
}

// DefaultPage is how many changes one history answer holds when the request
// sets no limit; its cursor leads to the rest. MaxLimit is the most a
// request may ask for at once, which keeps an answer well inside Lambda's
// 6 MB response.
const (
	DefaultPage = 1000
	MaxLimit    = 10000
)

// inputName starts the message of every error Decode and Validate return.
const inputName = "bad request"

// bad returns the error for a malformed request; it names the field.
func bad(field, problem string) *input.Error {
	return &input.Error{Input: inputName, Field: field, Problem: problem}
}

// fieldNames are the JSON names of Request's fields, as they must be written.
var fieldNames = []string{"action", "repository", "tag", "environment", "from", "to", "force", "wait", "dryRun", "limit", "cursor", "output", "until", "reason"}

// Decode decodes and validates a request. It returns an *input.Error (its
// message starting "bad request: ") for: a request larger than MaxSize;
// bytes that are not valid UTF-8 (named by their offset); anything but one
// JSON object; invalid JSON; a field that is unknown (names
// are case-sensitive), given twice, null or of the wrong type; data after the
// object; and any problem Validate finds. On a
// validation error the decoded request is returned with the error when its
// repository is valid, so that the caller can name the repository in its
// reply; otherwise the request returned is empty.
func Decode(data []byte) (Request, error) {
	var r Request
	if len(data) > MaxSize {
		return r, bad("", fmt.Sprintf("request is %d bytes, more than %d", len(data), MaxSize))
	}
	// encoding/json would decode each invalid byte as U+FFFD, and the
	// checks below would judge another request.
	if e := input.CheckUTF8("", data); e != nil {
		return r, bad(e.Field, e.Problem)
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
		return Request{}, bad("", "data after the request object")
	}
	if err := r.Validate(); err != nil {
		if !input.ValidRepository(r.Repository) {
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
func checkFields(data []byte) *input.Error {
	rest := bytes.TrimLeft(data, " \t\r\n")
	if len(rest) == 0 {
		return nil // empty
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	switch {
	case rest[0] != '{' && err != nil:
		return bad("", "want a JSON object")
	case err != nil:
		return nil
	case tok != json.Delim('{'):
		return bad("", "want a JSON object, got "+input.DescribeToken(tok))
	}
	// Every field name is spelled one way, so a key in another case is an
	// unknown field, which says which name was meant.
	var keys input.KeySet
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string) // the decoder returns only strings in key position
		if problem := keys.Add(key, true); problem != "" {
			return bad(quoteField(key), problem)
		}
		if !slices.Contains(fieldNames, key) {
			return unknownField(key)
		}
		tok, err = dec.Token()
		switch {
		case err != nil:
			return nil
		case tok == nil:
			return bad(key, "null (leave the field out instead)")
		case tok == json.Delim('{') || tok == json.Delim('['):
			return nil // a wrong type, which decoding reports with the type wanted
		}
	}
	return nil
}

func unknownField(key string) *input.Error {
	for _, f := range fieldNames {
		if strings.EqualFold(f, key) {
			return bad(quoteField(key), fmt.Sprintf("unknown field (did you mean %q?)", f))
		}
	}
	return bad(quoteField(key), "unknown field (want "+strings.Join(fieldNames, ", ")+")")
}

func decodeError(err error) *input.Error {
	switch msg := strings.TrimPrefix(err.Error(), "json: "); {
	case strings.HasPrefix(msg, "unknown field "):
		return unknownField(strings.Trim(strings.TrimPrefix(msg, "unknown field "), `"`))
	case errors.Is(err, io.EOF):
		return bad("", "empty request")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("", "invalid JSON: unexpected end of the request")
	}
	return bad(input.JSONProblem(err))
}

// quoteField is an unknown key as input.Error.Field: as it is when it is short
// and printable, otherwise quoted (and cut) so that it cannot break or flood
// the message.
func quoteField(key string) string {
	if len(key) <= input.MaxQuoted && key != "" && !strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) {
		return key
	}
	return input.Quote(key)
}

// actions are the actions, as error messages list them.
const actions = "deploy, promote, rollback, plan, status, history, approve, reject or board"

// Validate checks that the request has exactly the fields its action needs
// and that each is well formed: a known action; an ECR repository name
// (none for board); a tag that ECR accepts; environment names (environment,
// from, to) of 1 to 64 letters, digits, '_', '.' or '-' other than "." and
// "..", as the configuration requires; no promotion from an environment to
// itself; no force, wait or dryRun on plan, status, history or board, which
// change nothing; and an output format (table, json or html) on board
// only. It returns the first problem as an *input.Error.
func (r Request) Validate() error {
	if r.Action == Board {
		return r.validateBoard()
	}
	if r.Output != "" && isAction(r.Action) {
		return bad("output", "not used by "+r.Action)
	}
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
	case History:
		need["environment?"] = true
	case Approve, Reject:
		need["environment"] = true
	case "":
		return bad("action", "missing (want "+actions+")")
	default:
		return bad("action", fmt.Sprintf("unknown action %s (want %s)", input.Quote(r.Action), actions))
	}
	if !input.ValidRepository(r.Repository) {
		if r.Repository == "" {
			return bad("repository", "missing")
		}
		return bad("repository", fmt.Sprintf("%s is not an ECR repository name", input.Quote(r.Repository)))
	}
	fields := []struct {
		name, value string
	}{{"tag", r.Tag}, {"environment", r.Environment}, {"from", r.From}, {"to", r.To}}
	for _, f := range fields {
		switch {
		case f.value == "" && need[f.name]:
			return bad(f.name, "missing for "+r.Action)
		case f.value != "" && !need[f.name] && !need[f.name+"?"]:
			return bad(f.name, "not used by "+r.Action)
		case f.value == "":
		case f.name == "tag" && !input.ValidTag(f.value):
			return bad(f.name, fmt.Sprintf("%s is not an image tag", input.Quote(f.value)))
		case f.name != "tag" && !input.ValidEnvironment(f.value):
			return bad(f.name, fmt.Sprintf("%s is not an environment name", input.Quote(f.value)))
		}
	}
	switch {
	case r.Action != History && r.Limit != 0:
		return bad("limit", "not used by "+r.Action)
	case r.Action != History && r.Cursor != "":
		return bad("cursor", "not used by "+r.Action)
	case r.Limit < 0 || r.Limit > MaxLimit:
		return bad("limit", fmt.Sprintf("%d is not between 1 and %d", r.Limit, MaxLimit))
	case len(r.Cursor) > 4096:
		return bad("cursor", "not a cursor of a history answer")
	}
	if r.Action == Promote && r.From != "" && r.From == r.To {
		return bad("to", "promote from an environment to itself")
	}
	if err := r.validateAnswer(); err != nil {
		return err
	}
	if r.Action == Status || r.Action == Plan || r.Action == History || r.Action == Approve || r.Action == Reject {
		// In a fixed order, so that the same request always gets the same error.
		for _, f := range []struct {
			name string
			set  bool
		}{{"force", r.Force}, {"wait", r.Wait}, {"dryRun", r.DryRun}} {
			if f.set {
				return bad(f.name, "not used by "+r.Action)
			}
		}
	}
	return nil
}

// validateAnswer checks the fields of an approval's answer and of a wait:
// reason is reject's, and required there (a rejection says why, in at most
// MaxReason bytes of printable text); until is for a deploy, promote or
// rollback that waits, and one of the untils.
func (r Request) validateAnswer() error {
	switch {
	case r.Action == Reject && strings.TrimSpace(r.Reason) == "":
		return bad("reason", "missing for reject: say why the deployment is rejected")
	case r.Action != Reject && r.Reason != "":
		return bad("reason", "not used by "+r.Action)
	case len(r.Reason) > MaxReason:
		return bad("reason", fmt.Sprintf("%d bytes, more than %d", len(r.Reason), MaxReason))
	case strings.ContainsFunc(r.Reason, func(c rune) bool { return !unicode.IsPrint(c) && c != ' ' }):
		return bad("reason", "holds a control character: write it on one line")
	}
	if r.Until == "" {
		return nil
	}
	switch {
	case r.Action != Deploy && r.Action != Promote && r.Action != Rollback:
		return bad("until", "not used by "+r.Action)
	case !slices.Contains(untils, r.Until):
		return bad("until", fmt.Sprintf("%s is not a point to wait for (want %s)", input.Quote(r.Until), strings.Join(untils, ", ")))
	case !r.Wait:
		return bad("until", `used only with "wait": true`)
	}
	return nil
}

// isAction reports whether action is one of the actions.
func isAction(action string) bool {
	return slices.Contains([]string{Deploy, Promote, Rollback, Plan, Status, History, Board, Approve, Reject}, action)
}

// validateBoard checks a board request: no repository, environment, tag or
// flag (the board is the whole fleet, and shows it without changing it), and
// an output format or none.
func (r Request) validateBoard() error {
	// In a fixed order, so that the same request always gets the same error.
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"repository", r.Repository != ""}, {"tag", r.Tag != ""}, {"environment", r.Environment != ""},
		{"from", r.From != ""}, {"to", r.To != ""}, {"force", r.Force}, {"wait", r.Wait}, {"dryRun", r.DryRun},
		{"until", r.Until != ""}, {"reason", r.Reason != ""},
	} {
		if f.set {
			return bad(f.name, "not used by board (it shows every repository)")
		}
	}
	if r.Output != "" {
		if _, err := board.ParseFormat(r.Output); err != nil {
			return bad("output", fmt.Sprintf("%s is not a format (want table, json or html)", input.Quote(r.Output)))
		}
	}
	return nil
}
