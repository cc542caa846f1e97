package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// envRun is one environment's part of a deployment.
type envRun struct {
	name     string
	env      *config.Environment
	version  *semver.Version
	reason   Reason // set when the environment is skipped as a whole
	err      error  // set when the environment fails as a whole
	rec      *state.Record
	services []*serviceRun
}

// serviceRun is one service's part of a deployment.
type serviceRun struct {
	name     string
	outcome  Outcome
	reason   Reason
	err      error
	observed observedService
	current  string // ARN of the task definition the service runs
	base     *ecs.RegisterTaskDefinitionInput
	rendered *ecs.RegisterTaskDefinitionInput
	image    string
	newTD    string // ARN the service is (to be) pointed at
	deployID string
	diff     string
}

func (s *serviceRun) skip(r Reason)     { s.outcome, s.reason = Skipped, r }
func (s *serviceRun) fail(err error)    { s.outcome, s.err = Failed, err }
func (s *serviceRun) needsUpdate() bool { return s.outcome == "" && s.rendered != nil }

// Deploy plans req for every selected environment and, unless req.DryRun,
// applies it. Expected outcomes (skips, unchanged services, failures of one
// service) are in the Result; the error is non-nil only when a retry of the
// invocation could succeed (throttling, 5xx, timeouts).
func (d *Deployer) Deploy(ctx context.Context, req Request) (Result, error) {
	start := d.now()
	res := Result{Repository: req.Repository, Tag: req.Tag, Digest: req.Digest, Trigger: req.Trigger, Results: []ServiceResult{}}
	doc, err := d.Config.Get(ctx, req.Repository)
	switch {
	case errors.Is(err, config.ErrNotFound):
		res.Results = append(res.Results, ServiceResult{Outcome: Skipped, Reason: NoConfig})
		d.report(ctx, req, res, start)
		return res, nil
	case err != nil:
		return d.fail(ctx, res, err)
	}
	names, err := selectEnvironments(doc, req.Environments)
	if err != nil {
		return d.fail(ctx, res, err)
	}

	runs := make([]*envRun, len(names))
	var admitted []string
	for i, name := range names {
		e := &envRun{name: name, env: doc.Environments[name]}
		e.version, e.reason = admit(req, e.env)
		if e.reason == "" {
			admitted = append(admitted, name)
		}
		if res.Version == "" && e.version != nil {
			res.Version = e.version.String()
		}
		runs[i] = e
	}

	if len(admitted) > 0 {
		// One read for the state of every environment, concurrent with the
		// describes: neither waits on the other.
		states := sync.OnceValues(func() (map[string]state.Record, error) {
			if req.states != nil {
				return req.states, nil
			}
			return d.State.GetMany(ctx, req.Repository, admitted)
		})
		go states()
		var wg sync.WaitGroup
		for _, e := range runs {
			if e.reason == "" {
				wg.Go(func() { d.runEnvironment(ctx, req, e, states) })
			}
		}
		wg.Wait()
	}

	var retry []error
	for _, e := range runs {
		for _, r := range e.results(req) {
			res.Results = append(res.Results, r)
		}
		retry = append(retry, e.retryable()...)
	}
	d.report(ctx, req, res, start)
	return res, errors.Join(retry...)
}

// quietReasons are the skips that say a push was not meant for an
// environment at all, rather than that a version was turned away.
var quietReasons = map[Reason]bool{NotSemver: true, NotAnImage: true, NoTag: true, ManualEnvironment: true, NoConfig: true}

// report logs one line per decision and, unless the request is a dry run,
// publishes the result events and metrics.
func (d *Deployer) report(ctx context.Context, req Request, res Result, start time.Time) {
	d.logResults(ctx, req, res.Results)
	if req.DryRun {
		return
	}
	news := res
	news.Results = slices.DeleteFunc(slices.Clone(res.Results), func(r ServiceResult) bool {
		// An environment a reconcile leaves alone (ahead, held, outside its
		// range) is not news every quarter of an hour; nor is a push that
		// was never meant for an environment (a tag that is not a version, a
		// Helm chart, a manual environment): announcing those would cost a
		// call on every push of "latest" and every push to a repository with
		// a production environment. They stay in the result, log and metrics.
		return r.Outcome == Skipped && (req.Trigger == TriggerReconcile || quietReasons[r.Reason])
	})
	d.publish(ctx, announcements(news, req.EventID, nil))
	d.emitMetrics(res, d.now().Sub(start), nil)
}

