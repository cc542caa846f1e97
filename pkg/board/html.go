package board

import (
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Theme is the colour scheme of the HTML board.
type Theme string

// The themes.
const (
	// Auto follows the reader's preference (prefers-color-scheme).
	Auto Theme = ""
	// Light and Dark force one scheme, whatever the reader's preference:
	// the CloudWatch console has its own setting, which the page cannot
	// see.
	Light Theme = "light"
	Dark  Theme = "dark"
)

// HTMLOptions are how the HTML board is written.
type HTMLOptions struct {
	// Theme forces a colour scheme; Auto follows the reader's.
	Theme Theme
	// Fragment writes the board without the page around it (no html, head
	// or body element), for a host that embeds it: a CloudWatch dashboard's
	// custom widget. It also turns off the dashboard's default styles,
	// which the board's own replace.
	Fragment bool
	// Width and Height, in CSS pixels, bound the board (0: unbounded); it
	// scrolls within them. A narrow board leaves out the secondary details
	// (digests).
	Width, Height int
}

// compactWidth is the width under which the board leaves out secondary
// details.
const compactWidth = 720

// palette is the colours of one scheme: the page's, then a background and a
// foreground per state.
type palette struct {
	bg, fg, muted, line, head, code string
	states                          map[State][2]string
}

var lightPalette = palette{
	bg: "#ffffff", fg: "#16191f", muted: "#545b64", line: "#d5dbdb", head: "#f2f3f3", code: "#f4f4f4",
	states: map[State][2]string{
		Unknown:          {"#efefef", "#8a1c1c"},
		Failed:           {"#fde7e7", "#a4161a"},
		AwaitingApproval: {"#fff3cd", "#7a4f00"},
		Drift:            {"#f5e6f7", "#7a2685"},
		Baking:           {"#e0f5f3", "#0a6660"},
		InProgress:       {"#e5f1fb", "#0b5394"},
		Frozen:           {"#e9edf9", "#2f418a"},
		Completed:        {"#eaf6ec", "#1a6a2c"},
		NoRecord:         {"#f7f7f7", "#5f6670"},
	},
}

var darkPalette = palette{
	bg: "#161d26", fg: "#e9ebed", muted: "#a3adb7", line: "#414d5c", head: "#1f2833", code: "#0f141a",
	states: map[State][2]string{
		Unknown:          {"#2b2b2b", "#ff9a9a"},
		Failed:           {"#4a161b", "#ffa3a3"},
		AwaitingApproval: {"#3d2f05", "#ffd86b"},
		Drift:            {"#3a1840", "#eeaaf7"},
		Baking:           {"#0d3533", "#86e5dd"},
		InProgress:       {"#0f2c45", "#95ccff"},
		Frozen:           {"#1e2747", "#b3c0ff"},
		Completed:        {"#12311d", "#8be09f"},
		NoRecord:         {"#1b222b", "#a3adb7"},
	},
}

// vars are a palette as CSS custom properties.
func (p palette) vars() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--bg:%s;--fg:%s;--muted:%s;--line:%s;--head:%s;--code:%s;", p.bg, p.fg, p.muted, p.line, p.head, p.code)
	for _, s := range States {
		fmt.Fprintf(&b, "--%s-bg:%s;--%s-fg:%s;", s, p.states[s][0], s, p.states[s][1])
	}
	return b.String()
}

