package handler

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// maxAttempts is how many attempts a call makes before it fails: enough to
// ride out a short outage, few enough that a failing call returns well
// within a Lambda invocation.
const maxAttempts = 5

// pacer is the retryer of every client LoadAWS makes: the SDK's adaptive
// retry mode, which spaces the attempts out once it is throttled rather
// than retrying them at once, with one rate limiter per operation. AWS
// throttles each action (or category of actions) of an account and region
// with its own bucket, and a client is of one service, account and region,
// so one limiter per operation follows AWS's buckets: throttling of
// RegisterTaskDefinition, whose bucket refills at one request a second, does
// not slow DescribeServices, which refills at twenty. The SDK makes one
// retryer per client from LoadAWS's function, so each client has its own
// pacer; the SDK's adaptive mode alone would be one limiter per client.
//
// Adaptive mode starts unlimited, so a burst meets AWS's throttling once;
// from the first throttled answer on it holds the operation's attempts back
// (they wait, spending no attempt) at a rate it cuts on each throttled
// answer and raises, cubically, while answers succeed. After a burst that
// rate starts low (half an attempt a second) and takes a few seconds to
// climb back.
//
// The operations share one retry quota, as the SDK's retryer of a client
// does, but a retry of a throttled attempt costs nothing from it: the
// adaptive limiter already holds attempts back while AWS throttles, and a
// burst of throttled calls would otherwise drain the quota in one go and
// fail every call after it with "retry quota exceeded". Retries of other
// errors (5xx answers, timeouts) cost what they always do, so that an
// outage is not met with a retry storm.
type pacer struct {
	base    *retry.AdaptiveMode // for what does not depend on the operation
	newMode func() *retry.AdaptiveMode

	mu  sync.Mutex
	ops map[string]*retry.AdaptiveMode
}

var _ aws.RetryerV2 = (*pacer)(nil)

func newPacer() *pacer {
	quota := ratelimit.NewTokenRateLimit(retry.DefaultRetryRateTokens)
	newMode := func() *retry.AdaptiveMode {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				so.RateLimiter = quota
				so.ThrottlingRetryCost = 0
			})
		})
	}
	return &pacer{base: newMode(), newMode: newMode, ops: map[string]*retry.AdaptiveMode{}}
}

// mode returns the adaptive mode of the operation of ctx.
func (p *pacer) mode(ctx context.Context) *retry.AdaptiveMode {
	op := awsmiddleware.GetOperationName(ctx)
	if op == "" {
		return p.base
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.ops[op]
	if !ok {
		m = p.newMode()
		p.ops[op] = m
	}
	return m
}

func (p *pacer) IsErrorRetryable(err error) bool { return p.base.IsErrorRetryable(err) }

// throttledAttempts bounds the attempts of a call that AWS keeps
// throttling. Each retry of a throttled attempt first waits for its
// operation's limiter, so more of them spend the invocation's time, not
// AWS's capacity: a reconcile catching up a fleet waits on
// RegisterTaskDefinition's one a second, and at five attempts a
// registration queued behind a hundred others failed. Other errors still
// fail after maxAttempts (RetryDelay).
const throttledAttempts = 25

// MaxAttempts is the bound of a call that is throttled every time.
func (p *pacer) MaxAttempts() int { return throttledAttempts }

// RetryDelay is the SDK's backoff, but for an attempt that failed for
// another reason than throttling once maxAttempts have been made: that
// call fails.
func (p *pacer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if attempt >= maxAttempts && !isThrottle(err) {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	return p.base.RetryDelay(attempt, err)
}

// isThrottle reports whether err is AWS throttling a call, as the SDK
// tells it.
func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
}

func (p *pacer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	return p.mode(ctx).GetRetryToken(ctx, opErr)
}

// GetInitialToken is only for retryers of the SDK's first interface;
// GetAttemptToken is what the SDK calls.
func (p *pacer) GetInitialToken() func(error) error { return p.base.GetInitialToken() }

// GetAttemptToken waits, if the operation is being throttled, until its
// limiter lets another attempt go.
func (p *pacer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	return p.mode(ctx).GetAttemptToken(ctx)
}

// Paced returns cfg with the retryer LoadAWS gives the functions' clients:
// for a configuration made another way (a test's, pointed at moto), so
// that its clients pace themselves as the functions' do.
func Paced(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.Retryer = func() aws.Retryer { return newPacer() }
	cfg.RetryMaxAttempts, cfg.RetryMode = 0, ""
	return cfg
}
