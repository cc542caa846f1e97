// Package handler is what the Lambda functions run: it decodes an input,
// calls the deployment library and returns its result. The functions and the
// ecrdeploy CLI build it with the same constructor, so a local run behaves
// exactly as the deployed function.
package handler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/queue"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/verify"
)

// Options are what the caller of New chooses beyond the environment.
type Options struct {
	// Log receives one line per decision; nil means slog.Default().
	Log *slog.Logger
	// Metrics, when set, receives CloudWatch Embedded Metric Format lines
	// (the functions use standard output).
	Metrics io.Writer
	// Progress, when set, is told about every poll while a request waits
	// for a rollout.
	Progress func(deploy.Progress)
	// AWS are options for loading the AWS configuration (LoadAWS), such as
	// the CLI's --region and --profile.
	AWS []func(*awsconfig.LoadOptions) error
}

// Handler handles both functions' inputs: Event for the deployer's
// EventBridge events, Request for the promoter's manual requests.
type Handler struct {
	Deployer *deploy.Deployer
	Verifier *verify.Verifier
	Log      *slog.Logger
}

// New builds the handler from the environment (the ECRDEPLOY_* settings and
// the AWS configuration, loaded as every AWS tool loads it). It returns an
// error for a malformed setting or AWS configuration.
func New(ctx context.Context, getenv func(string) string, opts Options) (*Handler, error) {
	s, err := ReadSettings(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadAWS(ctx, opts.AWS...)
	if err != nil {
		return nil, err
	}
	return Wire(cfg, s, opts), nil
}

// Wire builds the handler from an AWS configuration and settings. The
// deployer hands deliveries off to the queue of s.Queue when it is set.
func Wire(cfg aws.Config, s Settings, opts Options) *Handler {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	ssmClient := ssm.NewFromConfig(cfg)
	store := config.NewStore(ssmClient, s.Prefix, s.ConfigTTL)
	store.Log, store.Region = log, cfg.Region
	targets := &target.Pool{Base: cfg}
	states := state.NewStore(dynamodb.NewFromConfig(cfg), cmp.Or(s.Table, DefaultTable))
	states.Legacy = state.NewLegacy(ssmClient, s.Prefix)
	states.Retention = s.HistoryRetention
	h := &Handler{
		Deployer: &deploy.Deployer{
			Config:   store,
			State:    states,
			Pace:     states,
			Targets:  targets,
			ECR:      ecr.NewFromConfig(cfg),
			Region:   cfg.Region,
			Account:  accountOf(sts.NewFromConfig(cfg)),
			Reporter: &announce.Announcer{Events: eventbridge.NewFromConfig(cfg), Bus: s.EventBus, Metrics: opts.Metrics, Log: log},
			Restores: deploy.StoredRestores{Store: states, Log: log},
			Log:      log,
			Progress: opts.Progress,
		},
		Verifier: &verify.Verifier{Config: store, Targets: targets},
		Log:      log,
	}
	// Without a queue a delivery waits for its registration slot in the
	// invocation: a nil *queue.SQS in the interface would not be nil.
	if s.Queue != "" {
		h.Deployer.Queue = &queue.SQS{Client: sqs.NewFromConfig(cfg), URL: s.Queue}
	}
	return h
}

// Event decodes one EventBridge event, or a batch of the deployer's queue,
// and acts on it. A bad event is
// reported in the result and not returned as an error, so it is not retried;
// the error is non-nil only when a retry could succeed.
func (h *Handler) Event(ctx context.Context, raw json.RawMessage) (deploy.Result, error) {
	ev, err := event.Decode(raw)
	if err != nil {
		h.Log.ErrorContext(ctx, "bad event", "error", err.Error())
		return deploy.Result{Error: err.Error(), ErrorKind: deploy.BadInput}, nil
	}
	switch ev := ev.(type) {
	case event.Push:
		return h.Deployer.Push(ctx, ev)
	case event.DeploymentChange:
		return h.Deployer.DeploymentChanged(ctx, ev)
	case event.HookChange:
		return h.Deployer.HookChanged(ctx, ev)
	case event.Schedule:
		return h.Deployer.Reconcile(ctx, ev)
	case event.CalendarChange:
		return h.Deployer.CalendarChanged(ctx, ev)
	case event.Replication:
		return h.Deployer.Replicated(ctx, ev)
	case event.ImageRestored:
		return h.Deployer.ImageRestored(ctx, ev)
	case event.Queued:
		return h.Deployer.Dequeued(ctx, ev)
	}
	return deploy.Result{}, fmt.Errorf("event %T has no handler", ev) // unreachable: the set of events is closed
}

// Request decodes one manual request and carries it out. A bad request is
// reported in the result (and changes nothing); the error is non-nil only
// when a retry could succeed.
func (h *Handler) Request(ctx context.Context, raw json.RawMessage) (deploy.Result, error) {
	req, err := request.Decode(raw)
	if err != nil {
		h.Log.ErrorContext(ctx, "bad request", "error", err.Error())
		res := deploy.Result{Repository: req.Repository, Error: err.Error(), ErrorKind: deploy.BadInput}
		v := deploy.Judgement(res, nil)
		res.Verdict = &v
		return res, nil
	}
	// The request id is recorded like an event id; a local run (the CLI)
	// has no Lambda context and gets one of its own.
	id := "local-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		id = lc.AwsRequestID
	}
	res, err := h.Deployer.Manual(ctx, req, id)
	v := deploy.Judgement(res, err)
	res.Verdict = &v
	return res, err
}

// accountOf returns how the deployer learns its own account: STS
// GetCallerIdentity, asked once per process (the invoked function's ARN
// would do in Lambda, but the Runtime Interface Emulator makes one up).
func accountOf(client *sts.Client) func(context.Context) (string, error) {
	caller := sync.OnceValues(func() (string, error) {
		out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", fmt.Errorf("get caller identity: %w", err)
		}
		return aws.ToString(out.Account), nil
	})
	return func(context.Context) (string, error) { return caller() }
}
