package taskdef

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// notInTaskDefinition lists the RegisterTaskDefinitionInput fields that
// FromDescribe does not copy from the TaskDefinition, with where they come
// from instead. Anything added here needs code in FromDescribe.
var notInTaskDefinition = map[string]string{
	// DescribeTaskDefinition returns tags beside the task definition (with
	// --include TAGS), not in it; FromDescribe takes them as an argument.
	"Tags": "DescribeTaskDefinitionOutput.Tags",
}

func TestFromDescribeCoversEveryInputField(t *testing.T) {
	in := reflect.TypeFor[ecs.RegisterTaskDefinitionInput]()
	td := reflect.TypeFor[ecstypes.TaskDefinition]()
	for i := range in.NumField() {
		f := in.Field(i)
		if !f.IsExported() {
			continue
		}
		src, ok := td.FieldByName(f.Name)
		sameType := ok && src.Type == f.Type
		if _, allowed := notInTaskDefinition[f.Name]; allowed {
			if sameType {
				t.Errorf("RegisterTaskDefinitionInput.%s is now in TaskDefinition too: remove it from notInTaskDefinition", f.Name)
			}
			continue
		}
		switch {
		case !ok:
			t.Errorf("RegisterTaskDefinitionInput.%s (%s) has no field of that name in ecstypes.TaskDefinition: FromDescribe would drop it; copy it explicitly and list it in notInTaskDefinition", f.Name, f.Type)
		case !sameType:
			t.Errorf("RegisterTaskDefinitionInput.%s is %s but TaskDefinition.%s is %s: FromDescribe would drop it; convert it explicitly and list it in notInTaskDefinition", f.Name, f.Type, f.Name, src.Type)
		}
	}
}

func TestFromDescribeCopiesEveryField(t *testing.T) {
	var td ecstypes.TaskDefinition
	fill(t, reflect.ValueOf(&td).Elem(), "TaskDefinition")
	tags := []ecstypes.Tag{{Key: new("k"), Value: new("v")}}

	got := FromDescribe(&td, tags)

	out := reflect.ValueOf(got).Elem()
	src := reflect.ValueOf(&td).Elem()
	for i := range out.NumField() {
		f := out.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if out.Field(i).IsZero() {
			t.Errorf("FromDescribe left RegisterTaskDefinitionInput.%s zero", f.Name)
			continue
		}
		want := any(tags)
		if f.Name != "Tags" {
			want = src.FieldByName(f.Name).Interface()
		}
		if diff := cmp.Diff(want, out.Field(i).Interface(), ignoreUnexported); diff != "" {
			t.Errorf("RegisterTaskDefinitionInput.%s (-want +got):\n%s", f.Name, diff)
		}
	}
}

