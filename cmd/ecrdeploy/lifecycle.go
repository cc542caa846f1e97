package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/verify"
)

// lifecycle checks a repository's lifecycle policy against the digests its
// environments run and may roll back to, and with --protect tags them.
func (c *cli) lifecycle(ctx context.Context, args []string) int {
	cmd := c.awsCommand("lifecycle", "REPO [flags]", `
Read the lifecycle policy of the ECR repository REPO and ECR's preview of it,
and say, per environment, which of the digests it runs and may roll back to
(its state record's digest and known-good deployments) a rule would expire or
archive, and which rule. Exits 1 when a rule would take one of them, 0 when
none would (or the repository has no policy). Changes nothing, unless
--protect.

With --protect, and "protect": true in REPO's document, it first tags each of
those digests ecrdeploy-keep-<digest>, and removes that tag from digests that
are neither (ecrdeploy does so after every deployment): add this rule first
to the repository's lifecycle policy so that it spares them:

`+deploy.KeepRule)
	var output string
	var protect bool
	outputFlags(cmd, &output)
	cmd.flags.BoolVar(&protect, "protect", false, "tag the running and rollback-target digests now (the document must set protect)")
	repo, code, ok := c.repositoryArg(cmd, args)
	if !ok {
		return code
	}
	if code, ok := checkOutput(cmd, c.stderr, output); !ok {
		return code
	}
	h, err := c.newHandler(ctx, handler.Options{Log: c.logger(false)})
	if err != nil {
		c.errorf("%v", err)
		return exitBadInput
	}
	var protected *deploy.ProtectResult
	if protect {
		res, err := h.Deployer.Protect(ctx, repo)
		if err != nil {
			c.errorf("%v", err)
			return exitFailed
		}
		protected = &res
	}
	rep, err := h.Deployer.Lifecycle(ctx, repo)
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if output == formatJSON {
		if code := c.printJSON(struct {
			deploy.LifecycleReport
			Protected *deploy.ProtectResult `json:"protected,omitempty"`
		}{rep, protected}); code != exitOK {
			return code
		}
	} else {
		printLifecycle(c.stdout, rep, protected)
	}
	if len(rep.AtRisk()) > 0 {
		return exitFailed
	}
	return exitOK
}

// printLifecycle prints a lifecycle report as a table, one line per digest.
func printLifecycle(w io.Writer, rep deploy.LifecycleReport, protected *deploy.ProtectResult) {
	if protected != nil {
		fmt.Fprintf(w, "protect: tagged %d, untagged %d", len(protected.Tagged), len(protected.Untagged))
		if n := len(protected.Kept); n > 0 {
			fmt.Fprintf(w, ", %d keep tags left (the image's last tag)", n)
		}
		if n := len(protected.Archived); n > 0 {
			fmt.Fprintf(w, ", %d archived digests not tagged", n)
		}
		fmt.Fprintln(w)
	}
	if !rep.Policy {
		fmt.Fprintf(w, "%s has no lifecycle policy: nothing expires or archives its images\n", rep.Repository)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tROLE\tVERSION\tDIGEST\tLIFECYCLE")
	for _, d := range rep.Digests {
		what := "kept"
		if d.Action != "" {
			what = strings.TrimPrefix(d.Risk(), fmt.Sprintf("%s %s %s@%s: ", d.Environment, d.Role, d.Version, d.Digest))
		}
		if d.Registry != "" {
			what += " (pulls from " + d.Registry + ": its own policy is not checked)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Environment, d.Role, d.Version, d.Digest, what)
	}
	_ = tw.Flush()
	for env, e := range rep.Errors {
		fmt.Fprintf(w, "%s: record unreadable: %s\n", env, e)
	}
	if n := len(rep.AtRisk()); n > 0 {
		fmt.Fprintf(w, "%d running or rollback-target digests would be expired or archived", n)
		if !rep.Protect {
			fmt.Fprint(w, `: set "protect": true in the document and add the keep rule first (ecrdeploy lifecycle --help)`)
		}
		fmt.Fprintln(w)
	}
}

// lifecycleCheck is config verify's line of the lifecycle check: that the
// repository's lifecycle policy spares every running and rollback-target
// digest.
func lifecycleCheck(ctx context.Context, d *deploy.Deployer, repo string) verify.Check {
	ch := verify.Check{What: "lifecycle policy spares every running and rollback-target digest"}
	rep, err := d.Lifecycle(ctx, repo)
	if err != nil {
		ch.Detail = err.Error()
		return ch
	}
	var risks []string
	for _, r := range rep.AtRisk() {
		risks = append(risks, r.Risk())
	}
	ch.OK = len(risks) == 0
	switch {
	case !ch.OK:
		ch.Detail = strings.Join(risks, "; ")
	case !rep.Policy:
		ch.Detail = "no lifecycle policy"
	}
	return ch
}
