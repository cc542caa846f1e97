package taskdef

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Errors returned (wrapped, with the task definition family and the
// container or repository) by Render and Images.
var (
	// ErrContainerNotFound means a container named in Spec.Containers is not
	// in the task definition.
	ErrContainerNotFound = errors.New("no such container")
	// ErrNoContainer means no container's image is from Spec.Repository, so
	// there is nothing to set the new image on.
	ErrNoContainer = errors.New("no container uses the repository")
	// ErrInvalidSpec means the Spec itself is unusable: no image, no
	// repository or containers, or an empty environment variable, secret or
	// tag name or value.
	ErrInvalidSpec = errors.New("invalid spec")
)

// Spec says what Render changes in a task definition.
type Spec struct {
	// Repository is the ECR repository name, which may contain '/'
	// ("team/web"). Without Containers it selects the containers to update:
	// every container whose image is from this repository.
	Repository string
	// Image is the full image reference to set, e.g.
	// "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.4.0".
	Image string
	// Containers names the containers to set the image on; empty means every
	// container whose current image is from Repository.
	Containers []string
	// Environment is merged by name into the targeted containers'
	// environment, replacing variables of the same name.
	Environment map[string]string
	// Secrets (name to valueFrom ARN) are merged the same way into the
	// targeted containers' secrets.
	Secrets map[string]string
	// Family overrides the task definition family; "" keeps it.
	Family string
	// Tags are ECS tags for the new revision, merged over the base tags by
	// key.
	Tags map[string]string
}

// Render returns a deep copy of base with spec applied: the image set on the
// targeted containers, spec.Environment and spec.Secrets merged into theirs,
// the family overridden if spec.Family is set and spec.Tags merged over the
// base tags. The targeted containers' environment and secrets come out sorted
// by name, and the tags sorted by key, so that successive revisions differ
// only where something changed. Containers that are not targeted (sidecars)
// are left exactly as they were, order included. base is not modified.
//
// Render returns ErrContainerNotFound when a container in spec.Containers
// does not exist, ErrNoContainer when spec.Containers is empty and no
// container's image is from spec.Repository, and ErrInvalidSpec for an empty
// image, an empty environment variable or secret name or value, or an empty
// tag key; all wrapped with the family and container names.
func Render(base *ecs.RegisterTaskDefinitionInput, spec Spec) (*ecs.RegisterTaskDefinitionInput, error) {
	if base == nil {
		return nil, fmt.Errorf("render task definition: no base task definition: %w", ErrInvalidSpec)
	}
	family := familyOf(base)
	if spec.Image == "" {
		return nil, fmt.Errorf("render task definition %s: no image: %w", family, ErrInvalidSpec)
	}
	targets, err := targets(base, spec.Containers, spec.Repository)
	if err != nil {
		return nil, fmt.Errorf("render task definition %s: %w", family, err)
	}
	where := fmt.Sprintf("render task definition %s (container %s)", family, strings.Join(targetNames(base, targets), ", "))
	if err := checkPairs("environment variable", spec.Environment, true); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := checkPairs("secret", spec.Secrets, false); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if _, ok := spec.Tags[""]; ok {
		return nil, fmt.Errorf("render task definition %s: empty tag key: %w", family, ErrInvalidSpec)
	}

	out := Clone(base)
	for _, i := range targets {
		c := &out.ContainerDefinitions[i]
		c.Image = new(spec.Image)
		c.Environment = mergeEnvironment(c.Environment, spec.Environment)
		c.Secrets = mergeSecrets(c.Secrets, spec.Secrets)
	}
	if spec.Family != "" {
		out.Family = new(spec.Family)
	}
	out.Tags = mergeTags(out.Tags, spec.Tags)
	return out, nil
}

// Images returns the current image of each targeted container, by container
// name, selected as Render selects them: the named containers, or, when
// containers is empty, every container whose image is from repository.
// Callers use it to learn which version runs now (ParseImage(image).Tag)
// before deciding whether the new one is newer.
//
// Images returns ErrContainerNotFound for a named container that does not
// exist, ErrNoContainer when none uses the repository, and ErrInvalidSpec
// when in is nil or neither containers nor repository is given; wrapped
// with the family and the names.
func Images(in *ecs.RegisterTaskDefinitionInput, containers []string, repository string) (map[string]string, error) {
	if in == nil {
		return nil, fmt.Errorf("images of task definition: no task definition: %w", ErrInvalidSpec)
	}
	targets, err := targets(in, containers, repository)
	if err != nil {
		return nil, fmt.Errorf("images of task definition %s: %w", familyOf(in), err)
	}
	images := make(map[string]string, len(targets))
	for _, i := range targets {
		c := in.ContainerDefinitions[i]
		images[deref(c.Name)] = deref(c.Image)
	}
	return images, nil
}

// targets returns the indexes of the containers to update, in task
// definition order: those named, or without names those whose image is from
// repository.
func targets(in *ecs.RegisterTaskDefinitionInput, names []string, repository string) ([]int, error) {
	var idx []int
	if len(names) > 0 {
		for _, name := range names {
			i := slices.IndexFunc(in.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool {
				return deref(c.Name) == name
			})
			if i < 0 {
				return nil, fmt.Errorf("container %q (have %s): %w", name, input.Words(containerNames(in)), ErrContainerNotFound)
			}
			if !slices.Contains(idx, i) {
				idx = append(idx, i)
			}
		}
		slices.Sort(idx)
		return idx, nil
	}
	if repository == "" {
		return nil, fmt.Errorf("neither containers nor a repository to select them: %w", ErrInvalidSpec)
	}
	for i, c := range in.ContainerDefinitions {
		if ParseImage(deref(c.Image)).InRepository(repository) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		var images []string
		for _, c := range in.ContainerDefinitions {
			images = append(images, deref(c.Name)+"="+deref(c.Image))
		}
		return nil, fmt.Errorf("repository %q (images: %s): %w", repository, strings.Join(images, ", "), ErrNoContainer)
	}
	return idx, nil
}

// checkPairs rejects empty names, and empty values where emptyValue is
// false: an empty variable is legal (and the configuration accepts it), but
// ECS rejects an empty secret valueFrom.
func checkPairs(what string, m map[string]string, emptyValue bool) error {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if name == "" {
			return fmt.Errorf("%s with an empty name: %w", what, ErrInvalidSpec)
		}
		if m[name] == "" && !emptyValue {
			return fmt.Errorf("%s %s has an empty value: %w", what, name, ErrInvalidSpec)
		}
	}
	return nil
}

