package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/param"
)

const configUsage = `usage: ecrdeploy config <command> [arguments]

commands:
  validate FILE|-      check a configuration document as the functions do; exit 2 when invalid
  put REPO FILE|-      check a document, then write it to {prefix}/config/REPO
  get REPO             print the document stored for REPO
  verify REPO          check the document against AWS: clusters, services, containers,
                       secret parameters, roles; one line per check, exit 1 on any problem

{prefix} is ECRDEPLOY_PREFIX (default /ecrdeploy).
`

// config runs "config validate", "config put" or "config get".
func (c *cli) config(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, configUsage)
		return exitBadInput
	}
	switch args[0] {
	case "validate":
		return c.configValidate(args[1:])
	case "put":
		return c.configPut(ctx, args[1:])
	case "get":
		return c.configGet(ctx, args[1:])
	case "verify":
		return c.configVerify(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, configUsage)
		return exitOK
	}
	fmt.Fprintf(c.stderr, "ecrdeploy config: unknown command %q\n\n%s", args[0], configUsage)
	return exitBadInput
}

// ssmAPI is the part of the SSM API the config commands use; *ssm.Client
// satisfies it.
type ssmAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// parameterStore returns an SSM client with the caller's AWS configuration
// and the configuration prefix from ECRDEPLOY_PREFIX. Its errors are
// *setupError.
func (c *cli) parameterStore(ctx context.Context) (ssmAPI, string, error) {
	s, err := handler.ReadSettings(c.getenv)
	if err != nil {
		return nil, "", &setupError{err}
	}
	cfg, err := handler.LoadAWS(ctx)
	if err != nil {
		return nil, "", &setupError{err}
	}
	return ssm.NewFromConfig(cfg), s.Prefix, nil
}

// readDocument reads and checks a configuration document from FILE or
// standard input ("-"). On a problem it prints every one of them and returns
// !ok; the name is what messages call the document.
func (c *cli) readDocument(cmd *command, file string) (data []byte, doc *config.Document, name string, ok bool) {
	name = file
	if file == "-" {
		name = "standard input"
	}
	data, err := readInput([]string{file}, c.stdin, config.MaxDocumentSize)
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy %s: %v\n", cmd.name, err)
		return nil, nil, name, false
	}
	doc, err = config.Parse(name, data)
	if err != nil {
		problems := config.Problems(err)
		if len(problems) == 0 {
			fmt.Fprintf(c.stderr, "%v\n", err)
		}
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		fmt.Fprintf(c.stderr, "%s: invalid (%s)\n", name, plural(max(len(problems), 1), "problem"))
		return nil, nil, name, false
	}
	return data, doc, name, true
}

// environmentsLabel is "2 environments: dev, production".
func environmentsLabel(doc *config.Document) string {
	names := doc.Names()
	return plural(len(names), "environment") + ": " + strings.Join(names, ", ")
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// configValidate checks a document with config.Parse, the decoding the
// functions use.
func (c *cli) configValidate(args []string) int {
	cmd := newCommand("config validate", "FILE|-", `
Check a configuration document exactly as the functions do (strict decoding,
then validation), reading it from FILE or from standard input (-). Prints
"FILE: valid (N environments: ...)", or every problem found, with the JSON path
of the field at fault; exits 2 when the document is invalid.`)
	args, code, ok := cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return code
	}
	if len(args) != 1 {
		return cmd.usageError(c.stderr, "%s", argCountProblem(args, "FILE"))
	}
	_, doc, name, ok := c.readDocument(cmd, args[0])
	if !ok {
		return exitBadInput
	}
	fmt.Fprintf(c.stdout, "%s: valid (%s)\n", name, environmentsLabel(doc))
	return exitOK
}

// configPut checks a document, then writes it to the repository's
// configuration parameter.
func (c *cli) configPut(ctx context.Context, args []string) int {
	cmd := newCommand("config put", "REPO FILE|-", `
Check a configuration document as "config validate" does and, only if it is
valid, write it unchanged to the SSM parameter {prefix}/config/REPO (type
String, overwriting any previous version; Parameter Store keeps the history).
A document larger than 4 KB needs the advanced tier, which is chosen for it
(intelligent tiering). An invalid document writes nothing and exits 2.`)
	args, code, ok := cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return code
	}
	if len(args) != 2 {
		return cmd.usageError(c.stderr, "%s", argCountProblem(args, "REPO", "FILE"))
	}
	repo := args[0]
	if !input.ValidRepository(repo) {
		return cmd.usageError(c.stderr, "%q is not an ECR repository name", repo)
	}
	data, doc, _, ok := c.readDocument(cmd, args[1])
	if !ok {
		return exitBadInput
	}
	client, prefix, err := c.parameterStore(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy config put: %v\n", err)
		return exitBadInput
	}
	name := config.ParameterName(prefix, repo)
	out, err := client.PutParameter(ctx, param.Put(name, data, ssmtypes.ParameterTierIntelligentTiering))
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy config put: put parameter %s: %v\n", name, err)
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "%s: written (version %d, %s)\n", name, out.Version, environmentsLabel(doc))
	return exitOK
}

