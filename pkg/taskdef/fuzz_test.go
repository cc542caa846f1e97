package taskdef

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// addFixtures adds the real task definitions under testdata/ (the
// describe-task-definition outputs and the rendered golden files) to a fuzz
// target whose first argument is a task definition, followed by rest.
func addFixtures(f *testing.F, rest ...any) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]any{data}, rest...)...)
	}
}

// decodeInput decodes data as DecodeDescribeJSON does and returns the
// RegisterTaskDefinitionInput, or nil when data is not a task definition.
func decodeInput(t *testing.T, data []byte) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	td, tags, err := DecodeDescribeJSON(data)
	if err != nil {
		if td != nil || tags != nil {
			t.Fatalf("DecodeDescribeJSON returned a definition with the error %v", err)
		}
		if !strings.HasPrefix(err.Error(), "decode task definition JSON: ") {
			t.Fatalf("DecodeDescribeJSON error %q does not say what failed", err)
		}
		return nil
	}
	if td == nil {
		t.Fatal("DecodeDescribeJSON returned no definition and no error")
	}
	return FromDescribe(td, tags)
}

// mustCanon is Canonical, or canonical with tags, failing the test on an error.
func mustCanon(t *testing.T, in *ecs.RegisterTaskDefinitionInput, withTags bool) string {
	t.Helper()
	b, err := canonical(in, withTags)
	if err != nil {
		t.Fatalf("canonical: %v", err)
	}
	return string(b)
}

// checkDefinition checks the properties every task definition has: it is
// Equal to itself and to its Clone, its Diff with itself is empty, and its
// canonical form is a fixed point (decoded again, it gives the same
// canonical form).
func checkDefinition(t *testing.T, in *ecs.RegisterTaskDefinitionInput) {
	t.Helper()
	c := mustCanon(t, in, false)
	if !Equal(in, in) {
		t.Fatalf("a definition is not Equal to itself:\n%s", c)
	}
	clone := Clone(in)
	if !reflect.DeepEqual(in, clone) || !Equal(in, clone) || !Equal(clone, in) {
		t.Fatalf("Clone differs from the original:\n%s", c)
	}
	if d, err := Diff(in, in, "a", "b"); err != nil || d != "" {
		t.Fatalf("Diff(a, a) = %q, %v; want \"\"", d, err)
	}
	if d, err := Diff(in, clone, "a", "b"); err != nil || d != "" {
		t.Fatalf("Diff(a, Clone(a)) = %q, %v; want \"\"", d, err)
	}
	again := decodeInput(t, []byte(c))
	if again == nil {
		_, _, err := DecodeDescribeJSON([]byte(c))
		t.Fatalf("the canonical form does not decode: %v\n%s", err, c)
	}
	if c2 := mustCanon(t, again, false); c2 != c {
		t.Fatalf("the canonical form is not a fixed point:\n%s", lineDiff(c, c2))
	}
	if !Equal(in, again) || !Equal(again, in) {
		t.Fatalf("a definition is not Equal to its canonical form decoded again:\n%s", c)
	}
}

// FuzzDecodeDescribeJSON checks that no input makes DecodeDescribeJSON panic,
// that it returns a definition or an error, never both, and that every
// definition it decodes has the properties of checkDefinition. The seed
// corpus (testdata/fuzz/FuzzDecodeDescribeJSON) holds real task
// definitions, in both the describe output and the bare form, and near
// misses of them; the fixtures under testdata/ are added here.
func FuzzDecodeDescribeJSON(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeInput(t, data)
		if in == nil {
			return
		}
		checkDefinition(t, in)
	})
}

