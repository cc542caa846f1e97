package taskdef

import (
	"reflect"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// FromDescribe returns the RegisterTaskDefinitionInput that registers td
// again: every field of the input that TaskDefinition has under the same name
// and type is deep-copied, and Tags come from tags (DescribeTaskDefinition
// returns them beside the definition, not in it). Read-only fields such as
// TaskDefinitionArn, Revision, Status, Compatibilities, RequiresAttributes and
// RegisteredAt have no counterpart in the input and are dropped.
//
// The copy is made by reflection over the input's fields, so a field that a
// later SDK adds to both types is carried over without a code change;
// TestFromDescribeCoversEveryInputField fails for one that is added only to
// the input.
//
// Empty top-level lists are returned as nil: ECS rejects an empty tags list,
// and for the others absent and empty mean the same. Lists nested inside
// containers and volumes are kept as they are, so the copy stays lossless.
//
// FromDescribe returns nil when td is nil. It returns no error.
func FromDescribe(td *ecstypes.TaskDefinition, tags []ecstypes.Tag) *ecs.RegisterTaskDefinitionInput {
	if td == nil {
		return nil
	}
	out := &ecs.RegisterTaskDefinitionInput{}
	src := reflect.ValueOf(td).Elem()
	dst := reflect.ValueOf(out).Elem()
	for i := range dst.NumField() {
		f := dst.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		sf, ok := src.Type().FieldByName(f.Name)
		if !ok || sf.Type != f.Type || len(sf.Index) != 1 {
			continue
		}
		dst.Field(i).Set(nilIfEmpty(deepCopy(src.Field(sf.Index[0]))))
	}
	out.Tags = nilIfEmpty(deepCopy(reflect.ValueOf(tags))).Interface().([]ecstypes.Tag)
	return out
}

// Clone returns a deep copy of in: changing the copy never changes in. It
// returns nil when in is nil.
func Clone(in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionInput {
	if in == nil {
		return nil
	}
	return clone(in)
}

// nilIfEmpty turns an empty, non-nil slice into a nil one of the same type.
func nilIfEmpty(v reflect.Value) reflect.Value {
	if v.Kind() == reflect.Slice && v.Len() == 0 {
		return reflect.Zero(v.Type())
	}
	return v
}
