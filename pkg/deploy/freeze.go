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

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// CalendarReaders gives the SSM client that reads change calendars in a
// region ("" for the function's own); *target.Pool satisfies it. The
// Deployer finds it on its Targets.
type CalendarReaders interface {
	Calendars(ctx context.Context, region string) (target.CalendarAPI, error)
}

// ErrNoCalendarReader is an environment with change calendars that the
// Deployer has no means to read: it is not deployed, rather than deployed
// through a freeze nobody could check.
var ErrNoCalendarReader = errors.New("no SSM client to read change calendars with")

// holdBack is why an environment is skipped as a whole before anything of
// it is decided: a closed change calendar, a replica that does not have the
// image yet. Until is when it is expected to proceed, when known.
type holdBack struct {
	reason policy.Reason
	detail string
	until  time.Time
}

// rows are the environment's rows: every service skipped for the reason,
// saying why in words.
func (h *holdBack) rows(e environment) []Row {
	rows := environmentRows(e.name, e.env, h.reason, nil)
	for i := range rows {
		rows[i].Detail = h.detail
		if !h.until.IsZero() {
			until := h.until
			rows[i].Until = &until
		}
	}
	return rows
}

// readCalendars reads the state of each of an environment's change
// calendars, concurrently: a name in the function's own region, an ARN in
// its own. It returns nil for an environment without calendars.
func (d *Deployer) readCalendars(ctx context.Context, env *config.Environment) ([]target.Calendar, error) {
	if env.Freeze == nil || len(env.Freeze.Calendars) == 0 {
		return nil, nil
	}
	readers, ok := d.Targets.(CalendarReaders)
	if !ok {
		return nil, fmt.Errorf("change calendars %s: %w", strings.Join(env.Freeze.Calendars, ", "), ErrNoCalendarReader)
	}
	cals := make([]target.Calendar, len(env.Freeze.Calendars))
	errs := make([]error, len(env.Freeze.Calendars))
	var wg sync.WaitGroup
	for i, name := range env.Freeze.Calendars {
		wg.Go(func() {
			region := target.CalendarRegion(name, "")
			if region == d.Region {
				region = ""
			}
			client, err := readers.Calendars(ctx, region)
			if err == nil {
				cals[i], err = target.CalendarState(ctx, client, name)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return cals, errors.Join(errs...)
}

// freezeCheck reads an environment's calendars and decides whether the
// request waits for them (freeze). A request that goes through a freeze
// (throughFreeze) reads none.
func (d *Deployer) freezeCheck(ctx context.Context, req Request, e environment) (*holdBack, error) {
	if throughFreeze(req) || e.env.Freeze == nil {
		return nil, nil
	}
	cals, err := d.readCalendars(ctx, e.env)
	if err != nil {
		return nil, err
	}
	return freeze(req, cals), nil
}

// freeze decides whether a request waits for an environment's change
// calendars: while any is CLOSED, nothing is deployed there. An automatic
// request (push, reconcile) waits for the calendars to open, which the
// calendar's state change event or a later reconcile catches up; a manual
// one is refused, saying that force deploys through the freeze. The
// environment opens when the last closed calendar does (as far as their
// transitions say: a calendar may close again later). A request that goes
// through a freeze (throughFreeze) is never held. nil means go on.
func freeze(req Request, cals []target.Calendar) *holdBack {
	if throughFreeze(req) {
		return nil
	}
	var closed []string
	var until time.Time
	known := true
	for _, c := range cals {
		if c.Open {
			continue
		}
		closed = append(closed, c.Name)
		switch {
		case c.Next.IsZero():
			known = false
		case c.Next.After(until):
			until = c.Next
		}
	}
	if len(closed) == 0 {
		return nil
	}
	if !known {
		until = time.Time{}
	}
	what := "change calendar " + closed[0] + " is CLOSED"
	if len(closed) > 1 {
		what = "change calendars " + strings.Join(closed, ", ") + " are CLOSED"
	}
	when := "until it opens (no opening is scheduled)"
	if len(closed) > 1 {
		when = "until they open (no opening is scheduled for all of them)"
	}
	if !until.IsZero() {
		when = "until " + until.UTC().Format(time.RFC3339)
	}
	detail := what + " " + when + ": the deploy waits for the freeze to end"
	if !req.Cause.Automatic() {
		detail = what + " " + when + ": --force deploys through the freeze"
	}
	return &holdBack{reason: policy.Frozen, detail: detail, until: until}
}

// throughFreeze reports whether a request deploys whatever the
// environment's change calendars say. A rollback does: it puts back a
// deployment that completed there, the way out of an incident, which a
// freeze (a holiday, a sales peak) is no reason to keep running. So does a
// manual deploy or promote whose person asked for force (ForceAsked); the
// force ecrdeploy sets itself (Force: a rollback's, to go back to a lower
// version) does not count. Pushes and reconciles never go through.
func throughFreeze(req Request) bool {
	return req.Cause == state.CauseRollback || req.ForceAsked && req.Cause.Manual()
}

// FreezeStatus is what an environment's change calendars say now.
type FreezeStatus struct {
	// Closed are the calendars that are CLOSED; none when the environment
	// is not frozen.
	Closed []string `json:"closed,omitempty"`
	// Until is when the last of them opens, when every one of them says.
	Until *time.Time `json:"until,omitempty"`
	// Error says why the calendars could not be read.
	Error string `json:"error,omitempty"`
}

// freezeStatus is the freeze of an environment as status shows it; nil
// for an environment without calendars, or whose calendars are all open.
func (d *Deployer) freezeStatus(ctx context.Context, env *config.Environment) *FreezeStatus {
	cals, err := d.readCalendars(ctx, env)
	if err != nil {
		return &FreezeStatus{Error: err.Error()}
	}
	h := freeze(Request{Cause: state.CauseReconcile}, cals)
	if h == nil {
		return nil
	}
	fs := &FreezeStatus{}
	for _, c := range cals {
		if !c.Open {
			fs.Closed = append(fs.Closed, c.Name)
		}
	}
	if !h.until.IsZero() {
		until := h.until
		fs.Until = &until
	}
	return fs
}

// CalendarChanged catches up the environments a change calendar held back,
// when it opens: every push environment that names the calendar (by name,
// when the event is from the function's own account and region, or by its
// ARN) is reconciled, through the deciding and applying code of a push.
// An environment that another calendar still holds stays skipped as
// frozen. A calendar that closes changes nothing: the deploys it holds
// back are refused as they come. Errors are as for Reconcile.
func (d *Deployer) CalendarChanged(ctx context.Context, ev event.CalendarChange) (Result, error) {
	ctx, protect := d.protecting(ctx) // the keep tags follow the records written (protectwritten.go)
	defer protect()
	out := Result{Cause: state.CauseReconcile}
	if !ev.Open() {
		d.log().InfoContext(ctx, "change calendar closed", "calendar", ev.Calendar, "until", ev.NextTransition)
		return out, nil
	}
	docs, err := d.Config.List(ctx)
	if err != nil {
		if target.Retryable(err) {
			return out, err
		}
		d.log().ErrorContext(ctx, "calendar opened: list configuration", "calendar", ev.Calendar, "error", err.Error())
		return out, nil
	}
	var own string
	if d.Account != nil {
		if own, err = d.Account(ctx); err != nil {
			return out, fmt.Errorf("who am I (to tell my calendars by name): %w", err)
		}
	}
	held := heldBy(docs, ev, d.Region, own)
	repos := slices.Sorted(maps.Keys(held))
	observed := d.observeFleet(ctx, held, repos)
	var errs []error
	for _, repo := range repos {
		res, err := d.reconcileRepository(ctx, event.Schedule{ID: ev.ID, Time: ev.Time}, repo, held[repo], observed)
		out.Repositories = append(out.Repositories, res)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// heldBy returns, for each repository, a document of only its push
// environments that name the calendar of a state change event: by its ARN,
// or by its name when the event is from the account (own; "" for any) and
// region of the function, where a name is read. The environments are the
// configured ones, shared read-only.
func heldBy(docs map[string]*config.Document, ev event.CalendarChange, region, own string) map[string]*config.Document {
	local := ev.Region == region && (own == "" || ev.Account == own)
	out := map[string]*config.Document{}
	for repo, doc := range docs {
		for _, name := range pushEnvironments(doc) {
			env := doc.Environments[name]
			if env.Freeze == nil {
				continue
			}
			for _, c := range env.Freeze.Calendars {
				if c != ev.Calendar && !(local && c == ev.Name()) {
					continue
				}
				if out[repo] == nil {
					out[repo] = &config.Document{Environments: map[string]*config.Environment{}}
				}
				out[repo].Environments[name] = env
				break
			}
		}
	}
	return out
}
