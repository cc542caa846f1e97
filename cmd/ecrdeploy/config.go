package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/param"
)

const configUsage = `usage: ecrdeploy config <command> [arguments]

commands:
  validate FILE|-      check a configuration document as the functions do; exit 2 when invalid
  put REPO FILE|-      check a document, then write it to {prefix}/config/REPO (unless unchanged)
  get REPO             print the document stored for REPO
  list                 list the configured repositories: version, tier, size, environments
  diff REPO FILE|-     show what "config put REPO FILE" would change
  verify REPO          check the document against AWS: clusters, services, containers,
                       secret parameters, roles; one line per check, exit 1 on any problem

{prefix} is ECRDEPLOY_PREFIX (default /ecrdeploy).
`

// config runs one of the config commands.
func (c *cli) config(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, configUsage)
		return exitBadInput
	}
	switch args[0] {
	case "validate":
		return c.configValidate(ctx, args[1:])
	case "put":
		return c.configPut(ctx, args[1:])
	case "get":
		return c.configGet(ctx, args[1:])
	case "verify":
		return c.configVerify(ctx, args[1:])
	case "list":
		return c.configList(ctx, args[1:])
	case "diff":
		return c.configDiff(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, configUsage)
		return exitOK
	}
	c.errorf("unknown command \"config %s\"\n\n%s", args[0], configUsage)
	return exitBadInput
}

// ssmAPI is the part of the SSM API the config commands use; *ssm.Client
// satisfies it.
type ssmAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	ssm.GetParametersByPathAPIClient
	ssm.DescribeParametersAPIClient
}

// parameterStore returns an SSM client with the caller's AWS configuration
// and the configuration prefix from ECRDEPLOY_PREFIX. Its errors are
// *setupError.
func (c *cli) parameterStore(ctx context.Context) (ssmAPI, string, error) {
	s, err := handler.ReadSettings(c.settingsEnv)
	if err != nil {
		return nil, "", &setupError{err}
	}
	cfg, err := handler.LoadAWS(ctx, c.aws.options()...)
	if err != nil {
		return nil, "", &setupError{err}
	}
	return ssm.NewFromConfig(cfg), s.Prefix, nil
}

// readDocument reads and checks a configuration document from FILE or
// standard input ("-"). On a problem it prints every one of them and returns
// !ok; the name is what messages call the document.
func (c *cli) readDocument(ctx context.Context, file string) (data []byte, doc *config.Document, name string, ok bool) {
	name = file
	if file == "-" {
		name = "standard input"
	}
	data, err := readInput(ctx, []string{file}, c.stdin, config.MaxDocumentSize)
	if err != nil {
		c.errorf("%v", err)
		return nil, nil, name, false
	}
	doc, err = config.Parse(name, data)
	if err != nil {
		problems := config.Problems(err)
		if len(problems) == 0 {
			c.errorf("%v", err)
		}
		for _, p := range problems {
			c.errorf("%v", p)
		}
		c.errorf("%s: invalid (%s)", name, plural(max(len(problems), 1), "problem"))
		return nil, nil, name, false
	}
	return data, doc, name, true
}

