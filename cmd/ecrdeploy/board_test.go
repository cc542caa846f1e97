package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// fakeBoard is a board source that answers a fixed fleet, or an error.
type fakeBoard struct {
	b   board.Board
	err error
}

func (f fakeBoard) Board(context.Context) (board.Board, error) { return f.b, f.err }

var boardNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// boardFleet is a small fleet: a deployment that waits for approval, a
// failed one, and a long repository name.
func boardFleet() board.Board {
	at := boardNow.Add(-2 * time.Hour)
	return board.Board{Repositories: []board.Repository{
		{Name: "hello-color", Environments: []board.Environment{
			{Name: "staging", Recorded: true, Version: "1.2.0", Rollout: state.Completed, DeployedAt: &at},
			{Name: "production", PromoteFrom: "staging", Recorded: true, Version: "1.2.0", Rollout: state.InProgress, DeployedAt: &at,
				Approval: &board.Approval{Stage: "post-test-traffic-shift"}},
		}},
		{Name: "team/platform/a-repository-with-a-rather-long-name-indeed", Environments: []board.Environment{
			{Name: "staging", Recorded: true, Version: "0.9.0", Rollout: state.Failed, DeployedAt: &at,
				Failed: &state.Failure{Version: "0.9.0", Reason: "ECS deployment circuit breaker: tasks failed to start."}},
		}},
	}}
}

// runBoard runs `ecrdeploy board args` with the fleet (or err), stdout a
// terminal when tty, and the environment env.
func runBoard(t *testing.T, src board.Source, tty bool, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout interface {
		Write([]byte) (int, error)
		String() string
	} = &bytes.Buffer{}
	if tty {
		stdout = &ttyBuffer{}
	}
	var stderr bytes.Buffer
	c := &cli{stdout: stdout, stderr: &stderr, getenv: func(k string) string { return env[k] },
		boardSource: src, now: func() time.Time { return boardNow }}
	code := c.board(t.Context(), args)
	return code, stdout.String(), stderr.String()
}

func TestBoardCommand(t *testing.T) {
	fleet := fakeBoard{b: boardFleet()}
	t.Run("table", func(t *testing.T) {
		code, out, errOut := runBoard(t, fleet, false, nil)
		if code != exitOK || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		for _, want := range []string{"2 repositories, 3 environments", "1 failed, 1 awaiting-approval, 1 completed",
			"REPOSITORY", "staging", "production", "awaiting-approval", "team/platfor…name-indeed",
			"\n  ecrdeploy approve hello-color --env production\n", "0.9.0 failed: ECS deployment circuit breaker"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Error("colour written to a buffer")
		}
		if strings.Index(out, "staging") > strings.Index(out, "production") {
			t.Error("production is left of staging, which it promotes from")
		}
	})
	t.Run("coloured on a terminal", func(t *testing.T) {
		_, out, _ := runBoard(t, fleet, true, nil)
		if !strings.Contains(out, "\x1b[31m") || !strings.Contains(out, "\x1b[33m") {
			t.Errorf("no red (failed) or yellow (awaiting-approval) on a terminal:\n%q", out)
		}
		_, out, _ = runBoard(t, fleet, true, map[string]string{"NO_COLOR": "1"})
		if strings.Contains(out, "\x1b[") {
			t.Error("colour with NO_COLOR")
		}
	})
	t.Run("width from COLUMNS", func(t *testing.T) {
		_, out, _ := runBoard(t, fleet, false, map[string]string{"COLUMNS": "60"})
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if n := utf8.RuneCountInString(line); n > 60 && !strings.HasPrefix(line, "  ecrdeploy approve") {
				t.Errorf("a line of %d characters in 60 columns: %q", n, line)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := runBoard(t, fleet, true, nil, "-o", "json")
		var g struct {
			Environments []string `json:"environments"`
			Repositories []struct {
				Cells []struct {
					State   string `json:"state"`
					Approve string `json:"approve"`
				} `json:"cells"`
			} `json:"repositories"`
		}
		if err := json.Unmarshal([]byte(out), &g); err != nil || code != exitOK {
			t.Fatalf("exit %d, %v: %s", code, err, out)
		}
		if got := g.Repositories[0].Cells[1]; got.State != "awaiting-approval" || got.Approve != "ecrdeploy approve hello-color --env production" {
			t.Errorf("hello-color/production %+v", got)
		}
	})
	t.Run("html to a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "board.html")
		code, out, errOut := runBoard(t, fleet, true, nil, "--out", path, "-o", "html")
		if code != exitOK || out != "" || errOut != "wrote the board (html) to "+path+"\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		page, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || !bytes.Contains(page, []byte(`data-state="failed"`)) {
			t.Errorf("not the board's page: %.200s", page)
		}
	})
	t.Run("table to a file is not coloured", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "board.txt")
		if code, _, _ := runBoard(t, fleet, true, nil, "--out", path); code != exitOK {
			t.Fatalf("exit %d", code)
		}
		if page, _ := os.ReadFile(path); bytes.Contains(page, []byte("\x1b[")) || !bytes.Contains(page, []byte("REPOSITORY")) {
			t.Errorf("file:\n%s", page)
		}
	})
	for _, tt := range []struct {
		name string
		src  board.Source
		args []string
		code int
		err  string
	}{
		{"unknown format", fleet, []string{"-o", "yaml"}, exitBadInput, `ecrdeploy: -o "yaml": want table, json or html`},
		{"an argument", fleet, []string{"hello-color"}, exitBadInput, `ecrdeploy: unexpected argument "hello-color"`},
		{"unwritable file", fleet, []string{"--out", "/nonexistent/dir/board.html"}, exitFailed, "ecrdeploy: open /nonexistent/dir/board.html"},
		{"unreadable fleet", fakeBoard{err: errors.New("throttled")}, nil, exitFailed, "ecrdeploy: board: throttled\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runBoard(t, tt.src, false, nil, tt.args...)
			if code != tt.code || !strings.HasPrefix(errOut, tt.err) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stderr %q", code, out, errOut, tt.code, tt.err)
			}
		})
	}
}

