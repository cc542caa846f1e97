package target

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Retryable reports whether a retry of the whole invocation could succeed
// after err: throttling, 5xx answers, timeouts and dropped connections, once
// the SDK's own retryer has given up, and a CodeDeploy deployment group busy
// with another deployment, which ends. Bad input and client errors are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrDeploymentInProgress) {
		return true
	}
	// Another delivery acts on the environment, or wrote its record first:
	// delivered again, this one decides afresh.
	var claimed *state.Claimed
	if errors.Is(err, state.ErrConflict) || errors.Is(err, state.ErrThrottled) || errors.As(err, &claimed) {
		return true
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &maxAttempts) {
		return true
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return true
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
