package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/internal/report"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// errChecks is returned (wrapped) by a step whose checks failed; the
// failures have been printed.
var errChecks = errors.New("checks failed")

// story runs the demo's steps against a seeded world: the push, the end of
// staging's rollout, the promotion, production's approval, the final status
// and the release board. Each step prints
// what it sends and what came back, then checks the result and what moto
// holds, and returns an error wrapping errChecks if a check failed.
type story struct {
	p     *printer
	local *localaws.Client
	// ecs reads the services as the functions see them: through the ECS
	// model in front of moto when there is one (the proxy the functions
	// use), else moto itself.
	ecs *localaws.Client
	// model is the ECS model the functions see; the story completes the
	// source's rollout in it before sending the event that says so.
	model    *awstest.ECSModel
	w        *world
	deployer function
	promoter function
	// quiet leaves out the steps' output (setup for invoke-promote); the
	// checks still run.
	quiet bool
	// afterPush is what each service ran after the push.
	afterPush map[string]running
	// page is where the board step writes the board's page.
	page string
}

// running is what moto says one service runs.
type running struct {
	environment, service string
	serviceARN           string
	taskDefinition       string // as the service has it
	image                string // of the first container that runs the repository
	vars                 map[string]string
	deploymentID         string // the PRIMARY deployment
}

// call invokes f with payload and decodes its result. A result with an
// error (the function rejected the input) is an error.
func (s *story) call(ctx context.Context, f function, payload []byte) (deploy.Result, error) {
	start := time.Now()
	out, err := f.Invoke(ctx, payload)
	if err != nil {
		return deploy.Result{}, err
	}
	s.say("%s (%s)", f.Where(), seconds(time.Since(start)))
	res, err := decodeResult(out)
	if err != nil {
		return deploy.Result{}, err
	}
	if res.Error != "" {
		return res, fmt.Errorf("the function answered an error: %s", res.Error)
	}
	return res, nil
}

func (s *story) say(format string, args ...any) {
	if !s.quiet {
		s.p.say(format, args...)
	}
}

// push sends the ECR push event to the deployer, unchanged: the automatic
// environments move to the pushed version, the manual one does not.
func (s *story) push(ctx context.Context) error {
	ev := s.w.push
	if !s.quiet {
		s.p.heading("1/6  push: ECR reports %s:%s; EventBridge delivers it to the deployer", ev.Repository, ev.Tag)
		s.p.say("%s (ECR Image Action, PUSH SUCCESS, %s), sent as is", defaultFiles.Push, report.ShortDigest(ev.Digest))
	}
	res, err := s.call(ctx, s.deployer, s.w.pushRaw)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	now, err := s.running(ctx)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if !s.quiet {
		s.p.tables().Results(res)
		s.printRunning(now)
	}
	s.afterPush = now

	c := s.checks()
	for _, name := range s.w.doc.Names() {
		env := s.w.doc.Environments[name]
		mark := c.mark()
		for _, svc := range env.Services {
			r, run := findRow(res, name, svc), now[svc]
			if env.Trigger == config.TriggerManual {
				c.check(r.Outcome == deploy.Skipped && r.Reason == policy.ManualEnvironment,
					"%s/%s: outcome %q %q, want skipped manual-environment", name, svc, r.Outcome, r.Reason)
				c.check(localaws.SameTaskDefinition(run.taskDefinition, s.w.seeded[svc]) && isImage(run.image, runningTag, ""),
					"%s/%s: ECS runs %s (%s), want it untouched: %s (%s)", name, svc, short(run.taskDefinition), run.image, short(s.w.seeded[svc]), runningTag)
				continue
			}
			if !s.checkDeployed(c, name, svc, r, run, ev.Tag, ev.Digest) {
				continue
			}
			rec, err := s.state(ctx, name)
			if c.check(err == nil, "%s: state record: %v", name, err) {
				c.check(rec.Tag == ev.Tag && rec.Digest == ev.Digest && rec.Cause == state.CausePush,
					"%s: state records %s %s by %s, want %s %s by push", name, rec.Tag, rec.Digest, rec.Cause, ev.Tag, ev.Digest)
				c.check(rec.Services[svc].DeploymentID == run.deploymentID,
					"%s/%s: state records deployment %q, ECS runs %q", name, svc, rec.Services[svc].DeploymentID, run.deploymentID)
			}
		}
		if c.since(mark) {
			if env.Trigger == config.TriggerManual {
				s.ok("%s: skipped (manual-environment); ECS still runs %s with %s:%s", name, services(env, now), repository, runningTag)
			} else {
				s.ok("%s: deployed %s; ECS runs %s with it and %s's variables; the state records it", name, ev.Tag, services(env, now), name)
			}
		}
	}
	return c.err("push")
}

