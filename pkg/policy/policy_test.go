package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

func mustNew(t *testing.T, versions string, prereleases bool, tagPattern string) *Policy {
	t.Helper()
	p, err := New(versions, prereleases, tagPattern)
	if err != nil {
		t.Fatalf("New(%q, %v, %q): %v", versions, prereleases, tagPattern, err)
	}
	return p
}

// result is what Evaluate returns, with the version as its canonical string so
// that cmp can compare it.
type result struct {
	Version string
	Verdict Reason
}

func evaluate(p *Policy, tag string) result {
	v, verdict := p.Evaluate(tag)
	r := result{Verdict: verdict}
	if v != nil {
		r.Version = v.String()
	}
	return r
}

func TestEvaluate(t *testing.T) {
	type policyArgs struct {
		versions    string
		prereleases bool
		tagPattern  string
	}
	any := policyArgs{}
	anyPre := policyArgs{prereleases: true}
	tests := []struct {
		name   string
		policy policyArgs
		tag    string
		want   result
	}{
		// What is a version.
		{"plain version", any, "1.2.3", result{"1.2.3", Accepted}},
		{"leading v", any, "v1.2.3", result{"1.2.3", Accepted}},
		{"upper-case V is not a version", any, "V1.2.3", result{"", NotSemver}},
		{"two leading v", any, "vv1.2.3", result{"", NotSemver}},
		{"bare v", any, "v", result{"", NotSemver}},
		{"empty tag", any, "", result{"", NotSemver}},
		{"two components", any, "1.2", result{"", NotSemver}},
		{"one component", any, "1", result{"", NotSemver}},
		{"latest", any, "latest", result{"", NotSemver}},
		{"git hash", any, "3f2a9c1", result{"", NotSemver}},
		{"long git hash", any, "3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39", result{"", NotSemver}},
		{"leading zero", any, "01.2.3", result{"", NotSemver}},
		{"leading zero in numeric pre-release", anyPre, "1.2.3-01", result{"", NotSemver}},
		{"empty pre-release", anyPre, "1.2.3-", result{"", NotSemver}},
		{"four components", any, "1.2.3.4", result{"", NotSemver}},
		{"surrounding space", any, " 1.2.3", result{"", NotSemver}},
		{"number overflow", any, "99999999999999999999.0.0", result{"", NotSemver}},
		{"build metadata is a version", any, "1.2.3+build.7", result{"1.2.3+build.7", Accepted}},
		{"v with build metadata", any, "v1.2.3+build.7", result{"1.2.3+build.7", Accepted}},
		{"invalid build metadata", any, "1.2.3+build_7", result{"", NotSemver}},

		// Pre-releases.
		{"prerelease refused by default", any, "1.3.0-rc.1", result{"1.3.0-rc.1", Prerelease}},
		{"prerelease with v refused", any, "v1.3.0-rc.1", result{"1.3.0-rc.1", Prerelease}},
		{"prerelease accepted when allowed", anyPre, "1.3.0-rc.1", result{"1.3.0-rc.1", Accepted}},
		{"prerelease checked before range", policyArgs{versions: "^2.0.0"}, "1.3.0-rc.1", result{"1.3.0-rc.1", Prerelease}},
		{"prerelease refused even if the range names one", policyArgs{versions: ">=1.3.0-rc.1"}, "1.3.0-rc.2", result{"1.3.0-rc.2", Prerelease}},
		{">=0.1.0 takes a later prerelease", policyArgs{versions: ">=0.1.0", prereleases: true}, "1.3.0-rc.1", result{"1.3.0-rc.1", Accepted}},
		{">=0.1.0 refuses 0.1.0-alpha, which sorts before 0.1.0", policyArgs{versions: ">=0.1.0", prereleases: true}, "0.1.0-alpha", result{"0.1.0-alpha", OutsideRange}},
		{"^1.0.0 takes 1.3.0-rc.1", policyArgs{versions: "^1.0.0", prereleases: true}, "1.3.0-rc.1", result{"1.3.0-rc.1", Accepted}},
		{"^1.0.0 refuses 2.0.0-rc.1", policyArgs{versions: "^1.0.0", prereleases: true}, "2.0.0-rc.1", result{"2.0.0-rc.1", OutsideRange}},
		{"^1.0.0 refuses 1.0.0-rc.1", policyArgs{versions: "^1.0.0", prereleases: true}, "1.0.0-rc.1", result{"1.0.0-rc.1", OutsideRange}},
		{"explicit upper bound takes 2.0.0-rc.1 by precedence", policyArgs{versions: ">=1.0.0 <2.0.0", prereleases: true}, "2.0.0-rc.1", result{"2.0.0-rc.1", Accepted}},
		{"~1.2.3 refuses 1.3.0-rc.1", policyArgs{versions: "~1.2.3", prereleases: true}, "1.3.0-rc.1", result{"1.3.0-rc.1", OutsideRange}},
		{"~1.2.3 takes 1.2.4-rc.1", policyArgs{versions: "~1.2.3", prereleases: true}, "1.2.4-rc.1", result{"1.2.4-rc.1", Accepted}},
		{"prerelease with build metadata", anyPre, "1.3.0-rc.1+build.7", result{"1.3.0-rc.1+build.7", Accepted}},

		// Ranges.
		{"empty range is *", any, "0.0.1", result{"0.0.1", Accepted}},
		{"* takes anything", policyArgs{versions: "*"}, "99.0.0", result{"99.0.0", Accepted}},
		{"^1.2 takes 1.2.0", policyArgs{versions: "^1.2"}, "1.2.0", result{"1.2.0", Accepted}},
		{"^1.2 takes 1.9.9", policyArgs{versions: "^1.2"}, "1.9.9", result{"1.9.9", Accepted}},
		{"^1.2 refuses 1.1.9", policyArgs{versions: "^1.2"}, "1.1.9", result{"1.1.9", OutsideRange}},
		{"^1.2 refuses 2.0.0", policyArgs{versions: "^1.2"}, "2.0.0", result{"2.0.0", OutsideRange}},
		{"~1.2.3 takes 1.2.9", policyArgs{versions: "~1.2.3"}, "1.2.9", result{"1.2.9", Accepted}},
		{"~1.2.3 refuses 1.2.2", policyArgs{versions: "~1.2.3"}, "1.2.2", result{"1.2.2", OutsideRange}},
		{"~1.2.3 refuses 1.3.0", policyArgs{versions: "~1.2.3"}, "1.3.0", result{"1.3.0", OutsideRange}},
		{"interval takes lower bound", policyArgs{versions: ">=1.0.0 <2.0.0"}, "1.0.0", result{"1.0.0", Accepted}},
		{"interval refuses upper bound", policyArgs{versions: ">=1.0.0 <2.0.0"}, "2.0.0", result{"2.0.0", OutsideRange}},
		{"interval refuses below", policyArgs{versions: ">=1.0.0 <2.0.0"}, "v0.9.0", result{"0.9.0", OutsideRange}},
		{"range with surrounding space", policyArgs{versions: "  ^1.0.0 "}, "1.4.0", result{"1.4.0", Accepted}},
		{"or-range", policyArgs{versions: "^1.0.0 || ^3.0.0"}, "3.1.0", result{"3.1.0", Accepted}},
		{"build metadata ignored by range", policyArgs{versions: "<=1.2.3"}, "1.2.3+build.7", result{"1.2.3+build.7", Accepted}},

		// Tag patterns.
		{"pattern extracts version", policyArgs{tagPattern: "release-(?P<version>.+)"}, "release-1.4.2", result{"1.4.2", Accepted}},
		{"pattern group may carry a v", policyArgs{tagPattern: "release-(?P<version>.+)"}, "release-v1.4.2", result{"1.4.2", Accepted}},
		{"pattern must match the whole tag (prefix)", policyArgs{tagPattern: "release-(?P<version>.+)"}, "prerelease-1.4.2", result{"", NotSemver}},
		{"pattern must match the whole tag (suffix)", policyArgs{tagPattern: `release-(?P<version>\d+\.\d+\.\d+)`}, "release-1.4.2-debug", result{"", NotSemver}},
		{"pattern with explicit anchors", policyArgs{tagPattern: "^release-(?P<version>.+)$"}, "release-1.4.2", result{"1.4.2", Accepted}},
		{"pattern not matching", policyArgs{tagPattern: "release-(?P<version>.+)"}, "1.4.2", result{"", NotSemver}},
		{"pattern group not semver", policyArgs{tagPattern: "release-(?P<version>.+)"}, "release-1.4", result{"", NotSemver}},
		{"pattern with empty optional group", policyArgs{tagPattern: "release-(?P<version>[0-9.]+)?"}, "release-", result{"", NotSemver}},
		{"pattern and range", policyArgs{versions: "^1.0.0", tagPattern: "release-(?P<version>.+)"}, "release-2.0.0", result{"2.0.0", OutsideRange}},
		{"pattern and prerelease", policyArgs{tagPattern: "release-(?P<version>.+)"}, "release-1.5.0-beta.1", result{"1.5.0-beta.1", Prerelease}},
		{"pattern with upper-case V", policyArgs{tagPattern: "V(?P<version>.+)"}, "V1.2.3", result{"1.2.3", Accepted}},
		{"pattern with alternatives uses the group that matched", policyArgs{tagPattern: `release-(?P<version>.+)|app-(?P<version>.+)`}, "app-1.0.0", result{"1.0.0", Accepted}},
		{"pattern with a trailing \\Q quote stays anchored", policyArgs{tagPattern: `(?P<version>[0-9.]+)\Q-x`}, "1.2.3-x", result{"1.2.3", Accepted}},
		{"pattern with a trailing \\Q quote refuses a suffix", policyArgs{tagPattern: `(?P<version>[0-9.]+)\Q-x`}, "1.2.3-xy", result{"", NotSemver}},
		{"case-insensitive pattern", policyArgs{tagPattern: `(?i)release-(?P<version>.+)`}, "RELEASE-1.2.3", result{"1.2.3", Accepted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.policy.versions, tt.policy.prereleases, tt.policy.tagPattern)
			if diff := cmp.Diff(tt.want, evaluate(p, tt.tag)); diff != "" {
				t.Errorf("Evaluate(%q) with %s mismatch (-want +got):\n%s", tt.tag, p, diff)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	tests := []struct {
		name       string
		tagPattern string
		tag        string
		want       string
		wantOK     bool
	}{
		{"version outside any range is still a version", "", "0.0.0", "0.0.0", true},
		{"prerelease is a version", "", "v1.3.0-rc.1", "1.3.0-rc.1", true},
		{"original text keeps no v", "", "v2.0.0", "2.0.0", true},
		{"not a version", "", "latest", "", false},
		{"pattern", "build-(?P<version>.+)", "build-3.2.1", "3.2.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, "^9.0.0", false, tt.tagPattern)
			v, ok := p.Version(tt.tag)
			got := ""
			if v != nil {
				got = v.String()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Version(%q) mismatch (-want +got):\n%s", tt.tag, diff)
			}
			if ok != tt.wantOK {
				t.Errorf("Version(%q) ok = %v, want %v", tt.tag, ok, tt.wantOK)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		name        string
		versions    string
		prereleases bool
		version     *semver.Version
		want        Reason
	}{
		{"nil version", "*", false, nil, NotSemver},
		{"in range", "^1.0.0", false, semver.MustParse("1.2.3"), Accepted},
		{"outside range", "^1.0.0", false, semver.MustParse("2.0.0"), OutsideRange},
		{"prerelease refused", "^1.0.0", false, semver.MustParse("1.3.0-rc.1"), Prerelease},
		{"prerelease allowed", "^1.0.0", true, semver.MustParse("1.3.0-rc.1"), Accepted},
		{"prerelease allowed but outside", "^1.0.0", true, semver.MustParse("2.0.0-rc.1"), OutsideRange},
		{"build metadata ignored", "=1.2.3", false, semver.MustParse("1.2.3+build.7"), Accepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.versions, tt.prereleases, "")
			if diff := cmp.Diff(tt.want, p.Accepts(tt.version)); diff != "" {
				t.Errorf("Accepts(%v) mismatch (-want +got):\n%s", tt.version, diff)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name        string
		versions    string
		tagPattern  string
		wantFields  []string
		wantMessage string
	}{
		{
			name:        "invalid range",
			versions:    ">=banana",
			wantFields:  []string{"versions"},
			wantMessage: `versions: invalid range ">=banana": improper constraint: ">=banana"`,
		},
		{
			name:        "range too long",
			versions:    strings.Repeat("1", semver.MaxConstraintLen+1),
			wantFields:  []string{"versions"},
			wantMessage: `versions: invalid range "` + strings.Repeat("1", semver.MaxConstraintLen+1) + `": ` + semver.ErrConstraintTooLong.Error(),
		},
		{
			name:        "pattern does not compile",
			tagPattern:  "release-(?P<version>.+",
			wantFields:  []string{"tagPattern"},
			wantMessage: "tagPattern: invalid regular expression: error parsing regexp: missing closing ): `release-(?P<version>.+`",
		},
		{
			name:        "pattern without version group",
			tagPattern:  "release-(.+)",
			wantFields:  []string{"tagPattern"},
			wantMessage: `tagPattern: pattern "release-(.+)" has no named group "version" (write it as (?P<version>…))`,
		},
		{
			name:        "pattern with a differently named group",
			tagPattern:  "release-(?P<ver>.+)",
			wantFields:  []string{"tagPattern"},
			wantMessage: `tagPattern: pattern "release-(?P<ver>.+)" has no named group "version" (write it as (?P<version>…))`,
		},
		{
			name:       "both invalid",
			versions:   "^^1",
			tagPattern: "(",
			wantFields: []string{"versions", "tagPattern"},
			wantMessage: `versions: invalid range "^^1": improper constraint: "^^1"` + "\n" +
				"tagPattern: invalid regular expression: error parsing regexp: missing closing ): `(`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.versions, false, tt.tagPattern)
			if err == nil {
				t.Fatalf("New(%q, false, %q) = %v, want error", tt.versions, tt.tagPattern, p)
			}
			if diff := cmp.Diff(tt.wantMessage, err.Error()); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
			var fields []string
			for _, e := range flatten(err) {
				var pe *input.Error
				if !errors.As(e, &pe) {
					t.Fatalf("error %v is not an *input.Error", e)
				}
				fields = append(fields, pe.Field)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// flatten returns the errors joined in err, or err itself.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestString(t *testing.T) {
	tests := []struct {
		name        string
		versions    string
		prereleases bool
		tagPattern  string
		want        string
	}{
		{"defaults", "", false, "", `versions "*"`},
		{"everything", ">=1.0.0 <2.0.0", true, "release-(?P<version>.+)", `versions ">=1.0.0 <2.0.0", prereleases, tagPattern "release-(?P<version>.+)"`},
		{"range only", " ^1.2 ", false, "", `versions "^1.2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.versions, tt.prereleases, tt.tagPattern)
			if diff := cmp.Diff(tt.want, p.String()); diff != "" {
				t.Errorf("String() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	p := mustNew(t, "^1.0.0", true, "release-(?P<version>.+)")
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				if _, v := p.Evaluate("release-1.2.3-rc.1"); v != Accepted {
					t.Errorf("Evaluate = %q, want accepted", v)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestNewEmptyRange(t *testing.T) {
	tests := []struct {
		versions    string
		prereleases bool
		want        string // "" for a range that matches a version
	}{
		{">=1.0.0 <0.5", false, "can match no version"},
		{">2.0.0 <1.0.0", false, "can match no version"},
		{">=1.0.0 <1.0.0", false, "can match no version"},
		{">1.2.3 <1.2.4", false, "matches only pre-releases"}, // 1.2.4-0
		{">1.2.3 <1.2.5 !=1.2.4", false, "matches only pre-releases"},
		{"^1.0.0 ^2.0.0", false, "can match no version"},
		{"~1.2 >=1.3", false, "can match no version"},
		{"<0.0.0", false, "matches only pre-releases"},
		{">=1.0.0 <0.5 || >=3.0.0 <2.0.0", false, "can match no version"},
		{">1.2.3 <1.2.4", true, ""}, // 1.2.4-0
		{">=1.0.0-rc.1 <1.0.0", false, "matches only pre-releases"},
		{">=1.0.0-rc.1 <1.0.0", true, ""},
		{"<0.0.0", true, ""}, // 0.0.0-0
		{"", false, ""},
		{"*", false, ""},
		{">=1.0.0 <0.5 || ^3", false, ""},
		{">=1.0.0 <2.0.0", false, ""},
		{">1.2.3 <1.2.5", false, ""},
		{">1.2.3 <1.2.6 !=1.2.4", false, ""},
		{"^0.0.3", false, ""},
		{"~1.2.3", false, ""},
		{"1.2.x", false, ""},
		{">1.2", false, ""},
		{"<=1.2", false, ""},
		{"1.2 - 1.4.5", false, ""},
		{"!=1.0.0", false, ""},
		{"<1.0.0 !=0.0.0", false, ""},
		{"=1.2.3", false, ""},
		{">=18446744073709551615", false, ""}, // too large to derive from: trusted
	}
	for _, tt := range tests {
		_, err := New(tt.versions, tt.prereleases, "")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("New(%q, prereleases %v): %v", tt.versions, tt.prereleases, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("New(%q, prereleases %v) = %v, want an error containing %q", tt.versions, tt.prereleases, err, tt.want)
		case err != nil && !strings.HasPrefix(err.Error(), "versions: "):
			t.Errorf("New(%q) error %q is not at versions", tt.versions, err)
		}
	}
}
