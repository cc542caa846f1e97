// Package deploy decides what a push, a request, an ECS deployment event or
// the reconcile schedule does to each environment of a repository, and does
// it. Every path runs the same three steps: observe (read the configuration,
// the state record, the services and their task definitions), decide (a pure
// function from those observations to a plan per service: outcome, reason,
// rendered task definition) and apply (register, update, record), which
// consumes the plan. A dry run observes, decides and stops.
package deploy

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// Request is one image to deploy to the environments of one repository.
type Request struct {
	Repository string
	Tag        string
	Digest     string
	// Registry is the host the image is pulled from, e.g.
	// 123456789012.dkr.ecr.us-east-1.amazonaws.com.
	Registry string
	Cause    state.Cause
	// EventID identifies the delivery (EventBridge event id or Lambda request
	// id); it is recorded in the state and tagged on the revision.
	EventID  string
	PushedAt time.Time
	// Environments limits the request to these environments; nil means all.
	Environments []string
	// Force allows a downgrade, a re-tagged digest, a held version and a
	// version outside the range. ecrdeploy sets it itself for a rollback.
	Force bool
	// ForceAsked is whether the person who made a manual request asked for
	// force ("force": true, --force), as opposed to Force: only what a
	// person asks overrides a change calendar (throughFreeze).
	ForceAsked bool
	// DryRun plans without changing anything.
	DryRun bool
	// ByDigest writes the image as repository@digest instead of
	// repository:tag, so exactly that image runs even if the tag has moved.
	ByDigest bool
	// Hold is a version to hold in the environments once this request is
	// applied (the version a rollback replaces).
	Hold string
	// Slot is the registration slot a delivery handed off to the queue
	// reserved for its one environment before it did (queue.go): the
	// first registration waits for it rather than reserve another. Zero
	// for none.
	Slot state.Slot
	// Attempt is how many times a delivery back from the queue failed and
	// was sent to it again (queue.go, requeue); kept when it is handed off
	// again, so that a failure that keeps coming back ends.
	Attempt int
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
// satisfies it. Every write is conditional on the record's revision as
// read (state.ErrConflict when another writer came first), and a claim lets
// one delivery at a time act on an environment.
type StateStore interface {
	Get(ctx context.Context, repository, environment string) (state.Record, error)
	GetMany(ctx context.Context, repository string, environments []string) (map[string]state.Record, error)
	// GetKeys reads the records of environments of any repositories at
	// once (a reconcile reads the fleet's).
	GetKeys(ctx context.Context, keys []state.Key) (map[state.Key]state.Record, error)
	Put(ctx context.Context, rec state.Record, opts ...state.PutOption) (state.Record, error)
	// Claim claims an environment until a time and returns its record (nil
	// when it has none); a *state.Claimed error when another holds it.
	Claim(ctx context.Context, k state.Key, owner string, until time.Time) (*state.Record, error)
	Release(ctx context.Context, k state.Key, owner string) error
	// History returns an environment's changes, newest first, in pages.
	History(ctx context.Context, repository, environment string, limit int, before int64) (state.Page, error)
}

// Targets gives the clients of the account and region an environment lives
// in; *target.Pool satisfies it.
type Targets interface {
	// ECS returns the ECS client of a target. It returns an error when the
	// target's role cannot be assumed.
	ECS(ctx context.Context, t target.Target) (target.ECSAPI, error)
	// ECR returns the ECR client of a target, for checking that an image is
	// replicated to the registry an environment pulls from.
	ECR(ctx context.Context, t target.Target) (target.ECRAPI, error)
	// CodeDeploy returns the CodeDeploy client of a target, which deploys
	// and observes its CODE_DEPLOY services.
	CodeDeploy(ctx context.Context, t target.Target) (target.CodeDeployAPI, error)
}

// Reporter is told every result the deployer produces (but dry runs), to
// announce it: result events, metrics. eventID is the delivery that caused
// it; decision is how long deciding and applying took (zero for rollouts).
// A Reporter never fails a deployment: it logs its own errors.
//
// A push or reconcile publishes its result events as soon as every
// environment's services have been updated, concurrently with recording
// them, and publishes again only the rows that recording or the
// convergence check changed; its metrics are measured once, from the final
// result.
type Reporter interface {
	// Publish sends the result events of res's rows.
	Publish(ctx context.Context, res Result, eventID string)
	// Measure records the metrics of a final result.
	Measure(res Result, decision time.Duration)
}

// Progress is one observation while waiting for a rollout.
type Progress struct {
	Environment, Service, DeploymentID string
	Rollout                            state.Rollout
	// Stage says where a deployment of the blue-green family is ("canary
	// 10 %, baking, 3 of 15 min"); "" for a rolling update.
	Stage   string
	Elapsed time.Duration
}

// Deployer plans and applies deployments. Config, State, Targets, ECR and
// Region are required; the other fields have working defaults.
type Deployer struct {
	Config  ConfigSource
	State   StateStore
	Targets Targets
	// ECR resolves tags for manual requests and lists images for reconcile,
	// in the function's own Region.
	ECR    target.ECRAPI
	Region string
	// Account returns the function's own AWS account, whose registry in
	// Region pushes are deployed from; nil trusts every push's registry.
	Account func(context.Context) (string, error)
	// Reporter, when set, announces every result but dry runs.
	Reporter Reporter
	// Restores, when set, remembers the deployments that wait on ECR to
	// restore an archived image, across invocations (StoredRestores); nil,
	// such a request says to make it again once the image is ACTIVE.
	Restores RestoreStore
	Log      *slog.Logger     // default slog.Default()
	Now      func() time.Time // default time.Now

	// PollInterval is how often a waiting request polls ECS (default 10s);
	// WaitMargin is how long before the invocation's deadline waiting, and
	// a reconcile, stops (default 10s); MaxWait bounds waiting without a
	// deadline (default 15m).
	PollInterval, WaitMargin, MaxWait time.Duration
	// Progress, when set, is told about every poll while waiting.
	Progress func(Progress)

	// ClaimTTL is how long a claim on an environment lasts unless renewed
	// or released (default 60s): longer than registering, updating and
	// recording take, short enough that a holder that crashed blocks the
	// environment for less than Lambda's first retry delay. ClaimWait is
	// how long a delivery that finds the environment claimed waits for it
	// before it fails retryably, to be delivered again (default 20s).
	ClaimTTL, ClaimWait time.Duration
	// Pace, when set, is the pace registrations share with every other
	// instance (the state table's); nil registers at the SDK's own pace.
	Pace Pacer
	// Queue, when set, holds the deliveries of pushes whose registration
	// slot is far off until it is due (queue.go).
	Queue Queue
	// DeadlineMargin is how long before the invocation's deadline a
	// delivery stops starting calls that change ECS, keeping the time to
	// record what it did (default 15s).
	DeadlineMargin time.Duration

	families sync.Map   // region/family -> *sync.Mutex; serialises registrations into one family
	groups   groupCache // the CodeDeploy deployment groups found for CODE_DEPLOY services
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

func (d *Deployer) pollInterval() time.Duration { return cmp.Or(d.PollInterval, 10*time.Second) }
func (d *Deployer) waitMargin() time.Duration   { return cmp.Or(d.WaitMargin, 10*time.Second) }
func (d *Deployer) maxWait() time.Duration      { return cmp.Or(d.MaxWait, 15*time.Minute) }
func (d *Deployer) claimTTL() time.Duration     { return cmp.Or(d.ClaimTTL, time.Minute) }
func (d *Deployer) claimWait() time.Duration    { return cmp.Or(d.ClaimWait, 20*time.Second) }

// familyLock returns the mutex of a task-definition family in a region.
func (d *Deployer) familyLock(region, family string) *sync.Mutex {
	m, _ := d.families.LoadOrStore(region+"/"+family, new(sync.Mutex))
	return m.(*sync.Mutex)
}

// targetOf returns the target of one of a repository's environments.
func targetOf(repository, name string, env *config.Environment) target.Target {
	return target.Of(repository, name, env.Region, env.RoleARN)
}

// announce hands a final result to the Reporter: its events and metrics.
func (d *Deployer) announce(ctx context.Context, res Result, eventID string, decision time.Duration) {
	if d.Reporter != nil {
		d.Reporter.Publish(ctx, res, eventID)
		d.Reporter.Measure(res, decision)
	}
}
