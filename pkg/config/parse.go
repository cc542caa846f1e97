package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Parse decodes and validates the configuration document stored in the
// parameter named parameter (used only in messages; a file name will do), and
// compiles the version policy of each environment.
//
// Decoding is strict. These are errors: a document larger than
// MaxDocumentSize; invalid UTF-8 or a byte order mark; invalid JSON; an empty
// document; data after the document; an unknown field (names are
// case-sensitive); a field or key given twice; null; a value of the wrong type.
//
// Validation then requires: at least one environment; environment names of 1
// to 64 letters, digits, '_', '.' or '-' (not "." or ".."); trigger "push" or
// "manual"; versions a valid range and tagPattern a valid pattern with a group
// "version" (see policy.New); a cluster, as an ECS name or ARN; at least one
// service, each an ECS name or ARN, without duplicates; container names that
// are ECS names, at least one if the field is given, without duplicates;
// environment and secret names that are not empty and contain no '=' (or NUL),
// a secret's valueFrom not empty and without white space, and no name in both;
// a family that is an ECS name; a region code such as us-east-1, and a
// cluster or service ARN in the environment's region (see ParseIn); desiredCount
// 0 or more; deployment.maximumPercent from 100 to 400,
// deployment.minimumHealthyPercent from 0 to 100 and below maximumPercent when
// both are given; deployment.codeDeploy with an application and an optional
// deploymentGroup, each of 1 to 100 characters without surrounding white
// space or control characters, the group only for an environment of one
// service; the rest of the deployment block within the ranges ECS
// documents (bake times 0 to 1440 minutes, traffic shares in tenths of a
// percent, an approval's timeout 1 to 20160 minutes, a hook's 1 to 1440, at
// most 10 hooks, stages where ECS runs hooks) and each field beside the
// strategies it belongs to (see Deployment); promoteFrom naming another
// environment of the document, with no cycle of promotions; freeze.calendars
// not empty, each a change calendar name (3 to 128 letters, digits, '_', '-'
// or '.') or a document ARN, none twice. Parse sets Trigger to TriggerPush
// where it is absent.
//
// Every problem is reported as an *input.Error naming the parameter (Source)
// and the JSON path of the field (Field); when there are several, Parse
// returns them joined with errors.Join (decoding problems, if any, and
// otherwise validation problems in environment-name order). It returns a nil
// Document with any error.
func Parse(parameter string, data []byte) (*Document, error) {
	return ParseIn(parameter, data, "")
}

// ParseIn is Parse for a function whose own region is region: the region of
// an environment that does not name one, where a cluster or service ARN
// must then be. With region "" (not known) only the ARNs of environments
// that name their region are checked against it.
func ParseIn(parameter string, data []byte, region string) (*Document, error) {
	doc, problems := decode(data)
	if len(problems) == 0 {
		problems = validate(doc, region)
	}
	for _, p := range problems {
		p.Input, p.Source = inputName, parameter
	}
	if err := joinProblems(problems); err != nil {
		return nil, err
	}
	return doc, nil
}

// decode checks the structure of data against the Go types, then lets
// encoding/json fill them in.
func decode(data []byte) (*Document, []*input.Error) {
	if len(data) > MaxDocumentSize {
		return nil, []*input.Error{{Problem: fmt.Sprintf("document is %d bytes, more than the %d bytes an SSM parameter can hold (advanced tier)", len(data), MaxDocumentSize)}}
	}
	if bytes.HasPrefix(data, []byte("\uFEFF")) {
		return nil, []*input.Error{{Problem: "document starts with a byte order mark (U+FEFF): save it as UTF-8 without one"}}
	}
	if !utf8.Valid(data) {
		return nil, []*input.Error{{Problem: fmt.Sprintf("document is not valid UTF-8 (at byte %d)", input.InvalidUTF8(data))}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, []*input.Error{{Problem: "empty document"}}
	}

	c := &checker{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	c.dec.UseNumber()
	if err := c.value("", reflect.TypeFor[Document]()); err != nil {
		return nil, append(c.problems, err)
	}
	if tok, err := c.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, append(c.problems, c.syntaxError("", err))
		}
		return nil, append(c.problems, &input.Error{Problem: fmt.Sprintf("unexpected data after the document: %s", input.DescribeKind(tok))})
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}

	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		// The checker should have caught anything encoding/json rejects.
		return nil, []*input.Error{{Problem: err.Error()}}
	}
	return &doc, nil
}

