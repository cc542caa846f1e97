package state

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// throttlingTables cancels its first n transactions for throttling, as an
// on-demand table does past its throughput; the SDK does not retry that.
type throttlingTables struct {
	DynamoDBAPI
	n, calls int
}

func (f *throttlingTables) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.calls++
	if f.n < 0 || f.calls <= f.n {
		return nil, &ddbtypes.TransactionCanceledException{Message: aws.String("Transaction cancelled"),
			CancellationReasons: []ddbtypes.CancellationReason{{Code: aws.String("ThrottlingError")}, {Code: aws.String("None")}}}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

// A record write that DynamoDB cancels for throttling is sent again, and
// a write it keeps cancelling fails with ErrThrottled, which a retry of
// the invocation can fix, rather than as a conflict or a lost record.
func TestAThrottledTransactionIsSentAgain(t *testing.T) {
	f := &throttlingTables{n: 2}
	s := NewStore(f, "t")
	rec, err := s.Put(context.Background(), Record{Repository: "r", Environment: "dev", Version: "1.0.0"})
	if err != nil || rec.Revision != 1 || f.calls != 3 {
		t.Errorf("Put after two throttled cancellations: revision %d, %v, %d calls; want revision 1 in 3 calls", rec.Revision, err, f.calls)
	}
	f = &throttlingTables{n: -1}
	s = NewStore(f, "t")
	_, err = s.Put(context.Background(), Record{Repository: "r", Environment: "dev", Version: "1.0.0"})
	if !errors.Is(err, ErrThrottled) || errors.Is(err, ErrConflict) || f.calls != throttledRounds {
		t.Errorf("Put always throttled: %v after %d calls, want ErrThrottled after %d", err, f.calls, throttledRounds)
	}
}