// FuzzRender renders fuzzed specs on fuzzed task definitions (decoded with
// DecodeDescribeJSON) and checks that Render never modifies its input, that
// it fails only with its three errors, that what it renders has the image,
// environment, secrets, family and tags of the spec on exactly the targeted
// containers, and that rendering the result again with the same spec gives
// an Equal definition with an empty Diff (Render is idempotent, so
// re-delivering an event never registers a second revision).
func FuzzRender(f *testing.F) {
	addFixtures(f, "hello-color", "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.4.0", "", "OCTO_COLOR", "#f00", "DB_PASSWORD", "arn:aws:ssm:us-east-1:123456789012:parameter/db", "", "ecrdeploy:version", "1.4.0")
	addFixtures(f, "", "hello-color@sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101", "web,log_router,web", "", "", "", "", "hello-color-prod", "", "")
	addFixtures(f, "library/nginx", "nginx:1.27", "", "A", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, data []byte, repository, image, containers, envName, envValue, secretName, secretValue, family, tagKey, tagValue string) {
		// Every value of a spec comes from decoded JSON (the configuration,
		// the event), so it is valid UTF-8. Canonical writes invalid UTF-8
		// as U+FFFD, so with it the canonical form is not a fixed point.
		for _, s := range []string{repository, image, containers, envName, envValue, secretName, secretValue, family, tagKey, tagValue} {
			if !utf8.ValidString(s) {
				return
			}
		}
		base := decodeInput(t, data)
		if base == nil {
			return
		}
		spec := Spec{Repository: repository, Image: image, Family: family}
		if containers != "" {
			spec.Containers = strings.Split(containers, ",")
		}
		if envName != "" || envValue != "" {
			spec.Environment = map[string]string{envName: envValue}
		}
		if secretName != "" || secretValue != "" {
			spec.Secrets = map[string]string{secretName: secretValue}
		}
		if tagKey != "" || tagValue != "" {
			spec.Tags = map[string]string{tagKey: tagValue}
		}
		checkRender(t, base, spec)
	})
}

