package state

import (
	"context"
	"errors"
	"fmt"
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
// others' next, rather than taking every slot of the next minutes.
//
// Within a process, reservations of one pace are written one write at a
// time, and those asked for while a write is under way go together in the
// next (a batch of up to paceBatch slots, one conditional write): the
// environments of one push reserve their slots in two writes, not one
// after another's conflict. The process remembers the pace's time as its
// last write or refusal left it, so that a write expects what stands
// rather than assuming the pace idle, and is refused only when another
// process reserved meanwhile.

// Pace is a shared rate: one slot every Interval, Burst at once at most.
type Pace struct {
	Name     string // the item's name, e.g. "ecs:RegisterTaskDefinition:123456789012:us-east-1"
	Interval time.Duration
	Burst    int
}

const (
	pacePK  = "#pace"
	attrTAT = "tat" // the theoretical arrival time of the next slot, Unix ms
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
	// paceWriteTimeout bounds a batch's writes, retries included.
	paceWriteTimeout = 10 * time.Second
)

// Reserve reserves the next slot of pace p for key and returns when it is
// due: now or later, for the caller to wait until. It returns
// ErrSlotTaken, with the time the key's slot still to come is due, when key
// already holds one (the caller waits until then and reserves again).
func (s *Store) Reserve(ctx context.Context, p Pace, key string) (time.Time, error) {
	q := s.paceQueue(p.Name)
	r := &reservation{key: key, done: make(chan struct{})}
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
		return r.at, r.err
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// reservation is one Reserve waiting for its slot.
type reservation struct {
	key  string
	at   time.Time
	err  error
	done chan struct{}
}

func (r *reservation) answer(at time.Time, err error) {
	r.at, r.err = at, err
	close(r.done)
}

// paceQueue is a process's reservations of one pace: those waiting for
// the next write, whether one is under way, and the pace's time as the
// last write or refusal said it (known).
type paceQueue struct {
	mu      sync.Mutex
	waiting []*reservation
	writing bool
	tat     int64
	known   bool
	// passed are keys whose slot had passed when the item was last seen:
	// the next write removes them (a key's slot matters only while it is
	// to come), so that the item holds the keys of the last minutes, not
	// of every repository that ever registered.
	passed []string
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
// write, until none waits.
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
		seen := paceSeen{tat: q.tat, known: q.known, passed: q.passed}
		q.mu.Unlock()
		// Not the first caller's cancellation: the batch is everyone's.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), paceWriteTimeout)
		seen = s.reserveBatch(wctx, p, batch, seen)
		cancel()
		q.mu.Lock()
		q.tat, q.known, q.passed = seen.tat, seen.known, seen.passed
		q.mu.Unlock()
	}
}

// reserveBatch reserves a slot for each reservation of batch in one
// conditional write (again, with what stands, when another process wrote
// first), answers each, and returns the pace's time as it now knows it.
//
// A pace known to be busy (its time after now) is moved on from whatever
// time it has, however far other processes moved it meanwhile (SET #tat =
// #tat + n slots, the old time returned): in a burst, when every process
// reserves, no write is refused for another's. A pace known idle, or not
// known, is written as idle (its time now plus n slots), which is refused
// when it is not, with what stands.
func (s *Store) reserveBatch(ctx context.Context, p Pace, batch []*reservation, seen paceSeen) paceSeen {
	tat, known := seen.tat, seen.known
	item := itemKey(Key{Repository: pacePK}, p.Name)
	tau := int64(max(p.Burst-1, 0)) * p.Interval.Milliseconds()
	interval := p.Interval.Milliseconds()
	mine := map[string]int64{} // keys' slots as the item last said them
	for attempt := 1; attempt <= 20 && len(batch) > 0; attempt++ {
		now := s.now().UnixMilli()
		// A key that holds a slot still to come gets none now.
		batch = refuseTaken(batch, mine, now, p.Name)
		if len(batch) == 0 {
			break
		}
		busy := known && tat > now
		estimate := now // of the pace's time: it only grows
		if busy {
			estimate = tat
		}
		// A key's second slot in a write only while its first is one of
		// the burst (not still to come, as far as the estimate says);
		// else it waits for the first.
		index := map[string]int{} // a key's last slot in the write
		var placed, deferred []*reservation
		for _, r := range batch {
			if i, ok := index[r.key]; ok && estimate+int64(i)*interval-tau > now {
				deferred = append(deferred, r)
				continue
			}
			index[r.key] = len(placed)
			placed = append(placed, r)
		}
		n := int64(len(placed))
		names := map[string]string{"#tat": attrTAT}
		values := map[string]ddbtypes.AttributeValue{":now": num(now)}
		var set, cond string
		if busy {
			set, cond = "SET #tat = #tat + :n", "#tat >= :now"
			values[":n"] = num(n * interval)
		} else {
			set, cond = "SET #tat = :next", "(attribute_not_exists(#tat) OR #tat <= :now)"
			values[":next"] = num(now + n*interval)
		}
		// The keys whose slot had passed go, unless this write reserves
		// for them, and while they still have: a key another process
		// gave a slot to come since stays.
		var removed []string // placeholders
		gone := map[string]bool{}
		for _, key := range seen.passed {
			if _, ok := index[key]; ok || len(removed) == paceRemoveMax {
				continue
			}
			an := "#r" + strconv.Itoa(len(removed))
			names[an] = paceSlotPrefix + key
			cond += " AND (attribute_not_exists(" + an + ") OR " + an + " <= :now)"
			removed = append(removed, an)
			gone[key] = true
		}
		for key, i := range index {
			an, av := "#s"+strconv.Itoa(i), ":s"+strconv.Itoa(i)
			names[an] = paceSlotPrefix + key
			// The slot's theoretical time (it may be before now: a slot
			// of the burst); written from the old time when busy: every
			// action of an update expression reads the item as it was
			// before the update ("Using update expressions in DynamoDB",
			// Developer Guide; TestPace holds it).
			if busy {
				values[av] = num(int64(i)*interval - tau)
				set += ", " + an + " = #tat + " + av
			} else {
				values[av] = num(now + int64(i)*interval - tau)
				set += ", " + an + " = " + av
			}
			cond += " AND (attribute_not_exists(" + an + ") OR " + an + " <= :now)"
		}
		if len(removed) > 0 {
			set += " REMOVE " + strings.Join(removed, ", ")
		}
		// The item as it was comes back either way: its time, and the
		// keys whose slot has passed, for the next write to remove.
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: item,
			UpdateExpression:                    aws.String(set),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValues:                        ddbtypes.ReturnValueAllOld,
			ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var failed *ddbtypes.ConditionalCheckFailedException
		switch {
		case err == nil:
			start := now
			if busy {
				start, _ = numberOf(out.Attributes, attrTAT)
			}
			for i, r := range placed {
				r.answer(time.UnixMilli(max(now, start+int64(i)*interval-tau)), nil)
			}
			for _, r := range deferred {
				first := max(now, start+int64(index[r.key])*interval-tau)
				r.answer(time.UnixMilli(first), fmt.Errorf("%s: %s: %w", p.Name, r.key, ErrSlotTaken))
			}
			return paceSeen{tat: start + n*interval, known: true, passed: passedKeys(out.Attributes, now, index, gone)}
		case errors.As(err, &failed):
			// Another process reserved meanwhile, or the pace is not as
			// this one guessed: what stands is the item the refusal
			// returns (none: no item yet, idle).
			tat, known = 0, true
			if v, ok := numberOf(failed.Item, attrTAT); ok {
				tat = v
			}
			clear(mine)
			for _, r := range batch {
				if v, ok := numberOf(failed.Item, paceSlotPrefix+r.key); ok {
					mine[r.key] = v
				}
			}
			seen.passed = passedKeys(failed.Item, now, nil, nil)
		default:
			for _, r := range batch {
				r.answer(time.Time{}, fmt.Errorf("reserve a slot of %s: %w", p.Name, err))
			}
			return paceSeen{tat: tat, passed: seen.passed}
		}
	}
	for _, r := range batch {
		r.answer(time.Time{}, fmt.Errorf("reserve a slot of %s: %w", p.Name, ErrConflict))
	}
	return paceSeen{tat: tat, passed: seen.passed}
}

// paceSeen is what a process knows of a pace's item: its time, whether it
// knows it, and the keys whose slot had passed when it last saw the item.
type paceSeen struct {
	tat    int64
	known  bool
	passed []string
}

// passedKeys returns the keys of a pace's item (as it was before a write)
// whose slot is not after now, but those the write gave a slot (written)
// or removed (gone), in the order of their names.
func passedKeys(item map[string]ddbtypes.AttributeValue, now int64, written map[string]int, gone map[string]bool) []string {
	var out []string
	for name := range item {
		key, ok := strings.CutPrefix(name, paceSlotPrefix)
		if !ok || gone[key] {
			continue
		}
		if _, ok := written[key]; ok {
			continue
		}
		if at, ok := numberOf(item, name); ok && at <= now {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// refuseTaken answers ErrSlotTaken to the reservations whose key holds a
// slot still to come (mine, as the item said), and returns the others.
func refuseTaken(batch []*reservation, mine map[string]int64, now int64, name string) []*reservation {
	var rest []*reservation
	for _, r := range batch {
		if at, ok := mine[r.key]; ok && at > now {
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