// environmentsLabel is "2 environments: dev and production".
func environmentsLabel(doc *config.Document) string {
	names := doc.Names()
	return plural(len(names), "environment") + ": " + input.Words(names)
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
func (c *cli) configValidate(ctx context.Context, args []string) int {
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
	_, doc, name, ok := c.readDocument(ctx, args[0])
	if !ok {
		return exitBadInput
	}
	fmt.Fprintf(c.stdout, "%s: valid (%s)\n", name, environmentsLabel(doc))
	return exitOK
}

// stored is a repository's configuration parameter as SSM holds it.
type stored struct {
	Repository   string    `json:"repository"`
	Parameter    string    `json:"parameter"`
	Version      int64     `json:"version"`
	Tier         string    `json:"tier"`
	Size         int       `json:"size"`
	LastModified time.Time `json:"lastModified"`
	// Environments are the document's environments; Error, when the
	// document is invalid, says why (the functions ignore it then).
	Environments []string `json:"environments"`
	Error        string   `json:"error,omitempty"`
	value        []byte
}

// storedParameter reads one configuration parameter and its tier; found is
// false when it does not exist.
func storedParameter(ctx context.Context, client ssmAPI, prefix, repo string) (p stored, found bool, err error) {
	name := config.ParameterName(prefix, repo)
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var notFound *ssmtypes.ParameterNotFound
	switch {
	case errors.As(err, &notFound):
		return stored{Repository: repo, Parameter: name}, false, nil
	case err != nil:
		return p, false, fmt.Errorf("get parameter %s: %w", name, err)
	case out.Parameter == nil || out.Parameter.Value == nil:
		return p, false, fmt.Errorf("get parameter %s: the response has no value", name)
	}
	p = newStored(repo, *out.Parameter)
	tiers, err := tiersOf(ctx, client, &ssmtypes.ParameterStringFilter{Key: aws.String("Name"), Option: aws.String("Equals"), Values: []string{name}})
	if err != nil {
		return p, true, err
	}
	p.Tier = tiers[name]
	return p, true, nil
}

// newStored describes one parameter read from SSM.
func newStored(repo string, par ssmtypes.Parameter) stored {
	value := []byte(aws.ToString(par.Value))
	p := stored{
		Repository: repo, Parameter: aws.ToString(par.Name), Version: par.Version,
		Size: len(value), LastModified: aws.ToTime(par.LastModifiedDate).UTC(), value: value,
		Environments: []string{},
	}
	if doc, err := config.Parse(p.Parameter, value); err != nil {
		p.Error = err.Error()
	} else {
		p.Environments = doc.Names()
	}
	return p
}

// tiersOf returns the tier of every parameter the filter selects, by name.
// (GetParameter and GetParametersByPath do not say.)
func tiersOf(ctx context.Context, client ssmAPI, filter *ssmtypes.ParameterStringFilter) (map[string]string, error) {
	tiers := map[string]string{}
	pages := ssm.NewDescribeParametersPaginator(client, &ssm.DescribeParametersInput{ParameterFilters: []ssmtypes.ParameterStringFilter{*filter}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe parameters %s: %w", strings.Join(filter.Values, ", "), err)
		}
		for _, m := range page.Parameters {
			tiers[aws.ToString(m.Name)] = string(m.Tier)
		}
	}
	return tiers, nil
}

// proposal is a document that "config put" would write and "config diff"
// compares, with what the parameter holds now.
type proposal struct {
	data   []byte
	doc    *config.Document
	name   string // what messages call the document: the file, or standard input
	client ssmAPI
	old    stored
	found  bool // the parameter exists
}

// propose parses the arguments REPO FILE|- of cmd, reads and checks the
// document and reads the repository's parameter. When !ok, the command is
// done (it has said why) and code is its exit code.
func (c *cli) propose(ctx context.Context, cmd *command, args []string, output string) (p proposal, code int, ok bool) {
	args, code, ok = cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return p, code, false
	}
	if code, ok := checkOutput(cmd, c.stderr, output); !ok {
		return p, code, false
	}
	if len(args) != 2 {
		return p, cmd.usageError(c.stderr, "%s", argCountProblem(args, "REPO", "FILE")), false
	}
	repo := args[0]
	if !input.ValidRepository(repo) {
		return p, cmd.usageError(c.stderr, "%q is not an ECR repository name", repo), false
	}
	if p.data, p.doc, p.name, ok = c.readDocument(ctx, args[1]); !ok {
		return p, exitBadInput, false
	}
	client, prefix, err := c.parameterStore(ctx)
	if err != nil {
		c.errorf("%v", err)
		return p, exitBadInput, false
	}
	p.client = client
	if p.old, p.found, err = storedParameter(ctx, client, prefix, repo); err != nil {
		c.errorf("%v", err)
		return p, exitFailed, false
	}
	return p, exitOK, true
}

