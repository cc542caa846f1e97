package event

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// The example of "Amazon ECS service deployment hook state change events"
// (Amazon ECS Developer Guide) decodes to a HookChange.
func TestDecodeHookChangeExample(t *testing.T) {
	raw, err := os.ReadFile("testdata/ecs-hook-awaiting-action.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := HookChange{
		ID: "3329f79b-3dca-07f8-b1c2-5fe99f0b5e87", Time: time.Date(2026, 3, 5, 15, 54, 41, 0, time.UTC), Account: "123456789012", Region: "us-west-2",
		ServiceARN: "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service", Cluster: "my-cluster", Service: "my-service",
		ServiceDeploymentARN: "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/0EYSiB0qap8xf0N76FsbE",
		EventName:            HookAwaitingAction, HookID: "ecs-pause-e7tK9G_WRJqNF_EOMjztDXfKenlJuEUVjsNStf4WLKw", HookType: HookTypePause,
		Stage: "POST_TEST_TRAFFIC_SHIFT", ExpiresAt: time.Date(2026, 3, 5, 16, 4, 41, 0, time.UTC),
		UpdatedAt: time.Date(2026, 3, 5, 15, 54, 41, 618059641, time.UTC),
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
	h := v.(HookChange)
	if h.Status() != "AWAITING_ACTION" || h.Ended() {
		t.Errorf("Status %s, Ended %v", h.Status(), h.Ended())
	}
}

// Every event the ECS model's builder writes decodes, whatever the status,
// hook type and stage (stages are open: PRE_PRODUCTION_TRAFFIC_SHIFT is
// missing from the SDK's enum of a service deployment's stages).
func TestDecodeHookChangeOfEachStatus(t *testing.T) {
	const sd = "arn:aws:ecs:eu-west-1:111111111111:service-deployment/apps/web/NCWGC2ZR-taawPAYrIaU5"
	at := time.Date(2026, 12, 1, 10, 0, 0, 123000000, time.UTC)
	for _, tt := range []struct {
		name, typ string
		ended     bool
	}{
		{localaws.EventHookInProgress, "AWS_LAMBDA", false},
		{localaws.EventHookAwaitingAction, "PAUSE", false},
		{localaws.EventHookSucceeded, "PAUSE", true},
		{localaws.EventHookFailed, "AWS_LAMBDA", true},
		{localaws.EventHookTimedOut, "PAUSE", true},
	} {
		raw, err := localaws.HookEvent{ServiceDeploymentARN: sd, EventName: tt.name, HookID: "ecs-pause-x", HookType: tt.typ,
			Stage: "PRE_PRODUCTION_TRAFFIC_SHIFT", ExpiresAt: at.Add(time.Hour), At: at}.JSON()
		if err != nil {
			t.Fatal(err)
		}
		v, err := Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		h := v.(HookChange)
		if h.EventName != tt.name || h.HookType != tt.typ || h.Ended() != tt.ended || h.Cluster != "apps" || h.Service != "web" ||
			h.Stage != "PRE_PRODUCTION_TRAFFIC_SHIFT" || !h.ExpiresAt.Equal(at.Add(time.Hour).Truncate(time.Second)) || !h.UpdatedAt.Equal(at) {
			t.Errorf("%s: %+v", tt.name, h)
		}
	}
}

func TestDecodeHookChangeRefused(t *testing.T) {
	example, err := os.ReadFile("testdata/ecs-hook-awaiting-action.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, field, problem string
	}{
		{"unknown event name", `"HOOK_AWAITING_ACTION"`, `"HOOK_PAUSED"`, "detail.eventName", `unknown hook event "HOOK_PAUSED"`},
		{"no hook id", `"hookId": "ecs-pause-e7tK9G_WRJqNF_EOMjztDXfKenlJuEUVjsNStf4WLKw",`, ``, "detail.hookId", "missing"},
		{"no stage", `"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",`, ``, "detail.lifecycleStage", "missing"},
		{"not a service ARN", `"serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service"`, `"serviceArn": "my-service"`, "detail.serviceArn", `"my-service" is not an ECS service ARN`},
		{"service deployment of another service", `"serviceDeploymentArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/`,
			`"serviceDeploymentArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/other/`, "detail.serviceDeploymentArn", "is not a deployment of service"},
		{"service deployment of another account", `"serviceDeploymentArn": "arn:aws:ecs:us-west-2:123456789012:`, `"serviceDeploymentArn": "arn:aws:ecs:us-west-2:999999999999:`, "detail.serviceDeploymentArn", "is not a deployment of service"},
		{"not a service deployment ARN", `"serviceDeploymentArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/0EYSiB0qap8xf0N76FsbE"`,
			`"serviceDeploymentArn": "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service"`, "detail.serviceDeploymentArn", "is not an ECS service deployment ARN"},
		{"another cluster", `"clusterArn": "arn:aws:ecs:us-west-2:123456789012:cluster/my-cluster"`, `"clusterArn": "arn:aws:ecs:us-west-2:123456789012:cluster/other"`, "detail.clusterArn", "is not the cluster of service"},
		{"expiry not a time", `"expiresAt": "2026-03-05T16:04:41Z"`, `"expiresAt": "tomorrow"`, "detail.expiresAt", `bad time "tomorrow"`},
		{"hook id given twice", `"hookType": "PAUSE",`, `"hookType": "PAUSE", "hookId": "ecs-pause-other",`, "detail.hookId", "given more than once"},
		{"hook id in another case", `"hookType": "PAUSE",`, `"hookType": "PAUSE", "HookId": "ecs-pause-other",`, "detail.HookId", "another case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(string(example), tt.old, tt.new, 1)
			if raw == string(example) {
				t.Fatalf("%q not in the example", tt.old)
			}
			v, err := Decode([]byte(raw))
			if v != nil || err == nil {
				t.Fatalf("Decode = %+v, %v; want a refusal", v, err)
			}
			e := err.(interface{ Error() string })
			if !strings.Contains(e.Error(), tt.problem) || !strings.Contains(e.Error(), tt.field) {
				t.Errorf("error %q, want %s: …%s…", e.Error(), tt.field, tt.problem)
			}
		})
	}
}
