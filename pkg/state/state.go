// Package state keeps the record of what runs in each environment of a
// repository: one item per environment in a DynamoDB table, written only
// conditionally on the revision read, one item per change of it (the audit
// log that history and rollback read), and a claim that lets one delivery at
// a time act on an environment. Records that earlier releases kept in SSM
// Parameter Store are imported the first time they are read.
package state

import (
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
)

// Rollout is how far a deployment's rollout has got. It is spelled one way
// in state records, results, result events and tables; ECS's own spelling
// (IN_PROGRESS) is converted where it enters, by ParseRollout.
type Rollout string

// The rollout states.
const (
	InProgress Rollout = "in-progress"
	Completed  Rollout = "completed"
	Failed     Rollout = "failed"
	// Superseded is a deployment ECS no longer lists: another deployment
	// replaced it before it finished. Only a wait reports it.
	Superseded Rollout = "superseded"
)

// ParseRollout returns the rollout state ECS spells as s (IN_PROGRESS,
// COMPLETED, FAILED), or as ecrdeploy spells it. Records written before
// the spelling was unified carry ECS's.
func ParseRollout(s string) Rollout {
	return Rollout(strings.ToLower(strings.ReplaceAll(s, "_", "-")))
}

// UnmarshalText reads either spelling.
func (r *Rollout) UnmarshalText(b []byte) error {
	*r = ParseRollout(string(b))
	return nil
}

// Terminal reports whether the rollout has ended.
func (r Rollout) Terminal() bool { return r == Completed || r == Failed }

// Cause is what started a deployment.
type Cause string

// The causes. Push and Reconcile are automatic and skip manual environments.
const (
	CausePush      Cause = "push"
	CauseReconcile Cause = "reconcile"
	CauseDeploy    Cause = "deploy"
	CausePromote   Cause = "promote"
	CauseRollback  Cause = "rollback"
	CausePlan      Cause = "plan"
	// CauseECS is ECS itself: it rolled a failed deployment back.
	CauseECS Cause = "ecs"
)

// Automatic reports whether the cause deploys without a person asking.
func (c Cause) Automatic() bool { return c == CausePush || c == CauseReconcile }

// Manual reports whether the cause is a person's (or a pipeline's) request
// to change what runs: deploy, promote or rollback.
func (c Cause) Manual() bool { return c == CauseDeploy || c == CausePromote || c == CauseRollback }

// maxHeld bounds the list of held versions. Versions beyond it are not
// released: the lowest are folded into HeldThrough, which holds every
// version up to it, so that a version ECS failed never becomes deployable
// again by automation however many fail after it.
const maxHeld = 100

// Record is what runs in one environment of one repository.
type Record struct {
	Repository  string             `json:"repository"`
	Environment string             `json:"environment"`
	Version     string             `json:"version"`
	Tag         string             `json:"tag"`
	Digest      string             `json:"digest"`
	Image       string             `json:"image"`
	Services    map[string]Service `json:"services"`
	Cause       Cause              `json:"trigger"`
	EventID     string             `json:"eventId,omitempty"`
	PushedAt    *time.Time         `json:"pushedAt,omitempty"`
	Time        time.Time          `json:"time"`
	Rollout     Rollout            `json:"rollout"`
	Held        []string           `json:"held,omitempty"`
	// HeldThrough, when set, holds every version up to and including it:
	// the held versions that no longer fit the list (maxHeld).
	HeldThrough string `json:"heldThrough,omitempty"`
	// LastCompleted is the last version whose deployment COMPLETED here; it
	// is what runs again after a FAILED deployment was rolled back.
	LastCompleted string `json:"lastCompleted,omitempty"`
	// Good are the deployments whose rollout completed here, newest first,
	// at most maxGood: what a rollback can go back to without reading the
	// parameter's history.
	Good []Deployment `json:"good,omitempty"`
	// Failed is the last deployment ECS failed or rolled back here.
	Failed *Failure `json:"failed,omitempty"`
	// Approval is the pause of the recorded deployment that awaits a
	// person's approval (a pause lifecycle hook); nil when none does.
	Approval *Approval `json:"approval,omitempty"`

	// Revision is the number of the record's change it was read as or
	// written as: 1 for the first, 0 for a record never stored. A write is
	// conditional on it: it succeeds only if nobody wrote since.
	Revision int64 `json:"-"`
	// Claim is the claim on the environment when the record was read: who
	// acts on it, until when; nil when nobody does.
	Claim *Claim `json:"-"`
}

// Claim is a delivery's claim on an environment: while it lasts, no other
// delivery acts on the environment. It expires, so that a holder that
// crashed blocks the environment no longer than that.
type Claim struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// Live reports whether the claim still holds at now.
func (c *Claim) Live(now time.Time) bool { return c != nil && now.Before(c.Until) }

// Deployment is a deployment that completed: the image and the revision
// each service ran.
type Deployment struct {
	Version         string            `json:"version"`
	Tag             string            `json:"tag,omitempty"`
	Digest          string            `json:"digest"`
	Image           string            `json:"image,omitempty"`
	TaskDefinitions map[string]string `json:"taskDefinitions"`
	Time            time.Time         `json:"time"`
}

// Failure is a deployment ECS failed or rolled back.
type Failure struct {
	Version      string    `json:"version"`
	Digest       string    `json:"digest,omitempty"`
	DeploymentID string    `json:"deploymentId,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Time         time.Time `json:"time"`
}

// Approval is a deployment that ECS paused for a person's approval: the
// pause lifecycle hook of one service's service deployment at the
// environment's approval stage. ContinueServiceDeployment answers exactly
// that hook.
type Approval struct {
	Service string `json:"service"`
	// Stage is the lifecycle stage of the pause, in the configuration's
	// spelling (post-test-traffic-shift).
	Stage                string `json:"stage"`
	HookID               string `json:"hookId"`
	ServiceDeploymentARN string `json:"serviceDeploymentArn"`
	// Since is when ECS paused the deployment (the hook event's time), and
	// Expires when the hook times out and ECS takes its timeout action;
	// zero when ECS did not say.
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires,omitzero"`
}

