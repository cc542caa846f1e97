package awstest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// allowed returns how many of n requests the buckets let through now.
func allowed(b *Buckets, n int, account, region, service, action string) int {
	ok := 0
	for range n {
		if b.allow(account, region, service, action) {
			ok++
		}
	}
	return ok
}

func TestBucketBurstThenRefill(t *testing.T) {
	clock := newFakeClock()
	b := NewBuckets(1)
	b.Now = clock.Now
	b.SetLimit("ecs", "test", Limit{Burst: 5, Rate: 2}, "UpdateService")
	steps := []struct {
		name    string
		advance time.Duration
		n, want int
	}{
		{"a full bucket lets the burst through", 0, 8, 5},
		{"an empty one nothing", 0, 3, 0},
		{"half a second refills one token", 500 * time.Millisecond, 3, 1},
		// Had the refused requests taken tokens, the bucket would be in
		// debt and let nothing through here.
		{"refused requests took no token", time.Second, 3, 2},
		{"refill stops at the burst", time.Hour, 10, 5},
		{"a quarter second is half a token", 250 * time.Millisecond, 1, 0},
		{"the halves add up", 250 * time.Millisecond, 1, 1},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if got := allowed(b, s.n, localaws.AccountID, "us-east-1", "ecs", "UpdateService"); got != s.want {
			t.Errorf("%s: %d of %d let through, want %d", s.name, got, s.n, s.want)
		}
	}
}

// ECS's example: a Cluster read actions bucket drained by 50 requests
// serves 20 a second to a client that keeps asking for more.
func TestBucketDocumentedExample(t *testing.T) {
	clock := newFakeClock()
	b := NewBuckets(1)
	b.Now = clock.Now
	if got := allowed(b, 80, "111111111111", "us-east-1", "ecs", "DescribeClusters"); got != 50 {
		t.Fatalf("first second: %d requests through, want 50", got)
	}
	for i := range 3 {
		clock.Advance(time.Second)
		if got := allowed(b, 80, "111111111111", "us-east-1", "ecs", "ListClusters"); got != 20 {
			t.Errorf("second %d: %d requests through, want the refill rate, 20", i+2, got)
		}
	}
}

func TestBucketKeys(t *testing.T) {
	type req struct{ account, region, service, action string }
	drain := req{"111111111111", "us-east-1", "ecs", "DescribeServices"}
	tests := []struct {
		name   string
		drain  req
		other  req
		shared bool
	}{
		{"same account, region and action", drain, drain, true},
		{"another action of the category", drain, req{"111111111111", "us-east-1", "ecs", "ListServices"}, true},
		{"another category", drain, req{"111111111111", "us-east-1", "ecs", "UpdateService"}, false},
		{"another account", drain, req{"222222222222", "us-east-1", "ecs", "DescribeServices"}, false},
		{"another region", drain, req{"111111111111", "eu-west-1", "ecs", "DescribeServices"}, false},
		{"SSM reads share the throughput", req{"111111111111", "us-east-1", "ssm", "GetParameter"},
			req{"111111111111", "us-east-1", "ssm", "GetParametersByPath"}, true},
		{"task definition reads are not writes", req{"111111111111", "us-east-1", "ecs", "RegisterTaskDefinition"},
			req{"111111111111", "us-east-1", "ecs", "DescribeTaskDefinition"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuckets(1)
			b.Now = newFakeClock().Now // stopped: no refill
			d := tc.drain
			for b.allow(d.account, d.region, d.service, d.action) {
			}
			o := tc.other
			if got := b.allow(o.account, o.region, o.service, o.action); got == tc.shared {
				t.Errorf("after draining %v, %v allowed = %v, want %v", d, o, got, !tc.shared)
			}
		})
	}
}

func TestBucketsUndocumentedActionsAreUnlimited(t *testing.T) {
	b := NewBuckets(1)
	b.Now = newFakeClock().Now
	for _, r := range []struct{ service, action string }{
		{"ecr", "DescribeImages"}, {"ssm", "PutParameter"}, {"ssm", "GetParameterHistory"}, {"sts", "AssumeRole"},
	} {
		if got := allowed(b, 5000, localaws.AccountID, "us-east-1", r.service, r.action); got != 5000 {
			t.Errorf("%s:%s: %d of 5000 through, want all", r.service, r.action, got)
		}
		if _, ok := b.Limit(r.service, r.action, "us-east-1"); ok {
			t.Errorf("%s:%s has a limit", r.service, r.action)
		}
	}
}

