// Package deploy decides what a push or a request does to each environment of
// a repository and applies it: observe (configuration, state, the running
// services and task definitions), plan (pure: which outcome, which task
// definition, why), apply (register, update, record). A dry run is a plan
// that stops before applying.
package deploy

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Outcome is what happened to one service of one environment.
type Outcome string

// The outcomes of DESIGN section 3.
const (
	Deployed  Outcome = "deployed"
	Unchanged Outcome = "unchanged"
	Skipped   Outcome = "skipped"
	Planned   Outcome = "planned"
	Failed    Outcome = "failed"
)

// Reason says why a service was skipped.
type Reason string

// The reason codes of DESIGN section 3.
const (
	NotSemver         Reason = "not-semver"
	NotAnImage        Reason = "not-an-image"
	NoTag             Reason = "no-tag"
	OutsideRange      Reason = "outside-range"
	Prerelease        Reason = "prerelease"
	OlderThanCurrent  Reason = "older-than-current"
	Retagged          Reason = "retagged"
	Held              Reason = "held"
	ManualEnvironment Reason = "manual-environment"
	NoConfig          Reason = "no-config"
)

// Trigger is what started a deployment.
type Trigger string

// Triggers. Push and Reconcile are automatic and skip manual environments.
const (
	TriggerPush      Trigger = "push"
	TriggerReconcile Trigger = "reconcile"
	TriggerDeploy    Trigger = "deploy"
	TriggerPromote   Trigger = "promote"
	TriggerRollback  Trigger = "rollback"
	TriggerPlan      Trigger = "plan"
)

// Automatic reports whether the trigger deploys without a person asking.
func (t Trigger) Automatic() bool { return t == TriggerPush || t == TriggerReconcile }

// Request is one image to deploy to the environments of one repository.
type Request struct {
	Repository string
	Tag        string
	Digest     string
	// Registry is the host the image is pulled from, e.g.
	// 123456789012.dkr.ecr.us-east-1.amazonaws.com.
	Registry string
	Trigger  Trigger
	// EventID identifies the delivery (EventBridge event id or Lambda request
	// id); it is recorded in the state and tagged on the revision.
	EventID  string
	PushedAt time.Time
	// Environments limits the request to these environments; nil means all.
	Environments []string
	// Force allows a downgrade, a re-tagged digest, a held version and a
	// version outside the range.
	Force bool
	// DryRun plans without changing anything.
	DryRun bool
	// ByDigest writes the image as repository@digest instead of
	// repository:tag, so exactly that image runs even if the tag has moved.
	ByDigest bool
	// Hold is a version to hold in the environments once this request is
	// applied (the version a rollback replaces).
	Hold string

	// states are the environments' records when the caller has just read
	// them (a reconcile does), so Deploy does not read them again.
	states map[string]state.Record
}

