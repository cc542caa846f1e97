package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// writeItemByItem makes the proxy answer TransactWriteItems itself, in
// place of moto, by writing each item of the transaction with the
// single-item call of its kind (UpdateItem, PutItem, DeleteItem), condition
// and all, to moto directly, in order, stopping at the first that fails.
//
// moto cannot serve a fleet's transactions: to roll a transaction back, its
// TransactWriteItems deep-copies every table the transaction names, on
// every call. Measured on moto 5.2.1 against a table of 3,000 items of
// 1.5 KB: 0.26 s and 7 MB of memory that moto does not give back per
// transaction, so the 3,000 records a fleet of 1,000 × 3 writes, in a table
// that grows to 6,000 items, would take moto some 20 GB. DynamoDB's cost
// for a transaction does not grow with the table.
//
// Item by item is not atomic: a transaction whose second item fails keeps
// its first. It is used only where one writer acts on each environment,
// a fleet reconciled by one reconcile at a time, in which the store's
// transaction (the record's update, conditional on the revision read, and
// the put of the change item of the next revision) cannot fail half-way:
// the change item of a revision exists only if the record reached it,
// which the update's condition excludes. A ConditionCheck item, which the
// store does not send, is answered as an error. The call is still counted,
// throttled and timed by the proxy as it was made.
func (w *world) writeItemByItem() {
	moto := strings.TrimSuffix(w.env.Local.URL, "/")
	w.env.Proxy.Intercept("dynamodb:TransactWriteItems", func(ctx context.Context, in awstest.Intercepted) (*awstest.Response, error) {
		var req struct {
			TransactItems []map[string]json.RawMessage
		}
		if err := json.Unmarshal(in.Call.Request, &req); err != nil {
			return nil, fmt.Errorf("decode TransactWriteItems: %w", err)
		}
		reasons := make([]cancellationReason, len(req.TransactItems))
		for i := range reasons {
			reasons[i].Code = "None"
		}
		for i, item := range req.TransactItems {
			if len(item) != 1 {
				return in.Error(http.StatusBadRequest, "ValidationException", "a transaction item names one action"), nil
			}
			for kind, op := range item {
				action, ok := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}[kind]
				if !ok {
					return nil, fmt.Errorf("a %s item of TransactWriteItems: not modelled by writeItemByItem", kind)
				}
				resp, err := dynamoDBCall(ctx, moto, in.Header, action, op)
				if err != nil {
					return nil, err
				}
				if resp.Status == http.StatusOK {
					continue
				}
				var failed struct {
					Type string          `json:"__type"`
					Item json.RawMessage `json:"Item"`
				}
				_ = json.Unmarshal(resp.Body, &failed)
				if !strings.HasSuffix(failed.Type, "ConditionalCheckFailedException") {
					return resp, nil // not a condition: moto's answer as it is
				}
				reasons[i] = cancellationReason{Code: "ConditionalCheckFailed", Message: "The conditional request failed", Item: failed.Item}
				return transactionCanceled(in, reasons)
			}
		}
		return in.JSON(struct{}{})
	})
}

// cancellationReason is one item's entry in the CancellationReasons of a
// TransactionCanceledException, as DynamoDB's API Reference gives it
// (TransactWriteItems, "Errors").
type cancellationReason struct {
	Code    string          `json:"Code"`
	Message string          `json:"Message,omitempty"`
	Item    json.RawMessage `json:"Item,omitempty"`
}

// transactionCanceled is DynamoDB's answer to a transaction an item's
// condition cancelled: TransactionCanceledException, with the message
// that lists the reasons in order and the reasons themselves.
func transactionCanceled(in awstest.Intercepted, reasons []cancellationReason) (*awstest.Response, error) {
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	const code = "TransactionCanceledException"
	resp, err := in.JSON(map[string]any{
		"__type":              "com.amazonaws.dynamodb.v20120810#" + code,
		"Message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		"CancellationReasons": reasons,
	})
	if err != nil {
		return nil, err
	}
	resp.Status = http.StatusBadRequest
	resp.Header.Set("X-Amzn-ErrorType", code)
	return resp, nil
}

// dynamoDBCall sends one DynamoDB action with body to moto at url, signed
// as the intercepted call was (moto reads the account from the access key
// and checks no signature), and returns moto's answer.
func dynamoDBCall(ctx context.Context, url string, h http.Header, action string, body []byte) (*awstest.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s of a split transaction: %w", action, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+action)
	req.Header.Set("Authorization", h.Get("Authorization"))
	req.Header.Set("X-Amz-Date", h.Get("X-Amz-Date"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s of a split transaction: %w", action, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s of a split transaction: read moto's answer: %w", action, err)
	}
	return &awstest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// The store's writes, answered item by item, do what moto's transactions
// do: the record and its change item are written, a write that lost the
// race is a conflict and writes neither, and the proxy counts the call as
// made, answered by itself.
func TestWriteItemByItem(t *testing.T) {
	w := newWorld(t)
	w.writeItemByItem()
	store := state.NewStore(dynamodb.NewFromConfig(w.env.Config, func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} }), w.env.Table)
	ctx := t.Context()
	first, err := store.Put(ctx, state.Record{Repository: "web", Environment: "dev", Version: "1.0.0"})
	if err != nil || first.Revision != 1 {
		t.Fatalf("first write: revision %d, %v; want 1", first.Revision, err)
	}
	if _, err := store.Put(ctx, state.Record{Repository: "web", Environment: "dev", Version: "0.9.0"}); !errors.Is(err, state.ErrConflict) {
		t.Errorf("a write of a stale revision: %v, want ErrConflict", err)
	}
	second, err := store.Put(ctx, state.Record{Repository: "web", Environment: "dev", Version: "1.1.0", Revision: first.Revision})
	if err != nil || second.Revision != 2 {
		t.Fatalf("second write: revision %d, %v; want 2", second.Revision, err)
	}
	if rec, ok := w.recorded(t, "web", "dev"); !ok || rec.Version != "1.1.0" {
		t.Errorf("recorded %+v (%v), want 1.1.0", rec, ok)
	}
	page, err := store.History(ctx, "web", "dev", 0, 0)
	var versions []string
	for _, r := range page.Records {
		versions = append(versions, fmt.Sprintf("%d %s", r.Revision, r.Version))
	}
	if diff := cmp.Diff([]string{"2 1.1.0", "1 1.0.0"}, versions); err != nil || diff != "" {
		t.Errorf("change items (-want +got):\n%s (%v)", diff, err)
	}
	var forwarded []bool
	for _, c := range w.env.Proxy.Log() {
		if c.Operation == "TransactWriteItems" {
			forwarded = append(forwarded, c.Forwarded)
		}
	}
	if diff := cmp.Diff([]bool{false, false, false}, forwarded); diff != "" {
		t.Errorf("TransactWriteItems forwarded to moto (-want +got):\n%s", diff)
	}
}
