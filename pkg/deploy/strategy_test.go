package deploy

import (
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// ignoreUnexported leaves the SDK types' unexported fields out of
// comparisons.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !unicode.IsUpper([]rune(sf.Name())[0])
}, cmp.Ignore())

const (
	hookFunction = "arn:aws:lambda:eu-west-1:111111111111:function:smoke-test"
	hookRole     = "arn:aws:iam::111111111111:role/ecs-hooks"
)

// A service that runs a canary with a Lambda hook, a pause hook someone
// configured, alarms and a circuit breaker threshold left from a rolling
// past.
func currentCanary() *ecstypes.DeploymentConfiguration {
	return &ecstypes.DeploymentConfiguration{
		Strategy:            ecstypes.DeploymentStrategyCanary,
		BakeTimeInMinutes:   aws.Int32(20),
		CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(5), CanaryBakeTimeInMinutes: aws.Int32(10)},
		LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(20), StepBakeTimeInMinutes: aws.Int32(3)},
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{
			Enable: true, Rollback: false, ResetOnHealthyTask: aws.Bool(false),
			ThresholdConfiguration: &ecstypes.ThresholdConfiguration{Type: ecstypes.ThresholdTypeCount, Value: 7},
		},
		Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"old"}, Enable: true, Rollback: false},
		LifecycleHooks: []ecstypes.DeploymentLifecycleHook{
			{TargetType: ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String("arn:aws:lambda:eu-west-1:111111111111:function:theirs"),
				RoleArn: aws.String(hookRole), LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"PRE_SCALE_UP"}},
			{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"POST_SCALE_UP"}},
		},
	}
}

