package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

// board prints the release board: every configured repository and
// environment, read by the handler's board source.
func (c *cli) board(ctx context.Context, args []string) int {
	var output, out, function string
	cmd := c.awsCommand("board", "[-o table|json|html] [--out FILE] [--function NAME] [flags]", `
Show the release board: a row per configured repository, a column per
environment name (in promotion order, as promoteFrom links them), and in each
cell the version that runs, how old its deployment is and its state:
completed, in-progress, baking, awaiting-approval, failed, frozen, drift or
no-record. Below the table, a line for each thing that wants attention: a
failure, a deployment that waits for approval (with the command that
approves it), drift, a rollout's stage and share of production traffic, a
freeze, held versions. -o json writes the board for programs; -o html writes
a self-contained page (the one the CloudWatch dashboard shows). The table
fits 120 columns, or $COLUMNS, and is coloured on a terminal.

By default the fleet is read here, with your AWS configuration; with
--function the deployed promoter reads it (lambda:Invoke) and answers the
board laid out, which is written here the same way.`)
	cmd.flags.StringVar(&output, "o", string(board.Table), "output `format`: table, json or html")
	cmd.flags.StringVar(&output, "output", string(board.Table), "the same as -o `format`")
	cmd.flags.StringVar(&out, "out", "", "write the board to `FILE` instead of standard output")
	cmd.flags.StringVar(&function, "function", "", "have the deployed promoter function `name` (or ARN) read the board instead of reading it here")
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
	var g board.Grid
	if function != "" {
		var code int
		if g, code, err = c.boardOfFunction(ctx, function); err != nil {
			c.errorf("%v", err)
			return code
		}
	} else {
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
		g = board.Layout(b, now())
	}
	opts := board.Options{Width: columns(c.getenv), Color: out == "" && c.color(c.stdout)}
	var buf bytes.Buffer
	if err := board.Write(&buf, g, format, opts); err != nil {
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

// boardRequest is the promoter's board request: the board laid out, in
// the answer's "board", which the CLI writes itself.
const boardRequest = `{"action":"board"}`

// boardOfFunction has the deployed promoter read the board, and returns it
// as the function laid it out, or the error to print with its exit code:
// the invocation's (a *funcerr.Error when the function failed), or the
// answer's.
func (c *cli) boardOfFunction(ctx context.Context, function string) (board.Grid, int, error) {
	rep, err := c.invokeFunction(ctx, function, []byte(boardRequest))
	if sig, stopped := interrupted(ctx); err != nil && stopped {
		return board.Grid{}, exitFailed, fmt.Errorf("%s: stopped waiting for function %s", sig, function)
	}
	if err != nil {
		return board.Grid{}, setupExitCode(err), err
	}
	if v := deploy.Judgement(rep.Result, nil); v.Kind != "" {
		return board.Grid{}, v.ExitCode, fmt.Errorf("board: %s", v.Message)
	}
	if rep.Result.Board == nil {
		return board.Grid{}, exitFailed, fmt.Errorf("board: function %s answered no board: is it a promoter of this version?", function)
	}
	return *rep.Result.Board, exitOK, nil
}

// columns is the width of the terminal as $COLUMNS says (shells set it, but
// seldom export it), or board.DefaultWidth.
func columns(getenv func(string) string) int {
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n >= 40 && n <= 1000 {
		return n
	}
	return board.DefaultWidth
}
