package bench

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// paceIdle waits until every registration pace in the state table is idle
// again (its time, tat, not after now: pkg/state/pace.go), reading the
// pace items straight from moto (not through the proxy, so not counted).
// A timed deployment measures one push, as a push finds the account most
// of the time; back to back, the repetitions would register faster than
// the pace (and AWS's bucket) allows, and measure the queue instead: the
// burst and the throttled burst measure that. A new instance that reserves
// while the pace is busy assumes it idle and is refused once, one more
// level (pkg/state/pace.go).
func (w *world) paceIdle(t *testing.T) {
	t.Helper()
	out, err := dynamodb.NewFromConfig(w.env.Local.Config).Query(t.Context(), &dynamodb.QueryInput{
		TableName:                 aws.String(w.env.Table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: "#pace"}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("read the registration pace: %v", err)
	}
	var until time.Time
	for _, it := range out.Items {
		if n, ok := it["tat"].(*ddbtypes.AttributeValueMemberN); ok {
			ms, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				t.Fatalf("the pace's tat %q: %v", n.Value, err)
			}
			if at := time.UnixMilli(ms); at.After(until) {
				until = at
			}
		}
	}
	if wait := time.Until(until); wait > 0 {
		time.Sleep(wait + 20*time.Millisecond)
	}
}
