package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/queue"
)

// The assertion is here rather than in the package, so that pkg/queue
// imports nothing of pkg/deploy and deploy's own tests may use it.
var (
	_ deploy.Queue = (*queue.SQS)(nil)
	_ queue.SQSAPI = (*sqs.Client)(nil)
	_ queue.SQSAPI = (*fakeSQS)(nil)
)

// fakeSQS records the messages sent and answers SendMessageFn's result.
type fakeSQS struct {
	SendMessageFn func(*sqs.SendMessageInput) (*sqs.SendMessageOutput, error)
	sent          []*sqs.SendMessageInput
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.sent = append(f.sent, in)
	if f.SendMessageFn != nil {
		return f.SendMessageFn(in)
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("m1")}, nil
}

// TestSendDelay checks the delay of each message: the seconds until it is
// due, a fraction rounded up (never early), none once due, and at most
// SQS's 900.
func TestSendDelay(t *testing.T) {
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		due  time.Time
		want int32
	}{
		{"due now", now, 0},
		{"due an hour ago", now.Add(-time.Hour), 0},
		{"due a nanosecond ago", now.Add(-time.Nanosecond), 0},
		{"due in a nanosecond", now.Add(time.Nanosecond), 1},
		{"due in a second", now.Add(time.Second), 1},
		{"due in 1.2 s", now.Add(1200 * time.Millisecond), 2},
		{"due in 3 s", now.Add(3 * time.Second), 3},
		{"due in 899.001 s", now.Add(899*time.Second + time.Millisecond), 900},
		{"due in 900 s", now.Add(900 * time.Second), 900},
		{"due in 900.5 s", now.Add(900*time.Second + 500*time.Millisecond), 900},
		{"due in a day", now.Add(24 * time.Hour), 900},
		{"due at the end of time", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSQS{}
			q := &queue.SQS{Client: f, URL: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries", Now: func() time.Time { return now }}
			if err := q.Send(t.Context(), []byte(`{"v":1}`), tt.due); err != nil {
				t.Fatal(err)
			}
			if len(f.sent) != 1 {
				t.Fatalf("sent %d messages, want 1", len(f.sent))
			}
			in := f.sent[0]
			if in.DelaySeconds != tt.want {
				t.Errorf("DelaySeconds %d, want %d", in.DelaySeconds, tt.want)
			}
			if got := aws.ToString(in.QueueUrl); got != q.URL {
				t.Errorf("QueueUrl %q, want %q", got, q.URL)
			}
			if got := aws.ToString(in.MessageBody); got != `{"v":1}` {
				t.Errorf("MessageBody %q, want the body sent", got)
			}
		})
	}
}

// A failed send names the queue and keeps SQS's error.
func TestSendError(t *testing.T) {
	denied := errors.New("AccessDenied")
	q := &queue.SQS{Client: &fakeSQS{SendMessageFn: func(*sqs.SendMessageInput) (*sqs.SendMessageOutput, error) { return nil, denied }},
		URL: "https://sqs.us-east-1.amazonaws.com/123456789012/deliveries"}
	err := q.Send(t.Context(), []byte("b"), time.Now())
	if !errors.Is(err, denied) {
		t.Fatalf("Send = %v, want SQS's error wrapped", err)
	}
	if want := "send to queue https://sqs.us-east-1.amazonaws.com/123456789012/deliveries: AccessDenied"; err.Error() != want {
		t.Errorf("Send = %q, want %q", err, want)
	}
}

// TestSendThroughSQS sends through moto's SQS: a message due now is
// received at once, with its body; one due in 3 s is sent with
// DelaySeconds 3, and is not received before it is due.
func TestSendThroughSQS(t *testing.T) {
	env := awstest.New(t)
	local := sqs.NewFromConfig(env.Local.Config)
	created, err := local.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("deliveries")})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	q := &queue.SQS{Client: sqs.NewFromConfig(env.Config), URL: url}
	receive := func() []string {
		t.Helper()
		out, err := local.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := local.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
		return bodies
	}

	if err := q.Send(t.Context(), []byte(`{"delivery":"now"}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := receive(); len(got) != 1 || got[0] != `{"delivery":"now"}` {
		t.Fatalf("received %q, want the message due now", got)
	}

	due := time.Now().Add(3 * time.Second)
	if err := q.Send(t.Context(), []byte(`{"delivery":"later"}`), due); err != nil {
		t.Fatal(err)
	}
	if got := sentDelays(t, env.Proxy.Log()); len(got) != 2 || got[0] != 0 || got[1] != 3 {
		t.Errorf("DelaySeconds sent %v, want [0 3]", got)
	}
	if got := receive(); len(got) != 0 {
		t.Fatalf("received %q before it was due", got)
	}
	time.Sleep(time.Until(due) + 500*time.Millisecond)
	if got := receive(); len(got) != 1 || got[0] != `{"delivery":"later"}` {
		t.Fatalf("received %q once due, want the delayed message", got)
	}

	gone := &queue.SQS{Client: sqs.NewFromConfig(env.Config), URL: strings.Replace(url, "deliveries", "no-such-queue", 1)}
	if err := gone.Send(t.Context(), []byte("b"), time.Now()); err == nil || !strings.Contains(err.Error(), "no-such-queue") {
		t.Errorf("Send to a queue that does not exist = %v, want an error naming it", err)
	}
}

// sentDelays returns the DelaySeconds of each SendMessage call the proxy
// saw, in order.
func sentDelays(t *testing.T, calls []awstest.Call) []int32 {
	t.Helper()
	var delays []int32
	for _, c := range calls {
		if c.Operation != "SendMessage" {
			continue
		}
		var in struct{ DelaySeconds int32 }
		if err := json.Unmarshal(c.Request, &in); err != nil {
			t.Fatalf("SendMessage request %q: %v", c.Request, err)
		}
		delays = append(delays, in.DelaySeconds)
	}
	return delays
}
