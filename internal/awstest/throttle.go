package awstest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// Limit is one of AWS's request token buckets: it holds at most Burst
// tokens and gains Rate tokens a second; each request that is let through
// takes one.
type Limit struct {
	Burst float64
	Rate  float64
}

// category is a set of actions of one service that share a bucket, as AWS
// groups them.
type category struct {
	name     string
	limit    Limit
	regional map[string]Limit // the limit in these regions, where it differs
}

func (c *category) limitIn(region string) Limit {
	if l, ok := c.regional[region]; ok {
		return l
	}
	return c.limit
}

// Buckets are a model of AWS's request token buckets, for [Proxy.Throttle]:
// one bucket per account, region and action category, of the sizes and
// refill rates AWS documents (see [NewBuckets]). A request that finds its bucket
// empty is throttled and takes no token: ECS's documentation has a bucket
// drained by a burst keep serving its refill rate to a client that goes on
// sending, which is only so if the refused requests cost nothing. An action
// with no documented limit is never throttled.
//
// Set Account and Now before passing the buckets to [Proxy.Throttle]; they
// are safe for concurrent use after that.
type Buckets struct {
	// Account returns the account of an access key id. nil means: ask
	// moto, behind the proxy, whose account the key is (see
	// [Proxy.Throttle]).
	Account func(accessKeyID string) string
	// Now is the buckets' clock; nil means time.Now. A fake clock makes
	// the arithmetic deterministic.
	Now func() time.Time

	mu      sync.Mutex
	actions map[string]map[string]*category // service, action
	buckets map[bucketKey]*bucket
}

