package taskdef

import (
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// unionMembers lists, for every union (interface-typed field) that a task
// definition can contain, its members by the name ECS uses on the wire.
// Reflection cannot enumerate the types that implement an interface, so a
// union the SDK adds later has to be added here; TestEveryUnionIsKnown fails
// until it is.
var unionMembers = map[reflect.Type]map[string]reflect.Type{
	reflect.TypeFor[ecstypes.SharingStrategy](): {
		"nvidiaMps": reflect.TypeFor[*ecstypes.SharingStrategyMemberNvidiaMps](),
	},
}

// unionMemberName returns the wire name of the union member held by v (a
// non-nil interface value), and whether it is a known member.
func unionMemberName(v reflect.Value) (string, bool) {
	members := unionMembers[v.Type()]
	for name, t := range members {
		if v.Elem().Type() == t {
			return name, true
		}
	}
	return "", false
}

// jsonName is the name ECS uses on the wire (and the AWS CLI prints) for a Go
// field of an SDK type: the Go name with its first letter lowered.
// TestJSONNamesMatchECSWireNames checks this against the SDK's schemas.
func jsonName(goName string) string {
	r, size := utf8.DecodeRuneInString(goName)
	return string(unicode.ToLower(r)) + goName[size:]
}

// fieldByJSONName finds the exported field of struct type t that a JSON key
// names: the exact wire name first, then a case-insensitive match, as
// encoding/json does.
func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if jsonName(f.Name) == key {
			return f, true
		}
		if !found && strings.EqualFold(f.Name, key) {
			folded, found = f, true
		}
	}
	return folded, found
}

// deepCopy returns a copy of v that shares no memory that could be mutated
// through it: pointers, slices, maps and interfaces are copied recursively.
// Unexported fields (the SDK's serde markers, time.Time's internals) are
// copied by value, which is safe because nothing mutates them in place.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(deepCopy(v.Index(i)))
		}
		return s
	case reflect.Array:
		a := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			a.Index(i).Set(deepCopy(v.Index(i)))
		}
		return a
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m.SetMapIndex(deepCopy(iter.Key()), deepCopy(iter.Value()))
		}
		return m
	case reflect.Interface:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		i := reflect.New(v.Type()).Elem()
		i.Set(deepCopy(v.Elem()))
		return i
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		s.Set(v)
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				s.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return s
	default:
		return v
	}
}

// clone returns a deep copy of v.
func clone[T any](v T) T {
	return deepCopy(reflect.ValueOf(&v).Elem()).Interface().(T)
}
