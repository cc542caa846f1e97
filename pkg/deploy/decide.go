package deploy

import (
	"cmp"

	"github.com/Masterminds/semver/v3"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// The functions of this file decide; none of them calls AWS or reads the
// clock. admit decides from the request and the configuration alone,
// compareState from the environment's state record, planService from what
// ECS says about one service.

// admit decides from the request and the environment's policy alone, before
// any AWS call: a tag that no environment takes costs nothing.
func admit(req Request, env *config.Environment) (*semver.Version, policy.Reason) {
	if req.Cause.Automatic() && env.Trigger == config.TriggerManual {
		return nil, policy.ManualEnvironment
	}
	v, reason := env.Policy().Evaluate(req.Tag)
	switch {
	case reason == policy.Accepted:
		return v, policy.Accepted
	case reason == policy.NotSemver:
		return nil, reason
	case req.Force:
		return v, policy.Accepted
	}
	return v, reason
}

// compareState decides from the environment's state record: a held version,
// a downgrade or an overwritten tag is skipped unless forced. Accepted means
// go on and compare task definitions.
func compareState(req Request, v *semver.Version, rec *state.Record) policy.Reason {
	if rec == nil || req.Force {
		return policy.Accepted
	}
	if rec.IsHeld(v.String()) {
		return policy.Held
	}
	current := rec.Version
	if rec.AggregateRollout() == state.Failed && rec.LastCompleted != "" {
		// The failed version was rolled back (by the circuit breaker or a
		// person): what runs, and what a push must not go below, is the last
		// version that completed.
		current = rec.LastCompleted
	}
	cur, err := semver.StrictNewVersion(current)
	if err != nil || rec.IsHeld(current) {
		// A held version is no floor: whatever is not held may replace it
		// (the fix of a version a rollback left held, say).
		return policy.Accepted
	}
	switch c := v.Compare(cur); {
	case c < 0:
		return policy.OlderThanCurrent
	case c == 0 && current == rec.Version && rec.Digest != "" && rec.Digest != req.Digest:
		if rec.Tag == req.Tag {
			return policy.Retagged
		}
		// Another tag of the same version (build metadata differs): not newer.
		return policy.OlderThanCurrent
	}
	return policy.Accepted
}

// compareImage decides, when an environment has no state record yet, from the
// version tag of the image the service runs: pushing an older version than
// the one running is a downgrade all the same.
func compareImage(req Request, v *semver.Version, p *policy.Policy, runningTag string) policy.Reason {
	if req.Force || runningTag == "" {
		return policy.Accepted
	}
	cur, ok := p.Version(runningTag)
	if !ok || v.Compare(cur) >= 0 {
		return policy.Accepted
	}
	return policy.OlderThanCurrent
}

// servicePlan is the decision for one service: its outcome (Deployed means
// "to deploy": apply registers rendered, unless revision already names an
// identical one, and points the service at it), why, and what it rests on.
type servicePlan struct {
	service  string
	outcome  Outcome
	reason   policy.Reason
	err      error
	observed serviceObservation
	base     *ecs.RegisterTaskDefinitionInput // what the service runs, as RegisterTaskDefinition takes it
	rendered *ecs.RegisterTaskDefinitionInput // what it should run
	// revision is the revision the service is to run when it is known
	// before applying: the current one (unchanged) or an identical one a
	// previous delivery registered.
	revision string
	image    string
	diff     string // dry runs: from what the service runs to rendered
	update   string // dry runs: what UpdateService would send besides the revision
}

// current is the ARN of the revision the service runs.
func (p servicePlan) current() string { return p.observed.current.ARN }

// register reports whether applying the plan registers a new revision.
func (p servicePlan) register() bool { return p.outcome == Deployed && p.revision == "" }

// planService decides what one service needs: nothing (unchanged), an
// existing identical revision, or a new one; or that it is skipped (a
// downgrade of the image it runs) or failed (it could not be observed or
// rendered).
func planService(req Request, e environment, rec *state.Record, o serviceObservation) servicePlan {
	p := servicePlan{service: o.name, observed: o}
	switch {
	case o.err != nil:
		p.outcome, p.err = Failed, o.err
		return p
	case !deployable(o.service):
		// Neither ECS nor CodeDeploy deploys it (EXTERNAL): register
		// nothing.
		p.outcome, p.reason = Skipped, policy.UnsupportedController
		return p
	}
	p.base = taskdef.FromDescribe(o.current.Def, o.current.Tags)
	registry := cmp.Or(e.env.Registry, req.Registry)
	spec := taskdef.Spec{
		Repository:  req.Repository,
		Image:       taskdef.ImageFor(registry, req.Repository, req.Tag, req.Digest, req.ByDigest || e.env.ImageRef == config.ImageRefDigest),
		Containers:  e.env.Container,
		Environment: e.env.Environment,
		Secrets:     e.env.Secrets,
		Family:      e.env.Family,
		Tags:        revisionTags(req, e.version),
	}
	// Template mode renders from the configured task definition; the
	// service may have run anything before (even another repository).
	template := e.env.TaskDefinition.Input()
	if template == nil {
		spec.Image = sameImage(req, e, rec, o, p.base, spec)
	}
	p.image = spec.Image
	if rec == nil {
		images, err := taskdef.Images(p.base, spec.Containers, spec.Repository)
		if err != nil && template == nil {
			p.outcome, p.err = Failed, err
			return p
		}
		// Without a record, the revision's own ecrdeploy:version tag says
		// what runs, whatever the image reference (a digest says nothing of
		// the version).
		if r := compareImage(req, e.version, e.env.Policy(), revisionTag(o.current, "ecrdeploy:version")); r != policy.Accepted {
			p.outcome, p.reason = Skipped, r
			return p
		}
		for _, image := range images {
			ref := taskdef.ParseImage(image)
			if !ref.InRepository(req.Repository) {
				continue // a placeholder (or another repository's image) says nothing of our versions
			}
			if r := compareImage(req, e.version, e.env.Policy(), ref.Tag); r != policy.Accepted {
				p.outcome, p.reason = Skipped, r
				return p
			}
		}
	}
	from := p.base
	if template != nil {
		from = template
	}
	rendered, err := taskdef.Render(from, spec)
	if err != nil {
		p.outcome, p.err = Failed, err
		return p
	}
	if revision, ok := codeDeployingRequest(req, e, rec, o); ok {
		p.outcome, p.revision = Unchanged, revision // CodeDeploy is deploying it
		return p
	}
	switch {
	case taskdef.Equal(rendered, p.base):
		p.outcome, p.revision = Unchanged, p.current()
	case o.latest != nil && taskdef.Equal(rendered, taskdef.FromDescribe(o.latest.Def, o.latest.Tags)):
		// A previous delivery registered this revision but did not get to
		// update the service: use it rather than register a duplicate.
		p.outcome, p.rendered, p.revision = Deployed, rendered, o.latest.ARN
		if codeDeploying(rec, o) {
			p.outcome, p.rendered = Unchanged, nil // CodeDeploy is deploying it
		}
	case o.known != nil && taskdef.Equal(rendered, taskdef.FromDescribe(o.known.Def, o.known.Tags)):
		// The revision a known-good deployment of this version ran (a
		// rollback, a redeploy): reused, not registered again.
		p.outcome, p.rendered, p.revision = Deployed, rendered, o.known.ARN
	default:
		p.outcome, p.rendered = Deployed, rendered
	}
	return p
}

// sameImage returns the image reference to render, deciding identity by
// digest. When the service already runs the request's digest (under
// another tag spelling, "v1.2.0" for "1.2.0", or another registry host),
// the reference it runs is kept, so that the same image is not rolled out
// again. When it runs another digest under the very reference the request
// would render (the tag was moved to a new image), the image is rendered
// by digest, so that ECS pulls the new one instead of seeing no change.
func sameImage(req Request, e environment, rec *state.Record, o serviceObservation, base *ecs.RegisterTaskDefinitionInput, spec taskdef.Spec) string {
	running := runningDigest(rec, o)
	images, err := taskdef.Images(base, spec.Containers, spec.Repository)
	if err != nil || running == "" || len(images) == 0 {
		return spec.Image
	}
	var current string
	for _, image := range images {
		if current != "" && image != current {
			return spec.Image // containers run different references: render them all anew
		}
		current = image
	}
	ref := taskdef.ParseImage(current)
	switch {
	case !ref.InRepository(req.Repository):
		return spec.Image
	case running == req.Digest && (ref.Digest == "" || ref.Digest == req.Digest) && sameVersion(e, ref.Tag):
		return current
	case running != req.Digest && current == spec.Image && ref.Digest == "":
		return taskdef.ImageFor(ref.Registry, req.Repository, req.Tag, req.Digest, true)
	}
	return spec.Image
}

// sameVersion reports whether a tag is the environment's version of the
// request, however it is spelled.
func sameVersion(e environment, tag string) bool {
	v, ok := e.env.Policy().Version(tag)
	return ok && e.version != nil && v.Equal(e.version)
}

// runningDigest is the digest of the image a service runs, when it is
// known: from the ecrdeploy:digest tag of the revision it runs, or from the
// record when the record names that revision.
func runningDigest(rec *state.Record, o serviceObservation) string {
	if digest := revisionTag(o.current, "ecrdeploy:digest"); digest != "" {
		return digest
	}
	if rec != nil && ecsref.SameRevision(rec.Services[o.name].TaskDefinition, o.current.ARN) {
		return rec.Digest
	}
	return ""
}

// revisionTag returns the value of one of a revision's tags, "" without it.
func revisionTag(td target.TaskDefinition, key string) string {
	for _, t := range td.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// holdFor is the version to hold in an environment before a request
// replaces its current version: the one a rollback names, or the current
// version a manual deploy goes below (so that the next reconcile does not
// undo the downgrade). "" for none.
func holdFor(req Request, v *semver.Version, current state.Record) string {
	if req.Hold != "" || req.Cause.Automatic() || v == nil {
		return req.Hold
	}
	if cur, err := semver.StrictNewVersion(current.Version); err == nil && v.LessThan(cur) {
		return current.Version
	}
	return ""
}

// revisionTags are the ECS tags on a new revision: where it came from.
func revisionTags(req Request, v *semver.Version) map[string]string {
	cause := req.Cause
	if cause == state.CausePlan {
		cause = state.CauseDeploy // a plan shows the revision a deploy would register
	}
	tags := map[string]string{
		"ecrdeploy:repository": req.Repository,
		"ecrdeploy:digest":     req.Digest,
		"ecrdeploy:trigger":    string(cause),
	}
	if v != nil {
		tags["ecrdeploy:version"] = v.String()
	}
	if req.EventID != "" {
		tags["ecrdeploy:event-id"] = req.EventID
	}
	return tags
}

// dryRun turns a plan into what a dry run reports: a revision to deploy is
// planned, with a unified diff from what the service runs.
func dryRun(p servicePlan, env *config.Environment) servicePlan {
	if p.outcome != Deployed {
		return p
	}
	diff, err := taskdef.Diff(p.base, p.rendered, p.current(), "new revision")
	if err != nil {
		p.outcome, p.err = Failed, err
		return p
	}
	p.outcome, p.diff, p.update = Planned, diff, updateFields(env, p.observed.service)
	return p
}

// row is the result row of a plan that apply does not carry further.
func (p servicePlan) row(e environment) Row {
	r := Row{
		Environment: e.name, Cluster: e.env.Cluster, Service: p.service,
		Outcome: p.outcome, Reason: p.reason, Image: p.image,
		PreviousTaskDefinition: p.current(), TaskDefinition: p.revision, Diff: p.diff, Update: p.update,
	}
	if p.err != nil {
		r.Error = p.err.Error()
	}
	if r.Outcome == Unchanged || r.Outcome == Skipped {
		r.PreviousTaskDefinition = ""
	}
	return r
}

// environmentRows are the rows of an environment decided as a whole:
// skipped for reason, or failed with err.
func environmentRows(name string, env *config.Environment, reason policy.Reason, err error) []Row {
	rows := make([]Row, len(env.Services))
	for i, svc := range env.Services {
		rows[i] = Row{Environment: name, Cluster: env.Cluster, Service: svc, Outcome: Skipped, Reason: reason}
		if err != nil {
			rows[i].Outcome, rows[i].Reason, rows[i].Error = Failed, policy.Accepted, err.Error()
		}
	}
	return rows
}
