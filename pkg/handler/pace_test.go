package handler

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
)

// A burst of concurrent calls of one action, from one client as LoadAWS
// builds it, against a bucket a quarter its size: every call gets through,
// none for want of retry quota or attempts, and AWS sees hardly more than
// the burst's own throttling (the 150 calls beyond the bucket's 50).
//
// Measured here (two cores, with and without -race), with pacing: no
// failure, 141 to 148 throttled answers (once 71), the burst taking 6 to 8
// seconds, most of it the adaptive limiter's slow start after the burst's
// throttling. Without it, the standard retryer LoadAWS had: 38 to 50 calls
// failed with "retry quota exceeded" (500 tokens, 5 a throttled retry),
// with 143 to 157 throttled answers. With throttled retries free but no
// pacing: no failure, but 181 to 211 throttled answers.
func TestClientsPaceThemselvesUnderThrottling(t *testing.T) {
	env := awstest.New(t)
	env.SetEnv(t)
	t.Setenv("AWS_MAX_ATTEMPTS", "") // the functions' own attempts, not the tests' 3
	awstest.Must(env.Local.CreateCluster(t.Context(), "apps"))(t)
	b := awstest.NewBuckets(1)
	b.SetLimit("ecs", "Service read actions", awstest.Limit{Burst: 50, Rate: 100})
	env.Proxy.Throttle(b)
	cfg, err := LoadAWS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := ecs.NewFromConfig(cfg)

	const calls = 200 // four times the bucket
	errs := make([]error, calls)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			<-start
			_, errs[i] = client.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("apps"), Services: []string{"web"}})
		})
	}
	close(start)
	wg.Wait()

	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	throttled := env.Proxy.Throttled()["DescribeServices"]
	t.Logf("%d calls: %d failed, %d throttled answers, %d attempts", calls, len(failed), throttled, env.Proxy.Count("DescribeServices"))
	if len(failed) != 0 {
		var quota ratelimit.QuotaExceededError
		var attempts *retry.MaxAttemptsError
		t.Errorf("%d of %d calls failed (retry quota exceeded: %v, max attempts: %v), want none; first: %v",
			len(failed), calls, errors.As(failed[0], &quota), errors.As(failed[0], &attempts), failed[0])
	}
	if limit := calls - 50 + 20; throttled > limit {
		t.Errorf("%d throttled answers, want at most %d: the calls beyond the bucket, and few after", throttled, limit)
	}
}

// throttlingError is an attempt's error as the SDK sees a throttled answer.
func throttlingError() error {
	return &smithy.OperationError{ServiceID: "ECS", OperationName: "DescribeServices", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}},
			Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}},
	}}
}

// Throttling of one operation holds back that operation's attempts, not
// another's: AWS's buckets are per action.
func TestPacerPacesEachOperation(t *testing.T) {
	p := newPacer()
	ctx := func(op string) context.Context { return awsmiddleware.SetOperationName(t.Context(), op) }
	// Ten attempts in flight at once, all throttled.
	var releases []func(error) error
	for range 10 {
		release, err := p.GetAttemptToken(ctx("RegisterTaskDefinition"))
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	for _, release := range releases {
		_ = release(throttlingError())
	}

	// The throttled operation waits for its limiter (far longer than
	// this deadline); the other goes at once.
	short, cancel := context.WithTimeout(ctx("RegisterTaskDefinition"), 100*time.Millisecond)
	defer cancel()
	if _, err := p.GetAttemptToken(short); err == nil {
		t.Error("RegisterTaskDefinition, throttled ten times, got an attempt at once; want a wait")
	}
	other, cancel := context.WithTimeout(ctx("DescribeServices"), 100*time.Millisecond)
	defer cancel()
	if _, err := p.GetAttemptToken(other); err != nil {
		t.Errorf("DescribeServices waited for RegisterTaskDefinition's throttling: %v", err)
	}
}

// A retry of a throttled attempt costs no retry quota, so a burst of
// throttling cannot drain it; other retries still do, so an outage does not
// meet a retry storm.
func TestPacerRetryQuota(t *testing.T) {
	p := newPacer()
	ctx := awsmiddleware.SetOperationName(t.Context(), "DescribeServices")
	for i := range 1000 {
		if _, err := p.GetRetryToken(ctx, throttlingError()); err != nil {
			t.Fatalf("throttled retry %d: %v", i+1, err)
		}
	}
	serverError := &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}
	var quota ratelimit.QuotaExceededError
	for i := range 1000 {
		if _, err := p.GetRetryToken(ctx, serverError); err != nil {
			if !errors.As(err, &quota) || i < 30 {
				t.Errorf("5xx retry %d: %v, want the quota to run out after about 35 (500 tokens, 14 a retry)", i+1, err)
			}
			return
		}
	}
	t.Error("1000 retries of 5xx answers, want the retry quota to run out")
}

// The attempts the functions make: five for a call that fails, more for
// one that AWS keeps throttling (each of those waits for its limiter).
func TestPacerMaxAttempts(t *testing.T) {
	p := newPacer()
	if got := p.MaxAttempts(); got != throttledAttempts {
		t.Errorf("MaxAttempts() = %d, want %d", got, throttledAttempts)
	}
	serverError := &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}
	for attempt := 1; attempt < throttledAttempts; attempt++ {
		_, err := p.RetryDelay(attempt, serverError)
		var max *retry.MaxAttemptsError
		if stop := errors.As(err, &max); stop != (attempt >= maxAttempts) {
			t.Errorf("5xx, attempt %d: retry delay error %v, want one from attempt %d on", attempt, err, maxAttempts)
		}
		if _, err := p.RetryDelay(attempt, throttlingError()); err != nil {
			t.Errorf("throttled, attempt %d: %v, want another attempt", attempt, err)
		}
	}
}