type bucketKey struct {
	account, region, service, category string
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take refills b for the time since it was last used and takes a token if
// there is one. A new bucket is full.
func (b *bucket) take(l Limit, now time.Time) bool {
	switch {
	case b.last.IsZero():
		b.tokens, b.last = l.Burst, now
	case now.After(b.last):
		b.tokens = min(l.Burst, b.tokens+now.Sub(b.last).Seconds()*l.Rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// NewBuckets returns AWS's documented request buckets with every size
// and refill rate multiplied by scale, so that a fleet scaled down by scale
// meets the same pressure; a scaled bucket still holds at least one
// request, or nothing would ever pass. Scale 1 is AWS's defaults.
//
// The figures, by service:
//
//   - ECS: every category of the table "Request Token Bucket Sizes and
//     Refill Rates" in "Request throttling for the Amazon ECS API",
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/request-throttling.html
//     (bucket maximum capacity as Burst, refill rate as Rate; "all API
//     actions in a category share the same token bucket").
//   - SSM: "Max throughput (transactions per second)" of Parameter Store in
//     "AWS Systems Manager endpoints and quotas",
//     https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm:
//     "Default throughput: 40 (Shared by the following API actions:
//     GetParameter, GetParameters, GetParametersByPath)". The page gives no
//     figure for PutParameter, GetParameterHistory or DescribeParameters, so
//     they are not limited here.
//   - ECR: the "Rate of … requests" quotas in "Amazon ECR service quotas",
//     https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html,
//     which cover the image push and pull actions only; DescribeImages,
//     ListImages and DescribeRepositories have no documented rate and are
//     not limited here.
//   - EventBridge: "PutEvents throttle limit in transactions per second" in
//     "Amazon EventBridge quotas",
//     https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html,
//     which differs by region.
//   - STS: "IAM and AWS STS quotas",
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html,
//     documents no request rates, so STS is not limited here.
//
// Where a page gives only a rate ("N per second"), the bucket holds one
// second of it (Burst = Rate): N requests a second sustained, and a clump
// of up to N from rest. AWS documents no burst for these quotas; a smaller
// one would throttle a client that keeps to N a second but sends in clumps.
//
// Buckets refill continuously, at Rate a second, where ECS's page speaks of
// tokens "added back every second": the same tokens a second, without a
// step at each second's turn.
func NewBuckets(scale float64) *Buckets {
	t := &Buckets{actions: map[string]map[string]*category{}, buckets: map[bucketKey]*bucket{}}
	for _, c := range awsCategories() {
		c.limit = scaled(c.limit, scale)
		for r, l := range c.regional {
			c.regional[r] = scaled(l, scale)
		}
		t.add(c.service, &c.category, c.actions)
	}
	return t
}

func scaled(l Limit, f float64) Limit {
	return Limit{Burst: max(1, l.Burst*f), Rate: l.Rate * f}
}

// SetLimit makes the actions of service (its SigV4 signing name, "ecs")
// share one bucket named name, with limit l, replacing what they had
// (actions given the same name share a bucket). With no actions it changes
// the limit of an existing category (such as "Service read actions"). Call
// it before passing t to [Proxy.Throttle].
func (t *Buckets) SetLimit(service, name string, l Limit, actions ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(actions) == 0 {
		for _, c := range t.actions[service] {
			if c.name == name {
				c.limit, c.regional = l, nil
			}
		}
		return
	}
	t.add(service, &category{name: name, limit: l}, actions)
}

func (t *Buckets) add(service string, c *category, actions []string) {
	if t.actions[service] == nil {
		t.actions[service] = map[string]*category{}
	}
	for _, a := range actions {
		t.actions[service][a] = c
	}
}

// Limit returns the bucket that the action of service uses in region, and
// whether it has one.
func (t *Buckets) Limit(service, action, region string) (Limit, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.actions[service][action]
	if !ok {
		return Limit{}, false
	}
	return c.limitIn(region), true
}

// allow takes a token for one request of action by account in region, and
// reports whether the request may go through.
func (t *Buckets) allow(account, region, service, action string) bool {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.actions[service][action]
	if !ok {
		return true
	}
	k := bucketKey{account: account, region: region, service: service, category: c.name}
	b := t.buckets[k]
	if b == nil {
		b = &bucket{}
		t.buckets[k] = b
	}
	return b.take(c.limitIn(region), now())
}

// Throttle puts the proxy in throttling mode with the buckets m (nil turns
// it off): a call whose bucket is empty is answered 400
// ThrottlingException "Rate exceeded" in its protocol's error shape, is
// logged with Throttled set and counted by [Proxy.Throttled], and is not
// forwarded. The account of a call is that of the access key in its
// signature: m.Account's, or else moto's own answer (GetCallerIdentity with
// that key, asked once per key), which is the account of the role the key
// was issued for by AssumeRole and 123456789012 for any other key.
// Throttling is decided after Before hooks and latency, and before faults.
func (p *Proxy) Throttle(m *Buckets) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buckets = m
}

// Throttled returns the number of throttled calls so far by bare operation
// name.
func (p *Proxy) Throttled() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	counts := make(map[string]int)
	for _, c := range p.log {
		if c.Throttled {
			counts[c.Operation]++
		}
	}
	return counts
}

// throttle reports whether the proxy's throttling mode refuses call, whose
// Authorization header is auth.
func (p *Proxy) throttle(ctx context.Context, call Call, auth string) bool {
	p.mu.Lock()
	m := p.buckets
	p.mu.Unlock()
	if m == nil {
		return false
	}
	if _, ok := m.Limit(call.Service, call.Operation, ""); !ok {
		return false // no bucket: no need to know the account
	}
	key, region, _ := credentialScope(auth)
	account := localaws.AccountID
	if m.Account != nil {
		account = m.Account(key)
	} else if key != "" {
		account = p.accounts.of(ctx, p.target, key)
	}
	return !m.allow(account, region, call.Service, call.Operation)
}

// accountCache remembers moto's account of each access key.
type accountCache struct {
	mu   sync.Mutex
	keys map[string]*accountEntry
}

type accountEntry struct {
	once    sync.Once
	account string
}

// of returns the account that the moto server at url answers for key,
// asking it once; localaws.AccountID if it cannot tell. moto does not check
// signatures, so asking needs only the key id.
func (c *accountCache) of(ctx context.Context, url, key string) string {
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[string]*accountEntry{}
	}
	e := c.keys[key]
	if e == nil {
		e = &accountEntry{}
		c.keys[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.account = localaws.AccountID
		cfg := localaws.Config(url)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(key, "awstest", "")
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.WithoutCancel(ctx), &sts.GetCallerIdentityInput{})
		if err == nil && aws.ToString(out.Account) != "" {
			e.account = aws.ToString(out.Account)
		}
	})
	return e.account
}

// credentialScope returns the access key id, region and service of a SigV4
// Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecs/aws4_request, ...".
func credentialScope(auth string) (key, region, service string) {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", "", ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return "", "", ""
	}
	n := len(parts)
	return strings.Join(parts[:n-4], "/"), parts[n-3], parts[n-2]
}

type awsCategory struct {
	service string
	category
	actions []string
}

