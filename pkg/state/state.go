// Package state keeps the record of what runs in each environment of a
// repository: one SSM parameter per environment, whose parameter history is
// the audit log that rollback and status read.
package state

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/param"
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

// maxHeld bounds the list of held versions so a record stays well inside the
// 4 KiB limit of a standard SSM parameter.
const maxHeld = 20

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
	// LastCompleted is the last version whose deployment COMPLETED here; it
	// is what runs again after a FAILED deployment was rolled back.
	LastCompleted string `json:"lastCompleted,omitempty"`
	// Good are the deployments whose rollout completed here, newest first,
	// at most maxGood: what a rollback can go back to without reading the
	// parameter's history.
	Good []Deployment `json:"good,omitempty"`
	// Failed is the last deployment ECS failed or rolled back here.
	Failed *Failure `json:"failed,omitempty"`

	// ParameterVersion is the version of the SSM parameter the record was
	// read from or written as (0 when unknown). Parameter Store numbers the
	// writes of a parameter, which is how concurrent writers find out whom
	// they overwrote.
	ParameterVersion int64 `json:"-"`
}

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

// maxGood bounds the known-good deployments a record keeps.
const maxGood = 5

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
	ReplacedDeploymentID string  `json:"replacedDeploymentId,omitempty"`
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
	return slices.Contains(r.Held, version)
}

// Hold adds version to the held versions, keeping the newest maxHeld.
func (r *Record) Hold(version string) {
	if version == "" || r.IsHeld(version) {
		return
	}
	r.Held = append(r.Held, version)
	if len(r.Held) > maxHeld {
		r.Held = r.Held[len(r.Held)-maxHeld:]
	}
}

// Unhold removes the held versions for which drop returns true.
func (r *Record) Unhold(drop func(version string) bool) {
	r.Held = slices.DeleteFunc(r.Held, drop)
	if len(r.Held) == 0 {
		r.Held = nil
	}
}

// ErrNotFound is returned when an environment has no state record yet.
var ErrNotFound = errors.New("no state record")

// SSMAPI is the part of the SSM API the store uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	ssm.GetParameterHistoryAPIClient
}

// Store reads and writes state records in SSM Parameter Store.
type Store struct {
	client SSMAPI
	prefix string
}

// NewStore returns a Store for records under {prefix}/state/.
//
// The prefix is normalised as the configuration store normalises it
// (param.Prefix), so that both read and write under the same path; one it
// refuses is kept as given, and every name under it is then refused by
// SSM, so nothing is written to a path the configuration is not read from.
func NewStore(client SSMAPI, prefix string) *Store {
	if p, err := param.Prefix(prefix); err == nil {
		prefix = p
	}
	return &Store{client: client, prefix: prefix}
}

// Name returns the parameter name of an environment's record.
func (s *Store) Name(repository, environment string) string {
	return s.prefix + "/state/" + repository + "/" + environment
}

// Get returns the record of one environment. It returns ErrNotFound (wrapped)
// when there is none, and an error naming the parameter when it cannot be read
// or decoded.
func (s *Store) Get(ctx context.Context, repository, environment string) (Record, error) {
	name := s.Name(repository, environment)
	out, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return Record{}, fmt.Errorf("state %s: %w", name, ErrNotFound)
		}
		return Record{}, fmt.Errorf("read state %s: %w", name, err)
	}
	rec, err := decode(name, aws.ToString(out.Parameter.Value))
	rec.ParameterVersion = out.Parameter.Version
	return rec, err
}

// GetVersion returns one earlier version of an environment's record. It
// returns ErrNotFound (wrapped) when that version does not exist.
func (s *Store) GetVersion(ctx context.Context, repository, environment string, version int64) (Record, error) {
	name := s.Name(repository, environment)
	out, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(fmt.Sprintf("%s:%d", name, version))})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		var vnf *ssmtypes.ParameterVersionNotFound
		if errors.As(err, &nf) || errors.As(err, &vnf) {
			return Record{}, fmt.Errorf("state %s version %d: %w", name, version, ErrNotFound)
		}
		return Record{}, fmt.Errorf("read state %s version %d: %w", name, version, err)
	}
	rec, err := decode(name, aws.ToString(out.Parameter.Value))
	rec.ParameterVersion = version
	return rec, err
}

// Key names the record of one environment of one repository.
type Key struct {
	Repository, Environment string
}

// GetMany returns the records of several environments of one repository,
// reading up to ten per call. Environments without a record are absent
// from the map. When some records cannot be decoded it returns the others
// with an *Unreadable error saying which; any other error is a read that
// failed, and no records come with it.
func (s *Store) GetMany(ctx context.Context, repository string, environments []string) (map[string]Record, error) {
	keys := make([]Key, len(environments))
	for i, env := range environments {
		keys[i] = Key{Repository: repository, Environment: env}
	}
	got, err := s.GetKeys(ctx, keys)
	var bad *Unreadable
	if err != nil && !errors.As(err, &bad) {
		return nil, err // it names the parameters, and so the repository
	}
	recs := make(map[string]Record, len(got))
	for k, rec := range got {
		recs[k.Environment] = rec
	}
	return recs, err
}