// putResult is what "config put" did.
type putResult struct {
	Parameter    string   `json:"parameter"`
	Written      bool     `json:"written"` // false: the stored document was identical
	Version      int64    `json:"version"`
	Tier         string   `json:"tier"`
	Size         int      `json:"size"`
	Environments []string `json:"environments"`
}

// configPut checks a document, then writes it to the repository's
// configuration parameter unless it holds the same document already.
func (c *cli) configPut(ctx context.Context, args []string) int {
	var output string
	cmd := c.awsCommand("config put", "REPO FILE|- [flags]", `
Check a configuration document as "config validate" does and, only if it is
valid, write it unchanged to the SSM parameter {prefix}/config/REPO (type
String, overwriting any previous version; Parameter Store keeps the history).
When the parameter holds exactly this document already, nothing is written
and the document is reported unchanged. A document that fits 4 KB goes to the
standard tier; a larger one needs the advanced tier, which is charged per
parameter and month, and is chosen for it (intelligent tiering); the tier
used is reported. An invalid document writes nothing and exits 2.`)
	outputFlags(cmd, &output)
	p, code, ok := c.propose(ctx, cmd, args, output)
	if !ok {
		return code
	}
	data, old := p.data, p.old
	res := putResult{Parameter: old.Parameter, Version: old.Version, Tier: old.Tier, Size: len(data), Environments: p.doc.Names()}
	if !p.found || !bytes.Equal(old.value, data) {
		out, err := p.client.PutParameter(ctx, param.Put(res.Parameter, data, ssmtypes.ParameterTierIntelligentTiering))
		if err != nil {
			c.errorf("put parameter %s: %v", res.Parameter, err)
			return exitFailed
		}
		res.Written, res.Version, res.Tier = true, out.Version, string(out.Tier)
	}
	if output == formatJSON {
		return c.printJSON(res)
	}
	what := "unchanged"
	if res.Written {
		what = "written"
	}
	fmt.Fprintf(c.stdout, "%s: %s (version %d, %s tier, %d bytes, %s)\n", res.Parameter, what, res.Version, tierLabel(res.Tier), res.Size, environmentsLabel(p.doc))
	return exitOK
}

// tierLabel is a parameter tier for people: "standard", "advanced".
func tierLabel(tier string) string {
	if tier == "" {
		return "unknown"
	}
	return strings.ToLower(tier)
}

// printJSON prints v as indented JSON on standard output.
func (c *cli) printJSON(v any) int {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a diff or a version range has < and >
	if err := enc.Encode(v); err != nil {
		c.errorf("write result: %v", err)
		return exitFailed
	}
	return exitOK
}

// outputFlags adds -o and --output, bound to output.
func outputFlags(cmd *command, output *string) {
	cmd.flags.StringVar(output, "o", formatTable, "output `format`: table, or json")
	cmd.flags.StringVar(output, "output", formatTable, "the same as -o `format`")
}

// checkOutput checks the value of -o. When !ok, the command is done and code
// is its exit code.
func checkOutput(cmd *command, stderr io.Writer, output string) (code int, ok bool) {
	if output != formatTable && output != formatJSON {
		return cmd.usageError(stderr, "-o %q: want table or json", output), false
	}
	return exitOK, true
}

// configGet prints the document stored for a repository.
func (c *cli) configGet(ctx context.Context, args []string) int {
	cmd := c.awsCommand("config get", "REPO [flags]", `
Print the configuration document stored for REPO in {prefix}/config/REPO, as
it is stored. Exits 2 when the repository has none.`)
	repo, code, ok := c.repositoryArg(cmd, args)
	if !ok {
		return code
	}
	p, code, ok := c.storedOrFail(ctx, repo)
	if !ok {
		return code
	}
	value := string(p.value)
	if !strings.HasSuffix(value, "\n") {
		value += "\n"
	}
	io.WriteString(c.stdout, value)
	return exitOK
}

