package bench

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
)

// opOrder is the order of the operation columns: the order in which a
// deployment makes them. The state table's reads come first, then the
// claim (UpdateItem, which also reads the record) and the ECR and ECS
// calls, then the record's write; the SSM reads of an earlier release's
// records follow the table's reads that missed them.
var opOrder = []string{"GetParametersByPath", "GetParameter", "GetItem", "BatchGetItem", "GetParameters", "GetParameterHistory", "Query",
	"UpdateItem", "ListImages", "DescribeImages", "DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService",
	"TransactWriteItems", "PutEvents"}

// md builds a Markdown document.
type md struct{ strings.Builder }

func (b *md) p(format string, args ...any) { fmt.Fprintf(b, format+"\n\n", args...) }

func (b *md) table(header []string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, row := range rows {
		for i := range row {
			row[i] = strings.ReplaceAll(row[i], "|", `\|`)
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// ms formats a duration in milliseconds, or seconds from ten seconds up.
func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// times formats d as a multiple of l.
func times(d, l time.Duration) string { return fmt.Sprintf("%.2f L", float64(d)/float64(l)) }

func mib(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// latencyText formats a call time set on the proxy, saying so when there
// is none.
func latencyText(d time.Duration) string {
	if d == 0 {
		return "moto's own time (no call time set)"
	}
	return d.String()
}

// plural returns "1 call", "2 calls".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// chainText names the operations of a chain in order.
func chainText(chain []awstest.Call) string {
	ops := make([]string, len(chain))
	for i, c := range chain {
		ops[i] = c.Operation
	}
	return strings.Join(ops, " → ")
}

// compactOutcome shortens the outcome of many environments to counts.
func compactOutcome(s string) string {
	parts := strings.Split(s, ", ")
	if len(parts) <= 2 {
		return s
	}
	counts := map[string]int{}
	for _, p := range parts {
		if _, o, ok := strings.Cut(p, ": "); ok {
			p = o
		}
		counts[p]++
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, fmt.Sprintf("%d× %s", counts[k], k))
	}
	return strings.Join(out, ", ")
}

// initGoal is the goal for a function's init phase on this machine.
const initGoal = 100 * time.Millisecond

// sizeBefore are the bootstrap sizes (linux/arm64, stripped) of the report
// of sizeBeforeDate, the last before issue 23.
var sizeBefore = map[string]int64{"deployer": 13238434, "promoter": 13303970}

const sizeBeforeDate = "2026-12-01"

// wallRow is one row of section 2: a timed scenario, with its goal in
// sequential levels.
type wallRow struct {
	Name     string
	GoalText string // the goal as the issue puts it; "" for a row of information
	Limit    int    // at most this many levels; 0 for none
	OnWarm   bool   // the goal is relative to the warm push
	Runs     []measurement
}

// walls returns the median wall time over the runs and that of the fastest.
func (w wallRow) walls() (median, fastest time.Duration) {
	var ds []time.Duration
	for _, m := range w.Runs {
		ds = append(ds, m.Wall)
	}
	return medianDuration(ds), slices.Min(ds)
}

// overran reports whether moto took noticeably longer than l over a call of
// m, so that the call did not take l as the measurement assumes.
func overran(m measurement, l time.Duration) bool { return m.LongestCall() > l+l/20 }

// markdown renders the report.
func (r *report) markdown() string {
	var b md
	L := r.Latency
	b.p("# ecrdeploy benchmarks")
	load := ""
	if r.Machine.Load != "" {
		load = fmt.Sprintf("; load average %s at the start, %s at the end", r.Machine.Load, r.Machine.LoadEnd)
	}
	b.p("Generated on %s by `%s`.  \nMachine: %s/%s, %d CPUs (nproc), %s; %s; moto %s%s.",
		r.Date.Format("2006-01-02 15:04 UTC"), r.Command, r.Machine.OS, r.Machine.Arch, r.Machine.CPUs, r.Machine.CPU, r.Machine.Go, r.Machine.Moto, load)
	b.p("A deployment's time is spent almost entirely waiting on AWS API calls, so these figures count the calls a decision takes "+
		"and how many of them wait on each other. Every call goes through the counting proxy of `internal/awstest` in front of moto, "+
		"which makes each call take **L = %s** in all, moto's own time included (`Proxy.SetCallTime`: it forwards the call at once and "+
		"holds moto's answer until L after the call arrived), as an AWS round trip would; so calls made together overlap in the proxy's "+
		"timeline, and wall time ÷ L counts the calls that waited on each other (unless a section says otherwise). L is long enough that "+
		"moto, which serves concurrent requests largely one after another, answers each call within it (section 2's *longest call*). "+
		"Call counts do not depend on L. The deployer is wired "+
		"as the Lambda function wires it (`handler.Wire`: config cache with the default TTL of %.0f s, state store, client pool, "+
		"ECR, and EventBridge for the result events). Timed deployments are repeated %d times and the median is reported; "+
		"before each, the bench waits until the registration pace is idle again (a push as the account mostly finds it: back to back, "+
		"the repetitions would register faster than ECS's bucket allows and measure the queue, which the burst sections measure; a new "+
		"instance that finds the pace busy is refused once and takes one more level, `pkg/state/pace.go`). "+
		"`make bench` runs the Go benchmarks of the pure parts (`go test -run '^$' -bench . -benchmem ./pkg/policy ./pkg/taskdef ./pkg/deploy`), "+
		"then prints this report (`go test ./internal/bench -run TestReport -v -args -report=- -gobench=bin/gobench.txt`); "+
		"`make bench-report` also writes it to docs/benchmarks.md, from a full run only. The code is in `internal/bench`.", L, config.DefaultTTL.Seconds(), r.Reps)
	if len(r.Skipped) > 0 {
		b.p("Not measured in this run: %s.", strings.Join(r.Skipped, "; "))
	}
	r.goals(&b)
	r.cost(&b)
	r.calls(&b)
	r.walls(&b)
	r.burst(&b)
	r.cold(&b)
	r.goBench(&b)
	r.fleet(&b)
	r.boardSection(&b)
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// callRows are the scenarios of section 1, in the order of the table.
func (r *report) callRows() []measurement {
	s := r.Single
	var rows []measurement
	if len(s.Cold) > 0 {
		rows = append(rows, median(s.Cold), median(s.Warm), s.Duplicate, s.NotSemver, s.Older, s.ManualDuplicate,
			s.Rollout, s.Unconfigured, s.Promote, s.Plan, s.Rollback)
	}
	if len(r.Five) > 0 {
		rows = append(rows, median(r.Five))
	}
	if len(r.Mono) > 0 {
		rows = append(rows, median(r.Mono))
	}
	if r.Reconcile.Repositories > 0 {
		rows = append(rows, r.Reconcile.Idle, r.Reconcile.Behind)
	}
	// A scenario a failed run did not reach.
	return slices.DeleteFunc(rows, func(m measurement) bool { return m.Scenario == "" })
}

func (r *report) wallRows() []wallRow {
	return []wallRow{
		{Name: "push, single environment, cold config", Limit: maxLevelsCold, Runs: r.Single.Cold,
			GoalText: fmt.Sprintf("a push to one environment from a cold process (a new function instance) in ≤ %d sequential levels", maxLevelsCold)},
		{Name: "push, single environment, warm config", Limit: maxLevelsWarm, Runs: r.Single.Warm,
			GoalText: fmt.Sprintf("a push to one environment from a warm function in ≤ %d sequential levels", maxLevelsWarm)},
		{Name: "push, five environments, own families, warm config", Limit: maxLevelsFive, OnWarm: true, Runs: r.Five,
			GoalText: fmt.Sprintf("five environments (each its own family) add at most one level: ≤ %d + 1 = %d sequential levels", maxLevelsWarm, maxLevelsFive)},
		{Name: "push, five environments, one family, warm config", Runs: r.Mono},
	}
}

// levelsText describes the levels of the runs of a scenario.
func levelsText(ms []measurement) string {
	lo, hi := levelRange(ms)
	if lo == hi {
		return fmt.Sprintf("%s (all %d runs)", plural(hi, "level"), len(ms))
	}
	return fmt.Sprintf("%d–%d levels over %d runs (median run %d)", lo, hi, len(ms), median(ms).Levels())
}

// goals is the summary: each goal of the issue, what was measured, and for
// a miss by how much, why and what would close it.
func (r *report) goals(b *md) {
	b.p("## Goals")
	L := r.Latency
	var rows [][]string
	var notes []string
	warm := 0
	if len(r.Single.Warm) > 0 {
		_, warm = levelRange(r.Single.Warm)
	}
	for _, w := range r.wallRows() {
		if w.Limit == 0 || len(w.Runs) == 0 {
			continue
		}
		_, hi := levelRange(w.Runs)
		wall, fastest := w.walls()
		measured := levelsText(w.Runs) + " from the timeline"
		if w.OnWarm && warm > 0 {
			measured += fmt.Sprintf(", %+d on the warm push's %d", hi-warm, warm)
		}
		byWall := within(wall, L, w.Limit)
		measured += fmt.Sprintf("; wall %s (fastest run %s), ", times(wall, L), times(fastest, L))
		if byWall {
			measured += fmt.Sprintf("below %d L, so at most %d calls in sequence", w.Limit+1, w.Limit)
		} else {
			measured += fmt.Sprintf("not below %d L", w.Limit+1)
		}
		rows = append(rows, []string{w.GoalText, measured, fmt.Sprintf("%s from the timeline; %s by wall time", yes(hi <= w.Limit), yes(byWall))})
		if hi > w.Limit || !byWall {
			notes = append(notes, levelNote(w, L, hi, wall))
		}
	}
	if u := r.Single.Unconfigured; u.Scenario != "" {
		n := len(u.Calls)
		rows = append(rows, []string{"an ECS event for a service no configuration names costs ≤ 1 call once the configuration is warm",
			plural(n, "call") + opsSuffix(u), yes(n <= 1)})
		if n > 1 {
			notes = append(notes, fmt.Sprintf("**The ECS event for an unconfigured service missed by %s:** %s.", plural(n-1, "call"), callList(u)))
		}
	}
	if rb := r.Single.Rollback; rb.Scenario != "" {
		n := rb.Counts()["RegisterTaskDefinition"]
		rows = append(rows, []string{"a rollback to a known-good version makes no RegisterTaskDefinition call (before: 1)",
			fmt.Sprintf("%s (%s): %s", plural(n, "RegisterTaskDefinition call"), rb.Outcome, plural(len(rb.Calls), "call")+opsSuffix(rb)), yes(n == 0)})
		if n > 0 {
			notes = append(notes, fmt.Sprintf("**The rollback registered %s:** %s.", plural(n, "revision"), callList(rb)))
		}
	}
	for _, c := range r.Cold {
		size := fmt.Sprintf("%s (%d bytes", mib(c.Size), c.Size)
		if before, ok := sizeBefore[c.Function]; ok {
			size += fmt.Sprintf("; %+d on the report of %s", c.Size-before, sizeBeforeDate)
		}
		rows = append(rows, []string{fmt.Sprintf("cold start of the %s function: init ≤ %s on this machine; bootstrap size reported", c.Function, ms(initGoal)),
			fmt.Sprintf("init %s (median of %d; CPU %s, waiting to run %s), bootstrap %s)", ms(c.Init), c.Runs, ms(c.InitCPU), ms(c.InitWaiting), size), yes(c.Init <= initGoal)})
		if c.Init > initGoal {
			notes = append(notes, fmt.Sprintf("**Cold start of the %s function: init %s, goal %s** (section 4).", c.Function, ms(c.Init), ms(initGoal)))
		}
	}
	for _, bu := range r.Bursts {
		rows = append(rows, []string{fmt.Sprintf("burst of %d pushes through %s: every environment ends on its highest accepted version", bu.Events, plural(bu.Workers, "warm instance")),
			fmt.Sprintf("%d of %d environments", bu.Environments-len(bu.Wrong), bu.Environments), yes(len(bu.Wrong) == 0)})
		for _, w := range bu.Wrong {
			notes = append(notes, "Burst with "+plural(bu.Workers, "instance")+": "+w+".")
		}
	}
	fr, fn := r.fleetGoals()
	rows, notes = append(rows, fr...), append(notes, fn...)
	br, bn := r.boardGoals()
	rows, notes = append(rows, br...), append(notes, bn...)
	if len(rows) == 0 {
		b.p("Not measured (see the test output).")
		return
	}
	if len(notes) > 0 && r.Machine.busy() {
		notes = append(notes, fmt.Sprintf("This run shared the machine with other work (load average %s at the start, %s at the end, on %d CPUs), "+
			"which slows moto and ecrdeploy alike: a call moto takes longer than L over, or work between calls, shows in the figures above.",
			r.Machine.Load, r.Machine.LoadEnd, r.Machine.CPUs))
	}
	b.table([]string{"goal", "measured", "met"}, rows)
	for _, n := range notes {
		b.p("%s", n)
	}
}

// levelNote explains a levels goal missed: by how much, the chain, and what
// would close it.
func levelNote(w wallRow, l time.Duration, levels int, wall time.Duration) string {
	m := slices.MaxFunc(w.Runs, func(a, b measurement) int { return cmp.Compare(a.Levels(), b.Levels()) })
	chain := m.Chain()
	why := "Every call of that run took L, so the chain is the code's: each of its calls started only after the one before it had " +
		"ended. What would close it: starting one of them beside the call before it, with nothing between them that needs its answer."
	if overran(m, l) {
		why = fmt.Sprintf("The run's longest call took %s (%s): moto took longer than L over it, so calls meant to run together may "+
			"not have overlapped as they would in AWS. What would tell: a larger L (`-latency`), at which moto answers within L.", ms(m.LongestCall()), times(m.LongestCall(), l))
	}
	if levels <= w.Limit {
		over := wall - time.Duration(levels)*l
		return fmt.Sprintf("**%s: %s from the timeline, but the wall time, %s, is not below %d L.** The %s beyond the %d levels' L is "+
			"ecrdeploy's own work between calls and any call moto took longer than L over (the median run's longest call took %s); "+
			"the chain: %s. What would close it: a larger L, at which that time weighs less, or less work between the calls.",
			w.Name, plural(levels, "level"), times(wall, l), w.Limit+1, ms(over), levels, ms(median(w.Runs).LongestCall()), chainText(median(w.Runs).Chain()))
	}
	return fmt.Sprintf("**%s: missed by %s (%d, at most %d).** The longest chain (%d calls): %s. %s",
		w.Name, plural(levels-w.Limit, "level"), levels, w.Limit, len(chain), chainText(chain), why)
}

// opsText lists a measurement's calls by operation, in opOrder.
func opsText(m measurement) string {
	c := m.Counts()
	var parts []string
	for _, op := range opNames(c) {
		parts = append(parts, fmt.Sprintf("%s %d", op, c[op]))
	}
	return strings.Join(parts, ", ")
}

// opsSuffix is opsText in parentheses, or "" for no calls.
func opsSuffix(m measurement) string {
	if len(m.Calls) == 0 {
		return ""
	}
	return " (" + opsText(m) + ")"
}

// opNames returns the operations of counts in opOrder, then any others
// sorted.
func opNames(counts map[string]int) []string {
	var ops []string
	for _, op := range opOrder {
		if counts[op] > 0 {
			ops = append(ops, op)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(ops, op) && counts[op] > 0 {
			ops = append(ops, op)
		}
	}
	return ops
}

// callList names each call of m with its purpose.
func callList(m measurement) string {
	ps := purposes(m.Calls, kindOf(m.Scenario))
	var calls []string
	for i, c := range m.Calls {
		calls = append(calls, c.Operation+" ("+ps[i]+")")
	}
	return strings.Join(calls, "; ")
}

// costRow is one row of the cost table.
type costRow struct {
	Event string
	Runs  []measurement
	Per   int    // the calls are divided by this (repositories); 0 for per event
	Goal  string // "" for none
	Limit int    // at most this many calls, with Goal
	Extra string // appended to the calls column
}

func (r *report) costRows() []costRow {
	s := r.Single
	var rows []costRow
	if len(s.Cold) > 0 {
		rows = append(rows,
			costRow{Event: "push, cold config (a new function instance)", Runs: s.Cold},
			costRow{Event: "push, warm config", Runs: s.Warm},
			costRow{Event: "duplicate push (the same event again), warm config", Runs: []measurement{s.Duplicate}, Extra: mutatingText(s.Duplicate)},
			costRow{Event: "non-version tag (`latest`), warm config", Runs: []measurement{s.NotSemver}},
			costRow{Event: "ECS deployment state change: COMPLETED, for a configured service whose deployment the state records, warm config", Runs: []measurement{s.Rollout}},
			costRow{Event: "ECS deployment state change for a service no configuration names, warm config", Runs: []measurement{s.Unconfigured},
				Goal: "≤ 1 call", Limit: 1},
		)
		if s.Rollback.Scenario != "" {
			rows = append(rows, costRow{Event: "rollback to the version whose rollout completed (its revision known), warm config", Runs: []measurement{s.Rollback},
				Extra: fmt.Sprintf("; %s", plural(s.Rollback.Counts()["RegisterTaskDefinition"], "RegisterTaskDefinition call"))})
		}
	}
	if rc := r.Reconcile; rc.Repositories > 0 {
		extra := fmt.Sprintf("; %+d on nothing to do", len(rc.Behind.Calls)-len(rc.Idle.Calls))
		rows = append(rows,
			costRow{Event: fmt.Sprintf("reconcile, nothing to do (%d repositories, 2 push environments each; a new instance)", rc.Repositories),
				Runs: []measurement{rc.Idle}, Per: rc.Repositories},
			costRow{Event: "reconcile, one environment of one repository behind (the same)", Runs: []measurement{rc.Behind}, Per: rc.Repositories, Extra: extra},
		)
	}
	// A scenario a failed run did not reach.
	return slices.DeleteFunc(rows, func(c costRow) bool { return len(c.Runs) == 0 || c.Runs[0].Scenario == "" })
}

// mutatingText says how many of m's calls changed something: what runs or
// what is recorded, or only the claim on an environment (awstest.Call.Claim),
// which a delivery takes and gives up whatever it decides.
func mutatingText(m measurement) string {
	n, claims := 0, 0
	for _, c := range m.Calls {
		switch {
		case c.Claim():
			claims++
		case !c.ReadOnly():
			n++
		}
	}
	text := ", none mutating"
	if n > 0 {
		text = fmt.Sprintf(", %d mutating", n)
	}
	if claims > 0 {
		text += fmt.Sprintf(" but %s taking or releasing the claim", plural(claims, "call"))
	}
	return text
}

// cost is the table of calls per event.
func (r *report) cost(b *md) {
	b.p("## Cost per event")
	rows := r.costRows()
	if len(rows) == 0 {
		b.p("Not measured (see the test output).")
		return
	}
	b.p("API calls each event costs, counted by the proxy (every attempt, retries included), by operation; the scenarios are " +
		"those of section 1. Warm config means the same function instance after an earlier event, within the cache's TTL: for an ECS " +
		"event, after an earlier ECS event, since it reads the listing of every configuration rather than one repository's. A reconcile is " +
		"measured as the schedule finds the function, every 15 minutes by default: the configuration cache has expired. A goal is " +
		"given where the issue sets one.")
	var t [][]string
	for _, c := range rows {
		m := median(c.Runs)
		n := len(m.Calls)
		calls := plural(n, "call")
		if len(c.Runs) > 1 {
			calls += spread(c.Runs)
		}
		if c.Per > 1 {
			calls = fmt.Sprintf("%d for %d repositories: %.1f per repository", n, c.Per, float64(n)/float64(c.Per))
		}
		met := ""
		if c.Goal != "" {
			met = yes(n <= c.Limit)
		}
		t = append(t, []string{c.Event, calls + c.Extra, opsText(m), c.Goal, met})
	}
	b.table([]string{"event", "calls", "by operation", "goal", "met"}, t)
}

// spread says when repeated runs made different numbers of calls.
func spread(ms []measurement) string {
	lo, hi := len(ms[0].Calls), len(ms[0].Calls)
	for _, m := range ms {
		lo, hi = min(lo, len(m.Calls)), max(hi, len(m.Calls))
	}
	if lo == hi {
		return fmt.Sprintf(" (all %d runs)", len(ms))
	}
	return fmt.Sprintf(" (median run; %d to %d over %d runs)", lo, hi, len(ms))
}

// calls is section 1.
func (r *report) calls(b *md) {
	b.p("## 1. API calls by operation")
	rows := r.callRows()
	if len(rows) == 0 {
		b.p("Not measured (see the test output).")
		return
	}
	b.p("Calls seen by the proxy, by operation, at L = %s. `web` has one environment, `dev`, which takes every push; `hello-color` "+
		"has `dev` and a manual `production` promoted from `dev`. Every environment has its own service and task-definition family, "+
		"running the Fargate fixture of `pkg/taskdef/testdata` (a web container with a FireLens sidecar). Cold config means a new "+
		"function instance (empty config cache, new connections); warm means the same instance after an earlier event. The ECS events "+
		"are delivered as EventBridge delivers them (`handler.Handler.Event`). The reconciles cover %d repositories (`svc-00`…), each "+
		"with `dev` (every version, pre-releases too) and `staging` (`^1.0.0`) and the images %s.", r.Latency, reconcileRepositories,
		strings.Join(reconcileTags, ", "))
	seen := map[string]int{}
	for _, m := range rows {
		for op, n := range m.Counts() {
			seen[op] += n
		}
	}
	ops := opNames(seen)
	header := append([]string{"scenario", "outcome", "calls"}, ops...)
	var table [][]string
	for _, m := range rows {
		c := m.Counts()
		row := []string{m.Scenario, compactOutcome(m.Outcome), fmt.Sprint(len(m.Calls))}
		for _, op := range ops {
			if c[op] == 0 {
				row = append(row, "")
			} else {
				row = append(row, fmt.Sprint(c[op]))
			}
		}
		table = append(table, row)
	}
	b.table(header, table)

	b.p("### What each call is for")
	b.p("Every call of each scenario, in the order the proxy received them, with its interval in milliseconds from the first call's start "+
		"(calls with overlapping intervals ran concurrently). The five-environment push makes, per environment, the calls of the warm "+
		"single-environment push (its claim, which reads the record, included) but the ECR check and the result event, which it makes "+
		"once for all five: %s. The reconciles are counted above only.", r.fiveSummary())
	for _, m := range rows {
		if strings.HasPrefix(m.Scenario, "push to five") || strings.HasPrefix(m.Scenario, "reconcile") {
			continue
		}
		outcome := m.Outcome
		if outcome == "" {
			outcome = "nothing recorded"
		}
		b.p("**%s** (%s): %s.", m.Scenario, outcome, plural(len(m.Calls), "call"))
		if len(m.Calls) == 0 {
			continue
		}
		ps := purposes(m.Calls, kindOf(m.Scenario))
		t0 := m.Calls[0].Start
		var t [][]string
		for i, c := range m.Calls {
			t = append(t, []string{fmt.Sprint(i + 1), c.Operation,
				fmt.Sprintf("%.0f–%.0f", float64(c.Start.Sub(t0))/1e6, float64(c.End.Sub(t0))/1e6), ps[i]})
		}
		b.table([]string{"#", "operation", "ms", "purpose"}, t)
	}
}

// fiveSummary describes the calls of the five-environment push.
func (r *report) fiveSummary() string {
	if len(r.Five) == 0 {
		return "not measured"
	}
	m := median(r.Five)
	return fmt.Sprintf("%s, %d in all", opsText(m), len(m.Calls))
}

// walls is section 2.
func (r *report) walls(b *md) {
	L := r.Latency
	b.p("## 2. Sequential levels and wall time")
	b.p("Medians over %d deployments, each of a new version, every call taking L = %s. *Levels* is the length of the longest chain "+
		"of calls whose [start, end] intervals do not overlap, from the proxy's timeline of each run: with every call taking L, calls "+
		"made together overlap, so it counts the calls that waited on each other. *Wall ÷ L* counts them too, from the outside: n calls "+
		"in sequence take at least n L, so a wall time below (n + 1) L proves at most n levels; the fraction is ecrdeploy's own work "+
		"between calls. *Longest call* is the slowest call of the median run: L when moto answered every call within L; more, and the "+
		"calls after it were held up by moto, not by ecrdeploy.", r.Reps, L)
	var t [][]string
	var chains []string
	for _, w := range r.wallRows() {
		if len(w.Runs) == 0 {
			continue
		}
		wall, fastest := w.walls()
		m := median(w.Runs)
		goal, met := "information", ""
		if w.Limit > 0 {
			_, hi := levelRange(w.Runs)
			goal = fmt.Sprintf("≤ %d levels", w.Limit)
			met = fmt.Sprintf("%s; %s by wall", yes(hi <= w.Limit), yes(within(wall, L, w.Limit)))
		}
		t = append(t, []string{w.Name, fmt.Sprint(len(m.Calls)), levelsText(w.Runs), ms(wall), times(wall, L), times(fastest, L),
			ms(m.LongestCall()), goal, met})
		chains = append(chains, fmt.Sprintf("- %s: %s", w.Name, chainText(m.Chain())))
	}
	if len(t) == 0 {
		b.p("Not measured (see the test output).")
		return
	}
	b.table([]string{"scenario", "calls", "levels", "wall", "wall ÷ L", "fastest run ÷ L", "longest call", "goal", "met"}, t)
	b.p("Longest chains (median run):\n\n%s", strings.Join(chains, "\n"))
	b.p("With one family, the five registrations are serialised by design: ECS numbers the revisions of a family one after another and " +
		"answers concurrent registrations into one family with \"Too many concurrent attempts to create a new revision of the specified " +
		"family\", so the deployer registers into a family one at a time. Each environment but the first then finds that the family's " +
		"latest revision is not the one its service runs, so it reads that one too. Real setups give each environment its own family, " +
		"which the goal row measures; this row is for information.")
}

// burst is section 3.
func (r *report) burst(b *md) {
	b.p("## 3. A burst of 1,000 pushes")
	if len(r.Bursts) == 0 {
		b.p("Not measured in this run.")
		return
	}
	b.p("%d repositories × %d versions each (0.1.0–0.3.9, 1.0.0–1.4.9, 2.0.0-rc.1–rc.10, and 2.0.0–2.0.9 or 1.5.0–1.5.9), "+
		"all %d push events in one shuffled order (fixed seed), delivered as EventBridge events to the deployer's handler "+
		"(`handler.Handler.Event`), one after another per instance, as one Lambda instance with reserved concurrency 1 takes them; "+
		"then the same with 4 instances (4 warm handlers, each its own `*deploy.Deployer`) taking events from one queue. "+
		"Each repository has `dev` (`>=0.1.0`, pre-releases) and `staging` (`^1.0.0`), each with its own service and family. "+
		"Every image is put into ECR first, as its push would have (the deployer checks that a push's tag still names its digest). "+
		"Time each call takes (`Proxy.SetCallTime`): %s. Verified afterwards, from moto directly: the image each service runs and the version each state record "+
		"names are the highest version its environment accepts.", burstRepositories, burstVersions, burstRepositories*burstVersions, latencyText(r.Bursts[0].Latency))
	var t [][]string
	for _, bu := range r.Bursts {
		total := bu.Total()
		t = append(t, []string{fmt.Sprint(bu.Workers), fmt.Sprint(bu.Events), ms(bu.Latency), ms(bu.Wall),
			ms(bu.Wall / time.Duration(bu.Events)), fmt.Sprint(total), fmt.Sprintf("%.1f", float64(total)/float64(bu.Events)),
			fmt.Sprint(bu.Calls["RegisterTaskDefinition"]), fmt.Sprint(bu.Calls["UpdateService"]), fmt.Sprint(bu.Calls["PutEvents"]),
			ms(bu.CPU / time.Duration(bu.Events)), fmt.Sprint(bu.Errors), countsText(bu.Outcomes),
			fmt.Sprintf("%s (%d of %d)", yes(len(bu.Wrong) == 0), bu.Environments-len(bu.Wrong), bu.Environments)})
	}
	b.table([]string{"instances", "events", "L", "wall", "per event", "calls", "calls per event", "RegisterTaskDefinition", "UpdateService",
		"PutEvents", "CPU per event", "errors", "outcomes (service rows)", "on highest accepted version"}, t)
	var ops []string
	for _, bu := range r.Bursts {
		var parts []string
		for _, op := range slices.Sorted(maps.Keys(bu.Calls)) {
			parts = append(parts, fmt.Sprintf("%s %d", op, bu.Calls[op]))
		}
		ops = append(ops, fmt.Sprintf("- %s: %s", plural(bu.Workers, "instance"), strings.Join(parts, ", ")))
	}
	b.p("Calls by operation:\n\n%s", strings.Join(ops, "\n"))
	b.p("*CPU per event* is the user and system CPU time of the benchmark process (the handler, and the proxy in front of moto) " +
		"divided by the events: what ecrdeploy's own work costs, next to a wall time that is moto's.")
	b.p("A registration happens only when a version is higher than every earlier one its environment accepted; in a shuffled "+
		"order a sequence of n has about ln n + 0.58 such records: %.1f for the %d versions of a repository, all of which `dev` accepts. "+
		"Every other event is skipped after the claim (which reads the state record) and the describe and ECR check that run concurrently "+
		"with it, releases the claim and publishes its `Deployment Skipped` events.", math.Log(burstVersions)+0.5772, burstVersions)
	if len(r.Bursts) == 2 {
		one, four := r.Bursts[0], r.Bursts[1]
		b.p("With %d instances the wall time is %.2f× that of one: with calls taking %s, it is moto's time, and "+motoSerial+". "+
			"They make %+d calls in all against one instance's (%+d UpdateItem, %+d RegisterTaskDefinition, %+d UpdateService): each "+
			"instance reads the configuration and looks for an earlier release's records on its own; a delivery that finds its "+
			"environment claimed by another, and would not act there, decides from the record its claim attempt returned and has no "+
			"claim to release; one that would act polls the claim (UpdateItem) until it is released.",
			four.Workers, float64(four.Wall)/float64(one.Wall), latencyText(one.Latency), four.Total()-one.Total(),
			four.Calls["UpdateItem"]-one.Calls["UpdateItem"], four.Calls["RegisterTaskDefinition"]-one.Calls["RegisterTaskDefinition"],
			four.Calls["UpdateService"]-one.Calls["UpdateService"])
	}
}

// cold is section 4.
func (r *report) cold(b *md) {
	b.p("## 4. Cold start, size and memory")
	if len(r.Cold) > 0 {
		b.p("Each `bootstrap` built for this machine as Lambda runs it (`GOOS=linux CGO_ENABLED=0 -tags lambda.norpc -trimpath`), run under the "+
			"AWS Lambda Runtime Interface Emulator (`go tool aws-lambda-rie`, `internal/rie`) against moto through the proxy (L = 0), "+
			"started %d times after one unmeasured warm-up, medians reported. The emulator starts the bootstrap on the first invocation, "+
			"through `internal/bench/initstamp`, which notes the time it started and then becomes the bootstrap (execve, the same process) "+
			"with its runtime API pointed at a recorder in front of the emulator's. *Init* is the function's init phase as Lambda counts it: "+
			"from the bootstrap's start (package initialisation, `handler.New`: settings, `config.LoadDefaultConfig`, clients; "+
			"`lambda.Start`) to its first Next request of the runtime API, which asks for the first invocation; *init: CPU* is the CPU time "+
			"its threads spent in it and *init: waiting to run* the time they were ready but waited for a CPU (`/proc/PID/task/*/schedstat` at that "+
			"request): on a machine shared with other work, init is the CPU time and much of the waiting. *Launch* is the emulator "+
			"starting the bootstrap after the invocation was sent; *invoke → answer* is launch, init and the first request handled, its "+
			"AWS calls taking moto's time. Size: the binary Lambda runs (`make build`: linux/arm64, `-ldflags \"-s -w\"`). "+
			"Peak RSS: the function process's VmHWM after its first answer.", r.Cold[0].Runs)
		var t [][]string
		for _, c := range r.Cold {
			t = append(t, []string{c.Function, c.Request, ms(c.Init), ms(c.InitCPU), ms(c.InitWaiting), ms(c.Launch), ms(c.Invoke), ms(c.Total), fmt.Sprint(c.Calls), mib(c.RSS),
				fmt.Sprintf("%s (%d bytes)", mib(c.Size), c.Size)})
		}
		b.table([]string{"function", "first request", "init", "init: CPU", "init: waiting to run", "launch", "invoke → answer", "emulator start → first answer",
			"AWS calls", "peak RSS", "bootstrap linux/arm64"}, t)
	} else {
		b.p("Cold start not measured in this run.")
	}
	var lines []string
	for _, bu := range r.Bursts {
		lines = append(lines, fmt.Sprintf("- burst with %s: peak RSS %s (VmHWM of the benchmark process, reset before the burst); "+
			"%.0f KiB allocated per event", plural(bu.Workers, "instance"), mib(bu.PeakRSS), float64(bu.AllocPer)/1024))
	}
	if len(lines) > 0 {
		b.p("Memory during the burst (section 3). The figure is of the whole benchmark process, which also runs the proxy and the test "+
			"harness, so it bounds the handler's own footprint from above:\n\n%s", strings.Join(lines, "\n"))
	}
}

// goBench is section 5.
func (r *report) goBench(b *md) {
	b.p("## 5. Go benchmarks of the pure parts")
	if len(r.GoBench) == 0 {
		b.p("Not measured in this run.")
		return
	}
	b.p("`go test -run '^$' -bench . -benchmem ./pkg/policy ./pkg/taskdef ./pkg/deploy`: deciding (`policy.Evaluate`; `admit`, "+
		"`compareState` and the whole pure decision of one push in package deploy), rendering a large task definition (10 containers "+
		"with 50 environment variables and 10 secrets each), comparing and diffing it. For scale: one AWS call is L = %s here.", r.Latency)
	var t [][]string
	for _, g := range r.GoBench {
		bytes, allocs := "", ""
		if g.BytesPerOp >= 0 {
			bytes = fmt.Sprint(g.BytesPerOp)
		}
		if g.AllocsOp >= 0 {
			allocs = fmt.Sprint(g.AllocsOp)
		}
		t = append(t, []string{strings.TrimPrefix(g.Package, "github.com/ecrdeploy/ecrdeploy/"), g.Name, nsText(g.NsPerOp), bytes, allocs})
	}
	b.table([]string{"package", "benchmark", "time/op", "B/op", "allocs/op"}, t)
	slowest := slices.MaxFunc(r.GoBench, func(a, b goBenchmark) int { return cmp.Compare(a.NsPerOp, b.NsPerOp) })
	where := ""
	switch {
	case strings.HasPrefix(slowest.Name, "Diff"):
		where = "; only a plan computes it, once per service"
	case strings.HasPrefix(slowest.Name, "Equal"):
		where = "; a deployment computes it once or twice per service"
	}
	b.p("The costliest pure step measured is %s %s at %s per operation (%.2f L)%s.",
		strings.TrimPrefix(slowest.Package, "github.com/ecrdeploy/ecrdeploy/"), slowest.Name, nsText(slowest.NsPerOp),
		slowest.NsPerOp/float64(r.Latency), where)
}

// motoSerial says why moto's time grows with concurrent calls.
const motoSerial = "moto, a Python server, serves concurrent requests on threads that share one interpreter lock, largely one after another"

// nsText formats nanoseconds with a unit that keeps the figure short.
func nsText(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.1f ns", ns)
}
