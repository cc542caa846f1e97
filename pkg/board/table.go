package board

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// stateColors are the ANSI colours of the states on a terminal.
var stateColors = map[State]string{
	Unknown:          "91", // bright red
	Failed:           "31", // red
	AwaitingApproval: "33", // yellow
	Drift:            "35", // magenta
	Baking:           "96", // bright cyan
	InProgress:       "36", // cyan
	Frozen:           "94", // bright blue
	Completed:        "32", // green
	NoRecord:         "90", // grey
}

// Table layout.
const (
	gap       = 2  // spaces between columns
	minColumn = 10 // the narrowest an environment's column gets before the table is split
	minRepo   = 16 // the repository column is cut to no less than this, or a fifth of the width
)

// WriteTable writes g for people, within opts.Width columns: a summary line;
// a grid with a row per repository (a cell per environment: the version and
// the deployment's age, the state, the held versions) and a column per
// environment, split into several grids of the same rows when there are
// more environments than fit; then a line for each thing that wants
// attention (a failure, an approval with the command that gives it, drift,
// a rollout's stage and traffic, a freeze, held versions, what could not be
// read), wrapped to the width. Names too long for their column are elided
// with an ellipsis; a command to copy has a line of its own and is never
// cut. With opts.Color,
// cells and lines are painted by state.
func WriteTable(w io.Writer, g Grid, opts Options) error {
	width := opts.Width
	if width <= 0 {
		width = DefaultWidth
	}
	t := table{color: opts.Color}
	head, counts := summary(g)
	t.line(elide(formatTime(g.At)+"  "+head, width))
	if counts != "" {
		t.line(elide(counts, width))
	}
	if len(g.Repositories) == 0 {
		t.line("no repositories are configured")
		_, err := io.WriteString(w, t.b.String())
		return err
	}

	cells := make([][][]string, len(g.Repositories)) // row, column, lines
	repoWidth := utf8.RuneCountInString("REPOSITORY")
	natural := make([]int, len(g.Environments))
	for i, env := range g.Environments {
		natural[i] = utf8.RuneCountInString(env)
	}
	for r, row := range g.Repositories {
		repoWidth = max(repoWidth, utf8.RuneCountInString(row.Repository))
		cells[r] = make([][]string, len(g.Environments))
		for i, env := range g.Environments {
			c, ok := row.Cell(env)
			if !ok {
				continue
			}
			cells[r][i] = cellLines(c)
			for _, l := range cells[r][i] {
				natural[i] = max(natural[i], utf8.RuneCountInString(l))
			}
		}
	}
	repoWidth = min(repoWidth, max(minRepo, width/5))

	for n, block := range blocks(natural, width-repoWidth) {
		if n > 0 {
			t.line("")
		}
		widths := fit(pick(natural, block), width-repoWidth-gap*len(block))
		head := []string{pad("REPOSITORY", repoWidth)}
		for k, i := range block {
			head = append(head, t.paint("01", pad(elide(g.Environments[i], widths[k]), widths[k])))
		}
		t.line(strings.Join(head, strings.Repeat(" ", gap)))
		for r, row := range g.Repositories {
			height := 1
			for _, i := range block {
				height = max(height, len(cells[r][i]))
			}
			for l := range height {
				name := ""
				if l == 0 {
					name = elideMiddle(row.Repository, repoWidth)
				}
				parts := []string{pad(name, repoWidth)}
				for k, i := range block {
					text := ""
					if l < len(cells[r][i]) {
						text = cells[r][i][l]
					}
					text = pad(elide(text, widths[k]), widths[k])
					if c, ok := row.Cell(g.Environments[i]); ok && text != "" {
						text = t.paint(stateColors[c.State], text)
					}
					parts = append(parts, text)
				}
				t.line(strings.Join(parts, strings.Repeat(" ", gap)))
			}
		}
	}

	first := true
	for _, row := range g.Repositories {
		if row.Error != "" {
			if first {
				t.line("")
				first = false
			}
			for _, l := range wrap(row.Repository+": "+row.Error, width, "    ") {
				t.line(t.paint(stateColors[Unknown], l))
			}
		}
		for _, env := range g.Environments {
			c, ok := row.Cell(env)
			if !ok {
				continue
			}
			for _, n := range cellNotes(c) {
				if first {
					t.line("")
					first = false
				}
				for _, l := range wrap(row.Repository+"/"+c.Name+": "+n.Text, width, "    ") {
					t.line(t.paint(stateColors[c.State], l))
				}
				if n.Command != "" {
					// On a line of its own, to copy; never cut.
					t.line("  " + n.Command)
				}
			}
		}
	}
	_, err := io.WriteString(w, t.b.String())
	return err
}

