package event

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
