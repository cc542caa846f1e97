package deploy

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// HistoryEntry is one change of an environment's state record: a
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
	// Change is the revision of the record: its changes are numbered from
	// 1, and every one is kept.
	Change int64 `json:"change"`
}

// ErrBadCursor is a history cursor that no history answer gave.
var ErrBadCursor = errors.New("not a cursor of a history answer")

// historyCursor is where a paged history stopped: per environment with
// changes left, the revision before which the next page starts (0: from
// the newest). It travels base64-encoded, opaque to the caller.
type historyCursor map[string]int64

func (c historyCursor) String() string {
	if len(c) == 0 {
		return ""
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string, names []string) (historyCursor, error) {
	c := historyCursor{}
	if s == "" {
		for _, n := range names {
			c[n] = 0
		}
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || len(c) == 0 {
		return nil, fmt.Errorf("cursor %q: %w", s, ErrBadCursor)
	}
	for n, before := range c {
		if !slices.Contains(names, n) || before < 0 {
			return nil, fmt.Errorf("cursor %q: %w for these environments", s, ErrBadCursor)
		}
	}
	return c, nil
}

// history reports the audit log of a repository's environments (or of the
// one named), newest first: at most limit changes (0: request.DefaultPage),
// continuing where cursor says, with the cursor of the rest in Next.
func (d *Deployer) history(ctx context.Context, req request.Request) (Result, error) {
	res := Result{Repository: req.Repository}
	doc, err := d.manualConfig(ctx, req.Repository, req.Environment)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	names := doc.Names()
	if req.Environment != "" {
		names = []string{req.Environment}
	}
	cursor, err := parseCursor(req.Cursor, names)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	limit := cmp.Or(req.Limit, request.DefaultPage)
	envs := slices.Sorted(maps.Keys(cursor))
	pages := make([]state.Page, len(envs))
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	for i, name := range envs {
		wg.Go(func() {
			pages[i], errs[i] = d.State.History(ctx, req.Repository, name, limit, cursor[name])
			if errors.Is(errs[i], state.ErrNotFound) {
				pages[i], errs[i] = state.Page{}, nil
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return d.fail(ctx, res, err)
	}
	entries, next := mergeHistory(envs, pages, cursor, limit)
	res.History, res.Next = entries, next.String()
	return res, nil
}

// mergeHistory merges the pages of several environments (index for index
// with envs), newest first, keeps the first limit changes and says where
// each environment's next page starts. Each environment's changes stay in
// their own order (newest revision first), whatever the clocks that timed
// them said. It calls nothing.
func mergeHistory(envs []string, pages []state.Page, cursor historyCursor, limit int) ([]HistoryEntry, historyCursor) {
	entries := []HistoryEntry{}
	heads := make([]int, len(envs))
	for len(entries) < limit {
		pick := -1
		for i := range envs {
			if heads[i] == len(pages[i].Records) {
				continue
			}
			if pick < 0 || pages[i].Records[heads[i]].Time.After(pages[pick].Records[heads[pick]].Time) {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		r := pages[pick].Records[heads[pick]]
		heads[pick]++
		entries = append(entries, HistoryEntry{
			Environment: envs[pick], Version: r.Version, Tag: r.Tag, Digest: r.Digest, Trigger: r.Cause, EventID: r.EventID,
			Rollout: r.AggregateRollout(), Held: r.Held, Time: r.Time, Change: r.Revision,
		})
	}
	next := historyCursor{}
	for i, name := range envs {
		recs, n := pages[i].Records, heads[i]
		switch {
		case n == 0 && (len(recs) > 0 || pages[i].More):
			next[name] = cursor[name] // nothing of it shown yet
		case n > 0 && (n < len(recs) || pages[i].More):
			next[name] = recs[n-1].Revision // the next page starts after the last shown
		}
	}
	return entries, next
}
