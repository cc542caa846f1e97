package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// The release board reads the whole fleet at once, as a reconcile does
// (observeEnvironments): one listing of the configuration, the records of
// every environment a hundred a call, the services ten a call per cluster
// of each region and role, each change calendar once, and the service
// deployments of the traffic-shifting rollouts under way twenty a call. It
// writes nothing: a record ECS has moved on from is shown as ECS says it
// (repairRecord) and left for the next delivery or reconcile to write.

// boardConcurrency bounds the calls a board read makes at once beyond the
// fleet's own (judging rollouts whose deployment ECS no longer lists,
// change calendars, service deployments).
const boardConcurrency = 8

// BoardOptions are how a board is read.
type BoardOptions struct {
	// OwnCredentials describes only the environments the Deployer's own
	// credentials reach: an environment with a roleArn is not described
	// (the role may write, and a reader that may only read assumes none),
	// and its cell says what its record says.
	OwnCredentials bool
}

// Board reads the release board: every configured repository and each of
// its environments, with what its record says brought up to what ECS says,
// assuming the roles of environments in other accounts. It satisfies
// board.Source; see ReadBoard for its errors.
func (d *Deployer) Board(ctx context.Context) (board.Board, error) {
	return d.ReadBoard(ctx, BoardOptions{})
}

// BoardSource returns the board.Source that reads the board with opts.
func (d *Deployer) BoardSource(opts BoardOptions) board.Source {
	return boardSource{d: d, opts: opts}
}

type boardSource struct {
	d    *Deployer
	opts BoardOptions
}

func (s boardSource) Board(ctx context.Context) (board.Board, error) {
	return s.d.ReadBoard(ctx, s.opts)
}

// ReadBoard reads the release board with opts. It fails only when the
// configuration cannot be listed (the error of ConfigSource.List); a
// repository whose document is invalid, or an environment whose record,
// services or change calendars cannot be read, says why in its Error and
// the others are shown.
func (d *Deployer) ReadBoard(ctx context.Context, opts BoardOptions) (board.Board, error) {
	docs, invalid, err := d.listAll(ctx)
	if err != nil {
		return board.Board{}, err
	}
	now := d.now()
	repos := slices.Sorted(maps.Keys(docs))

	observer := d
	if opts.OwnCredentials {
		observer = &Deployer{Config: d.Config, State: d.State, Targets: ownTargets{d.Targets}, Region: d.Region, Log: d.Log, Now: d.Now}
	}
	var cals calendarStates
	var wg sync.WaitGroup
	wg.Go(func() { cals = d.readFleetCalendars(ctx, docs) })
	f := observer.observeEnvironments(ctx, docs, repos, (*config.Document).Names)
	wg.Wait()

	reads := boardReads(docs, repos, f)
	d.describeBoardDeployments(ctx, reads)
	d.judgeBoard(ctx, reads, now)

	out := board.Board{Repositories: []board.Repository{}}
	i := 0
	for _, repo := range slices.Sorted(maps.Keys(joinKeys(docs, invalid))) {
		if err, bad := invalid[repo]; bad {
			out.Repositories = append(out.Repositories, board.Repository{Name: repo, Environments: []board.Environment{}, Error: err.Error()})
			continue
		}
		r := board.Repository{Name: repo, Environments: []board.Environment{}}
		for ; i < len(reads) && reads[i].key.Repository == repo; i++ {
			r.Environments = append(r.Environments, boardEnvironment(reads[i], cals))
		}
		out.Repositories = append(out.Repositories, r)
	}
	d.log().InfoContext(ctx, "board read", "repositories", len(out.Repositories), "environments", len(reads), "invalid", len(invalid))
	return out, nil
}

// listAll lists every configuration: the valid documents and, when the
// source can say (config.Store), why the others are invalid.
func (d *Deployer) listAll(ctx context.Context) (map[string]*config.Document, map[string]error, error) {
	if all, ok := d.Config.(interface {
		ListAll(context.Context) (map[string]*config.Document, map[string]error, error)
	}); ok {
		return all.ListAll(ctx)
	}
	docs, err := d.Config.List(ctx)
	return docs, nil, err
}

func joinKeys(docs map[string]*config.Document, invalid map[string]error) map[string]bool {
	all := make(map[string]bool, len(docs)+len(invalid))
	for repo := range docs {
		all[repo] = true
	}
	for repo := range invalid {
		all[repo] = true
	}
	return all
}

// errRoleNotAssumed is the answer of ownTargets for an environment with a
// role: it is not described, and that is no error of the environment.
var errRoleNotAssumed = errors.New("the board assumes no role")

