package awstest

import (
	"context"
	"encoding/json"
	"sync"
)

// DynamoDB performs a conditional write atomically: the condition is
// checked against the item as it stands and the write made in one step, so
// that of two writers that read the same version only one succeeds ("Working
// with items and attributes in DynamoDB", Conditional writes, Amazon
// DynamoDB Developer Guide,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate;
// optimistic locking with a version number rests on it). moto 5.2 does not:
// under concurrent requests two conditional UpdateItems on one item both
// succeed now and then (measured: 2 of 20 rounds of 30 concurrent
// attribute_not_exists updates had two winners). The proxy therefore
// forwards the writes of one item to moto one at a time.
//
// Writes of different items go on together, as they do in DynamoDB: one
// lock for every write made them all wait on each other, and in a burst of
// a thousand pushes through 20 instances, where half the calls are writes
// (claims, their releases, the registration pace's reservations), an
// UpdateItem took 531 ms at the median against 38 ms for a
// DescribeServices, which made the benchmark's figures the lock's.
// TransactWriteItems and BatchWriteItem (and PutItem, whose key the proxy
// cannot tell without the table's schema) still go alone: to roll a failed
// transaction back, moto copies each table the transaction names and puts
// the copy back whole, which would undo the writes of other items made
// meanwhile.

// dynamoDBWrites are the DynamoDB operations that write one item, by the
// key of their request; the others write alone.
var dynamoDBWrites = map[string]bool{
	"dynamodb:UpdateItem": true, "dynamodb:DeleteItem": true,
	"dynamodb:PutItem": false, "dynamodb:TransactWriteItems": false, "dynamodb:BatchWriteItem": false,
}

// writeLocks are the locks of DynamoDB's writes through the proxy: alone
// holds off every other write while a write that is not of one known item
// goes; items serialises the writes of each item.
type writeLocks struct {
	alone sync.RWMutex
	items sync.Map // table and key -> *sync.Mutex
}

// lock takes the locks of a write and returns their release.
func (l *writeLocks) lock(oneItem bool, body []byte) func() {
	key, ok := itemOf(body)
	if !oneItem || !ok {
		l.alone.Lock()
		return l.alone.Unlock
	}
	l.alone.RLock()
	m, _ := l.items.LoadOrStore(key, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return func() {
		mu.Unlock()
		l.alone.RUnlock()
	}
}

// itemOf returns the table and key a single-item write names, in one
// canonical form (JSON, keys sorted).
func itemOf(body []byte) (string, bool) {
	var in struct {
		TableName string
		Key       map[string]any
	}
	if json.Unmarshal(body, &in) != nil || in.TableName == "" || len(in.Key) == 0 {
		return "", false
	}
	key, err := json.Marshal(in.Key)
	if err != nil {
		return "", false
	}
	return in.TableName + "\x00" + string(key), true
}

// serializeDynamoDBWrites makes the proxy forward the writes of one
// DynamoDB item to moto one at a time, so that conditional writes are
// atomic as DynamoDB's are.
func serializeDynamoDBWrites(p *Proxy) {
	locks := &writeLocks{}
	for op, oneItem := range dynamoDBWrites {
		p.Intercept(op, func(ctx context.Context, in Intercepted) (*Response, error) {
			defer locks.lock(oneItem, in.Call.Request)()
			return in.Forward(ctx)
		})
	}
}