// boardCSS is the board's style sheet. Every rule is under the board's
// class, so that embedded in a page (a CloudWatch dashboard) it changes
// nothing else; the light scheme is the default, the dark one applies when
// the reader prefers it (unless the light theme is forced) or when it is
// forced. Fonts are the reader's own: nothing is fetched.
var boardCSS = func() string {
	var b strings.Builder
	b.WriteString(".ecrdeploy-board{" + lightPalette.vars() + "color-scheme:light;")
	b.WriteString(`color:var(--fg);background:var(--bg);font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;padding:8px;box-sizing:border-box;overflow:auto}`)
	dark := "{" + darkPalette.vars() + "color-scheme:dark}"
	b.WriteString(".ecrdeploy-board.theme-dark" + dark)
	b.WriteString("@media (prefers-color-scheme:dark){.ecrdeploy-board:not(.theme-light)" + dark + "}")
	b.WriteString(`
.ecrdeploy-board *{box-sizing:border-box}
.ecrdeploy-board h1{font-size:16px;margin:0 0 4px}
.ecrdeploy-board .summary{margin:0 0 6px;color:var(--muted)}
.ecrdeploy-board .counts{list-style:none;margin:0 0 8px;padding:0;display:flex;flex-wrap:wrap;gap:4px}
.ecrdeploy-board .counts li{padding:1px 8px;border-radius:10px;font-weight:600}
.ecrdeploy-board table{border-collapse:separate;border-spacing:3px;width:100%}
.ecrdeploy-board th{background:var(--head);color:var(--fg);text-align:left;font-weight:600;padding:4px 8px;vertical-align:top}
.ecrdeploy-board thead th{white-space:nowrap;max-width:16em;overflow:hidden;text-overflow:ellipsis}
.ecrdeploy-board th.repository{max-width:20em}
.ecrdeploy-board th.repository .name{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.ecrdeploy-board td{vertical-align:top;padding:4px 8px 4px 10px;border-radius:3px;min-width:9em}
.ecrdeploy-board td.absent{background:transparent}
.ecrdeploy-board .version{font:600 13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:nowrap}
.ecrdeploy-board .state{font-weight:700;margin-left:6px;white-space:nowrap}
.ecrdeploy-board .age,.ecrdeploy-board .digest{color:var(--muted);font-size:12px}
.ecrdeploy-board .note{font-size:12px;margin-top:2px;overflow-wrap:anywhere}
.ecrdeploy-board code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);color:var(--fg);border:1px solid var(--line);border-radius:3px;padding:1px 4px;display:inline-block;margin-top:2px;user-select:all;overflow-wrap:anywhere}
.ecrdeploy-board .traffic{height:6px;border-radius:3px;background:var(--line);margin-top:3px;overflow:hidden}
.ecrdeploy-board .traffic span{display:block;height:100%;background:currentColor}
.ecrdeploy-board .error{color:var(--unknown-fg);font-weight:400;font-size:12px}
.ecrdeploy-board.compact .secondary{display:none}
`)
	for _, s := range States {
		fmt.Fprintf(&b, ".ecrdeploy-board .state-%[1]s{background:var(--%[1]s-bg);color:var(--fg)}", s)
		fmt.Fprintf(&b, ".ecrdeploy-board td.state-%[1]s{box-shadow:inset 4px 0 0 var(--%[1]s-fg)}", s)
		fmt.Fprintf(&b, ".ecrdeploy-board .state-%[1]s .state,.ecrdeploy-board li.state-%[1]s,.ecrdeploy-board .state-%[1]s .traffic{color:var(--%[1]s-fg)}\n", s)
	}
	return b.String()
}()

// htmlCell is a cell as the page shows it.
type htmlCell struct {
	State       State
	Environment string
	Version     string
	VersionInfo string // tag and digest, for the tooltip
	Digest      string
	Age         string
	AgeInfo     string // when it was deployed, for the tooltip
	Traffic     string // the traffic bar's width, a CSS percentage
	TrafficText string
	Notes       []note
}

