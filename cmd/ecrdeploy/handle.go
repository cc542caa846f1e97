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

// cmdHandle runs the deployer's handler on one event.
func cmdHandle(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, log *slog.Logger) int {
	if len(args) > 1 {
		fmt.Fprintln(stderr, "ecrdeploy handle: want at most one FILE")
		return exitBadInput
	}
	raw, err := readInput(args, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "ecrdeploy handle: %v\n", err)
		return exitBadInput
	}
	h, err := handler.NewDeployer(ctx, getenv, log)
	if err != nil {
		fmt.Fprintf(stderr, "ecrdeploy handle: %v\n", err)
		return exitBadInput
	}
	res, err := h.Handle(ctx, raw)
	return printResult(stdout, stderr, res, err)
}

// readInput reads the FILE argument, or stdin when it is "-" or absent. The
// input is limited to the largest event EventBridge delivers.
func readInput(args []string, stdin io.Reader) ([]byte, error) {
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
	data, err := io.ReadAll(io.LimitReader(r, event.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > event.MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, event.MaxSize)
	}
	return data, nil
}

// printResult prints a result as indented JSON and returns the exit code it
// means: a retryable error or a failed environment is 1, a bad event, request
// or configuration is 2.
func printResult(stdout, stderr io.Writer, res deploy.Result, err error) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(res); encErr != nil {
		fmt.Fprintf(stderr, "ecrdeploy: write result: %v\n", encErr)
		return exitFailed
	}
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "ecrdeploy: %v\n", err)
		return exitFailed
	case res.Error != "":
		fmt.Fprintf(stderr, "ecrdeploy: %s\n", res.Error)
		return exitBadInput
	case res.Failed():
		return exitFailed
	}
	return exitOK
}
