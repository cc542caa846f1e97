package main

// The Runtime Interface Emulator runs only on Linux, hence the file name.

import (
	"regexp"
	"strings"
	"testing"
)

// boardClock matches what differs between two reads of one board: when
// each was laid out, and the ages measured to then.
var boardClock = regexp.MustCompile(`"(at|ageSeconds)": [^,\n]*`)

// TestBoardThroughTheFunction reads the board here and through the
// deployed promoter (under the emulator, through the Lambda Invoke API):
// the same board, but for the time each was read at.
func TestBoardThroughTheFunction(t *testing.T) {
	seedPromoter(t)
	if code, _, errOut := runCLI(t, "", "deploy", "hello-color", "1.4.0", "--env", "production"); code != exitOK {
		t.Fatalf("deploy: exit %d: %s", code, errOut)
	}
	startPromoter(t)
	localCode, local, localErr := runCLI(t, "", "board", "-o", "json")
	remoteCode, remote, remoteErr := runCLI(t, "", "board", "-o", "json", "--function", "function")
	if localCode != exitOK || remoteCode != exitOK || localErr != "" || remoteErr != "" {
		t.Fatalf("local: exit %d, %s; --function: exit %d, %s", localCode, localErr, remoteCode, remoteErr)
	}
	if !strings.Contains(local, `"version": "1.4.0"`) {
		t.Errorf("not the board: %s", local)
	}
	if l, r := boardClock.ReplaceAllString(local, `"$1": …`), boardClock.ReplaceAllString(remote, `"$1": …`); l != r {
		t.Errorf("local and --function differ:\nlocal:\n%s\n--function:\n%s", l, r)
	}
}