// checkDeployed checks a row that should say deployed, and that ECS runs
// the new revision with the image and the environment's variables. It
// returns false, having checked nothing more, if the row does not say
// deployed.
func (s *story) checkDeployed(c *checks, name, svc string, r deploy.Row, run running, tag, digest string) bool {
	env := s.w.doc.Environments[name]
	if !c.check(r.Outcome == deploy.Deployed && r.TaskDefinition != "" && r.TaskDefinition != r.PreviousTaskDefinition,
		"%s/%s: outcome %q %q, task definition %s -> %s; want deployed in a new revision", name, svc, r.Outcome, r.Reason, short(r.PreviousTaskDefinition), short(r.TaskDefinition)) {
		return false
	}
	c.check(localaws.SameTaskDefinition(run.taskDefinition, r.TaskDefinition),
		"%s/%s: ECS runs %s, want the new revision %s", name, svc, short(run.taskDefinition), short(r.TaskDefinition))
	c.check(isImage(run.image, tag, digest), "%s/%s: ECS runs image %s, want %s:%s", name, svc, run.image, repository, tag)
	for _, k := range slices.Sorted(maps.Keys(env.Environment)) {
		c.check(run.vars[k] == env.Environment[k], "%s/%s: ECS has %s=%q, want %q", name, svc, k, run.vars[k], env.Environment[k])
	}
	return true
}

// complete sends the deployer the event ECS sends when the deployment the
// push started in the promotion's source environment completes.
func (s *story) complete(ctx context.Context) error {
	name := s.w.source
	env := s.w.doc.Environments[name]
	if !s.quiet {
		s.p.heading("2/6  rollout: ECS reports %s's deployment COMPLETED; EventBridge delivers it to the deployer", name)
		s.p.say("(moto's ECS never finishes a rollout by itself: the harness's model of ECS completes it, and the demo sends the event ECS sends then)")
	}
	rec, err := s.state(ctx, name)
	if err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	now, err := s.running(ctx)
	if err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	c := s.checks()
	for _, svc := range env.Services {
		id, run := rec.Services[svc].DeploymentID, now[svc]
		if !c.check(id != "" && id == run.deploymentID, "%s/%s: state records deployment %q, ECS's primary deployment is %q", name, svc, id, run.deploymentID) {
			continue
		}
		if s.model != nil {
			if _, err := s.model.Complete(env.Cluster, svc); err != nil {
				return fmt.Errorf("rollout: %w", err)
			}
		}
		raw, err := localaws.DeploymentEvent{ServiceARN: run.serviceARN, EventName: localaws.EventDeploymentCompleted, DeploymentID: id}.JSON()
		if err != nil {
			return fmt.Errorf("rollout: %w", err)
		}
		if !s.quiet {
			s.p.say("ECS Deployment State Change for %s, deploymentId from %s:", svc, stateName(name))
			s.p.indent(string(raw))
		}
		res, err := s.call(ctx, s.deployer, raw)
		if err != nil {
			return fmt.Errorf("rollout: %w", err)
		}
		if !s.quiet {
			s.p.tables().Results(res)
		}
		r := findRow(res, name, svc)
		c.check(r.Rollout == state.Completed, "%s/%s: the deployer answered rollout %q, want completed", name, svc, r.Rollout)
	}
	rec, err = s.state(ctx, name)
	if c.check(err == nil, "%s: state record: %v", name, err) &&
		c.check(rec.AggregateRollout() == state.Completed, "%s: state records rollout %s, want COMPLETED", name, rec.AggregateRollout()) {
		s.ok("%s: the state records %s's rollout COMPLETED: it can be promoted", name, rec.Version)
	}
	return c.err("rollout")
}

// promoteRequest is the promoter's request of the story.
func (s *story) promoteRequest() []byte {
	b, _ := json.Marshal(map[string]string{"action": "promote", "repository": repository, "from": s.w.source, "to": s.w.target})
	return b
}