// maxGood bounds the known-good deployments a record keeps; a rollback
// that finds none of them usable reads the change history.
const maxGood = 10

// Completed records that the record's current deployment completed at t:
// its version is the last completed one and the newest known-good
// deployment.
func (r *Record) Completed(t time.Time) {
	if r.Version == "" {
		return
	}
	r.LastCompleted = r.Version
	good := Deployment{Version: r.Version, Tag: r.Tag, Digest: r.Digest, Image: r.Image, TaskDefinitions: map[string]string{}, Time: t.UTC()}
	for name, s := range r.Services {
		// family:revision names the revision in the service's own account
		// and region, which is where it is deployed again; it is shorter.
		good.TaskDefinitions[name] = ecsref.FamilyRevision(s.TaskDefinition)
	}
	r.Good = slices.DeleteFunc(r.Good, func(d Deployment) bool { return d.Version == good.Version && d.Digest == good.Digest })
	r.Good = append([]Deployment{good}, r.Good...)
	if len(r.Good) > maxGood {
		r.Good = r.Good[:maxGood]
	}
}

// LastGood returns the newest known-good deployment of another version
// than the record's; ok is false when there is none.
func (r *Record) LastGood() (Deployment, bool) {
	for _, d := range r.Good {
		if d.Version != r.Version {
			return d, true
		}
	}
	return Deployment{}, false
}

// ControllerCodeDeploy is the deployment controller of a service that
// CodeDeploy deploys, spelled as ECS spells it.
const ControllerCodeDeploy = "CODE_DEPLOY"

// Service is the part of a Record about one ECS service of the environment.
type Service struct {
	Cluster                string `json:"cluster"`
	TaskDefinition         string `json:"taskDefinition"`
	PreviousTaskDefinition string `json:"previousTaskDefinition,omitempty"`
	DeploymentID           string `json:"deploymentId,omitempty"`
	// ReplacedDeploymentID is the id of the deployment ECS ran (its
	// PRIMARY) when ecrdeploy's update started DeploymentID. ECS rolls a
	// failed deployment back by making that deployment PRIMARY again, with
	// its own id, which is how a rollback is told from someone else's
	// deployment when the service-deployments history cannot be read.
	ReplacedDeploymentID string `json:"replacedDeploymentId,omitempty"`
	// Controller is ControllerCodeDeploy when a CodeDeploy deployment
	// deployed the service (DeploymentID is then CodeDeploy's id, and
	// CodeDeploy says how it ended), "" when ECS did.
	Controller string `json:"controller,omitempty"`
	// ServiceDeploymentARN is the service deployment of DeploymentID (the
	// service's currentServiceDeployment after the update): what
	// DescribeServiceDeployments, ContinueServiceDeployment and
	// StopServiceDeployment name. Empty when it is not known yet.
	ServiceDeploymentARN string  `json:"serviceDeploymentArn,omitempty"`
	Rollout              Rollout `json:"rollout"`
	Reason               string  `json:"reason,omitempty"`
	// RolloutAt is when ECS last reported on the rollout (an event's
	// updatedAt), so that a late event cannot take it back.
	RolloutAt *time.Time `json:"rolloutAt,omitempty"`
}

// AggregateRollout returns the environment's rollout status from its
// services': FAILED if any failed, COMPLETED if all completed, else
// IN_PROGRESS.
func (r *Record) AggregateRollout() Rollout {
	if len(r.Services) == 0 {
		return r.Rollout
	}
	all := true
	for _, s := range r.Services {
		switch s.Rollout {
		case Failed:
			return Failed
		case Completed:
		default:
			all = false
		}
	}
	if all {
		return Completed
	}
	return InProgress
}

// IsHeld reports whether version is held in this environment.
func (r *Record) IsHeld(version string) bool {
	if version == "" {
		return false
	}
	if slices.Contains(r.Held, version) {
		return true
	}
	return r.HeldThrough != "" && compareVersions(version, r.HeldThrough) <= 0
}

// Hold adds version to the held versions. When the list is full its lowest
// versions are folded into HeldThrough rather than dropped.
func (r *Record) Hold(version string) {
	if version == "" || r.IsHeld(version) {
		return
	}
	r.Held = append(r.Held, version)
	if len(r.Held) <= maxHeld {
		return
	}
	slices.SortFunc(r.Held, compareVersions)
	fold := r.Held[:len(r.Held)-maxHeld]
	if top := fold[len(fold)-1]; r.HeldThrough == "" || compareVersions(top, r.HeldThrough) > 0 {
		r.HeldThrough = top
	}
	r.Held = slices.Clone(r.Held[len(fold):])
}

// Release lifts the hold of one version: a person deployed it by hand,
// with force. A version under HeldThrough stays held there.
func (r *Record) Release(version string) {
	r.Held = slices.DeleteFunc(r.Held, func(h string) bool { return h == version })
	if len(r.Held) == 0 {
		r.Held = nil
	}
}

// compareVersions orders semantic versions, and anything that is not one
// below them, by text.
func compareVersions(a, b string) int {
	va, errA := semver.StrictNewVersion(a)
	vb, errB := semver.StrictNewVersion(b)
	switch {
	case errA == nil && errB == nil:
		return va.Compare(vb)
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	}
	return 1
}
