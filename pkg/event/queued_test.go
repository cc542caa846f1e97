package event

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// sqsRecord is a record of an SQS event source mapping's batch, as Lambda
// writes it, with id, body (raw JSON) and receive count (raw JSON, "" for
// none) given.
func sqsRecord(id, body, receives string) string {
	attrs := `"SentTimestamp":"1764235800000","SenderId":"AROAEXAMPLE:deployer","ApproximateFirstReceiveTimestamp":"1764235803000"`
	if receives != "" {
		attrs = `"ApproximateReceiveCount":` + receives + `,` + attrs
	}
	return `{"messageId":"` + id + `","receiptHandle":"AQEBexample","body":` + body + `,"attributes":{` + attrs + `},` +
		`"messageAttributes":{},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs",` +
		`"eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:ecrdeploy-RegistrationQueue-x","awsRegion":"us-east-1"}`
}

// sqsBatch is an SQS event source mapping's batch of records.
func sqsBatch(records ...string) string {
	return `{"Records":[` + strings.Join(records, ",") + `]}`
}

// TestDecodeQueuedExample decodes AWS's example of an SQS batch
// (testdata/samples, from the Lambda Developer Guide).
func TestDecodeQueuedExample(t *testing.T) {
	raw, err := os.ReadFile("testdata/samples/sqs-event.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Queued{Messages: []QueuedMessage{
		{ID: "059f36b4-87a3-44ab-83d2-661975830a7d", Body: []byte("Test message."), Receives: 1},
		{ID: "2e1424d4-f796-459a-8184-9c92662be6da", Body: []byte("Test message."), Receives: 3},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
}

func TestDecodeQueued(t *testing.T) {
	good := sqsRecord("m1", `"{\"v\":1}"`, `"1"`)
	tests := []struct {
		name      string
		in        string
		want      Queued // when wantField is "-"
		wantField string // "-" when the batch is accepted
		wantText  string
	}{
		{name: "one message", in: sqsBatch(good), wantField: "-",
			want: Queued{Messages: []QueuedMessage{{ID: "m1", Body: []byte(`{"v":1}`), Receives: 1}}}},
		{name: "two messages, one received again", in: sqsBatch(good, sqsRecord("m2", `"b"`, `"5"`)), wantField: "-",
			want: Queued{Messages: []QueuedMessage{{ID: "m1", Body: []byte(`{"v":1}`), Receives: 1}, {ID: "m2", Body: []byte("b"), Receives: 5}}}},
		{name: "body of unicode and escapes", in: sqsBatch(sqsRecord("m1", `"héllo\n\u00e9"`, `"2"`)), wantField: "-",
			want: Queued{Messages: []QueuedMessage{{ID: "m1", Body: []byte("héllo\né"), Receives: 2}}}},
		{name: "Records in another case", in: strings.Replace(sqsBatch(good), `"Records"`, `"records"`, 1), wantField: "-",
			want: Queued{Messages: []QueuedMessage{{ID: "m1", Body: []byte(`{"v":1}`), Receives: 1}}}},
		{name: "pretty-printed", in: "\n  {\n  \"Records\" : [ " + good + " ]\n}\n", wantField: "-",
			want: Queued{Messages: []QueuedMessage{{ID: "m1", Body: []byte(`{"v":1}`), Receives: 1}}}},

		{name: "no records", in: `{"Records":[]}`, wantField: "Records", wantText: "no records"},
		{name: "records null", in: `{"Records":null}`, wantField: "Records", wantText: "no records"},
		{name: "records not a list", in: `{"Records":{}}`, wantField: "Records", wantText: "want []json.RawMessage, got JSON object"},
		{name: "record null", in: sqsBatch(good, "null"), wantField: "Records[1]", wantText: "missing"},
		{name: "record a string", in: sqsBatch(`"m1"`), wantField: "Records[0]", wantText: "want events.SQSMessage, got JSON string"},
		{name: "record of another source", in: sqsBatch(strings.Replace(good, `"aws:sqs"`, `"aws:kinesis"`, 1)),
			wantField: "Records[0].eventSource", wantText: `"aws:kinesis" is not "aws:sqs"`},
		{name: "second record of another source", in: sqsBatch(good, strings.Replace(good, `"aws:sqs"`, `"aws:SQS"`, 1)),
			wantField: "Records[1].eventSource", wantText: `"aws:SQS" is not "aws:sqs"`},
		{name: "record without source", in: sqsBatch(strings.Replace(good, `"eventSource":"aws:sqs",`, "", 1)),
			wantField: "Records[0].eventSource", wantText: `"" is not "aws:sqs"`},
		{name: "no message id", in: sqsBatch(sqsRecord("", `"b"`, `"1"`)), wantField: "Records[0].messageId", wantText: "missing"},
		{name: "empty body", in: sqsBatch(sqsRecord("m1", `""`, `"1"`)), wantField: "Records[0].body", wantText: "missing or empty"},
		{name: "no body", in: sqsBatch(strings.Replace(good, `"body":"{\"v\":1}",`, "", 1)), wantField: "Records[0].body", wantText: "missing or empty"},
		{name: "body not a string", in: sqsBatch(sqsRecord("m1", `{"v":1}`, `"1"`)), wantField: "Records[0].body", wantText: "want string, got JSON object"},
		{name: "no receive count", in: sqsBatch(sqsRecord("m1", `"b"`, "")), wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: "missing"},
		{name: "no attributes", in: sqsBatch(`{"messageId":"m1","body":"b","eventSource":"aws:sqs"}`),
			wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: "missing"},
		{name: "receive count 0", in: sqsBatch(sqsRecord("m1", `"b"`, `"0"`)), wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: `"0" is not a receive count`},
		{name: "receive count negative", in: sqsBatch(sqsRecord("m1", `"b"`, `"-1"`)), wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: `"-1" is not a receive count`},
		{name: "receive count with a sign", in: sqsBatch(sqsRecord("m1", `"b"`, `"+1"`)), wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: `"+1" is not a receive count`},
		{name: "receive count a fraction", in: sqsBatch(sqsRecord("m1", `"b"`, `"1.5"`)), wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: `"1.5" is not a receive count`},
		{name: "receive count empty", in: sqsBatch(sqsRecord("m1", `"b"`, `""`)), wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: `"" is not a receive count`},
		{name: "receive count too large", in: sqsBatch(sqsRecord("m1", `"b"`, `"99999999999999999999"`)), wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: "is not a receive count"},
		{name: "receive count a number", in: sqsBatch(sqsRecord("m1", `"b"`, `1`)), wantField: "Records[0].attributes", wantText: "want string, got JSON number"},
		{name: "receive count twice", in: sqsBatch(sqsRecord("m1", `"b"`, `"1","ApproximateReceiveCount":"2"`)),
			wantField: "Records[0].attributes.ApproximateReceiveCount", wantText: "given more than once"},
		{name: "Records beside records", in: `{"Records":[` + good + `],"records":[]}`, wantField: "records", wantText: "the same key as Records in another case"},
		{name: "body twice", in: sqsBatch(strings.Replace(good, `"body":`, `"body":"a","body":`, 1)), wantField: "Records[0].body", wantText: "given more than once"},
		{name: "invalid UTF-8 in the body", in: sqsBatch(sqsRecord("m1", "\"b\xff\"", `"1"`)), wantField: "", wantText: "not valid UTF-8 at byte"},
		{name: "truncated", in: sqsBatch(good)[:100], wantField: "", wantText: "unexpected end of JSON input"},
		{name: "records nested too deeply", in: `{"Records":` + nest(100000, "") + `}`, wantField: "", wantText: "nested more than 10000 levels deep"},
		// Records is recognised as the first key only: Lambda writes no
		// other, and an EventBridge event has none.
		{name: "Records after another key", in: `{"source":"aws.ecr","Records":[` + good + `]}`, wantField: "source", wantText: `unsupported event "aws.ecr"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if tt.wantField == "-" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Decode (-want +got):\n%s", diff)
				}
				return
			}
			checkBad(t, got, err, tt.wantField, tt.wantText)
		})
	}
}

// TestDecodeQueuedSize checks the two size limits: a batch may be as large
// as an invocation's payload (MaxQueuedSize), ten SQS messages of 256 KiB
// and more; an EventBridge event is held to MaxSize still.
func TestDecodeQueuedSize(t *testing.T) {
	big := strings.Repeat("x", 256<<10)
	var ten []string
	for range 10 {
		ten = append(ten, sqsRecord("m", `"`+big+`"`, `"1"`))
	}
	tenOf256KiB := sqsBatch(ten...)
	empty := len(sqsBatch(sqsRecord("m", `""`, `"1"`)))
	atLimit := sqsBatch(sqsRecord("m", `"`+strings.Repeat("x", MaxQueuedSize-empty)+`"`, `"1"`))
	overLimit := sqsBatch(sqsRecord("m", `"`+strings.Repeat("x", MaxQueuedSize-empty+1)+`"`, `"1"`))

	t.Run("ten messages of 256 KiB", func(t *testing.T) {
		got, err := Decode([]byte(tenOf256KiB))
		if err != nil {
			t.Fatal(err)
		}
		q := got.(Queued)
		if len(q.Messages) != 10 || len(q.Messages[9].Body) != 256<<10 {
			t.Errorf("decoded %d messages, the last of %d bytes; want 10 of %d", len(q.Messages), len(q.Messages[len(q.Messages)-1].Body), 256<<10)
		}
	})
	t.Run("at the limit", func(t *testing.T) {
		if len(atLimit) != MaxQueuedSize {
			t.Fatalf("batch of %d bytes, want %d", len(atLimit), MaxQueuedSize)
		}
		if _, err := Decode([]byte(atLimit)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("one byte over the limit", func(t *testing.T) {
		got, err := Decode([]byte(overLimit))
		checkBad(t, got, err, "", "event is 6291457 bytes, more than the 6291456 a Lambda invocation can carry")
	})
	t.Run("an EventBridge event of a batch's size", func(t *testing.T) {
		in := pushJSON(pushDetail("x", `"`+big+`"`))
		got, err := Decode([]byte(in))
		checkBad(t, got, err, "", "more than the 262144 an EventBridge event can be")
	})
}

// checkBad checks a refusal: a nil value and an *input.Error naming field,
// whose message holds text and is bounded.
func checkBad(t *testing.T, got Event, err error, field, text string) {
	t.Helper()
	var e *input.Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode = %v, %v; want *input.Error", got, err)
	}
	if got != nil {
		t.Errorf("Decode returned %v with the error", got)
	}
	if e.Field != field {
		t.Errorf("Field = %q, want %q (error %.300q)", e.Field, field, err)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error %.300q does not contain %q", err, text)
	}
	if n := len(err.Error()); n > maxErrorLen {
		t.Errorf("error is %d bytes, more than %d: %.300q…", n, maxErrorLen, err)
	}
}
