package state

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A pace is a rate shared by every process that uses the table: one slot
// every Interval, with up to Burst at once after a pause (the generic cell
// rate algorithm: one item holds the theoretical arrival time of the next
// slot, and a reservation moves it on with a conditional write). AWS's
// request buckets are per account and region, so processes that each learn
// the rate alone (the SDK's adaptive retry mode probes upwards in every
// instance) spend most of their attempts being refused; a shared pace lets
// them queue behind the bucket instead, in the order they asked.
//
// Each key (a repository) holds at most one slot ahead of now: a key with a
// slot still to come waits for it to pass before it reserves another, so
// that one repository's many environments or versions queue behind the
// others' next, rather than taking every slot of the next minutes. A key
// that had no slot for a while (Quiet) need not wait behind them all: it
// reserves in a front lane (pacefront.go).
//
// Within a process, reservations of one pace are written one write at a
// time, and those asked for while a write is under way go together in the
// next (a batch of up to paceBatch slots, one conditional write): the
// environments of one push reserve their slots in two writes, not one
// after another's conflict. The process remembers the pace's time as its
// last write or refusal left it, so that a write expects what stands
// rather than assuming the pace idle, and is refused only when another
// process reserved meanwhile.

// Pace is a shared rate: one slot every Interval, Burst at once at most,
// and with Quiet set a front lane for the keys that had no slot for that
// long (pacefront.go).
type Pace struct {
	Name     string // the item's name, e.g. "ecs:RegisterTaskDefinition:123456789012:us-east-1"
	Interval time.Duration
	Burst    int
	// Quiet is how long a key must have had no slot to be quiet, and to
	// reserve in the front lane rather than behind every key's slot to
	// come; 0 turns the front lane off. A key's slot is kept in the
	// pace's item until it is Quiet old.
	Quiet time.Duration
	// FrontBurst is the front lane's burst, and how many Intervals ahead
	// it queues at most: the room the rate's bucket has beyond Burst,
	// which front slots may use while the main lane's already handed out
	// slots are still to come. A reservation whose pace has FrontBurst 0
	// (a key the caller knows to be busy) reserves in the main lane,
	// quiet or not; Quiet still says how long slots are kept.
	FrontBurst int
}

// quietBefore is the time a key's last slot must not be after for the key
// to be quiet, and for its slot to be forgotten: now with no front lane
// (a passed slot no longer matters).
func (p Pace) quietBefore(now int64) int64 {
	return now - p.Quiet.Milliseconds()
}

const (
	pacePK  = "#pace"
	attrTAT = "tat" // the theoretical arrival time of the next slot, Unix ms
	// attrShift counts the front slots a pace gave (Slot.Shift).
	attrShift = "shift"
	attrFTAT  = "ftat" // the front lane's, Unix ms (pacefront.go)
	// paceSlotPrefix names a key's last slot (Unix ms) in the pace's item:
	// "slot#" + key, an attribute each.
	paceSlotPrefix = "slot#"
	// paceBatch is the most slots one write reserves.
	paceBatch = 25
	// paceRemoveMax is the most passed slots one write removes: with a
	// batch's conditions, its condition stays well within DynamoDB's 4 KB
	// for an expression ("Service, account, and table quotas in Amazon
	// DynamoDB", Developer Guide).
	paceRemoveMax = 32
	// paceAttempts is the most writes a reservation makes, refusals
	// included, before it gives up with ErrConflict.
	paceAttempts = 20
	// paceWriteTimeout bounds a batch's writes, retries included.
	paceWriteTimeout = 10 * time.Second
)

// Reserve reserves the next slot of pace p for key and returns when it is
// due: now or later, for the caller to wait until. It returns
// ErrSlotTaken, with the time the key's slot still to come is due, when key
// already holds one (the caller waits until then and reserves again), and
// ErrConflict when other processes kept reserving first.
func (s *Store) Reserve(ctx context.Context, p Pace, key string) (time.Time, error) {
	slot, err := s.ReserveSlot(ctx, p, key)
	return slot.At, err
}

// Slot is a slot of a pace: when it is due as reserved, and how many front
// slots the pace had given then (Shift), from which Shifted tells how far
// the front slots given since have moved it.
type Slot struct {
	At    time.Time
	Shift int64
}

