package localaws

import (
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

const (
	// AccountID is the account moto answers for with any static credentials.
	AccountID = "123456789012"
	// Region is the region of every [Config].
	Region = "us-east-1"
	// MaxBackoff caps the SDK's retry backoff in [Config], so that tests
	// that inject throttling stay fast.
	MaxBackoff = 20 * time.Millisecond
)

// Config returns an SDK configuration for endpoint (moto, or a proxy in
// front of it) that ignores the caller's AWS environment and shared files:
// static credentials, [Region], and the standard retryer (3 attempts) with
// backoff capped at [MaxBackoff] and no retry quota.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxBackoff = MaxBackoff
				// Injected faults would otherwise drain the retry quota
				// and make later calls fail with "retry quota exceeded".
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// Client seeds and inspects moto directly. Its methods return errors that
// name the action and the resource; they are safe for concurrent use.
type Client struct {
	// URL is moto's base URL.
	URL string
	// Config reaches moto at URL (see [Config]).
	Config aws.Config

	ecs *ecs.Client
	ssm *ssm.Client
	ecr *ecr.Client

	netMu   sync.Mutex
	network *Network
}

// NewClient returns a Client for the moto_server at url, such as
// [Moto.URL].
func NewClient(url string) *Client {
	cfg := Config(url)
	return &Client{
		URL:    url,
		Config: cfg,
		ecs:    ecs.NewFromConfig(cfg),
		ssm:    ssm.NewFromConfig(cfg),
		ecr:    ecr.NewFromConfig(cfg),
	}
}