// checker walks the JSON tokens of a document alongside the Go type it decodes
// into. encoding/json alone is not strict enough, and does not say where: it
// reports an unknown field without its path, leaves map keys and list indexes
// out of a type error's path, matches field names case-insensitively, takes the
// last of duplicate keys, and accepts null for any type.
//
// The checker is driven by reflection over the json tags, so a field added to
// the types is checked without changes here. A type with its own UnmarshalJSON
// (Names) is handed its raw value and its error reported at its path.
type checker struct {
	dec      *json.Decoder
	data     []byte
	problems []*input.Error
}

var (
	unmarshalerType    = reflect.TypeFor[json.Unmarshaler]()
	namesType          = reflect.TypeFor[Names]()
	circuitBreakerType = reflect.TypeFor[CircuitBreaker]()
)

// value checks one JSON value that decodes into t. Problems of type and of
// field names are collected; the returned error is a syntax error, after which
// the walk cannot go on.
func (c *checker) value(path string, t reflect.Type) *input.Error {
	start := c.dec.InputOffset()
	tok, err := c.dec.Token()
	if err != nil {
		return c.syntaxError(path, err)
	}
	return c.check(path, t, tok, start)
}

// check checks the value that tok begins, which starts after offset start.
func (c *checker) check(path string, t reflect.Type, tok json.Token, start int64) *input.Error {
	if t == namesType {
		// A string or a list of strings: checked here rather than by
		// Names.UnmarshalJSON so that a bad element is reported at its index.
		switch tok.(type) {
		case string:
			return nil
		case json.Delim:
			if tok == json.Delim('[') {
				return c.check(path, reflect.TypeFor[[]string](), tok, start)
			}
		}
		return c.mismatch(path, "a container name or a list of names", tok)
	}
	if t == circuitBreakerType || t == reflect.PointerTo(circuitBreakerType) {
		// true, false or an object, whose fields are checked here like any
		// other object's, at their own paths.
		switch tok {
		case true, false:
			return nil
		case json.Delim('{'):
			return c.check(path, reflect.TypeFor[circuitBreakerObject](), tok, start)
		}
		return c.mismatch(path, "true, false or an object", tok)
	}

	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := c.skip(tok); err != nil {
			return c.syntaxError(path, err)
		}
		// InputOffset before the token is the end of the previous one, so the
		// raw value is preceded by the ':' or ',' that separates them.
		raw := bytes.TrimLeft(c.data[start:c.dec.InputOffset()], " \t\r\n:,")
		// The task definition's decoder, like encoding/json, matches names
		// case-insensitively and keeps the last of duplicate keys.
		if e := input.CheckKeys(path, raw); e != nil {
			c.problems = append(c.problems, e)
			return nil
		}
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			c.problem(path, err.Error())
		}
		return nil
	}

	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return c.mismatch(path, "an object", tok)
		}
		return c.object(path, t)
	case reflect.Map:
		if tok != json.Delim('{') {
			return c.mismatch(path, "an object", tok)
		}
		return c.mapping(path, t)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return c.mismatch(path, "a list", tok)
		}
		for i := 0; c.dec.More(); i++ {
			if err := c.value(fmt.Sprintf("%s[%d]", path, i), t.Elem()); err != nil {
				return err
			}
		}
		return c.closing(path)
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return c.mismatch(path, "a string", tok)
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return c.mismatch(path, "true or false", tok)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := tok.(json.Number)
		if !ok {
			return c.mismatch(path, "an integer", tok)
		}
		if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); errors.Is(err, strconv.ErrRange) {
			lo, hi := -1<<(t.Bits()-1), 1<<(t.Bits()-1)-1
			c.problem(path, fmt.Sprintf("expected an integer from %d to %d", lo, hi))
		} else if err != nil {
			c.problem(path, "expected an integer, got a number with a fraction or an exponent")
		}
	case reflect.Float32, reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return c.mismatch(path, "a number", tok)
		}
		if _, err := strconv.ParseFloat(n.String(), t.Bits()); err != nil {
			c.problem(path, "expected a number in range")
		}
	default:
		// A kind the document does not use yet: encoding/json judges it.
		if err := c.skip(tok); err != nil {
			return c.syntaxError(path, err)
		}
	}
	return nil
}