// ownTargets are targets that reach only what the function's own
// credentials reach.
type ownTargets struct{ Targets }

func (o ownTargets) ECS(ctx context.Context, t target.Target) (target.ECSAPI, error) {
	if t.RoleARN != "" {
		return nil, errRoleNotAssumed
	}
	return o.Targets.ECS(ctx, t)
}

// boardRead is what the board read of one environment.
type boardRead struct {
	key state.Key
	env *config.Environment
	// rec is the record, brought up to what ECS says when its services
	// were described; nil when the environment has none.
	rec *state.Record
	// described says ECS described the environment's services (services,
	// with client): drift, missing services and rollouts come from it.
	described bool
	client    target.ECSAPI
	services  map[string]target.Service
	// progress and approval are what ECS's service deployment says of a
	// traffic-shifting rollout under way.
	progress *board.Progress
	approval *board.Approval
	errs     []string
}

// boardReads are the environments of the repositories as the fleet
// observation read them, in repository and environment name order.
func boardReads(docs map[string]*config.Document, repos []string, f *fleet) []*boardRead {
	undescribed := map[state.Key]error{}
	for _, u := range f.undescribed {
		for _, k := range u.keys {
			undescribed[k] = u.err
		}
	}
	var reads []*boardRead
	for _, repo := range repos {
		doc := docs[repo]
		for _, name := range doc.Names() {
			k := state.Key{Repository: repo, Environment: name}
			r := &boardRead{key: k, env: doc.Environments[name]}
			switch bad := f.unreadable.OfKey(k); {
			case f.stateErr != nil:
				r.errs = append(r.errs, f.stateErr.Error())
			case bad != nil:
				r.errs = append(r.errs, bad.Error())
			default:
				if rec, ok := f.recs[k]; ok {
					r.rec = &rec
				}
			}
			if fe, ok := f.envs[k]; ok {
				r.described, r.client, r.services = true, fe.client, fe.services
			} else if err := undescribed[k]; err != nil && !errors.Is(err, errRoleNotAssumed) {
				r.errs = append(r.errs, err.Error())
			}
			reads = append(reads, r)
		}
	}
	return reads
}

// judgeBoard brings each described environment's record up to what ECS
// says of its deployments (ecsViews, repairRecord), without writing it,
// boardConcurrency environments at a time: judging reads the
// service-deployments history of a deployment ECS no longer lists.
func (d *Deployer) judgeBoard(ctx context.Context, reads []*boardRead, now time.Time) {
	sem := make(chan struct{}, boardConcurrency)
	var wg sync.WaitGroup
	for _, r := range reads {
		if r.rec == nil || !r.described {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			views := ecsViews(ctx, r.client, d.codeDeployOf(ctx, r.key.Repository, r.key.Environment, r.env), r.env.Cluster, *r.rec, r.services)
			repaired, _ := repairRecord(*r.rec, views, now)
			r.rec = &repaired
			// The stage, traffic and pending approval of a rollout of
			// the blue-green family still under way, from the service
			// deployment it was judged by.
			for _, name := range slices.Sorted(maps.Keys(views)) {
				if v := views[name]; v.sd != nil && repaired.Services[name].Rollout == state.InProgress {
					r.applyBlueGreen(name, *v.sd, now)
				}
			}
		})
	}
	wg.Wait()
}

// applyBlueGreen puts what ECS's service deployment says of one service's
// rollout on the environment: its stage, traffic and bake while it runs,
// the approval it waits for at a pause hook, or how it ended.
func (r *boardRead) applyBlueGreen(service string, sd target.ServiceDeploymentDetail, now time.Time) {
	svc := r.services[ecsref.ServiceName(service)]
	v := judgeBlueGreen(sd, svc.CurrentServiceDeployment, now)
	entry := r.rec.Services[service]
	switch v.rollout {
	case state.Completed, state.Failed:
		at := sd.FinishedAt
		if at.IsZero() {
			at = sd.UpdatedAt
		}
		reason := ""
		if v.rollout == state.Failed {
			reason = v.text
		}
		rec := cloneRecord(*r.rec)
		applyRollout(&rec, service, entry.DeploymentID, v.rollout, reason, cmpTime(at, now))
		r.rec = &rec
		return
	case state.InProgress:
	default:
		return
	}
	if r.progress == nil {
		r.progress = progressOf(sd, v)
	}
	if v.awaiting != nil && v.awaiting.Type == hookTypePause && r.approval == nil {
		a := &board.Approval{Version: r.rec.Version, Stage: string(config.ParseStage(sd.Stage))}
		a.Since, a.Expires = utcTime(sd.UpdatedAt), utcTime(v.awaiting.ExpiresAt)
		r.approval = a
	}
}

