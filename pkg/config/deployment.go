package config

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/invopop/jsonschema"
)

// Deployment holds the ECS deployment settings of an environment: how ECS
// rolls a revision out there. A nil field is left as the service has it: it
// is not sent to ECS, and whatever set it (a person, Terraform) keeps it.
//
// The fields belong to strategies: maximumPercent, minimumHealthyPercent and
// circuitBreaker to a rolling update; bakeMinutes, approval and hooks to the
// blue-green family (blue-green, linear, canary); linear to linear and
// canary to canary; alarms to every strategy. Parse refuses a field of the
// blue-green family without a strategy of that family, since whether it
// applies would depend on what the service happens to run.
type Deployment struct {
	Strategy              Strategy        `json:"strategy,omitempty" jsonschema:"enum=rolling,enum=blue-green,enum=linear,enum=canary" jsonschema_description:"ECS's deployment strategy: rolling (a rolling update), blue-green (all production traffic at once after test traffic), linear (production traffic in equal steps) or canary (a share of production traffic first, then the rest). Left out, the service keeps its strategy."`
	BakeMinutes           *int32          `json:"bakeMinutes,omitempty" jsonschema:"minimum=0,maximum=1440" jsonschema_description:"blue-green, linear, canary: how long both revisions run after production traffic moved, before the old one goes (0 to 1440 minutes)."`
	Linear                *Linear         `json:"linear,omitempty" jsonschema_description:"linear: the size of each production traffic step and the wait after it."`
	Canary                *Canary         `json:"canary,omitempty" jsonschema_description:"canary: the share of production traffic the new revision gets first, and how long it runs so."`
	MaximumPercent        *int32          `json:"maximumPercent,omitempty" jsonschema:"minimum=100,maximum=400" jsonschema_description:"rolling: the upper limit of running and pending tasks during a deployment, as a percentage of the desired count."`
	MinimumHealthyPercent *int32          `json:"minimumHealthyPercent,omitempty" jsonschema:"minimum=0,maximum=100" jsonschema_description:"rolling: the lower limit of running tasks during a deployment, as a percentage of the desired count."`
	CircuitBreaker        *CircuitBreaker `json:"circuitBreaker,omitempty"`
	Alarms                *Alarms         `json:"alarms,omitempty" jsonschema_description:"CloudWatch alarms that fail the deployment (and roll it back) when they go into ALARM while it runs."`
	Approval              *Approval       `json:"approval,omitempty" jsonschema_description:"blue-green, linear, canary: ECS pauses each deployment at this stage until someone approves or rejects it through ecrdeploy (a pause lifecycle hook)."`
	Hooks                 []Hook          `json:"hooks,omitempty" jsonschema:"maxItems=10" jsonschema_description:"blue-green, linear, canary: Lambda functions ECS invokes at stages of each deployment (lifecycle hooks); they succeed, fail (and roll the deployment back) or ask to be invoked again. An empty list removes the service's Lambda hooks."`
	// CodeDeploy names what deploys the services whose deployment
	// controller is CODE_DEPLOY; nil means they are looked up.
	CodeDeploy *CodeDeploy `json:"codeDeploy,omitempty" jsonschema_description:"For services whose deployment controller is CODE_DEPLOY: the CodeDeploy application, and optionally the deployment group, that deploy them. Left out, the deployment group that deploys each service is looked up among every CodeDeploy application of the account and region (which needs codedeploy:ListApplications)."`
}

// Strategy is an ECS deployment strategy, spelled as the document spells it.
type Strategy string

// The strategies of the ECS deployment controller.
const (
	StrategyRolling   Strategy = "rolling"
	StrategyBlueGreen Strategy = "blue-green"
	StrategyLinear    Strategy = "linear"
	StrategyCanary    Strategy = "canary"
)

// BlueGreenFamily reports whether ECS shifts traffic between two revisions
// for the strategy (blue-green, linear, canary), with lifecycle stages, a
// bake time and lifecycle hooks, rather than replacing tasks in place.
func (s Strategy) BlueGreenFamily() bool {
	return s == StrategyBlueGreen || s == StrategyLinear || s == StrategyCanary
}

// ECS returns the strategy as ECS spells it in a deployment configuration
// (ROLLING, BLUE_GREEN, LINEAR, CANARY: "DeploymentConfiguration", Amazon
// ECS API Reference), or "" for "".
func (s Strategy) ECS() string { return ecsSpelling(string(s)) }

// ParseStrategy returns the strategy ECS spells s (BLUE_GREEN is
// blue-green); "" for "".
func ParseStrategy(s string) Strategy { return Strategy(documentSpelling(s)) }

// Linear is the step of a linear deployment.
type Linear struct {
	StepPercent     *float64 `json:"stepPercent,omitempty" jsonschema:"minimum=3,maximum=100" jsonschema_description:"The share of production traffic shifted at each step, a multiple of 0.1 from 3.0 to 100.0. ECS's default: 10.0."`
	StepBakeMinutes *int32   `json:"stepBakeMinutes,omitempty" jsonschema:"minimum=0,maximum=1440" jsonschema_description:"The minutes ECS waits after each step (0 to 1440). ECS's default: 6."`
}

