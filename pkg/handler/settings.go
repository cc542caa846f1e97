package handler

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
	"github.com/ecrdeploy/ecrdeploy/pkg/param"
)

// Settings are the functions' environment variables (all optional).
type Settings struct {
	Prefix    string        // ECRDEPLOY_PREFIX, default /ecrdeploy
	EventBus  string        // ECRDEPLOY_EVENT_BUS, default "default"
	ConfigTTL time.Duration // ECRDEPLOY_CONFIG_TTL, default config.DefaultTTL
	Table     string        // ECRDEPLOY_TABLE, the state table, default DefaultTable
	// HistoryRetention is how long the state table keeps each change of a
	// record (ECRDEPLOY_HISTORY_DAYS, in days); 0 keeps them for ever.
	HistoryRetention time.Duration
	// Queue is the URL of the SQS queue a delivery whose registration slot
	// is far off is handed off to (ECRDEPLOY_QUEUE); "" for none, and such
	// a delivery waits in its invocation (the CLI, the demo).
	Queue string
}

// DefaultTable is the state table's name when ECRDEPLOY_TABLE is not set:
// the name the demo and a hand-made table use. The template sets the
// variable to the table it creates.
const DefaultTable = "ecrdeploy-state"

// ReadSettings reads the settings from getenv. It returns an error naming
// the variable when one is malformed.
func ReadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{Prefix: "/ecrdeploy", EventBus: "default", ConfigTTL: config.DefaultTTL, Table: DefaultTable}
	if v := getenv("ECRDEPLOY_PREFIX"); v != "" {
		// One canonical prefix for configuration and state alike.
		p, err := param.Prefix(v)
		if err != nil {
			return s, fmt.Errorf("ECRDEPLOY_PREFIX: %w", err)
		}
		s.Prefix = p
	}
	if v := getenv("ECRDEPLOY_EVENT_BUS"); v != "" {
		s.EventBus = v
	}
	if v := getenv("ECRDEPLOY_CONFIG_TTL"); v != "" {
		ttl, err := config.ParseTTL(v)
		if err != nil {
			return s, fmt.Errorf("ECRDEPLOY_CONFIG_TTL: %w", err)
		}
		s.ConfigTTL = ttl
	}
	if v := getenv("ECRDEPLOY_TABLE"); v != "" {
		if !tableRE.MatchString(v) {
			return s, fmt.Errorf("ECRDEPLOY_TABLE: %q is not a DynamoDB table name (3 to 255 letters, digits, '_', '-' and '.')", v)
		}
		s.Table = v
	}
	if v := getenv("ECRDEPLOY_HISTORY_DAYS"); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 0 {
			return s, fmt.Errorf("ECRDEPLOY_HISTORY_DAYS: %q is not a number of days (0 keeps every change)", v)
		}
		s.HistoryRetention = time.Duration(days) * 24 * time.Hour
	}
	if v := getenv("ECRDEPLOY_QUEUE"); v != "" {
		if !queueURL(v) {
			return s, fmt.Errorf("ECRDEPLOY_QUEUE: %s is not the https URL of an SQS queue (https://sqs.{region}.amazonaws.com/{account}/{name})", input.Quote(v))
		}
		s.Queue = v
	}
	return s, nil
}

// queueURL reports whether s looks like the URL of an SQS queue: https, a
// host, a path naming the queue, and nothing else (no user, query or
// fragment). The template sets it to the queue's URL (!Ref of an
// AWS::SQS::Queue); a name or an ARN in its place would fail only at the
// first hand-off.
func queueURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil &&
		strings.Trim(u.Path, "/") != "" && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery
}

// tableRE is DynamoDB's rule for a table name.
var tableRE = input.NewPattern(`^[A-Za-z0-9_.-]{3,255}$`)

// LoadAWS loads the AWS configuration the way every AWS tool does (so
// AWS_ENDPOINT_URL, profiles and regions work), with the SDK's adaptive
// retryer, one rate limiter per operation (see pacer): throttling and 5xx
// answers are retried with backoff, never by our own loops, and a client
// that is throttled paces its calls rather than spending its retries. opts
// are applied after ecrdeploy's own, so that a caller can choose a region or
// profile (awsconfig.WithRegion, awsconfig.WithSharedConfigProfile) as the
// AWS CLI's --region and --profile do. It returns an error when the
// configuration cannot be loaded (a profile that does not exist, say).
func LoadAWS(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, append([]func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return newPacer() }),
		// A hung call is abandoned and retried rather than left to eat the
		// invocation's time; no ECS, SSM, ECR or EventBridge call that
		// ecrdeploy makes takes anywhere near this long.
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(20 * time.Second)),
	}, opts...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
