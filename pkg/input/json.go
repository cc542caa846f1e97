package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// JSONProblem describes an error of encoding/json's Unmarshal or
// Decoder.Decode for a message about bad input: the JSON path of the field
// at fault ("" when the error does not say) and what is wrong. A value of
// the wrong type, a bad time and a syntax error (with its byte offset) are
// described in the input's terms; anything else is the error's text without
// its "json: " prefix.
func JSONProblem(err error) (field, problem string) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field, fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		// pe.Error() quotes the whole value, which may be 256 KiB.
		return "", fmt.Sprintf("bad time %s: want an RFC 3339 time such as 2026-11-27T09:30:00Z", Quote(pe.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "", fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, SyntaxProblem(se))
	}
	return "", strings.TrimPrefix(err.Error(), "json: ")
}

// maxDepth is how deeply encoding/json lets JSON values nest.
const maxDepth = 10000

// SyntaxProblem describes a JSON syntax error, without its position, for a
// message about bad input. encoding/json refuses JSON nested more than 10000
// levels deep (a nesting bomb) with the puzzling "invalid character '['
// exceeded max depth"; that is said plainly.
func SyntaxProblem(se *json.SyntaxError) string {
	if strings.HasSuffix(se.Error(), "exceeded max depth") {
		return fmt.Sprintf("nested more than %d levels deep", maxDepth)
	}
	return strings.TrimPrefix(se.Error(), "json: ")
}

// DescribeToken names a JSON token of json.Decoder.Token for a message: "an
// object", "a list", `string "…"` (quoted with Quote), "number 1.5", "true",
// "null".
func DescribeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
		return strconv.Quote(v.String())
	case string:
		return "string " + Quote(v)
	case json.Number:
		return "number " + v.String()
	case float64:
		return "number " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// plainKey is a key that can follow a dot in a path without quoting.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// JoinPath appends an object key to a JSON path: environments.dev, or
// environments["my.env"] when the key would be ambiguous after a dot.
func JoinPath(path, key string) string {
	if !plainKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// DescribeKind names the JSON type of a token of json.Decoder.Token for a
// message that must not quote the value (a configuration's variables and
// secrets): "an object", "a list", "a string", "a number", "true", "false",
// "null".
func DescribeKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return DescribeToken(v)
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}