// GetKeys returns the records of environments of any repositories, reading
// ten per call whatever repository each belongs to, so that a reconcile
// reads a fleet's records in a tenth as many calls. Environments without a
// record are absent from the map. When some records cannot be decoded it
// returns the others with an *Unreadable error saying which; any other
// error is a read that failed, and no records come with it.
func (s *Store) GetKeys(ctx context.Context, keys []Key) (map[Key]Record, error) {
	var bad *Unreadable
	recs := make(map[Key]Record, len(keys))
	byName := make(map[string]Key, len(keys))
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		n := s.Name(k.Repository, k.Environment)
		if _, dup := byName[n]; dup {
			continue
		}
		byName[n] = k
		names = append(names, n)
	}
	for chunk := range slices.Chunk(names, 10) {
		out, err := s.client.GetParameters(ctx, &ssm.GetParametersInput{Names: chunk})
		if err != nil {
			return nil, fmt.Errorf("read state %s: %w", strings.Join(chunk, ", "), err)
		}
		for _, p := range out.Parameters {
			name := aws.ToString(p.Name)
			k, ok := byName[name]
			if !ok {
				continue // not a name we asked for
			}
			rec, err := decode(name, aws.ToString(p.Value))
			if err != nil {
				if bad == nil {
					bad = &Unreadable{Keys: map[Key]error{}}
				}
				bad.Keys[k] = err
				continue
			}
			rec.ParameterVersion = p.Version
			recs[k] = rec
		}
	}
	if bad != nil {
		return recs, bad
	}
	return recs, nil
}

// Unreadable is the error of GetMany and GetKeys when some records could
// be read but not decoded: one environment's bad record fails that
// environment only, and the others' records come with it.
type Unreadable struct {
	Keys map[Key]error // the decoding error of each record
}

// Error lists the environments whose records are unreadable.
func (u *Unreadable) Error() string {
	keys := slices.SortedFunc(maps.Keys(u.Keys), func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Environment, b.Environment))
	})
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Repository + "/" + k.Environment
	}
	return "unreadable state of " + strings.Join(names, ", ") + ": " + u.Keys[keys[0]].Error()
}

// Of returns the error of one environment's record, nil when it was read,
// in the answer of GetMany: every key is of one repository.
func (u *Unreadable) Of(environment string) error {
	if u == nil {
		return nil
	}
	for k, err := range u.Keys {
		if k.Environment == environment {
			return err
		}
	}
	return nil
}

// OfKey returns the error of one record, nil when it was read.
func (u *Unreadable) OfKey(k Key) error {
	if u == nil {
		return nil
	}
	return u.Keys[k]
}

// Only returns the part of the error about one repository's records (an
// *Unreadable), as GetMany would have answered for it; nil when they were
// all read.
func (u *Unreadable) Only(repository string) error {
	if u == nil {
		return nil
	}
	var part *Unreadable
	for k, err := range u.Keys {
		if k.Repository != repository {
			continue
		}
		if part == nil {
			part = &Unreadable{Keys: map[Key]error{}}
		}
		part.Keys[k] = err
	}
	if part == nil {
		return nil
	}
	return part
}

// Put writes a record, creating a new version of its parameter, and returns
// that version.
func (s *Store) Put(ctx context.Context, rec Record) (int64, error) {
	name := s.Name(rec.Repository, rec.Environment)
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode state %s: %w", name, err)
	}
	// An environment with many services outgrows the standard tier.
	out, err := s.client.PutParameter(ctx, param.Put(name, data, ssmtypes.ParameterTierAdvanced))
	if err != nil {
		return 0, fmt.Errorf("write state %s: %w", name, err)
	}
	return out.Version, nil
}

func decode(name, value string) (Record, error) {
	var rec Record
	if err := json.Unmarshal([]byte(value), &rec); err != nil {
		return Record{}, fmt.Errorf("state %s: not a state record: %w", name, err)
	}
	return rec, nil
}

// History returns every record an environment has had, oldest first: the
// versions of its parameter. It returns ErrNotFound (wrapped) when the
// environment has no record. Versions that are not records are skipped.
func (s *Store) History(ctx context.Context, repository, environment string) ([]Record, error) {
	name := s.Name(repository, environment)
	var recs []Record
	pages := ssm.NewGetParameterHistoryPaginator(s.client, &ssm.GetParameterHistoryInput{Name: aws.String(name), MaxResults: aws.Int32(50)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			var nf *ssmtypes.ParameterNotFound
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("state %s: %w", name, ErrNotFound)
			}
			return nil, fmt.Errorf("read state history %s: %w", name, err)
		}
		for _, p := range page.Parameters {
			if rec, err := decode(name, aws.ToString(p.Value)); err == nil {
				rec.ParameterVersion = p.Version
				recs = append(recs, rec)
			}
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("state %s: %w", name, ErrNotFound)
	}
	return recs, nil
}
