package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

// board prints the release board: every configured repository and
// environment, read by the handler's board source.
func (c *cli) board(ctx context.Context, args []string) int {
	var output, out string
	cmd := c.awsCommand("board", "[-o table|json|html] [--out FILE] [flags]", `
Show the release board: a row per configured repository, a column per
environment name (in promotion order, as promoteFrom links them), and in each
cell the version that runs, how old its deployment is and its state:
completed, in-progress, baking, awaiting-approval, failed, frozen, drift or
no-record. Below the table, a line for each thing that wants attention: a
failure, a deployment that waits for approval (with the command that
approves it), drift, a rollout's stage and share of production traffic, a
freeze, held versions. -o json writes the board for programs; -o html writes
a self-contained page (the one the CloudWatch dashboard shows). The table
fits 120 columns, or $COLUMNS, and is coloured on a terminal.`)
	cmd.flags.StringVar(&output, "o", string(board.Table), "output `format`: table, json or html")
	cmd.flags.StringVar(&output, "output", string(board.Table), "the same as -o `format`")
	cmd.flags.StringVar(&out, "out", "", "write the board to `FILE` instead of standard output")
	args, code, ok := cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return code
	}
	if len(args) > 0 {
		return cmd.usageError(c.stderr, "unexpected argument %q", args[0])
	}
	format, err := board.ParseFormat(output)
	if err != nil {
		return cmd.usageError(c.stderr, "-o %q: want table, json or html", output)
	}
	src, err := c.readBoardFrom(ctx)
	if err != nil {
		c.errorf("%v", err)
		return setupExitCode(err)
	}
	b, err := src.Board(ctx)
	if err != nil {
		c.errorf("board: %v", err)
		return exitFailed
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	opts := board.Options{Width: columns(c.getenv), Color: out == "" && c.color(c.stdout)}
	var buf bytes.Buffer
	if err := board.Write(&buf, board.Layout(b, now()), format, opts); err != nil {
		c.errorf("board: %v", err)
		return exitFailed
	}
	if out == "" {
		c.stdout.Write(buf.Bytes())
		return exitOK
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	fmt.Fprintf(c.stderr, "wrote the board (%s) to %s\n", format, out)
	return exitOK
}

// readBoardFrom returns the source the board is read from: the cli's own
// when set (tests), otherwise the handler's, built with the caller's
// settings and AWS configuration. A handler that cannot be built is a
// *setupError.
func (c *cli) readBoardFrom(ctx context.Context) (board.Source, error) {
	if c.boardSource != nil {
		return c.boardSource, nil
	}
	h, err := c.newHandler(ctx, handler.Options{Log: c.logger(false)})
	if err != nil {
		return nil, &setupError{err}
	}
	return h.BoardSource(), nil
}

// columns is the width of the terminal as $COLUMNS says (shells set it, but
// seldom export it), or board.DefaultWidth.
func columns(getenv func(string) string) int {
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n >= 40 && n <= 1000 {
		return n
	}
	return board.DefaultWidth
}