// table accumulates the lines of a table.
type table struct {
	b     strings.Builder
	color bool
}

// line adds a line, without trailing blanks.
func (t *table) line(s string) {
	t.b.WriteString(strings.TrimRight(s, " "))
	t.b.WriteByte('\n')
}

// paint colours s when the table is coloured.
func (t *table) paint(code, s string) string {
	if !t.color || code == "" {
		return s
	}
	// Trailing padding stays outside the colour, so that a line's trailing
	// blanks are still blanks.
	trimmed := strings.TrimRight(s, " ")
	if trimmed == "" {
		return s
	}
	return "\x1b[" + code + "m" + trimmed + "\x1b[0m" + s[len(trimmed):]
}

// summary is the board in short: "7 repositories, 18 environments", and
// the count of each state, "1 failed, 1 awaiting-approval, …, 11
// completed", in order of urgency.
func summary(g Grid) (head, counts string) {
	envs := 0
	for _, row := range g.Repositories {
		envs += len(row.Cells)
	}
	head = plural(len(g.Repositories), "repository", "repositories") + ", " + plural(envs, "environment", "environments")
	var parts []string
	for _, st := range States {
		if n := g.Counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	return head, strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// cellLines are the lines of a cell in the table: the version and the age
// of its deployment; the state, with the share of production traffic on
// the new revision while a rollout shifts it; the held versions, if any.
func cellLines(c Cell) []string {
	first := c.Version
	switch {
	case c.State == Unknown:
		first = "?"
	case first == "":
		first = "-"
	}
	if age, ok := c.Age(); ok {
		first += " " + formatAge(age)
	}
	second := string(c.State)
	if p := c.Progress; p != nil && p.TrafficPercent != nil && (c.State == InProgress || c.State == Baking || c.State == AwaitingApproval) {
		second += " " + formatPercent(*p.TrafficPercent)
	}
	lines := []string{first, second}
	if len(c.Held) > 0 {
		lines = append(lines, "held "+strings.Join(c.Held, ","))
	}
	return lines
}

// blocks splits the environment columns into groups that each fit in
// width (beside the repository column) at minColumn or more each: one
// group when they all do.
func blocks(natural []int, width int) [][]int {
	per := max(1, width/(minColumn+gap))
	var out [][]int
	for i := 0; i < len(natural); i += per {
		var b []int
		for k := i; k < min(i+per, len(natural)); k++ {
			b = append(b, k)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		out = append(out, nil)
	}
	return out
}

func pick(xs []int, idx []int) []int {
	out := make([]int, len(idx))
	for k, i := range idx {
		out[k] = xs[i]
	}
	return out
}

// fit returns column widths that add up to no more than total: the natural
// ones when they fit, otherwise the widest columns cut to a common width,
// as wide as total allows, and the narrow ones left as they are.
func fit(natural []int, total int) []int {
	w := slices.Clone(natural)
	sum := 0
	for _, n := range w {
		sum += n
	}
	if sum <= total || len(w) == 0 {
		return w
	}
	limit := max(1, total/len(w))
	for c := slices.Max(natural); c >= 1; c-- {
		s := 0
		for _, n := range natural {
			s += min(n, c)
		}
		if s <= total {
			limit = c
			break
		}
	}
	sum = 0
	for i, n := range natural {
		w[i] = min(n, limit)
		sum += w[i]
	}
	// What is left goes to the cut columns, one character each from the left.
	for i := range w {
		if sum >= total {
			break
		}
		if w[i] < natural[i] {
			w[i]++
			sum++
		}
	}
	return w
}

// pad pads s with blanks to n characters.
func pad(s string, n int) string {
	if k := n - utf8.RuneCountInString(s); k > 0 {
		return s + strings.Repeat(" ", k)
	}
	return s
}

// wrap breaks s into lines of at most width characters at blanks, the
// lines after the first indented; a word longer than a line is cut.
func wrap(s string, width int, indent string) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		prefix := ""
		if len(lines) > 0 {
			prefix = indent
		}
		switch {
		case line == "":
			line = prefix + word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = indent + word
		}
		for utf8.RuneCountInString(line) > width {
			r := []rune(line)
			lines = append(lines, string(r[:width]))
			line = indent + string(r[width:])
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}
