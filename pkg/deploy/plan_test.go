package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

const registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// A CODE_DEPLOY service running arn:web:1 on its first task set, and the
// same while a CodeDeploy deployment (d-2) of arn:web:2 is under way.
var (
	codeDeployService = target.Service{TaskDefinition: "arn:web:1", Controller: "CODE_DEPLOY",
		TaskSets: []target.TaskSet{{ID: "ts1", Status: "PRIMARY", TaskDefinition: "arn:web:1"}}}
	codeDeployingIt = target.Service{TaskDefinition: "arn:web:1", Controller: "CODE_DEPLOY",
		TaskSets: []target.TaskSet{{ID: "ts1", Status: "PRIMARY", TaskDefinition: "arn:web:1"}, {ID: "ts2", Status: "ACTIVE", TaskDefinition: "arn:web:2", ExternalID: "d-2"}}}
)

// codeDeployRecord records CodeDeploy's deployment d-2 of arn:web:2 to web,
// with a rollout.
func codeDeployRecord(rollout state.Rollout) *state.Record {
	return &state.Record{Version: "1.4.0", Services: map[string]state.Service{
		"web": {TaskDefinition: "arn:web:2", PreviousTaskDefinition: "arn:web:1", DeploymentID: "d-2", Controller: state.ControllerCodeDeploy, Rollout: rollout},
	}}
}

// described is a task definition as DescribeTaskDefinition returns it,
// running image, tagged as ecrdeploy tags its revisions.
func described(arn, image string, tags map[string]string) target.TaskDefinition {
	td := &ecstypes.TaskDefinition{
		TaskDefinitionArn: aws.String(arn), Family: aws.String("web"), Revision: 1,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), Essential: aws.Bool(true), Memory: aws.Int32(128)}},
	}
	var et []ecstypes.Tag
	for k, v := range tags {
		et = append(et, ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return target.TaskDefinition{ARN: arn, Def: td, Tags: et}
}

// Deciding what a service needs is a pure function of what was observed:
// these cases need no AWS and no fakes.
func TestPlanService(t *testing.T) {
	e := environment{name: "dev", env: mustEnv(t, `{"cluster":"c","services":["web"]}`), version: semver.MustParse("1.4.0")}
	req := Request{Repository: "hello-color", Tag: "1.4.0", Digest: "sha256:new", Registry: registry, Cause: state.CausePush, EventID: "ev"}
	running := registry + "/hello-color:1.3.0"
	// What a delivery of req renders from a revision that runs 1.3.0.
	rendered, err := taskdef.Render(taskdef.FromDescribe(described("x", running, nil).Def, nil), taskdef.Spec{
		Repository: "hello-color", Image: registry + "/hello-color:1.4.0", Tags: revisionTags(req, e.version),
	})
	if err != nil {
		t.Fatal(err)
	}
	asDescribed := func(arn string) target.TaskDefinition {
		tags := map[string]string{}
		for _, tg := range rendered.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return described(arn, registry+"/hello-color:1.4.0", tags)
	}
	rec := &state.Record{Version: "1.3.0"}
	tests := []struct {
		name     string
		rec      *state.Record
		obs      serviceObservation
		outcome  Outcome
		reason   policy.Reason
		revision string
		register bool
	}{
		{"new revision", rec, serviceObservation{name: "web", current: described("arn:web:1", running, nil)}, Deployed, "", "", true},
		{"already runs it", rec, serviceObservation{name: "web", current: asDescribed("arn:web:2")}, Unchanged, "", "arn:web:2", false},
		{"an earlier delivery registered it", rec, serviceObservation{name: "web", current: described("arn:web:1", running, nil), latest: ptr(asDescribed("arn:web:2"))}, Deployed, "", "arn:web:2", false},
		{"no record, runs a newer image", nil, serviceObservation{name: "web", current: described("arn:web:1", registry+"/hello-color:1.5.0", nil)}, Skipped, policy.OlderThanCurrent, "", false},
		{"no record, runs another repository's image", nil, serviceObservation{name: "web", current: described("arn:web:1", "nginx:1.27", nil)}, Failed, "", "", false},
		{"not observed", rec, serviceObservation{name: "web", err: errors.New("service web in cluster c: service not found")}, Failed, "", "", false},
		{"an external controller", rec, serviceObservation{name: "web", service: target.Service{Controller: "EXTERNAL"}}, Skipped, policy.UnsupportedController, "", false},
		{"CodeDeploy: new revision", rec, serviceObservation{name: "web", service: codeDeployService, current: described("arn:web:1", running, nil)}, Deployed, "", "", true},
		{"CodeDeploy is deploying it", rec, serviceObservation{name: "web", service: codeDeployingIt, current: described("arn:web:1", running, nil), latest: ptr(asDescribed("arn:web:2"))}, Unchanged, "", "arn:web:2", false},
		{"CodeDeploy has not started the recorded deployment of it", codeDeployRecord(state.InProgress), serviceObservation{name: "web", service: codeDeployService, current: described("arn:web:1", running, nil), latest: ptr(asDescribed("arn:web:2"))}, Unchanged, "", "arn:web:2", false},
		{"the recorded CodeDeploy deployment of it ended", codeDeployRecord(state.Failed), serviceObservation{name: "web", service: codeDeployService, current: described("arn:web:1", running, nil), latest: ptr(asDescribed("arn:web:2"))}, Deployed, "", "arn:web:2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planService(req, e, tt.rec, tt.obs)
			if p.outcome != tt.outcome || p.reason != tt.reason || p.revision != tt.revision || p.register() != tt.register {
				t.Errorf("plan = %s %q revision %q register %v (err %v), want %s %q revision %q register %v",
					p.outcome, p.reason, p.revision, p.register(), p.err, tt.outcome, tt.reason, tt.revision, tt.register)
			}
			if (p.outcome == Failed) != (p.err != nil) {
				t.Errorf("outcome %s with error %v", p.outcome, p.err)
			}
		})
	}
}