// TestBoardLocal runs `ecrdeploy board` as a user would, with the
// handler's source against moto: hello-color's production deployed, dev
// without a record, qa's service gone.
func TestBoardLocal(t *testing.T) {
	seedPromoter(t)
	if code, _, errOut := runCLI(t, "", "deploy", "hello-color", "1.4.0", "--env", "production"); code != exitOK {
		t.Fatalf("deploy: exit %d: %s", code, errOut)
	}
	code, out, errOut := runCLI(t, "", "board", "--region", "us-east-1")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"1 repository, 3 environments", "1 unknown, 1 in-progress, 1 no-record", "hello-color/qa: unknown: service gone not found in cluster apps"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "", "board", "-o", "json")
	var g board.Grid
	if err := json.Unmarshal([]byte(out), &g); err != nil || code != exitOK {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if len(g.Repositories) != 1 || len(g.Repositories[0].Cells) != 3 {
		t.Fatalf("board %+v", g)
	}
	if c, _ := g.Repositories[0].Cell("production"); c.Version != "1.4.0" || c.State != board.InProgress || c.DeployedBy != state.CauseDeploy {
		t.Errorf("production %+v", c)
	}
}

// TestBoardFunctionAnswers runs `ecrdeploy board --function` against
// answers of the promoter as the Lambda API returns them: the board it laid
// out is written here; an answer that is an error, or has no board, fails.
func TestBoardFunctionAnswers(t *testing.T) {
	fleet := board.Layout(boardFleet(), boardNow)
	answer, err := json.Marshal(map[string]any{"repository": "", "results": []any{}, "board": fleet})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, payload string
		args          []string
		code          int
		out, err      string
	}{
		{"table", string(answer), nil, exitOK, "2 repositories, 3 environments", ""},
		{"json", string(answer), []string{"-o", "json"}, exitOK, `"approve": "ecrdeploy approve hello-color --env production"`, ""},
		{"html", string(answer), []string{"-o", "html"}, exitOK, `data-state="failed"`, ""},
		{"an error", `{"repository":"","results":[],"error":"read config /ecrdeploy/config/*: AccessDeniedException","errorKind":"aws"}`, nil,
			exitFailed, "", "ecrdeploy: board: read config /ecrdeploy/config/*: AccessDeniedException\n"},
		{"no board", `{"repository":"","results":[]}`, nil, exitFailed, "", "ecrdeploy: board: function ecrdeploy-promoter answered no board: is it a promoter of this version?\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = io.ReadAll(r.Body)
				io.WriteString(w, tt.payload)
			}))
			defer srv.Close()
			t.Setenv("AWS_ENDPOINT_URL_LAMBDA", srv.URL)
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_ACCESS_KEY_ID", "test")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			code, out, errOut := runCLI(t, "", append([]string{"board", "--function", "ecrdeploy-promoter"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.out) || errOut != tt.err {
				t.Errorf("exit %d, stdout %.300q, stderr %q; want exit %d, %q in stdout, stderr %q", code, out, errOut, tt.code, tt.out, tt.err)
			}
			if string(got) != boardRequest {
				t.Errorf("the function got %s, want %s", got, boardRequest)
			}
		})
	}
}
