package deploy

import (
	"context"
	"slices"
	"sync"
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

// early publishes the result events of a request with environments to
// apply as soon as every environment has decided and updated its services,
// so that the events need not wait for the state writes and convergence
// checks that follow. Each environment hands over its rows once (decided),
// at the point its services were updated, or with its final rows when it
// returns sooner. finish then publishes again only the rows that changed
// since (a state write that failed, a delivery superseded by another), and
// measures the final result once.
type early struct {
	d        *Deployer
	req      Request
	rows     [][]Row // by environment, as handed over
	once     []sync.Once
	pending  sync.WaitGroup // environments that have not handed over yet
	finished chan struct{}  // closed when the early events are published
}

// earlyPublisher returns the early publisher of a request whose result so
// far is res (the rows of the environments not admitted) and which applies
// n environments. A dry run publishes nothing.
func (d *Deployer) earlyPublisher(ctx context.Context, req Request, res Result, n int) *early {
	p := &early{d: d, req: req, rows: make([][]Row, n), once: make([]sync.Once, n), finished: make(chan struct{})}
	p.pending.Add(n)
	go func() {
		defer close(p.finished)
		p.pending.Wait()
		if req.DryRun || d.Reporter == nil {
			return
		}
		res.Results = slices.Concat(append([][]Row{res.Results}, p.rows...)...)
		d.Reporter.Publish(ctx, res, req.EventID)
	}()
	return p
}

// decided hands over environment i's rows as they stand; only the first
// call counts.
func (p *early) decided(i int) func([]Row) {
	return func(rows []Row) {
		p.once[i].Do(func() {
			p.rows[i] = slices.Clone(rows)
			p.pending.Done()
		})
	}
}

// finish logs the final result, publishes the rows that changed since the
// early events (final: by environment, as they ended) and measures it.
func (p *early) finish(ctx context.Context, res Result, final [][]Row, start time.Time) {
	for i := range final {
		p.decided(i)(final[i]) // an environment that never handed over
	}
	<-p.finished
	d := p.d
	d.logRows(ctx, p.req, res.Results)
	if p.req.DryRun || d.Reporter == nil {
		return
	}
	changed := res
	changed.Results = nil
	for i, rows := range final {
		changed.Results = append(changed.Results, changedRows(p.rows[i], rows)...)
	}
	if len(changed.Results) > 0 {
		d.Reporter.Publish(ctx, changed, p.req.EventID)
	}
	d.Reporter.Measure(res, d.now().Sub(start))
}

// changedRows returns the rows of final that say something else than the
// row published for them (before), row for row.
func changedRows(before, final []Row) []Row {
	if len(before) != len(final) {
		return final
	}
	var out []Row
	for i, r := range final {
		b := before[i]
		if r.Outcome != b.Outcome || r.Reason != b.Reason || r.Error != b.Error || r.Rollout != b.Rollout ||
			r.TaskDefinition != b.TaskDefinition || r.DeploymentID != b.DeploymentID {
			out = append(out, r)
		}
	}
	return out
}
