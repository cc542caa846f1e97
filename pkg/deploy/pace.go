package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Registrations queue behind ECS's RegisterTaskDefinition bucket (20 at
// once, then 1 a second, per account and region: "Request throttling for
// the Amazon ECS API"), in a pace every instance of the functions shares
// through the state table (state.Store.Reserve), instead of each instance
// learning the bucket alone by being refused. The shared pace runs a little
// below the bucket (a burst of 15), leaving room for whatever else
// registers in the account (CI, the CLI, Terraform); the SDK's pacing still
// handles a refusal. Each repository holds at most one slot still to come,
// so that one repository's environments queue behind the others' next
// rather than taking the slots of the coming minutes.

// Pacer reserves slots of a shared pace; *state.Store is one.
type Pacer interface {
	Reserve(ctx context.Context, p state.Pace, key string) (time.Time, error)
}

// registrationPace is the pace of RegisterTaskDefinition in an account and
// region.
func registrationPace(account, region string) state.Pace {
	return state.Pace{Name: "ecs:RegisterTaskDefinition:" + account + ":" + region, Interval: time.Second, Burst: 15}
}

// slots are an environment's registration slots: the first may be
// reserved ahead (prefetch, beside the describes that plan the
// registration), the others as each registration comes.
type slots struct {
	d          *Deployer
	repository string
	e          environment
	mu         sync.Mutex
	first      func() (time.Time, error) // reserved ahead, unused yet; nil when used or none
}

// registrationSlots returns an environment's registration slots.
func (d *Deployer) registrationSlots(repository string, e environment) *slots {
	return &slots{d: d, repository: repository, e: e}
}

// prefetch reserves the first slot now, to be waited for by the first
// registration; the reservation then costs it no round trip.
func (s *slots) prefetch(ctx context.Context) {
	if s.d.Pace == nil {
		return
	}
	first := sync.OnceValues(func() (time.Time, error) { return s.reserve(ctx) })
	go first()
	s.mu.Lock()
	s.first = first
	s.mu.Unlock()
}

// wait waits for the next slot: the one reserved ahead, or a new one. A
// slot that cannot be reserved (the table refuses) is no reason not to
// register: the SDK's pacing is the fallback.
func (s *slots) wait(ctx context.Context) error {
	if s.d.Pace == nil {
		return nil
	}
	s.mu.Lock()
	reserve := s.first
	s.first = nil
	s.mu.Unlock()
	var at time.Time
	var err error
	if reserve != nil {
		at, err = reserve()
	} else {
		at, err = s.reserve(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.d.log().WarnContext(ctx, "registration pace: no slot reserved (registering at the SDK's pace)", "repository", s.repository,
			"environment", s.e.name, "error", err.Error())
		return nil
	}
	if !sleepUntil(ctx, s.d.now(), at) {
		return ctx.Err()
	}
	return nil
}

// reserve reserves a slot of the pace of the environment's account and
// region, waiting for the repository's slot still to come, if any.
func (s *slots) reserve(ctx context.Context) (time.Time, error) {
	d := s.d
	account := accountOfRole(s.e.env.RoleARN)
	if account == "" && d.Account != nil {
		var err error
		// Not knowing the account, the pace would be every account's:
		// the registration goes at the SDK's pace instead (wait).
		if account, err = d.Account(ctx); err != nil {
			return time.Time{}, fmt.Errorf("the account whose registrations are paced: %w", err)
		}
	}
	p := registrationPace(account, cmp.Or(s.e.env.Region, d.Region))
	for {
		at, err := d.Pace.Reserve(ctx, p, s.repository)
		if !errors.Is(err, state.ErrSlotTaken) {
			return at, err
		}
		if !sleepUntil(ctx, d.now(), at) {
			return time.Time{}, ctx.Err()
		}
	}
}

// accountOfRole returns the account of an IAM role ARN, "" for none.
func accountOfRole(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// registers reports whether deploying a request to an environment all but
// surely registers a revision: the record names another image (or there is
// none). A re-delivery of what is recorded, or a version with a known
// revision, usually registers nothing. It calls nothing.
func registers(req Request, e environment, rec *state.Record) bool {
	if rec == nil {
		return true
	}
	return (rec.Version != e.version.String() || rec.Digest != req.Digest) && knownRevisions(rec, req, e.version) == nil
}