// merge replaces or adds the entries of set in list, by name, and sorts the
// result by name. The sort is stable so that duplicate names a definition
// already had keep their order. name reads an entry's name, entry makes one.
func merge[T any](list []T, set map[string]string, name func(T) string, entry func(name, value string) T) []T {
	list = slices.DeleteFunc(list, func(e T) bool {
		_, ok := set[name(e)]
		return ok
	})
	for _, n := range slices.Sorted(maps.Keys(set)) {
		list = append(list, entry(n, set[n]))
	}
	slices.SortStableFunc(list, func(a, b T) int { return cmp.Compare(name(a), name(b)) })
	return list
}

// mergeEnvironment replaces or adds the variables of set in env.
func mergeEnvironment(env []ecstypes.KeyValuePair, set map[string]string) []ecstypes.KeyValuePair {
	return merge(env, set, func(kv ecstypes.KeyValuePair) string { return deref(kv.Name) },
		func(n, v string) ecstypes.KeyValuePair { return ecstypes.KeyValuePair{Name: new(n), Value: new(v)} })
}

// mergeSecrets replaces or adds the secrets of set (name to valueFrom).
func mergeSecrets(secrets []ecstypes.Secret, set map[string]string) []ecstypes.Secret {
	return merge(secrets, set, func(s ecstypes.Secret) string { return deref(s.Name) },
		func(n, v string) ecstypes.Secret { return ecstypes.Secret{Name: new(n), ValueFrom: new(v)} })
}

// mergeTags sets the tags of set over tags by key. An empty result is nil:
// RegisterTaskDefinition rejects an empty tags list.
func mergeTags(tags []ecstypes.Tag, set map[string]string) []ecstypes.Tag {
	tags = merge(tags, set, func(t ecstypes.Tag) string { return deref(t.Key) },
		func(k, v string) ecstypes.Tag { return ecstypes.Tag{Key: new(k), Value: new(v)} })
	if len(tags) == 0 {
		return nil
	}
	return tags
}

func familyOf(in *ecs.RegisterTaskDefinitionInput) string {
	if in.Family == nil || *in.Family == "" {
		return "(no family)"
	}
	return *in.Family
}

func containerNames(in *ecs.RegisterTaskDefinitionInput) []string {
	names := make([]string, 0, len(in.ContainerDefinitions))
	for _, c := range in.ContainerDefinitions {
		names = append(names, deref(c.Name))
	}
	return names
}

func targetNames(in *ecs.RegisterTaskDefinitionInput, idx []int) []string {
	names := make([]string, 0, len(idx))
	for _, i := range idx {
		names = append(names, deref(in.ContainerDefinitions[i].Name))
	}
	return names
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
