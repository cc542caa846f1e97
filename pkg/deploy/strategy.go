package deploy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// deploymentConfiguration returns the deployment configuration an
// UpdateService sends for an environment's deployment block, given the
// service's current one (target.Service.DeploymentConfiguration; nil when
// ECS reports none): what the block sets, and nothing it leaves out. It is
// nil when there is no block, or the block sets nothing.
//
// UpdateService keeps the members of deploymentConfiguration a call leaves
// out: the API is stateful, so a field that is not sent is not changed
// (aws/aws-cdk#25346: "the ECS UpdateService API is stateful, meaning that
// if a field is not present ..., it will be ignored in the update";
// aws/copilot-cli#4565: alarms are not disassociated unless sent). A nested
// object or list that is sent, though, is taken whole: DeploymentAlarms and
// DeploymentCircuitBreaker have required members ("This member is
// required", API Reference, "DeploymentAlarms", "DeploymentCircuitBreaker"),
// and lifecycleHooks is a list. So where the block sets part of one
// (canary.percent without canary.bakeMinutes, circuitBreaker without a
// threshold, an approval beside the service's Lambda hooks), the rest is
// copied from current, and ECS keeps what it had rather than resetting it
// to its default:
//
//   - linear and canary: the members the block leaves out come from the
//     service's linearConfiguration and canaryConfiguration;
//   - circuitBreaker: enable and rollback from the block, the threshold from
//     the block or else the service, resetOnHealthyTask from the service;
//   - alarms: the names from the block, enabled, rollback from the block or
//     else the service's (when it watches alarms) or else true;
//   - lifecycle hooks: an approval replaces the service's pause hooks with
//     one at its stage; hooks replace its Lambda hooks (an empty list
//     removes them); each keeps the other kind as the service has it.
//     Without either, lifecycleHooks is not sent.
func deploymentConfiguration(dc *config.Deployment, current *ecstypes.DeploymentConfiguration) *ecstypes.DeploymentConfiguration {
	if dc == nil {
		return nil
	}
	cur := current
	if cur == nil {
		cur = &ecstypes.DeploymentConfiguration{}
	}
	out := &ecstypes.DeploymentConfiguration{
		Strategy:              ecstypes.DeploymentStrategy(dc.Strategy.ECS()),
		BakeTimeInMinutes:     dc.BakeMinutes,
		MaximumPercent:        dc.MaximumPercent,
		MinimumHealthyPercent: dc.MinimumHealthyPercent,
	}
	if l := dc.Linear; l != nil {
		lc := ecstypes.LinearConfiguration{}
		if c := cur.LinearConfiguration; c != nil {
			lc.StepPercent, lc.StepBakeTimeInMinutes = c.StepPercent, c.StepBakeTimeInMinutes
		}
		lc.StepPercent = orPtr(l.StepPercent, lc.StepPercent)
		lc.StepBakeTimeInMinutes = orPtr(l.StepBakeMinutes, lc.StepBakeTimeInMinutes)
		out.LinearConfiguration = &lc
	}
	if c := dc.Canary; c != nil {
		cc := ecstypes.CanaryConfiguration{}
		if k := cur.CanaryConfiguration; k != nil {
			cc.CanaryPercent, cc.CanaryBakeTimeInMinutes = k.CanaryPercent, k.CanaryBakeTimeInMinutes
		}
		cc.CanaryPercent = orPtr(c.Percent, cc.CanaryPercent)
		cc.CanaryBakeTimeInMinutes = orPtr(c.BakeMinutes, cc.CanaryBakeTimeInMinutes)
		out.CanaryConfiguration = &cc
	}
	if cb := dc.CircuitBreaker; cb != nil {
		b := ecstypes.DeploymentCircuitBreaker{Enable: cb.Enable, Rollback: cb.Rollback}
		if c := cur.DeploymentCircuitBreaker; c != nil {
			b.ResetOnHealthyTask, b.ThresholdConfiguration = c.ResetOnHealthyTask, c.ThresholdConfiguration
		}
		if t := cb.Threshold; t != nil {
			b.ThresholdConfiguration = &ecstypes.ThresholdConfiguration{Type: thresholdType(t.Type), Value: t.Value}
		}
		out.DeploymentCircuitBreaker = &b
	}
	if a := dc.Alarms; a != nil {
		rollback := true
		if c := cur.Alarms; c != nil && c.Enable {
			rollback = c.Rollback
		}
		if a.Rollback != nil {
			rollback = *a.Rollback
		}
		out.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: slices.Clone(a.Names), Enable: true, Rollback: rollback}
	}
	if dc.Approval != nil || dc.Hooks != nil {
		out.LifecycleHooks = lifecycleHooks(dc, cur.LifecycleHooks)
	}
	if out.Strategy == "" && out.BakeTimeInMinutes == nil && out.MaximumPercent == nil && out.MinimumHealthyPercent == nil &&
		out.LinearConfiguration == nil && out.CanaryConfiguration == nil && out.DeploymentCircuitBreaker == nil &&
		out.Alarms == nil && out.LifecycleHooks == nil {
		return nil
	}
	return out
}