// checkRender renders spec on base and checks the result.
func checkRender(t *testing.T, base *ecs.RegisterTaskDefinitionInput, spec Spec) {
	t.Helper()
	before := Clone(base)
	beforeCanon := mustCanon(t, base, true)
	out, err := Render(base, spec)

	// Render never modifies its input.
	if !reflect.DeepEqual(before, base) {
		t.Fatalf("Render modified its input:\n%s", lineDiff(beforeCanon, mustCanon(t, base, true)))
	}
	if err != nil {
		if out != nil {
			t.Fatalf("Render returned a definition with the error %v", err)
		}
		if !errors.Is(err, ErrContainerNotFound) && !errors.Is(err, ErrNoContainer) && !errors.Is(err, ErrInvalidSpec) {
			t.Fatalf("Render error %v is none of ErrContainerNotFound, ErrNoContainer, ErrInvalidSpec", err)
		}
		if !strings.HasPrefix(err.Error(), "render task definition ") {
			t.Fatalf("Render error %q does not say what failed", err)
		}
		return
	}
	if out == nil {
		t.Fatal("Render returned no definition and no error")
	}
	if out == base || (len(base.ContainerDefinitions) > 0 && &out.ContainerDefinitions[0] == &base.ContainerDefinitions[0]) {
		t.Fatal("Render returned its input, not a copy")
	}

	// What the spec says is there, on exactly the targeted containers.
	// A name selects the first container of that name: ECS refuses a
	// definition with two containers of one name, so which of them Render
	// updates does not matter, but it must update one.
	targeted := make(map[int]bool)
	for _, name := range spec.Containers {
		targeted[slices.IndexFunc(base.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool { return deref(c.Name) == name })] = true
	}
	for i, c := range base.ContainerDefinitions {
		if len(spec.Containers) == 0 && ParseImage(deref(c.Image)).InRepository(spec.Repository) {
			targeted[i] = true
		}
	}
	if len(targeted) == 0 {
		t.Fatalf("Render targeted no container with spec %+v", spec)
	}
	if len(out.ContainerDefinitions) != len(base.ContainerDefinitions) {
		t.Fatalf("Render changed the number of containers from %d to %d", len(base.ContainerDefinitions), len(out.ContainerDefinitions))
	}
	for i, c := range out.ContainerDefinitions {
		if !targeted[i] {
			if !reflect.DeepEqual(c, base.ContainerDefinitions[i]) {
				t.Fatalf("Render changed container %d (%q), which is not targeted", i, deref(c.Name))
			}
			continue
		}
		if deref(c.Image) != spec.Image {
			t.Fatalf("container %q has image %q, want %q", deref(c.Name), deref(c.Image), spec.Image)
		}
		for name, value := range spec.Environment {
			var got []string
			for _, kv := range c.Environment {
				if deref(kv.Name) == name {
					got = append(got, deref(kv.Value))
				}
			}
			if len(got) != 1 || got[0] != value {
				t.Fatalf("container %q has %s=%q, want exactly %q", deref(c.Name), name, got, value)
			}
		}
		for name, valueFrom := range spec.Secrets {
			var got []string
			for _, s := range c.Secrets {
				if deref(s.Name) == name {
					got = append(got, deref(s.ValueFrom))
				}
			}
			if len(got) != 1 || got[0] != valueFrom {
				t.Fatalf("container %q has secret %s=%q, want exactly %q", deref(c.Name), name, got, valueFrom)
			}
		}
		if !slices.IsSortedFunc(c.Environment, func(a, b ecstypes.KeyValuePair) int { return strings.Compare(deref(a.Name), deref(b.Name)) }) ||
			!slices.IsSortedFunc(c.Secrets, func(a, b ecstypes.Secret) int { return strings.Compare(deref(a.Name), deref(b.Name)) }) {
			t.Fatalf("container %q: environment or secrets not sorted by name", deref(c.Name))
		}
	}
	if spec.Family != "" && deref(out.Family) != spec.Family {
		t.Fatalf("family %q, want %q", deref(out.Family), spec.Family)
	}
	if spec.Family == "" && !reflect.DeepEqual(out.Family, base.Family) {
		t.Fatalf("family %q, want %q kept", deref(out.Family), deref(base.Family))
	}
	for key, value := range spec.Tags {
		i := slices.IndexFunc(out.Tags, func(tag ecstypes.Tag) bool { return deref(tag.Key) == key })
		if i < 0 || deref(out.Tags[i].Value) != value {
			t.Fatalf("tag %q missing or not %q: %v", key, value, out.Tags)
		}
	}
	if out.Tags != nil && len(out.Tags) == 0 {
		t.Fatal("Render returned an empty, non-nil tags list, which RegisterTaskDefinition rejects")
	}

	// Equal is symmetric, and agrees with Diff.
	if Equal(base, out) != Equal(out, base) {
		t.Fatalf("Equal is not symmetric")
	}
	d, err := Diff(base, out, "current", "next")
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if (d == "") != (mustCanon(t, base, true) == mustCanon(t, out, true)) {
		t.Fatalf("Diff is %q for canonical forms that are equal: %v", d, mustCanon(t, base, true) == mustCanon(t, out, true))
	}
	if d == "" && !Equal(base, out) {
		t.Fatal("Diff is empty for definitions that are not Equal")
	}
	checkPatch(t, base, out, d)
	checkDefinition(t, out)

	// Rendering again with the same spec changes nothing, as long as the
	// spec selects the same containers again: by name, or by a repository
	// that the new image is from (ecrdeploy sets an image of the
	// repository; an image from elsewhere is no longer selected).
	if len(spec.Containers) == 0 && !ParseImage(spec.Image).InRepository(spec.Repository) {
		return
	}
	again, err := Render(out, spec)
	if err != nil {
		t.Fatalf("Render of a rendered definition with the same spec: %v", err)
	}
	if !Equal(out, again) || !Equal(again, out) {
		t.Fatalf("Render is not idempotent:\n%s", lineDiff(mustCanon(t, out, false), mustCanon(t, again, false)))
	}
	if d, err := Diff(out, again, "once", "twice"); err != nil || d != "" {
		t.Fatalf("Render twice differs from Render once:\n%s%v", d, err)
	}
}