func TestNewBucketsScale(t *testing.T) {
	tests := []struct {
		scale                   float64
		service, action, region string
		want                    Limit
	}{
		{1, "ecs", "RegisterTaskDefinition", "us-east-1", Limit{Burst: 20, Rate: 1}},
		{1, "ecs", "DescribeServices", "us-east-1", Limit{Burst: 100, Rate: 20}},
		{1, "ecs", "UpdateService", "us-east-1", Limit{Burst: 50, Rate: 5}},
		{1, "ssm", "GetParameters", "us-east-1", Limit{Burst: 40, Rate: 40}},
		{1, "ecr", "BatchGetImage", "us-east-1", Limit{Burst: 2000, Rate: 2000}},
		{1, "events", "PutEvents", "us-east-1", Limit{Burst: 10000, Rate: 10000}},
		{1, "events", "PutEvents", "eu-west-3", Limit{Burst: 600, Rate: 600}},
		{1, "events", "PutEvents", "me-south-1", Limit{Burst: 400, Rate: 400}},
		{0.1, "ecs", "DescribeServices", "us-east-1", Limit{Burst: 10, Rate: 2}},
		{0.1, "events", "PutEvents", "us-east-2", Limit{Burst: 240, Rate: 240}},
		{0.01, "ecs", "RegisterTaskDefinition", "us-east-1", Limit{Burst: 1, Rate: 0.01}}, // at least one request
	}
	for _, tc := range tests {
		got, ok := NewBuckets(tc.scale).Limit(tc.service, tc.action, tc.region)
		if !ok || cmp.Diff(tc.want, got, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })) != "" {
			t.Errorf("NewBuckets(%v).Limit(%s, %s, %s) = %+v, %v; want %+v", tc.scale, tc.service, tc.action, tc.region, got, ok, tc.want)
		}
	}

	// A scaled bucket lets the scaled burst through and refills at the
	// scaled rate.
	clock := newFakeClock()
	b := NewBuckets(0.1)
	b.Now = clock.Now
	if got := allowed(b, 30, localaws.AccountID, "us-east-1", "ecs", "DescribeServices"); got != 10 {
		t.Errorf("scale 0.1: burst of %d, want 10", got)
	}
	clock.Advance(time.Second)
	if got := allowed(b, 30, localaws.AccountID, "us-east-1", "ecs", "DescribeServices"); got != 2 {
		t.Errorf("scale 0.1: %d in the next second, want 2", got)
	}
}

func TestSetLimitOfCategory(t *testing.T) {
	b := NewBuckets(1)
	b.SetLimit("ecs", "Service read actions", Limit{Burst: 3, Rate: 1})
	for _, action := range []string{"DescribeServices", "ListServices"} {
		if got, _ := b.Limit("ecs", action, "us-east-1"); got != (Limit{Burst: 3, Rate: 1}) {
			t.Errorf("%s: limit %+v, want {3 1}", action, got)
		}
	}
}

// stubAWS answers every request 200 with an empty JSON object, in place of
// moto, for calls whose answer does not matter.
func stubAWS(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// throttlingProxy returns a proxy in front of a stub in throttling mode
// with b, and a configuration for it without retries.
func throttlingProxy(t *testing.T, b *Buckets) (*Proxy, aws.Config) {
	t.Helper()
	p := NewProxy(stubAWS(t))
	p.Throttle(b)
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		p.Close()
		srv.Close()
	})
	cfg := localaws.Config(srv.URL)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return p, cfg
}