// storedOrFail reads the configuration parameter of repo; when it does not
// exist or cannot be read it says so and returns !ok with the exit code.
func (c *cli) storedOrFail(ctx context.Context, repo string) (stored, int, bool) {
	client, prefix, err := c.parameterStore(ctx)
	if err != nil {
		c.errorf("%v", err)
		return stored{}, exitBadInput, false
	}
	p, found, err := storedParameter(ctx, client, prefix, repo)
	switch {
	case err != nil:
		c.errorf("%v", err)
		return p, exitFailed, false
	case !found:
		c.errorf("repository %s is not configured (no parameter %s)", repo, p.Parameter)
		return p, exitBadInput, false
	}
	return p, exitOK, true
}

// configList lists every configuration parameter under {prefix}/config/.
func (c *cli) configList(ctx context.Context, args []string) int {
	var output string
	cmd := c.awsCommand("config list", "[flags]", `
List the repositories configured under {prefix}/config/: the parameter's
version, tier, size and last change, and the document's environments (or
"invalid" and why, for a document the functions ignore).`)
	outputFlags(cmd, &output)
	args, code, ok := cmd.parse(args, c.stdout, c.stderr)
	if !ok {
		return code
	}
	if code, ok := checkOutput(cmd, c.stderr, output); !ok {
		return code
	}
	if len(args) != 0 {
		return cmd.usageError(c.stderr, "unexpected argument %q", args[0])
	}
	client, prefix, err := c.parameterStore(ctx)
	if err != nil {
		c.errorf("%v", err)
		return exitBadInput
	}
	list, err := listStored(ctx, client, prefix)
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if output == formatJSON {
		return c.printJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintf(c.stdout, "no repository is configured under %s\n", config.ParameterName(prefix, ""))
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tVERSION\tTIER\tSIZE\tMODIFIED\tENVIRONMENTS")
	for _, p := range list {
		envs := input.Words(p.Environments)
		if p.Error != "" {
			envs = "invalid: " + firstLine(p.Error)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\n", p.Repository, p.Version, tierLabel(p.Tier), p.Size, p.LastModified.Format("2006-01-02 15:04 UTC"), envs)
	}
	tw.Flush()
	return exitOK
}

// firstLine is the first line of s.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// listStored reads every configuration parameter under prefix, sorted by
// repository.
func listStored(ctx context.Context, client ssmAPI, prefix string) ([]stored, error) {
	path := strings.TrimSuffix(config.ParameterName(prefix, ""), "/")
	list := []stored{}
	pages := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{
		Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("get parameters by path %s: %w", path, err)
		}
		for _, par := range page.Parameters {
			repo, ok := strings.CutPrefix(aws.ToString(par.Name), path+"/")
			if ok && repo != "" && par.Value != nil {
				list = append(list, newStored(repo, par))
			}
		}
	}
	if len(list) == 0 {
		return list, nil
	}
	tiers, err := tiersOf(ctx, client, &ssmtypes.ParameterStringFilter{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{path}})
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Tier = tiers[list[i].Parameter]
	}
	slices.SortFunc(list, func(a, b stored) int { return strings.Compare(a.Repository, b.Repository) })
	return list, nil
}

// diffResult is what "config put" would change.
type diffResult struct {
	Parameter string `json:"parameter"`
	// Changed is false when put would write nothing.
	Changed bool `json:"changed"`
	// Added, Removed and Modified are environments, by name.
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Modified []string `json:"modified"`
	// Diff is a unified diff from the stored document to the file.
	Diff string `json:"diff"`
}

