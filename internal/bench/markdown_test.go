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
// deployment makes them.
var opOrder = []string{"GetParameter", "GetParameters", "DescribeImages", "DescribeServices", "DescribeTaskDefinition",
	"RegisterTaskDefinition", "UpdateService", "PutParameter", "PutEvents"}

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

// latencyText formats an injected latency, saying so when there is none.
func latencyText(d time.Duration) string {
	if d == 0 {
		return "0 (none injected)"
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

// wallRow is one row of section 2: a timed scenario.
type wallRow struct {
	Name, Goal string
	GoalText   string  // the goal as the issue puts it
	Limit      float64 // goal in L; 0 for none
	Runs       []measurement
}

// figures returns the medians over the runs of the wall time, of moto's time
// on the critical path, and of the wall time without it (as if every call
// took exactly l).
func (w wallRow) figures(l time.Duration) (wall, service, adjusted time.Duration) {
	wall, service, adjusted, _ = w.figuresBest(l)
	return
}

// figuresBest is figures with the wall time of the fastest run.
func (w wallRow) figuresBest(l time.Duration) (wall, service, adjusted, best time.Duration) {
	var walls, services, adjusteds []time.Duration
	for _, m := range w.Runs {
		s := m.Service(l)
		walls, services, adjusteds = append(walls, m.Wall), append(services, s), append(adjusteds, m.Wall-s)
	}
	return medianDuration(walls), medianDuration(services), medianDuration(adjusteds), slices.Min(walls)
}

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
		"which holds each call for a fixed latency **L = %s** before forwarding it (unless a section says otherwise). The deployer is wired "+
		"as the Lambda function wires it (`handler.Wire`: config cache with the default TTL of %.0f s, state store, client pool, "+
		"ECR, and EventBridge for the result events). Timed deployments are repeated %d times and the median is reported. "+
		"`make bench` runs the Go benchmarks of the pure parts (`go test -run '^$' -bench . -benchmem ./pkg/policy ./pkg/taskdef ./pkg/deploy`), "+
		"then prints this report (`go test ./internal/bench -run TestReport -v -args -report=- -gobench=bin/gobench.txt`); "+
		"`make bench-report` also writes it to docs/benchmarks.md, from a full run only. The code is in `internal/bench`.", L, config.DefaultTTL.Seconds(), r.Reps)
	if len(r.Skipped) > 0 {
		b.p("Not measured in this run: %s.", strings.Join(r.Skipped, "; "))
	}
	r.goals(&b)
	r.calls(&b)
	r.walls(&b)
	r.burst(&b)
	r.cold(&b)
	r.goBench(&b)
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// callRows are the scenarios of section 1, in the order of the table.
func (r *report) callRows() []measurement {
	s := r.Single
	var rows []measurement
	if len(s.Cold) > 0 {
		rows = append(rows, median(s.Cold), median(s.Warm), s.Duplicate, s.NotSemver, s.Older, s.ManualDuplicate, s.Promote, s.Plan)
	}
	if len(r.Five) > 0 {
		rows = append(rows, median(r.Five))
	}
	if len(r.Mono) > 0 {
		rows = append(rows, median(r.Mono))
	}
	return rows
}

func (r *report) wallRows() []wallRow {
	return []wallRow{
		{Name: "single environment, cold config", Runs: r.Single.Cold},
		{Name: "single environment, warm config", Goal: "≤ 7.5 L", Limit: 7.5, Runs: r.Single.Warm,
			GoalText: "warm single-environment deployment in ≤ 7.5 L: no more than 7 calls wait on each other"},
		{Name: "five environments, own families, warm config", Goal: "≤ 8.5 L", Limit: 8.5, Runs: r.Five,
			GoalText: "five environments from one push in ≤ 8.5 L: environments run in parallel"},
		{Name: "five environments, one family, warm config", Runs: r.Mono},
	}
}

// goals is the summary: each goal of the issue, what was measured, and for
// a miss by how much, why and what would close it.
func (r *report) goals(b *md) {
	b.p("## Goals")
	L := r.Latency
	var rows [][]string
	var notes []string
	s := r.Single
	if len(s.Warm) > 0 {
		warm := median(s.Warm)
		n := len(warm.Calls)
		rows = append(rows, []string{"warm single-environment deployment in ≤ 9 calls, re-check, verification and result event included",
			plural(n, "call") + spread(s.Warm), yes(n <= 9)})
		dup := s.Duplicate
		c := dup.Counts()
		mutating := c["RegisterTaskDefinition"] + c["UpdateService"] + c["PutParameter"]
		rows = append(rows, []string{"duplicate event in ≤ 3 calls, none of them RegisterTaskDefinition, UpdateService or PutParameter",
			fmt.Sprintf("%s, %d of them mutating", plural(len(dup.Calls), "call"), mutating), yes(len(dup.Calls) <= 3 && mutating == 0)})
		ns := s.NotSemver
		rows = append(rows, []string{"`not-semver` tag with warm config in 0 calls", plural(len(ns.Calls), "call"), yes(len(ns.Calls) == 0)})
		if len(ns.Calls) > 0 {
			notes = append(notes, r.notSemverNote())
		}
	}
	for _, w := range r.wallRows() {
		if w.Limit == 0 || len(w.Runs) == 0 {
			continue
		}
		wall, service, adjusted, best := w.figuresBest(L)
		m := median(w.Runs)
		chain := len(m.Chain())
		raw, without := float64(wall)/float64(L), float64(adjusted)/float64(L)
		rows = append(rows, []string{w.GoalText,
			fmt.Sprintf("%s as measured (fastest run %s); %s without moto's own time on the critical path; longest chain %d calls",
				times(wall, L), times(best, L), times(adjusted, L), chain),
			fmt.Sprintf("%s as measured; %s without moto's time", yes(raw <= w.Limit), yes(without <= w.Limit))})
		if raw > w.Limit {
			note := wallNote(w, L, wall, service, adjusted, m)
			if r.Machine.busy() {
				note += fmt.Sprintf(" This run shared the machine with other work (load average %s at the start, %s at the end, on %d CPUs), "+
					"which slows moto and makes its share of the figure as measured vary from run to run; the figure without it does not.",
					r.Machine.Load, r.Machine.LoadEnd, r.Machine.CPUs)
			}
			notes = append(notes, note)
		}
	}
	for _, bu := range r.Bursts {
		rows = append(rows, []string{fmt.Sprintf("burst of %d pushes through %s: every environment ends on its highest accepted version", bu.Events, plural(bu.Workers, "warm instance")),
			fmt.Sprintf("%d of %d environments", bu.Environments-len(bu.Wrong), bu.Environments), yes(len(bu.Wrong) == 0)})
		for _, w := range bu.Wrong {
			notes = append(notes, "Burst with "+plural(bu.Workers, "instance")+": "+w+".")
		}
	}
	b.table([]string{"goal", "measured", "met"}, rows)
	for _, n := range notes {
		b.p("%s", n)
	}
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

// notSemverNote explains the calls of a not-semver tag.
func (r *report) notSemverNote() string {
	ns := r.Single.NotSemver
	ps := purposes(ns.Calls)
	var calls []string
	for i, c := range ns.Calls {
		calls = append(calls, c.Operation+" ("+ps[i]+")")
	}
	return fmt.Sprintf("**`not-semver` missed by %s:** %s.", plural(len(ns.Calls), "call"), strings.Join(calls, "; "))
}

// wallNote explains a wall-time goal missed at L.
func wallNote(w wallRow, l, wall, service, adjusted time.Duration, m measurement) string {
	path := m.CriticalPath()
	close := "Nothing in ecrdeploy's code stands between it and the goal: the calls that wait on each other are within it."
	if float64(adjusted)/float64(l) > w.Limit {
		close = fmt.Sprintf("Even without moto's time it is %.2f L over: the critical path itself is too long (see section 2).", float64(adjusted)/float64(l)-w.Limit)
	}
	return fmt.Sprintf("**%s: %s at L = %s, %.2f L (%s) over the goal.** Why: moto's own time, not the number of calls that wait on "+
		"each other. The longest chain is %d calls (%s); the critical path is %d calls. Its calls took %s beyond L in all (median "+
		"over the runs), %s per call: that is moto serving the request behind the proxy's injected L, and, when ecrdeploy makes calls "+
		"concurrently, waiting for moto to finish the others: "+motoSerial+", so the concurrent calls of one step finish several milliseconds apart. Without it "+
		"the deployment takes %s, which is %d latencies plus ecrdeploy's own work between calls. In AWS, L is the whole round trip "+
		"and concurrent calls are served in parallel, so the figure to hold against the goal is %s. What would close the gap in this "+
		"measurement: a proxy that counts moto's time against L (holds each call for L minus moto's time, so that each takes L in "+
		"all), or a quieter machine and a larger L, where moto's share shrinks. %s",
		w.Name, times(wall, l), l, float64(wall)/float64(l)-w.Limit, ms(wall-time.Duration(w.Limit*float64(l))),
		len(m.Chain()), chainText(m.Chain()), len(path), ms(service), ms(service/time.Duration(max(len(path), 1))),
		times(adjusted, l), len(path), times(adjusted, l), close)
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
		"function instance (empty config cache, new connections); warm means the same instance after an earlier event.", r.Latency)
	ops := slices.Clone(opOrder)
	seen := map[string]bool{}
	for _, m := range rows {
		for op := range m.Counts() {
			seen[op] = true
		}
	}
	ops = slices.DeleteFunc(ops, func(op string) bool { return !seen[op] })
	for _, op := range slices.Sorted(maps.Keys(seen)) {
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	goals := map[string]string{"push, warm config": "≤ 9", "duplicate event": "≤ 3, none mutating", "not-semver tag, warm config": "0"}
	header := append([]string{"scenario", "outcome", "calls"}, ops...)
	header = append(header, "goal")
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
		table = append(table, append(row, goals[m.Scenario]))
	}
	b.table(header, table)

	b.p("### What each call is for")
	b.p("Every call of each scenario, in the order the proxy received them, with its interval in milliseconds from the first call's start "+
		"(calls with overlapping intervals ran concurrently). The five-environment push makes, per environment, the calls of the warm "+
		"single-environment push but the state read and the result event, which it makes once for all five: %s.", r.fiveSummary())
	for _, m := range rows {
		if strings.HasPrefix(m.Scenario, "push to five") {
			continue
		}
		b.p("**%s** (%s): %s.", m.Scenario, m.Outcome, plural(len(m.Calls), "call"))
		if len(m.Calls) == 0 {
			continue
		}
		ps := purposes(m.Calls)
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
	c := m.Counts()
	var parts []string
	for _, op := range opOrder {
		if c[op] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[op], op))
		}
	}
	return fmt.Sprintf("%s, %d in all", strings.Join(parts, ", "), len(m.Calls))
}

