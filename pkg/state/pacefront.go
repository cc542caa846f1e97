package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// In a burst every key holds a slot still to come, so the main lane's
// queue is as many Intervals deep as there are keys: a push of a
// repository that has not registered for a while would wait behind all of
// them. A pace with Quiet set gives such a key (a quiet one: its last slot
// is Quiet old, or it has none) a slot in a front lane instead, a second
// rate in the same item (its own time, ftat, and a burst of FrontBurst)
// that queues at most FrontBurst Intervals ahead: a quiet key that finds it
// full reserves in the main lane, so that a burst of keys that were all
// quiet does not make the front lane as deep as the main one.
//
// A front slot is taken from the main lane's: its write moves the main
// lane's time on by an Interval too, so that the main lane's later slots
// make room for it and the two lanes keep to one slot an Interval in the
// long run. The slots the main lane already handed out are not moved, so
// for as long as the main lane's queue is deep the bucket may see up to
// FrontBurst slots more than the main lane alone would give: that is the
// room FrontBurst is set to, the bucket's beyond Burst. The main lane's
// time is moved on from no earlier than FrontBurst Intervals ago, even
// when it is idle: the first FrontBurst front slots after a pause leave the
// main lane its whole burst, as the room allows, and front slots taken
// while the main lane is idle still count against the rate; otherwise a
// quiet key's slot and a main-lane slot each Interval would make two an
// Interval for good.
//
// The write is conditional on the key being quiet and on both lanes' times
// as the process guessed them from the item it last saw; a refusal
// returns the item, from which the next attempt guesses again, or sends
// the key to the main lane when it is not quiet or the front lane is full.

// reserveFronts reserves a front-lane slot, a write each, for the
// reservations of batch that may go there (their caller gave a
// FrontBurst) and whose key may be quiet (a key's first of the batch), and
// returns the others, for the main lane, with the pace as it now knows it.
func (s *Store) reserveFronts(ctx context.Context, batch []*reservation, seen paceSeen) ([]*reservation, paceSeen) {
	var rest []*reservation
	tried := map[string]bool{}
	for _, r := range batch {
		if r.front == nil || tried[r.key] {
			rest = append(rest, r)
			continue
		}
		tried[r.key] = true
		var answered bool
		if answered, seen = s.reserveFront(ctx, *r.front, r, seen); !answered {
			rest = append(rest, r)
		}
	}
	return rest, seen
}

// frontLane is a pace's front lane, in Unix ms.
type frontLane struct {
	interval int64
	burst    int64
	tau      int64 // how far before its time a slot may be due: the burst
	quiet    int64
}

func frontOf(p Pace) frontLane {
	f := frontLane{interval: p.Interval.Milliseconds(), burst: int64(p.FrontBurst), quiet: p.Quiet.Milliseconds()}
	f.tau = (f.burst - 1) * f.interval
	return f
}

// limit is the latest front-lane time whose next slot is due no more than
// the lane's depth (its burst, in Intervals) after now.
func (f frontLane) limit(now int64) int64 {
	return now + f.burst*f.interval + f.tau
}

// admits tells whether key may reserve in the front lane as far as seen
// says: it is quiet and the lane has room. A key whose slot is not Quiet
// old, or a lane beyond its depth, is so for sure (a slot and the lane's
// time only grow); the contrary is only a guess, which the write's
// condition checks.
func (f frontLane) admits(seen paceSeen, key string, now int64) bool {
	if at, ok := seen.slots[key]; ok && at > now-f.quiet {
		return false
	}
	return !seen.fknown || seen.ftat <= f.limit(now)
}