// fail reports an error of the whole request, returning it only when a retry
// could fix it.
func (d *Deployer) fail(ctx context.Context, res Result, err error) (Result, error) {
	res.Error = err.Error()
	d.log().ErrorContext(ctx, "request failed", "repository", res.Repository, "tag", res.Tag, "error", err.Error())
	if Retryable(err) {
		return res, err
	}
	return res, nil
}

// selectEnvironments returns the environments a request names, or all of
// them in name order.
func selectEnvironments(doc *config.Document, want []string) ([]string, error) {
	if len(want) == 0 {
		return doc.Names(), nil
	}
	for _, name := range want {
		if _, ok := doc.Environments[name]; !ok {
			return nil, fmt.Errorf("environment %q: %w (have %v)", name, ErrUnknownEnvironment, doc.Names())
		}
	}
	return want, nil
}

// runEnvironment observes, plans and applies one environment.
func (d *Deployer) runEnvironment(ctx context.Context, req Request, e *envRun, states func() (map[string]state.Record, error)) {
	for _, name := range e.env.Services {
		e.services = append(e.services, &serviceRun{name: name})
	}
	client, err := d.Targets.ECS(ctx, target(req.Repository, e.name, e.env))
	if err != nil {
		e.err = err
		return
	}
	if e.env.Registry != "" {
		if e.err = d.checkReplica(ctx, req, e); e.err != nil {
			return
		}
	}
	observed, err := describeServices(ctx, client, e.env.Cluster, e.env.Services)
	if err != nil {
		e.err = err
		return
	}
	recs, err := states()
	if err != nil {
		e.err = err
		return
	}
	if rec, ok := recs[e.name]; ok {
		e.rec = &rec
	}
	if e.reason = compareState(req, e.version, e.rec); e.reason != "" {
		return
	}

	var wg sync.WaitGroup
	for _, s := range e.services {
		wg.Go(func() { d.planService(ctx, client, req, e, s, observed) })
	}
	wg.Wait()
	if req.DryRun {
		for _, s := range e.services {
			if s.needsUpdate() {
				s.outcome = Planned
				s.diff, s.err = taskdef.Diff(s.base, s.rendered, s.current, "new revision")
				if s.err != nil {
					s.outcome = Failed
				}
			}
		}
		return
	}
	d.apply(ctx, client, req, e)
}

// planService decides what one service needs: nothing (unchanged), an
// existing identical revision, or a new one.
func (d *Deployer) planService(ctx context.Context, client ECSAPI, req Request, e *envRun, s *serviceRun, observed map[string]observedService) {
	obs, ok := observed[serviceName(s.name)]
	if !ok {
		s.fail(fmt.Errorf("service %s in cluster %s: %w", s.name, e.env.Cluster, ErrServiceNotFound))
		return
	}
	s.observed = obs
	family := familyOf(obs.TaskDefinition)
	target := family
	if e.env.Family != "" {
		target = e.env.Family
	}
	latest, latestTags, found, err := describeTaskDefinition(ctx, client, target)
	if err != nil {
		s.fail(err)
		return
	}
	var latestInput *ecs.RegisterTaskDefinitionInput
	if found {
		latestInput = taskdef.FromDescribe(latest, latestTags)
	}
	if found && sameRevision(aws.ToString(latest.TaskDefinitionArn), obs.TaskDefinition) {
		s.current, s.base = aws.ToString(latest.TaskDefinitionArn), latestInput
	} else {
		cur, tags, ok, err := describeTaskDefinition(ctx, client, obs.TaskDefinition)
		if err != nil {
			s.fail(err)
			return
		}
		if !ok {
			s.fail(fmt.Errorf("task definition %s of service %s: not found", obs.TaskDefinition, s.name))
			return
		}
		s.current, s.base = aws.ToString(cur.TaskDefinitionArn), taskdef.FromDescribe(cur, tags)
	}

	registry := req.Registry
	if e.env.Registry != "" {
		registry = e.env.Registry
	}
	spec := taskdef.Spec{
		Repository:  req.Repository,
		Image:       taskdef.ImageFor(registry, req.Repository, req.Tag, req.Digest, req.ByDigest || e.env.ImageRef == config.ImageRefDigest),
		Containers:  e.env.Container,
		Environment: e.env.Environment,
		Secrets:     e.env.Secrets,
		Family:      e.env.Family,
		Tags:        revisionTags(req, e.version),
	}
	s.image = spec.Image
	// Template mode renders from the configured task definition; the
	// service may have run anything before (even another repository).
	template := e.env.TaskDefinition.Input()
	if e.rec == nil {
		images, err := taskdef.Images(s.base, spec.Containers, spec.Repository)
		if err != nil && template == nil {
			s.fail(err)
			return
		}
		for _, image := range images {
			ref := taskdef.ParseImage(image)
			if !ref.InRepository(req.Repository) {
				continue // a placeholder (or another repository's image) says nothing of our versions
			}
			if r := compareImage(req, e.version, e.env.Policy(), ref.Tag); r != "" {
				s.skip(r)
				return
			}
		}
	}
	from := s.base
	if template != nil {
		from = template
	}
	s.rendered, err = taskdef.Render(from, spec)
	if err != nil {
		s.fail(err)
		return
	}
	switch {
	case taskdef.Equal(s.rendered, s.base):
		s.outcome, s.newTD, s.rendered = Unchanged, s.current, nil
	case latestInput != nil && s.current != aws.ToString(latest.TaskDefinitionArn) && taskdef.Equal(s.rendered, latestInput):
		// A previous delivery registered this revision but did not get to
		// update the service: use it rather than register a duplicate.
		s.newTD = aws.ToString(latest.TaskDefinitionArn)
	}
}

