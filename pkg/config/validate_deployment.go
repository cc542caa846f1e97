package config

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Bounds of the deployment settings ECS documents (Amazon ECS API Reference
// and Developer Guide, as cited at each).
const (
	// maxStageMinutes bounds bakeMinutes, linear.stepBakeMinutes and
	// canary.bakeMinutes: "Each lifecycle stage can last up to 24 hours"
	// ("Amazon ECS blue/green service deployments workflow"), and "Valid
	// values are 0 to 1440 minutes (24 hours)" ("LinearConfiguration",
	// "CanaryConfiguration").
	maxStageMinutes = 1440
	// maxPauseMinutes bounds approval.timeoutMinutes: "1 - 20,160 (14
	// days)" ("Pause hooks for Amazon ECS service deployments").
	maxPauseMinutes = 20160
	// maxLambdaHookMinutes bounds hooks[].timeoutMinutes: "Valid range: 1
	// to 1,440 (24 hours)" ("Lambda hooks for Amazon ECS service
	// deployments").
	maxLambdaHookMinutes = 1440
	// maxHooks: "You can configure a maximum of 10 pause hooks and 10
	// Lambda hooks per service" ("Pause hooks for Amazon ECS service
	// deployments").
	maxHooks = 10
	// maxAlarmName: CloudWatch alarm names are 1 to 255 characters
	// ("PutMetricAlarm", Amazon CloudWatch API Reference).
	maxAlarmName = 255
	// maxThresholdPercent bounds a percent threshold: ECS documents no
	// bound, but a share of the desired count above 100 % is a typo far
	// more often than a plan (ECS keeps the result between 3 and 200
	// tasks anyway).
	maxThresholdPercent = 100
)

// lambdaARN is the ARN of a Lambda function, with an optional version or
// alias.
var lambdaARN = input.NewPattern(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$`)

// blueGreenFamily lists the strategies of the blue-green family, for
// messages.
const blueGreenFamily = "blue-green, linear or canary"

func (v *validator) deployment(path string, d *Deployment, services int) {
	if d == nil {
		return
	}
	v.codeDeploy(path+".codeDeploy", d.CodeDeploy, services)
	switch d.Strategy {
	case "", StrategyRolling, StrategyBlueGreen, StrategyLinear, StrategyCanary:
	default:
		if s := ParseStrategy(string(d.Strategy)); s.BlueGreenFamily() || s == StrategyRolling {
			v.problem(path+".strategy", "invalid strategy %q: write it as %q", d.Strategy, s)
		} else {
			v.problem(path+".strategy", "invalid strategy: want rolling, blue-green, linear or canary")
		}
	}

	if m := d.MaximumPercent; m != nil && (*m < minMaximumPercent || *m > maxMaximumPercent) {
		v.problem(path+".maximumPercent", "must be from %d to %d", minMaximumPercent, maxMaximumPercent)
	}
	if m := d.MinimumHealthyPercent; m != nil && (*m < 0 || *m > maxMinimumHealthy) {
		v.problem(path+".minimumHealthyPercent", "must be from 0 to %d", maxMinimumHealthy)
	}
	if d.MaximumPercent != nil && d.MinimumHealthyPercent != nil && *d.MinimumHealthyPercent >= *d.MaximumPercent {
		v.problem(path, "minimumHealthyPercent is not below maximumPercent: a rolling update would have no room to replace a task")
	}

	if d.BakeMinutes != nil {
		v.blueGreenOnly(path, "bakeMinutes", d.Strategy)
		v.minutes(path+".bakeMinutes", *d.BakeMinutes, 0, maxStageMinutes)
	}
	if l := d.Linear; l != nil {
		v.strategyOnly(path, "linear", d.Strategy, StrategyLinear)
		if p := l.StepPercent; p != nil {
			v.percent(path+".linear.stepPercent", *p, 3)
		}
		if m := l.StepBakeMinutes; m != nil {
			v.minutes(path+".linear.stepBakeMinutes", *m, 0, maxStageMinutes)
		}
	}
	if c := d.Canary; c != nil {
		v.strategyOnly(path, "canary", d.Strategy, StrategyCanary)
		if p := c.Percent; p != nil {
			v.percent(path+".canary.percent", *p, 0.1)
		}
		if m := c.BakeMinutes; m != nil {
			v.minutes(path+".canary.bakeMinutes", *m, 0, maxStageMinutes)
		}
	}
	if cb := d.CircuitBreaker; cb != nil {
		if d.Strategy.BlueGreenFamily() {
			v.problem(path+".circuitBreaker", "ECS uses the circuit breaker only for rolling updates, not for strategy %s: alarms, hooks and the approval fail a deployment of the blue-green family", d.Strategy)
		}
		if t := cb.Threshold; t != nil {
			v.threshold(path+".circuitBreaker.threshold", t)
		}
	}
	if a := d.Alarms; a != nil {
		v.alarms(path+".alarms", a)
	}
	if a := d.Approval; a != nil {
		v.blueGreenOnly(path, "approval", d.Strategy)
		v.approval(path+".approval", a)
	}
	if d.Hooks != nil {
		v.blueGreenOnly(path, "hooks", d.Strategy)
		if len(d.Hooks) > maxHooks {
			v.problem(path+".hooks", "%d hooks, more than the %d Lambda hooks ECS allows a service", len(d.Hooks), maxHooks)
		}
		for i := range d.Hooks {
			v.hook(fmt.Sprintf("%s.hooks[%d]", path, i), &d.Hooks[i])
		}
	}
}

// blueGreenOnly reports field, set beside a strategy that is not of the
// blue-green family (or beside none).
func (v *validator) blueGreenOnly(path, field string, s Strategy) {
	switch s {
	case "":
		v.problem(path+"."+field, "needs strategy %s: it belongs to those strategies, and the document does not say which the service uses", blueGreenFamily)
	case StrategyRolling:
		v.problem(path+"."+field, "belongs to strategies %s, not rolling", blueGreenFamily)
	}
}

// strategyOnly reports field, set beside a strategy other than want.
func (v *validator) strategyOnly(path, field string, s, want Strategy) {
	if s != want {
		got := "none"
		if s != "" {
			got = string(s)
		}
		v.problem(path+"."+field, "needs strategy %s (strategy is %s)", want, got)
	}
}

func (v *validator) minutes(path string, m, lo, hi int32) {
	if m < lo || m > hi {
		v.problem(path, "must be from %d to %d minutes", lo, hi)
	}
}

// percent checks a share of traffic: a multiple of 0.1 from lo to 100.0, as
// ECS takes it ("LinearConfiguration", "CanaryConfiguration", API
// Reference).
func (v *validator) percent(path string, p, lo float64) {
	tenths := p * 10
	switch {
	case math.IsNaN(p) || p < lo-1e-9 || p > 100+1e-9:
		v.problem(path, "must be from %.1f to 100.0", lo)
	case math.Abs(tenths-math.Round(tenths)) > 1e-6:
		v.problem(path, "must be a multiple of 0.1")
	}
}

func (v *validator) threshold(path string, t *Threshold) {
	switch t.Type {
	case ThresholdCount:
		if t.Value < 1 {
			v.problem(path+".value", "must be 1 or more failed tasks")
		}
	case ThresholdPercent:
		if t.Value < 1 || t.Value > maxThresholdPercent {
			v.problem(path+".value", "must be from 1 to %d percent of the desired count", maxThresholdPercent)
		}
	case "":
		v.problem(path+".type", "required: count or percent")
	default:
		v.problem(path+".type", "invalid threshold type: want count or percent")
	}
}

func (v *validator) alarms(path string, a *Alarms) {
	if len(a.Names) == 0 {
		v.problem(path+".names", "at least one alarm name is required")
		return
	}
	seen := make(map[string]bool, len(a.Names))
	for i, n := range a.Names {
		p := fmt.Sprintf("%s.names[%d]", path, i)
		switch {
		case n == "":
			v.problem(p, "empty alarm name")
		case len(n) > maxAlarmName:
			v.problem(p, "alarm name longer than %d characters", maxAlarmName)
		case strings.Contains(n, ","):
			// ECS keeps the names as one comma-separated list
			// ("DeploymentAlarms", API Reference).
			v.problem(p, "alarm name contains ',': give each alarm as its own entry")
		case seen[n]:
			v.problem(p, "duplicate alarm")
		}
		seen[n] = true
	}
}

func (v *validator) approval(path string, a *Approval) {
	switch {
	case a.Stage == "":
		v.problem(path+".stage", "required: the stage at which ECS pauses (%s)", stageList(approvalStages()))
	case a.Stage == StageReconcileService:
		v.problem(path+".stage", "ECS reaches reconcile-service only when more than one revision is active, so most deployments would not pause: pause at %s", stageList(approvalStages()))
	case a.Stage == StageTestTrafficShift || a.Stage == StageProductionTrafficShift:
		v.problem(path+".stage", "ECS cannot pause at %s (it runs that stage during a rollback too): pause at %s", a.Stage, stageList(approvalStages()))
	case !slices.Contains(approvalStages(), a.Stage):
		v.problem(path+".stage", "%s", unknownStage(a.Stage, approvalStages()))
	}
	if m := a.TimeoutMinutes; m != nil {
		v.minutes(path+".timeoutMinutes", *m, 1, maxPauseMinutes)
	}
	switch a.OnTimeout {
	case "", ActionRollback, ActionContinue:
	default:
		v.problem(path+".onTimeout", "invalid action: want rollback or continue")
	}
}

// approvalStages are the stages an approval may pause at: where ECS can
// pause, but not reconcile-service, which most deployments skip.
func approvalStages() []Stage {
	return slices.DeleteFunc(slices.Clone(PauseStages), func(s Stage) bool { return s == StageReconcileService })
}

func (v *validator) hook(path string, h *Hook) {
	switch {
	case h.Function == "":
		v.problem(path+".function", "required: the ARN of a Lambda function")
	case !lambdaARN.MatchString(h.Function):
		v.problem(path+".function", "invalid function: want a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>")
	}
	switch {
	case h.RoleARN == "":
		v.problem(path+".roleArn", "required: the IAM role ECS assumes to invoke the function")
	case !roleARN.MatchString(h.RoleARN):
		v.problem(path+".roleArn", "invalid role ARN: want arn:aws:iam::<account>:role/<name>")
	}
	if len(h.Stages) == 0 {
		v.problem(path+".stages", "at least one stage is required (%s)", stageList(HookStages))
	}
	seen := make(map[Stage]bool, len(h.Stages))
	for i, s := range h.Stages {
		p := fmt.Sprintf("%s.stages[%d]", path, i)
		switch {
		case !slices.Contains(HookStages, s):
			v.problem(p, "%s", unknownStage(s, HookStages))
		case seen[s]:
			v.problem(p, "duplicate stage")
		}
		seen[s] = true
	}
	if m := h.TimeoutMinutes; m != nil {
		v.minutes(path+".timeoutMinutes", *m, 1, maxLambdaHookMinutes)
	}
}

// unknownStage describes a stage that is not among valid, suggesting the
// document's spelling of an ECS spelling.
func unknownStage(s Stage, valid []Stage) string {
	if p := ParseStage(string(s)); p != s && slices.Contains(valid, p) {
		return fmt.Sprintf("invalid stage %q: write it as %q", s, p)
	}
	return fmt.Sprintf("invalid stage: want %s", stageList(valid))
}

func stageList(stages []Stage) string {
	names := make([]string, len(stages))
	for i, s := range stages {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