// configDiff shows what putting a document would change.
func (c *cli) configDiff(ctx context.Context, args []string) int {
	var output string
	cmd := c.awsCommand("config diff", "REPO FILE|- [flags]", `
Show what "config put REPO FILE" would change: the environments it would
add, remove or modify, then a unified diff from the stored document to FILE.
The document is checked first, as "config put" does; exits 2 when it is
invalid. A repository with no document yet diffs against an empty one.`)
	outputFlags(cmd, &output)
	p, code, ok := c.propose(ctx, cmd, args, output)
	if !ok {
		return code
	}
	res, err := diffDocuments(p.old, p.data, p.name)
	if err != nil {
		c.errorf("diff %s and %s: %v", p.old.Parameter, p.name, err)
		return exitFailed
	}
	if output == formatJSON {
		return c.printJSON(res)
	}
	if !res.Changed {
		fmt.Fprintf(c.stdout, "%s: unchanged (config put would write nothing)\n", res.Parameter)
		return exitOK
	}
	var changes []string
	for _, ch := range []struct {
		what  string
		names []string
	}{{"adds", res.Added}, {"removes", res.Removed}, {"modifies", res.Modified}} {
		if len(ch.names) > 0 {
			changes = append(changes, ch.what+" "+input.Words(ch.names))
		}
	}
	summary := "changes only the document's text"
	if len(changes) > 0 {
		summary = input.Words(changes)
	}
	fmt.Fprintf(c.stdout, "%s: %s\n%s", res.Parameter, summary, res.Diff)
	return exitOK
}

// diffDocuments compares the stored document with data, a valid document
// read from name: the environments added, removed and modified (compared as
// JSON values, so that layout does not count), and the text.
func diffDocuments(old stored, data []byte, name string) (diffResult, error) {
	res := diffResult{Parameter: old.Parameter, Changed: !bytes.Equal(old.value, data), Added: []string{}, Removed: []string{}, Modified: []string{}}
	before, after := environmentsOf(old.value), environmentsOf(data)
	for _, env := range slices.Sorted(maps.Keys(after)) {
		b, ok := before[env]
		switch {
		case !ok:
			res.Added = append(res.Added, env)
		case !reflect.DeepEqual(b, after[env]):
			res.Modified = append(res.Modified, env)
		}
	}
	for _, env := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[env]; !ok {
			res.Removed = append(res.Removed, env)
		}
	}
	var err error
	res.Diff, err = difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(terminated(old.value)), B: difflib.SplitLines(terminated(data)),
		FromFile: old.Parameter, ToFile: name, Context: 3,
	})
	return res, err
}

// terminated is data as text ending in a newline (or empty).
func terminated(data []byte) string {
	s := string(data)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// environmentsOf returns the environments of a document as JSON values, by
// name; nothing for a document that is not one (an invalid stored one).
func environmentsOf(data []byte) map[string]any {
	var doc struct {
		Environments map[string]any `json:"environments"`
	}
	if json.Unmarshal(data, &doc) != nil || doc.Environments == nil {
		return map[string]any{}
	}
	return doc.Environments
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
	cmd := c.awsCommand("config verify", "REPO [flags]", `
Check the configuration stored for REPO against AWS: that each environment's
role can be assumed, that its cluster and services exist, that each service's
task definition (or the template) has the containers named, that secrets
kept in SSM Parameter Store exist, and that the repository's lifecycle policy
spares the digests the environments run and may roll back to (ecrdeploy
lifecycle). Prints one line per check; exits 1 when any check fails, 2 when
REPO has no valid configuration.`)
	repo, code, ok := c.repositoryArg(cmd, args)
	if !ok {
		return code
	}
	h, err := c.newHandler(ctx, handler.Options{Log: c.logger(false)})
	if err != nil {
		c.errorf("%v", err)
		return exitBadInput
	}
	checks, err := h.Verifier.Verify(ctx, repo)
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if len(checks) > 0 && checks[0].OK {
		checks = append(checks, lifecycleCheck(ctx, h.Deployer, repo))
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