// lifecycleHooks returns the lifecycle hooks to send: the block's Lambda
// hooks, or else the service's, and the approval's pause hook, or else the
// service's pause hooks. It is never nil, so that an empty list is sent
// (and removes the service's hooks) rather than left out.
func lifecycleHooks(dc *config.Deployment, current []ecstypes.DeploymentLifecycleHook) []ecstypes.DeploymentLifecycleHook {
	out := []ecstypes.DeploymentLifecycleHook{}
	if dc.Hooks != nil {
		for _, h := range dc.Hooks {
			hook := ecstypes.DeploymentLifecycleHook{
				TargetType:      ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda,
				HookTargetArn:   aws.String(h.Function),
				RoleArn:         aws.String(h.RoleARN),
				LifecycleStages: hookStages(h.Stages),
			}
			if h.TimeoutMinutes != nil {
				hook.TimeoutConfiguration = &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: h.TimeoutMinutes}
			}
			out = append(out, hook)
		}
	} else {
		for _, h := range current {
			if h.TargetType != ecstypes.DeploymentLifecycleHookTargetTypePause {
				out = append(out, h)
			}
		}
	}
	if a := dc.Approval; a != nil {
		// A pause hook has no target and no role ("Pause hooks do not use
		// hookTargetArn or roleArn", "Pause hooks for Amazon ECS service
		// deployments", Developer Guide).
		hook := ecstypes.DeploymentLifecycleHook{
			TargetType:      ecstypes.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: hookStages([]config.Stage{a.Stage}),
		}
		if a.TimeoutMinutes != nil || a.OnTimeout != "" {
			hook.TimeoutConfiguration = &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: a.TimeoutMinutes}
			if a.OnTimeout != "" {
				hook.TimeoutConfiguration.Action = ecstypes.DeploymentLifecycleHookAction(a.OnTimeout.ECS())
			}
		}
		out = append(out, hook)
	} else {
		for _, h := range current {
			if h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause {
				out = append(out, h)
			}
		}
	}
	return out
}

func hookStages(stages []config.Stage) []ecstypes.DeploymentLifecycleHookStage {
	out := make([]ecstypes.DeploymentLifecycleHookStage, len(stages))
	for i, s := range stages {
		out[i] = ecstypes.DeploymentLifecycleHookStage(s.ECS())
	}
	return out
}

// thresholdType is ECS's threshold type of t: a percentage is
// BOUNDED_PERCENT, which ECS keeps between 3 and 200 tasks, its default
// ("ThresholdConfiguration", API Reference).
func thresholdType(t config.ThresholdType) ecstypes.ThresholdType {
	if t == config.ThresholdCount {
		return ecstypes.ThresholdTypeCount
	}
	return ecstypes.ThresholdTypeBoundedPercent
}

func orPtr[T any](v, otherwise *T) *T {
	if v != nil {
		return v
	}
	return otherwise
}

