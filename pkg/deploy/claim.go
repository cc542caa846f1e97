package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// One delivery at a time acts on an environment: before it registers
// anything it claims the environment (a conditional write that expires),
// and it releases the claim with the write that records what it did. A
// delivery that finds the environment claimed decides from the record the
// failed claim read whether it would act at all; if it would, it waits
// for the claim, and fails retryably (to be delivered again) when the
// claim outlasts its wait. A holder that crashed blocks the environment
// until its claim expires.

// claim is this delivery's hold on an environment.
type claim struct {
	key   state.Key
	owner string
	until time.Time
}

// newOwner names a claim's holder: the delivery, and a suffix of its own,
// since one event may be delivered to two processes at once.
func newOwner(eventID string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	if eventID == "" {
		eventID = "ecrdeploy"
	}
	return eventID + "/" + hex.EncodeToString(b)
}

// claimUntil is when a claim taken now expires: after ClaimTTL, and no
// later than shortly after the invocation's deadline, when a holder still
// working is stopped by Lambda anyway.
func (d *Deployer) claimUntil(ctx context.Context) time.Time {
	until := d.now().Add(d.claimTTL())
	if dl, ok := ctx.Deadline(); ok && dl.Add(5*time.Second).Before(until) {
		until = dl.Add(5 * time.Second)
	}
	return until
}

// acquire claims an environment for owner and returns its record (nil:
// none) with the claim. When another delivery holds it, wouldAct decides
// from the record that holder's claim read (nil: none) whether this
// delivery would act at all: if not, acquire returns that record and no
// claim, without waiting. Otherwise it waits for the claim, at most
// ClaimWait, and returns an error wrapping *state.Claimed (retryable) when
// it did not get it.
func (d *Deployer) acquire(ctx context.Context, k state.Key, owner string, wouldAct func(*state.Record) bool) (*state.Record, *claim, error) {
	give := d.now().Add(d.claimWait())
	delay := 50 * time.Millisecond
	for {
		until := d.claimUntil(ctx)
		rec, err := d.State.Claim(ctx, k, owner, until)
		var claimed *state.Claimed
		if !errors.As(err, &claimed) {
			if err != nil {
				return nil, nil, err
			}
			return rec, &claim{key: k, owner: owner, until: until}, nil
		}
		if wouldAct != nil && !wouldAct(claimed.Record) {
			return claimed.Record, nil, nil
		}
		// Poll no later than the holder's expiry, and not past the wait.
		next := d.now().Add(delay)
		if claimed.Claim.Until.Before(next) {
			next = claimed.Claim.Until.Add(10 * time.Millisecond)
		}
		if next.After(give) {
			return nil, nil, fmt.Errorf("waited %s for the environment: %w", d.claimWait(), claimed)
		}
		if !sleepUntil(ctx, d.now(), next) {
			return nil, nil, fmt.Errorf("waiting for the environment: %w (%w)", ctx.Err(), claimed)
		}
		delay = min(delay*2, time.Second)
	}
}

// keep renews the claim when less than a third of its time is left, so
// that it lasts through the update and the record that follow. It returns
// an error wrapping *state.Claimed when another delivery took the
// environment over meanwhile: this one must not change the services.
func (d *Deployer) keep(ctx context.Context, c *claim) error {
	if c == nil || c.until.Sub(d.now()) > d.claimTTL()/3 {
		return nil
	}
	until := d.claimUntil(ctx)
	if _, err := d.State.Claim(ctx, c.key, c.owner, until); err != nil {
		return fmt.Errorf("renew the claim on the environment: %w", err)
	}
	c.until = until
	return nil
}

// release gives the claim up, when the write that records a delivery did
// not. It runs even when ctx is done: a claim left behind blocks the
// environment until it expires.
func (d *Deployer) release(ctx context.Context, c *claim) {
	if c == nil {
		return
	}
	if err := d.State.Release(context.WithoutCancel(ctx), c.key, c.owner); err != nil {
		d.log().WarnContext(ctx, "release the claim on an environment (it expires)", "repository", c.key.Repository,
			"environment", c.key.Environment, "error", err.Error())
	}
}

func sleepUntil(ctx context.Context, now, t time.Time) bool {
	timer := time.NewTimer(t.Sub(now))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
