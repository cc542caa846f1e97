package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// Main is the main function of both Lambda functions: it builds the handler
// once, in the init phase, with the Lambda logger and metrics as CloudWatch
// Embedded Metric Format lines on standard output, and serves what entry
// picks (Handler.Event or Handler.Request) as a Function. An init error is
// logged and exits 1.
func Main(entry func(*Handler) Function) {
	log := lambdacontext.NewLogger()
	h, err := New(context.Background(), os.Getenv, Options{Log: log, Metrics: os.Stdout})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(entry(h))
}

// Function is one of the handler's entries as the Lambda runtime calls it:
// with the payload's bytes as they came, whatever they are. Given a typed
// input instead (even json.RawMessage), the runtime decodes the payload
// itself before the handler runs, and answers a payload that is not JSON
// with its own function error ("unexpected EOF"), which names no position
// and is retried; the handler's decoding (event.Decode, request.Decode)
// reports it as a bad input, with the byte offset, like any other.
type Function func(context.Context, json.RawMessage) (deploy.Result, error)

// Invoke runs f on payload and encodes its result as the runtime encodes a
// handler's: JSON without HTML escaping, without the encoder's newline. It is
// lambda.Handler's method: it returns f's error, which the runtime reports
// as a function error, in place of the result.
func (f Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	res, err := f(ctx, payload)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