// walls is section 2.
func (r *report) walls(b *md) {
	L := r.Latency
	b.p("## 2. Wall time as a multiple of L")
	b.p("Medians over %d deployments, each of a new version, at L = %s. The *longest chain* is the longest sequence of calls whose "+
		"[start, end] intervals do not overlap, in order, from the proxy's log of the median run. The *critical path* is the chain "+
		"the wall time waited on: walking back from the call that ended last, each time to the call that ended last before it started. "+
		"*moto's time* is what the calls on the critical path took beyond L: moto serving them, and queueing behind other requests, "+
		"since "+motoSerial+". *Without moto's time* is the wall time as if every call took exactly L: the latencies on "+
		"the critical path plus ecrdeploy's own work between calls.", r.Reps, L)
	var t [][]string
	var chains []string
	for _, w := range r.wallRows() {
		if len(w.Runs) == 0 {
			continue
		}
		wall, service, adjusted, best := w.figuresBest(L)
		m := median(w.Runs)
		t = append(t, []string{w.Name, fmt.Sprint(len(m.Calls)), fmt.Sprint(len(m.Chain())), fmt.Sprint(len(m.CriticalPath())),
			ms(wall), times(wall, L), times(best, L), ms(service), ms(adjusted), times(adjusted, L), w.Goal})
		chains = append(chains, fmt.Sprintf("- %s: %s", w.Name, chainText(m.Chain())))
	}
	if len(t) == 0 {
		b.p("Not measured (see the test output).")
		return
	}
	b.table([]string{"scenario", "calls", "longest chain", "critical path", "wall", "÷ L", "fastest run ÷ L", "moto's time", "without moto's time", "÷ L", "goal"}, t)
	b.p("Longest chains:\n\n%s", strings.Join(chains, "\n"))
	b.p("With one family, the five registrations are serialised by design (ECS rejects concurrent revisions of a family), and each " +
		"environment but the first finds the family's latest revision is not the one its service runs, so it reads that one too: " +
		"real setups give each environment its own family.")
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
		"Latency injected per call: %s. Verified afterwards, from moto directly: the image each service runs and the version each state record "+
		"names are the highest version its environment accepts.", burstRepositories, burstVersions, burstRepositories*burstVersions, latencyText(r.Bursts[0].Latency))
	var t [][]string
	for _, bu := range r.Bursts {
		total := bu.Total()
		t = append(t, []string{fmt.Sprint(bu.Workers), fmt.Sprint(bu.Events), ms(bu.Latency), ms(bu.Wall),
			ms(bu.Wall / time.Duration(bu.Events)), fmt.Sprint(total), fmt.Sprintf("%.1f", float64(total)/float64(bu.Events)),
			fmt.Sprint(bu.Calls["RegisterTaskDefinition"]), fmt.Sprint(bu.Calls["UpdateService"]), fmt.Sprint(bu.Calls["PutEvents"]),
			ms(bu.CPU / time.Duration(bu.Events)), fmt.Sprint(bu.Errors), outcomeSummary(bu.Outcomes),
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
		"Every other event is skipped after the state read and the describe that runs concurrently with it, and publishes its "+
		"`Deployment Skipped` events.", math.Log(burstVersions)+0.5772, burstVersions)
	if len(r.Bursts) == 2 {
		one, four := r.Bursts[0], r.Bursts[1]
		b.p("With %d instances the wall time is %.2f× that of one: at L = %s it is moto's time, and "+motoSerial+". "+
			"Concurrent deliveries for one environment make %d more calls in all (%+d RegisterTaskDefinition, %+d UpdateService): "+
			"the re-check before UpdateService and the verification after it, which correct a delivery that lost a race.",
			four.Workers, float64(four.Wall)/float64(one.Wall), latencyText(one.Latency), four.Total()-one.Total(),
			four.Calls["RegisterTaskDefinition"]-one.Calls["RegisterTaskDefinition"], four.Calls["UpdateService"]-one.Calls["UpdateService"])
	}
}

// cold is section 4.
func (r *report) cold(b *md) {
	b.p("## 4. Cold start, size and memory")
	if len(r.Cold) > 0 {
		b.p("Each `bootstrap` built for this machine as Lambda runs it (`GOOS=linux CGO_ENABLED=0 -tags lambda.norpc -trimpath`), run under the "+
			"AWS Lambda Runtime Interface Emulator (`go tool aws-lambda-rie`, `internal/rie`) against moto through the proxy (L = 0), "+
			"started %d times after one unmeasured warm-up, medians reported. The emulator starts the bootstrap on the first invocation, so "+
			"*invoke → answer* includes starting the process and the function's init phase (settings, `config.LoadDefaultConfig`, clients); "+
			"*invoke → first AWS call* is that start and init alone. Size: the binary Lambda runs (`make build`: linux/arm64, `-ldflags \"-s -w\"`). "+
			"Peak RSS: the function process's VmHWM after its first answer.", r.Cold[0].Runs)
		var t [][]string
		for _, c := range r.Cold {
			t = append(t, []string{c.Function, c.Request, ms(c.Total), ms(c.Invoke), ms(c.FirstCall), fmt.Sprint(c.Calls), mib(c.RSS),
				fmt.Sprintf("%s (%d bytes)", mib(c.Size), c.Size)})
		}
		b.table([]string{"function", "first request", "emulator start → first answer", "invoke → answer", "invoke → first AWS call",
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
