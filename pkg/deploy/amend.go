package deploy

import (
	"context"
	"errors"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// amendAttempts bounds how often a write that lost is made again from the
// record read anew, before the invocation fails retryably.
const amendAttempts = 8

// amend writes the change that change makes to an environment's record. rec
// is the record as the caller read it, nil to read it now; an environment
// without a record starts from an empty one. The write is conditional on
// the revision the change was made from: when another writer came first,
// the record is read again and the change made again from it, so that
// nothing another wrote is lost. change returns the new record and whether
// it changed anything; nothing is written when it did not. amend returns
// the record as it stands, and whether it wrote it.
func (d *Deployer) amend(ctx context.Context, k state.Key, rec *state.Record, change func(state.Record) (state.Record, bool), opts ...state.PutOption) (state.Record, bool, error) {
	for attempt := 1; ; attempt++ {
		if rec == nil {
			r, err := d.read(ctx, k)
			if err != nil {
				return state.Record{}, false, err
			}
			rec = &r
		}
		next, changed := change(cloneRecord(*rec))
		if !changed {
			return *rec, false, nil
		}
		next.Revision = rec.Revision
		written, err := d.State.Put(ctx, next, opts...)
		if err == nil {
			noteWrite(ctx, *rec, written) // the keep tags follow (protectwritten.go)
			return written, true, nil
		}
		if !errors.Is(err, state.ErrConflict) || attempt == amendAttempts {
			return *rec, false, err
		}
		rec = nil
	}
}
