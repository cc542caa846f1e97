package taskdef

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Equal reports whether registering b would give the same task definition
// as a, as ECS treats them. It compares the Canonical forms, so it ignores
// Tags (a new revision's tags name the event that triggered it, and tags
// alone are no reason to register), nil versus empty lists and maps,
// the order of environment variables, secrets and required compatibilities,
// and the defaults ECS fills in on register (see Canonical). Two nil inputs
// are equal; a nil and a non-nil one are not.
func Equal(a, b *ecs.RegisterTaskDefinitionInput) bool {
	if a == nil || b == nil {
		return a == b
	}
	ca, errA := Canonical(a)
	cb, errB := Canonical(b)
	return errA == nil && errB == nil && bytes.Equal(ca, cb)
}

// Canonical returns the normalised form of in as indented JSON with sorted
// keys and a final newline, in the camelCase field names that
// `aws ecs describe-task-definition` prints, so that two definitions can be
// compared byte for byte or diffed line by line. Tags are left out (see
// Equal). Normalising means:
//
//   - absent, null and empty lists, maps and objects are all left out, as are
//     empty enum values;
//   - false booleans are left out (false is every ECS flag's default),
//     except a container's essential, which is always shown and defaults to
//     true;
//   - environment variables and secrets are sorted by name, and
//     requiresCompatibilities is sorted;
//   - an absent networkMode is bridge, which ECS fills in on register, unless
//     the definition requires Fargate (which requires awsvpc: ECS refuses
//     it without) or runs on Windows (whose default is not bridge);
//   - a container's cpu of 0 is left out (the SDK never sends it);
//   - a port mapping's protocol defaults to tcp; in awsvpc and host network
//     modes its hostPort defaults to its containerPort, and in bridge mode a
//     hostPort of 0 (dynamic) is left out;
//   - a health check's interval, timeout and retries default to 30, 5 and 3;
//   - an EFS volume's rootDirectory "/" and DISABLED transitEncryption and
//     IAM authorization are left out;
//   - task cpu and memory written with units ("1 vCPU", "2 GB") become the
//     numbers ECS stores ("1024", "2048").
//
// Canonical returns an error when in is nil.
func Canonical(in *ecs.RegisterTaskDefinitionInput) ([]byte, error) {
	return canonical(in, false)
}

// canonical is Canonical, optionally keeping the tags (sorted by key) for Diff.
func canonical(in *ecs.RegisterTaskDefinitionInput, withTags bool) ([]byte, error) {
	if in == nil {
		return nil, errors.New("canonical task definition: nil task definition")
	}
	tree, _ := toTree(reflect.ValueOf(normalize(in, withTags)))
	if tree == nil {
		tree = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Commands such as "curl … && exit 1" should read as written, not as \u0026.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tree); err != nil {
		return nil, fmt.Errorf("canonical task definition %s: %w", familyOf(in), err)
	}
	return buf.Bytes(), nil
}

// Defaults that ECS applies when a field is absent; see Canonical.
const (
	defaultHealthCheckInterval = 30
	defaultHealthCheckTimeout  = 5
	defaultHealthCheckRetries  = 3
)

// normalize returns a copy of in with the defaults and orderings of
// Canonical applied to the typed struct; toTree applies the rest.
func normalize(in *ecs.RegisterTaskDefinitionInput, withTags bool) *ecs.RegisterTaskDefinitionInput {
	out := Clone(in)
	if withTags {
		slices.SortStableFunc(out.Tags, func(a, b ecstypes.Tag) int { return cmp.Compare(deref(a.Key), deref(b.Key)) })
	} else {
		out.Tags = nil
	}
	out.Cpu = withUnit(out.Cpu, "vcpu")
	out.Memory = withUnit(out.Memory, "gb")
	slices.Sort(out.RequiresCompatibilities)
	if out.NetworkMode == "" && defaultsToBridge(out) {
		out.NetworkMode = ecstypes.NetworkModeBridge
	}

	for i := range out.ContainerDefinitions {
		c := &out.ContainerDefinitions[i]
		slices.SortStableFunc(c.Environment, func(a, b ecstypes.KeyValuePair) int {
			return cmp.Or(cmp.Compare(deref(a.Name), deref(b.Name)), cmp.Compare(deref(a.Value), deref(b.Value)))
		})
		slices.SortStableFunc(c.Secrets, func(a, b ecstypes.Secret) int {
			return cmp.Or(cmp.Compare(deref(a.Name), deref(b.Name)), cmp.Compare(deref(a.ValueFrom), deref(b.ValueFrom)))
		})
		if c.Essential == nil {
			c.Essential = new(true)
		}
		for j := range c.PortMappings {
			pm := &c.PortMappings[j]
			if pm.Protocol == "" {
				pm.Protocol = ecstypes.TransportProtocolTcp
			}
			switch out.NetworkMode {
			case ecstypes.NetworkModeAwsvpc, ecstypes.NetworkModeHost:
				if pm.HostPort == nil && pm.ContainerPort != nil {
					pm.HostPort = new(*pm.ContainerPort)
				}
			default:
				if pm.HostPort != nil && *pm.HostPort == 0 {
					pm.HostPort = nil
				}
			}
		}
		if hc := c.HealthCheck; hc != nil {
			if hc.Interval == nil {
				hc.Interval = new(int32(defaultHealthCheckInterval))
			}
			if hc.Timeout == nil {
				hc.Timeout = new(int32(defaultHealthCheckTimeout))
			}
			if hc.Retries == nil {
				hc.Retries = new(int32(defaultHealthCheckRetries))
			}
		}
	}

	for i := range out.Volumes {
		efs := out.Volumes[i].EfsVolumeConfiguration
		if efs == nil {
			continue
		}
		if efs.RootDirectory != nil && *efs.RootDirectory == "/" {
			efs.RootDirectory = nil
		}
		if efs.TransitEncryption == ecstypes.EFSTransitEncryptionDisabled {
			efs.TransitEncryption = ""
		}
		if a := efs.AuthorizationConfig; a != nil && a.Iam == ecstypes.EFSAuthorizationConfigIAMDisabled {
			a.Iam = ""
		}
	}
	return out
}

