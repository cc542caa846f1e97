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
// rather than taking the slots of the coming minutes. A repository that
// had no slot in the last minute goes first (the pace's front lane, up to
// 5 at once: the bucket's 20 less the 15), so that a team's push to a
// quiet repository is not queued behind a burst of others; the burst's
// later slots make room for it. A push whose slot is far off waits for it
// in the deployer's queue, not in its Lambda instance (queue.go).

// Pacer reserves slots of a shared pace; *state.Store is one.
type Pacer interface {
	// ReserveSlot reserves key's next slot (state.Store.ReserveSlot).
	ReserveSlot(ctx context.Context, p state.Pace, key string) (state.Slot, error)
	// Shifted says when a slot reserved a while ago is due now, the front
	// slots given since taken into account (state.Store.Shifted).
	Shifted(ctx context.Context, p state.Pace, slot state.Slot) (time.Time, error)
}

// registrationPace is the pace of RegisterTaskDefinition in an account and
// region, for a repository that queues behind the others, in the main lane
// (behind), or may go first.
func registrationPace(account, region string, behind bool) state.Pace {
	p := state.Pace{Name: "ecs:RegisterTaskDefinition:" + account + ":" + region, Interval: time.Second, Burst: 15,
		Quiet: quiet, FrontBurst: 5}
	if behind {
		p.FrontBurst = 0
	}
	return p
}

// quiet is how long a repository must have had no registration slot to go
// first.
const quiet = time.Minute

// behind reports whether an environment's registrations queue in the
// pace's main lane: its repository is in a burst of pushes (inBurst), or
// its record was written within quiet (a repository that registered that
// recently is not quiet: asking the front lane first would cost a refused
// write, a sequential call, for nothing).
func behind(pushed pushedImages, rec *state.Record, now time.Time) bool {
	return inBurst(pushed, now) || (rec != nil && now.Sub(rec.Time) < quiet)
}

// A repository is in a burst of pushes when ECR received burstImages of
// its tagged images or more in the last burstWindow: CI pushing versions
// faster than they deploy, not a team shipping a fix (one image, two when
// a build is made again).
const (
	burstImages = 3
	burstWindow = 10 * time.Minute
)

// inBurst reports whether the images a push learnt of its repository say
// it is in a burst of pushes at now. A request that learnt none (not a
// push, or not checked) is not: a person's request goes first.
func inBurst(pushed pushedImages, now time.Time) bool {
	n := 0
	for _, img := range pushed.images {
		if !img.PushedAt.IsZero() && now.Sub(img.PushedAt) < burstWindow {
			n++
		}
	}
	return n >= burstImages
}

// slots are an environment's registration slots: the first may be
// reserved ahead (prefetch, beside the describes that plan the
// registration) or given (the slot a delivery handed off to the queue
// reserved before it did, queue.go), the others as each registration
// comes.
type slots struct {
	d          *Deployer
	repository string
	e          environment
	given      state.Slot // the first slot, reserved by an earlier delivery; zero for none
	behind     bool       // the repository queues in the main lane (behind)
	mu         sync.Mutex
	first      func() slotAnswer // reserved ahead, unused yet; nil when used or none
	used       bool              // the first slot was waited for
}

// slotAnswer is what the pace answered a reservation: when the slot is
// due (at) and the slot as reserved, or (taken) when the repository's slot
// still to come is due.
type slotAnswer struct {
	at    time.Time
	slot  state.Slot
	taken bool
	err   error
}

// staleSlot is how long after its time a slot handed off with a delivery
// is still its own: one that comes back later (a message redelivered after
// failures) reserves again rather than register at once beside the slots
// of its time.
const staleSlot = time.Minute

// registrationSlots returns an environment's registration slots for req,
// of a repository that queues in the main lane (behind) or may go first.
func (d *Deployer) registrationSlots(req Request, e environment, behind bool) *slots {
	s := &slots{d: d, repository: req.Repository, e: e, behind: behind}
	if !req.Slot.At.IsZero() && d.now().Sub(req.Slot.At) < staleSlot {
		s.given = req.Slot
	}
	return s
}

// prefetch reserves the first slot now, to be waited for by the first
// registration; the reservation then costs it no round trip.
func (s *slots) prefetch(ctx context.Context) {
	if s.d.Pace == nil {
		return
	}
	first := sync.OnceValue(func() slotAnswer { return s.reserveFirst(ctx) })
	go first()
	s.mu.Lock()
	s.first = first
	s.mu.Unlock()
}