// ReserveSlot is Reserve, returning the slot with its shift.
func (s *Store) ReserveSlot(ctx context.Context, p Pace, key string) (Slot, error) {
	q := s.paceQueue(p.Name)
	r := &reservation{key: key, done: make(chan struct{})}
	if p.Quiet > 0 && p.FrontBurst > 0 {
		r.front = &p
	}
	q.mu.Lock()
	q.waiting = append(q.waiting, r)
	writer := !q.writing
	q.writing = true
	q.mu.Unlock()
	if writer {
		// The writer writes for everyone waiting, its own first; it
		// answers each as its batch is written, so no Reserve waits for
		// batches after its own.
		go s.writeReservations(ctx, p, q)
	}
	select {
	case <-r.done:
		return Slot{At: r.at, Shift: r.shift}, r.err
	case <-ctx.Done():
		return Slot{}, ctx.Err()
	}
}

// Shifted returns when a main-lane slot reserved a while ago is due now:
// each front slot given since it was reserved (pacefront.go) took one of
// the main lane's, and moves it an Interval later. The slots the main lane
// handed out are not moved in the item; a holder that waited long asks
// here (one consistent read) before it uses its slot, so that ECS's bucket
// does not see the front slots on top of the main lane's.
func (s *Store) Shifted(ctx context.Context, p Pace, slot Slot) (time.Time, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: itemKey(Key{Repository: pacePK}, p.Name),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#sh"),
		ExpressionAttributeNames: map[string]string{"#sh": attrShift},
	})
	if err != nil {
		return slot.At, fmt.Errorf("read the shift of %s: %w", p.Name, err)
	}
	shift, _ := numberOf(out.Item, attrShift)
	return slot.At.Add(time.Duration(max(shift-slot.Shift, 0)) * p.Interval), nil
}

// reservation is one Reserve waiting for its slot.
type reservation struct {
	key string
	// front is the pace of a reservation that may go in the front lane,
	// as its caller gave it (the batch it is written in may be another
	// caller's).
	front *Pace
	at    time.Time
	shift int64 // the front slots given before this one (Slot.Shift)
	err   error
	done  chan struct{}
}

func (r *reservation) answer(at time.Time, err error) {
	r.at, r.err = at, err
	close(r.done)
}

// paceQueue is a process's reservations of one pace: those waiting for
// the next write, whether one is under way, and the pace's item as the
// last write or refusal showed it.
type paceQueue struct {
	mu      sync.Mutex
	waiting []*reservation
	writing bool
	seen    paceSeen
}

func (s *Store) paceQueue(name string) *paceQueue {
	s.pacesMu.Lock()
	defer s.pacesMu.Unlock()
	if s.paces == nil {
		s.paces = map[string]*paceQueue{}
	}
	q, ok := s.paces[name]
	if !ok {
		q = &paceQueue{}
		s.paces[name] = q
	}
	return q
}

// writeReservations writes the queue's waiting reservations, a batch a
// write, until none waits: first the front-lane slots of the batch's
// quiet keys, a write each, then the rest together.
func (s *Store) writeReservations(ctx context.Context, p Pace, q *paceQueue) {
	for {
		q.mu.Lock()
		n := min(len(q.waiting), paceBatch)
		batch := q.waiting[:n:n]
		q.waiting = q.waiting[n:]
		if n == 0 {
			q.writing = false
			q.mu.Unlock()
			return
		}
		seen := q.seen
		q.mu.Unlock()
		// Not the first caller's cancellation: the batch is everyone's.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), paceWriteTimeout)
		batch, seen = s.reserveFronts(wctx, batch, seen)
		if len(batch) > 0 {
			seen = s.reserveBatch(wctx, p, batch, seen)
		}
		cancel()
		q.mu.Lock()
		q.seen = seen
		q.mu.Unlock()
	}
}