// progressOf is the board's view of a rollout of the blue-green family
// under way: strategy, stage, the share of production traffic on the new
// revision and, while one runs, the bake and when it ends. A bake runs in
// BAKE_TIME (all production traffic moved, the old revision still up) and,
// for a canary or a linear step, in PRODUCTION_TRAFFIC_SHIFT while part of
// the traffic has moved; it counts from the service deployment's
// updatedAt, the last change ECS reports, as the status line does
// (blueGreenText). It calls nothing.
func progressOf(sd target.ServiceDeploymentDetail, v blueGreenView) *board.Progress {
	strategy := config.ParseStrategy(sd.Strategy)
	p := &board.Progress{Strategy: string(strategy), Stage: sd.Stage}
	if p.Strategy == "" {
		p.Strategy = "deployment"
	}
	if v.production >= 0 {
		share := v.production
		p.TrafficPercent = &share
	}
	var bake *int32
	switch {
	case sd.Stage == stageBakeTime:
		p.Baking, bake = true, sd.BakeMinutes
	case sd.Stage == stageProductionTrafficShift && v.production > 0 && v.production < 100 && strategy == config.StrategyCanary:
		p.Baking, bake = true, orDefault(sd.CanaryBakeMinutes, defaultCanaryBakeMinutes)
	case sd.Stage == stageProductionTrafficShift && v.production > 0 && v.production < 100 && strategy == config.StrategyLinear:
		p.Baking, bake = true, orDefault(sd.StepBakeMinutes, defaultStepBakeMinutes)
	}
	if p.Baking && bake != nil && !sd.UpdatedAt.IsZero() {
		ends := sd.UpdatedAt.Add(time.Duration(*bake) * time.Minute).UTC()
		p.BakeEnds = &ends
	}
	return p
}

func orDefault(v *int32, def int32) *int32 {
	if v != nil {
		return v
	}
	return &def
}

// recordedApproval is the pending approval a record keeps (recorded from
// ECS's Hook State Change, approval.go), as the board shows it; nil when
// it keeps none, and the board then shows the pause hook ECS's service
// deployment awaits action on (applyBlueGreen). The record's comes first:
// it is the one `ecrdeploy approve` answers.
func recordedApproval(rec state.Record) *board.Approval {
	a := rec.Approval
	if a == nil {
		return nil
	}
	out := &board.Approval{Version: rec.Version, Stage: a.Stage}
	out.Since, out.Expires = utcTime(a.Since), utcTime(a.Expires)
	return out
}

// boardEnvironment is the board's cell of an environment: its record's
// facts (as ECS says them), its drift, its freeze, and what could not be
// read. It calls nothing.
func boardEnvironment(r *boardRead, cals calendarStates) board.Environment {
	e := board.Environment{Name: r.key.Environment, PromoteFrom: r.env.PromoteFrom}
	errs := slices.Clone(r.errs)
	if r.rec != nil {
		rec := *r.rec
		e.Recorded = true
		e.Version, e.Tag, e.Digest = rec.Version, rec.Tag, rec.Digest
		e.Rollout = rec.AggregateRollout()
		if rec.Cause == state.CauseECS && rec.Failed != nil {
			// ECS rolled the deployment ecrdeploy made back (repairRecord):
			// what runs is what it went back to, and the deployment
			// failed, until the next one replaces the record.
			e.Rollout = state.Failed
		}
		e.Held = heldOf(rec)
		e.DeployedBy, e.Failed = rec.Cause, rec.Failed
		e.DeployedAt = utcTime(rec.Time)
		e.Approval = recordedApproval(rec)
		if e.Approval == nil {
			e.Approval = r.approval
		}
		if e.Rollout == state.InProgress {
			e.Progress = r.progress
		}
	}
	if r.described {
		for _, svc := range r.env.Services {
			running, ok := r.services[ecsref.ServiceName(svc)]
			if !ok {
				errs = append(errs, fmt.Sprintf("service %s not found in cluster %s", svc, r.env.Cluster))
				continue
			}
			if r.rec == nil {
				continue
			}
			recorded := r.rec.Services[svc].TaskDefinition
			if recorded != "" && running.TaskDefinition != "" && !ecsref.SameRevision(recorded, running.TaskDefinition) {
				e.Drift = append(e.Drift, board.ServiceDrift{Service: svc, Recorded: ecsref.FamilyRevision(recorded), Running: ecsref.FamilyRevision(running.TaskDefinition)})
			}
		}
	}
	freeze, err := cals.freezeOf(r.env)
	if err != nil {
		errs = append(errs, err.Error())
	}
	e.Freeze = freeze
	e.Error = strings.Join(errs, "; ")
	return e
}