// The SDK takes the throttled answer, in every protocol, for throttling:
// its retryers back off and pace on it.
func TestThrottledAnswerIsThrottlingToTheSDK(t *testing.T) {
	b := NewBuckets(1)
	b.Account = func(string) string { return localaws.AccountID }
	b.SetLimit("ecs", "test", Limit{Burst: 1}, "ListClusters")
	b.SetLimit("ssm", "test", Limit{Burst: 1}, "GetParameter")
	b.SetLimit("sts", "test", Limit{}, "GetCallerIdentity")
	p, cfg := throttlingProxy(t, b)
	ctx := t.Context()
	ecsClient, ssmClient, stsClient := ecs.NewFromConfig(cfg), ssm.NewFromConfig(cfg), sts.NewFromConfig(cfg)

	if _, err := ecsClient.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("first ListClusters, within the burst: %v", err)
	}
	if _, err := ssmClient.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")}); err != nil {
		t.Fatalf("first GetParameter, within the burst: %v", err)
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"ECS (awsJson1_1)", func() error { _, err := ecsClient.ListClusters(ctx, &ecs.ListClustersInput{}); return err }, "ThrottlingException"},
		{"SSM (awsJson1_1)", func() error {
			_, err := ssmClient.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")})
			return err
		}, "ThrottlingException"},
		{"STS (awsQuery)", func() error { _, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }, "Throttling"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err); got != aws.TrueTernary {
				t.Errorf("IsErrorThrottle(%v) = %v, want true", err, got)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code || apiErr.ErrorMessage() != "Rate exceeded" {
				t.Errorf("error = %v, want %s: Rate exceeded", err, tc.code)
			}
		})
	}

	want := map[string]int{"ListClusters": 1, "GetParameter": 1, "GetCallerIdentity": 1}
	if diff := cmp.Diff(want, p.Throttled()); diff != "" {
		t.Errorf("Throttled() (-want +got):\n%s", diff)
	}
	var got []Call
	for _, c := range p.Log() {
		got = append(got, Call{Operation: c.Operation, Status: c.Status, Forwarded: c.Forwarded, Throttled: c.Throttled})
	}
	wantLog := []Call{
		{Operation: "ListClusters", Status: 200, Forwarded: true},
		{Operation: "GetParameter", Status: 200, Forwarded: true},
		{Operation: "ListClusters", Status: 400, Throttled: true},
		{Operation: "GetParameter", Status: 400, Throttled: true},
		{Operation: "GetCallerIdentity", Status: 400, Throttled: true},
	}
	if diff := cmp.Diff(wantLog, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}

	p.Throttle(nil)
	if _, err := ecsClient.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Errorf("ListClusters with throttling off: %v", err)
	}
}

// A throttled call takes no injected fault: the fault waits for the next
// call that gets through.
func TestThrottledCallKeepsFaults(t *testing.T) {
	b := NewBuckets(1)
	b.Account = func(string) string { return localaws.AccountID }
	b.Now = newFakeClock().Now
	b.SetLimit("ecs", "test", Limit{Burst: 1, Rate: 0}, "UpdateService")
	p := NewProxy("http://127.0.0.1:1")
	p.Throttle(b)
	p.Fail("UpdateService", 1, ServerError(http.StatusServiceUnavailable))
	call := Call{Service: "ecs", Operation: "UpdateService"}
	auth := "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=x"
	if p.throttle(t.Context(), call, auth) {
		t.Fatal("first call throttled")
	}
	if !p.throttle(t.Context(), call, auth) {
		t.Fatal("second call not throttled")
	}
	if _, ok := p.takeFault(call); !ok {
		t.Error("the fault was used up by throttling")
	}
}

func TestCredentialScope(t *testing.T) {
	key, region, service := credentialScope("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261127/eu-west-1/ssm/aws4_request, SignedHeaders=host, Signature=abc")
	if key != "ASIAEXAMPLE" || region != "eu-west-1" || service != "ssm" {
		t.Errorf("credentialScope = %q %q %q", key, region, service)
	}
	if key, region, service := credentialScope(""); key+region+service != "" {
		t.Errorf("unsigned request: %q %q %q", key, region, service)
	}
}

// The account of a call is moto's: the default account for the static test
// credentials, the role's account for credentials from AssumeRole, whether
// the role was assumed through the proxy or not.
func TestThrottleAccountIsMotos(t *testing.T) {
	env := New(t)
	b := NewBuckets(1)
	b.Now = newFakeClock().Now
	b.SetLimit("ecs", "test", Limit{Burst: 1}, "ListClusters")
	env.Proxy.Throttle(b)
	ctx := t.Context()

	assumed := func(stsConfig aws.Config, role string) *ecs.Client {
		cfg := env.Config.Copy()
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(stsConfig), role))
		return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	}
	clients := []struct {
		name   string
		client *ecs.Client
	}{
		{"static credentials", ecs.NewFromConfig(env.Config, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })},
		{"role assumed through the proxy", assumed(env.Config, "arn:aws:iam::222222222222:role/deploy")},
		{"role assumed at moto", assumed(env.Local.Config, "arn:aws:iam::333333333333:role/seed")},
		{"another role of an account seen", assumed(env.Local.Config, "arn:aws:iam::222222222222:role/other")},
	}
	var got []string
	for _, c := range clients {
		_, err := c.client.ListClusters(ctx, &ecs.ListClustersInput{})
		got = append(got, c.name+": "+outcome(err))
	}
	want := []string{
		"static credentials: ok",
		"role assumed through the proxy: ok",
		"role assumed at moto: ok",
		"another role of an account seen: throttled",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("one ListClusters each, one bucket per account (-want +got):\n%s", diff)
	}
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary:
		return "throttled"
	}
	return err.Error()
}
