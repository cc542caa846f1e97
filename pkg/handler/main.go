package handler

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Main is the main function of both Lambda functions: it builds the handler
// once, in the init phase, with the Lambda logger and metrics as CloudWatch
// Embedded Metric Format lines on standard output, and serves what entry
// picks (Handler.Event or Handler.Request). An init error is logged and
// exits 1.
func Main(entry func(*Handler) any) {
	log := lambdacontext.NewLogger()
	h, err := New(context.Background(), os.Getenv, Options{Log: log, Metrics: os.Stdout})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(entry(h))
}
