package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
)

// repoRoot is the repository, from this package's directory.
const repoRoot = "../.."

// documents are the documents whose claims TestDocumentedErrors and
// TestDocumentedTranscripts check.
var documents = []string{"README.md", "docs/configuration.md", "docs/maintainers.md", "docs/reliability.md", "docs/getting-started.md"}

// quotedError matches a message the documents quote (in backticks) that is
// an error ecrdeploy writes: a configuration problem, a bad input, a CLI
// error, or a failure in a result row.
var quotedError = regexp.MustCompile("`((?:environments\\.|config |bad request: |bad event: |ecrdeploy: |document |render task definition |repository |register task definition |service |assume role )[^`\\n]*: [^`\\n]+)`")

// variable matches the parts of a quoted message that are values rather
// than the message's own words: quoted strings, numbers, ellipses, JSON
// paths, the parameter or file it names, the names of services, clusters
// and environments (hello-color-dev, hello-color/production) and
// placeholders (FILE).
var variable = regexp.MustCompile(`"[^"]*"|\d+(\.\d+)?|…|(environments|containerDefinitions)(\.[A-Za-z0-9_-]+|\[[^\]]*\])*|/ecrdeploy/config/[a-z/-]+|arn:[^ ]+|\S+\.json|U\+FEFF|\b[a-z]+(-[a-z0-9]+)+(/[a-z0-9-]+)?\b|\b[A-Z]{3,}\b`)

// fromAWS are the words of messages that AWS writes and ecrdeploy passes on.
var fromAWS = []string{"is not authorized to perform: iam:PassRole"}

// messageCorpus is the text messages may come from: ecrdeploy's Go files and
// golden files, and the packages of the standard library and of the
// dependencies whose messages ecrdeploy passes on (JSON, regular
// expressions, version ranges).
func messageCorpus(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	add := func(root string) {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".golden")) {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				b.Write(data)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(repoRoot)
	add(filepath.Join(runtime.GOROOT(), "src", "encoding", "json"))
	add(filepath.Join(runtime.GOROOT(), "src", "regexp", "syntax"))
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/Masterminds/semver/v3").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	add(strings.TrimSpace(string(out)))
	return b.String()
}