// A dry run plans the revision with a diff, and changes nothing else.
func TestDryRunPlansWithADiff(t *testing.T) {
	e := environment{name: "dev", env: mustEnv(t, `{"cluster":"c","services":["web"]}`), version: semver.MustParse("1.4.0")}
	req := Request{Repository: "hello-color", Tag: "1.4.0", Digest: "sha256:new", Registry: registry, Cause: state.CausePlan}
	p := dryRun(planService(req, e, &state.Record{Version: "1.3.0"}, serviceObservation{name: "web", current: described("arn:web:1", registry+"/hello-color:1.3.0", nil)}), e.env)
	r := p.row(e)
	if r.Outcome != Planned || r.PreviousTaskDefinition != "arn:web:1" || r.TaskDefinition != "" {
		t.Errorf("row = %+v, want planned from arn:web:1", r)
	}
	if strings.Contains(r.Diff, `"plan"`) || !strings.Contains(r.Diff, `"deploy"`) {
		t.Errorf("the planned revision is not tagged as a deploy would tag it:\n%s", r.Diff)
	}
	if !strings.Contains(r.Diff, "+") || !strings.Contains(r.Diff, registry+"/hello-color:1.4.0") || !strings.Contains(r.Diff, "-") {
		t.Errorf("diff does not show the new image:\n%s", r.Diff)
	}
}

func ptr[T any](v T) *T { return &v }

// A plan says what UpdateService would send besides the revision, and only
// what the environment configures.
func TestPlanShowsTheUpdateServiceFields(t *testing.T) {
	obs := serviceObservation{name: "web", current: described("arn:web:1", registry+"/hello-color:1.3.0", nil), service: target.Service{DesiredCount: 1}}
	req := Request{Repository: "hello-color", Tag: "1.4.0", Digest: "sha256:new", Registry: registry, Cause: state.CausePlan}
	for _, tt := range []struct{ env, want string }{
		{`{"cluster":"c","services":["web"]}`, ""},
		{`{"cluster":"c","services":["web"],"desiredCount":2,"deployment":{"maximumPercent":200,"minimumHealthyPercent":100,"circuitBreaker":true}}`,
			"desiredCount 2 (now 1), maximumPercent 200, minimumHealthyPercent 100, circuit breaker with rollback true"},
	} {
		e := environment{name: "dev", env: mustEnv(t, tt.env), version: semver.MustParse("1.4.0")}
		if got := dryRun(planService(req, e, &state.Record{Version: "1.3.0"}, obs), e.env).row(e).Update; got != tt.want {
			t.Errorf("%s: update = %q, want %q", tt.env, got, tt.want)
		}
	}
}
