package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ErrUnknownField is returned (wrapped, with the field's path) by
// DecodeDescribeJSON for a JSON field that the task definition has no place
// for.
var ErrUnknownField = errors.New("unknown field")

// DecodeDescribeJSON decodes a task definition in the JSON that
// `aws ecs describe-task-definition --include TAGS` prints: either that
// output as a whole ({"taskDefinition": {…}, "tags": […]}) or the bare task
// definition object, which may carry "tags" itself as RegisterTaskDefinition
// JSON does. Field names are matched as encoding/json matches them (the
// camelCase wire name, else case-insensitively).
//
// It decodes by reflection over the SDK types rather than with
// encoding/json alone, for three reasons: encoding/json cannot decode a
// union such as resourceRequirements[].sharingStrategy into the SDK's
// interface type; the AWS CLI prints timestamps as RFC 3339 strings (v2) or
// as epoch seconds (v1 and the wire format), and time.Time accepts only the
// first; and its unknown-field error names the field but not where it is.
//
// DecodeDescribeJSON returns ErrUnknownField, wrapped with the field's path
// (e.g. "taskDefinition.containerDefinitions[0].imag"), for a field the
// types do not have, and an error naming the path for a value of the wrong
// type, for malformed JSON and for trailing data after the document.
func DecodeDescribeJSON(data []byte) (*ecstypes.TaskDefinition, []ecstypes.Tag, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && strings.HasSuffix(se.Error(), "exceeded max depth") {
			// encoding/json's "invalid character '[' exceeded max depth"
			// puzzles; this is a nesting bomb.
			return nil, nil, fmt.Errorf("decode task definition JSON: at byte %d: nested more than 10000 levels deep: %w", se.Offset, err)
		}
		return nil, nil, fmt.Errorf("decode task definition JSON: %w", err)
	}
	if err := dec.Decode(new(any)); err != io.EOF {
		return nil, nil, errors.New("decode task definition JSON: trailing data after the document")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("decode task definition JSON: want an object, got %s", jsonKind(doc))
	}

	var tdObj any = obj
	var tagsRaw any
	tdPath := ""
	if key, ok := findKey(obj, "taskDefinition"); ok {
		// The whole describe output: only its two fields are known.
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if !strings.EqualFold(k, "taskDefinition") && !strings.EqualFold(k, "tags") {
				return nil, nil, fmt.Errorf("decode task definition JSON: %s: %w", k, ErrUnknownField)
			}
		}
		tdObj, tdPath = obj[key], key
		if key, ok := findKey(obj, "tags"); ok {
			tagsRaw = obj[key]
		}
	} else if key, ok := findKey(obj, "tags"); ok {
		// A bare definition with RegisterTaskDefinition's tags beside it.
		rest := maps.Clone(obj)
		delete(rest, key)
		tdObj, tagsRaw = rest, obj[key]
	}

	var td ecstypes.TaskDefinition
	if tdObj == nil {
		return nil, nil, fmt.Errorf("decode task definition JSON: %s: want an object, got null", tdPath)
	}
	if err := decodeValue(reflect.ValueOf(&td).Elem(), tdObj, tdPath); err != nil {
		return nil, nil, fmt.Errorf("decode task definition JSON: %w", err)
	}
	var tags []ecstypes.Tag
	if err := decodeValue(reflect.ValueOf(&tags).Elem(), tagsRaw, "tags"); err != nil {
		return nil, nil, fmt.Errorf("decode task definition JSON: %w", err)
	}
	return &td, tags, nil
}

// findKey finds the key of obj that names want, preferring an exact match.
func findKey(obj map[string]any, want string) (string, bool) {
	if _, ok := obj[want]; ok {
		return want, true
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if strings.EqualFold(k, want) {
			return k, true
		}
	}
	return "", false
}