// updateFields says what UpdateService would send besides the task
// definition, for a dry run: the desired count and the deployment settings
// the environment configures, as deploymentConfiguration completes them
// from the service (svc).
func updateFields(env *config.Environment, svc target.Service) string {
	var parts []string
	if env.DesiredCount != nil {
		parts = append(parts, fmt.Sprintf("desiredCount %d (now %d)", *env.DesiredCount, svc.DesiredCount))
	}
	dc := env.Deployment
	out := deploymentConfiguration(dc, svc.DeploymentConfiguration)
	if out == nil {
		return strings.Join(parts, ", ")
	}
	if dc.Strategy != "" {
		now := ""
		if c := svc.DeploymentConfiguration; c != nil && c.Strategy != "" {
			if was := config.ParseStrategy(string(c.Strategy)); was != dc.Strategy {
				now = " (now " + string(was) + ")"
			}
		}
		parts = append(parts, "strategy "+string(dc.Strategy)+now)
	}
	if l := out.LinearConfiguration; l != nil {
		parts = append(parts, "linear steps of "+percentOr(l.StepPercent, "ECS's default share")+" every "+minutesOr(l.StepBakeTimeInMinutes, "ECS's default time"))
	}
	if c := out.CanaryConfiguration; c != nil {
		parts = append(parts, "canary "+percentOr(c.CanaryPercent, "at ECS's default share")+" for "+minutesOr(c.CanaryBakeTimeInMinutes, "ECS's default time"))
	}
	if out.BakeTimeInMinutes != nil {
		parts = append(parts, "bake "+minutesOr(out.BakeTimeInMinutes, ""))
	}
	if out.MaximumPercent != nil {
		parts = append(parts, fmt.Sprintf("maximumPercent %d", *out.MaximumPercent))
	}
	if out.MinimumHealthyPercent != nil {
		parts = append(parts, fmt.Sprintf("minimumHealthyPercent %d", *out.MinimumHealthyPercent))
	}
	if cb := out.DeploymentCircuitBreaker; cb != nil {
		text := fmt.Sprintf("circuit breaker with rollback %v", cb.Rollback)
		if !cb.Enable {
			text = "circuit breaker off"
		} else if t := cb.ThresholdConfiguration; t != nil {
			if t.Type == ecstypes.ThresholdTypeCount {
				text += fmt.Sprintf(" after %d failed tasks", t.Value)
			} else {
				text += fmt.Sprintf(" after %d %% of the desired count failed", t.Value)
			}
		}
		parts = append(parts, text)
	}
	if a := out.Alarms; a != nil {
		rollback := "with rollback"
		if !a.Rollback {
			rollback = "without rollback"
		}
		parts = append(parts, "alarms "+strings.Join(a.AlarmNames, ", ")+" "+rollback)
	}
	if a := dc.Approval; a != nil {
		timeout, action := "1440 min", config.ActionRollback // ECS's defaults ("DeploymentLifecycleHookTimeoutConfiguration")
		if a.TimeoutMinutes != nil {
			timeout = minutesOr(a.TimeoutMinutes, "")
		}
		if a.OnTimeout != "" {
			action = a.OnTimeout
		}
		parts = append(parts, fmt.Sprintf("approval at %s (then %s after %s)", a.Stage, action, timeout))
	}
	if dc.Hooks != nil {
		if len(dc.Hooks) == 0 {
			parts = append(parts, "no Lambda hooks")
		}
		for _, h := range dc.Hooks {
			stages := make([]string, len(h.Stages))
			for i, s := range h.Stages {
				stages[i] = string(s)
			}
			parts = append(parts, "hook "+functionName(h.Function)+" at "+strings.Join(stages, ", "))
		}
	}
	return strings.Join(parts, ", ")
}

func percentOr(p *float64, otherwise string) string {
	if p == nil {
		return otherwise
	}
	return strconv.FormatFloat(*p, 'f', -1, 64) + " %"
}

func minutesOr(m *int32, otherwise string) string {
	if m == nil {
		return otherwise
	}
	return fmt.Sprintf("%d min", *m)
}

// functionName is the name of a Lambda function ARN (with its qualifier).
func functionName(arn string) string {
	if _, name, ok := strings.Cut(arn, ":function:"); ok {
		return name
	}
	return arn
}