// reserveFirst is the first slot: the one given, as the front slots given
// since it was reserved moved it (a pace that cannot say leaves it where
// it was), or a reservation.
func (s *slots) reserveFirst(ctx context.Context) slotAnswer {
	if s.given.At.IsZero() {
		return s.reserveNext(ctx)
	}
	p, err := s.pace(ctx)
	if err != nil {
		return slotAnswer{at: s.given.At, slot: s.given}
	}
	at, err := s.d.Pace.Shifted(ctx, p, s.given)
	if err != nil {
		s.d.log().WarnContext(ctx, "registration pace: the slot back from the queue is used as reserved", "repository", s.repository,
			"environment", s.e.name, "error", err.Error())
		at = s.given.At
	}
	return slotAnswer{at: at, slot: s.given}
}

// reserveNext reserves a slot (no slot given counts for it).
func (s *slots) reserveNext(ctx context.Context) slotAnswer {
	slot, err := s.reserveOnce(ctx)
	if errors.Is(err, state.ErrSlotTaken) {
		return slotAnswer{at: slot.At, taken: true}
	}
	return slotAnswer{at: slot.At, slot: slot, err: err}
}

// peek returns the first slot without using it, reserving it if it was not
// reserved ahead; ok is false without a pace, or when the pace could not
// answer (the registration then goes at the SDK's pace).
func (s *slots) peek(ctx context.Context) (slotAnswer, bool) {
	if s.d.Pace == nil {
		return slotAnswer{}, false
	}
	s.mu.Lock()
	if s.first == nil {
		s.first = sync.OnceValue(func() slotAnswer { return s.reserveFirst(ctx) })
	}
	first := s.first
	s.mu.Unlock()
	a := first()
	return a, a.err == nil
}

// wait waits for the next slot: the one reserved ahead or given, or a new
// one. A slot that cannot be reserved (the table refuses) is no reason not
// to register: the SDK's pacing is the fallback.
func (s *slots) wait(ctx context.Context) error {
	if s.d.Pace == nil {
		return nil
	}
	s.mu.Lock()
	first, used := s.first, s.used
	s.first, s.used = nil, true
	s.mu.Unlock()
	var a slotAnswer
	switch {
	case first != nil:
		a = first()
	case !used:
		a = s.reserveFirst(ctx)
	default:
		// The first slot, reserved ahead or given, was used: each other
		// registration has its own.
		a = s.reserveNext(ctx)
	}
	if a.taken {
		// The repository's slot still to come passes first.
		if !sleepUntil(ctx, s.d.now(), a.at) {
			return ctx.Err()
		}
		a = s.reserve(ctx)
	}
	if a.err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.d.log().WarnContext(ctx, "registration pace: no slot reserved (registering at the SDK's pace)", "repository", s.repository,
			"environment", s.e.name, "error", a.err.Error())
		return nil
	}
	if !sleepUntil(ctx, s.d.now(), a.at) {
		return ctx.Err()
	}
	return nil
}

// reserve reserves a slot of the pace of the environment's account and
// region, waiting for the repository's slot still to come, if any.
func (s *slots) reserve(ctx context.Context) slotAnswer {
	for {
		a := s.reserveNext(ctx)
		if !a.taken {
			return a
		}
		if !sleepUntil(ctx, s.d.now(), a.at) {
			return slotAnswer{err: ctx.Err()}
		}
	}
}

// reserveOnce reserves a slot of the pace of the environment's account and
// region; state.ErrSlotTaken, with when it is due, when the repository
// holds one still to come.
func (s *slots) reserveOnce(ctx context.Context) (state.Slot, error) {
	p, err := s.pace(ctx)
	if err != nil {
		return state.Slot{}, err
	}
	return s.d.Pace.ReserveSlot(ctx, p, s.repository)
}

// pace is the registration pace of the environment's account and region.
func (s *slots) pace(ctx context.Context) (state.Pace, error) {
	d := s.d
	account := accountOfRole(s.e.env.RoleARN)
	if account == "" && d.Account != nil {
		var err error
		// Not knowing the account, the pace would be every account's:
		// the registration goes at the SDK's pace instead (wait).
		if account, err = d.Account(ctx); err != nil {
			return state.Pace{}, fmt.Errorf("the account whose registrations are paced: %w", err)
		}
	}
	return registrationPace(account, cmp.Or(s.e.env.Region, d.Region), s.behind), nil
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
