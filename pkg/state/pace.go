package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
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

// Pace is a shared rate: one slot every Interval, Burst at once at most.
type Pace struct {
	Name     string // the item's name, e.g. "ecs:RegisterTaskDefinition:123456789012:us-east-1"
	Interval time.Duration
	Burst    int
}

const (
	pacePK        = "#pace"
	attrTAT       = "tat"   // the theoretical arrival time of the next slot, Unix ms
	attrPaceSlots = "slots" // key -> the key's last slot, Unix ms
)

// Reserve reserves the next slot of pace p for key and returns when it is
// due: now or later, for the caller to wait until. It returns
// ErrSlotTaken, with the time the key's slot still to come is due, when key
// already holds one (the caller waits until then and reserves again).
//
// The first attempt assumes the pace is idle, as it is but in a burst: one
// conditional write. A failed condition answers what stands, and the next
// attempt reserves from that.
func (s *Store) Reserve(ctx context.Context, p Pace, key string) (time.Time, error) {
	item := itemKey(Key{Repository: pacePK}, p.Name)
	tau := int64(max(p.Burst-1, 0)) * p.Interval.Milliseconds()
	names := map[string]string{"#tat": attrTAT, "#slots": attrPaceSlots, "#key": key}
	var tat, mine int64
	known := false
	for attempt := 1; attempt <= 20; attempt++ {
		now := s.now().UnixMilli()
		if known && mine > now {
			return time.UnixMilli(mine), fmt.Errorf("%s: %s: %w", p.Name, key, ErrSlotTaken)
		}
		start, cond := now, "#tat <= :now"
		values := map[string]ddbtypes.AttributeValue{":now": num(now)}
		if known {
			start, cond = max(tat, now), "#tat = :tat"
			values[":tat"] = num(tat)
		}
		slot := max(now, start-tau)
		values[":next"], values[":slot"] = num(start+p.Interval.Milliseconds()), num(slot)
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: item,
			UpdateExpression:                    aws.String("SET #tat = :next, #slots.#key = :slot"),
			ConditionExpression:                 aws.String(cond + " AND (attribute_not_exists(#slots.#key) OR #slots.#key <= :now)"),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var failed *ddbtypes.ConditionalCheckFailedException
		var invalid *smithy.GenericAPIError
		switch {
		case err == nil:
			return time.UnixMilli(slot), nil
		case errors.As(err, &failed) && failed.Item[attrPaceSlots] != nil:
			tat, _ = numberOf(failed.Item, attrTAT)
			mine, known = 0, true
			if slots, ok := failed.Item[attrPaceSlots].(*ddbtypes.AttributeValueMemberM); ok {
				if v, ok := slots.Value[key].(*ddbtypes.AttributeValueMemberN); ok {
					mine, _ = strconv.ParseInt(v.Value, 10, 64)
				}
			}
		case errors.As(err, &failed), errors.As(err, &invalid) && invalid.ErrorCode() == "ValidationException":
			// No item yet (or one without its map): make it, idle.
			if err := s.makePace(ctx, item); err != nil {
				return time.Time{}, fmt.Errorf("reserve a slot of %s: %w", p.Name, err)
			}
			known = false
		default:
			return time.Time{}, fmt.Errorf("reserve a slot of %s: %w", p.Name, err)
		}
	}
	return time.Time{}, fmt.Errorf("reserve a slot of %s: %w", p.Name, ErrConflict)
}

// makePace creates a pace's item, idle, unless it exists.
func (s *Store) makePace(ctx context.Context, item map[string]ddbtypes.AttributeValue) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: item,
		UpdateExpression:         aws.String("SET #tat = if_not_exists(#tat, :zero), #slots = if_not_exists(#slots, :empty)"),
		ExpressionAttributeNames: map[string]string{"#tat": attrTAT, "#slots": attrPaceSlots},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":zero": num(0), ":empty": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{}},
		},
	})
	return err
}

// ErrSlotTaken is a reservation of a key that already holds a slot still to
// come.
var ErrSlotTaken = errors.New("holds a slot still to come")