// promote has the promoter deploy to the target environment the exact image
// that runs in the source.
func (s *story) promote(ctx context.Context) error {
	src, dst := s.w.source, s.w.target
	req := s.promoteRequest()
	s.p.heading("3/6  promote: %s -> %s through the promoter", src, dst)
	s.p.say("request (what `ecrdeploy promote %s --to %s --function %s` sends): %s", repository, dst, promoterName, req)
	res, err := s.call(ctx, s.promoter, req)
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	now, err := s.running(ctx)
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	s.p.tables().Results(res)
	s.printRunning(now)

	c := s.checks()
	srcRec, err := s.state(ctx, src)
	if !c.check(err == nil, "%s: state record: %v", src, err) {
		return c.err("promote")
	}
	mark := c.mark()
	c.check(res.Digest == srcRec.Digest, "the promoter deployed digest %s, want %s's %s", res.Digest, src, srcRec.Digest)
	for _, svc := range s.w.doc.Environments[dst].Services {
		s.checkDeployed(c, dst, svc, findRow(res, dst, svc), now[svc], srcRec.Tag, srcRec.Digest)
	}
	rec, err := s.state(ctx, dst)
	if c.check(err == nil, "%s: state record: %v", dst, err) {
		c.check(rec.Digest == srcRec.Digest && rec.Cause == state.CausePromote,
			"%s: state records %s by %s, want %s by promote", dst, rec.Digest, rec.Cause, srcRec.Digest)
	}
	if c.since(mark) {
		s.ok("%s: deployed %s's exact image (%s, %s); ECS runs %s with it and %s's variables",
			dst, src, report.ShortDigest(srcRec.Digest), srcRec.Tag, services(s.w.doc.Environments[dst], now), dst)
	}
	mark = c.mark()
	for svc, before := range s.afterPush {
		if before.environment != dst {
			c.check(localaws.SameTaskDefinition(now[svc].taskDefinition, before.taskDefinition),
				"%s/%s: ECS runs %s, want %s as before the promotion", before.environment, svc, short(now[svc].taskDefinition), short(before.taskDefinition))
		}
	}
	if c.since(mark) {
		s.ok("the other environments are untouched")
	}
	return c.err("promote")
}

// status asks the promoter what runs where.
func (s *story) status(ctx context.Context) error {
	req, _ := json.Marshal(map[string]string{"action": "status", "repository": repository})
	s.p.heading("5/6  status: what runs in each environment, from the promoter")
	s.p.say("request (what `ecrdeploy status %s --function %s` sends): %s", repository, promoterName, req)
	res, err := s.call(ctx, s.promoter, req)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	s.p.tables().Status(res)

	ev := s.w.push
	c := s.checks()
	mark := c.mark()
	for _, name := range s.w.doc.Names() {
		e := findEnvironment(res, name)
		c.check(e.Tag == ev.Tag && e.Digest == ev.Digest, "%s: status says %q %s, want %s %s", name, e.Tag, e.Digest, ev.Tag, ev.Digest)
	}
	src := findEnvironment(res, s.w.source)
	c.check(src.Rollout == state.Completed, "%s: status says rollout %q, want completed", s.w.source, src.Rollout)
	if c.since(mark) {
		s.ok("all %d environments run %s:%s (%s)", len(s.w.doc.Environments), repository, ev.Tag, report.ShortDigest(ev.Digest))
		var waiting []string
		for _, e := range res.Environments {
			if e.Rollout != state.Completed {
				waiting = append(waiting, e.Environment)
			}
		}
		if len(waiting) > 0 {
			s.p.say("(%s: in-progress until ECS reports the rollout done, as step 2 did for %s)", strings.Join(waiting, ", "), s.w.source)
		}
	}
	return c.err("status")
}

