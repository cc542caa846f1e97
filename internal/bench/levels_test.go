package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// levelCallTime is the time every call takes in the level tests: long
// enough that calls made together overlap in the proxy's timeline even on
// a loaded machine, short enough to keep the tests quick.
const levelCallTime = 100 * time.Millisecond

// The critical-path goals of a push: sequential levels of calls, counted
// from the proxy's timeline as the longest chain of calls that did not
// overlap (each started after the one before it had ended).
const (
	maxLevelsCold = 6 // a new function instance: the configuration is read too
	maxLevelsWarm = 5
	// Five environments, each with its own family, add at most one level.
	maxLevelsFive = maxLevelsWarm + 1
)

// levels runs fn with every call taking levelCallTime and returns its
// measurement; it fails t when the outcome does not contain want.
func (w *world) levels(t *testing.T, scenario, want string, fn func() (deploy.Result, error)) measurement {
	t.Helper()
	w.env.Proxy.SetCallTime(levelCallTime)
	defer w.env.Proxy.SetCallTime(0)
	return w.measure(t, scenario, want, fn)
}

// TestLevelsOfAPush checks the critical path of a push from the proxy's
// timeline, not from wall time: how many calls had to wait on each other.
func TestLevelsOfAPush(t *testing.T) {
	w := newWorld(t)
	w.service(t, singleRepository, "web-dev", "web-dev", "1.0.0")
	awstest.Must(w.env.Local.CreateRepository(t.Context(), singleRepository))(t)
	w.configure(t, singleRepository, singleConfig())
	if res, err := w.deployer().Push(t.Context(), w.image(t, singleRepository, "1.1.0")); err != nil || deploy.Judge(res, nil) != "" {
		t.Fatalf("setup push: %v %s", err, outcomes(res))
	}

	d := w.deployer() // a new instance: cold configuration
	// The registration pace idle again (the setup push took its slot a
	// second ahead), as a new instance mostly finds it: one that starts
	// while the pace is busy assumes it idle and is refused once (one
	// more level, pkg/state/pace.go).
	w.paceIdle(t)
	cold := w.image(t, singleRepository, "1.2.0")
	m := w.levels(t, "push, cold", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), cold) })
	checkLevels(t, m, maxLevelsCold)
	warm := w.image(t, singleRepository, "1.3.0")
	m = w.levels(t, "push, warm", "dev: deployed", func() (deploy.Result, error) { return d.Push(t.Context(), warm) })
	checkLevels(t, m, maxLevelsWarm)
	if n := m.Counts()["PutEvents"]; n != 1 {
		t.Errorf("warm push: %d PutEvents, want 1 (the result events published once)", n)
	}
}

// TestLevelsOfAPushToFiveEnvironments checks that five environments, each
// with its own family, add at most one level to a warm push.
func TestLevelsOfAPushToFiveEnvironments(t *testing.T) {
	repo := "shop"
	w, d := newFive(t, repo, false)
	p := w.image(t, repo, "1.1.0")
	m := w.levels(t, "push to five environments", "deployed", func() (deploy.Result, error) { return d.Push(t.Context(), p) })
	if n := m.Counts()["UpdateService"]; n != len(fiveEnvironments) {
		t.Fatalf("%d UpdateService calls, want %d (%s)", n, len(fiveEnvironments), m.Outcome)
	}
	checkLevels(t, m, maxLevelsFive)
}

// checkLevels fails t when the measurement's calls form a chain longer
// than max, naming the chain.
func checkLevels(t *testing.T, m measurement, max int) {
	t.Helper()
	chain := m.Chain()
	t.Logf("%s: %d calls in %d sequential levels (at most %d): %s", m.Scenario, len(m.Calls), len(chain), max, chainText(chain))
	if len(chain) > max {
		t.Errorf("%s: %d sequential levels, want at most %d: %s\n%s", m.Scenario, len(chain), max, chainText(chain), timeline(m.Calls))
	}
}

// timeline lists calls with their intervals from the first start, for a
// failure message.
func timeline(calls []awstest.Call) string {
	if len(calls) == 0 {
		return ""
	}
	t0 := calls[0].Start
	var s string
	for _, c := range calls {
		s += fmt.Sprintf("  %-24s %4d–%4d ms\n", c.Operation, c.Start.Sub(t0).Milliseconds(), c.End.Sub(t0).Milliseconds())
	}
	return s
}
