package deploy

import (
	"context"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// finish logs one line per decision and, unless the request is a dry run,
// announces the result.
func (d *Deployer) finish(ctx context.Context, req Request, res Result, start time.Time) {
	d.logRows(ctx, req, res.Results)
	if !req.DryRun {
		d.announce(ctx, res, req.EventID, d.now().Sub(start))
	}
}

// fail reports an error of the whole request in the result, classified,
// returning it only when a retry could fix it.
func (d *Deployer) fail(ctx context.Context, res Result, err error) (Result, error) {
	res.Error, res.ErrorKind = err.Error(), kindOf(err)
	d.log().ErrorContext(ctx, "request failed", "repository", res.Repository, "tag", res.Tag, "error", err.Error())
	if target.Retryable(err) {
		return res, err
	}
	return res, nil
}

// logRows logs one line per decision. Environment values and secrets are
// never logged.
func (d *Deployer) logRows(ctx context.Context, req Request, rows []Row) {
	for _, r := range rows {
		attrs := []any{
			"repository", req.Repository, "tag", req.Tag, "digest", req.Digest, "trigger", string(req.Cause),
			"environment", r.Environment, "cluster", r.Cluster, "service", r.Service,
			"outcome", string(r.Outcome), "reason", string(r.Reason),
		}
		if r.TaskDefinition != "" {
			attrs = append(attrs, "taskDefinition", r.TaskDefinition)
		}
		if r.Error != "" {
			d.log().ErrorContext(ctx, "decision", append(attrs, "error", r.Error)...)
			continue
		}
		d.log().InfoContext(ctx, "decision", attrs...)
	}
}
