package input

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJSONProblem(t *testing.T) {
	type doc struct {
		Tag  string    `json:"tag"`
		At   time.Time `json:"at"`
		List []struct {
			N int `json:"n"`
		} `json:"list"`
	}
	tests := []struct {
		name, data             string
		wantField, wantProblem string
	}{
		{"wrong type", `{"tag": 1}`, "tag", "want string, got JSON number"},
		{"wrong type in a list", `{"list": [{"n": "1"}]}`, "list.n", "want int, got JSON string"},
		{"bad time", `{"at": "yesterday"}`, "", `bad time "yesterday": want an RFC 3339 time such as 2026-11-27T09:30:00Z`},
		{"long bad time", `{"at": "` + strings.Repeat("x", 1000) + `"}`, "", `bad time "` + strings.Repeat("x", 80) + `"… (1000 bytes): want an RFC 3339 time such as 2026-11-27T09:30:00Z`},
		{"syntax", `{"tag": x}`, "", "invalid JSON at byte 9: invalid character 'x' looking for beginning of value"},
		{"nesting bomb", `{"tag": ` + strings.Repeat("[", 10001) + `}`, "", "invalid JSON at byte 10008: nested more than 10000 levels deep"},
		{"end of input", `{"tag": "a"`, "", "invalid JSON at byte 11: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.data), new(doc))
			if err == nil {
				t.Fatalf("json.Unmarshal(%.40q) succeeded", tt.data)
			}
			field, problem := JSONProblem(err)
			if diff := cmp.Diff([]string{tt.wantField, tt.wantProblem}, []string{field, problem}); diff != "" {
				t.Errorf("JSONProblem(%v) mismatch (-want +got):\n%s", err, diff)
			}
		})
	}
	t.Run("other error", func(t *testing.T) {
		dec := json.NewDecoder(strings.NewReader(`{"tags": []}`))
		dec.DisallowUnknownFields()
		err := dec.Decode(new(doc))
		field, problem := JSONProblem(err)
		if diff := cmp.Diff([]string{"", `unknown field "tags"`}, []string{field, problem}); diff != "" {
			t.Errorf("JSONProblem(%v) mismatch (-want +got):\n%s", err, diff)
		}
	})
}

func TestSyntaxProblem(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"bad character", `[1, }`, "invalid character '}' looking for beginning of value"},
		{"nested arrays", strings.Repeat("[", 10001), "nested more than 10000 levels deep"},
		{"nested objects", strings.Repeat(`{"a":`, 10001), "nested more than 10000 levels deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var se *json.SyntaxError
			if err := json.Unmarshal([]byte(tt.data), new(any)); !errors.As(err, &se) {
				t.Fatalf("json.Unmarshal error = %v, want a *json.SyntaxError", err)
			}
			if diff := cmp.Diff(tt.want, SyntaxProblem(se)); diff != "" {
				t.Errorf("SyntaxProblem mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeToken(t *testing.T) {
	tests := []struct {
		name string
		tok  json.Token
		want string
	}{
		{"object", json.Delim('{'), "an object"},
		{"list", json.Delim('['), "a list"},
		{"closing brace", json.Delim('}'), `"}"`},
		{"string", "web", `string "web"`},
		{"long string", strings.Repeat("s", 100), `string "` + strings.Repeat("s", 80) + `"… (100 bytes)`},
		{"json.Number", json.Number("1e3"), "number 1e3"},
		{"float64", 2.5, "number 2.5"},
		{"true", true, "true"},
		{"false", false, "false"},
		{"null", nil, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, DescribeToken(tt.tok)); diff != "" {
				t.Errorf("DescribeToken(%#v) mismatch (-want +got):\n%s", tt.tok, diff)
			}
		})
	}
}

func TestJoinPath(t *testing.T) {
	tests := []struct {
		name, path, key, want string
	}{
		{"first key", "", "environments", "environments"},
		{"plain key", "environments", "dev", "environments.dev"},
		{"key with a dot", "environments", "my.env", `environments["my.env"]`},
		{"first key with a space", "", "a b", `["a b"]`},
		{"empty key", "environments", "", `environments[""]`},
		{"key with a quote", "environments.dev.environment", `A"B`, `environments.dev.environment["A\"B"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, JoinPath(tt.path, tt.key)); diff != "" {
				t.Errorf("JoinPath(%q, %q) mismatch (-want +got):\n%s", tt.path, tt.key, diff)
			}
		})
	}
}