// running reads from moto what every configured service runs.
func (s *story) running(ctx context.Context) (map[string]running, error) {
	out := map[string]running{}
	for _, name := range s.w.doc.Names() {
		env := s.w.doc.Environments[name]
		for _, svc := range env.Services {
			desc, err := s.ecs.DescribeService(ctx, env.Cluster, svc)
			if err != nil {
				return nil, err
			}
			r := running{
				environment: name, service: svc, serviceARN: aws.ToString(desc.ServiceArn),
				taskDefinition: aws.ToString(desc.TaskDefinition), vars: map[string]string{},
			}
			for _, d := range desc.Deployments {
				if aws.ToString(d.Status) == "PRIMARY" {
					r.deploymentID = aws.ToString(d.Id)
				}
			}
			td, _, err := s.local.DescribeTaskDefinition(ctx, r.taskDefinition)
			if err != nil {
				return nil, err
			}
			for _, cd := range td.ContainerDefinitions {
				if runsRepository(cd, env) {
					r.image = aws.ToString(cd.Image)
					for _, kv := range cd.Environment {
						r.vars[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
					}
					break
				}
			}
			out[svc] = r
		}
	}
	return out, nil
}

// printRunning writes what moto says runs, with the variables the
// configuration sets.
func (s *story) printRunning(now map[string]running) {
	var keys []string
	for _, name := range s.w.doc.Names() {
		for k := range s.w.doc.Environments[name].Environment {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	s.p.say("\nin ECS (moto, read back with DescribeServices and DescribeTaskDefinition):")
	rows := [][]string{append([]string{"ENVIRONMENT", "SERVICE", "TASK DEFINITION", "IMAGE"}, keys...)}
	for _, name := range s.w.doc.Names() {
		for _, svc := range s.w.doc.Environments[name].Services {
			r := now[svc]
			row := []string{name, svc, short(r.taskDefinition), imageName(r.image)}
			for _, k := range keys {
				row = append(row, dash(r.vars[k]))
			}
			rows = append(rows, row)
		}
	}
	s.p.table(rows)
	s.p.say("")
}

// state reads an environment's state record from moto.
func (s *story) state(ctx context.Context, environment string) (state.Record, error) {
	v, ok, err := s.local.StateRecord(ctx, localaws.StateTable, repository, environment)
	if err != nil {
		return state.Record{}, err
	}
	if !ok {
		return state.Record{}, fmt.Errorf("%s: no state record", stateName(environment))
	}
	var rec state.Record
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return state.Record{}, fmt.Errorf("%s: not a state record: %w", stateName(environment), err)
	}
	return rec, nil
}

func (s *story) ok(format string, args ...any) {
	if !s.quiet {
		s.p.ok(format, args...)
	}
}

func (s *story) checks() *checks { return &checks{p: s.p} }

// checks collects the failures of a step's checks and prints them.
type checks struct {
	p        *printer
	failures int
}

// check records and prints a failure unless ok; it returns ok.
func (c *checks) check(ok bool, format string, args ...any) bool {
	if !ok {
		c.failures++
		c.p.failed(format, args...)
	}
	return ok
}

// mark and since tell whether checks failed since the mark.
func (c *checks) mark() int           { return c.failures }
func (c *checks) since(mark int) bool { return c.failures == mark }

// err returns an error wrapping errChecks if a check failed.
func (c *checks) err(step string) error {
	if c.failures > 0 {
		return fmt.Errorf("%s: %d %w", step, c.failures, errChecks)
	}
	return nil
}

// findRow returns the result row of a service, or a zero row.
func findRow(res deploy.Result, environment, service string) deploy.Row {
	for _, r := range res.Results {
		if r.Environment == environment && r.Service == service {
			return r
		}
	}
	return deploy.Row{}
}

// findEnvironment returns the status of an environment, or a zero one.
func findEnvironment(res deploy.Result, environment string) deploy.EnvironmentStatus {
	for _, e := range res.Environments {
		if e.Environment == environment {
			return e
		}
	}
	return deploy.EnvironmentStatus{}
}

// isImage reports whether image is the repository at tag, or at digest when
// digest is set.
func isImage(image, tag, digest string) bool {
	if strings.HasSuffix(image, "/"+repository+":"+tag) {
		return true
	}
	return digest != "" && strings.HasSuffix(image, "/"+repository+"@"+digest)
}

// imageName is an image without its registry.
func imageName(image string) string {
	if i := strings.LastIndexByte(image, '/'); i >= 0 {
		return image[i+1:]
	}
	return dash(image)
}

// services lists the task definitions an environment's services run.
func services(env *config.Environment, now map[string]running) string {
	var out []string
	for _, svc := range env.Services {
		out = append(out, short(now[svc].taskDefinition))
	}
	return strings.Join(out, ", ")
}

func short(td string) string { return dash(localaws.ShortTaskDefinition(td)) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
