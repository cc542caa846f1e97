package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var (
	reportPath   = flag.String("report", "", "run the benchmarks and write the report (Markdown) to this file, or only print it with -report=-; without it TestReport is skipped")
	goBenchPath  = flag.String("gobench", "", "a file with the output of go test -bench -benchmem, to include in the report")
	latencyFlag  = flag.Duration("latency", levelCallTime, "the latency L of every AWS call: each takes L in all, moto's own time included (Proxy.SetCallTime)")
	repsFlag     = flag.Int("reps", 7, "how often each timed deployment is repeated (the median is reported)")
	burstLatency = flag.Duration("burst-latency", 0, "the latency of every AWS call of the burst (Proxy.SetCallTime); 0: moto's own time")
	coldRuns     = flag.Int("cold-runs", 10, "cold starts of each function (the median is reported)")
	commandFlag  = flag.String("command", "", "the command that produced the report, as the report should name it")
	skipFlag     = flag.String("skip", "", "sections to leave out, comma-separated: burst, cold, fleet, throttled, board (for a quick look)")
)

// commandLine is the go test command that ran the report, with the
// package's flags that were set.
func commandLine() string {
	args := []string{"go test ./internal/bench -run TestReport -v -args"}
	flag.Visit(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Name, "test.") {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	return strings.Join(args, " ")
}

// report is everything TestReport measured.
type report struct {
	Date    time.Time
	Machine machine
	Command string
	Latency time.Duration // L: every call takes L in all (Proxy.SetCallTime)
	Reps    int

	Single    singleResults
	Five      []measurement // five environments, own families
	Mono      []measurement // five environments, one family
	Reconcile reconcileResults
	Bursts    []burstResult
	Fleet     *fleetResult     // section 6: a fleet reconciled under AWS's buckets
	Throttled *throttledBurst  // section 6: a burst under AWS's buckets
	Variants  []throttledBurst // section 6: the same burst with a change each (-throttled-variants)
	Board     *boardRun        // section 7: the release board of a fleet
	// BoardTimeout is the board function's timeout (template.yaml).
	BoardTimeout time.Duration
	Cold         []coldStart
	GoBench      []goBenchmark
	Skipped      []string // sections not measured, with why
}

// machine describes where the report was made.
type machine struct {
	OS, Arch, CPU, Go, Moto string
	CPUs                    int
	Load, LoadEnd           string // load averages (1, 5, 15 min) when the run started and ended
}

func describeMachine() machine {
	m := machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown", Moto: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	m.Load = loadAverage()
	if out, err := exec.Command("nproc").Output(); err == nil {
		fmt.Sscan(string(out), &m.CPUs)
	}
	for _, py := range []string{"python3", "python"} {
		if out, err := exec.Command(py, "-c", "import moto; print(moto.__version__)").Output(); err == nil {
			m.Moto = strings.TrimSpace(string(out))
			break
		}
	}
	return m
}

// loadAverage returns the load averages over 1, 5 and 15 minutes, or "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// busy reports whether a load average line exceeds the number of CPUs.
func (m machine) busy() bool {
	for _, l := range []string{m.Load, m.LoadEnd} {
		var one float64
		if _, err := fmt.Sscan(l, &one); err == nil && one > float64(m.CPUs) {
			return true
		}
	}
	return false
}

// TestReport runs every benchmark of the package, prints the report and,
// unless -report is "-", writes it to that file. It runs only with -report;
// see the package documentation.
func TestReport(t *testing.T) {
	if *reportPath == "" {
		t.Skip("benchmarks run only when asked: make bench (prints) or make bench-report (writes), or go test ./internal/bench -run TestReport -v -args -report=FILE|-")
	}
	L, reps := *latencyFlag, max(*repsFlag, 1)
	if L <= 0 {
		t.Fatal("-latency must be positive: wall times are reported as multiples of it")
	}
	r := &report{Date: time.Now().UTC(), Machine: describeMachine(), Command: *commandFlag, Latency: L, Reps: reps}
	if r.Command == "" {
		r.Command = commandLine()
	}
	if *reportPath != "-" {
		// Fail before the benchmarks run, not after, if the report has nowhere to go.
		if err := os.MkdirAll(filepath.Dir(*reportPath), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	skip := map[string]bool{}
	for _, s := range strings.Split(*skipFlag, ",") {
		skip[strings.TrimSpace(s)] = true
	}

	t.Run("single", func(t *testing.T) { r.Single = runSingle(t, L, reps) })
	t.Run("five", func(t *testing.T) { r.Five = runFive(t, L, reps, false) })
	t.Run("mono", func(t *testing.T) { r.Mono = runFive(t, L, reps, true) })
	t.Run("reconcile", func(t *testing.T) { r.Reconcile = runReconcile(t, L) })
	if skip["burst"] {
		r.Skipped = append(r.Skipped, "burst (-skip=burst)")
	} else {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("burst/%d", workers), func(t *testing.T) {
				b := runBurst(t, workers, *burstLatency)
				for _, wrong := range b.Wrong {
					t.Errorf("burst with %d instance(s): %s", workers, wrong)
				}
				r.Bursts = append(r.Bursts, b)
			})
		}
	}
	r.runFleetSections(t, skip)
	r.runBoardSection(t, skip)
	switch {
	case skip["cold"]:
		r.Skipped = append(r.Skipped, "cold start (-skip=cold)")
	case runtime.GOOS != "linux":
		r.Skipped = append(r.Skipped, "cold start: the Runtime Interface Emulator runs only on Linux")
	default:
		t.Run("coldstart", func(t *testing.T) { r.Cold = runColdStarts(t, max(*coldRuns, 1)) })
	}
	if *goBenchPath != "" {
		f, err := os.Open(*goBenchPath)
		if err != nil {
			t.Fatal(err)
		}
		r.GoBench, err = parseGoBench(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	} else {
		r.Skipped = append(r.Skipped, "Go benchmarks (no -gobench file: make bench runs them first)")
	}

	r.Machine.LoadEnd = loadAverage()
	doc := r.markdown()
	fmt.Print("\n" + doc)
	if *reportPath == "-" || t.Failed() {
		return // printed only: a failed run does not replace a report either
	}
	if err := os.WriteFile(*reportPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", *reportPath)
}