// revisionTags are the ECS tags on a new revision: where it came from.
func revisionTags(req Request, v *semver.Version) map[string]string {
	tags := map[string]string{
		"ecrdeploy:repository": req.Repository,
		"ecrdeploy:digest":     req.Digest,
		"ecrdeploy:trigger":    string(req.Trigger),
	}
	if v != nil {
		tags["ecrdeploy:version"] = v.String()
	}
	if req.EventID != "" {
		tags["ecrdeploy:event-id"] = req.EventID
	}
	return tags
}

// results turns an environment's run into result rows, one per service.
func (e *envRun) results(req Request) []ServiceResult {
	if len(e.services) == 0 {
		for _, name := range e.env.Services {
			e.services = append(e.services, &serviceRun{name: name})
		}
	}
	out := make([]ServiceResult, 0, len(e.services))
	for _, s := range e.services {
		r := ServiceResult{
			Environment: e.name, Cluster: e.env.Cluster, Service: s.name,
			Outcome: s.outcome, Reason: s.reason, Image: s.image,
			PreviousTaskDefinition: s.current, TaskDefinition: s.newTD,
			DeploymentID: s.deployID, Diff: s.diff,
		}
		switch {
		case e.err != nil:
			r.Outcome, r.Reason, r.Error = Failed, "", e.err.Error()
		case e.reason != "":
			r.Outcome, r.Reason = Skipped, e.reason
		case s.err != nil:
			r.Outcome, r.Error = Failed, s.err.Error()
		}
		if r.Outcome == Unchanged || r.Outcome == Skipped {
			r.PreviousTaskDefinition = ""
		}
		out = append(out, r)
	}
	return out
}

// retryable returns the errors of this environment a retry could fix.
func (e *envRun) retryable() []error {
	var errs []error
	if Retryable(e.err) {
		errs = append(errs, fmt.Errorf("environment %s: %w", e.name, e.err))
	}
	for _, s := range e.services {
		if Retryable(s.err) {
			errs = append(errs, fmt.Errorf("environment %s service %s: %w", e.name, s.name, s.err))
		}
	}
	return errs
}

// logResults logs one line per decision. Environment values and secrets are
// never logged.
func (d *Deployer) logResults(ctx context.Context, req Request, results []ServiceResult) {
	for _, r := range results {
		attrs := []any{
			"repository", req.Repository, "tag", req.Tag, "digest", req.Digest, "trigger", string(req.Trigger),
			"environment", r.Environment, "cluster", r.Cluster, "service", r.Service,
			"outcome", string(r.Outcome), "reason", string(r.Reason),
		}
		if r.TaskDefinition != "" {
			attrs = append(attrs, "taskDefinition", r.TaskDefinition)
		}
		if r.Error != "" {
			d.log().ErrorContext(ctx, "decision", append(attrs, "error", r.Error)...)
			continue
		}
		d.log().InfoContext(ctx, "decision", attrs...)
	}
}
