package deploy_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
)

// updateBodies returns the deploymentConfiguration each UpdateService sent,
// by service (nil when it sent none).
func updateBodies(t *testing.T, env *awstest.Env) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, c := range env.Proxy.Log() {
		if c.Operation != "UpdateService" {
			continue
		}
		var m struct {
			Service string         `json:"service"`
			DC      map[string]any `json:"deploymentConfiguration"`
		}
		if err := json.Unmarshal(c.Request, &m); err != nil {
			t.Fatal(err)
		}
		out[m.Service] = m.DC
	}
	return out
}

// asJSON re-encodes v as generic JSON, for comparisons with decoded bodies.
func asJSON(t *testing.T, v string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Each strategy is sent to ECS as the environment configures it, and a
// later document that sets part of it leaves the rest as the service has
// it.
func TestStrategiesSentAndKept(t *testing.T) {
	const hook = `{"function": "arn:aws:lambda:us-east-1:123456789012:function:smoke-test", "roleArn": "arn:aws:iam::123456789012:role/ecs-hooks", "stages": ["post-scale-up"], "timeoutMinutes": 30}`
	doc := func(dev string) []byte {
		return []byte(`{"environments": {
			"dev": {"cluster": "apps", "services": ["hello-color-dev"], "container": "web", "deployment": ` + dev + `},
			"staging": {"cluster": "apps", "services": ["hello-color-staging"], "container": "web", "deployment": {
				"strategy": "linear", "linear": {"stepPercent": 25, "stepBakeMinutes": 5}}},
			"production": {"cluster": "apps", "services": ["hello-color-prod"], "container": "web", "deployment": {
				"strategy": "blue-green", "bakeMinutes": 60}}}}`)
	}
	w := newWorld(t, fargateFixture, doc(`{"strategy": "canary", "canary": {"percent": 10, "bakeMinutes": 15}, "bakeMinutes": 30,
		"alarms": {"names": ["web-5xx"]},
		"approval": {"stage": "post-test-traffic-shift", "timeoutMinutes": 1440, "onTimeout": "rollback"},
		"hooks": [`+hook+`]}`))
	res := w.deliver(t, w.push(t, "1.4.0"))
	if diff := cmp.Diff(map[string]string{"dev": "deployed", "staging": "deployed", "production": "deployed"}, outcomes(res)); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	want := map[string]map[string]any{
		"hello-color-dev": asJSON(t, `{"strategy": "CANARY", "bakeTimeInMinutes": 30,
			"canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": 15},
			"alarms": {"alarmNames": ["web-5xx"], "enable": true, "rollback": true},
			"lifecycleHooks": [
				{"targetType": "AWS_LAMBDA", "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke-test",
				 "roleArn": "arn:aws:iam::123456789012:role/ecs-hooks", "lifecycleStages": ["POST_SCALE_UP"], "timeoutConfiguration": {"timeoutInMinutes": 30}},
				{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"], "timeoutConfiguration": {"timeoutInMinutes": 1440, "action": "ROLLBACK"}}]}`),
		"hello-color-staging": asJSON(t, `{"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25, "stepBakeTimeInMinutes": 5}}`),
		"hello-color-prod":    asJSON(t, `{"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 60}`),
	}
	if diff := cmp.Diff(want, updateBodies(t, w.env)); diff != "" {
		t.Errorf("deploymentConfiguration sent (-want +got):\n%s", diff)
	}
	// ECS starts each in its first stage.
	for _, svc := range []string{"hello-color-dev", "hello-color-staging", "hello-color-prod"} {
		if r, ok := w.env.ECSModel.Rollout(cluster, svc); !ok || r.Stage != awstest.StagePreScaleUp {
			t.Errorf("%s: rollout %+v", svc, r)
		}
	}

	// dev's document now sets only the canary's share: the rest is the
	// service's, and nothing else is sent.
	awstest.Must(w.env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", string(doc(`{"strategy": "canary", "canary": {"percent": 20}}`))))(t)
	w.d = newDeployer(w.env, nil)
	w.env.Proxy.Reset()
	if got := outcomes(w.deliver(t, w.push(t, "1.4.1")))["dev"]; got != "deployed" {
		t.Fatalf("dev = %s", got)
	}
	if diff := cmp.Diff(asJSON(t, `{"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 20, "canaryBakeTimeInMinutes": 15}}`),
		updateBodies(t, w.env)["hello-color-dev"]); diff != "" {
		t.Errorf("dev's second deploymentConfiguration (-want +got):\n%s", diff)
	}
	// ECS kept what was not sent: the new canary runs the Lambda hook, then
	// pauses for approval.
	r := awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, "hello-color-dev"))(t)
	if r.Stage != awstest.StagePostScaleUp || len(r.Hooks) != 1 || r.Hooks[0].Type != awstest.HookTypeLambda {
		t.Fatalf("the second canary: %+v, want the Lambda hook at POST_SCALE_UP", r)
	}
	awstest.Must(0, w.env.ECSModel.LambdaHookReturns(t.Context(), cluster, "hello-color-dev", awstest.HookSucceeded))(t)
	r = awstest.Must(w.env.ECSModel.Progress(t.Context(), cluster, "hello-color-dev"))(t)
	if _, ok := r.AwaitingHook(); !ok || r.Stage != awstest.StagePostTestTrafficShift {
		t.Errorf("the second canary: %+v, want the approval at POST_TEST_TRAFFIC_SHIFT", r)
	}
}
