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
	"strings"

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

// Decode decodes and validates a request. Unknown fields, a wrong type, a
// missing or superfluous field for the action are *Error.
func Decode(data []byte) (Request, error) {
	var r Request
	if len(data) > MaxSize {
		return r, &Error{Problem: fmt.Sprintf("request is %d bytes, more than %d", len(data), MaxSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Request{}, &Error{Problem: "data after the request object"}
	}
	return r, r.Validate()
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Field: te.Field, Problem: fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return &Error{Field: strings.Trim(f, `"`), Problem: "unknown field (want action, repository, tag, environment, from, to, force, wait, dryRun)"}
	}
	if errors.Is(err, io.EOF) {
		return &Error{Problem: "empty request"}
	}
	return &Error{Problem: msg}
}

// Validate checks that the request has exactly the fields its action needs.
func (r Request) Validate() error {
	if !event.ValidRepository(r.Repository) {
		if r.Repository == "" {
			return &Error{Field: "repository", Problem: "missing"}
		}
		return &Error{Field: "repository", Problem: fmt.Sprintf("%q is not an ECR repository name", r.Repository)}
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
	case "":
		return &Error{Field: "action", Problem: "missing (want deploy, promote, rollback, plan or status)"}
	default:
		return &Error{Field: "action", Problem: fmt.Sprintf("unknown action %q (want deploy, promote, rollback, plan or status)", r.Action)}
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
			return &Error{Field: f.name, Problem: fmt.Sprintf("%q is not an image tag", f.value)}
		case f.name != "tag" && !environmentRE.MatchString(f.value):
			return &Error{Field: f.name, Problem: fmt.Sprintf("%q is not an environment name", f.value)}
		}
	}
	if r.Action == Promote && r.From != "" && r.From == r.To {
		return &Error{Field: "to", Problem: "promote from an environment to itself"}
	}
	if r.Action == Status || r.Action == Plan {
		for name, set := range map[string]bool{"force": r.Force, "wait": r.Wait, "dryRun": r.DryRun} {
			if set {
				return &Error{Field: name, Problem: "not used by " + r.Action}
			}
		}
	}
	return nil
}
