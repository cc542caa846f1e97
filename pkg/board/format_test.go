package board

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// render writes the seeded fleet in a format.
func render(t *testing.T, f Format, opts Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, Layout(seedFleet(), seedNow), f, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		opts   Options
	}{
		{"board.txt", Table, Options{}},
		{"board-color.txt", Table, Options{Color: true}},
		{"board-80.txt", Table, Options{Width: 80}},
		{"board.json", JSON, Options{}},
		{"board.html", HTML, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			golden(t, tt.file, render(t, tt.format, tt.opts))
		})
	}
}

// ansi matches a colour escape.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestTableFits checks that every line of the table, but a command to
// copy, fits the width, with and without colour.
func TestTableFits(t *testing.T) {
	for _, width := range []int{120, 100, 80, 60, 40} {
		for _, color := range []bool{false, true} {
			out := render(t, Table, Options{Width: width, Color: color})
			if color != strings.Contains(out, "\x1b[") {
				t.Errorf("width %d, color %v: escapes present = %v", width, color, !color)
			}
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				plain := ansi.ReplaceAllString(line, "")
				if n := utf8.RuneCountInString(plain); n > width && !strings.HasPrefix(plain, "  ecrdeploy approve ") {
					t.Errorf("width %d, color %v: a line of %d characters: %q", width, color, n, plain)
				}
			}
		}
	}
}

// TestTableElides checks that a long repository name is cut in its middle
// and a long environment name at its end, each with an ellipsis.
func TestTableElides(t *testing.T) {
	b := Board{Repositories: []Repository{{
		Name:         "team/platform/a-very-long-repository-name-for-the-service",
		Environments: []Environment{{Name: "an-environment-with-a-name-that-goes-on-and-on"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "e"}, {Name: "f"}, {Name: "g"}},
	}}}
	var buf bytes.Buffer
	if err := WriteTable(&buf, Layout(b, seedNow), Options{Width: 100}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"team/platf…e-service", "an-environment-with-a-…"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// TestTableSplits checks that environments that do not fit side by side
// are written as several grids of the same rows.
func TestTableSplits(t *testing.T) {
	var envs []Environment
	for _, name := range []string{"e01", "e02", "e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10", "e11", "e12"} {
		envs = append(envs, completed(name, "", "1.0.0", 0))
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, Layout(Board{Repositories: []Repository{{Name: "web", Environments: envs}}}, seedNow), Options{Width: 80}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "REPOSITORY"); n != 3 {
		t.Errorf("%d grids, want 3 (5, 5 and 2 environments of 12 in 80 columns):\n%s", n, out)
	}
	for _, e := range envs {
		if !strings.Contains(out, e.Name) {
			t.Errorf("no column %s", e.Name)
		}
	}
}

// TestJSONFields pins the JSON field names programs read.
func TestJSONFields(t *testing.T) {
	var doc struct {
		At           string         `json:"at"`
		Environments []string       `json:"environments"`
		Counts       map[string]int `json:"counts"`
		Repositories []struct {
			Repository string `json:"repository"`
			Error      string `json:"error"`
			Cells      []struct {
				Environment string `json:"environment"`
				State       string `json:"state"`
				Version     string `json:"version"`
				AgeSeconds  *int64 `json:"ageSeconds"`
				Approve     string `json:"approve"`
				Held        []string
				Progress    *struct {
					TrafficPercent *float64 `json:"trafficPercent"`
					Baking         bool     `json:"baking"`
				} `json:"progress"`
				Freeze *struct {
					Until string `json:"until"`
				} `json:"freeze"`
				Drift []struct {
					Running string `json:"running"`
				} `json:"drift"`
			} `json:"cells"`
		} `json:"repositories"`
	}
	dec := json.NewDecoder(strings.NewReader(render(t, JSON, Options{})))
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range doc.Repositories {
		for _, c := range r.Cells {
			states[r.Repository+"/"+c.Environment] = c.State
		}
	}
	want := map[string]string{
		"billing/dev": "completed", "billing/staging": "failed", "billing/production": "completed",
		"hello-color/dev": "completed", "hello-color/staging": "completed", "hello-color/production": "awaiting-approval",
		"orders/dev": "completed", "orders/staging": "completed", "orders/production": "frozen",
		"payments/dev": "drift", "payments/prod": "completed", "payments/perf": "unknown",
		"search/dev": "in-progress", "search/qa": "completed", "search/production": "baking",
		"team/platform/notifications-dispatcher-service/dev":     "completed",
		"team/platform/notifications-dispatcher-service/staging": "no-record",
	}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if got := doc.Environments; !cmp.Equal(got, []string{"dev", "perf", "prod", "qa", "staging", "production"}) {
		t.Errorf("environments %q", got)
	}
	if doc.At != "2026-11-30T12:00:00Z" || doc.Counts["completed"] != 9 {
		t.Errorf("at %s, counts %v", doc.At, doc.Counts)
	}
}

// TestHTMLSelfContained checks that the page fetches nothing and runs
// nothing: no script, no external style sheet, font, image or frame.
func TestHTMLSelfContained(t *testing.T) {
	for _, opts := range []HTMLOptions{{}, {Fragment: true, Theme: Dark, Width: 600, Height: 300}} {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, Layout(seedFleet(), seedNow), opts); err != nil {
			t.Fatal(err)
		}
		page := strings.ToLower(buf.String())
		for _, bad := range []string{"<script", "javascript:", "<link", "<img", "<iframe", "<use", "@import", "url(", "src=", "href=", "@font-face", " on"} {
			if bad == " on" {
				if m := regexp.MustCompile(`\son[a-z]+=`).FindString(page); m != "" {
					t.Errorf("%+v: an event handler attribute %q", opts, m)
				}
				continue
			}
			if strings.Contains(page, bad) {
				t.Errorf("%+v: the page contains %q", opts, bad)
			}
		}
	}
}

// TestHTMLOptions checks the theme, the size and the fragment.
func TestHTMLOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      HTMLOptions
		want, not []string
	}{
		{"page, following the reader's scheme", HTMLOptions{},
			[]string{"<!DOCTYPE html>", `<section class="ecrdeploy-board">`, "@media (prefers-color-scheme:dark){.ecrdeploy-board:not(.theme-light){"},
			[]string{"cwdb-no-default-styles", "style=\"max-"}},
		{"dark widget", HTMLOptions{Fragment: true, Theme: Dark, Width: 1200, Height: 400},
			[]string{`<div class="cwdb-no-default-styles"></div>`, `<section class="ecrdeploy-board theme-dark" style="max-width:1200px;max-height:400px">`},
			[]string{"<!DOCTYPE", "<html", "<body", "<h1>"}},
		{"light widget, narrow", HTMLOptions{Fragment: true, Theme: Light, Width: 500},
			[]string{`<section class="ecrdeploy-board theme-light compact" style="max-width:500px">`},
			[]string{"<!DOCTYPE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteHTML(&buf, Layout(seedFleet(), seedNow), tt.opts); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("has %q", n)
				}
			}
		})
	}
}

