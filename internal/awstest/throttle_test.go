package awstest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
	return allowedBody(b, n, account, region, service, action, nil)
}

// allowedBody is allowed for requests with a body, for DynamoDB, whose
// requests cost what their body says.
func allowedBody(b *Buckets, n int, account, region, service, action string, body []byte) int {
	ok := 0
	for range n {
		if b.allow(account, region, service, action, body) {
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
	type req struct {
		account, region, service, action string
		body                             []byte
	}
	drain := req{"111111111111", "us-east-1", "ecs", "DescribeServices", nil}
	ddb := func(action, body string) req {
		return req{"111111111111", "us-east-1", "dynamodb", action, []byte(body)}
	}
	getItem := ddb("GetItem", `{"TableName":"state","ConsistentRead":true}`)
	tests := []struct {
		name   string
		drain  req
		other  req
		shared bool
	}{
		{"same account, region and action", drain, drain, true},
		{"another action of the category", drain, req{"111111111111", "us-east-1", "ecs", "ListServices", nil}, true},
		{"another category", drain, req{"111111111111", "us-east-1", "ecs", "UpdateService", nil}, false},
		{"another account", drain, req{"222222222222", "us-east-1", "ecs", "DescribeServices", nil}, false},
		{"another region", drain, req{"111111111111", "eu-west-1", "ecs", "DescribeServices", nil}, false},
		{"SSM reads share the throughput", req{"111111111111", "us-east-1", "ssm", "GetParameter", nil},
			req{"111111111111", "us-east-1", "ssm", "GetParametersByPath", nil}, true},
		{"task definition reads are not writes", req{"111111111111", "us-east-1", "ecs", "RegisterTaskDefinition", nil},
			req{"111111111111", "us-east-1", "ecs", "DescribeTaskDefinition", nil}, false},
		{"DynamoDB reads of a table share its read units", getItem,
			ddb("BatchGetItem", `{"RequestItems":{"state":{"Keys":[{}],"ConsistentRead":true}}}`), true},
		{"and a Query reads from them too", getItem, ddb("Query", `{"TableName":"state"}`), true},
		{"DynamoDB writes of a table share its write units", ddb("UpdateItem", `{"TableName":"state"}`),
			ddb("TransactWriteItems", `{"TransactItems":[{"Update":{"TableName":"state"}}]}`), true},
		{"DynamoDB reads are not writes", getItem, ddb("UpdateItem", `{"TableName":"state"}`), false},
		{"another table", getItem, ddb("GetItem", `{"TableName":"other"}`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuckets(1)
			b.Now = newFakeClock().Now // stopped: no refill
			d := tc.drain
			for b.allow(d.account, d.region, d.service, d.action, d.body) {
			}
			o := tc.other
			if got := b.allow(o.account, o.region, o.service, o.action, o.body); got == tc.shared {
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
		{"dynamodb", "DescribeTable"}, {"dynamodb", "CreateTable"},
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
		{1, "dynamodb", "BatchGetItem", "us-east-1", Limit{Burst: 12000, Rate: 12000}},
		{1, "dynamodb", "Query", "eu-west-1", Limit{Burst: 12000, Rate: 12000}},
		{1, "dynamodb", "TransactWriteItems", "us-east-1", Limit{Burst: 4000, Rate: 4000}},
		{1, "dynamodb", "UpdateItem", "us-east-1", Limit{Burst: 4000, Rate: 4000}},
		{0.1, "dynamodb", "GetItem", "us-east-1", Limit{Burst: 1200, Rate: 1200}},
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

func TestDynamoDBCost(t *testing.T) {
	keys := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(`{"pk":{"S":"r"}},`, n), ",") + "]" }
	tests := []struct {
		name, action, body string
		want               []charge
	}{
		{"a consistent GetItem is one read unit", "GetItem", `{"TableName":"state","ConsistentRead":true,"Key":{}}`,
			[]charge{{"state", 1}}},
		{"an eventually consistent one half", "GetItem", `{"TableName":"state","Key":{}}`, []charge{{"state", 0.5}}},
		{"a BatchGetItem of 100 keys is 100 reads", "BatchGetItem",
			`{"RequestItems":{"state":{"Keys":` + keys(100) + `,"ConsistentRead":true}}}`, []charge{{"state", 100}}},
		{"each table of a batch pays its own", "BatchGetItem",
			`{"RequestItems":{"b":{"Keys":` + keys(3) + `},"a":{"Keys":` + keys(2) + `,"ConsistentRead":true}}}`,
			[]charge{{"a", 2}, {"b", 1.5}}},
		{"a Query is one read", "Query", `{"TableName":"state","ConsistentRead":true,"KeyConditionExpression":"#pk = :pk"}`,
			[]charge{{"state", 1}}},
		{"an UpdateItem (a claim) is one write", "UpdateItem", `{"TableName":"state","Key":{},"UpdateExpression":"SET #owner = :owner"}`,
			[]charge{{"state", 1}}},
		{"a transaction of two items is four writes", "TransactWriteItems",
			`{"TransactItems":[{"Update":{"TableName":"state"}},{"Put":{"TableName":"state"}}]}`, []charge{{"state", 4}}},
		{"a transactional read is two reads", "TransactGetItems", `{"TransactItems":[{"Get":{"TableName":"state"}}]}`,
			[]charge{{"state", 2}}},
		{"a BatchWriteItem is one write an item", "BatchWriteItem",
			`{"RequestItems":{"state":[{"PutRequest":{}},{"PutRequest":{}},{"DeleteRequest":{}}]}}`, []charge{{"state", 3}}},
		{"a body without a table costs one unit", "GetItem", `not json`, []charge{{"", 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dynamoDBCost(tc.action, []byte(tc.body))
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(charge{})); diff != "" {
				t.Errorf("dynamoDBCost(%s) (-want +got):\n%s", tc.action, diff)
			}
		})
	}
}

// A DynamoDB request goes through while its table's bucket holds a unit
// and takes every unit it consumes, so a BatchGetItem of 100 keys empties
// a bucket of 150 in two calls, which then serve nothing until the refill
// has paid the debt.
func TestDynamoDBUnitsDrainTheTableBucket(t *testing.T) {
	clock := newFakeClock()
	b := NewBuckets(1)
	b.Now = clock.Now
	b.SetLimit("dynamodb", "Table reads", Limit{Burst: 150, Rate: 10})
	batch := []byte(`{"RequestItems":{"state":{"Keys":[` + strings.TrimSuffix(strings.Repeat(`{},`, 100), ",") + `],"ConsistentRead":true}}}`)
	get := []byte(`{"TableName":"state","ConsistentRead":true}`)
	steps := []struct {
		name    string
		advance time.Duration
		action  string
		body    []byte
		n, want int
	}{
		{"150 units: a batch of 100 and one more, into debt", 0, "BatchGetItem", batch, 3, 2},
		{"50 units short: not even one item", 0, "GetItem", get, 1, 0},
		{"5 s at 10 a second pay the debt back, to 0", 5 * time.Second, "GetItem", get, 1, 0},
		{"a tenth of a second more is one unit", 100 * time.Millisecond, "GetItem", get, 2, 1},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if got := allowedBody(b, s.n, localaws.AccountID, "us-east-1", "dynamodb", s.action, s.body); got != s.want {
			t.Errorf("%s: %d of %d let through, want %d", s.name, got, s.n, s.want)
		}
	}
	// The table's writes have a bucket of their own.
	write := []byte(`{"TransactItems":[{"Update":{"TableName":"state"}},{"Put":{"TableName":"state"}}]}`)
	if got := allowedBody(b, 1, localaws.AccountID, "us-east-1", "dynamodb", "TransactWriteItems", write); got != 1 {
		t.Errorf("a record's write, reads drained: %d of 1 through", got)
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
	b.SetLimit("dynamodb", "Table reads", Limit{Burst: 1})
	p, cfg := throttlingProxy(t, b)
	ctx := t.Context()
	ecsClient, ssmClient, stsClient := ecs.NewFromConfig(cfg), ssm.NewFromConfig(cfg), sts.NewFromConfig(cfg)
	ddbClient := dynamodb.NewFromConfig(cfg)
	getItem := func() error {
		_, err := ddbClient.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("state"), ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "web"}}})
		return err
	}

	if _, err := ecsClient.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("first ListClusters, within the burst: %v", err)
	}
	if _, err := ssmClient.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")}); err != nil {
		t.Fatalf("first GetParameter, within the burst: %v", err)
	}
	if err := getItem(); err != nil {
		t.Fatalf("first GetItem, within the burst: %v", err)
	}
	tests := []struct {
		name          string
		call          func() error
		code, message string
	}{
		{"ECS (awsJson1_1)", func() error { _, err := ecsClient.ListClusters(ctx, &ecs.ListClustersInput{}); return err },
			"ThrottlingException", "Rate exceeded"},
		{"SSM (awsJson1_1)", func() error {
			_, err := ssmClient.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")})
			return err
		}, "ThrottlingException", "Rate exceeded"},
		{"STS (awsQuery)", func() error { _, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err },
			"Throttling", "Rate exceeded"},
		{"DynamoDB (awsJson1_0), an on-demand table", getItem, "ThrottlingException", dynamoDBThrottled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err); got != aws.TrueTernary {
				t.Errorf("IsErrorThrottle(%v) = %v, want true", err, got)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code || apiErr.ErrorMessage() != tc.message {
				t.Errorf("error = %v, want %s: %s", err, tc.code, tc.message)
			}
		})
	}

	want := map[string]int{"ListClusters": 1, "GetParameter": 1, "GetCallerIdentity": 1, "GetItem": 1}
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
		{Operation: "GetItem", Status: 200, Forwarded: true},
		{Operation: "ListClusters", Status: 400, Throttled: true},
		{Operation: "GetParameter", Status: 400, Throttled: true},
		{Operation: "GetCallerIdentity", Status: 400, Throttled: true},
		{Operation: "GetItem", Status: 400, Throttled: true},
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
