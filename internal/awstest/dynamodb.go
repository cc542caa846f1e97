package awstest

import (
	"context"
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
// forwards DynamoDB's writes to moto one at a time.

// dynamoDBWrites are the DynamoDB operations that write.
var dynamoDBWrites = []string{"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:TransactWriteItems", "dynamodb:BatchWriteItem"}

// serializeDynamoDBWrites makes the proxy forward DynamoDB's writes to moto
// one at a time, so that conditional writes are atomic as DynamoDB's are.
func serializeDynamoDBWrites(p *Proxy) {
	var mu sync.Mutex
	for _, op := range dynamoDBWrites {
		p.Intercept(op, func(ctx context.Context, in Intercepted) (*Response, error) {
			mu.Lock()
			defer mu.Unlock()
			return in.Forward(ctx)
		})
	}
}
