package taskdef

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// diffContext is the number of unchanged lines shown around each change, as
// in `diff -u`.
const diffContext = 3

// Diff returns a unified diff (`--- nameA`, `+++ nameB`, `@@` hunks with
// three lines of context, in the format of `diff -u`) from the canonical
// form of a to that of b, or "" when they are the same.
//
// Unlike Equal, Diff includes the tags (sorted by key): a plan should show
// the tags the new revision will carry, even though tags alone never cause a
// registration. So Diff can be non-empty for two inputs that are Equal;
// callers that want a diff without tags clear Tags on copies first (Clone).
//
// Diff returns an error when a or b is nil.
func Diff(a, b *ecs.RegisterTaskDefinitionInput, nameA, nameB string) (string, error) {
	ca, err := canonical(a, true)
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", nameA, err)
	}
	cb, err := canonical(b, true)
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", nameB, err)
	}
	return unified(nameA, nameB, splitLines(string(ca)), splitLines(string(cb)), diffContext), nil
}

// splitLines splits newline-terminated text into its lines.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// edit is one line of an edit script: ' ' (in both), '-' (only in a) or
// '+' (only in b); a and b are the line's index in each input, or the index
// of the next line there for a line the input does not have.
type edit struct {
	op   byte
	a, b int
	text string
}

// unified formats the difference between lines a and b as a unified diff
// with context lines of context, or returns "" when they are equal.
func unified(nameA, nameB string, a, b []string, context int) string {
	script := editScript(a, b)
	var out strings.Builder
	for start := 0; start < len(script); {
		// Find the next change, then extend the hunk while the next change
		// is close enough that the contexts would touch.
		first := start
		for first < len(script) && script[first].op == ' ' {
			first++
		}
		if first == len(script) {
			break
		}
		last := first // index of the last change in the hunk
		for i := first + 1; i < len(script); i++ {
			if script[i].op == ' ' {
				continue
			}
			if i-last-1 > 2*context {
				break
			}
			last = i
		}
		lo := max(first-context, start)
		hi := min(last+context+1, len(script))
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
		}
		writeHunk(&out, script[lo:hi])
		start = hi
	}
	return out.String()
}

// writeHunk writes the header and lines of one hunk. As in GNU diff, a
// range of one line is written without its count, and an empty range names
// the line before it.
func writeHunk(out *strings.Builder, hunk []edit) {
	var na, nb int
	for _, e := range hunk {
		if e.op != '+' {
			na++
		}
		if e.op != '-' {
			nb++
		}
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(hunk[0].a, na), hunkRange(hunk[0].b, nb))
	for _, e := range hunk {
		out.WriteByte(e.op)
		out.WriteString(e.text)
		out.WriteByte('\n')
	}
}

func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	default:
		return fmt.Sprintf("%d,%d", start+1, n)
	}
}

// editScript returns a shortest edit script from a to b, with the deletions
// of each change before its insertions.
func editScript(a, b []string) []edit {
	d := differ{a: a, b: b, deleted: make([]bool, len(a)), inserted: make([]bool, len(b))}
	d.compare(0, len(a), 0, len(b))
	var script []edit
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && d.deleted[i]:
			script = append(script, edit{'-', i, j, a[i]})
			i++
		case j < len(b) && d.inserted[j]:
			script = append(script, edit{'+', i, j, b[j]})
			j++
		default:
			script = append(script, edit{' ', i, j, a[i]})
			i++
			j++
		}
	}
	return script
}

// differ is Myers' O(ND) difference algorithm in its linear-space form
// (E. Myers, "An O(ND) Difference Algorithm and Its Variations", 1986,
// section 4b): find the middle snake of an optimal path, then solve the
// halves before and after it. It marks the lines that are deleted from a
// and inserted into b; the unmarked lines form a longest common subsequence.
type differ struct {
	a, b              []string
	deleted, inserted []bool
}

func (d *differ) compare(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
		aLo++
		bLo++
	}
	for aLo < aHi && bLo < bHi && d.a[aHi-1] == d.b[bHi-1] {
		aHi--
		bHi--
	}
	switch {
	case aLo == aHi:
		for j := bLo; j < bHi; j++ {
			d.inserted[j] = true
		}
	case bLo == bHi:
		for i := aLo; i < aHi; i++ {
			d.deleted[i] = true
		}
	default:
		// With the common ends removed and both sides non-empty, at least
		// two edits are needed, so both halves are strictly smaller
		// problems.
		x, y, u, v, ok := d.middleSnake(aLo, aHi, bLo, bHi)
		if !ok {
			// Unreachable (the searches always meet); replacing the whole
			// range is still a correct, if long, script.
			d.compare(aLo, aHi, bHi, bHi)
			d.compare(aHi, aHi, bLo, bHi)
			return
		}
		d.compare(aLo, x, bLo, y)
		d.compare(u, aHi, v, bHi)
	}
}

// middleSnake returns the start (x, y) and end (u, v) of the middle snake of
// an optimal path from (aLo, bLo) to (aHi, bHi); ok is false only if the
// searches failed to meet, which cannot happen.
func (d *differ) middleSnake(aLo, aHi, bLo, bHi int) (x, y, u, v int, ok bool) {
	n, m := aHi-aLo, bHi-bLo
	delta := n - m
	odd := delta%2 != 0
	maxD := (n + m + 1) / 2
	off := maxD + 1
	// fwd[off+k]: furthest x reached on diagonal k = x-y going forwards from
	// (0, 0); bwd[off+k]: furthest distance from the end reached on reverse
	// diagonal k = (n-x)-(m-y) going backwards from (n, m).
	fwd := make([]int, 2*maxD+3)
	bwd := make([]int, 2*maxD+3)
	for D := 0; D <= maxD; D++ {
		for k := -D; k <= D; k += 2 {
			var px int
			if k == -D || (k != D && fwd[off+k-1] < fwd[off+k+1]) {
				px = fwd[off+k+1]
			} else {
				px = fwd[off+k-1] + 1
			}
			py := px - k
			sx, sy := px, py
			for px < n && py < m && d.a[aLo+px] == d.b[bLo+py] {
				px++
				py++
			}
			fwd[off+k] = px
			// The backward search has made D-1 steps; reverse diagonal
			// delta-k is reachable with D-1 steps only within that range.
			if kr := delta - k; odd && kr >= -(D-1) && kr <= D-1 && px+bwd[off+kr] >= n {
				return aLo + sx, bLo + sy, aLo + px, bLo + py, true
			}
		}
		for k := -D; k <= D; k += 2 {
			var rx int
			if k == -D || (k != D && bwd[off+k-1] < bwd[off+k+1]) {
				rx = bwd[off+k+1]
			} else {
				rx = bwd[off+k-1] + 1
			}
			ry := rx - k
			sx, sy := rx, ry
			for rx < n && ry < m && d.a[aHi-1-rx] == d.b[bHi-1-ry] {
				rx++
				ry++
			}
			bwd[off+k] = rx
			if kf := delta - k; !odd && kf >= -D && kf <= D && fwd[off+kf]+rx >= n {
				return aHi - rx, bHi - ry, aHi - sx, bHi - sy, true
			}
		}
	}
	return 0, 0, 0, 0, false
}
