package policy_test

import (
	"testing"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
)

// BenchmarkEvaluate measures deciding one tag against one environment's
// policy, the work a push does per environment before any AWS call.
func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name, versions string
		prereleases    bool
		pattern, tag   string
	}{
		{"caret/accepted", "^1.0.0", false, "", "1.4.2"},
		{"caret/outside-range", "^1.0.0", false, "", "2.0.0"},
		{"range/prerelease-accepted", ">=1.0.0 <2.0.0", true, "", "1.5.0-rc.1"},
		{"range/prerelease-refused", ">=1.0.0 <2.0.0", false, "", "1.5.0-rc.1"},
		{"any/leading-v", "*", false, "", "v1.4.2+build.7"},
		{"any/not-semver", "*", false, "", "latest"},
		{"pattern/accepted", "^1.0.0", false, `release-(?P<version>.+)`, "release-1.4.2"},
		{"pattern/no-match", "^1.0.0", false, `release-(?P<version>.+)`, "build-1234"},
	}
	for _, c := range cases {
		p, err := policy.New(c.versions, c.prereleases, c.pattern)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Evaluate(c.tag)
			}
		})
	}
}

// BenchmarkNew measures compiling a policy, which a configuration document
// does once per environment when it is read (then it is cached).
func BenchmarkNew(b *testing.B) {
	b.Run("range", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := policy.New(">=1.0.0 <2.0.0 || ^3.1", true, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("range+pattern", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := policy.New("^1.0.0", false, `release-(?P<version>.+)`); err != nil {
				b.Fatal(err)
			}
		}
	})
}
