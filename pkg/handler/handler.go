// Package handler is what the Lambda functions run: it decodes an input,
// calls the deployment library and returns its result. The functions and the
// ecrdeploy CLI share it, so a local run behaves exactly as the deployed
// function.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Settings are the functions' environment variables (DESIGN section 6).
type Settings struct {
	Prefix    string        // ECRDEPLOY_PREFIX, default /ecrdeploy
	EventBus  string        // ECRDEPLOY_EVENT_BUS, default "default"
	ConfigTTL time.Duration // ECRDEPLOY_CONFIG_TTL, default config.DefaultTTL
}

// ReadSettings reads the settings from getenv. It returns an error naming
// the variable when one is malformed.
func ReadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{Prefix: "/ecrdeploy", EventBus: "default", ConfigTTL: config.DefaultTTL}
	if v := getenv("ECRDEPLOY_PREFIX"); v != "" {
		if v[0] != '/' {
			return s, fmt.Errorf("ECRDEPLOY_PREFIX %q: must start with /", v)
		}
		s.Prefix = v
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
	return s, nil
}

// LoadAWS loads the AWS configuration the way every AWS tool does (so
// AWS_ENDPOINT_URL, profiles and regions work), with the SDK's standard
// retryer: throttling and 5xx answers are retried with backoff, never by our
// own loops.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 5 })
		}),
		// A hung call is abandoned and retried rather than left to eat the
		// invocation's time; no ECS, SSM, ECR or EventBridge call that
		// ecrdeploy makes takes anywhere near this long.
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(20*time.Second)),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// NewDeployerLibrary wires the deployment library to AWS.
func NewDeployerLibrary(cfg aws.Config, s Settings, log *slog.Logger) *deploy.Deployer {
	ssmClient := ssm.NewFromConfig(cfg)
	store := config.NewStore(ssmClient, s.Prefix, s.ConfigTTL)
	store.Log = log
	return &deploy.Deployer{
		Config:   store,
		State:    state.NewStore(ssmClient, s.Prefix),
		Targets:  &deploy.ClientPool{Base: cfg},
		ECR:      ecr.NewFromConfig(cfg),
		Region:   cfg.Region,
		Events:   eventbridge.NewFromConfig(cfg),
		EventBus: s.EventBus,
		Log:      log,
	}
}

// Deployer handles the deployer function's events.
type Deployer struct {
	Deploy *deploy.Deployer
	Log    *slog.Logger
}

// NewDeployer builds the deployer's handler from the environment. It returns
// an error for a malformed setting or AWS configuration.
func NewDeployer(ctx context.Context, getenv func(string) string, log *slog.Logger) (*Deployer, error) {
	d, err := newLibrary(ctx, getenv, log)
	if err != nil {
		return nil, err
	}
	return &Deployer{Deploy: d, Log: log}, nil
}

// newLibrary wires the deployment library from the environment and the
// caller's AWS configuration.
func newLibrary(ctx context.Context, getenv func(string) string, log *slog.Logger) (*deploy.Deployer, error) {
	s, err := ReadSettings(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	return NewDeployerLibrary(cfg, s, log), nil
}

// Handle decodes one EventBridge event and acts on it. A bad event is
// reported in the result and not returned as an error, so it is not retried;
// the error is non-nil only when a retry could succeed.
func (h *Deployer) Handle(ctx context.Context, raw json.RawMessage) (deploy.Result, error) {
	ev, err := event.Decode(raw)
	if err != nil {
		h.Log.ErrorContext(ctx, "bad event", "error", err.Error())
		return deploy.Result{Results: []deploy.ServiceResult{}, Error: err.Error()}, nil
	}
	switch ev := ev.(type) {
	case event.Push:
		return h.Deploy.Push(ctx, ev)
	case event.DeploymentChange:
		return h.Deploy.DeploymentChanged(ctx, ev)
	case event.Schedule:
		return h.Deploy.Reconcile(ctx, ev)
	}
	return deploy.Result{}, fmt.Errorf("event %T has no handler", ev) // unreachable: Decode returns only the types above
}

// Promoter handles the promoter function's manual requests.
type Promoter struct {
	Deploy *deploy.Deployer
	Log    *slog.Logger
}

// NewPromoter builds the promoter's handler from the environment. It returns
// an error for a malformed setting or AWS configuration.
func NewPromoter(ctx context.Context, getenv func(string) string, log *slog.Logger) (*Promoter, error) {
	d, err := newLibrary(ctx, getenv, log)
	if err != nil {
		return nil, err
	}
	return &Promoter{Deploy: d, Log: log}, nil
}

// Handle decodes one request and carries it out. A bad request is reported
// in the result (and changes nothing); the error is non-nil only when a retry
// could succeed.
func (h *Promoter) Handle(ctx context.Context, raw json.RawMessage) (deploy.Result, error) {
	req, err := request.Decode(raw)
	if err != nil {
		h.Log.ErrorContext(ctx, "bad request", "error", err.Error())
		return deploy.Result{Repository: req.Repository, Results: []deploy.ServiceResult{}, Error: err.Error()}, nil
	}
	// The request id is recorded like an event id; a local run (the CLI)
	// has no Lambda context and gets one of its own.
	id := "local-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		id = lc.AwsRequestID
	}
	return h.Deploy.Manual(ctx, req, id)
}
