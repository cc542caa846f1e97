package input

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"event", &Error{Input: "bad event", Field: "detail.image-tag", Problem: `"x y" is not an image tag`}, `bad event: detail.image-tag: "x y" is not an image tag`},
		{"event without field", &Error{Input: "bad event", Problem: "not a JSON object"}, "bad event: not a JSON object"},
		{"config", &Error{Input: "config", Source: "/p/config/r", Field: "environments.dev.versions", Problem: "bad"}, "config /p/config/r: environments.dev.versions: bad"},
		{"config without field", &Error{Input: "config", Source: "/p/config/r", Problem: "empty document"}, "config /p/config/r: empty document"},
		{"config without source", &Error{Input: "config", Field: "environments", Problem: "bad"}, "config: environments: bad"},
		{"source only", &Error{Source: "file.json", Problem: "bad"}, "file.json: bad"},
		{"field only", &Error{Field: "versions", Problem: "bad"}, "versions: bad"},
		{"problem only", &Error{Problem: "bad"}, "bad"},
		{"cause not in the message", &Error{Field: "versions", Problem: "bad", Err: errors.New("cause")}, "versions: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	cause := errors.New("cause")
	if err := error(&Error{Problem: "bad", Err: cause}); !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false", err)
	}
	if err := (&Error{Problem: "bad"}).Unwrap(); err != nil {
		t.Errorf("Unwrap() = %v without a cause, want nil", err)
	}
}

func TestProblems(t *testing.T) {
	a := &Error{Field: "a", Problem: "x"}
	b := &Error{Field: "b", Problem: "y"}
	tests := []struct {
		name string
		err  error
		want []*Error
	}{
		{"nil", nil, nil},
		{"one", a, []*Error{a}},
		{"joined", errors.Join(a, b), []*Error{a, b}},
		{"wrapped and joined", errors.Join(errors.Join(a), fmt.Errorf("wrapped: %w", b)), []*Error{a, b}},
		{"other error", errors.New("z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Problems(tt.err)); diff != "" {
				t.Errorf("Problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"short", "aws.ecr", `"aws.ecr"`},
		{"control character", "a\x00b", `"a\x00b"`},
		{"at the limit", strings.Repeat("x", 80), `"` + strings.Repeat("x", 80) + `"`},
		{"over the limit", strings.Repeat("x", 81), `"` + strings.Repeat("x", 80) + `"… (81 bytes)`},
		{"cut before a multi-byte character", strings.Repeat("x", 79) + "€", `"` + strings.Repeat("x", 79) + `"… (82 bytes)`},
		// The quoted form is what is bounded: an escape is four characters.
		{"escapes", strings.Repeat("\x11", 30), `"` + strings.Repeat(`\x11`, 20) + `"… (30 bytes)`},
		{"long escapes", strings.Repeat("\u202e", 30), `"` + strings.Repeat(`\u202e`, 13) + `"… (90 bytes)`},
		{"invalid UTF-8", "\xff" + strings.Repeat("x", 100), `"\xff` + strings.Repeat("x", 76) + `"… (101 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Quote(tt.in)); diff != "" {
				t.Errorf("Quote(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
