package awstest

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
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
// takes one, or, for DynamoDB, the request units it consumes (see
// [NewBuckets]).
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
	// costs says, for a service whose buckets count units rather than
	// requests (DynamoDB), what a request costs and which resource's
	// bucket pays; a service without one pays one token per request.
	costs   map[string]func(action string, body []byte) []charge
	buckets map[bucketKey]*bucket
}

type bucketKey struct {
	account, region, service, category string
	// resource is what the bucket belongs to beyond the account and the
	// region: a DynamoDB table; "" for a bucket of the whole category.
	resource string
}

// charge is what one request costs a resource's bucket.
type charge struct {
	resource string
	units    float64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// refill adds the tokens earned since b was last used; a new bucket is
// full.
func (b *bucket) refill(l Limit, now time.Time) {
	switch {
	case b.last.IsZero():
		b.tokens, b.last = l.Burst, now
	case now.After(b.last):
		b.tokens = min(l.Burst, b.tokens+now.Sub(b.last).Seconds()*l.Rate)
		b.last = now
	}
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
//   - DynamoDB, an on-demand table (the state table is one): "DynamoDB
//     on-demand capacity mode", section "Initial throughput and scaling
//     properties",
//     https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html,
//     and the AWS knowledge-center article (re:Post) "Why is my on-demand
//     DynamoDB table being throttled?",
//     https://aws.amazon.com/premiumsupport/knowledge-center/on-demand-table-throttling-dynamodb/:
//     "For new on-demand tables, you can immediately drive up to 4,000
//     write request units or 12,000 read request units, or any linear
//     combination of the two"; beyond that a table is throttled while
//     DynamoDB scales it (to double its previous peak within 30 minutes),
//     up to the default "table-level read and write throughput limit of
//     40,000" request units a second per table (the same on-demand page;
//     "Quotas in Amazon DynamoDB",
//     https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
//     The model is a new table, which never scales: one bucket of 12,000
//     read units a second for the reads (GetItem, BatchGetItem, Query,
//     Scan, TransactGetItems) and one of 4,000 write units for the writes
//     (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
//     TransactWriteItems), per account, region and table. AWS's "linear
//     combination" makes reads and writes share the capacity; two
//     separate buckets let a client that reads and writes at full rate in
//     the same second through up to twice that. Table management
//     (CreateTable, DescribeTable) is not limited.
//
// DynamoDB's buckets count request units, not requests, as DynamoDB
// meters an on-demand table (see dynamoDBCost): a request is let through
// while its table's bucket holds a unit, and then takes all the units it
// consumes, which may leave the bucket below zero, as DynamoDB charges
// what a request consumed after serving it. So a BatchGetItem is refused
// only when no item of it could be read, which is when DynamoDB refuses
// one too; where DynamoDB would read some items and return the rest as
// UnprocessedKeys, the model reads them all and charges them all, the same
// units a little earlier. A refused DynamoDB request is answered
// ThrottlingException with the message of an on-demand table that is
// being scaled (see dynamoDBThrottled).
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
	t := &Buckets{
		actions: map[string]map[string]*category{}, buckets: map[bucketKey]*bucket{},
		costs: map[string]func(string, []byte) []charge{"dynamodb": dynamoDBCost},
	}
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

// allow takes what one request of action by account in region, whose
// body is body, costs (one token, or its DynamoDB request units) and
// reports whether the request may go through: when every bucket it
// charges holds at least one token. A refused request takes nothing.
func (t *Buckets) allow(account, region, service, action string, body []byte) bool {
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
	charges := []charge{{units: 1}}
	if cost := t.costs[service]; cost != nil {
		charges = cost(action, body)
	}
	l, at := c.limitIn(region), now()
	bs := make([]*bucket, len(charges))
	for i, ch := range charges {
		k := bucketKey{account: account, region: region, service: service, category: c.name, resource: ch.resource}
		b := t.buckets[k]
		if b == nil {
			b = &bucket{}
			t.buckets[k] = b
		}
		b.refill(l, at)
		if b.tokens < 1 {
			return false
		}
		bs[i] = b
	}
	for i, b := range bs {
		b.tokens -= charges[i].units
	}
	return true
}

// Throttle puts the proxy in throttling mode with the buckets m (nil turns
// it off): a call whose bucket is empty is answered 400
// ThrottlingException "Rate exceeded" in its protocol's error shape (for
// DynamoDB, the message of a throttled on-demand table), is
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
	return !m.allow(account, region, call.Service, call.Operation, call.Request)
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

		// DynamoDB, a new on-demand table: "up to 4,000 write request
		// units or 12,000 read request units" a second, per table.
		{service: "dynamodb", category: category{name: "Table reads", limit: Limit{Burst: 12000, Rate: 12000}},
			actions: []string{"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}},
		{service: "dynamodb", category: category{name: "Table writes", limit: Limit{Burst: 4000, Rate: 4000}},
			actions: []string{"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}},
	}
}

// dynamoDBThrottled is the message of a request DynamoDB throttles on an
// on-demand table while it scales the table, which it sends with the error
// code ThrottlingException: the API Reference lists it among the reasons
// TransactWriteItems gives for a cancelled transaction ("Throttling Error",
// "This message is returned when writes get throttled on an On-Demand
// table as DynamoDB is automatically scaling the table";
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html),
// and clients report it as a ThrottlingException of GetItem, PutItem and
// the others. The SDK retries ThrottlingException as throttling
// (retry.DefaultThrottleErrorCodes), as it does the provisioned-mode
// ProvisionedThroughputExceededException. A transaction that DynamoDB
// cancels for throttling (TransactionCanceledException with a
// ThrottlingError reason), which the SDK does not retry, is not modelled:
// the model throttles a transaction whole, as it does any request.
const dynamoDBThrottled = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling " +
	"your table or index so please try again shortly. If exceptions persist, check if you have a hot key: " +
	"https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"

// dynamoDBCost returns the request units a DynamoDB request consumes, by
// table, from its body, as "DynamoDB on-demand capacity mode" ("Read
// request units and write request units") and "DynamoDB read and write
// operations"
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html)
// meter them: a strongly consistent read of an item is one read unit, an
// eventually consistent one half, a transactional one two; a write of an
// item is one write unit, a transactional one two. So a BatchGetItem of n
// keys read consistently is n read units, and a TransactWriteItems of n
// items 2n write units. Items are counted at the smallest size, a read of
// up to 4 KB and a write of up to 1 KB (a larger item costs a unit for
// each further 4 KB or 1 KB); the body does not say how large the items
// stored are. A Query or Scan is one read (half, eventually consistent):
// what it reads is known only from its answer. A body that names no table
// (not a request AWS would take) costs one unit of a bucket of its own.
func dynamoDBCost(action string, body []byte) []charge {
	var req struct {
		TableName      string
		ConsistentRead bool
		RequestItems   map[string]json.RawMessage
		TransactItems  []map[string]struct{ TableName string }
	}
	_ = json.Unmarshal(body, &req)
	read := func(consistent bool) float64 {
		if consistent {
			return 1
		}
		return 0.5
	}
	units := map[string]float64{}
	switch action {
	case "GetItem", "Query", "Scan":
		units[req.TableName] += read(req.ConsistentRead)
	case "PutItem", "UpdateItem", "DeleteItem":
		units[req.TableName]++
	case "BatchGetItem":
		for table, raw := range req.RequestItems {
			var ka struct {
				Keys           []json.RawMessage
				ConsistentRead bool
			}
			_ = json.Unmarshal(raw, &ka)
			units[table] += float64(len(ka.Keys)) * read(ka.ConsistentRead)
		}
	case "BatchWriteItem":
		for table, raw := range req.RequestItems {
			var writes []json.RawMessage
			_ = json.Unmarshal(raw, &writes)
			units[table] += float64(len(writes))
		}
	case "TransactGetItems", "TransactWriteItems":
		for _, item := range req.TransactItems {
			for _, op := range item { // one of Get; or Put, Update, Delete, ConditionCheck
				units[op.TableName] += 2
			}
		}
	}
	var out []charge
	for _, table := range slices.Sorted(maps.Keys(units)) {
		if table != "" && units[table] > 0 {
			out = append(out, charge{resource: table, units: units[table]})
		}
	}
	if len(out) == 0 {
		return []charge{{units: 1}}
	}
	return out
}
