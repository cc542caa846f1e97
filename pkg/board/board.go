// Package board is the release board: every configured repository and
// environment at a glance. It holds the board's data model (Board, what a
// Source reads of the fleet), lays it out as a grid (Layout: a row per
// repository, a column per environment name, in promotion order) and writes
// the grid for people and programs: an aligned table, JSON, and a
// self-contained HTML page that the CloudWatch dashboard also shows (Widget).
// It reads nothing itself and never looks at the clock: the caller passes the
// fleet and the time.
package board

import (
	"context"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// Source reads the fleet for the board: every configured repository with
// its environments and what each runs. An error is a read that failed as a
// whole; one repository or environment that cannot be read is reported in
// its Error instead, and the others are shown.
type Source interface {
	Board(ctx context.Context) (Board, error)
}

// Board is the fleet as a Source read it.
type Board struct {
	Repositories []Repository `json:"repositories"`
}

// Repository is one configured repository and its environments.
type Repository struct {
	Name         string        `json:"repository"`
	Environments []Environment `json:"environments"`
	// Error says why the repository (its configuration) could not be read;
	// its environments are then unknown.
	Error string `json:"error,omitempty"`
}

// Environment is what is known of one environment of a repository: its
// place in the promotion order, and the facts of its state record and of
// what ECS says. Its cell's State is decided from these by Classify.
type Environment struct {
	Name string `json:"environment"`
	// PromoteFrom is the environment that promote copies from (the
	// configuration's promoteFrom): it goes left of this one on the board.
	PromoteFrom string `json:"promoteFrom,omitempty"`
	// Recorded reports whether the environment has a state record: false
	// when nothing was ever deployed there (or recorded), and then the
	// record's facts below are empty.
	Recorded bool   `json:"recorded"`
	Version  string `json:"version,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Digest   string `json:"digest,omitempty"`
	// Rollout is how far the recorded deployment got, as ECS says.
	Rollout state.Rollout `json:"rollout,omitempty"`
	// Progress is the rollout of a traffic-shifting strategy (blue-green,
	// linear, canary) while it runs; nil otherwise.
	Progress *Progress `json:"progress,omitempty"`
	// Held are the versions pushes and reconcile skip here.
	Held []string `json:"held,omitempty"`
	// Approval is the deployment that waits for someone to approve it.
	Approval *Approval `json:"approval,omitempty"`
	// Freeze is set while a change calendar of the environment is closed.
	Freeze *Freeze `json:"freeze,omitempty"`
	// Drift lists the services where ECS runs another revision than the
	// record says (someone changed them outside ecrdeploy).
	Drift []ServiceDrift `json:"drift,omitempty"`
	// DeployedAt is when the recorded deployment started, and DeployedBy
	// what started it.
	DeployedAt *time.Time  `json:"deployedAt,omitempty"`
	DeployedBy state.Cause `json:"deployedBy,omitempty"`
	// Failed is the last deployment ECS failed or rolled back here, however
	// long ago: the cell is failed only while it is the recorded one.
	Failed *state.Failure `json:"failed,omitempty"`
	// Error says why the environment could not be read; its cell is then
	// unknown.
	Error string `json:"error,omitempty"`
}

// Progress is a rollout of a traffic-shifting strategy under way.
type Progress struct {
	// Strategy is the environment's deployment strategy: blue-green,
	// linear or canary.
	Strategy string `json:"strategy"`
	// Stage is the lifecycle stage ECS reports for the service deployment.
	Stage string `json:"stage,omitempty"`
	// TrafficPercent is the share of production traffic on the new
	// revision (a canary's may be a fraction: ECS takes multiples of 0.1);
	// nil when ECS has not said.
	TrafficPercent *float64 `json:"trafficPercent,omitempty"`
	// Baking reports that a bake runs: a canary's or a linear step's at its
	// share of traffic, or the final bake (ECS's BAKE_TIME stage) with all
	// production traffic on the new revision and the old one still up.
	Baking bool `json:"baking,omitempty"`
	// BakeEnds is when the bake that runs ends, when known.
	BakeEnds *time.Time `json:"bakeEnds,omitempty"`
}

// Approval is a deployment that ECS paused at the environment's approval
// stage, waiting for `ecrdeploy approve` (or reject).
type Approval struct {
	Version string `json:"version,omitempty"`
	// Stage is the lifecycle stage it waits at.
	Stage string `json:"stage,omitempty"`
	// Since is when it started waiting, and Expires when the hook times out
	// (and the environment's onTimeout applies).
	Since   *time.Time `json:"since,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

// Freeze is a closed change calendar: automatic deployments to the
// environment wait, and manual ones are refused unless forced.
type Freeze struct {
	// Calendars are the closed calendars.
	Calendars []string `json:"calendars,omitempty"`
	// Until is when the environment opens again (the latest opening of the
	// closed calendars); nil when no calendar says.
	Until *time.Time `json:"until,omitempty"`
}

// ServiceDrift is a service whose running revision is not the recorded one.
type ServiceDrift struct {
	Service string `json:"service"`
	// Recorded is the task definition the record names; Running the one
	// ECS runs (family:revision, or an ARN).
	Recorded string `json:"recorded"`
	Running  string `json:"running"`
}

// State is what a cell of the board says of its environment, one word for
// the colour and for the eye.
type State string

// The states of a cell, in the order of Classify's precedence: the first
// that applies is the cell's. The three that are rollout states are spelled
// as the rollout states are.
const (
	// Unknown: the environment could not be read.
	Unknown State = "unknown"
	// Failed: ECS failed or rolled back the recorded deployment.
	Failed = State(state.Failed)
	// AwaitingApproval: a deployment waits for someone to approve it.
	AwaitingApproval State = "awaiting-approval"
	// Drift: ECS runs another revision than recorded.
	Drift State = "drift"
	// Baking: production traffic has moved (all or a step of it) and the
	// rollout waits for its bake to end.
	Baking State = "baking"
	// InProgress: the recorded deployment is rolling out.
	InProgress = State(state.InProgress)
	// Frozen: a change calendar is closed; nothing deploys by itself.
	Frozen State = "frozen"
	// Completed: the recorded deployment completed.
	Completed = State(state.Completed)
	// NoRecord: nothing was ever deployed (or recorded) here.
	NoRecord State = "no-record"
)

// States are every state, in Classify's order of precedence.
var States = []State{Unknown, Failed, AwaitingApproval, Drift, Baking, InProgress, Frozen, Completed, NoRecord}

// Classify decides the state of an environment's cell: the most pressing
// thing to say of it. Something to act on (a failure, an approval, drift)
// comes before a rollout that runs by itself, and that before a freeze,
// which only matters to the next deployment.
func Classify(e Environment) State {
	switch {
	case e.Error != "":
		return Unknown
	case e.Recorded && e.Rollout == state.Failed:
		return Failed
	case e.Approval != nil:
		return AwaitingApproval
	case len(e.Drift) > 0:
		return Drift
	case e.Recorded && e.Rollout == state.InProgress && e.Progress != nil && e.Progress.Baking:
		return Baking
	case e.Recorded && e.Rollout == state.InProgress:
		return InProgress
	case e.Freeze != nil:
		return Frozen
	case e.Recorded:
		return Completed
	}
	return NoRecord
}

// ApproveCommand is the command that approves the deployment waiting in an
// environment.
func ApproveCommand(repository, environment string) string {
	return "ecrdeploy approve " + repository + " --env " + environment
}
