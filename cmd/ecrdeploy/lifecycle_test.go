package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// TestLifecycleCommand: ecrdeploy lifecycle names the running digest a
// count rule would expire, with the rule, and exits 1; config verify says
// the same in one line. A repository that turns protect on after its
// deployments (which, without it, tagged nothing) gets its keep tags from
// --protect at once, and with the keep rule first it exits 0.
func TestLifecycleCommand(t *testing.T) {
	env := awstest.New(t)
	env.SetEnv(t)
	t.Setenv("ECRDEPLOY_PREFIX", "/ecrdeploy")
	awstest.Must(env.Local.CreateCluster(t.Context(), "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../../pkg/taskdef/testdata/fargate-web.json"))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(env.Local.CreateService(t.Context(), "apps", "hello-color-dev", arn, 1))(t)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	const dev = `"environments":{"dev":{"versions":"~1.0.0","cluster":"apps","services":["hello-color-dev"],"container":"web"}}`
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{`+dev+`}`))(t)
	running := awstest.Must(env.Local.PutImage(t.Context(), "hello-color", "1.0.0", localaws.ImageManifest("1.0.0")))(t)
	if code, stdout, stderr := runCLI(t, "", "deploy", "hello-color", "1.0.0", "--env", "dev"); code != exitOK {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, stdout, stderr)
	}
	newer := awstest.Must(env.Local.PutImage(t.Context(), "hello-color", "1.1.0", localaws.ImageManifest("1.1.0")))(t)
	env.ECRModel.SetPushedAt("hello-color", running, mustTime(t, "2026-12-01T00:00:00Z"))
	env.ECRModel.SetPushedAt("hello-color", newer, mustTime(t, "2026-12-02T00:00:00Z"))
	keepOne := `{"rulePriority":2,"description":"keep the newest image","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}`
	putPolicy := func(text string) {
		t.Helper()
		if _, err := ecr.NewFromConfig(env.Local.Config).PutLifecyclePolicy(t.Context(), &ecr.PutLifecyclePolicyInput{
			RepositoryName: aws.String("hello-color"), LifecyclePolicyText: aws.String(text)}); err != nil {
			t.Fatal(err)
		}
	}
	putPolicy(`{"rules":[` + keepOne + `]}`)

	code, stdout, stderr := runCLI(t, "", "lifecycle", "hello-color")
	if code != exitFailed || !strings.Contains(stdout, running) || !strings.Contains(stdout, "rule 2 (keep the newest image) would expire it") {
		t.Errorf("lifecycle: exit %d, want 1 naming %s and the rule\n%s\n%s", code, running, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "", "config", "verify", "hello-color")
	if code != exitFailed || !strings.Contains(stdout, "FAIL lifecycle policy spares every running and rollback-target digest (dev running 1.0.0@"+running) {
		t.Errorf("config verify: exit %d, want 1 with the lifecycle line failed\n%s", code, stdout)
	}

	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"protect":true,`+dev+`}`))(t)
	putPolicy(`{"rules":[` + deploy.KeepRule + `,` + keepOne + `]}`)
	code, stdout, stderr = runCLI(t, "", "lifecycle", "hello-color", "--protect")
	if code != exitOK || !strings.Contains(stdout, "protect: tagged 1") || !strings.Contains(stdout, "kept") {
		t.Errorf("lifecycle --protect with the keep rule: exit %d, want 0, tagged 1\n%s\n%s", code, stdout, stderr)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