// FuzzEqual compares two fuzzed task definitions: Equal is symmetric and
// agrees with Canonical, Diff is empty exactly when the canonical forms with
// tags are the same, and applying the diff to the first gives the second
// (and the reverse diff to the second, the first).
func FuzzEqual(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, a := range files {
		for _, b := range files {
			da, _ := os.ReadFile(a)
			db, _ := os.ReadFile(b)
			f.Add(da, db)
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		x, y := decodeInput(t, a), decodeInput(t, b)
		if x == nil || y == nil {
			return
		}
		eq := Equal(x, y)
		if eq != Equal(y, x) {
			t.Fatal("Equal is not symmetric")
		}
		if eq != (mustCanon(t, x, false) == mustCanon(t, y, false)) {
			t.Fatal("Equal disagrees with Canonical")
		}
		d, err := Diff(x, y, "a", "b")
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		if (d == "") != (mustCanon(t, x, true) == mustCanon(t, y, true)) {
			t.Fatalf("Diff %q disagrees with canonical", d)
		}
		checkPatch(t, x, y, d)
		back, err := Diff(y, x, "b", "a")
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		// difflib's matcher is greedy, not minimal, so the reverse diff
		// need not mirror the forward one line for line; it must still be
		// empty exactly when the forward one is, and undo it.
		if (back == "") != (d == "") {
			t.Fatalf("Diff(a, b) = %q but Diff(b, a) = %q", d, back)
		}
		checkPatch(t, y, x, back)
	})
}

// FuzzUnified checks the diff on fuzzed texts: it is empty exactly when
// the texts are equal, and applied to a it gives b.
func FuzzUnified(f *testing.F) {
	f.Add("a\nb\nc\nd", "a\nc\nd\ne")
	f.Add("", "x")
	f.Add("x\nx\nx\ny", "y\nx\nx\nx")
	f.Add("{\n  \"a\": 1,\n  \"b\": 2\n}", "{\n  \"a\": 1,\n  \"c\": 3,\n  \"b\": 2\n}")
	f.Fuzz(func(t *testing.T, ta, tb string) {
		a, b := splitLines(ta), splitLines(tb)
		if len(a) > 2000 || len(b) > 2000 {
			return
		}
		checkUnified(t, a, b)
	})
}

// checkUnified checks that the unified diff from a to b is empty exactly
// when they are equal, and that applied to a it gives b.
func checkUnified(t *testing.T, a, b []string) {
	t.Helper()
	u, err := unified("a", "b", a, b, diffContext)
	if err != nil {
		t.Fatalf("unified: %v", err)
	}
	if (u == "") != slices.Equal(a, b) {
		t.Fatalf("unified = %q for %q -> %q", u, a, b)
	}
	got, err := applyUnified(a, u)
	if err != nil {
		t.Fatalf("apply the diff for %q -> %q: %v\n%s", a, b, err, u)
	}
	if !slices.Equal(got, b) {
		t.Fatalf("the diff applied to %q does not give %q:\n%s", a, b, u)
	}
}

// checkPatch checks that diff (from Diff) turns the canonical form of a
// into that of b.
func checkPatch(t *testing.T, a, b *ecs.RegisterTaskDefinitionInput, diff string) {
	t.Helper()
	ca, cb := splitLines(mustCanon(t, a, true)), splitLines(mustCanon(t, b, true))
	got, err := applyUnified(ca, diff)
	if err != nil {
		t.Fatalf("apply the diff: %v\n%s", err, diff)
	}
	if !slices.Equal(got, cb) {
		t.Fatalf("the diff does not turn a into b:\n%s", diff)
	}
}

// applyUnified applies a unified diff (as unified writes it, for lines a)
// to a, checking every context and deleted line and every hunk header.
func applyUnified(a []string, diff string) ([]string, error) {
	if diff == "" {
		return slices.Clone(a), nil
	}
	lines := splitLines(diff)
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		return nil, errors.New("no --- and +++ header")
	}
	var out []string
	next := 0 // next line of a not yet copied
	for i := 2; i < len(lines); {
		var aStart, aLen, bStart, bLen int
		if err := parseHunkHeader(lines[i], &aStart, &aLen, &bStart, &bLen); err != nil {
			return nil, err
		}
		// A hunk that deletes no line and adds none has no lines at all,
		// which unified never writes.
		if aLen == 0 && bLen == 0 {
			return nil, fmt.Errorf("empty hunk %q", lines[i])
		}
		// "-0,0" and "-5,0" name the line before an empty range.
		from := aStart - 1
		if aLen == 0 {
			from = aStart
		}
		if from < next || from > len(a) {
			return nil, fmt.Errorf("hunk %q out of order or range", lines[i])
		}
		if want := len(out) + (from - next); (bLen == 0 && bStart != want) || (bLen > 0 && bStart-1 != want) {
			return nil, fmt.Errorf("hunk %q: new range starts at %d, want %d", lines[i], bStart, want+1)
		}
		out = append(out, a[next:from]...)
		next = from
		i++
		na, nb := 0, 0
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "@@ "); i++ {
			line := lines[i]
			if line == "" {
				return nil, errors.New("empty diff line")
			}
			text := line[1:]
			switch line[0] {
			case ' ', '-':
				if next >= len(a) || a[next] != text {
					return nil, fmt.Errorf("line %d of a is not %q", next+1, text)
				}
				next++
				na++
				if line[0] == ' ' {
					out = append(out, text)
					nb++
				}
			case '+':
				out = append(out, text)
				nb++
			default:
				return nil, fmt.Errorf("diff line %q", line)
			}
		}
		if na != aLen || nb != bLen {
			return nil, fmt.Errorf("hunk counts %d,%d, header says %d,%d", na, nb, aLen, bLen)
		}
	}
	return append(out, a[next:]...), nil
}