// Result is the answer of every invocation (DESIGN section 4).
type Result struct {
	Repository string          `json:"repository"`
	Tag        string          `json:"tag,omitempty"`
	Version    string          `json:"version,omitempty"`
	Digest     string          `json:"digest,omitempty"`
	Trigger    Trigger         `json:"trigger,omitempty"`
	Results    []ServiceResult `json:"results"`
	// Environments is the answer of a status request.
	Environments []EnvironmentStatus `json:"environments,omitempty"`
	// Repositories is the answer to the reconcile schedule, one result per
	// configured repository; NotReached lists those the invocation had no
	// time for (the next schedule picks them up).
	Repositories []Result `json:"repositories,omitempty"`
	NotReached   []string `json:"notReached,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// ServiceResult is the outcome for one service of one environment.
type ServiceResult struct {
	Environment            string  `json:"environment"`
	Cluster                string  `json:"cluster"`
	Service                string  `json:"service"`
	Outcome                Outcome `json:"outcome,omitempty"`
	Reason                 Reason  `json:"reason"`
	Image                  string  `json:"image,omitempty"`
	PreviousTaskDefinition string  `json:"previousTaskDefinition,omitempty"`
	TaskDefinition         string  `json:"taskDefinition,omitempty"`
	DeploymentID           string  `json:"deploymentId,omitempty"`
	// Rollout is the rollout status when it is known: after waiting, or for
	// an ECS deployment state change ("completed", "failed", "in-progress").
	Rollout string `json:"rollout,omitempty"`
	Error   string `json:"error,omitempty"`
	Diff    string `json:"diff,omitempty"`
}

// EnvironmentStatus is what runs in one environment, from its state record.
type EnvironmentStatus struct {
	Environment string          `json:"environment"`
	Cluster     string          `json:"cluster"`
	Trigger     string          `json:"trigger"` // the environment's trigger: push or manual
	Version     string          `json:"version,omitempty"`
	Tag         string          `json:"tag,omitempty"`
	Digest      string          `json:"digest,omitempty"`
	Image       string          `json:"image,omitempty"`
	Rollout     string          `json:"rollout,omitempty"`
	Held        []string        `json:"held,omitempty"`
	DeployedBy  string          `json:"deployedBy,omitempty"` // the trigger of the last deployment
	DeployedAt  *time.Time      `json:"deployedAt,omitempty"`
	Services    []ServiceStatus `json:"services"`
}

// ServiceStatus is what runs in one service of an environment.
type ServiceStatus struct {
	Service        string `json:"service"`
	TaskDefinition string `json:"taskDefinition,omitempty"`
	DeploymentID   string `json:"deploymentId,omitempty"`
	Rollout        string `json:"rollout,omitempty"`
}

// Failed reports whether any service failed or the request as a whole did.
func (r *Result) Failed() bool {
	if r.Error != "" {
		return true
	}
	for _, s := range r.Results {
		if s.Outcome == Failed {
			return true
		}
	}
	for _, repo := range r.Repositories {
		if repo.Failed() {
			return true
		}
	}
	return false
}

// ECSAPI is the part of the ECS API a deployment uses; *ecs.Client satisfies it.
type ECSAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// ConfigSource returns a repository's configuration document; it returns an
// error wrapping config.ErrNotFound when there is none.
type ConfigSource interface {
	Get(ctx context.Context, repository string) (*config.Document, error)
	// List returns the valid documents of every configured repository, by
	// repository; invalid documents are left out (and logged by the source).
	List(ctx context.Context) (map[string]*config.Document, error)
}

// StateStore reads and writes environment state records; *state.Store
// satisfies it.
type StateStore interface {
	Get(ctx context.Context, repository, environment string) (state.Record, error)
	GetMany(ctx context.Context, repository string, environments []string) (map[string]state.Record, error)
	GetVersion(ctx context.Context, repository, environment string, version int64) (state.Record, error)
	Put(ctx context.Context, rec state.Record) (int64, error)
	History(ctx context.Context, repository, environment string) ([]state.Record, error)
}

// Deployer plans and applies deployments. Its zero value is not usable; set
// every field but Now and Log, which default to time.Now and slog.Default.
type Deployer struct {
	Config  ConfigSource
	State   StateStore
	Targets Targets
	// ECR resolves tags for manual requests, in the function's own Region.
	ECR    ECRAPI
	Region string
	Log    *slog.Logger
	Now    func() time.Time

	// PollInterval is how often a waiting request polls ECS (default 10s);
	// WaitMargin is how long before the invocation's deadline waiting stops
	// (default 10s); MaxWait bounds waiting without a deadline (default 15m).
	PollInterval, WaitMargin, MaxWait time.Duration
	// Progress, when set, is told about every poll while waiting.
	Progress func(Progress)

	// Events, when set, receives a result event for every outcome but
	// unchanged, on EventBus (default "default").
	Events   EventsAPI
	EventBus string
	// Metrics, when set, receives CloudWatch Embedded Metric Format lines
	// (the functions use stdout).
	Metrics   io.Writer
	metricsMu sync.Mutex

	families sync.Map // family key -> *sync.Mutex; serialises registrations into one family
}

func (d *Deployer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deployer) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// familyLock returns the mutex of a task-definition family in a region.
func (d *Deployer) familyLock(region, family string) *sync.Mutex {
	m, _ := d.families.LoadOrStore(region+"/"+family, new(sync.Mutex))
	return m.(*sync.Mutex)
}
