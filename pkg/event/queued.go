package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Queued is what the deployer's queue delivers: the deliveries it handed
// off to wait for their registration slot (pkg/deploy, queue.go), as an
// SQS event source mapping invokes the function ({"Records": [...]}, each
// record "eventSource": "aws:sqs"). Each message's body is the deployer's
// own encoding of a delivery; decoding it is the deployer's.
type Queued struct {
	Messages []QueuedMessage
}

// QueuedMessage is one message of a Queued batch.
type QueuedMessage struct {
	// ID is SQS's message id.
	ID string
	// Body is the message's body as sent.
	Body []byte
	// Receives is SQS's ApproximateReceiveCount: 1 on the first delivery.
	Receives int
}

func (Queued) event() {}

// SourceSQS is the eventSource of every record of a Queued batch.
const SourceSQS = "aws:sqs"

// MaxQueuedSize is the largest Queued batch accepted: 6 MiB, the payload of
// a synchronous invocation ("Lambda quotas", AWS Lambda Developer Guide),
// which is how an SQS event source mapping invokes the function, so no batch
// Lambda delivers is larger. An SQS message may be far larger than the
// deployer's own (256 KiB, and 1 MiB since 2025: "Amazon SQS quotas", Amazon
// SQS Developer Guide), and a batch may hold ten, so an EventBridge event's
// MaxSize would refuse batches SQS accepted; the template's event source
// takes one message a batch.
const MaxQueuedSize = 6 << 20

// receiveCountAttribute is the attribute of a record that says how often
// SQS has delivered its message.
const receiveCountAttribute = "ApproximateReceiveCount"

// isQueued reports whether raw, a JSON object, is an SQS event source
// mapping's batch: its first key is Records (in any case, as encoding/json
// reads it), the only key Lambda writes at the top of one
// (events.SQSEvent); an EventBridge event has none. It reads that one key
// alone, so that the size of each kind of event is judged before the event
// is parsed.
func isQueued(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	tok, err := dec.Token()
	key, _ := tok.(string)
	return err == nil && strings.EqualFold(key, "Records")
}

// decodeQueued decodes a batch of the deployer's queue: at least one
// record, each from SQS, with a message id, a body and a receive count of
// one or more. A field at fault is named with its record's index
// (Records[1].body).
func decodeQueued(raw []byte) (Queued, error) {
	var batch struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &batch); err != nil {
		f, problem := input.JSONProblem(err)
		return Queued{}, bad(f, problem)
	}
	if len(batch.Records) == 0 {
		return Queued{}, bad("Records", "no records: want one message of the queue or more")
	}
	q := Queued{Messages: make([]QueuedMessage, 0, len(batch.Records))}
	for i, rec := range batch.Records {
		m, err := decodeQueuedRecord(fmt.Sprintf("Records[%d]", i), rec)
		if err != nil {
			return Queued{}, err
		}
		q.Messages = append(q.Messages, m)
	}
	return q, nil
}

// decodeQueuedRecord decodes the record at path of a batch.
func decodeQueuedRecord(path string, raw json.RawMessage) (QueuedMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return QueuedMessage{}, bad(path, "missing")
	}
	var r events.SQSMessage
	if err := json.Unmarshal(raw, &r); err != nil {
		f, problem := input.JSONProblem(err)
		if f == "" {
			f = path
		} else {
			f = path + "." + f
		}
		return QueuedMessage{}, bad(f, problem)
	}
	if r.EventSource != SourceSQS {
		return QueuedMessage{}, bad(path+".eventSource", fmt.Sprintf("%s is not %q: not a message of an SQS queue", input.Quote(r.EventSource), SourceSQS))
	}
	if r.MessageId == "" {
		return QueuedMessage{}, bad(path+".messageId", "missing")
	}
	if r.Body == "" {
		return QueuedMessage{}, bad(path+".body", "missing or empty: the deployer sends no empty message")
	}
	field := path + ".attributes." + receiveCountAttribute
	count, ok := r.Attributes[receiveCountAttribute]
	if !ok {
		return QueuedMessage{}, bad(field, "missing")
	}
	// strconv.Atoi takes a sign, which SQS never writes.
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || count[0] == '+' {
		return QueuedMessage{}, bad(field, fmt.Sprintf("%s is not a receive count (a whole number, 1 or more)", input.Quote(count)))
	}
	return QueuedMessage{ID: r.MessageId, Body: []byte(r.Body), Receives: n}, nil
}