// defaultsToBridge reports whether ECS registers in bridge network mode a
// definition that names none: on Linux, for EC2 or external instances. A
// definition for Fargate is refused without awsvpc, and on Windows the
// default is not bridge, so those are left as they are.
func defaultsToBridge(in *ecs.RegisterTaskDefinitionInput) bool {
	if slices.Contains(in.RequiresCompatibilities, ecstypes.CompatibilityFargate) {
		return false
	}
	if rp := in.RuntimePlatform; rp != nil && strings.HasPrefix(string(rp.OperatingSystemFamily), "WINDOWS") {
		return false
	}
	return true
}

var unitValue = regexp.MustCompile(`(?i)^\s*([0-9]*\.?[0-9]+)\s*(vcpu|gb)\s*$`)

// withUnit converts a task cpu ("1 vCPU") or memory ("2 GB") value written
// with a unit to the number of CPU units or MiB that ECS stores and
// describes; anything else is returned unchanged.
func withUnit(s *string, unit string) *string {
	if s == nil {
		return nil
	}
	m := unitValue.FindStringSubmatch(*s)
	if m == nil || !strings.EqualFold(m[2], unit) {
		return s
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f*1024 != float64(int64(f*1024)) {
		return s
	}
	return new(strconv.FormatInt(int64(f*1024), 10))
}

var (
	containerDefinitionType = reflect.TypeFor[ecstypes.ContainerDefinition]()
	timeType                = reflect.TypeFor[time.Time]()
)

// toTree converts a value of an SDK type into what encoding/json prints as
// ECS's JSON: maps with camelCase keys, unions as one-key objects. The
// second result is false for values that are left out: nil, empty, false
// (see Canonical) and empty enums.
func toTree(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil, false
		}
		if v.Elem().Kind() == reflect.Bool && !v.Elem().Bool() {
			return nil, false
		}
		return toTree(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		if name, ok := unionMemberName(v); ok {
			member, ok := toTree(v.Elem().Elem().FieldByName("Value"))
			if !ok {
				member = map[string]any{}
			}
			return map[string]any{name: member}, true
		}
		if u, ok := v.Interface().(*ecstypes.UnknownUnionMember); ok {
			return map[string]any{u.Tag: string(u.Value)}, true
		}
		return toTree(v.Elem())
	case reflect.Slice:
		if v.Len() == 0 {
			return nil, false
		}
		list := make([]any, v.Len())
		for i := range v.Len() {
			list[i], _ = toTree(v.Index(i))
		}
		return list, true
	case reflect.Map:
		if v.Len() == 0 {
			return nil, false
		}
		m := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m[fmt.Sprint(iter.Key().Interface())], _ = toTree(iter.Value())
		}
		return m, true
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface().(time.Time).Format(time.RFC3339Nano), true
		}
		m := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			// essential defaults to true, so false must show.
			if t == containerDefinitionType && f.Name == "Essential" && fv.Kind() == reflect.Pointer && !fv.IsNil() {
				m[jsonName(f.Name)] = fv.Elem().Bool()
				continue
			}
			// The SDK sends a container's cpu only when it is not 0.
			if t == containerDefinitionType && f.Name == "Cpu" && fv.IsZero() {
				continue
			}
			if x, ok := toTree(fv); ok {
				m[jsonName(f.Name)] = x
			}
		}
		if len(m) == 0 {
			return nil, false
		}
		return m, true
	case reflect.String:
		// Enums are named string types whose zero value means "not set"; a
		// plain string is only reached through a pointer, list or map, where
		// "" is a value.
		if v.Type().PkgPath() != "" && v.Len() == 0 {
			return nil, false
		}
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	default:
		return v.Interface(), true
	}
}
