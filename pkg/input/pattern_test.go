package input

import (
	"regexp"
	"testing"
)

// TestPattern: a pattern matches as its regular expression does, and is
// not compiled until it is first used.
func TestPattern(t *testing.T) {
	expr := `^[A-Za-z0-9_-]{1,255}$`
	compiled := false
	p := NewPattern(expr)
	inner := p.re
	p.re = func() *regexp.Regexp { compiled = true; return inner() }
	if compiled {
		t.Fatal("compiled before its first use")
	}
	re := regexp.MustCompile(expr)
	for _, s := range []string{"", "a", "web-dev", "web dev", string(make([]byte, 256)), "x" + string(make([]byte, 0)), "ä"} {
		if got, want := p.MatchString(s), re.MatchString(s); got != want {
			t.Errorf("MatchString(%q) = %v, want %v", s, got, want)
		}
	}
	if !compiled || p.String() != expr {
		t.Errorf("compiled %v, String %q", compiled, p.String())
	}
}

// TestPatternsOfThePackage: every pattern of the package compiles.
func TestPatternsOfThePackage(t *testing.T) {
	for _, p := range []*Pattern{tagRE, digestRE, environmentRE} {
		if _, err := regexp.Compile(p.String()); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