// Canary is the first step of a canary deployment.
type Canary struct {
	Percent     *float64 `json:"percent,omitempty" jsonschema:"minimum=0.1,maximum=100" jsonschema_description:"The share of production traffic the new revision gets first, a multiple of 0.1 from 0.1 to 100.0. ECS's default: 5.0."`
	BakeMinutes *int32   `json:"bakeMinutes,omitempty" jsonschema:"minimum=0,maximum=1440" jsonschema_description:"The minutes ECS waits with that share before it shifts the rest (0 to 1440). ECS's default: 10."`
}

// CircuitBreaker is the ECS deployment circuit breaker of a rolling update.
// In JSON it is true (on, with rollback), false (off), or an object that
// turns it on with a rollback choice and a failure threshold.
type CircuitBreaker struct {
	// Enable turns the circuit breaker on.
	Enable bool
	// Rollback rolls a failed deployment back to the last one that
	// completed. True for the boolean true; the object's rollback, true if
	// left out.
	Rollback bool
	// Threshold is the number of task failures the breaker tolerates; nil
	// leaves the service's (ECS's default: 50 % of the desired count, from
	// 3 to 200 tasks).
	Threshold *Threshold
	// Object records that the document used the object form, so that the
	// document is written back as it was read.
	Object bool
}

// circuitBreakerObject is the object form of a CircuitBreaker.
type circuitBreakerObject struct {
	Rollback  *bool      `json:"rollback,omitempty"`
	Threshold *Threshold `json:"threshold,omitempty"`
}

// Threshold is the failure threshold of the circuit breaker.
type Threshold struct {
	Type  ThresholdType `json:"type"`
	Value int32         `json:"value"`
}

// ThresholdType says how a threshold's value counts failures.
type ThresholdType string

// Threshold types: a count of failed tasks, or a percentage of the desired
// count (ECS's BOUNDED_PERCENT, which ECS keeps between 3 and 200 tasks).
const (
	ThresholdCount   ThresholdType = "count"
	ThresholdPercent ThresholdType = "percent"
)

// MarshalJSON writes a circuit breaker as it was read: true or false, or the
// object. It returns no error of its own.
func (cb CircuitBreaker) MarshalJSON() ([]byte, error) {
	if !cb.Object {
		return json.Marshal(cb.Enable && cb.Rollback)
	}
	return json.Marshal(circuitBreakerObject{Rollback: &cb.Rollback, Threshold: cb.Threshold})
}

// UnmarshalJSON reads true, false or the object form. It returns an error
// for any other JSON value, including null; unknown fields of the object are
// refused by Parse's decoder before it is called.
func (cb *CircuitBreaker) UnmarshalJSON(data []byte) error {
	var on bool
	if err := json.Unmarshal(data, &on); err == nil && !isNull(data) {
		*cb = CircuitBreaker{Enable: on, Rollback: on}
		return nil
	}
	var o circuitBreakerObject
	if err := json.Unmarshal(data, &o); err == nil && !isNull(data) && strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
		*cb = CircuitBreaker{Enable: true, Rollback: o.Rollback == nil || *o.Rollback, Threshold: o.Threshold, Object: true}
		return nil
	}
	return fmt.Errorf("expected true, false or an object, got %s", describe(data))
}

// JSONSchema describes a CircuitBreaker: a boolean or the object.
func (CircuitBreaker) JSONSchema() *jsonschema.Schema {
	threshold := jsonschema.NewProperties()
	threshold.Set("type", &jsonschema.Schema{Type: "string", Enum: []any{"count", "percent"}, Description: "count: the value is a number of failed tasks; percent: a percentage of the desired count (ECS keeps the result from 3 to 200 tasks)."})
	threshold.Set("value", &jsonschema.Schema{Type: "integer", Minimum: json.Number("1"), Description: "The number of failed tasks, or the percentage of the desired count (at most 100)."})
	object := jsonschema.NewProperties()
	object.Set("rollback", &jsonschema.Schema{Type: "boolean", Default: true, Description: "Roll a failed deployment back to the last deployment that completed."})
	object.Set("threshold", &jsonschema.Schema{Type: "object", Properties: threshold, Required: []string{"type", "value"}, AdditionalProperties: jsonschema.FalseSchema})
	return &jsonschema.Schema{
		Description: "rolling: the ECS deployment circuit breaker. true turns it on with rollback, false turns it off; an object turns it on, with rollback unless it says false, and a failure threshold.",
		OneOf: []*jsonschema.Schema{
			{Type: "boolean"},
			{Type: "object", Properties: object, AdditionalProperties: jsonschema.FalseSchema},
		},
	}
}

// Alarms are the CloudWatch alarms that fail a deployment.
type Alarms struct {
	Names []string `json:"names" jsonschema:"minItems=1,uniqueItems=true" jsonschema_description:"The names of CloudWatch alarms in the environment's account and region."`
	// Rollback rolls a deployment the alarms failed back; nil keeps the
	// service's choice when it watches alarms already, and is true
	// otherwise.
	Rollback *bool `json:"rollback,omitempty" jsonschema_description:"Roll the deployment back when an alarm fires (default: true, or what the service has)."`
}

