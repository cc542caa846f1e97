// Package rie runs Lambda function binaries locally under the AWS Lambda
// Runtime Interface Emulator (aws-lambda-rie, the go.mod tool), the emulator
// AWS ships in its Lambda base images. A started [Emulator] serves the Lambda
// Invoke API for one function named "function":
//
//	POST {URL}/2015-03-31/functions/function/invocations
//
// so an SDK Lambda client whose endpoint is the emulator's URL invokes the
// function exactly as it would invoke it in AWS.
//
// The emulator runs only on Linux; elsewhere [Start] returns an error
// wrapping [errors.ErrUnsupported].
package rie

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// FunctionName is the name under which the emulator serves its function.
const FunctionName = "function"

// Binary returns the path of the emulator executable, from the tool line of
// go.mod (go tool -n aws-lambda-rie), building it into the Go build cache
// first if needed. It must run inside the module; it returns an error with
// the go command's output if that fails.
func Binary(ctx context.Context) (string, error) {
	cmd := goCommand(ctx, "tool", "-n", "aws-lambda-rie")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("go tool -n aws-lambda-rie: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Build builds the Lambda function main package pkg into the executable
// out for the emulator on this machine: GOOS=linux, this GOARCH,
// CGO_ENABLED=0, -tags lambda.norpc (the runtime API client only, as on
// provided.al2023) and -trimpath. An out that is already up to date is left
// as it is, without linking again. It returns an error with the compiler's
// output if the build fails.
func Build(ctx context.Context, pkg, out string) error {
	cmd := goCommand(ctx, "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
	}
	return nil
}

// goCommand is the go command with args, killed with everything it started
// (compilers, linker) when ctx is done.
func goCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	setGroup(cmd)
	return cmd
}
