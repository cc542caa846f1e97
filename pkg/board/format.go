package board

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Format is how a board is written.
type Format string

// The formats.
const (
	// Table is for people: an aligned grid that fits a terminal, then a
	// line for each thing that wants attention.
	Table Format = "table"
	// JSON is the grid as JSON, for programs.
	JSON Format = "json"
	// HTML is a self-contained page.
	HTML Format = "html"
)

// Formats are the formats, in the order usage messages name them.
var Formats = []Format{Table, JSON, HTML}

// ParseFormat returns the format named s. It returns an error naming the
// formats for any other name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (want table, json or html)", s)
}

// Options are how a grid is written; each format reads its own.
type Options struct {
	// Color paints the table's cells by state (ANSI): for a terminal.
	Color bool
	// Width is the table's width in columns; 0 is DefaultWidth.
	Width int
	// HTML are the options of the HTML format.
	HTML HTMLOptions
}

// DefaultWidth is the width a table fits when Options.Width is 0.
const DefaultWidth = 120

// Write writes g to w in format f. It returns the writer's error, and an
// error for an unknown format.
func Write(w io.Writer, g Grid, f Format, opts Options) error {
	switch f {
	case Table:
		return WriteTable(w, g, opts)
	case JSON:
		return WriteJSON(w, g)
	case HTML:
		return WriteHTML(w, g, opts.HTML)
	}
	return fmt.Errorf("unknown format %q (want table, json or html)", f)
}

// WriteJSON writes g as indented JSON, HTML characters unescaped, with a
// final newline.
func WriteJSON(w io.Writer, g Grid) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		return fmt.Errorf("encode board: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// timeFormat is how times are written for people: in UTC, so that everyone
// reading a shared board sees the same.
const timeFormat = "2006-01-02 15:04 UTC"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// formatAge is a duration in its largest unit: 45s, 12m, 5h, 3d.
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// formatPercent is a share of traffic: 5%, 0.5%.
func formatPercent(p float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", p), "0"), ".") + "%"
}

// shortDigest is "sha256:" and the first 12 hex digits of a digest.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}

// elide cuts s to n characters, ending it with an ellipsis when it is cut.
func elide(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	if n == 1 {
		return "…"
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// elideMiddle cuts s to n characters by replacing its middle with an
// ellipsis, so that both the start and the end of a long name (the team
// and the service of "team/platform/billing-api") stay.
func elideMiddle(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 2 {
		return elide(s, n)
	}
	r := []rune(s)
	tail := (n - 1) / 2
	head := n - 1 - tail
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// note is one thing to say of a cell below the grid; command, when set, is
// what the reader runs about it, written on the next line.
type note struct {
	Text, Command string
}

// cellNotes are what a cell says beyond its version, state and age (below
// the grid in the table, in the cell in HTML): what could
// not be read, the failure that failed it, the approval it waits for, its
// drift, its rollout's stage and traffic, its freeze, its held versions.
func cellNotes(c Cell) []note {
	var notes []note
	if c.State == Unknown {
		notes = append(notes, note{Text: "unknown: " + c.Error})
	}
	if c.State == Failed && c.Failed != nil {
		notes = append(notes, note{Text: failureText(*c.Failed)})
	}
	if c.Approval != nil {
		notes = append(notes, note{Text: approvalText(*c.Approval), Command: c.Approve})
	}
	for _, d := range c.Drift {
		notes = append(notes, note{Text: "drift: " + driftText(d)})
	}
	if c.Progress != nil && c.Rollout == state.InProgress {
		notes = append(notes, note{Text: progressText(*c.Progress)})
	}
	if c.Freeze != nil {
		notes = append(notes, note{Text: freezeText(*c.Freeze)})
	}
	if len(c.Held) > 0 {
		notes = append(notes, note{Text: "held " + strings.Join(c.Held, ", ")})
	}
	return notes
}

// progressText says how a traffic-shifting rollout stands: "canary,
// PRODUCTION_TRAFFIC_SHIFT, 5% of production traffic, bake ends …".
func progressText(p Progress) string {
	parts := []string{p.Strategy}
	if p.Stage != "" {
		parts = append(parts, p.Stage)
	}
	if p.TrafficPercent != nil {
		parts = append(parts, formatPercent(*p.TrafficPercent)+" of production traffic")
	}
	if p.Baking {
		bake := "baking"
		if p.BakeEnds != nil {
			bake += " until " + formatTime(*p.BakeEnds)
		}
		parts = append(parts, bake)
	}
	return strings.Join(parts, ", ")
}

// approvalText says what waits for approval: "1.2.0 waits at
// post-test-traffic-shift, expires …".
func approvalText(a Approval) string {
	s := "waits"
	if a.Version != "" {
		s = a.Version + " waits"
	}
	if a.Stage != "" {
		s += " at " + a.Stage
	}
	if a.Expires != nil {
		s += ", expires " + formatTime(*a.Expires)
	}
	return s
}

// freezeText says until when an environment is frozen.
func freezeText(f Freeze) string {
	s := "frozen"
	if f.Until != nil {
		s += " until " + formatTime(*f.Until)
	}
	if len(f.Calendars) > 0 {
		s += " (" + strings.Join(f.Calendars, ", ") + ")"
	}
	return s
}

// driftText says what ECS runs instead of the record.
func driftText(d ServiceDrift) string {
	return fmt.Sprintf("%s runs %s, recorded %s", d.Service, d.Running, d.Recorded)
}

// failureText says what failed: "1.9.0 failed 2026-11-30 09:00 UTC: reason".
func failureText(f state.Failure) string {
	s := f.Version + " failed"
	if !f.Time.IsZero() {
		s += " " + formatTime(f.Time)
	}
	if f.Reason != "" {
		s += ": " + f.Reason
	}
	return s
}