func TestDeploymentConfiguration(t *testing.T) {
	theirLambda, theirPause := currentCanary().LifecycleHooks[0], currentCanary().LifecycleHooks[1]
	ourLambda := ecstypes.DeploymentLifecycleHook{
		TargetType: ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String(hookFunction), RoleArn: aws.String(hookRole),
		LifecycleStages:      []ecstypes.DeploymentLifecycleHookStage{"POST_SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT"},
		TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(30)},
	}
	const ourHooks = `"hooks": [{"function": "` + hookFunction + `", "roleArn": "` + hookRole + `", "stages": ["post-scale-up", "production-traffic-shift"], "timeoutMinutes": 30}]`
	tests := []struct {
		name    string
		env     string // the deployment block
		current *ecstypes.DeploymentConfiguration
		want    *ecstypes.DeploymentConfiguration
	}{
		{name: "no block", env: ``, current: currentCanary(), want: nil},
		{name: "an empty block sends nothing", env: `{}`, current: currentCanary(), want: nil},
		{
			name: "rolling, as before",
			env:  `{"maximumPercent": 200, "minimumHealthyPercent": 100, "circuitBreaker": true}`,
			want: &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
				DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
		},
		{
			name: "the circuit breaker keeps the service's threshold",
			env:  `{"strategy": "rolling", "circuitBreaker": true}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyRolling, DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{
				Enable: true, Rollback: true, ResetOnHealthyTask: aws.Bool(false), ThresholdConfiguration: &ecstypes.ThresholdConfiguration{Type: ecstypes.ThresholdTypeCount, Value: 7}}},
		},
		{
			name: "a threshold replaces the service's, a percentage is bounded",
			env:  `{"circuitBreaker": {"rollback": false, "threshold": {"type": "percent", "value": 30}}}`,
			want: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{
				Enable: true, ThresholdConfiguration: &ecstypes.ThresholdConfiguration{Type: ecstypes.ThresholdTypeBoundedPercent, Value: 30}}},
		},
		{
			name: "circuit breaker off",
			env:  `{"circuitBreaker": false}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{
				ResetOnHealthyTask: aws.Bool(false), ThresholdConfiguration: &ecstypes.ThresholdConfiguration{Type: ecstypes.ThresholdTypeCount, Value: 7}}},
		},
		{
			name: "blue-green with a bake",
			env:  `{"strategy": "blue-green", "bakeMinutes": 15}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(15)},
		},
		{
			name: "linear, complete",
			env:  `{"strategy": "linear", "linear": {"stepPercent": 12.5, "stepBakeMinutes": 4}}`,
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear,
				LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(12.5), StepBakeTimeInMinutes: aws.Int32(4)}},
		},
		{
			name: "linear, the step's bake kept from the service",
			env:  `{"strategy": "linear", "linear": {"stepPercent": 10}}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear,
				LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(10), StepBakeTimeInMinutes: aws.Int32(3)}},
		},
		{
			name: "canary, the canary's bake kept from the service",
			env:  `{"strategy": "canary", "canary": {"percent": 10}}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary,
				CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(10)}},
		},
		{
			name: "canary on a service without one",
			env:  `{"strategy": "canary", "canary": {"bakeMinutes": 15}}`,
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary,
				CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryBakeTimeInMinutes: aws.Int32(15)}},
		},
		{
			name: "alarms roll back by default",
			env:  `{"alarms": {"names": ["web-5xx"]}}`,
			want: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}},
		},
		{
			name: "alarms keep the service's rollback choice",
			env:  `{"alarms": {"names": ["web-5xx"]}}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: false}},
		},
		{
			name: "alarms' rollback as the document says",
			env:  `{"alarms": {"names": ["a", "b"], "rollback": true}}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"a", "b"}, Enable: true, Rollback: true}},
		},
		{
			name: "an approval replaces the pause hooks and keeps the Lambda hooks",
			env:  `{"strategy": "canary", "approval": {"stage": "post-test-traffic-shift", "timeoutMinutes": 60, "onTimeout": "continue"}}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{
				theirLambda,
				{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"POST_TEST_TRAFFIC_SHIFT"},
					TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(60), Action: ecstypes.DeploymentLifecycleHookActionContinue}},
			}},
		},
		{
			name: "an approval with ECS's default timeout",
			env:  `{"strategy": "blue-green", "approval": {"stage": "pre-production-traffic-shift"}}`,
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{
				{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"PRE_PRODUCTION_TRAFFIC_SHIFT"}},
			}},
		},
		{
			name: "hooks replace the Lambda hooks and keep the pause hooks",
			env:  `{"strategy": "canary", ` + ourHooks + `}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{ourLambda, theirPause}},
		},
		{
			name: "hooks and an approval",
			env:  `{"strategy": "linear", "approval": {"stage": "pre-production-traffic-shift", "onTimeout": "rollback"}, ` + ourHooks + `}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{
				ourLambda,
				{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"PRE_PRODUCTION_TRAFFIC_SHIFT"},
					TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{Action: ecstypes.DeploymentLifecycleHookActionRollback}},
			}},
		},
		{
			name: "no hooks removes the Lambda hooks",
			env:  `{"strategy": "canary", "hooks": []}`, current: currentCanary(),
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{theirPause}},
		},
		{
			name: "no hooks on a service without any sends an empty list",
			env:  `{"strategy": "canary", "hooks": []}`,
			want: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"cluster":"c","services":["web"]}`
			if tt.env != "" {
				doc = `{"cluster":"c","services":["web"],"deployment":` + tt.env + `}`
			}
			env := mustEnv(t, doc)
			before := currentCanary()
			got := deploymentConfiguration(env.Deployment, tt.current)
			if diff := cmp.Diff(tt.want, got, ignoreUnexported); diff != "" {
				t.Errorf("deployment configuration (-want +got):\n%s", diff)
			}
			if tt.current != nil {
				if diff := cmp.Diff(before, tt.current, ignoreUnexported); diff != "" {
					t.Errorf("the service's configuration was changed (-before +after):\n%s", diff)
				}
			}
		})
	}
}

// An empty list of hooks must reach ECS as [], not be left out, or the
// service keeps its Lambda hooks.
func TestLifecycleHooksNeverNil(t *testing.T) {
	env := mustEnv(t, `{"cluster":"c","services":["web"],"deployment":{"strategy":"blue-green","hooks":[]}}`)
	if got := deploymentConfiguration(env.Deployment, nil).LifecycleHooks; got == nil {
		t.Error("LifecycleHooks = nil, want an empty list")
	}
}

func TestUpdateFields(t *testing.T) {
	svc := target.Service{DesiredCount: 1, DeploymentConfiguration: currentCanary()}
	for _, tt := range []struct{ env, want string }{
		{`{}`, ""},
		{`{"strategy":"canary","canary":{"percent":10},"bakeMinutes":30,"alarms":{"names":["web-5xx","web-latency"]},"approval":{"stage":"post-test-traffic-shift"}}`,
			"strategy canary, canary 10 % for 10 min, bake 30 min, alarms web-5xx, web-latency without rollback, approval at post-test-traffic-shift (then rollback after 1440 min)"},
		{`{"strategy":"linear","linear":{"stepPercent":12.5},"approval":{"stage":"pre-production-traffic-shift","timeoutMinutes":60,"onTimeout":"continue"},"hooks":[{"function":"` + hookFunction + `","roleArn":"` + hookRole + `","stages":["post-scale-up"]}]}`,
			"strategy linear (now canary), linear steps of 12.5 % every 3 min, approval at pre-production-traffic-shift (then continue after 60 min), hook smoke-test at post-scale-up"},
		{`{"strategy":"rolling","circuitBreaker":{"threshold":{"type":"count","value":5}},"alarms":{"names":["a"],"rollback":true}}`,
			"strategy rolling (now canary), circuit breaker with rollback true after 5 failed tasks, alarms a with rollback"},
		{`{"circuitBreaker":false}`, "circuit breaker off"},
		{`{"strategy":"blue-green","hooks":[]}`, "strategy blue-green (now canary), no Lambda hooks"},
	} {
		env := mustEnv(t, `{"cluster":"c","services":["web"],"deployment":`+tt.env+`}`)
		if got := updateFields(env, svc); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.env, got, tt.want)
		}
	}
}