// reserveBatch reserves a slot for each reservation of batch in one
// conditional write (again, with what stands, when another process wrote
// first), answers each, and returns the pace as it now knows it.
//
// A pace known to be busy (its time after now) is moved on from whatever
// time it has, however far other processes moved it meanwhile (SET #tat =
// #tat + n slots, the old time returned): in a burst, when every process
// reserves, no write is refused for another's. A pace known idle, or not
// known, is written as idle (its time now plus n slots), which is refused
// when it is not, with what stands.
func (s *Store) reserveBatch(ctx context.Context, p Pace, batch []*reservation, seen paceSeen) paceSeen {
	interval := p.Interval.Milliseconds()
	tau := int64(max(p.Burst-1, 0)) * interval
	for attempt := 1; attempt <= paceAttempts && len(batch) > 0; attempt++ {
		now := s.now().UnixMilli()
		// A key that holds a slot still to come gets none now: a slot
		// to come is never moved nor removed, so what the item last said
		// of it still stands.
		batch = refuseTaken(batch, seen.slots, now, p.Name)
		if len(batch) == 0 {
			break
		}
		busy := seen.known && seen.tat > now
		estimate := now // of the pace's time: it only grows
		if busy {
			estimate = seen.tat
		}
		placed, deferred, index := place(batch, estimate, now, interval, tau)
		u := mainUpdate(busy, now, int64(len(placed)), interval, tau, index)
		gone := u.prune(seen.passed, p.quietBefore(now), func(key string) bool { _, ok := index[key]; return ok })
		out, err := s.updatePace(ctx, p.Name, u)
		var failed *ddbtypes.ConditionalCheckFailedException
		switch {
		case err == nil:
			start := now
			if busy {
				start, _ = numberOf(out.Attributes, attrTAT)
			}
			written := map[string]int64{}
			for key, i := range index {
				written[key] = start + int64(i)*interval - tau
			}
			shift, _ := numberOf(out.Attributes, attrShift)
			for i, r := range placed {
				r.shift = shift
				r.answer(time.UnixMilli(max(now, start+int64(i)*interval-tau)), nil)
			}
			for _, r := range deferred {
				r.answer(time.UnixMilli(max(now, written[r.key])), fmt.Errorf("%s: %s: %w", p.Name, r.key, ErrSlotTaken))
			}
			seen = seenAfter(out.Attributes, p.quietBefore(now), written, gone)
			seen.tat = start + int64(len(placed))*interval
			return seen
		case errors.As(err, &failed):
			// Another process reserved meanwhile, or the pace is not as
			// this one guessed: what stands is the item the refusal
			// returns (none: no item yet, idle).
			seen = seenItem(failed.Item, p.quietBefore(now))
		default:
			answerAll(batch, fmt.Errorf("reserve a slot of %s: %w", p.Name, err))
			return seen.unsure()
		}
	}
	answerAll(batch, fmt.Errorf("reserve a slot of %s: %w", p.Name, ErrConflict))
	return seen.unsure()
}

// place splits a batch into the reservations a write gives a slot and
// those it defers, and returns each key's last slot among those placed. A
// key's second slot in a write only while its first is one of the burst
// (not still to come, as far as the estimate of the pace's time says);
// else it waits for the first.
func place(batch []*reservation, estimate, now, interval, tau int64) (placed, deferred []*reservation, index map[string]int) {
	index = map[string]int{}
	for _, r := range batch {
		if i, ok := index[r.key]; ok && estimate+int64(i)*interval-tau > now {
			deferred = append(deferred, r)
			continue
		}
		index[r.key] = len(placed)
		placed = append(placed, r)
	}
	return placed, deferred, index
}

// mainUpdate is the write of n of the main lane's slots, busy or idle as
// guessed, with the slot of each key of index, conditional on the guess
// and on no key of index holding a slot still to come.
func mainUpdate(busy bool, now, n, interval, tau int64, index map[string]int) *paceUpdate {
	u := newPaceUpdate(now)
	u.names["#tat"] = attrTAT
	if busy {
		u.values[":n"] = num(n * interval)
		u.add("#tat = #tat + :n", "#tat >= :now")
	} else {
		u.values[":next"] = num(now + n*interval)
		u.add("#tat = :next", "(attribute_not_exists(#tat) OR #tat <= :now)")
	}
	for key, i := range index {
		an, av := "#s"+strconv.Itoa(i), ":s"+strconv.Itoa(i)
		u.names[an] = paceSlotPrefix + key
		// The slot's theoretical time (it may be before now: a slot of
		// the burst); written from the old time when busy: every action
		// of an update expression reads the item as it was before the
		// update ("Using update expressions in DynamoDB", Developer
		// Guide; TestPace holds it).
		if busy {
			u.values[av] = num(int64(i)*interval - tau)
			u.add(an+" = #tat + "+av, "")
		} else {
			u.values[av] = num(now + int64(i)*interval - tau)
			u.add(an+" = "+av, "")
		}
		u.add("", "(attribute_not_exists("+an+") OR "+an+" <= :now)")
	}
	return u
}

// paceUpdate is a conditional update of a pace's item being built: its
// SET and REMOVE actions, its conditions (all must hold), and their names
// and values.
type paceUpdate struct {
	sets, removes, conds []string
	names                map[string]string
	values               map[string]ddbtypes.AttributeValue
}

func newPaceUpdate(now int64) *paceUpdate {
	return &paceUpdate{names: map[string]string{}, values: map[string]ddbtypes.AttributeValue{":now": num(now)}}
}

