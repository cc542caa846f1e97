package deploy

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// HistoryEntry is one version of an environment's state record: a
// deployment, a rollout ECS reported, a hold, a repair from what ECS said.
type HistoryEntry struct {
	Environment string        `json:"environment"`
	Version     string        `json:"version,omitempty"`
	Tag         string        `json:"tag,omitempty"`
	Digest      string        `json:"digest,omitempty"`
	Trigger     state.Cause   `json:"trigger,omitempty"` // what caused it
	EventID     string        `json:"eventId,omitempty"` // which event or request
	Rollout     state.Rollout `json:"rollout,omitempty"`
	Held        []string      `json:"held,omitempty"`
	Time        time.Time     `json:"time"`
	// Change is the version of the state parameter: Parameter Store keeps
	// the last 100.
	Change int64 `json:"change"`
}

// history reports the audit log of a repository's environments (or of the
// one named): every version Parameter Store keeps of their state records,
// newest first.
func (d *Deployer) history(ctx context.Context, repository, environment string) (Result, error) {
	res := Result{Repository: repository}
	doc, err := d.manualConfig(ctx, repository, environment)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	names := doc.Names()
	if environment != "" {
		names = []string{environment}
	}
	entries := make([][]HistoryEntry, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			recs, err := d.State.History(ctx, repository, name)
			if errors.Is(err, state.ErrNotFound) {
				return
			}
			errs[i] = err
			for _, r := range recs {
				entries[i] = append(entries[i], HistoryEntry{
					Environment: name, Version: r.Version, Tag: r.Tag, Digest: r.Digest, Trigger: r.Cause, EventID: r.EventID,
					Rollout: r.AggregateRollout(), Held: r.Held, Time: r.Time, Change: r.ParameterVersion,
				})
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return d.fail(ctx, res, err)
	}
	res.History = slices.Concat(entries...)
	slices.SortStableFunc(res.History, func(a, b HistoryEntry) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(a.Environment, b.Environment), cmp.Compare(b.Change, a.Change))
	})
	if res.History == nil {
		res.History = []HistoryEntry{}
	}
	return res, nil
}
