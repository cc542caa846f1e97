package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

// handle runs the deployer's handler on one event and prints the result as
// indented JSON.
func (c *cli) handle(ctx context.Context, args []string) int {
	cmd := newCommand("handle", "[FILE|-]", `
Run the deployer's handler locally, with your AWS configuration, on one
EventBridge event read from FILE (standard input when FILE is - or absent),
and print the JSON result. Every decision is logged as JSON on standard error.`)
	args, code, ok := cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return code
	}
	if len(args) > 1 {
		return cmd.usageError(c.stderr, "want at most one FILE")
	}
	raw, err := readInput(args, c.stdin, event.MaxSize)
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy handle: %v\n", err)
		return exitBadInput
	}
	log := slog.New(slog.NewJSONHandler(c.stderr, nil))
	h, err := handler.New(ctx, c.getenv, handler.Options{Log: log})
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy handle: %v\n", err)
		return exitBadInput
	}
	res, err := h.Event(ctx, raw)
	return printResult(c.stdout, c.stderr, res, err)
}

// readInput reads the FILE argument, or standard input when it is "-" or
// absent, refusing more than limit bytes.
func readInput(args []string, stdin io.Reader, limit int) ([]byte, error) {
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
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, nil
}

// printResult prints a result as indented JSON and its error on standard
// error, and returns the exit code the result's judgement means.
func printResult(stdout, stderr io.Writer, res deploy.Result, err error) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(res); encErr != nil {
		fmt.Fprintf(stderr, "ecrdeploy: write result: %v\n", encErr)
		return exitFailed
	}
	v := deploy.Judgement(res, err)
	if v.Message != "" {
		fmt.Fprintf(stderr, "ecrdeploy: %s\n", v.Message)
	}
	return v.ExitCode
}