func TestFromDescribeDeepCopies(t *testing.T) {
	// The snapshots are built separately, not copied with the code under
	// test.
	var td, before ecstypes.TaskDefinition
	fill(t, reflect.ValueOf(&td).Elem(), "TaskDefinition")
	fill(t, reflect.ValueOf(&before).Elem(), "TaskDefinition")
	tags := []ecstypes.Tag{{Key: new("k"), Value: new("v")}}
	tagsBefore := []ecstypes.Tag{{Key: new("k"), Value: new("v")}}

	got := FromDescribe(&td, tags)
	scribble(reflect.ValueOf(got).Elem())

	if diff := cmp.Diff(before, td, ignoreUnexported); diff != "" {
		t.Errorf("changing FromDescribe's result changed the task definition (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tagsBefore, tags, ignoreUnexported); diff != "" {
		t.Errorf("changing FromDescribe's result changed the tags (-want +got):\n%s", diff)
	}
}

func TestFromDescribeEmptyTopLevelLists(t *testing.T) {
	tests := []struct {
		name string
		td   ecstypes.TaskDefinition
		tags []ecstypes.Tag
		want *ecs.RegisterTaskDefinitionInput
	}{
		{
			name: "empty lists become nil",
			td: ecstypes.TaskDefinition{
				Family:                  new("f"),
				ContainerDefinitions:    []ecstypes.ContainerDefinition{},
				PlacementConstraints:    []ecstypes.TaskDefinitionPlacementConstraint{},
				Volumes:                 []ecstypes.Volume{},
				RequiresCompatibilities: []ecstypes.Compatibility{},
				InferenceAccelerators:   []ecstypes.InferenceAccelerator{},
			},
			tags: []ecstypes.Tag{},
			want: &ecs.RegisterTaskDefinitionInput{Family: new("f")},
		},
		{
			name: "nested empty lists are kept",
			td: ecstypes.TaskDefinition{
				Family: new("f"),
				ContainerDefinitions: []ecstypes.ContainerDefinition{{
					Name:        new("web"),
					Environment: []ecstypes.KeyValuePair{},
					MountPoints: []ecstypes.MountPoint{},
				}},
			},
			want: &ecs.RegisterTaskDefinitionInput{
				Family: new("f"),
				ContainerDefinitions: []ecstypes.ContainerDefinition{{
					Name:        new("web"),
					Environment: []ecstypes.KeyValuePair{},
					MountPoints: []ecstypes.MountPoint{},
				}},
			},
		},
		{
			name: "read-only fields are dropped",
			td: ecstypes.TaskDefinition{
				Family:             new("f"),
				TaskDefinitionArn:  new("arn:aws:ecs:us-east-1:123456789012:task-definition/f:1"),
				Revision:           1,
				Status:             ecstypes.TaskDefinitionStatusActive,
				Compatibilities:    []ecstypes.Compatibility{ecstypes.CompatibilityEc2},
				RequiresAttributes: []ecstypes.Attribute{{Name: new("ecs.capability.task-eni")}},
				RegisteredAt:       new(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
				RegisteredBy:       new("arn:aws:iam::123456789012:user/me"),
			},
			tags: []ecstypes.Tag{{Key: new("team"), Value: new("platform")}},
			want: &ecs.RegisterTaskDefinitionInput{
				Family: new("f"),
				Tags:   []ecstypes.Tag{{Key: new("team"), Value: new("platform")}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromDescribe(&tt.td, tt.tags)
			// cmp tells nil from empty slices, which is the point here.
			if diff := cmp.Diff(tt.want, got, ignoreUnexported); diff != "" {
				t.Errorf("FromDescribe (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromDescribeNil(t *testing.T) {
	if got := FromDescribe(nil, nil); got != nil {
		t.Errorf("FromDescribe(nil) = %+v, want nil", got)
	}
}

// TestEveryUnionIsKnown fails when a task definition can hold an interface
// (a Smithy union) that unionMembers does not list: DecodeDescribeJSON could
// not decode it, and Canonical would print it wrongly.
func TestEveryUnionIsKnown(t *testing.T) {
	walkTypes(reflect.TypeFor[ecstypes.TaskDefinition](), "TaskDefinition", map[reflect.Type]bool{}, func(typ reflect.Type, path string) {
		if typ.Kind() == reflect.Interface {
			if _, ok := unionMembers[typ]; !ok {
				t.Errorf("%s is the union %s, which unionMembers does not list", path, typ)
			}
		}
	})
}

// TestJSONNamesMatchECSWireNames checks jsonName, which Canonical and
// DecodeDescribeJSON rely on, against the names in the SDK's own schemas
// of the ECS API, for every field and union member a task definition has.
func TestJSONNamesMatchECSWireNames(t *testing.T) {
	tests := []struct {
		name   string
		typ    reflect.Type
		schema *smithy.Schema
	}{
		{"RegisterTaskDefinitionInput", reflect.TypeFor[ecs.RegisterTaskDefinitionInput](), schemas.RegisterTaskDefinitionRequest},
		{"TaskDefinition", reflect.TypeFor[ecstypes.TaskDefinition](), schemas.TaskDefinition},
		{"Tag", reflect.TypeFor[ecstypes.Tag](), schemas.Tag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWireNames(t, tt.typ, tt.schema, tt.name)
		})
	}
	t.Run("describe output", func(t *testing.T) {
		for _, name := range []string{"taskDefinition", "tags"} {
			if schemas.DescribeTaskDefinitionResponse.Member(name) == nil {
				t.Errorf("DescribeTaskDefinitionResponse has no member %q, which DecodeDescribeJSON expects", name)
			}
		}
	})
}

func checkWireNames(t *testing.T, typ reflect.Type, s *smithy.Schema, path string) {
	t.Helper()
	if s == nil {
		t.Errorf("%s: no schema", path)
		return
	}
	switch typ.Kind() {
	case reflect.Pointer:
		checkWireNames(t, typ.Elem(), s, path)
	case reflect.Slice:
		checkWireNames(t, typ.Elem(), s.ListMember(), path+"[]")
	case reflect.Map:
		checkWireNames(t, typ.Elem(), s.MapValue(), path+"{}")
	case reflect.Interface:
		members := unionMembers[typ]
		for name := range s.Members() {
			if _, ok := members[name]; !ok {
				t.Errorf("%s: union member %q is not in unionMembers", path, name)
			}
		}
		for name, member := range members {
			value, _ := member.Elem().FieldByName("Value")
			checkWireNames(t, value.Type, s.Member(name), path+"."+name)
		}
	case reflect.Struct:
		if typ == timeType {
			return
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			m := s.Member(jsonName(f.Name))
			if m == nil {
				t.Errorf("%s.%s: ECS has no member %q", path, f.Name, jsonName(f.Name))
				continue
			}
			checkWireNames(t, f.Type, m, path+"."+jsonName(f.Name))
		}
	}
}

// walkTypes calls visit for every type reachable from typ.
func walkTypes(typ reflect.Type, path string, seen map[reflect.Type]bool, visit func(reflect.Type, string)) {
	visit(typ, path)
	switch typ.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		walkTypes(typ.Elem(), path, seen, visit)
	case reflect.Interface:
		for name, member := range unionMembers[typ] {
			walkTypes(member, path+"."+name, seen, visit)
		}
	case reflect.Struct:
		if seen[typ] || typ == timeType {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			if f := typ.Field(i); f.IsExported() {
				walkTypes(f.Type, path+"."+f.Name, seen, visit)
			}
		}
	}
}

// fill sets every exported field reachable from v to a non-zero value, so
// that a field a copy drops shows up as zero.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if len(path) > 1000 {
		t.Fatalf("%s: type too deep to fill (recursive?)", path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), path+"[0]")
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		key := reflect.New(v.Type().Key()).Elem()
		fill(t, key, path+"{key}")
		val := reflect.New(v.Type().Elem()).Elem()
		fill(t, val, path+"{value}")
		m.SetMapIndex(key, val)
		v.Set(m)
	case reflect.Interface:
		members, ok := unionMembers[v.Type()]
		if !ok || len(members) == 0 {
			t.Fatalf("%s: cannot fill interface %s: add it to unionMembers", path, v.Type())
		}
		for _, member := range members {
			p := reflect.New(member.Elem())
			fill(t, p.Elem(), path)
			v.Set(p)
			break
		}
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2025, 5, 14, 9, 21, 33, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(t, v.Field(i), path+"."+f.Name)
			}
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	default:
		t.Fatalf("%s: cannot fill %s", path, v.Type())
	}
}

// scribble overwrites every value reachable from v in place, following
// pointers, slices and maps, so that any memory shared with another value
// shows up as a change there.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, key := range v.MapKeys() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(v.MapIndex(key))
			scribble(val)
			v.SetMapIndex(key, val)
		}
		v.SetMapIndex(reflect.ValueOf("scribbled").Convert(v.Type().Key()), reflect.New(v.Type().Elem()).Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Unix(0, 0)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scribble(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("scribbled")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 7)
	}
}