// Approval pauses each deployment at a lifecycle stage until a person
// approves or rejects it.
type Approval struct {
	Stage          Stage      `json:"stage" jsonschema:"enum=pre-scale-up,enum=post-scale-up,enum=post-test-traffic-shift,enum=pre-production-traffic-shift,enum=post-production-traffic-shift" jsonschema_description:"The lifecycle stage at which ECS pauses the deployment. With linear and canary, pre-production-traffic-shift pauses before every step, and each pause is approved on its own."`
	TimeoutMinutes *int32     `json:"timeoutMinutes,omitempty" jsonschema:"minimum=1,maximum=20160" jsonschema_description:"How long ECS waits for an answer (1 to 20160 minutes, 14 days). ECS's default: 1440."`
	OnTimeout      HookAction `json:"onTimeout,omitempty" jsonschema:"enum=rollback,enum=continue,default=rollback" jsonschema_description:"What ECS does when nobody answered in time."`
}

// HookAction is what ECS does with a paused or timed-out hook.
type HookAction string

// Hook actions, as the document spells them (ECS: ROLLBACK, CONTINUE).
const (
	ActionRollback HookAction = "rollback"
	ActionContinue HookAction = "continue"
)

// ECS returns the action as ECS spells it (ROLLBACK, CONTINUE).
func (a HookAction) ECS() string { return ecsSpelling(string(a)) }

// Hook is a Lambda lifecycle hook.
type Hook struct {
	Function       string  `json:"function" jsonschema:"minLength=1" jsonschema_description:"The ARN of the Lambda function ECS invokes."`
	Stages         []Stage `json:"stages" jsonschema:"minItems=1,uniqueItems=true" jsonschema_description:"The lifecycle stages at which ECS invokes it: reconcile-service, pre-scale-up, post-scale-up, test-traffic-shift, post-test-traffic-shift, pre-production-traffic-shift, production-traffic-shift, post-production-traffic-shift."`
	RoleARN        string  `json:"roleArn" jsonschema:"minLength=1" jsonschema_description:"The IAM role ECS assumes to invoke the function (in the environment's account)."`
	TimeoutMinutes *int32  `json:"timeoutMinutes,omitempty" jsonschema:"minimum=1,maximum=1440" jsonschema_description:"How long ECS waits for the function to succeed or fail before it rolls the deployment back (1 to 1440 minutes). ECS's default: 1440."`
}

// Stage is a lifecycle stage of a deployment of the blue-green family, as
// the document spells it: ECS's name in lower case with hyphens
// (post-test-traffic-shift for POST_TEST_TRAFFIC_SHIFT).
type Stage string

// The lifecycle stages at which hooks run, in the order ECS reaches them
// ("Lifecycle hooks for Amazon ECS service deployments" and "Amazon ECS
// blue/green service deployments workflow", Amazon ECS Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html
// and .../blue-green-deployment-how-it-works.html). SCALE_UP, BAKE_TIME and
// CLEAN_UP are stages too, but no hook runs at them.
const (
	StageReconcileService           Stage = "reconcile-service"
	StagePreScaleUp                 Stage = "pre-scale-up"
	StagePostScaleUp                Stage = "post-scale-up"
	StageTestTrafficShift           Stage = "test-traffic-shift"
	StagePostTestTrafficShift       Stage = "post-test-traffic-shift"
	StagePreProductionTrafficShift  Stage = "pre-production-traffic-shift"
	StageProductionTrafficShift     Stage = "production-traffic-shift"
	StagePostProductionTrafficShift Stage = "post-production-traffic-shift"
)

// HookStages are the stages at which a Lambda hook may run, in order.
var HookStages = []Stage{
	StageReconcileService, StagePreScaleUp, StagePostScaleUp, StageTestTrafficShift, StagePostTestTrafficShift,
	StagePreProductionTrafficShift, StageProductionTrafficShift, StagePostProductionTrafficShift,
}

// PauseStages are the stages at which a pause hook may run, in order: not
// TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT, which ECS also runs
// during a rollback ("Pause hooks for Amazon ECS service deployments",
// Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html).
var PauseStages = []Stage{
	StageReconcileService, StagePreScaleUp, StagePostScaleUp, StagePostTestTrafficShift,
	StagePreProductionTrafficShift, StagePostProductionTrafficShift,
}

// ECS returns the stage as ECS spells it (POST_TEST_TRAFFIC_SHIFT).
func (s Stage) ECS() string { return ecsSpelling(string(s)) }

// ParseStage returns the stage ECS spells s, in the document's spelling. ECS
// may name stages this package does not list: they are kept, as open
// strings.
func ParseStage(s string) Stage { return Stage(documentSpelling(s)) }

// ecsSpelling turns "post-test-traffic-shift" into "POST_TEST_TRAFFIC_SHIFT".
func ecsSpelling(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

// documentSpelling turns "POST_TEST_TRAFFIC_SHIFT" into
// "post-test-traffic-shift".
func documentSpelling(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }
