package policy

import (
	"testing"

	"github.com/Masterminds/semver/v3"
)

// FuzzEvaluate checks that no tag or policy makes Evaluate panic, that its two
// results agree, and that the version of a tag that is a version re-parses to
// an equal version (so it can be stored and read back).
func FuzzEvaluate(f *testing.F) {
	f.Add("1.2.3", "", false, "")
	f.Add("v1.3.0-rc.1", ">=0.1.0", true, "")
	f.Add("release-1.4.2", "^1.0.0", false, "release-(?P<version>.+)")
	f.Fuzz(func(t *testing.T, tag, versions string, prereleases bool, tagPattern string) {
		p, err := New(versions, prereleases, tagPattern)
		if err != nil {
			return
		}
		v, verdict := p.Evaluate(tag)
		switch {
		case verdict == NotSemver && v != nil:
			t.Fatalf("Evaluate(%q) = %v, %q: a version that is not semver", tag, v, verdict)
		case verdict != NotSemver && v == nil:
			t.Fatalf("Evaluate(%q) = nil, %q: no version", tag, verdict)
		case v == nil:
			return
		}
		if got := p.Accepts(v); got != verdict {
			t.Fatalf("Accepts(%v) = %q, Evaluate(%q) = %q", v, got, tag, verdict)
		}
		if verdict == Prerelease && (prereleases || v.Prerelease() == "") {
			t.Fatalf("Evaluate(%q) = %q with prereleases=%v, version %v", tag, verdict, prereleases, v)
		}
		again, err := semver.StrictNewVersion(v.String())
		if err != nil {
			t.Fatalf("version %q of tag %q does not re-parse: %v", v, tag, err)
		}
		if !again.Equal(v) || again.Metadata() != v.Metadata() {
			t.Fatalf("version %q of tag %q re-parses as %q", v, tag, again)
		}
		if w, ok := p.Version(tag); !ok || w.String() != v.String() {
			t.Fatalf("Version(%q) = %v, %v; Evaluate gave %v", tag, w, ok, v)
		}
	})
}
