package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

// handle runs the deployer's handler on one event and prints the result as
// indented JSON.
func (c *cli) handle(ctx context.Context, args []string) int {
	cmd := c.awsCommand("handle", "[FILE|-] [flags]", `
Run the deployer's handler locally, with your AWS configuration, on one
EventBridge event read from FILE (standard input when FILE is - or absent),
and print the JSON result. Every decision is logged as JSON on standard error,
in the functions' log format.`)
	args, code, ok := cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return code
	}
	if len(args) > 1 {
		return cmd.usageError(c.stderr, "want at most one FILE")
	}
	raw, err := readInput(ctx, args, c.stdin, event.MaxSize)
	if err != nil {
		c.errorf("%v", err)
		return exitBadInput
	}
	h, err := c.newHandler(ctx, handler.Options{Log: c.logger(true)})
	if err != nil {
		c.errorf("%v", err)
		return exitBadInput
	}
	res, err := h.Event(ctx, raw)
	return c.printResult(res, err)
}

// readInput reads the FILE argument, or standard input when it is "-" or
// absent, refusing more than limit bytes. It returns as soon as ctx is done
// (Ctrl-C), with the context's cause, even while the read is blocked: a read
// of a terminal or an open pipe cannot be interrupted, so it is left to end
// with the process.
func readInput(ctx context.Context, args []string, stdin io.Reader, limit int) ([]byte, error) {
	r := stdin
	name := "standard input"
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, args[0]
	}
	type read struct {
		data []byte
		err  error
	}
	done := make(chan read, 1)
	go func() {
		data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
		done <- read{data, err}
	}()
	var data []byte
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("read %s: %w", name, context.Cause(ctx))
	case got := <-done:
		if got.err != nil {
			return nil, fmt.Errorf("read %s: %w", name, got.err)
		}
		data = got.data
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, nil
}

// printResult prints a result as indented JSON and its error on standard
// error, and returns the exit code the result's judgement means.
func (c *cli) printResult(res deploy.Result, err error) int {
	if code := c.printJSON(res); code != exitOK {
		return code
	}
	v := deploy.Judgement(res, err)
	if v.Message != "" {
		c.errorf("%s", v.Message)
	}
	return v.ExitCode
}
