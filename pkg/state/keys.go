package state

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is returned when an environment has no state record yet.
var ErrNotFound = errors.New("no state record")

// ErrConflict is returned by a write that lost: the record changed since it
// was read (another delivery, an ECS event), or the writer's claim was
// taken over. The writer reads the record again and decides again.
var ErrConflict = errors.New("the state record changed since it was read")

// Claimed is the error of a claim on an environment that another delivery
// holds. Record is the environment's record as the failed claim read it
// (nil when it has none), so that a delivery that would not act anyway need
// not wait for the claim.
type Claimed struct {
	Key    Key
	Claim  Claim
	Record *Record
}

func (c *Claimed) Error() string {
	return fmt.Sprintf("environment %s of %s is claimed by %s until %s", c.Key.Environment, c.Key.Repository,
		c.Claim.Owner, c.Claim.Until.UTC().Format(time.RFC3339))
}

// Key names the record of one environment of one repository.
type Key struct {
	Repository, Environment string
}

func (k Key) String() string { return k.Repository + "/" + k.Environment }

// Unreadable is the error of GetMany and GetKeys when some records could
// be read but not decoded: one environment's bad record fails that
// environment only, and the others' records come with it.
type Unreadable struct {
	Keys map[Key]error // the decoding error of each record
}

// Error lists the environments whose records are unreadable.
func (u *Unreadable) Error() string {
	keys := slices.SortedFunc(maps.Keys(u.Keys), func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Environment, b.Environment))
	})
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	return "unreadable state of " + strings.Join(names, ", ") + ": " + u.Keys[keys[0]].Error()
}

// Of returns the error of one environment's record, nil when it was read,
// in the answer of GetMany: every key is of one repository.
func (u *Unreadable) Of(environment string) error {
	if u == nil {
		return nil
	}
	for k, err := range u.Keys {
		if k.Environment == environment {
			return err
		}
	}
	return nil
}

// OfKey returns the error of one record, nil when it was read.
func (u *Unreadable) OfKey(k Key) error {
	if u == nil {
		return nil
	}
	return u.Keys[k]
}

// Only returns the part of the error about one repository's records (an
// *Unreadable), as GetMany would have answered for it; nil when they were
// all read.
func (u *Unreadable) Only(repository string) error {
	if u == nil {
		return nil
	}
	var part *Unreadable
	for k, err := range u.Keys {
		if k.Repository != repository {
			continue
		}
		if part == nil {
			part = &Unreadable{Keys: map[Key]error{}}
		}
		part.Keys[k] = err
	}
	if part == nil {
		return nil
	}
	return part
}

func (u *Unreadable) add(k Key, err error) *Unreadable {
	if u == nil {
		u = &Unreadable{Keys: map[Key]error{}}
	}
	u.Keys[k] = err
	return u
}