// TestDocumentedErrors checks that every error message the documents quote
// is one the code can write: each run of the message's own words (what is
// left between its values) appears in the code, in a golden file, or in the
// library the message comes from. A message the code no longer writes, or
// writes in other words, fails the test.
func TestDocumentedErrors(t *testing.T) {
	corpus := messageCorpus(t)
	checked := 0
	for _, doc := range documents {
		data, err := os.ReadFile(filepath.Join(repoRoot, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range quotedError.FindAllStringSubmatch(string(data), -1) {
			msg := m[1]
			checked++
			for _, words := range variable.Split(msg, -1) {
				words = strings.Trim(words, " :()[],.'")
				if len(words) < 6 || strings.Contains(corpus, words) || slices.Contains(fromAWS, words) {
					continue
				}
				t.Errorf("%s quotes %q, but no code writes %q", doc, msg, words)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d quoted messages found: is quotedError still right?", checked)
	}
}

// transcript is a command a document shows being run, with what it prints.
type transcript struct {
	doc, command string
	line         int
	output       string
}

// transcripts returns the commands shown as "$ ecrdeploy …" in the
// documents' text blocks, each with the lines up to the next command or the
// end of the block.
func transcripts(t *testing.T) []transcript {
	t.Helper()
	var out []transcript
	for _, doc := range documents {
		f, err := os.Open(filepath.Join(repoRoot, doc))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		inBlock, n := false, 0
		var cur *transcript
		flush := func() {
			if cur != nil {
				cur.output = strings.TrimRight(cur.output, "\n") + "\n"
				out = append(out, *cur)
				cur = nil
			}
		}
		for sc.Scan() {
			n++
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "```"):
				flush()
				inBlock = !inBlock && line == "```text"
			case !inBlock:
			case strings.HasPrefix(line, "$ ecrdeploy "):
				flush()
				cur = &transcript{doc: doc, command: strings.TrimPrefix(line, "$ "), line: n}
			case cur != nil:
				cur.output += line + "\n"
			}
		}
		f.Close()
	}
	return out
}

// offline are the commands TestDocumentedTranscripts runs, against moto
// when they call AWS; the others (verify, deploys, status with history)
// need the AWS resources the document describes.
var offline = []string{"ecrdeploy config validate ", "ecrdeploy config put ", "ecrdeploy config diff ", "ecrdeploy config list", "ecrdeploy --version"}

// TestDocumentedTranscripts runs the commands the documents show, from the
// repository root against one fresh moto per document, in order, and
// compares what they print with what the documents say.
func TestDocumentedTranscripts(t *testing.T) {
	byDoc := map[string][]transcript{}
	for _, tr := range transcripts(t) {
		if slices.ContainsFunc(offline, func(p string) bool { return strings.HasPrefix(tr.command, p) }) {
			byDoc[tr.doc] = append(byDoc[tr.doc], tr)
		}
	}
	if len(byDoc) == 0 {
		t.Fatal("no transcript of a command that runs without AWS: is transcripts still right?")
	}
	for _, doc := range documents {
		if len(byDoc[doc]) == 0 {
			continue
		}
		t.Run(doc, func(t *testing.T) {
			env := awstest.New(t)
			env.SetEnv(t)
			t.Setenv("ECRDEPLOY_PREFIX", "")
			t.Chdir(repoRoot)
			for _, tr := range byDoc[doc] {
				code, stdout, stderr := runCommandLine(t.Context(), tr.command)
				if got := stdout + stderr; got != tr.output {
					t.Errorf("%s:%d: %s (exit %d) prints\n%s\nthe document says\n%s", tr.doc, tr.line, tr.command, code, got, tr.output)
				}
			}
		})
	}
}

// runCommandLine runs one command line of a document ("ecrdeploy config put
// hello-color FILE"): words split on spaces, no quoting.
func runCommandLine(ctx context.Context, line string) (int, string, string) {
	var stdout, stderr strings.Builder
	args := strings.Fields(line)[1:]
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr, os.Getenv)
	return code, stdout.String(), stderr.String()
}

// needsAccount marks a command of docs/getting-started.md that cannot run
// without an AWS account.
const needsAccount = "# needs an AWS account"

// shellCommands returns the commands of a document's sh blocks, with their
// line numbers, continuation lines joined.
func shellCommands(t *testing.T, doc string) (lines []int, commands []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, doc))
	if err != nil {
		t.Fatal(err)
	}
	inBlock, pending := false, ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock && line == "```sh"
		case !inBlock || line == "" || strings.HasPrefix(line, "#"):
		case strings.HasSuffix(line, `\`):
			pending += strings.TrimSuffix(line, `\`)
		default:
			lines, commands = append(lines, i+1), append(commands, pending+line)
			pending = ""
		}
	}
	return lines, commands
}

// TestGettingStarted runs every command of docs/getting-started.md that
// does not need an AWS account, in order, against one local AWS, with the
// ecrdeploy that "go install ./cmd/ecrdeploy" builds; each must succeed.
// A command that is neither run here nor marked as needing an account fails
// the test, so that the page cannot grow steps nobody checks.
func TestGettingStarted(t *testing.T) {
	const doc = "docs/getting-started.md"
	env := awstest.New(t)
	env.SetEnv(t)
	t.Setenv("ECRDEPLOY_PREFIX", "")
	bin := ""
	lines, commands := shellCommands(t, doc)
	ran, marked := 0, 0
	for i, command := range commands {
		where := fmt.Sprintf("%s:%d: %s", doc, lines[i], command)
		if strings.Contains(command, needsAccount) {
			marked++
			continue
		}
		command, _, _ = strings.Cut(command, " #")
		words := strings.Fields(command)
		switch {
		case command == "go install ./cmd/ecrdeploy":
			bin = filepath.Join(t.TempDir(), "ecrdeploy")
			out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", where, err, out)
			}
		case words[0] == "ecrdeploy" && bin != "":
			cmd := exec.Command(bin, words[1:]...)
			cmd.Dir = repoRoot
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s: %v\n%s", where, err, out)
			}
			if words[1] == "--version" && !strings.HasPrefix(string(out), "ecrdeploy ") {
				t.Errorf("%s prints %q", where, out)
			}
		case words[0] == "ecrdeploy":
			t.Errorf("%s: ecrdeploy before go install ./cmd/ecrdeploy", where)
		default:
			t.Errorf("%s: neither run by this test nor marked %q", where, needsAccount)
			continue
		}
		ran++
	}
	if ran < 5 || marked < 5 {
		t.Errorf("ran %d commands and skipped %d marked ones: is the page still parsed right?", ran, marked)
	}
}
