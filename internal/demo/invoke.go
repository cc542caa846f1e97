package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/ecrdeploy/ecrdeploy/internal/funcerr"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/internal/rie"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// function is a Lambda function the demo invokes with a payload, answering
// the function's response payload.
type function interface {
	// Invoke sends payload to the function and returns its response. It
	// returns an error when the invocation failed or the function reported
	// an error instead of a result.
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
	// Where says how the function is reached, for the story.
	Where() string
}

// emulated is a function running under the Runtime Interface Emulator,
// invoked through the Lambda Invoke API (the SDK's Lambda client with the
// emulator as its endpoint), as Lambda itself is.
type emulated struct {
	name   string // ecrdeploy-deployer, ecrdeploy-promoter
	url    string
	client *lambda.Client
}

func newEmulated(name, url string) *emulated {
	cfg := localaws.Config(url)
	return &emulated{name: name, url: url, client: lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		// An invocation is not retried: the function may have acted.
		o.Retryer = aws.NopRetryer{}
	})}
}

// Where returns the Invoke API request the invocation is.
func (f *emulated) Where() string {
	return "POST " + f.url + "/2015-03-31/functions/" + rie.FunctionName + "/invocations"
}

// Invoke invokes the function synchronously (RequestResponse).
func (f *emulated) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := f.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(rie.FunctionName),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.name, err)
	}
	if fe := funcerr.In(f.name, out); fe != nil {
		return nil, fe
	}
	return out.Payload, nil
}

// decodeResult decodes a function's response into a result.
func decodeResult(payload []byte) (deploy.Result, error) {
	var res deploy.Result
	if err := json.Unmarshal(payload, &res); err != nil {
		return deploy.Result{}, fmt.Errorf("the response is not a result: %w: %.200q", err, payload)
	}
	return res, nil
}