// reserveFront reserves a front-lane slot for r, in one conditional write
// (again, with what stands, when it is refused), and answers it; it
// returns false, without answering, when the key is not quiet or the front
// lane is full, for the main lane to reserve.
func (s *Store) reserveFront(ctx context.Context, p Pace, r *reservation, seen paceSeen) (bool, paceSeen) {
	f := frontOf(p)
	for range paceAttempts {
		now := s.now().UnixMilli()
		if !f.admits(seen, r.key, now) {
			return false, seen
		}
		u, fbusy, busy := f.update(seen, r.key, now)
		gone := u.prune(seen.passed, p.quietBefore(now), func(key string) bool { return key == r.key })
		out, err := s.updatePace(ctx, p.Name, u)
		var failed *ddbtypes.ConditionalCheckFailedException
		switch {
		case err == nil:
			return true, f.reserved(r, out.Attributes, now, fbusy, busy, gone)
		case errors.As(err, &failed):
			seen = seenItem(failed.Item, p.quietBefore(now))
		default:
			r.answer(time.Time{}, fmt.Errorf("reserve a slot of %s: %w", p.Name, err))
			return true, seen.unsure()
		}
	}
	r.answer(time.Time{}, fmt.Errorf("reserve a slot of %s: %w", p.Name, ErrConflict))
	return true, seen.unsure()
}

// update is the write of a front slot for key: the front lane's time and
// the main lane's, each in its busy or idle form as seen guesses, and the
// key's slot, conditional on the guesses, on the front lane's room and on
// the key being quiet.
func (f frontLane) update(seen paceSeen, key string, now int64) (u *paceUpdate, fbusy, busy bool) {
	u = newPaceUpdate(now)
	u.names["#f"], u.names["#tat"], u.names["#k"] = attrFTAT, attrTAT, paceSlotPrefix+key
	fbusy = seen.fknown && seen.ftat > now
	if fbusy {
		// The slot's theoretical time, from the old time, as in the main
		// lane (mainUpdate).
		u.values[":i"], u.values[":limit"], u.values[":tau"] = num(f.interval), num(f.limit(now)), num(-f.tau)
		u.add("#f = #f + :i, #k = #f + :tau", "#f BETWEEN :now AND :limit")
	} else {
		u.values[":fnext"] = num(now + f.interval)
		u.add("#f = :fnext, #k = :now", "(attribute_not_exists(#f) OR #f <= :now)")
	}
	floor := f.floor(now)
	u.values[":floor"] = num(floor)
	busy = seen.known && seen.tat > floor
	if busy {
		u.values[":i"] = num(f.interval)
		u.add("#tat = #tat + :i", "#tat >= :floor")
	} else {
		u.values[":next"] = num(floor + f.interval)
		u.add("#tat = :next", "(attribute_not_exists(#tat) OR #tat <= :floor)")
	}
	// One more front slot given: the main lane's slots reserved before it
	// are due an Interval later (Store.Shifted).
	u.names["#sh"], u.values[":one"], u.values[":zero"] = attrShift, num(1), num(0)
	u.add("#sh = if_not_exists(#sh, :zero) + :one", "")
	u.values[":quiet"] = num(now - f.quiet)
	u.add("", "(attribute_not_exists(#k) OR #k <= :quiet)")
	return u, fbusy, busy
}

// floor is the earliest the main lane's time is moved on from by a front
// slot (see above).
func (f frontLane) floor(now int64) int64 {
	return now - f.burst*f.interval
}

// reserved answers r with the front slot its write gave (the item as it
// was, old, and the forms it took) and returns what the process now knows
// of the pace.
func (f frontLane) reserved(r *reservation, old map[string]ddbtypes.AttributeValue, now int64, fbusy, busy bool, gone []string) paceSeen {
	written, ftat, tat := now, now, f.floor(now)
	if fbusy {
		ftat, _ = numberOf(old, attrFTAT)
		written = ftat - f.tau
	}
	if busy {
		tat, _ = numberOf(old, attrTAT)
	}
	shift, _ := numberOf(old, attrShift)
	r.shift = shift + 1
	r.answer(time.UnixMilli(max(now, written)), nil)
	seen := seenAfter(old, now-f.quiet, map[string]int64{r.key: written}, gone)
	seen.ftat, seen.tat = ftat+f.interval, tat+f.interval
	return seen
}
