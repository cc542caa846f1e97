package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/ecrdeploy/ecrdeploy/internal/funcerr"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

// reply is the promoter's answer to one request.
type reply struct {
	Result deploy.Result
	// Payload is Result as JSON exactly as the Lambda runtime returns it
	// (see runLocal): what -o json prints.
	Payload []byte
	// Err is the error the local handler returned with the result: one a
	// retry could fix. (The deployed function reports such an error as a
	// function error, without a result: see funcerr.Error.)
	Err error
}

// setupError is a failure to set the promoter up from the caller's
// environment: a malformed ECRDEPLOY_* setting or AWS configuration.
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// setupExitCode is the exit code of an error that left no result: 2 for a
// setup error (bad input), 1 for anything else (AWS or the function failed).
func setupExitCode(err error) int {
	var se *setupError
	if errors.As(err, &se) {
		return exitBadInput
	}
	return exitFailed
}

// runLocal runs the promoter's handler in this process on payload, with the
// caller's AWS configuration, reporting rollout polls to progress when it is
// not nil. It returns a *setupError when the handler cannot be built.
func (c *cli) runLocal(ctx context.Context, payload []byte, verbose bool, progress *progressLine) (reply, error) {
	opts := handler.Options{Log: c.logger(verbose)}
	if progress != nil {
		opts.Progress = progress.Observe
	}
	h, err := c.newHandler(ctx, opts)
	if err != nil {
		return reply{}, &setupError{err}
	}
	res, herr := h.Request(ctx, payload)
	// Exactly what the Lambda runtime returns: it encodes without escaping
	// HTML, and so does the result's own encoding.
	data, err := res.MarshalJSON()
	if err != nil {
		return reply{}, fmt.Errorf("encode result: %w", err)
	}
	return reply{Result: res, Payload: data, Err: herr}, nil
}

// lambdaAPI is the part of the Lambda API the CLI uses; *lambda.Client
// satisfies it.
type lambdaAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// newLambdaClient returns a Lambda client with the caller's AWS
// configuration. AWS_ENDPOINT_URL_LAMBDA points it elsewhere than
// AWS_ENDPOINT_URL (at the Runtime Interface Emulator, say).
//
// Only throttling is retried: the function did not run then. Any other
// failure (a 5xx answer, a connection dropped during a long --wait) may come
// after the function has acted, and running a request twice is not harmless:
// a second rollback would roll back further.
func newLambdaClient(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (lambdaAPI, error) {
	cfg, err := handler.LoadAWS(ctx, opts...)
	if err != nil {
		return nil, &setupError{err}
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Retryables = []retry.IsErrorRetryable{retry.RetryableErrorCode{Codes: retry.DefaultThrottleErrorCodes}}
		})
	}), nil
}

// invokeFunction invokes the deployed promoter synchronously with payload.
// It returns a *funcerr.Error when the function failed (its handler returned
// an error, it crashed or timed out), and an error wrapping the API's when
// the invocation itself failed.
func (c *cli) invokeFunction(ctx context.Context, function string, payload []byte) (reply, error) {
	client, err := newLambdaClient(ctx, c.aws.options()...)
	if err != nil {
		return reply{}, err
	}
	return invoke(ctx, client, function, payload)
}

// invoke is invokeFunction with a given client.
func invoke(ctx context.Context, client lambdaAPI, function string, payload []byte) (reply, error) {
	out, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(function),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		LogType:        lambdatypes.LogTypeTail,
		Payload:        payload,
	})
	if err != nil {
		return reply{}, fmt.Errorf("invoke function %s: %w", function, err)
	}
	if fe := funcerr.In(function, out); fe != nil {
		return reply{}, fe
	}
	// Not strict: a newer function may add fields this CLI does not know;
	// -o json prints them all, since it prints the payload unchanged.
	var res deploy.Result
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return reply{}, fmt.Errorf("invoke function %s: the response is not a result: %w: %.200q", function, err, out.Payload)
	}
	return reply{Result: res, Payload: out.Payload}, nil
}
