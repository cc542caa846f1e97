package config

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// envWith returns a document of one environment "dev" whose deployment
// block is deployment (JSON).
func envWith(deployment string) string {
	return `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "deployment": ` + deployment + `}}}`
}

func TestParseDeployment(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:111111111111:function:smoke-test"
	const role = "arn:aws:iam::111111111111:role/ecs-hooks"
	tests := []struct {
		name string
		doc  string
		want *Deployment
	}{
		{
			name: "canary with alarms and an approval",
			doc: `{"strategy": "canary", "bakeMinutes": 30, "canary": {"percent": 10, "bakeMinutes": 15},
				"alarms": {"names": ["web-5xx", "web-latency"], "rollback": true},
				"approval": {"stage": "post-test-traffic-shift", "timeoutMinutes": 1440, "onTimeout": "rollback"}}`,
			want: &Deployment{
				Strategy: StrategyCanary, BakeMinutes: ptr[int32](30), Canary: &Canary{Percent: ptr(10.0), BakeMinutes: ptr[int32](15)},
				Alarms:   &Alarms{Names: []string{"web-5xx", "web-latency"}, Rollback: ptr(true)},
				Approval: &Approval{Stage: StagePostTestTrafficShift, TimeoutMinutes: ptr[int32](1440), OnTimeout: ActionRollback},
			},
		},
		{
			name: "linear at its bounds, with a hook",
			doc: `{"strategy": "linear", "bakeMinutes": 0, "linear": {"stepPercent": 3.0, "stepBakeMinutes": 1440},
				"hooks": [{"function": "` + fn + `", "stages": ["post-scale-up", "production-traffic-shift"], "roleArn": "` + role + `", "timeoutMinutes": 60}]}`,
			want: &Deployment{
				Strategy: StrategyLinear, BakeMinutes: ptr[int32](0), Linear: &Linear{StepPercent: ptr(3.0), StepBakeMinutes: ptr[int32](1440)},
				Hooks: []Hook{{Function: fn, Stages: []Stage{StagePostScaleUp, StageProductionTrafficShift}, RoleARN: role, TimeoutMinutes: ptr[int32](60)}},
			},
		},
		{
			name: "blue-green, approval before production traffic, pausing for 14 days then continuing",
			doc:  `{"strategy": "blue-green", "bakeMinutes": 1440, "approval": {"stage": "pre-production-traffic-shift", "timeoutMinutes": 20160, "onTimeout": "continue"}}`,
			want: &Deployment{Strategy: StrategyBlueGreen, BakeMinutes: ptr[int32](1440), Approval: &Approval{Stage: StagePreProductionTrafficShift, TimeoutMinutes: ptr[int32](20160), OnTimeout: ActionContinue}},
		},
		{
			name: "canary percent of 0.1 and 100",
			doc:  `{"strategy": "canary", "canary": {"percent": 0.1}}`,
			want: &Deployment{Strategy: StrategyCanary, Canary: &Canary{Percent: ptr(0.1)}},
		},
		{
			name: "empty hooks remove the Lambda hooks",
			doc:  `{"strategy": "blue-green", "hooks": []}`,
			want: &Deployment{Strategy: StrategyBlueGreen, Hooks: []Hook{}},
		},
		{
			name: "circuit breaker as true",
			doc:  `{"circuitBreaker": true}`,
			want: &Deployment{CircuitBreaker: &CircuitBreaker{Enable: true, Rollback: true}},
		},
		{
			name: "circuit breaker as an object, rollback by default",
			doc:  `{"strategy": "rolling", "circuitBreaker": {"threshold": {"type": "count", "value": 5}}}`,
			want: &Deployment{Strategy: StrategyRolling, CircuitBreaker: &CircuitBreaker{Enable: true, Rollback: true, Threshold: &Threshold{Type: ThresholdCount, Value: 5}, Object: true}},
		},
		{
			name: "circuit breaker without rollback, percent threshold",
			doc:  `{"circuitBreaker": {"rollback": false, "threshold": {"type": "percent", "value": 100}}}`,
			want: &Deployment{CircuitBreaker: &CircuitBreaker{Enable: true, Threshold: &Threshold{Type: ThresholdPercent, Value: 100}, Object: true}},
		},
		{
			name: "alarms on a rolling update",
			doc:  `{"alarms": {"names": ["web-5xx"]}}`,
			want: &Deployment{Alarms: &Alarms{Names: []string{"web-5xx"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, []byte(envWith(tt.doc)))
			if diff := cmp.Diff(tt.want, doc.Environments["dev"].Deployment); diff != "" {
				t.Errorf("deployment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDeploymentInvalid(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:111111111111:function:smoke-test"
	const role = "arn:aws:iam::111111111111:role/ecs-hooks"
	const p = "environments.dev.deployment"
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown strategy", `{"strategy": "recreate"}`, []string{p + `.strategy: invalid strategy: want rolling, blue-green, linear or canary`}},
		{"ECS's spelling of a strategy", `{"strategy": "BLUE_GREEN"}`, []string{p + `.strategy: invalid strategy "BLUE_GREEN": write it as "blue-green"`}},
		{"bake without a strategy", `{"bakeMinutes": 10}`, []string{p + `.bakeMinutes: needs strategy blue-green, linear or canary: it belongs to those strategies, and the document does not say which the service uses`}},
		{"bake of a rolling update", `{"strategy": "rolling", "bakeMinutes": 10}`, []string{p + `.bakeMinutes: belongs to strategies blue-green, linear or canary, not rolling`}},
		{"bake too long", `{"strategy": "blue-green", "bakeMinutes": 1441}`, []string{p + `.bakeMinutes: must be from 0 to 1440 minutes`}},
		{"bake negative", `{"strategy": "blue-green", "bakeMinutes": -1}`, []string{p + `.bakeMinutes: must be from 0 to 1440 minutes`}},
		{"linear of a canary", `{"strategy": "canary", "linear": {"stepPercent": 10}}`, []string{p + `.linear: needs strategy linear (strategy is canary)`}},
		{"canary without a strategy", `{"canary": {"percent": 10}}`, []string{p + `.canary: needs strategy canary (strategy is none)`}},
		{"linear step too small", `{"strategy": "linear", "linear": {"stepPercent": 2.9}}`, []string{p + `.linear.stepPercent: must be from 3.0 to 100.0`}},
		{"linear step not a tenth", `{"strategy": "linear", "linear": {"stepPercent": 10.05}}`, []string{p + `.linear.stepPercent: must be a multiple of 0.1`}},
		{"linear step bake too long", `{"strategy": "linear", "linear": {"stepBakeMinutes": 1441}}`, []string{p + `.linear.stepBakeMinutes: must be from 0 to 1440 minutes`}},
		{"canary percent zero", `{"strategy": "canary", "canary": {"percent": 0}}`, []string{p + `.canary.percent: must be from 0.1 to 100.0`}},
		{"canary percent above 100", `{"strategy": "canary", "canary": {"percent": 100.1}}`, []string{p + `.canary.percent: must be from 0.1 to 100.0`}},
		{"canary percent a string", `{"strategy": "canary", "canary": {"percent": "10"}}`, []string{p + `.canary.percent: expected a number, got a string`}},
		{"canary unknown field", `{"strategy": "canary", "canary": {"percentage": 10}}`, []string{p + `.canary.percentage: unknown field`}},
		{"circuit breaker of a canary", `{"strategy": "canary", "circuitBreaker": true}`, []string{p + `.circuitBreaker: ECS uses the circuit breaker only for rolling updates, not for strategy canary: alarms, hooks and the approval fail a deployment of the blue-green family`}},
		{"circuit breaker a string", `{"circuitBreaker": "yes"}`, []string{p + `.circuitBreaker: expected true, false or an object, got a string`}},
		{"circuit breaker null", `{"circuitBreaker": null}`, []string{p + `.circuitBreaker: expected true, false or an object, got null`}},
		{"circuit breaker unknown field", `{"circuitBreaker": {"enable": true}}`, []string{p + `.circuitBreaker.enable: unknown field`}},
		{"circuit breaker rollback twice", `{"circuitBreaker": {"rollback": true, "rollback": false}}`, []string{p + `.circuitBreaker.rollback: field given more than once`}},
		{"threshold type unknown", `{"circuitBreaker": {"threshold": {"type": "bounded", "value": 5}}}`, []string{p + `.circuitBreaker.threshold.type: invalid threshold type: want count or percent`}},
		{"threshold without a type", `{"circuitBreaker": {"threshold": {"value": 5}}}`, []string{p + `.circuitBreaker.threshold.type: required: count or percent`}},
		{"threshold count zero", `{"circuitBreaker": {"threshold": {"type": "count", "value": 0}}}`, []string{p + `.circuitBreaker.threshold.value: must be 1 or more failed tasks`}},
		{"threshold percent above 100", `{"circuitBreaker": {"threshold": {"type": "percent", "value": 101}}}`, []string{p + `.circuitBreaker.threshold.value: must be from 1 to 100 percent of the desired count`}},
		{"alarms without names", `{"alarms": {"rollback": true}}`, []string{p + `.alarms.names: at least one alarm name is required`}},
		{"alarm names with a comma and a duplicate", `{"alarms": {"names": ["a,b", "c", "c", ""]}}`, []string{
			p + `.alarms.names[0]: alarm name contains ',': give each alarm as its own entry`,
			p + `.alarms.names[2]: duplicate alarm`,
			p + `.alarms.names[3]: empty alarm name`,
		}},
		{"alarm name too long", `{"alarms": {"names": ["` + strings.Repeat("a", 256) + `"]}}`, []string{p + `.alarms.names[0]: alarm name longer than 255 characters`}},
		{"approval of a rolling update", `{"strategy": "rolling", "approval": {"stage": "post-scale-up"}}`, []string{p + `.approval: belongs to strategies blue-green, linear or canary, not rolling`}},
		{"approval without a stage", `{"strategy": "blue-green", "approval": {"timeoutMinutes": 10}}`, []string{p + `.approval.stage: required: the stage at which ECS pauses (pre-scale-up, post-scale-up, post-test-traffic-shift, pre-production-traffic-shift, post-production-traffic-shift)`}},
		{"approval where ECS cannot pause", `{"strategy": "blue-green", "approval": {"stage": "production-traffic-shift"}}`, []string{p + `.approval.stage: ECS cannot pause at production-traffic-shift (it runs that stage during a rollback too): pause at pre-scale-up, post-scale-up, post-test-traffic-shift, pre-production-traffic-shift, post-production-traffic-shift`}},
		{"approval at reconcile", `{"strategy": "linear", "approval": {"stage": "reconcile-service"}}`, []string{p + `.approval.stage: ECS reaches reconcile-service only when more than one revision is active, so most deployments would not pause: pause at pre-scale-up, post-scale-up, post-test-traffic-shift, pre-production-traffic-shift, post-production-traffic-shift`}},
		{"approval at a stage with no hooks", `{"strategy": "canary", "approval": {"stage": "bake-time"}}`, []string{p + `.approval.stage: invalid stage: want pre-scale-up, post-scale-up, post-test-traffic-shift, pre-production-traffic-shift, post-production-traffic-shift`}},
		{"approval stage in ECS's spelling", `{"strategy": "canary", "approval": {"stage": "POST_TEST_TRAFFIC_SHIFT"}}`, []string{p + `.approval.stage: invalid stage "POST_TEST_TRAFFIC_SHIFT": write it as "post-test-traffic-shift"`}},
		{"approval timeout above 14 days", `{"strategy": "canary", "approval": {"stage": "post-scale-up", "timeoutMinutes": 20161}}`, []string{p + `.approval.timeoutMinutes: must be from 1 to 20160 minutes`}},
		{"approval timeout zero", `{"strategy": "canary", "approval": {"stage": "post-scale-up", "timeoutMinutes": 0}}`, []string{p + `.approval.timeoutMinutes: must be from 1 to 20160 minutes`}},
		{"approval action unknown", `{"strategy": "canary", "approval": {"stage": "post-scale-up", "onTimeout": "approve"}}`, []string{p + `.approval.onTimeout: invalid action: want rollback or continue`}},
		{"hooks without a strategy", `{"hooks": []}`, []string{p + `.hooks: needs strategy blue-green, linear or canary: it belongs to those strategies, and the document does not say which the service uses`}},
		{"hook with nothing", `{"strategy": "blue-green", "hooks": [{}]}`, []string{
			p + `.hooks[0].function: required: the ARN of a Lambda function`,
			p + `.hooks[0].roleArn: required: the IAM role ECS assumes to invoke the function`,
			p + `.hooks[0].stages: at least one stage is required (reconcile-service, pre-scale-up, post-scale-up, test-traffic-shift, post-test-traffic-shift, pre-production-traffic-shift, production-traffic-shift, post-production-traffic-shift)`,
		}},
		{"hook by function name, bad role, bad stages", `{"strategy": "blue-green", "hooks": [{"function": "smoke-test", "roleArn": "ecs-hooks", "stages": ["post-scale-up", "post-scale-up", "clean-up"], "timeoutMinutes": 1441}]}`, []string{
			p + `.hooks[0].function: invalid function: want a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>`,
			p + `.hooks[0].roleArn: invalid role ARN: want arn:aws:iam::<account>:role/<name>`,
			p + `.hooks[0].stages[1]: duplicate stage`,
			p + `.hooks[0].stages[2]: invalid stage: want reconcile-service, pre-scale-up, post-scale-up, test-traffic-shift, post-test-traffic-shift, pre-production-traffic-shift, production-traffic-shift, post-production-traffic-shift`,
			p + `.hooks[0].timeoutMinutes: must be from 1 to 1440 minutes`,
		}},
		{"hook unknown field", `{"strategy": "blue-green", "hooks": [{"function": "` + fn + `", "roleArn": "` + role + `", "stages": ["post-scale-up"], "hookDetails": {}}]}`, []string{p + `.hooks[0].hookDetails: unknown field`}},
		{"eleven hooks", `{"strategy": "blue-green", "hooks": [` + strings.Repeat(`{"function": "`+fn+`", "roleArn": "`+role+`", "stages": ["post-scale-up"]},`, 10) + `{"function": "` + fn + `", "roleArn": "` + role + `", "stages": ["post-scale-up"]}]}`, []string{p + `.hooks: 11 hooks, more than the 10 Lambda hooks ECS allows a service`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(testParameter, []byte(envWith(tt.doc)))
			var got []string
			for _, e := range Problems(err) {
				got = append(got, e.Field+": "+e.Problem)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// A circuit breaker is written back as it was read: the boolean, or the
// object.
func TestCircuitBreakerRoundTrip(t *testing.T) {
	for _, in := range []string{`true`, `false`, `{"rollback":true,"threshold":{"type":"count","value":5}}`, `{"rollback":false}`} {
		var cb CircuitBreaker
		if err := json.Unmarshal([]byte(in), &cb); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		out, err := json.Marshal(cb)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("%s written back as %s", in, out)
		}
	}
}

func TestSpellings(t *testing.T) {
	if got := StagePostTestTrafficShift.ECS(); got != "POST_TEST_TRAFFIC_SHIFT" {
		t.Errorf("ECS() = %s", got)
	}
	if got := ParseStage("PRE_PRODUCTION_TRAFFIC_SHIFT"); got != StagePreProductionTrafficShift {
		t.Errorf("ParseStage = %s", got)
	}
	if got := StrategyBlueGreen.ECS(); got != "BLUE_GREEN" {
		t.Errorf("ECS() = %s", got)
	}
	if got := ParseStrategy("CANARY"); got != StrategyCanary || !got.BlueGreenFamily() || StrategyRolling.BlueGreenFamily() {
		t.Errorf("ParseStrategy = %s", got)
	}
}