// add adds an action and a condition, either of which may be empty.
func (u *paceUpdate) add(set, cond string) {
	if set != "" {
		u.sets = append(u.sets, set)
	}
	if cond != "" {
		u.conds = append(u.conds, cond)
	}
}

// prune removes the keys whose slot had passed (up to paceRemoveMax, but
// those keep says the write gives a slot), each while it still has: a key
// another process gave a slot since stays. It returns the keys removed.
func (u *paceUpdate) prune(passed []string, cut int64, keep func(key string) bool) []string {
	var gone []string
	for _, key := range passed {
		if keep(key) || len(gone) == paceRemoveMax {
			continue
		}
		an := "#r" + strconv.Itoa(len(gone))
		u.names[an] = paceSlotPrefix + key
		u.values[":cut"] = num(cut)
		u.add("", "(attribute_not_exists("+an+") OR "+an+" <= :cut)")
		u.removes = append(u.removes, an)
		gone = append(gone, key)
	}
	return gone
}

// updatePace writes u to the item of pace p. The item as it was comes
// back either way: both lanes' times, and the keys' slots.
func (s *Store) updatePace(ctx context.Context, name string, u *paceUpdate) (*dynamodb.UpdateItemOutput, error) {
	expr := "SET " + strings.Join(u.sets, ", ")
	if len(u.removes) > 0 {
		expr += " REMOVE " + strings.Join(u.removes, ", ")
	}
	return s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(Key{Repository: pacePK}, name),
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String(strings.Join(u.conds, " AND ")),
		ExpressionAttributeNames:            u.names,
		ExpressionAttributeValues:           u.values,
		ReturnValues:                        ddbtypes.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
}

// paceSeen is what a process knows of a pace's item: both lanes' times
// and whether it knows them, the keys' slots (as written: a slot of a
// burst may be before it was due), and the keys whose slot had passed
// (for good: Quiet ago) when it last saw the item, for the next write to
// remove.
type paceSeen struct {
	tat, ftat     int64
	known, fknown bool
	slots         map[string]int64
	passed        []string
}

// seenItem is what a pace's item says, as it was before a write or as it
// stood when one was refused (none: no item yet, both lanes idle); the
// keys whose slot is not after cut have passed.
func seenItem(item map[string]ddbtypes.AttributeValue, cut int64) paceSeen {
	seen := paceSeen{known: true, fknown: true, slots: map[string]int64{}}
	seen.tat, _ = numberOf(item, attrTAT)
	seen.ftat, _ = numberOf(item, attrFTAT)
	for name := range item {
		key, ok := strings.CutPrefix(name, paceSlotPrefix)
		if !ok {
			continue
		}
		if at, ok := numberOf(item, name); ok {
			seen.slots[key] = at
			if at <= cut {
				seen.passed = append(seen.passed, key)
			}
		}
	}
	slices.Sort(seen.passed)
	return seen
}

// seenAfter is what a write that went through leaves known of the item as
// it was before (old), the keys it gave a slot (written) and those it
// removed (gone); the caller sets the times it wrote.
func seenAfter(old map[string]ddbtypes.AttributeValue, cut int64, written map[string]int64, gone []string) paceSeen {
	seen := seenItem(old, cut)
	for _, key := range gone {
		delete(seen.slots, key)
	}
	maps.Copy(seen.slots, written)
	seen.passed = slices.DeleteFunc(seen.passed, func(key string) bool {
		_, ok := written[key]
		return ok || slices.Contains(gone, key)
	})
	return seen
}

// unsure is seen after a write whose outcome is not known: the times may
// have moved, so the next write assumes nothing of them. The slots still
// stand: one to come is never moved.
func (seen paceSeen) unsure() paceSeen {
	seen.known, seen.fknown = false, false
	return seen
}

func answerAll(batch []*reservation, err error) {
	for _, r := range batch {
		r.answer(time.Time{}, err)
	}
}

// refuseTaken answers ErrSlotTaken to the reservations whose key holds a
// slot still to come (as the item said), and returns the others.
func refuseTaken(batch []*reservation, slots map[string]int64, now int64, name string) []*reservation {
	var rest []*reservation
	for _, r := range batch {
		if at, ok := slots[r.key]; ok && at > now {
			r.answer(time.UnixMilli(at), fmt.Errorf("%s: %s: %w", name, r.key, ErrSlotTaken))
			continue
		}
		rest = append(rest, r)
	}
	return rest
}

// ErrSlotTaken is a reservation of a key that already holds a slot still to
// come.
var ErrSlotTaken = errors.New("holds a slot still to come")