// TestHTMLEscapes checks that names from the fleet cannot inject markup.
func TestHTMLEscapes(t *testing.T) {
	b := Board{Repositories: []Repository{{Name: "web", Error: `<script>alert(1)</script>`, Environments: []Environment{
		{Name: "dev", Error: `"><img src=x onerror=alert(1)>`},
	}}}}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, Layout(b, seedNow), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "<script>") || strings.Contains(out, "<img") {
		t.Errorf("markup from the fleet went through:\n%s", out)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || err.Error() != `unknown format "yaml" (want table, json or html)` {
		t.Errorf("ParseFormat(yaml) error %v", err)
	}
}

func TestElide(t *testing.T) {
	tests := []struct {
		s      string
		n      int
		end    string
		middle string
	}{
		{"hello", 5, "hello", "hello"},
		{"hello", 4, "hel…", "he…o"},
		{"hello", 1, "…", "…"},
		{"hello", 0, "", ""},
		{"héllo wörld", 6, "héllo…", "hél…ld"},
	}
	for _, tt := range tests {
		if got := elide(tt.s, tt.n); got != tt.end {
			t.Errorf("elide(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.end)
		}
		if got := elideMiddle(tt.s, tt.n); got != tt.middle {
			t.Errorf("elideMiddle(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.middle)
		}
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		natural []int
		total   int
		want    []int
	}{
		{[]int{5, 10, 20}, 40, []int{5, 10, 20}},
		{[]int{5, 10, 20}, 30, []int{5, 10, 15}},
		{[]int{5, 20, 20}, 30, []int{5, 13, 12}},
		{[]int{}, 10, []int{}},
	}
	for _, tt := range tests {
		if got := fit(tt.natural, tt.total); !cmp.Equal(got, tt.want) {
			t.Errorf("fit(%v, %d) = %v, want %v", tt.natural, tt.total, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		s     string
		width int
		want  []string
	}{
		{"a short line", 20, []string{"a short line"}},
		{"one two three four", 9, []string{"one two", "  three", "  four"}},
		{"abcdefghijkl mn", 5, []string{"abcde", "  fgh", "  ijk", "  l", "  mn"}},
		{"", 5, []string{""}},
	}
	for _, tt := range tests {
		if got := wrap(tt.s, tt.width, "  "); !cmp.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
	}
}
