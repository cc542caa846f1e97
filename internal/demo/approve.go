package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/report"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// approve has ECS pause the promotion target's deployment at the
// environment's approval stage (the harness's model of ECS moves it there),
// sends the deployer the ECS Hook State Change that says so, has the
// promoter approve it, and lets the model finish the canary and its bakes.
// An environment without an approval stage has nothing to approve: the
// step says so and checks nothing.
func (s *story) approve(ctx context.Context) error {
	name := s.w.target
	env := s.w.doc.Environments[name]
	if env.Deployment == nil || env.Deployment.Approval == nil || s.model == nil {
		s.say("%s has no approval stage (deployment.approval): nothing to approve", name)
		return nil
	}
	stage := env.Deployment.Approval.Stage
	s.p.heading("4/6  approval: ECS pauses %s's %s at %s; the deployer records it; the promoter approves it", name, env.Deployment.Strategy, stage)
	s.p.say("(moto's ECS has no deployment stages: the harness's model of ECS takes the deployment to the pause, and the demo sends the event ECS sends then)")
	c := s.checks()
	hooks := map[string]string{}
	for _, svc := range env.Services {
		r, err := s.model.Progress(ctx, env.Cluster, svc)
		if err != nil {
			return fmt.Errorf("approval: %w", err)
		}
		h, ok := r.AwaitingHook()
		if !c.check(ok && r.Stage == stage.ECS(), "%s/%s: ECS is at %s (%s), want a pause at %s", name, svc, r.Stage, r.Status, stage.ECS()) {
			continue
		}
		hooks[svc] = h.ID
		raw, err := s.model.HookEvent(env.Cluster, svc, h.ID)
		if err != nil {
			return fmt.Errorf("approval: %w", err)
		}
		s.p.say("ECS Hook State Change for %s (HOOK_AWAITING_ACTION):", svc)
		s.p.indent(string(raw))
		res, err := s.call(ctx, s.deployer, raw)
		if err != nil {
			return fmt.Errorf("approval: %w", err)
		}
		s.p.tables().Results(res)
		row := findRow(res, name, svc)
		c.check(row.Approval != nil && row.Approval.HookID == h.ID && row.Approval.Approve == "ecrdeploy approve "+repository+" --env "+name,
			"%s/%s: the deployer answered %+v, want the pause of hook %s with the command that approves it", name, svc, row.Approval, h.ID)
	}
	rec, err := s.state(ctx, name)
	if c.check(err == nil, "%s: state record: %v", name, err) && c.check(rec.Approval != nil, "%s: the state records no pending approval", name) {
		s.ok("%s: the state records the pause of %s at %s (hook %s); the deployer announced it (Deployment Awaiting Approval)", name, rec.Approval.Service, rec.Approval.Stage, shortHook(rec.Approval.HookID))
	}

	req, _ := json.Marshal(map[string]string{"action": "approve", "repository": repository, "environment": name})
	s.p.say("request (what `ecrdeploy approve %s --env %s --function %s` sends): %s", repository, name, promoterName, req)
	res, err := s.call(ctx, s.promoter, req)
	if err != nil {
		return fmt.Errorf("approval: %w", err)
	}
	s.p.tables().Results(res)
	mark := c.mark()
	for _, svc := range env.Services {
		row := findRow(res, name, svc)
		c.check(row.Approval != nil && row.Approval.Decision == deploy.DecisionApproved && row.Approval.HookID == hooks[svc],
			"%s/%s: the promoter answered %+v, want hook %s approved", name, svc, row.Approval, hooks[svc])
	}
	if rec, err := s.state(ctx, name); c.check(err == nil, "%s: state record: %v", name, err) {
		c.check(rec.Approval == nil, "%s: the approval is still recorded: %+v", name, rec.Approval)
	}
	// ECS goes on: the canary's share, its bake, all traffic, the final
	// bake. The model's clock jumps over the bakes.
	for _, svc := range env.Services {
		var r awstest.Rollout
		for range 5 {
			if r, err = s.model.Progress(ctx, env.Cluster, svc); err != nil {
				return fmt.Errorf("approval: %w", err)
			}
			if r.Status == awstest.ServiceDeploymentSuccessful {
				break
			}
			s.model.Elapse(time.Hour)
		}
		c.check(r.Status == awstest.ServiceDeploymentSuccessful, "%s/%s: ECS's deployment is %s at %s after its bakes, want SUCCESSFUL", name, svc, r.Status, r.Stage)
	}
	if c.since(mark) {
		s.ok("%s: approved; ECS continued exactly that pause (ContinueServiceDeployment), then ran the canary and its bakes to SUCCESSFUL (%s)",
			name, report.ShortDigest(rec.Digest))
	}
	return c.err("approval")
}

// shortHook is a hook id cut for a line of the story: "ecs-pause-" and its
// first characters.
func shortHook(id string) string {
	if len(id) <= 20 {
		return id
	}
	return id[:20] + "…"
}