// object checks the members of a JSON object that decodes into struct t; the
// opening brace has been read.
func (c *checker) object(path string, t reflect.Type) *input.Error {
	fields := jsonFields(t)
	return c.members(path, "field", false, func(child, key string) reflect.Type {
		ft, known := fields[key]
		if !known {
			c.problem(child, unknownField(key, fields))
		}
		return ft
	})
}

// mapping checks the members of a JSON object that decodes into map t; the
// opening brace has been read. Keys that differ only in case are refused
// (environment names: "dev" beside "Dev"), except in a map of strings:
// environment variable and secret names, which are case-sensitive in a
// container (http_proxy beside HTTP_PROXY is a convention).
func (c *checker) mapping(path string, t reflect.Type) *input.Error {
	return c.members(path, "key", t.Elem().Kind() == reflect.String, func(string, string) reflect.Type { return t.Elem() })
}

// members checks the members of an object, the opening brace read: a name
// given twice, or beside itself in another case unless caseSensitive, is a
// problem (what names it: "field" or "key"), and typeOf says what a member's
// value decodes into (nil: skip it, its problem told).
func (c *checker) members(path, what string, caseSensitive bool, typeOf func(child, key string) reflect.Type) *input.Error {
	var keys input.KeySet
	for c.dec.More() {
		key, err := c.key(path)
		if err != nil {
			return err
		}
		child := input.KeyPath(path, key)
		var t reflect.Type
		switch problem := keys.Add(key, caseSensitive); problem {
		case "":
			t = typeOf(child, key)
		case "given more than once":
			c.problem(child, what+" "+problem)
		default:
			c.problem(child, problem)
		}
		if t == nil {
			if err := c.skipValue(child); err != nil {
				return err
			}
			continue
		}
		if err := c.value(child, t); err != nil {
			return err
		}
	}
	return c.closing(path)
}

// key reads the key of an object member.
func (c *checker) key(path string) (string, *input.Error) {
	tok, err := c.dec.Token()
	if err != nil {
		return "", c.syntaxError(path, err)
	}
	return tok.(string), nil // the decoder returns only strings in key position
}

// closing reads the '}' or ']' that ends an object or a list.
func (c *checker) closing(path string) *input.Error {
	if _, err := c.dec.Token(); err != nil {
		return c.syntaxError(path, err)
	}
	return nil
}

// mismatch records a value of the wrong type and skips it.
func (c *checker) mismatch(path, want string, tok json.Token) *input.Error {
	c.problem(path, fmt.Sprintf("expected %s, got %s", want, input.DescribeKind(tok)))
	if err := c.skip(tok); err != nil {
		return c.syntaxError(path, err)
	}
	return nil
}

// skipValue reads and discards one value.
func (c *checker) skipValue(path string) *input.Error {
	tok, err := c.dec.Token()
	if err == nil {
		err = c.skip(tok)
	}
	if err != nil {
		return c.syntaxError(path, err)
	}
	return nil
}

// skip discards the rest of the value that tok begins.
func (c *checker) skip(tok json.Token) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func (c *checker) problem(path, problem string) {
	c.problems = append(c.problems, &input.Error{Field: path, Problem: problem})
}

// syntaxError describes a JSON syntax error, with its line and column.
//
// The offsets of the errors of json.Decoder.Token are unreliable (some count
// only the bytes of scalar values), so the position comes from checking the
// whole document again with json.Unmarshal, whose offsets are exact.
func (c *checker) syntaxError(path string, err error) *input.Error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &input.Error{Field: path, Problem: "invalid JSON: unexpected end of the document"}
	}
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(c.data, new(any)), &se) {
		err = se
	} else if !errors.As(err, &se) {
		return &input.Error{Field: path, Problem: "invalid JSON: " + err.Error()}
	}
	line, col := position(c.data, se.Offset)
	return &input.Error{Field: path, Problem: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, input.SyntaxProblem(se))}
}

// position returns the 1-based line and column (in bytes) of the byte at
// offset-1: a json.SyntaxError's offset counts the bytes read, including the
// one at fault.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 1), int64(len(data)))
	before := data[:offset-1]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// jsonFields maps the JSON names of the exported fields of struct t to their
// types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// unknownField describes an unknown field, suggesting a known one that differs
// only in case.
func unknownField(key string, fields map[string]reflect.Type) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return fmt.Sprintf("unknown field (did you mean %q?)", name)
		}
	}
	return "unknown field"
}

// describe names the JSON type of the value in data for a message, without
// quoting it.
func describe(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return "invalid JSON"
	}
	return input.DescribeKind(tok)
}