// parseHunkHeader parses "@@ -a[,n] +b[,m] @@".
func parseHunkHeader(h string, aStart, aLen, bStart, bLen *int) error {
	rest, ok := strings.CutPrefix(h, "@@ -")
	if !ok {
		return fmt.Errorf("hunk header %q", h)
	}
	rest, ok = strings.CutSuffix(rest, " @@")
	if !ok {
		return fmt.Errorf("hunk header %q", h)
	}
	ra, rb, ok := strings.Cut(rest, " +")
	if !ok {
		return fmt.Errorf("hunk header %q", h)
	}
	parse := func(r string, start, n *int) error {
		s, l, hasLen := strings.Cut(r, ",")
		var err error
		if *start, err = strconv.Atoi(s); err != nil {
			return fmt.Errorf("hunk header %q: %w", h, err)
		}
		*n = 1
		if hasLen {
			if *n, err = strconv.Atoi(l); err != nil {
				return fmt.Errorf("hunk header %q: %w", h, err)
			}
		}
		return nil
	}
	if err := parse(ra, aStart, aLen); err != nil {
		return err
	}
	return parse(rb, bStart, bLen)
}

// lineDiff shows how two texts differ, for a failure message.
func lineDiff(a, b string) string {
	d, err := unified("before", "after", splitLines(a), splitLines(b), diffContext)
	if err != nil {
		return err.Error()
	}
	return d
}

// FuzzImageFor checks that the image reference ecrdeploy writes into a task
// definition for a valid repository, tag and digest parses back into the
// same parts and is found in its repository, so Render and Images select
// the container again next time.
func FuzzImageFor(f *testing.F) {
	f.Add("123456789012.dkr.ecr.us-east-1.amazonaws.com", "hello-color", "1.4.0", []byte("layer"))
	f.Add("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "team/web", "v2.0.0-rc.1", []byte{})
	f.Add("localhost:5000", "library/nginx", "1.27", []byte("x"))
	f.Add("registry.example.com:443", "a.b/c_d/e-f", strings.Repeat("t", 300), []byte("y"))
	f.Fuzz(func(t *testing.T, registry, repository, tag string, content []byte) {
		if !input.ValidRepository(repository) || !input.ValidTag(tag) ||
			registry == "" || strings.ContainsAny(registry, "/@") || !strings.ContainsAny(registry, ".:") {
			return
		}
		digest := fmt.Sprintf("sha256:%x", sha256.Sum256(content))
		for _, byDigest := range []bool{false, true} {
			image := ImageFor(registry, repository, tag, digest, byDigest)
			want := ImageRef{Registry: registry, Repository: repository, Tag: tag}
			if byDigest {
				want = ImageRef{Registry: registry, Repository: repository, Digest: digest}
			}
			got := ParseImage(image)
			if got != want {
				t.Fatalf("ParseImage(%q) = %+v, want %+v", image, got, want)
			}
			if got.String() != image {
				t.Fatalf("ParseImage(%q).String() = %q", image, got.String())
			}
			if !got.InRepository(repository) {
				t.Fatalf("%q is not in repository %q", image, repository)
			}
		}
	})
}