// decodeValue stores src, a value decoded by encoding/json with UseNumber,
// in dst, which must be settable. A JSON null leaves dst as it is.
func decodeValue(dst reflect.Value, src any, path string) error {
	if src == nil {
		return nil
	}
	t := dst.Type()
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := decodeValue(p.Elem(), src, path); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Interface:
		return decodeUnion(dst, src, path)
	case reflect.Struct:
		if t == timeType {
			tm, err := decodeTime(src)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			dst.Set(reflect.ValueOf(tm))
			return nil
		}
		obj, ok := src.(map[string]any)
		if !ok {
			return typeError(path, "an object", src)
		}
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			f, ok := fieldByJSONName(t, key)
			if !ok {
				return fmt.Errorf("%s: %w", joinPath(path, key), ErrUnknownField)
			}
			if err := decodeValue(dst.FieldByIndex(f.Index), obj[key], joinPath(path, key)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		list, ok := src.([]any)
		if !ok {
			return typeError(path, "a list", src)
		}
		s := reflect.MakeSlice(t, len(list), len(list))
		for i, x := range list {
			if err := decodeValue(s.Index(i), x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
		return nil
	case reflect.Map:
		obj, ok := src.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			return typeError(path, "an object", src)
		}
		m := reflect.MakeMapWithSize(t, len(obj))
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			v := reflect.New(t.Elem()).Elem()
			if err := decodeValue(v, obj[key], fmt.Sprintf("%s[%q]", path, key)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), v)
		}
		dst.Set(m)
		return nil
	case reflect.String:
		s, ok := src.(string)
		if !ok {
			return typeError(path, "a string", src)
		}
		dst.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			return typeError(path, "true or false", src)
		}
		dst.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := src.(json.Number)
		if !ok {
			return typeError(path, "an integer", src)
		}
		i, err := strconv.ParseInt(n.String(), 10, t.Bits())
		if err != nil {
			return fmt.Errorf("%s: want an integer of %d bits, got %s", path, t.Bits(), n)
		}
		dst.SetInt(i)
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := src.(json.Number)
		if !ok {
			return typeError(path, "a number", src)
		}
		f, err := strconv.ParseFloat(n.String(), t.Bits())
		if err != nil {
			return fmt.Errorf("%s: want a number, got %s", path, n)
		}
		dst.SetFloat(f)
		return nil
	}
	return fmt.Errorf("%s: cannot decode into %s", path, t)
}

// decodeUnion decodes a union, which ECS writes as an object with exactly
// one member: {"nvidiaMps": {…}}.
func decodeUnion(dst reflect.Value, src any, path string) error {
	members, ok := unionMembers[dst.Type()]
	if !ok {
		return fmt.Errorf("%s: cannot decode into %s", path, dst.Type())
	}
	obj, ok := src.(map[string]any)
	if !ok || len(obj) != 1 {
		return typeError(path, "an object with exactly one member", src)
	}
	for key, val := range obj {
		var member reflect.Type
		for name, t := range members {
			if name == key || (member == nil && strings.EqualFold(name, key)) {
				member = t
			}
		}
		if member == nil {
			return fmt.Errorf("%s: %w", joinPath(path, key), ErrUnknownField)
		}
		p := reflect.New(member.Elem())
		if err := decodeValue(p.Elem().FieldByName("Value"), val, joinPath(path, key)); err != nil {
			return err
		}
		dst.Set(p)
	}
	return nil
}

// decodeTime accepts an RFC 3339 string, as AWS CLI v2 prints timestamps,
// or a number of seconds since the epoch, as CLI v1 and the ECS API do.
func decodeTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case string:
		tm, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("want an RFC 3339 time: %w", err)
		}
		return tm, nil
	case json.Number:
		whole, frac, _ := strings.Cut(v.String(), ".")
		sec, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
			return time.Time{}, fmt.Errorf("want seconds since the epoch, got %s", v)
		}
		nsec, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if sec < 0 {
			nsec = -nsec
		}
		return time.Unix(sec, nsec).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want a time, got %s", jsonKind(src))
}

func typeError(path, want string, got any) error {
	return fmt.Errorf("%s: want %s, got %s", path, want, jsonKind(got))
}

// jsonKind names the JSON type of a value decoded by encoding/json.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
