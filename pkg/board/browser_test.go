package board

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// chromium returns the path of Chromium (Debian's package chromium). Without
// it the test is skipped, saying how to install it; in CI (CI=true), where
// .ci/run installs it, its absence fails the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const how = "Chromium is not installed: apt-get install chromium (Debian; the package .ci/run installs), then run this test again"
	if os.Getenv("CI") == "true" {
		t.Fatal(how + "; CI runs the board's browser test, it does not skip it")
	}
	t.Skip(how)
	return ""
}

// startBrowser starts a headless Chromium with a new, empty profile, and
// returns a tab's context. The flags keep it from reaching the network
// (updates, sync, QUIC) on machines that may have none. The browser stops
// when the test ends; the context's deadline only keeps a hung browser from
// hanging the test.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	return tab
}

// domCell is what the document says of one cell of the board.
type domCell struct {
	Repository  string `json:"repository"`
	Environment string `json:"environment"`
	State       string `json:"state"`
	Class       string `json:"class"`
	Column      string `json:"column"` // the text of the column's header
	Row         string `json:"row"`    // the title of the row's header
	Text        string `json:"text"`   // what a reader sees in the cell
	Background  string `json:"background"`
	StateColor  string `json:"stateColor"` // the colour of the state's word
	Approve     string `json:"approve"`
}

// readCells reads every cell that has a state from the document.
const readCells = `Array.from(document.querySelectorAll("td[data-state]")).map(td => {
	const table = td.closest("table");
	const label = td.querySelector(".state");
	const approve = td.querySelector("code.approve");
	return {
		repository: td.dataset.repository,
		environment: td.dataset.environment,
		state: td.dataset.state,
		class: td.className,
		column: table.tHead.rows[0].cells[td.cellIndex].textContent,
		row: td.parentElement.querySelector("th").title,
		text: td.innerText,
		background: getComputedStyle(td).backgroundColor,
		stateColor: label ? getComputedStyle(label).color : "",
		approve: approve ? approve.innerText : "",
	};
})`

// readPage reads the board's own colours.
const readPage = `(() => {
	const s = getComputedStyle(document.querySelector(".ecrdeploy-board"));
	return {background: s.backgroundColor, color: s.color};
})()`

type pageColors struct {
	Background string `json:"background"`
	Color      string `json:"color"`
}

// TestBrowser renders the seeded fleet's page in headless Chromium and reads
// the board back from the document: every environment of the fleet is in
// its repository's row, under its name's column, with its state as a class
// and a data attribute, shown in words, painted by state; the approve
// command is shown where a deployment waits; every state's word is readable
// on its cell (WCAG AA contrast) in the light and dark schemes, chosen by
// the reader's preference or forced by the theme. It saves screenshots
// under the repository's bin/ directory for people to look at.
func TestBrowser(t *testing.T) {
	ctx := startBrowser(t)
	fleet := seedFleet()
	grid := Layout(fleet, seedNow)
	dir := t.TempDir()
	write := func(name string, opts HTMLOptions) string {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, grid, opts); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + path
	}
	page := write("board.html", HTMLOptions{})
	forcedDark := write("board-dark.html", HTMLOptions{Theme: Dark})

	schemes := []struct {
		name       string
		url        string
		prefer     string // the reader's prefers-color-scheme
		dark       bool
		screenshot string
	}{
		{"light", page, "light", false, "board.png"},
		{"dark by preference", page, "dark", true, "board-dark.png"},
		{"dark by theme", forcedDark, "light", true, ""},
	}
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: sc.prefer}},
			})
			if err != nil {
				t.Fatalf("emulate prefers-color-scheme %s: %v", sc.prefer, err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(sc.url)); err != nil {
				t.Fatalf("navigate: %v", err)
			}
			cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]domCell](readCells))
			if err != nil {
				t.Fatalf("read the cells: %v", err)
			}
			checkCells(t, fleet, cells)

			colors, err := chromedp.Run(ctx, chromedp.Evaluate[pageColors](readPage))
			if err != nil {
				t.Fatalf("read the page's colours: %v", err)
			}
			bg, fg := mustColor(t, colors.Background), mustColor(t, colors.Color)
			if isDark := luminance(bg) < luminance(fg); isDark != sc.dark {
				t.Errorf("page background %s, text %s: dark = %v, want %v", colors.Background, colors.Color, isDark, sc.dark)
			}
			for _, c := range cells {
				if r := contrast(mustColor(t, c.StateColor), mustColor(t, c.Background)); r < 4.5 {
					t.Errorf("%s/%s: the word %q has a contrast of %.2f on its cell, want 4.5 or more (%s on %s)",
						c.Repository, c.Environment, c.State, r, c.StateColor, c.Background)
				}
			}

			if sc.screenshot != "" {
				png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				saveScreenshot(t, sc.screenshot, png)
			}
		})
	}
}

