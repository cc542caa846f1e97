package bench

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// reportBurst is the throttled burst of the report, from the flags: the
// issue's 1,000 pushes over 100 repositories, delivered with the
// template's reserved concurrency and Lambda's retries, and 20 pushes to
// unrelated repositories spread over the time its registrations need at 1
// a second.
func reportBurst() throttledShape {
	s := throttledShape{Repositories: *throttledRepos, Lambda: deployerLambda(*throttledConc, *retryScale), Unrelated: *unrelatedFlag}
	if s.Unrelated > 0 {
		s.Every = time.Duration(2*s.Repositories) * time.Second / time.Duration(s.Unrelated)
	}
	return s
}

// parseVariants returns the experiments of -throttled-variants: the burst
// of base with the changes of each, separated by '+'.
func parseVariants(list string, base throttledShape) ([]throttledShape, error) {
	var out []throttledShape
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		s := base
		s.Variant = v
		for _, change := range strings.Split(v, "+") {
			name, value, _ := strings.Cut(change, "=")
			switch {
			case name == "concurrency":
				n, err := strconv.Atoi(value)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("-throttled-variants: %q: want concurrency=N, N at least 1", change)
				}
				s.Lambda.Concurrency = n
			case name == "per-repository" && value == "off":
				s.Pace = perRepositoryOff
			case name == "queue" && value == "off":
				s.NoQueue = true
			case name == "priority" && value == "":
				model := newPriorityPace(unrelatedFirst)
				s.Pace = func(deploy.Pacer) deploy.Pacer { return model }
				s.PaceLog = model.reservations
			default:
				return nil, fmt.Errorf("-throttled-variants: %q: want concurrency=N, per-repository=off, queue=off or priority, joined by '+'", change)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// medianOf returns the median of what f says of each updated unrelated
// push.
func (b throttledBurst) medianOf(f func(unrelatedPush) time.Duration) time.Duration {
	var ds []time.Duration
	for _, u := range b.Unrelated {
		if u.Done {
			ds = append(ds, f(u))
		}
	}
	return medianDuration(ds)
}

// noSlot counts the registrations the deployer made without a slot of the
// pace (the table refused the reservation; it registers at the SDK's pace
// then), from its warnings.
func (b throttledBurst) noSlot() int {
	n := 0
	for msg, c := range b.Warnings {
		if strings.Contains(msg, "no slot reserved") {
			n += c
		}
	}
	return n
}

// unpaced are the invocations that failed otherwise than by waiting out
// another delivery's claim (which fails them on purpose, to be delivered
// again).
func (b throttledBurst) unpaced() int { return b.Errors - b.ClaimWaits }

// goals are the goal rows of the throttled burst, and notes on what it
// missed.
func (b throttledBurst) goals() (rows [][]string, notes []string) {
	s := b.Shape
	envs := b.Environments + len(b.Unrelated)
	ok := len(b.Wrong) == 0 && b.Lost == 0
	rows = append(rows, []string{
		fmt.Sprintf("a burst of %d pushes over %d repositories under AWS's request buckets, delivered as Lambda delivers them (reserved concurrency %d, 2 retries), ends with every environment on its highest accepted version and its record agreeing, no event lost",
			b.Events, s.Repositories, s.Lambda.Concurrency),
		fmt.Sprintf("%d of %d environments (%d of the burst, %d unrelated); %d events lost, %d invocations delivered again", envs-len(b.Wrong), envs, b.Environments, len(b.Unrelated), b.Lost, b.Redelivered),
		yes(ok)})
	if len(b.Wrong) > 0 {
		notes = append(notes, fmt.Sprintf("**Throttled burst:** %d environments wrong: %s.", len(b.Wrong), strings.Join(first(b.Wrong, 5), "; ")))
	}

	goal := b.wallGoal()
	rows = append(rows, []string{
		"the same: wall time ≤ 1.2 × (registrations it needs ÷ 1 a second)",
		fmt.Sprintf("%s for %d registrations needed (%d for the burst, %d for the unrelated pushes, which share the pace): at most %s; the burst's own events were done after %s",
			ms(b.WallAll), b.Needed, b.BurstNeeded, len(b.Unrelated), ms(goal), ms(b.Wall)),
		yes(b.WallAll <= goal)})
	if b.WallAll > goal {
		notes = append(notes, fmt.Sprintf("**Burst wall time: missed by %s.** %d registrations at 1 a second after the pace's first 15 take %s; "+
			"the rest is the deliveries before the first registration and after the last, and moto (%s).", ms(b.WallAll-goal), b.Needed,
			ms(time.Duration(max(b.Needed-15, 0))*time.Second), motoSerial))
	}

	reg, regThrottled := b.Calls["RegisterTaskDefinition"], b.Throttled["RegisterTaskDefinition"]
	twice := "none twice"
	if len(b.Twice) > 0 {
		twice = "twice or more: " + strings.Join(first(b.Twice, 5), ", ")
	}
	rows = append(rows, []string{
		"the same: registrations ≤ 1 per environment per version it ends on, + the retries the bucket forces",
		fmt.Sprintf("%d answered for %d environments (%s); %d attempts, %d of them throttled", b.Registered, b.Needed, twice, reg, regThrottled),
		yes(b.Registered <= b.Needed && len(b.Twice) == 0)})

	calls, throttled := sum(b.Calls), sum(b.Throttled)
	unpaced := b.unpaced()
	rows = append(rows, []string{
		fmt.Sprintf("the same: the deployer paces itself rather than burning retries (before: RegisterTaskDefinition %d of %d attempts throttled)",
			beforeIssue23.RegisterThrottled, beforeIssue23.RegisterAttempts),
		fmt.Sprintf("RegisterTaskDefinition %d of %d attempts throttled; all calls %d of %d (%.1f%%: %s); %d invocations failed otherwise than waiting for a claim (%d did)",
			regThrottled, reg, throttled, calls, 100*float64(throttled)/float64(max(calls, 1)), cmpOr(countsText(b.Throttled), "none"), unpaced, b.ClaimWaits),
		yes(unpaced == 0 && throttled*5 <= calls)})
	if unpaced > 0 {
		notes = append(notes, fmt.Sprintf("**Pacing:** %d invocations of the throttled burst failed otherwise than waiting for a claim (each was delivered again; %d events lost).", unpaced, b.Lost))
	}
	if b.Errors > 0 {
		notes = append(notes, fmt.Sprintf("**Invocations of the throttled burst that failed:** %d, %d of them because another delivery held the environment's claim "+
			"longer than the deployer waits for it, so that the event is delivered again; the first: %s.", b.Errors, b.ClaimWaits, strings.Join(b.Failures, "; ")))
	}

	if len(b.Unrelated) > 0 {
		leads, missing := b.leads()
		p95 := percentile(leads, 95)
		measured := fmt.Sprintf("p95 %s over %d pushes", ms(p95), len(b.Unrelated))
		if len(leads) > 0 {
			measured += fmt.Sprintf(" (median %s, shortest %s, longest %s)", ms(medianDuration(leads)), ms(leads[0]), ms(leads[len(leads)-1]))
		}
		if missing > 0 {
			measured += fmt.Sprintf("; %d never updated", missing)
		}
		rows = append(rows, []string{
			fmt.Sprintf("during that burst, a push to an unrelated repository: time until its service is updated (UpdateService answered), p95 over %d pushes one every %s, ≤ %s",
				len(b.Unrelated), ms(s.Every), ms(unrelatedGoal)),
			measured, yes(missing == 0 && p95 <= unrelatedGoal)})
		if missing > 0 || p95 > unrelatedGoal {
			notes = append(notes, b.unrelatedNote(p95))
		}
	}
	return rows, notes
}

// unrelatedNote says where an unrelated push's lead time went, from the
// timeline.
func (b throttledBurst) unrelatedNote(p95 time.Duration) string {
	queued := b.medianOf(func(u unrelatedPush) time.Duration { return u.Queued })
	toSlot := b.medianOf(func(u unrelatedPush) time.Duration { return u.ToSlot })
	slot := b.medianOf(func(u unrelatedPush) time.Duration { return u.SlotWait })
	updated := b.medianOf(func(u unrelatedPush) time.Duration { return u.Updated })
	return fmt.Sprintf("**Unrelated pushes during the burst: p95 %s, goal %s.** Where the time went (medians over the pushes, section 6): "+
		"%s queued for an instance (all %d were busy with the burst's deliveries, and the burst's events queued before it went first), "+
		"%s from the invocation's start to its slot of the registration pace, %s waiting for that slot behind the slots other deliveries "+
		"had reserved, %s from the registration to UpdateService answered. Section 6 gives each push and the experiments that change it.",
		ms(p95), ms(unrelatedGoal), ms(queued), b.Shape.Lambda.Concurrency, ms(toSlot), ms(slot), ms(updated))
}

// opTimesText gives the median and p95 call time of the busiest
// operations.
func (b throttledBurst) opTimesText() string {
	var parts []string
	for _, op := range first(slices.SortedFunc(maps.Keys(b.Calls), func(x, y string) int { return cmp.Compare(b.Calls[y], b.Calls[x]) }), 5) {
		t := b.OpTimes[op]
		parts = append(parts, fmt.Sprintf("%s %s and %s", op, ms(t[0]), ms(t[1])))
	}
	return strings.Join(parts, ", ")
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// section is the throttled burst's part of section 6.
func (bu *throttledBurst) section(b *md) {
	s := bu.Shape
	b.p("**A burst under the buckets.** %d repositories × 10 versions (%s), all %d push events queued at once in one shuffled order and "+
		"delivered as Lambda delivers the deployer's asynchronous events (`lambdaModel` in `internal/bench`): at most %d at once, the template's "+
		"reserved concurrency, each instance (its own `handler.Handler`, clients and configuration cache) taking one event at a time, in the order "+
		"they were queued; each invocation with the template's 900 s deadline; an invocation that returns an error delivered again after %s "+
		"and then %s (Lambda's two retries of an asynchronous invocation, \"How Lambda handles errors and retries with asynchronous invocation\"); "+
		"an event whose last delivery fails would be lost to the failed-invocation queue. Buckets %s.",
		s.Repositories, strings.Join(throttledTags(0), ", "), bu.Events, s.Lambda.Concurrency, s.Lambda.RetryDelays[0], s.Lambda.RetryDelays[1], bu.Buckets)
	if len(bu.Unrelated) > 0 {
		b.p("During the burst, %d pushes to unrelated repositories (`unrelated-00`…: one environment each, its own service and family, "+
			"1.0.0 → 1.0.1) join the queue one every %s, the first %s after the burst's start: spread over the %d s its %d registrations "+
			"need at 1 a second.", len(bu.Unrelated), s.Every, s.Every/2, bu.BurstNeeded, bu.BurstNeeded)
	}
	b.table([]string{"reserved concurrency", "events", "wall (burst)", "wall (all)", "registrations needed", "registered", "attempts", "throttled",
		"invocation errors", "delivered again", "lost", "outcomes (rows)", "on highest accepted version"},
		[][]string{{fmt.Sprint(s.Lambda.Concurrency), fmt.Sprintf("%d + %d", bu.Events, len(bu.Unrelated)), ms(bu.Wall), ms(bu.WallAll),
			fmt.Sprint(bu.Needed), fmt.Sprint(bu.Registered), fmt.Sprint(sum(bu.Calls)), cmpOr(countsText(bu.Throttled), "none"),
			fmt.Sprint(bu.Errors), fmt.Sprint(bu.Redelivered), fmt.Sprint(bu.Lost), countsText(bu.Outcomes),
			fmt.Sprintf("%s (%d of %d)", yes(len(bu.Wrong) == 0), bu.Environments+len(bu.Unrelated)-len(bu.Wrong), bu.Environments+len(bu.Unrelated))}})
	b.p("Calls by operation: %s; UpdateItem by purpose: %s. Calls took %s (median) and %s (p95) at the proxy, moto's own time (%s): %s, "+
		"and the run's %d instances and the proxy share the machine with it.", countsText(bu.Calls), countsText(bu.Updates),
		ms(bu.CallMedian), ms(bu.CallP95), bu.opTimesText(), motoSerial, s.Lambda.Concurrency)
	if len(bu.Warnings) > 0 {
		b.p("The deployer's warnings: %s.", countsText(bu.Warnings))
	}
	b.p("Registrations queue on one pace shared by every instance through the state table (`state.Store.Reserve`: 15 at once, then 1 a "+
		"second per account and region, each repository holding at most one slot still to come): %d slots reserved, at most %d of them "+
		"still to come at once. A push older than the highest version its environment accepts in ECR is `skipped superseded`, so each "+
		"environment registers once, for the version it ends on.", bu.Reservations, bu.Ahead)
	if !s.NoQueue {
		b.p("A delivery whose registration slot is more than 10 s off gives its instance back: it is handed to the deployer's queue "+
			"(`RegistrationQueue`, modelled by `sqsModel`: a message is due after its delay and invoked, at most %d at once, on the same "+
			"instances) and comes back when its slot is due: %d `skipped queued` rows. A repository outside the burst (fewer than 3 images "+
			"pushed in 10 minutes) reserves in the pace's front lane, and a delivery back from the queue registers an interval later for "+
			"each front slot given since it reserved (`state.Store.Shifted`). A push whose event waited more than 5 s in Lambda's queue reads "+
			"its records beside ECR's images before it claims, and claims and describes only the environments it may act on.",
			s.Lambda.SQSConcurrency, bu.Outcomes["skipped queued"])
	}
	if len(bu.Unrelated) == 0 {
		return
	}
	b.p("Each unrelated push, from the proxy's timeline and the invocations: *queued* is from the event joining the queue to an instance " +
		"starting it, with *burst ahead* the burst's events that were still queued before it and *busy* the instances running an invocation " +
		"then; *to slot* from the invocation's start to its slot of the pace reserved (the configuration, the claim, the describes), " +
		"*slots ahead* the slots other deliveries had reserved and still to come then, *slot wait* from the reservation to " +
		"RegisterTaskDefinition; *updated* from the registration to UpdateService answered; *lead* from joining the queue to UpdateService answered.")
	var t [][]string
	for _, u := range bu.Unrelated {
		lead := ms(u.Lead)
		if !u.Done {
			lead = "never updated"
		}
		t = append(t, []string{u.Repository, ms(u.At), lead, ms(u.Queued), fmt.Sprint(u.BurstAhead), fmt.Sprint(u.Busy), ms(u.ToSlot),
			fmt.Sprint(u.SlotsAhead), ms(u.SlotWait), ms(u.Updated)})
	}
	b.table([]string{"push", "queued at", "lead", "queued", "burst ahead", "busy", "to slot", "slots ahead", "slot wait", "updated"}, t)
}

// variants is the table of the experiments: the throttled burst again with
// one change each, beside the report's.
func (r *report) variants(b *md) {
	b.p("**Experiments.** The same burst and unrelated pushes with one change each (`-throttled-variants`), beside the run above: " +
		"*concurrency=N* gives the deployer N instances; *per-repository=off* lets a repository hold any number of the pace's slots still " +
		"to come (each reservation under a key of its own); *priority* replaces the pace with a model of one that gives each slot when it " +
		"comes to the waiting request of a repository outside the burst first, then to the first to ask (`priorityPace`: in the " +
		"benchmark's process, no calls to the table; the deployer would tell a burst's repository by its recent pushes, which the " +
		"push's DescribeImages returns); changes joined by + apply together.")
	runs := append([]throttledBurst{*r.Throttled}, r.Variants...)
	var t [][]string
	for _, v := range runs {
		name := v.Shape.Variant
		if name == "" {
			name = "as deployed"
		}
		leads, missing := v.leads()
		p95 := ms(percentile(leads, 95))
		if missing > 0 {
			p95 += fmt.Sprintf(" (%d never updated)", missing)
		}
		t = append(t, []string{name, fmt.Sprint(v.Shape.Lambda.Concurrency), ms(v.WallAll), fmt.Sprintf("%d of %d", v.Registered, v.Needed),
			fmt.Sprintf("%d (%d registrations without one)", v.Reservations, v.noSlot()), fmt.Sprintf("%d of %d", v.Throttled["RegisterTaskDefinition"], v.Calls["RegisterTaskDefinition"]),
			fmt.Sprintf("%d (%d waiting for a claim)", v.Errors, v.ClaimWaits),
			p95, ms(v.medianOf(func(u unrelatedPush) time.Duration { return u.Queued })),
			ms(v.medianOf(func(u unrelatedPush) time.Duration { return u.SlotWait })), fmt.Sprint(v.Ahead),
			fmt.Sprintf("%d of %d", v.Environments+len(v.Unrelated)-len(v.Wrong), v.Environments+len(v.Unrelated))})
	}
	b.table([]string{"variant", "reserved concurrency", "wall (all)", "registered", "slots reserved", "RegisterTaskDefinition throttled", "invocation errors",
		"unrelated: p95 lead", "median queued", "median slot wait", "most slots ahead", "on highest version"}, t)
}