// WriteHTML writes g as one self-contained HTML page (or, with
// opts.Fragment, the part of it to embed): no script, no external style
// sheet, font or image; its style sheet inline; readable in light and dark
// schemes. Every environment's cell carries its state as a class
// (state-failed) and as data-state, with data-repository and
// data-environment, so that tests and scripts can read the board from the
// document; a deployment that waits for approval shows the command that
// approves it. Every text from the fleet is escaped. It returns the
// writer's error.
//
// The page is written directly rather than with html/template, whose
// reflection keeps the linker from dropping unused methods and grew the
// functions that show the board by half.
func WriteHTML(w io.Writer, g Grid, opts HTMLOptions) error {
	var b strings.Builder
	p := func(parts ...string) {
		for _, s := range parts {
			b.WriteString(s)
		}
	}
	esc := html.EscapeString
	if !opts.Fragment {
		p(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>ecrdeploy release board</title>
<style>body{margin:0}</style>
</head>
<body>
`)
	} else {
		p(`<div class="cwdb-no-default-styles"></div>` + "\n")
	}
	class := "ecrdeploy-board"
	switch opts.Theme {
	case Light, Dark:
		class += " theme-" + string(opts.Theme)
	}
	if opts.Width > 0 && opts.Width < compactWidth {
		class += " compact"
	}
	var style []string
	if opts.Width > 0 {
		style = append(style, fmt.Sprintf("max-width:%dpx", opts.Width))
	}
	if opts.Height > 0 {
		style = append(style, fmt.Sprintf("max-height:%dpx", opts.Height))
	}
	p("<style>", boardCSS, "</style>\n", `<section class="`, class, `"`)
	if len(style) > 0 {
		p(` style="`, strings.Join(style, ";"), `"`)
	}
	p(">\n")
	if !opts.Fragment {
		p("<h1>Release board</h1>\n")
	}
	head, _ := summary(g)
	p(`<p class="summary">`, formatTime(g.At), " · ", esc(head), "</p>\n", `<ul class="counts">`)
	for _, s := range States {
		if n := g.Counts[s]; n > 0 {
			p(`<li class="state-`, string(s), `" data-state="`, string(s), `">`, strconv.Itoa(n), " ", string(s), "</li>")
		}
	}
	p("</ul>\n<table>\n", `<thead><tr><th scope="col" class="repository">repository</th>`)
	for _, env := range g.Environments {
		p(`<th scope="col" title="`, esc(env), `">`, esc(env), "</th>")
	}
	p("</tr></thead>\n<tbody>\n")
	for _, row := range g.Repositories {
		repo := esc(row.Repository)
		p(`<tr data-repository="`, repo, `"><th scope="row" class="repository" title="`, repo, `"><span class="name">`, repo, "</span>")
		if row.Error != "" {
			p(`<div class="error">`, esc(row.Error), "</div>")
		}
		p("</th>\n")
		for _, env := range g.Environments {
			c, ok := row.Cell(env)
			if !ok {
				p(`<td class="absent"></td>` + "\n")
				continue
			}
			h := newHTMLCell(c)
			st := string(h.State)
			p(`<td class="cell state-`, st, `" data-state="`, st, `" data-repository="`, repo, `" data-environment="`, esc(h.Environment), `">`+"\n")
			p(`<div><span class="version"`)
			if h.VersionInfo != "" {
				p(` title="`, esc(h.VersionInfo), `"`)
			}
			p(">", esc(h.Version), `</span><span class="state">`, st, "</span></div>\n")
			if h.Age != "" {
				p(`<div class="age" title="`, esc(h.AgeInfo), `">`, esc(h.Age), "</div>\n")
			}
			if h.Traffic != "" {
				p(`<div class="traffic" title="`, esc(h.TrafficText), `"><span style="width:`, h.Traffic, `"></span></div>`+"\n")
			}
			for _, n := range h.Notes {
				p(`<div class="note">`, esc(n.Text))
				if n.Command != "" {
					p(`<br><code class="approve">`, esc(n.Command), "</code>")
				}
				p("</div>\n")
			}
			if h.Digest != "" {
				p(`<div class="digest secondary">`, esc(h.Digest), "</div>\n")
			}
			p("</td>\n")
		}
		p("</tr>\n")
	}
	p("</tbody>\n</table>\n</section>\n")
	if !opts.Fragment {
		p("</body>\n</html>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// newHTMLCell prepares a cell for the page.
func newHTMLCell(c Cell) htmlCell {
	h := htmlCell{State: c.State, Environment: c.Name, Version: c.Version, Digest: shortDigest(c.Digest)}
	switch {
	case c.State == Unknown:
		h.Version = "?"
	case h.Version == "":
		h.Version = "-"
	}
	var info []string
	if c.Tag != "" && c.Tag != c.Version {
		info = append(info, "tag "+c.Tag)
	}
	if c.Digest != "" {
		info = append(info, c.Digest)
	}
	h.VersionInfo = strings.Join(info, ", ")
	if age, ok := c.Age(); ok {
		h.Age = formatAge(age) + " ago"
		if c.DeployedBy != "" {
			h.Age += " by " + string(c.DeployedBy)
		}
		h.AgeInfo = "deployed " + formatTime(*c.DeployedAt)
	}
	for _, n := range cellNotes(c) {
		h.Notes = append(h.Notes, note{Text: n.Text, Command: n.Command})
	}
	if c.Failed != nil && c.State != Failed {
		h.Notes = append(h.Notes, note{Text: "last failure: " + failureText(*c.Failed)})
	}
	if p := c.Progress; p != nil && c.Rollout == state.InProgress && p.TrafficPercent != nil {
		h.Traffic = fmt.Sprintf("%g%%", min(max(*p.TrafficPercent, 0), 100))
		h.TrafficText = formatPercent(*p.TrafficPercent) + " of production traffic on " + c.Version
	}
	return h
}