// configGet prints the document stored for a repository.
func (c *cli) configGet(ctx context.Context, args []string) int {
	cmd := newCommand("config get", "REPO", `
Print the configuration document stored for REPO in {prefix}/config/REPO, as
it is stored. Exits 2 when the repository has none.`)
	repo, code, ok := c.repositoryArg(cmd, args)
	if !ok {
		return code
	}
	client, prefix, err := c.parameterStore(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy config get: %v\n", err)
		return exitBadInput
	}
	name := config.ParameterName(prefix, repo)
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var notFound *ssmtypes.ParameterNotFound
	switch {
	case errors.As(err, &notFound):
		fmt.Fprintf(c.stderr, "ecrdeploy config get: repository %s is not configured (no parameter %s)\n", repo, name)
		return exitBadInput
	case err != nil:
		fmt.Fprintf(c.stderr, "ecrdeploy config get: get parameter %s: %v\n", name, err)
		return exitFailed
	case out.Parameter == nil || out.Parameter.Value == nil:
		fmt.Fprintf(c.stderr, "ecrdeploy config get: get parameter %s: the response has no value\n", name)
		return exitFailed
	}
	value := aws.ToString(out.Parameter.Value)
	if !strings.HasSuffix(value, "\n") {
		value += "\n"
	}
	io.WriteString(c.stdout, value)
	return exitOK
}

// argCountProblem says which of the wanted arguments are missing, or which
// argument is one too many.
func argCountProblem(args []string, want ...string) string {
	if len(args) > len(want) {
		return fmt.Sprintf("unexpected argument %q", args[len(want)])
	}
	return "missing " + strings.Join(want[len(args):], " and ")
}

// configVerify checks a repository's configuration against AWS, one line per
// check.
func (c *cli) configVerify(ctx context.Context, args []string) int {
	cmd := newCommand("config verify", "REPO", `
Check the configuration stored for REPO against AWS: that each environment's
role can be assumed, that its cluster and services exist, that each service's
task definition (or the template) has the containers named, and that secrets
kept in SSM Parameter Store exist. Prints one line per check; exits 1 when any
check fails, 2 when REPO has no valid configuration.`)
	repo, code, ok := c.repositoryArg(cmd, args)
	if !ok {
		return code
	}
	h, err := handler.New(ctx, c.getenv, handler.Options{Log: c.logger(false)})
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy config verify: %v\n", err)
		return exitBadInput
	}
	checks, err := h.Verifier.Verify(ctx, repo)
	if err != nil {
		fmt.Fprintf(c.stderr, "ecrdeploy config verify: %v\n", err)
		return exitFailed
	}
	color := c.color(c.stdout)
	failed := 0
	for i, ch := range checks {
		mark := "ok  "
		if !ch.OK {
			mark = "FAIL"
			failed++
		}
		if color {
			mark = map[bool]string{true: "\x1b[32m", false: "\x1b[31m"}[ch.OK] + mark + "\x1b[0m"
		}
		line := mark + " " + ch.What
		if ch.Environment != "" {
			line = mark + " " + ch.Environment + ": " + ch.What
		}
		if ch.Detail != "" {
			line += " (" + ch.Detail + ")"
		}
		fmt.Fprintln(c.stdout, line)
		if i == 0 && !ch.OK {
			return exitBadInput // no valid configuration: nothing else was checked
		}
	}
	if failed > 0 {
		fmt.Fprintf(c.stdout, "%d of %d checks failed\n", failed, len(checks))
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "all %d checks passed\n", len(checks))
	return exitOK
}

// repositoryArg parses a command whose one argument is REPO. When !ok, the
// command is done and code is its exit code.
func (c *cli) repositoryArg(cmd *command, args []string) (repo string, code int, ok bool) {
	args, code, ok = cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return "", code, false
	}
	if len(args) != 1 {
		return "", cmd.usageError(c.stderr, "%s", argCountProblem(args, "REPO")), false
	}
	if !input.ValidRepository(args[0]) {
		return "", cmd.usageError(c.stderr, "%q is not an ECR repository name", args[0]), false
	}
	return args[0], 0, true
}
