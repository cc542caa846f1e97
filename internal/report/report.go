// Package report writes deployment results for people: aligned tables of
// the outcome per service, and of what runs in each environment, coloured
// on request. The ecrdeploy CLI and the demo print results with it.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// ANSI colours. Every code is two digits, so that every coloured cell carries
// the same number of invisible bytes (see Tables.paint).
const (
	colorRed     = "31"
	colorGreen   = "32"
	colorYellow  = "33"
	colorCyan    = "36"
	colorDefault = "39"
	colorBold    = "01"
)

// Tables writes results for people: aligned columns, outcomes and rollouts
// coloured (ANSI) when Color is set. Write errors are ignored, as for
// fmt.Fprint to a terminal.
type Tables struct {
	W     io.Writer
	Color bool
}

// paint colours s. tabwriter counts escape sequences as width, so a column
// stays aligned only if every cell in it, header included, carries escapes of
// the same length: callers paint every cell of a coloured column, with
// colorDefault where there is nothing to say.
func (t *Tables) paint(code, s string) string {
	if !t.Color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// outcomeColor is the colour of an outcome.
func outcomeColor(o deploy.Outcome) string {
	switch o {
	case deploy.Deployed:
		return colorGreen
	case deploy.Skipped:
		return colorYellow
	case deploy.Planned:
		return colorCyan
	case deploy.Failed:
		return colorRed
	}
	return colorDefault
}

// rolloutColor is the colour of a rollout status.
func rolloutColor(r state.Rollout) string {
	switch r {
	case state.Completed:
		return colorGreen
	case state.Failed:
		return colorRed
	case state.InProgress:
		return colorYellow
	}
	return colorDefault
}

func (t *Tables) newTabwriter() *tabwriter.Writer {
	return tabwriter.NewWriter(t.W, 0, 0, 2, ' ', 0)
}

// Results writes the result of a deploy, promote, rollback or plan: a line
// naming the image, a row per service, then the errors of failed services
// and the task definition diffs of planned ones. A result without rows (a
// rejected request) writes nothing: its error goes to standard error.
func (t *Tables) Results(res deploy.Result) {
	if len(res.Results) == 0 {
		return
	}
	if head := imageLine(res); head != "" {
		fmt.Fprintln(t.W, head)
	}
	withRollout := false
	for _, r := range res.Results {
		withRollout = withRollout || r.Rollout != ""
	}
	tw := t.newTabwriter()
	header := "ENVIRONMENT\tSERVICE\t" + t.paint(colorDefault, "OUTCOME") + "\tREASON\t"
	if withRollout {
		header += t.paint(colorDefault, "ROLLOUT") + "\t"
	}
	fmt.Fprintln(tw, header+"TASK DEFINITION")
	for _, r := range res.Results {
		outcome := string(r.Outcome)
		row := dash(r.Environment) + "\t" + dash(r.Service) + "\t" + t.paint(outcomeColor(r.Outcome), dash(outcome)) + "\t" + dash(string(r.Reason)) + "\t"
		if withRollout {
			row += t.paint(rolloutColor(r.Rollout), dash(string(r.Rollout))) + "\t"
		}
		fmt.Fprintln(tw, row+taskDefinitionChange(r))
	}
	tw.Flush()

	var failed []deploy.Row
	for _, r := range res.Results {
		if r.Error != "" {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(t.W)
		for _, r := range failed {
			fmt.Fprintf(t.W, "%s: %s\n", t.paint(colorRed, serviceLabel(r)), r.Error)
		}
	}
	t.notes(res.Results)
	for _, r := range res.Results {
		if r.Diff == "" {
			continue
		}
		fmt.Fprintf(t.W, "\n%s\n", t.paint(colorBold, fmt.Sprintf("=== %s: %s", serviceLabel(r), outcomeLabel(r))))
		if r.Update != "" {
			fmt.Fprintf(t.W, "UpdateService also sends: %s\n", r.Update)
		}
		t.diff(r.Diff)
	}
}

// notes writes what rows of a deployment of the blue-green family say
// beyond the table: where a waited deployment got to, a pause that awaits
// approval (with the commands that answer it) or was answered, and what a
// row without an outcome did (a deployment stopped by a rollback). A
// result without such rows writes nothing.
func (t *Tables) notes(rows []deploy.Row) {
	var lines []string
	for _, r := range rows {
		label := serviceLabel(r)
		switch a := r.Approval; {
		case a != nil && a.Decision == deploy.DecisionApproved:
			lines = append(lines, fmt.Sprintf("%s: approved at %s: ECS continues the deployment", t.paint(colorGreen, label), a.Stage))
		case a != nil && a.Decision == deploy.DecisionRejected:
			lines = append(lines, fmt.Sprintf("%s: rejected at %s (%s): ECS rolls the deployment back; its version is held", t.paint(colorRed, label), a.Stage, a.Reason))
		case a != nil:
			lines = append(lines, t.paint(colorYellow, label)+": "+AwaitingText(*a))
		case r.Reached != "":
			lines = append(lines, fmt.Sprintf("%s: reached %s (%s); the rollout goes on", t.paint(colorGreen, label), r.Reached, r.Stage))
		case r.Stage != "":
			lines = append(lines, label+": "+r.Stage)
		}
		if r.Outcome == "" && r.Detail != "" && r.Error == "" {
			lines = append(lines, label+": "+r.Detail)
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(t.W)
	for _, l := range lines {
		fmt.Fprintln(t.W, l)
	}
}

// AwaitingText says where a deployment waits for approval, until when, and
// how to answer: "awaiting approval at post-test-traffic-shift until
// 2026-12-02 09:48 UTC: ecrdeploy approve hello-color --env production (or
// ecrdeploy reject hello-color --env production --reason TEXT)".
func AwaitingText(a deploy.Approval) string {
	text := "awaiting approval at " + a.Stage
	if a.Expires != nil {
		text += " until " + a.Expires.UTC().Format("2006-01-02 15:04 UTC")
	}
	if a.Approve != "" {
		text += ": " + a.Approve
		if a.Reject != "" {
			text += " (or " + a.Reject + ")"
		}
	}
	return text
}

// imageLine names the image a result is about: "repo:tag (sha256:0123456789ab)".
func imageLine(res deploy.Result) string {
	if res.Repository == "" {
		return ""
	}
	s := res.Repository
	if res.Tag != "" {
		s += ":" + res.Tag
	}
	var more []string
	if res.Version != "" && res.Version != strings.TrimPrefix(res.Tag, "v") {
		more = append(more, "version "+res.Version)
	}
	if res.Digest != "" {
		more = append(more, ShortDigest(res.Digest))
	}
	if res.Cause != "" {
		more = append(more, string(res.Cause))
	}
	if len(more) > 0 {
		s += " (" + strings.Join(more, ", ") + ")"
	}
	return s
}

// serviceLabel is "environment/service", or whatever of it is known.
func serviceLabel(r deploy.Row) string {
	switch {
	case r.Environment == "":
		return dash(r.Service)
	case r.Service == "":
		return r.Environment
	}
	return r.Environment + "/" + r.Service
}

// outcomeLabel is "planned", or "planned (reason)".
func outcomeLabel(r deploy.Row) string {
	if r.Reason != "" {
		return string(r.Outcome) + " (" + string(r.Reason) + ")"
	}
	return string(r.Outcome)
}

// taskDefinitionChange is the TASK DEFINITION cell: "family:4 -> family:5"
// for a change, "family:4 -> new revision" for a plan, else the revision the
// service runs or will run.
func taskDefinitionChange(r deploy.Row) string {
	prev, next := ecsref.FamilyRevision(r.PreviousTaskDefinition), ecsref.FamilyRevision(r.TaskDefinition)
	switch {
	case r.Outcome == deploy.Planned && next == "" && prev != "":
		return prev + " -> new revision"
	case prev != "" && next != "" && prev != next:
		return prev + " -> " + next
	case next != "":
		return next
	}
	return dash(prev)
}

// diff writes a unified diff, coloured by line on a terminal.
func (t *Tables) diff(d string) {
	for line := range strings.SplitSeq(strings.TrimSuffix(d, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
			line = t.paint(colorBold, line)
		case strings.HasPrefix(line, "@@"):
			line = t.paint(colorCyan, line)
		case strings.HasPrefix(line, "+"):
			line = t.paint(colorGreen, line)
		case strings.HasPrefix(line, "-"):
			line = t.paint(colorRed, line)
		}
		fmt.Fprintln(t.W, line)
	}
}

// Status writes the answer of a status request, a row per environment.
func (t *Tables) Status(res deploy.Result) {
	if len(res.Environments) == 0 {
		if len(res.Results) > 0 {
			t.Results(res)
		}
		return
	}
	tw := t.newTabwriter()
	fmt.Fprintln(tw, "ENVIRONMENT\tTRIGGER\tVERSION\tDIGEST\t"+t.paint(colorDefault, "ROLLOUT")+"\tHELD\tTASK DEFINITION\tDEPLOYED")
	for _, e := range res.Environments {
		tds := make([]string, 0, len(e.Services))
		for _, s := range e.Services {
			switch {
			case s.Drift:
				// Someone changed the service outside ecrdeploy.
				tds = append(tds, ecsref.FamilyRevision(s.TaskDefinition)+" (drift: ECS runs "+ecsref.FamilyRevision(s.Running)+")")
			case s.TaskDefinition != "":
				tds = append(tds, ecsref.FamilyRevision(s.TaskDefinition))
			}
		}
		version := e.Version
		if e.Tag != "" && e.Tag != e.Version && e.Tag != "v"+e.Version {
			version += " (" + e.Tag + ")"
		}
		rollout := string(e.Rollout)
		if stages := stagesOf(e); stages != "" {
			// Where a deployment of the blue-green family is.
			rollout += " (" + stages + ")"
		}
		fmt.Fprintln(tw, strings.Join([]string{
			e.Environment, dash(string(e.Trigger)), dash(version), dash(ShortDigest(e.Digest)),
			t.paint(rolloutColor(e.Rollout), dash(rollout)),
			dash(strings.Join(e.Held, ", ")), dash(strings.Join(tds, ", ")), dash(deployedLabel(e)),
		}, "\t"))
	}
	tw.Flush()
	for _, e := range res.Environments {
		if e.Failed != nil {
			line := fmt.Sprintf("%s: %s failed", e.Environment, e.Failed.Version)
			if e.Failed.Reason != "" {
				line += ": " + e.Failed.Reason
			}
			fmt.Fprintln(t.W, t.paint(colorRed, line))
		}
		if e.Error != "" {
			fmt.Fprintln(t.W, t.paint(colorRed, e.Environment+": "+e.Error))
		}
		if e.Approval != nil {
			fmt.Fprintln(t.W, t.paint(colorYellow, e.Environment+": "+AwaitingText(*e.Approval)))
		}
	}
}

// stagesOf is what the services of an environment say of a deployment of
// the blue-green family in progress ("canary 10 %, baking, 12 of 15 min"),
// each stage once; "" when none says anything.
func stagesOf(e deploy.EnvironmentStatus) string {
	var stages []string
	for _, s := range e.Services {
		if s.Stage != "" && !slices.Contains(stages, s.Stage) {
			stages = append(stages, s.Stage)
		}
	}
	return strings.Join(stages, "; ")
}

// History writes the answer of a history request: a row per change of an
// environment's state record, newest first.
func (t *Tables) History(res deploy.Result) {
	if len(res.History) == 0 {
		if res.Error == "" {
			fmt.Fprintln(t.W, "no history: nothing was deployed")
		}
		return
	}
	tw := t.newTabwriter()
	fmt.Fprintln(tw, "TIME\tENVIRONMENT\tVERSION\tDIGEST\tTRIGGER\tBY\t"+t.paint(colorDefault, "ROLLOUT")+"\tHELD")
	for _, h := range res.History {
		version := h.Version
		if h.Tag != "" && h.Tag != h.Version && h.Tag != "v"+h.Version {
			version += " (" + h.Tag + ")"
		}
		fmt.Fprintln(tw, strings.Join([]string{
			h.Time.UTC().Format("2006-01-02 15:04:05 UTC"), h.Environment, dash(version), dash(ShortDigest(h.Digest)),
			dash(string(h.Trigger)), dash(h.EventID), t.paint(rolloutColor(h.Rollout), dash(string(h.Rollout))),
			dash(strings.Join(h.Held, ", ")),
		}, "\t"))
	}
	tw.Flush()
}

// deployedLabel is the DEPLOYED cell: "2025-06-01 10:04 UTC by promote". Times
// are in UTC so that everyone reading a shared log sees the same.
func deployedLabel(e deploy.EnvironmentStatus) string {
	var parts []string
	if e.DeployedAt != nil && !e.DeployedAt.IsZero() {
		parts = append(parts, e.DeployedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if e.DeployedBy != "" {
		parts = append(parts, "by "+string(e.DeployedBy))
	}
	return strings.Join(parts, " ")
}

// ShortDigest is "sha256:" and the first 12 hex digits of a digest.
func ShortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}

// dash is s, or "-" for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
