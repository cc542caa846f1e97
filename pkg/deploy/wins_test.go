package deploy

import (
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// When two deliveries raced, the record that stands is the highest version
// that is not held, by the holds of either record: a rollback, which holds
// the version it replaced, is never undone by a late delivery of it, and a
// version that is not one never wins.
func TestWins(t *testing.T) {
	rec := func(version string, held ...string) state.Record { return state.Record{Version: version, Held: held} }
	cases := []struct {
		name string
		a, b state.Record
		want bool
	}{
		{"higher over lower", rec("1.2.0"), rec("1.1.0"), true},
		{"lower under higher", rec("1.1.0"), rec("1.2.0"), false},
		{"the same version: neither wins", rec("1.2.0"), rec("1.2.0"), false},
		{"a rollback over a late delivery of what it held", rec("1.1.0", "1.2.0"), rec("1.2.0"), true},
		{"a late delivery under the rollback that held it", rec("1.2.0"), rec("1.1.0", "1.2.0"), false},
		{"held by its own record", rec("1.3.0", "1.3.0"), rec("1.1.0"), false},
		{"both held: the higher", rec("1.3.0", "1.3.0", "1.1.0"), rec("1.1.0"), true},
		{"pre-release below its release", rec("2.0.0-rc.1"), rec("2.0.0"), false},
		{"not a version", rec("latest"), rec("1.0.0"), false},
		{"over one that is not a version", rec("1.0.0"), rec("latest"), false},
	}
	for _, c := range cases {
		if got := wins(c.a, c.b); got != c.want {
			t.Errorf("%s: wins(%s held %v, %s held %v) = %v, want %v", c.name, c.a.Version, c.a.Held, c.b.Version, c.b.Held, got, c.want)
		}
	}
	if !stands(rec("1.2.0"), semver.MustParse("1.1.0")) || !stands(rec("1.1.0", "1.2.0"), semver.MustParse("1.2.0")) || stands(rec("1.1.0"), semver.MustParse("1.2.0")) {
		t.Error("stands: want a record over a lower delivery, a rollback over the version it held, and not a lower record over a higher delivery")
	}
}