// checkCells checks the cells read from the document against the fleet.
func checkCells(t *testing.T, fleet Board, cells []domCell) {
	t.Helper()
	byKey := map[string]domCell{}
	for _, c := range cells {
		key := c.Repository + "/" + c.Environment
		if _, dup := byKey[key]; dup {
			t.Errorf("%s: two cells", key)
		}
		byKey[key] = c
	}
	backgrounds := map[string]string{} // state → background
	n := 0
	for _, repo := range fleet.Repositories {
		for _, env := range repo.Environments {
			n++
			key := repo.Name + "/" + env.Name
			c, ok := byKey[key]
			if !ok {
				t.Errorf("%s: no cell in the document", key)
				continue
			}
			want := string(Classify(env))
			if c.State != want || !strings.Contains(" "+c.Class+" ", " state-"+want+" ") {
				t.Errorf("%s: data-state %q, class %q; want %s", key, c.State, c.Class, want)
			}
			if c.Column != env.Name || c.Row != repo.Name {
				t.Errorf("%s: in row %q, column %q", key, c.Row, c.Column)
			}
			if !strings.Contains(c.Text, want) {
				t.Errorf("%s: the cell does not say %q: %q", key, want, c.Text)
			}
			if env.Version != "" && !strings.Contains(c.Text, env.Version) {
				t.Errorf("%s: the cell does not show version %s: %q", key, env.Version, c.Text)
			}
			if wantCmd := ApproveCommand(repo.Name, env.Name); (want == string(AwaitingApproval)) != (c.Approve == wantCmd) {
				t.Errorf("%s (%s): approve command %q", key, want, c.Approve)
			}
			if other, ok := backgrounds[c.State]; ok && other != c.Background {
				t.Errorf("%s: background %s, another %s cell's is %s", key, c.Background, c.State, other)
			}
			backgrounds[c.State] = c.Background
		}
	}
	if len(cells) != n {
		t.Errorf("%d cells in the document, want the fleet's %d environments", len(cells), n)
	}
	seen := map[string]string{}
	for s, bg := range backgrounds {
		if other, ok := seen[bg]; ok {
			t.Errorf("states %s and %s have the same background %s", s, other, bg)
		}
		seen[bg] = s
	}
}

// saveScreenshot writes a screenshot to the repository's bin/ directory
// (git-ignored), where people look at it.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// rgb is a colour as the browser computes it.
type rgb struct{ r, g, b float64 }

// mustColor parses "rgb(r, g, b)" or "rgba(r, g, b, a)" (opaque colours only:
// every colour of the board is).
func mustColor(t *testing.T, s string) rgb {
	t.Helper()
	inner, ok := strings.CutPrefix(s, "rgb(")
	if !ok {
		t.Fatalf("colour %q: want rgb(...), an opaque colour", s)
	}
	parts := strings.Split(strings.TrimSuffix(inner, ")"), ",")
	if len(parts) != 3 {
		t.Fatalf("colour %q", s)
	}
	var v [3]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			t.Fatalf("colour %q: %v", s, err)
		}
		v[i] = f
	}
	return rgb{v[0], v[1], v[2]}
}

// luminance is the relative luminance of a colour, as WCAG 2 defines it.
func luminance(c rgb) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b rgb) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

func TestContrast(t *testing.T) {
	black, white := rgb{0, 0, 0}, rgb{255, 255, 255}
	if got := contrast(black, white); math.Abs(got-21) > 0.01 {
		t.Errorf("contrast(black, white) = %.2f, want 21", got)
	}
	if got := contrast(white, white); got != 1 {
		t.Errorf("contrast(white, white) = %.2f, want 1", got)
	}
	if got := fmt.Sprintf("%.2f", contrast(rgb{0x76, 0x76, 0x76}, white)); got != "4.54" {
		t.Errorf("contrast(#767676, white) = %s, want 4.54", got)
	}
}
