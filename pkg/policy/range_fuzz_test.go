package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// rangeKinds are the forms of range FuzzRange builds from two versions, with
// what each means written out with semver's Compare rather than with the
// range syntax: so an accepted version is checked against the range by
// other code than the code that accepted it.
var rangeKinds = []struct {
	format   string // with lo and hi as %[1]s and %[2]s
	contains func(v, lo, hi *semver.Version) bool
}{
	{">=%[1]s <%[2]s", func(v, lo, hi *semver.Version) bool { return v.Compare(lo) >= 0 && v.Compare(hi) < 0 }},
	{">=%[1]s, <%[2]s", func(v, lo, hi *semver.Version) bool { return v.Compare(lo) >= 0 && v.Compare(hi) < 0 }},
	{">%[1]s <=%[2]s", func(v, lo, hi *semver.Version) bool { return v.Compare(lo) > 0 && v.Compare(hi) <= 0 }},
	{"%[1]s - %[2]s", func(v, lo, hi *semver.Version) bool { return v.Compare(lo) >= 0 && v.Compare(hi) <= 0 }},
	{"=%[1]s", func(v, lo, _ *semver.Version) bool { return v.Compare(lo) == 0 }},
	{"%[1]s", func(v, lo, _ *semver.Version) bool { return v.Compare(lo) == 0 }},
	{"!=%[1]s", func(v, lo, _ *semver.Version) bool { return v.Compare(lo) != 0 }},
	{"<%[2]s", func(v, _, hi *semver.Version) bool { return v.Compare(hi) < 0 }},
	// ^x.y.z: at least x.y.z, within its major line (x > 0), its minor line
	// (x = 0, y > 0) or exactly its patch (x = y = 0).
	{"^%[1]s", func(v, lo, _ *semver.Version) bool {
		switch {
		case v.Compare(lo) < 0:
			return false
		case lo.Major() > 0:
			return v.Major() == lo.Major()
		case lo.Minor() > 0:
			return v.Major() == 0 && v.Minor() == lo.Minor()
		}
		return v.Major() == 0 && v.Minor() == 0 && v.Patch() == lo.Patch()
	}},
	// ~x.y.z: at least x.y.z, within its minor line; Masterminds documents
	// ~0.0.0 as >=0.0.0, anything.
	{"~%[1]s", func(v, lo, _ *semver.Version) bool {
		if lo.Major() == 0 && lo.Minor() == 0 && lo.Patch() == 0 {
			return v.Compare(lo) >= 0
		}
		return v.Compare(lo) >= 0 && v.Major() == lo.Major() && v.Minor() == lo.Minor()
	}},
	{"^%[1]s || ^%[2]s", func(v, lo, hi *semver.Version) bool {
		caret := func(base *semver.Version) bool {
			switch {
			case v.Compare(base) < 0:
				return false
			case base.Major() > 0:
				return v.Major() == base.Major()
			case base.Minor() > 0:
				return v.Major() == 0 && v.Minor() == base.Minor()
			}
			return v.Major() == 0 && v.Minor() == 0 && v.Patch() == base.Patch()
		}
		return caret(lo) || caret(hi)
	}},
}

// FuzzRange checks Evaluate against ranges built from two fuzzed versions:
// a range written from valid versions always compiles, unless it matches no
// version, in which case the tag is not in it; a version is Accepted
// exactly when it is in the range (by semver precedence, build metadata
// ignored) and is not a pre-release refused by the policy; and a tag that is
// a version is parsed as written, one leading "v" removed.
func FuzzRange(f *testing.F) {
	f.Add("1.4.0", "1.0.0", "2.0.0", uint8(0), false)
	f.Add("v2.0.0-rc.1", "1.0.0", "2.0.0", uint8(0), true)
	f.Add("1.3.0-rc.1", "1.0.0", "3.0.0", uint8(8), true)
	f.Add("2.0.0-rc.1", "1.0.0", "3.0.0", uint8(8), true)
	f.Add("0.2.5", "0.2.3", "0.0.3", uint8(8), false)
	f.Add("0.0.3+build.7", "0.0.3", "0.0.3", uint8(8), false)
	f.Add("1.2.9", "1.2.3", "1.2.3", uint8(9), false)
	f.Add("1.2.4-rc.1", "1.2.3", "1.2.3", uint8(9), true)
	f.Add("1.2.3+build.7", "1.2.3", "9.9.9", uint8(4), false)
	f.Add("3.1.0", "1.0.0", "3.0.0", uint8(10), false)
	f.Add("v1.0.0-alpha.1", "1.0.0-alpha", "1.0.0", uint8(3), true)
	f.Add("1.0.0", "2.0.0", "1.0.0", uint8(0), false) // empty: lo above hi
	f.Add("1.0.1-0", "1.0.0", "1.0.1", uint8(0), true)
	f.Fuzz(func(t *testing.T, tag, lo, hi string, kind uint8, prereleases bool) {
		vlo, err1 := semver.StrictNewVersion(lo)
		vhi, err2 := semver.StrictNewVersion(hi)
		if err1 != nil || err2 != nil {
			return
		}
		k := rangeKinds[int(kind)%len(rangeKinds)]
		versions := fmt.Sprintf(k.format, vlo, vhi)
		p, err := New(versions, prereleases, "")
		if err != nil {
			// Refused only as a range that matches nothing (or only
			// pre-releases the policy refuses): then no tag is in it.
			if !strings.Contains(err.Error(), "can match no version") && !strings.Contains(err.Error(), "matches only pre-releases") {
				t.Fatalf("New(%q): %v", versions, err)
			}
			if v, perr := semver.StrictNewVersion(strings.TrimPrefix(tag, "v")); perr == nil && k.contains(v, vlo, vhi) &&
				(prereleases || v.Prerelease() == "") {
				t.Fatalf("New(%q, prereleases %v) refused as empty, but %v is in it: %v", versions, prereleases, v, err)
			}
			return
		}
		v, verdict := p.Evaluate(tag)

		want, parseErr := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
		if parseErr != nil || tag == "v" {
			if verdict != NotSemver || v != nil {
				t.Fatalf("Evaluate(%q) = %v, %q; want not-semver", tag, v, verdict)
			}
			return
		}
		if v == nil || v.String() != want.String() {
			t.Fatalf("Evaluate(%q) version %v, want %v", tag, v, want)
		}

		in := k.contains(v, vlo, vhi)
		switch {
		case v.Prerelease() != "" && !prereleases:
			if verdict != Prerelease {
				t.Fatalf("Evaluate(%q) with %s = %q, want prerelease", tag, p, verdict)
			}
		case verdict == Accepted && !in:
			t.Fatalf("Evaluate(%q) with %s accepts a version outside the range", tag, p)
		case verdict != Accepted && in:
			t.Fatalf("Evaluate(%q) with %s = %q for a version inside the range", tag, p, verdict)
		case verdict != Accepted && verdict != OutsideRange:
			t.Fatalf("Evaluate(%q) with %s = %q", tag, p, verdict)
		}

		// Build metadata never changes the verdict.
		if bare, err := v.SetMetadata(""); err == nil && p.Accepts(&bare) != verdict {
			t.Fatalf("%v is %q, but %v is %q", v, verdict, &bare, p.Accepts(&bare))
		}
	})
}
