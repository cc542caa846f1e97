package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/report"
)

// printer writes the demo's story for people: headings, notes, tables and
// the outcome of each check, coloured on a terminal.
type printer struct {
	w     io.Writer
	color bool
}

// newPrinter returns a printer on w, coloured when w is a terminal and
// neither NO_COLOR nor TERM=dumb says otherwise.
func newPrinter(w io.Writer, getenv func(string) string) *printer {
	color := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			color = getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
		}
	}
	return &printer{w: w, color: color}
}

func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// heading starts a step: a blank line, then "== title" in bold.
func (p *printer) heading(format string, args ...any) {
	fmt.Fprintf(p.w, "\n%s\n", p.paint("1", "== "+fmt.Sprintf(format, args...)))
}

// say writes one line.
func (p *printer) say(format string, args ...any) {
	fmt.Fprintf(p.w, format+"\n", args...)
}

// ok writes a check that held.
func (p *printer) ok(format string, args ...any) {
	fmt.Fprintf(p.w, "%s %s\n", p.paint("32", "ok"), fmt.Sprintf(format, args...))
}

// failed writes a check that did not hold.
func (p *printer) failed(format string, args ...any) {
	fmt.Fprintf(p.w, "%s %s\n", p.paint("31", "FAILED"), fmt.Sprintf(format, args...))
}

// tables returns the report writer of results and status tables.
func (p *printer) tables() *report.Tables {
	return &report.Tables{W: p.w, Color: p.color}
}

// table writes rows as aligned columns, the first row being the header.
func (p *printer) table(rows [][]string) {
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// indent writes text with every line indented by two spaces.
func (p *printer) indent(text string) {
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(p.w, "  "+line)
	}
}

// seconds formats a duration as "1.2s", or "40ms" under a second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
