package deploy

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Errors a deployment reports for a service.
var (
	// ErrServiceNotFound is a configured service that does not exist (or is
	// INACTIVE) in its cluster.
	ErrServiceNotFound = errors.New("service not found")
	// ErrClusterNotFound is a configured cluster that does not exist.
	ErrClusterNotFound = errors.New("cluster not found")
	// ErrUnknownEnvironment is a request for an environment the repository's
	// configuration does not have.
	ErrUnknownEnvironment = errors.New("environment not configured")
)

// Retryable reports whether a retry of the whole invocation could succeed
// after err: throttling, 5xx answers, timeouts and dropped connections, once
// the SDK's own retryer has given up. Bad input and client errors are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrReplicaMissing) {
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
