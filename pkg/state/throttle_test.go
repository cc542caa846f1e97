package state

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// throttledCancellation is DynamoDB's answer to a transaction it cancelled
// because it throttled one of its writes ("TransactWriteItems", DynamoDB
// API Reference: TransactionCanceledException, cancellation reason
// ThrottlingError).
const throttledCancellation = `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
	`"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]",` +
	`"CancellationReasons":[{"Code":"ThrottlingError","Message":"Throughput exceeds the current capacity of your table or index."},{"Code":"None"}]}`

// dynamoDB answers its first n TransactWriteItems (every one for n < 0)
// with a throttled cancellation, and the others with success, counting
// them; it serves nothing else.
func dynamoDB(t *testing.T, n int) (*dynamodb.Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") {
			http.Error(w, "not served", http.StatusNotImplemented)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if c := calls.Add(1); n < 0 || int(c) <= n {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, throttledCancellation)
			return
		}
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts, o.MaxBackoff = 4, 10*time.Millisecond
		}),
	})
	return client, &calls
}

// A record write that DynamoDB cancels for throttling is retried by the
// SDK's retryer, as a throttled call is (the store loops on nothing of its
// own), and a write it keeps cancelling fails with ErrThrottled once the
// retryer gives up, which a retry of the invocation can fix, rather than
// as a conflict or a lost record. A cancellation for a condition is not
// retried.
func TestAThrottledTransactionIsRetriedByTheSDK(t *testing.T) {
	client, calls := dynamoDB(t, 2)
	rec, err := NewStore(client, "t").Put(context.Background(), Record{Repository: "r", Environment: "dev", Version: "1.0.0"})
	if err != nil || rec.Revision != 1 || calls.Load() != 3 {
		t.Errorf("Put after two throttled cancellations: revision %d, %v, %d calls; want revision 1 in 3 calls", rec.Revision, err, calls.Load())
	}
	client, calls = dynamoDB(t, -1)
	_, err = NewStore(client, "t").Put(context.Background(), Record{Repository: "r", Environment: "dev", Version: "1.0.0"})
	if !errors.Is(err, ErrThrottled) || errors.Is(err, ErrConflict) || calls.Load() != 4 {
		t.Errorf("Put always throttled: %v after %d calls, want ErrThrottled after the retryer's 4 attempts", err, calls.Load())
	}
	conditional := &dynamodb.Options{Retryer: retry.NewStandard()}
	retryThrottledCancellations(conditional)
	var tx error = &ddbtypes.TransactionCanceledException{Message: aws.String("Transaction cancelled"),
		CancellationReasons: []ddbtypes.CancellationReason{{Code: aws.String("ConditionalCheckFailed")}}}
	if conditional.Retryer.IsErrorRetryable(tx) {
		t.Error("a transaction cancelled by a condition is retryable, want not")
	}
}
