package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// PendingStore keeps work that waits across invocations, one entry per
// kind and environment, every write conditional; *state.Store satisfies
// it (in the state table, beside the records).
type PendingStore interface {
	// PutPending remembers value for an environment, replacing an older
	// entry; state.ErrConflict when a newer one stands.
	PutPending(ctx context.Context, kind string, k state.Key, value []byte, at time.Time) error
	// ListPending returns every entry of a kind.
	ListPending(ctx context.Context, kind string) ([]state.Pending, error)
	// TakePending makes owner the one who works on an entry until a time;
	// state.ErrConflict when it changed, is gone or another works on it.
	TakePending(ctx context.Context, p state.Pending, owner string, until time.Time) error
	// DeletePending forgets an entry if it still holds the value read;
	// state.ErrConflict otherwise.
	DeletePending(ctx context.Context, p state.Pending) error
}

// restoreKind is the kind of pending work a deployment waiting on a
// restore is.
const restoreKind = "restore"

// StoredRestores is the RestoreStore of the functions: the deployments that
// wait on a restore are pending work in the state table, so that one
// remembered by an invocation is resumed by a later one in another
// process, once, and never lost: a newer deployment of the same
// environment replaces an older one (never the reverse), a resumer takes
// the deployment before carrying it out (another leaves it), and it is
// forgotten only if it is still the one read.
type StoredRestores struct {
	Store PendingStore
	// Log receives a line for an entry that cannot be read as a deployment
	// (nil: slog.Default()); it is left in the table, untouched.
	Log *slog.Logger
}

var _ RestoreStore = StoredRestores{}

// PutRestore remembers p. It returns an error wrapping state.ErrConflict
// when a deployment asked for later waits for the same environment (it is
// the one carried out), or the error of the write.
func (s StoredRestores) PutRestore(ctx context.Context, p PendingRestore) error {
	e, err := encodeRestore(p)
	if err != nil {
		return err
	}
	return s.Store.PutPending(ctx, e.Kind, e.Key, e.Value, e.At)
}

// PendingRestores returns every deployment that waits, each with the entry
// it was read from (what taking and forgetting it are conditional on). An
// entry that is not a deployment is logged and left out.
func (s StoredRestores) PendingRestores(ctx context.Context) ([]PendingRestore, error) {
	items, err := s.Store.ListPending(ctx, restoreKind)
	if err != nil {
		return nil, err
	}
	out := make([]PendingRestore, 0, len(items))
	for _, item := range items {
		var p PendingRestore
		if err := json.Unmarshal(item.Value, &p); err != nil || p.Repository != item.Key.Repository || p.Environment != item.Key.Environment {
			log := s.Log
			if log == nil {
				log = slog.Default()
			}
			log.ErrorContext(ctx, "a deployment waiting on a restore cannot be read: left as it is", "repository", item.Key.Repository,
				"environment", item.Key.Environment, "error", fmt.Sprint(err))
			continue
		}
		p.stored = &item
		out = append(out, p)
	}
	return out, nil
}

// TakeRestore makes owner the one who carries p out, until a time. It
// returns an error wrapping state.ErrConflict when another does, or p is no
// longer the deployment remembered.
func (s StoredRestores) TakeRestore(ctx context.Context, p PendingRestore, owner string, until time.Time) error {
	item, err := s.entry(p)
	if err != nil {
		return err
	}
	return s.Store.TakePending(ctx, item, owner, until)
}

// DeleteRestore forgets p if it is still the deployment remembered for its
// environment; one that replaced it stays.
func (s StoredRestores) DeleteRestore(ctx context.Context, p PendingRestore) error {
	item, err := s.entry(p)
	if err != nil {
		return err
	}
	if err := s.Store.DeletePending(ctx, item); err != nil && !errors.Is(err, state.ErrConflict) {
		return err
	}
	return nil
}

// entry is the stored entry of a deployment: the one it was read from, or
// what PutRestore wrote for it.
func (s StoredRestores) entry(p PendingRestore) (state.Pending, error) {
	if p.stored != nil {
		return *p.stored, nil
	}
	return encodeRestore(p)
}

// encodeRestore is the entry of pending work that remembers p.
func encodeRestore(p PendingRestore) (state.Pending, error) {
	p.Since = p.Since.UTC()
	value, err := json.Marshal(p)
	if err != nil {
		return state.Pending{}, fmt.Errorf("encode the deployment of %s to %s waiting on a restore: %w", p.Digest, p.Environment, err)
	}
	return state.Pending{Kind: restoreKind, Key: state.Key{Repository: p.Repository, Environment: p.Environment}, Value: value, At: p.Since}, nil
}
