package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Work that waits across invocations (a deployment waiting for ECR to
// restore an archived image) is kept in the state table beside the
// records, in a partition of its own per kind of work: the partition key
// is PendingPartition(kind), which no repository name can be (ECR's names
// have no '#'), and the sort key is repository#environment, so that an
// environment has at most one piece of work of a kind. The item holds the
// caller's value (opaque JSON), when it was put, and who works on it now
// (a claim that expires, as an environment's). Every write is conditional:
// a put never replaces a newer entry, and taking or deleting an entry
// requires that it still holds the value read.
const (
	pendingPrefix   = "pending#"
	attrPendingData = "value" // the caller's JSON
	attrPendingAt   = "at"    // Unix milliseconds: when it was put
)

// PendingPartition returns the partition key of the work of a kind; the
// template's IAM policy allows deleting items of these partitions only.
func PendingPartition(kind string) string { return pendingPrefix + kind }

// PendingPartitions is the partition keys of every kind of pending work, as
// an IAM condition on dynamodb:LeadingKeys spells them (StringLike).
const PendingPartitions = pendingPrefix + "*"

// Pending is one piece of work that waits across invocations, as read.
type Pending struct {
	Kind string
	Key  Key
	// Value is the caller's JSON, exactly as stored: taking and deleting
	// the entry are conditional on it.
	Value []byte
	// At is when the entry was put: a newer entry replaces an older one,
	// never the reverse.
	At time.Time
	// Taken is who works on it, until when; nil when nobody took it. It
	// may have expired.
	Taken *Claim
}

func pendingSK(k Key) string { return k.Repository + "#" + k.Environment }

func pendingItemKey(kind string, k Key) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		attrPK: str(PendingPartition(kind)),
		attrSK: str(pendingSK(k)),
	}
}

// whereWork names a piece of pending work in errors.
func (s *Store) whereWork(kind string, k Key) string {
	return fmt.Sprintf("pending %s of %s in table %s", kind, k, s.table)
}

// PutPending remembers a piece of work of a kind for an environment,
// replacing the one there, unless that one was put later than at (another
// invocation's newer work stands): then it returns ErrConflict (wrapped)
// and writes nothing. Putting the same value again succeeds and writes
// nothing (a retried write whose answer was lost): whoever took the entry
// keeps it. The entry it replaces loses who worked on it.
func (s *Store) PutPending(ctx context.Context, kind string, k Key, value []byte, at time.Time) error {
	item := pendingItemKey(kind, k)
	item[attrPendingData] = str(string(value))
	item[attrPendingAt] = num(at.UnixMilli())
	cond := "attribute_not_exists(#pk) OR #at < :at"
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names(cond),
		ExpressionAttributeValues:           map[string]ddbtypes.AttributeValue{":at": num(at.UnixMilli())},
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if failed, ok := errors.AsType[*ddbtypes.ConditionalCheckFailedException](err); ok {
		if stringOf(failed.Item, attrPendingData) == string(value) {
			return nil
		}
		return fmt.Errorf("remember %s: newer work stands: %w", s.whereWork(kind, k), ErrConflict)
	}
	if err != nil {
		return s.translateWork("remember", kind, k, err)
	}
	return nil
}

// ListPending returns every piece of work of a kind, read consistently, in
// the order of their keys.
func (s *Store) ListPending(ctx context.Context, kind string) ([]Pending, error) {
	var out []Pending
	var start map[string]ddbtypes.AttributeValue
	for {
		page, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  names("#pk"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": str(PendingPartition(kind))},
			ExclusiveStartKey:         start,
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return nil, wrap("read", fmt.Sprintf("pending %s in table %s", kind, s.table), err)
		}
		for _, item := range page.Items {
			out = append(out, decodePending(kind, item))
		}
		start = page.LastEvaluatedKey
		if len(start) == 0 {
			return out, nil
		}
	}
}

// decodePending returns the work an item holds.
func decodePending(kind string, item map[string]ddbtypes.AttributeValue) Pending {
	p := Pending{Kind: kind, Value: []byte(stringOf(item, attrPendingData))}
	// Neither a repository nor an environment name has a '#'.
	repository, environment, _ := strings.Cut(stringOf(item, attrSK), "#")
	p.Key = Key{Repository: repository, Environment: environment}
	if at, ok := numberOf(item, attrPendingAt); ok {
		p.At = time.UnixMilli(at).UTC()
	}
	if owner := stringOf(item, attrClaimOwner); owner != "" {
		until, _ := numberOf(item, attrClaimUntil)
		p.Taken = &Claim{Owner: owner, Until: time.UnixMilli(until).UTC()}
	}
	return p
}

// TakePending makes owner the one who works on a piece of work until the
// given time: it succeeds when the entry still holds the value read and
// nobody else's claim on it is live (owner's own is extended). Otherwise
// it returns ErrConflict (wrapped), saying whether the entry is gone,
// changed or taken: someone else carries it out, or newer work replaced
// it. A holder that crashed blocks the work until its claim expires.
func (s *Store) TakePending(ctx context.Context, p Pending, owner string, until time.Time) error {
	cond := "#value = :value AND (attribute_not_exists(#owner) OR #until <= :now OR #owner = :owner)"
	update := "SET #owner = :owner, #until = :until"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: pendingItemKey(p.Kind, p.Key),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names(update, cond),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":value": str(string(p.Value)), ":owner": str(owner), ":until": num(until.UnixMilli()), ":now": num(s.now().UnixMilli()),
		},
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var cf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return fmt.Errorf("take %s: %s: %w", s.whereWork(p.Kind, p.Key), s.standing(p, cf.Item), ErrConflict)
	}
	if err != nil {
		return s.translateWork("take", p.Kind, p.Key, err)
	}
	return nil
}

// standing says why a conditional write of a piece of work failed, from
// the item that stands (nil: none).
func (s *Store) standing(p Pending, item map[string]ddbtypes.AttributeValue) string {
	switch {
	case len(item) == 0:
		return "it is gone"
	case stringOf(item, attrPendingData) != string(p.Value):
		return "newer work replaced it"
	}
	taken := decodePending(p.Kind, item).Taken
	if taken == nil {
		return "it changed"
	}
	return fmt.Sprintf("%s works on it until %s", taken.Owner, taken.Until.Format(time.RFC3339))
}

// DeletePending forgets a piece of work once it is done, if the entry
// still holds the value read; otherwise (gone, or replaced by newer work,
// which stays) it returns ErrConflict (wrapped).
func (s *Store) DeletePending(ctx context.Context, p Pending) error {
	cond := "#value = :value"
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: pendingItemKey(p.Kind, p.Key),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names(cond),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":value": str(string(p.Value))},
	})
	if conditionFailed(err) {
		return fmt.Errorf("forget %s: %w", s.whereWork(p.Kind, p.Key), ErrConflict)
	}
	if err != nil {
		return s.translateWork("forget", p.Kind, p.Key, err)
	}
	return nil
}

// translateWork returns err with what the store was doing and to which
// piece of work; a table that does not exist says which setting names it.
func (s *Store) translateWork(action, kind string, k Key, err error) error {
	return wrap(action, s.whereWork(kind, k), err)
}