// heldOf are a record's held versions, with those it holds as a range
// ("≤1.2.0", HeldThrough) first.
func heldOf(rec state.Record) []string {
	held := slices.Clone(rec.Held)
	if rec.HeldThrough != "" {
		held = append([]string{"≤" + rec.HeldThrough}, held...)
	}
	return held
}

// calendarKey names a change calendar as it is read: in a region ("" for
// the function's own), by name or ARN.
type calendarKey struct{ region, name string }

// calendarStates are the change calendars of the fleet, each read once,
// with the error of those that could not be; err is set when no
// calendar could be read at all (no reader).
type calendarStates struct {
	region string
	cals   map[calendarKey]target.Calendar
	errs   map[calendarKey]error
	err    error
}

// key is how a calendar of the configuration is read.
func (c calendarStates) key(name string) calendarKey {
	region := target.CalendarRegion(name, "")
	if region == c.region {
		region = ""
	}
	return calendarKey{region: region, name: name}
}

// readFleetCalendars reads every change calendar the documents name, each
// once whatever number of environments name it, boardConcurrency at a
// time.
func (d *Deployer) readFleetCalendars(ctx context.Context, docs map[string]*config.Document) calendarStates {
	out := calendarStates{region: d.Region, cals: map[calendarKey]target.Calendar{}, errs: map[calendarKey]error{}}
	var keys []calendarKey
	seen := map[calendarKey]bool{}
	for _, doc := range docs {
		for _, env := range doc.Environments {
			if env.Freeze == nil {
				continue
			}
			for _, name := range env.Freeze.Calendars {
				if k := out.key(name); !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
	}
	if len(keys) == 0 {
		return out
	}
	readers, ok := d.Targets.(CalendarReaders)
	if !ok {
		out.err = ErrNoCalendarReader
		return out
	}
	var mu sync.Mutex
	sem := make(chan struct{}, boardConcurrency)
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			client, err := readers.Calendars(ctx, k.region)
			var cal target.Calendar
			if err == nil {
				cal, err = target.CalendarState(ctx, client, k.name)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.errs[k] = err
				return
			}
			out.cals[k] = cal
		})
	}
	wg.Wait()
	return out
}

// freezeOf is an environment's freeze as its calendars say (freeze): nil
// when it has none or they are all open. It returns the errors of the
// calendars that could not be read: then whether it is frozen is not
// known, as a deployment there would fail to know it.
func (c calendarStates) freezeOf(env *config.Environment) (*board.Freeze, error) {
	if env.Freeze == nil || len(env.Freeze.Calendars) == 0 {
		return nil, nil
	}
	if c.err != nil {
		return nil, fmt.Errorf("change calendars %s: %w", strings.Join(env.Freeze.Calendars, ", "), c.err)
	}
	cals := make([]target.Calendar, 0, len(env.Freeze.Calendars))
	var errs []error
	for _, name := range env.Freeze.Calendars {
		k := c.key(name)
		if err := c.errs[k]; err != nil {
			errs = append(errs, err)
			continue
		}
		cals = append(cals, c.cals[k])
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	h := freeze(Request{Cause: state.CauseReconcile}, cals)
	if h == nil {
		return nil, nil
	}
	f := &board.Freeze{}
	for _, cal := range cals {
		if !cal.Open {
			f.Calendars = append(f.Calendars, cal.Name)
		}
	}
	f.Until = utcTime(h.until)
	return f, nil
}

// boardRequest answers the promoter's board request: the board read now
// and laid out (Result.Board) and, when the request's output asks for a
// table or a page, written so (Result.Rendered). It fails as ReadBoard does.
func (d *Deployer) boardRequest(ctx context.Context, req request.Request) (Result, error) {
	var res Result
	b, err := d.Board(ctx)
	if err != nil {
		return d.fail(ctx, res, err)
	}
	g := board.Layout(b, d.now())
	res.Board = &g
	switch f := board.Format(req.Output); f {
	case board.Table, board.HTML:
		var buf strings.Builder
		if err := board.Write(&buf, g, f, board.Options{}); err != nil {
			return d.fail(ctx, res, err)
		}
		res.Rendered = buf.String()
	}
	return res, nil
}
