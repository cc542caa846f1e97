// Command initstamp starts a Lambda function's bootstrap for the cold-start
// benchmark of internal/bench, under the Runtime Interface Emulator, so that
// the benchmark can time the function's init phase: from the bootstrap's
// start to its first request for an invocation (GET
// /2018-06-01/runtime/invocation/next of the Lambda runtime API), which ends
// the init phase ("Understanding the Lambda execution environment
// lifecycle", AWS Lambda Developer Guide,
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html:
// each phase, Init the first, "starts with an event that Lambda sends to the
// runtime" and "the runtime and each extension indicate completion by
// sending a Next API request").
//
// The emulator runs initstamp as the function's bootstrap. initstamp writes
// the time it started (Unix nanoseconds) and the emulator's runtime API
// address (AWS_LAMBDA_RUNTIME_API) to the file INITSTAMP_FILE, then replaces
// itself (execve, the same process) with the bootstrap INITSTAMP_BOOTSTRAP,
// whose runtime API is INITSTAMP_RUNTIME_API instead: the benchmark's
// recorder, which forwards every request to the emulator's and notes when
// the first arrived.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	started := time.Now()
	file, bootstrap, recorder := os.Getenv("INITSTAMP_FILE"), os.Getenv("INITSTAMP_BOOTSTRAP"), os.Getenv("INITSTAMP_RUNTIME_API")
	if file == "" || bootstrap == "" || recorder == "" {
		fmt.Fprintln(os.Stderr, "initstamp: INITSTAMP_FILE, INITSTAMP_BOOTSTRAP and INITSTAMP_RUNTIME_API must be set")
		os.Exit(2)
	}
	line := strconv.FormatInt(started.UnixNano(), 10) + " " + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "\n"
	if err := os.WriteFile(file, []byte(line), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "initstamp:", err)
		os.Exit(1)
	}
	if err := os.Setenv("AWS_LAMBDA_RUNTIME_API", recorder); err != nil {
		fmt.Fprintln(os.Stderr, "initstamp:", err)
		os.Exit(1)
	}
	err := execve(bootstrap)
	fmt.Fprintln(os.Stderr, "initstamp: exec", bootstrap+":", err)
	os.Exit(1)
}
