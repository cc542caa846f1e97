package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// boardRequest is the promoter's board request, as `ecrdeploy board
// --function` sends it.
const boardRequest = `{"action":"board"}`

// boardPage is where make demo writes the board's page: under bin/, with
// the demo's other products.
const boardPage = "bin/board.html"

// board asks the promoter for the release board, prints it as `ecrdeploy
// board` does on a terminal, and writes its page (what the CloudWatch
// dashboard's widget shows) to s.page, saying where. It checks that every
// environment is on it, with the version it runs and its state: the
// promotion's source and target completed (the target approved and its
// canary run to the end), the others still rolling out.
func (s *story) board(ctx context.Context) error {
	s.p.heading("6/6  board: every repository and environment at a glance, from the promoter")
	s.p.say("request (what `ecrdeploy board --function %s` sends): %s", promoterName, boardRequest)
	res, err := s.call(ctx, s.promoter, []byte(boardRequest))
	if err != nil {
		return fmt.Errorf("board: %w", err)
	}
	c := s.checks()
	if !c.check(res.Board != nil, "the promoter answered no board") {
		return c.err("board")
	}
	g := *res.Board
	var table bytes.Buffer
	if err := board.WriteTable(&table, g, board.Options{Color: s.p.color}); err != nil {
		return fmt.Errorf("board: %w", err)
	}
	s.p.say("")
	s.p.w.Write(table.Bytes())

	mark := c.mark()
	ev := s.w.push
	for _, name := range s.w.doc.Names() {
		cell, ok := cellOf(g, repository, name)
		if !c.check(ok, "%s/%s is not on the board", repository, name) {
			continue
		}
		want := board.InProgress
		if name == s.w.source || name == s.w.target {
			want = board.State(state.Completed)
		}
		c.check(cell.Version == ev.Tag && cell.Digest == ev.Digest && cell.State == want,
			"%s/%s on the board: %s %s %s, want %s %s %s", repository, name, cell.Version, cell.Digest, cell.State, ev.Tag, ev.Digest, want)
	}
	if c.since(mark) {
		var rolling []string
		for _, name := range s.w.doc.Names() {
			if name != s.w.source && name != s.w.target {
				rolling = append(rolling, name)
			}
		}
		s.ok("the board shows all %d environments on %s:%s: %s and %s completed, %s rolling out", len(s.w.doc.Environments), repository, ev.Tag,
			s.w.source, s.w.target, strings.Join(rolling, ", "))
	}

	var page bytes.Buffer
	if err := board.WriteHTML(&page, g, board.HTMLOptions{}); err != nil {
		return fmt.Errorf("board: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.page), 0o755); err != nil {
		return fmt.Errorf("board: %w", err)
	}
	if err := os.WriteFile(s.page, page.Bytes(), 0o644); err != nil {
		return fmt.Errorf("board: %w", err)
	}
	where := s.page
	if abs, err := filepath.Abs(where); err == nil {
		where = abs
	}
	s.ok("wrote the board's page (the CloudWatch dashboard's widget shows the same) to %s: open it in a browser", where)
	return c.err("board")
}

// cellOf returns the cell of repository/environment on a board.
func cellOf(g board.Grid, repo, env string) (board.Cell, bool) {
	for _, row := range g.Repositories {
		if row.Repository == repo {
			return row.Cell(env)
		}
	}
	return board.Cell{}, false
}
