package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

// testFiles are the story's files seen from this package's directory.
var testFiles = files{
	Config:         "hello-color.json",
	TaskDefinition: "../../pkg/taskdef/testdata/fargate-web.json",
	Push:           "../../events/push.json",
}

// inProcess is a function whose handler runs in the test, for checking the
// story without building and emulating the functions (the demo itself, and
// TestInterrupt, do that).
type inProcess struct {
	name   string
	handle func(context.Context, json.RawMessage) (deploy.Result, error)
}

func (f inProcess) Where() string { return f.name + " (in process)" }

func (f inProcess) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	res, err := f.handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// newStory seeds a fresh moto with the story's world and returns the story
// with the handlers in process, and its output.
func newStory(t *testing.T) (*story, *bytes.Buffer) {
	t.Helper()
	env := awstest.New(t)
	w, err := loadWorld(testFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.seed(t.Context(), env.Local, testFiles.TaskDefinition); err != nil {
		t.Fatal(err)
	}
	if err := pushImage(t.Context(), env.Local, w.push); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	settings := handler.Settings{Prefix: prefix, EventBus: "default", ConfigTTL: time.Minute, Table: localaws.StateTable}
	deployer := handler.Wire(env.Config, settings, handler.Options{Log: log})
	promoter := handler.Wire(env.Config, settings, handler.Options{Log: log})
	var out bytes.Buffer
	return &story{
		p: &printer{w: &out}, local: env.Local, ecs: localaws.NewClient(env.URL), model: env.ECSModel, w: w, page: filepath.Join(t.TempDir(), "board.html"),
		deployer: inProcess{deployerName, deployer.Event},
		promoter: inProcess{promoterName, promoter.Request},
	}, &out
}

func TestStory(t *testing.T) {
	s, out := newStory(t)
	for _, step := range []func(context.Context) error{s.push, s.complete, s.promote, s.approve, s.status, s.board} {
		if err := step(t.Context()); err != nil {
			t.Fatalf("%v\noutput:\n%s", err, out)
		}
	}
	for _, want := range []string{
		"dev          hello-color-dev      deployed  -                   hello-color-dev:1 -> hello-color-dev:2",
		"production   hello-color-prod     skipped   manual-environment  -",
		"ok staging: the state records 1.1.0's rollout COMPLETED",
		"production   hello-color-prod  deployed  -       hello-color-prod:1 -> hello-color-prod:2",
		"ok production: the state records the pause of hello-color-prod at post-test-traffic-shift",
		"production/hello-color-prod: awaiting approval at post-test-traffic-shift until ",
		": ecrdeploy approve hello-color --env production (or ecrdeploy reject hello-color --env production --reason TEXT)",
		"production/hello-color-prod: approved at post-test-traffic-shift: ECS continues the deployment",
		"ok production: approved; ECS continued exactly that pause",
		"ok all 3 environments run hello-color:1.1.0",
		"1 repository, 3 environments",
		"ok the board shows all 3 environments on hello-color:1.1.0: staging and production completed, dev rolling out",
		"ok wrote the board's page (the CloudWatch dashboard's widget shows the same) to " + s.page,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "FAILED") {
		t.Errorf("a check failed:\n%s", out)
	}
	page, err := os.ReadFile(s.page)
	if err != nil || !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) ||
		!bytes.Contains(page, []byte(`data-state="completed" data-repository="hello-color" data-environment="staging"`)) {
		t.Errorf("the board's page: %v\n%.300s", err, page)
	}
}

// TestStoryChecks checks that a step fails, saying why, when a function does
// not do what the story says.
func TestStoryChecks(t *testing.T) {
	t.Run("an environment is not deployed", func(t *testing.T) {
		s, out := newStory(t)
		real := s.deployer.(inProcess)
		s.deployer = inProcess{"deployer that forgets staging", func(ctx context.Context, raw json.RawMessage) (deploy.Result, error) {
			res, err := real.handle(ctx, raw)
			for i, r := range res.Results {
				if r.Environment == "staging" {
					res.Results[i] = deploy.Row{Environment: "staging", Service: r.Service, Outcome: deploy.Skipped, Reason: policy.OutsideRange}
				}
			}
			return res, err
		}}
		err := s.push(t.Context())
		if !errors.Is(err, errChecks) {
			t.Fatalf("push = %v, want failed checks\noutput:\n%s", err, out)
		}
		if want := `FAILED staging/hello-color-staging: outcome "skipped" "outside-range", task definition - -> -; want deployed in a new revision`; !strings.Contains(out.String(), want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
		if !strings.Contains(out.String(), "ok dev: deployed 1.1.0") {
			t.Errorf("dev's checks do not pass:\n%s", out)
		}
	})
	t.Run("promote before the rollout completed", func(t *testing.T) {
		s, out := newStory(t)
		if err := s.push(t.Context()); err != nil {
			t.Fatal(err)
		}
		err := s.promote(t.Context())
		if err == nil || !strings.Contains(err.Error(), "last deployment has not completed") {
			t.Errorf("promote = %v, want the promoter's refusal\noutput:\n%s", err, out)
		}
	})
	t.Run("the function fails", func(t *testing.T) {
		s, _ := newStory(t)
		s.deployer = inProcess{"broken", func(context.Context, json.RawMessage) (deploy.Result, error) {
			return deploy.Result{}, errors.New("throttled")
		}}
		if err := s.push(t.Context()); err == nil || !strings.Contains(err.Error(), "throttled") {
			t.Errorf("push = %v, want the function's error", err)
		}
	})
}

// TestDeploymentCompleted checks that the ECS event the demo makes decodes
// as the deployer decodes ECS's.
func TestDeploymentCompleted(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 31, 12, 345e6, time.UTC)
	raw, err := localaws.DeploymentEvent{ServiceARN: "arn:aws:ecs:us-east-1:123456789012:service/apps/hello-color-staging",
		EventName: localaws.EventDeploymentCompleted, DeploymentID: "ecs-svc/123", At: at}.JSON()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Decode(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	d, ok := ev.(event.DeploymentChange)
	if !ok {
		t.Fatalf("decoded %T, want event.DeploymentChange", ev)
	}
	if d.Cluster != "apps" || d.Service != "hello-color-staging" || d.DeploymentID != "ecs-svc/123" || d.Rollout() != "COMPLETED" ||
		d.Account != "123456789012" || d.Region != "us-east-1" || !d.UpdatedAt.Equal(at) || d.ID == "" {
		t.Errorf("decoded %+v", d)
	}
	if _, err := (localaws.DeploymentEvent{ServiceARN: "not an ARN", EventName: localaws.EventDeploymentCompleted, DeploymentID: "x", At: at}).JSON(); err == nil {
		t.Error("no error for a bad service ARN")
	}
}