// awsCategories are AWS's documented buckets at scale 1; the sources are
// in [NewBuckets]'s documentation.
func awsCategories() []awsCategory {
	ecs := func(name string, burst, rate float64, actions ...string) awsCategory {
		return awsCategory{service: "ecs", category: category{name: name, limit: Limit{Burst: burst, Rate: rate}}, actions: actions}
	}
	// ECR and EventBridge quotas are rates only: the bucket holds one
	// second of the rate.
	perSecond := func(service, action string, rate float64) awsCategory {
		return awsCategory{service: service, category: category{name: action, limit: Limit{Burst: rate, Rate: rate}}, actions: []string{action}}
	}
	putEvents := perSecond("events", "PutEvents", 400) // "Each of the other supported Regions: 400 per second"
	putEvents.regional = map[string]Limit{}
	for region, rate := range map[string]float64{
		"us-east-1": 10000, "us-east-2": 2400, "us-west-1": 1200, "us-west-2": 10000,
		"ap-east-1": 600, "ap-northeast-1": 1200, "ap-northeast-2": 600, "ap-south-1": 600,
		"ap-southeast-1": 1200, "ap-southeast-2": 1200, "ca-central-1": 600, "eu-central-1": 2400,
		"eu-north-1": 600, "eu-south-2": 2400, "eu-west-1": 10000, "eu-west-2": 1200,
		"eu-west-3": 600, "sa-east-1": 600,
	} {
		putEvents.regional[region] = Limit{Burst: rate, Rate: rate}
	}
	return []awsCategory{
		// ECS, "Request Token Bucket Sizes and Refill Rates": category,
		// bucket maximum capacity (burst), bucket refill rate (sustained).
		ecs("Cluster modify actions", 20, 1, "CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster", "UpdateClusterSettings"),
		ecs("Cluster read actions", 50, 20, "DescribeClusters", "ListClusters"),
		ecs("Task definition modify actions", 20, 1, "DeregisterTaskDefinition", "RegisterTaskDefinition"),
		ecs("Task definition read actions", 50, 20, "DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"),
		ecs("Task definition deletion actions", 5, 1, "DeleteTaskDefinitions"),
		ecs("Capacity provider modify actions", 10, 1, "CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider"),
		ecs("Capacity provider read actions", 50, 20, "DescribeCapacityProviders"),
		ecs("Tag modify actions", 20, 10, "TagResource", "UntagResource"),
		ecs("Tag read actions", 50, 20, "ListTagsForResource"),
		ecs("Setting modify actions", 10, 1, "DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault"),
		ecs("Setting read actions", 50, 20, "ListAccountSettings"),
		ecs("Cluster resource modify actions", 100, 40, "DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand",
			// The page spells the last "UpdateContainerInstancesStates"; the
			// API's operation is UpdateContainerInstancesState.
			"PutAttributes", "RunTask", "StartTask", "StopTask", "UpdateContainerAgent", "UpdateContainerInstancesState"),
		ecs("Cluster resource read actions", 100, 20, "DescribeContainerInstances", "DescribeTasks", "ListAttributes",
			"ListContainerInstances", "ListTasks"),
		ecs("Agent modify actions", 200, 120, "RegisterContainerInstance", "SubmitAttachmentStateChanges",
			"SubmitContainerStateChange", "SubmitTaskStateChange"),
		ecs("Service modify actions", 50, 5, "CreateService", "DeleteService", "UpdateService"),
		ecs("Service read actions", 100, 20, "DescribeServices", "ListServices"),
		ecs("Service deployment actions", 50, 20, "DescribeServiceDeployments", "ListServiceDeployments"),
		ecs("Service revision actions", 50, 20, "DescribeServiceRevisions"),
		ecs("Task protection actions", 200, 80, "UpdateTaskProtection", "GetTaskProtection"),
		ecs("Cluster service resource read actions", 10, 1, "ListServicesByNamespace"),

		// SSM Parameter Store, "Max throughput (transactions per second)",
		// default throughput: 40, shared by the three reads.
		{service: "ssm", category: category{name: "Parameter Store reads", limit: Limit{Burst: 40, Rate: 40}},
			actions: []string{"GetParameter", "GetParameters", "GetParametersByPath"}},

		// ECR, "Rate of <action> requests", each supported Region.
		perSecond("ecr", "BatchCheckLayerAvailability", 1000),
		perSecond("ecr", "BatchGetImage", 2000),
		perSecond("ecr", "CompleteLayerUpload", 100),
		perSecond("ecr", "GetAuthorizationToken", 500),
		perSecond("ecr", "GetDownloadUrlForLayer", 3000),
		perSecond("ecr", "InitiateLayerUpload", 100),
		perSecond("ecr", "PutImage", 10),
		perSecond("ecr", "UploadLayerPart", 500),

		// EventBridge, "PutEvents throttle limit in transactions per
		// second", by region.
		putEvents,
	}
}
