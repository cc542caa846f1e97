package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

func (w *world) reconcile(t *testing.T) deploy.Result {
	t.Helper()
	res, err := w.d.Reconcile(t.Context(), event.Schedule{ID: "sched-1", Time: time.Now()})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return res
}

// repoOutcomes flattens a reconcile result to repository/environment -> outcome.
func repoOutcomes(res deploy.Result) map[string]string {
	m := map[string]string{}
	for _, r := range res.Repositories {
		for k, v := range outcomes(r) {
			m[r.Repository+"/"+k] = v
		}
	}
	return m
}

func TestReconcileCatchesUpAfterLostEvents(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.push(t, "1.1.0")
	w.push(t, "1.2.0") // neither push event is delivered
	w.push(t, "2.0.0-rc.1")
	prod, _ := w.running(t, "hello-color-prod")

	res := w.reconcile(t)
	want := map[string]string{"hello-color/dev": "deployed", "hello-color/staging": "deployed"}
	if diff := cmp.Diff(want, repoOutcomes(res)); diff != "" {
		t.Errorf("first reconcile (-want +got):\n%s", diff)
	}
	for svc, tag := range map[string]string{"hello-color-dev": "2.0.0-rc.1", "hello-color-staging": "1.2.0"} {
		td, _ := w.running(t, svc)
		if got := image(td, "web"); got != localaws.ImageURI("hello-color", tag) {
			t.Errorf("%s runs %s, want %s", svc, got, tag)
		}
	}
	if after, _ := w.running(t, "hello-color-prod"); aws.ToString(after.TaskDefinitionArn) != aws.ToString(prod.TaskDefinitionArn) {
		t.Errorf("reconcile touched the manual production environment")
	}
	if rec := w.state(t, "staging"); rec.Cause != "reconcile" || rec.PushedAt == nil {
		t.Errorf("staging state = %+v, want trigger reconcile with the push time", rec)
	}

	w.env.Proxy.Reset()
	res = w.reconcile(t)
	want = map[string]string{"hello-color/dev": "unchanged", "hello-color/staging": "unchanged"}
	if diff := cmp.Diff(want, repoOutcomes(res)); diff != "" {
		t.Errorf("second reconcile (-want +got):\n%s", diff)
	}
	if ops := mutating(w.env); len(ops) != 0 {
		t.Errorf("second reconcile made mutating calls: %v", ops)
	}
}

func TestReconcileSkipsHeldAndLeavesAheadAlone(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.1.0"))
	w.rollout(t, "dev", "hello-color-dev", "COMPLETED")
	w.deliver(t, w.push(t, "1.2.0"))
	w.rollout(t, "dev", "hello-color-dev", "FAILED") // 1.2.0 held in dev
	if res, err := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "dev"}); err != nil || res.Error != "" {
		t.Fatalf("rollback: %v %s", err, res.Error)
	}
	// staging is ahead: a forced deploy outside its range.
	w.push(t, "2.0.0")
	if res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "2.0.0", Environment: "staging", Force: true}); err != nil || res.Error != "" {
		t.Fatalf("forced deploy: %v %s", err, res.Error)
	}
	read := subscribe(t, w.env)
	w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge()}
	w.env.Proxy.Reset()
	res := w.reconcile(t)
	for _, ev := range read() {
		if ev["detail-type"] == "Deployment Skipped" {
			t.Errorf("reconcile published %v: an environment left alone is not news", ev["detail"])
		}
	}
	for svc, tag := range map[string]string{"hello-color-dev": "2.0.0", "hello-color-staging": "2.0.0"} {
		td, _ := w.running(t, svc)
		if got := image(td, "web"); got != localaws.ImageURI("hello-color", tag) {
			t.Errorf("%s runs %s, want %s (outcomes %v)", svc, got, tag, repoOutcomes(res))
		}
	}
	// dev's range takes 2.0.0, which is newer than the held 1.2.0: held
	// versions block only themselves.
	if got := repoOutcomes(res)["hello-color/staging"]; got != "skipped older-than-current" {
		t.Errorf("staging = %q, want skipped older-than-current (ahead of its range, left alone)", got)
	}
}

func TestReconcileDoesNotRedeployHeldVersion(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.1.0"))
	w.rollout(t, "staging", "hello-color-staging", "COMPLETED")
	w.deliver(t, w.push(t, "1.2.0"))
	w.rollout(t, "staging", "hello-color-staging", "FAILED")
	if res, err := w.manual(t, request.Request{Action: "rollback", Repository: "hello-color", Environment: "staging"}); err != nil || res.Error != "" {
		t.Fatalf("rollback: %v %s", err, res.Error)
	}
	res := w.reconcile(t)
	if got := repoOutcomes(res)["hello-color/staging"]; got != "unchanged" {
		t.Errorf("staging = %q, want unchanged (1.2.0 is held, 1.1.0 runs)", got)
	}
	td, _ := w.running(t, "hello-color-staging")
	if got := image(td, "web"); got != localaws.ImageURI("hello-color", "1.1.0") {
		t.Errorf("staging runs %s, want 1.1.0", got)
	}
}

func TestReconcileThirtyRepositories(t *testing.T) {
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), cluster))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile(fargateFixture))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	const repos, images = 30, 25
	for i := range repos {
		repo := fmt.Sprintf("app-%02d", i)
		awstest.Must(env.Local.CreateRepository(t.Context(), repo))(t)
		for v := range images {
			awstest.Must(env.Local.PutImage(t.Context(), repo, fmt.Sprintf("1.%d.0", v), localaws.ImageManifest(fmt.Sprintf("%s %d", repo, v))))(t)
		}
		awstest.Must(env.Local.CreateService(t.Context(), cluster, repo+"-dev", arn, 1))(t)
		awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/"+repo, fmt.Sprintf(
			`{"environments":{"dev":{"cluster":"apps","services":["%s-dev"],"container":"web"},
			  "prod":{"trigger":"manual","cluster":"apps","services":["%s-prod"],"container":"web"}}}`, repo, repo)))(t)
	}
	d := newDeployer(env, &bytes.Buffer{})
	env.Proxy.Reset()
	start := time.Now()
	res, err := d.Reconcile(t.Context(), event.Schedule{ID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reconcile of %d repositories x %d images: %v in %v (%d calls)", repos, images, env.Proxy.Calls(), time.Since(start).Round(time.Millisecond), env.Proxy.Total())
	if len(res.Repositories) != repos || len(res.NotReached) != 0 {
		t.Fatalf("reconciled %d repositories, not reached %v", len(res.Repositories), res.NotReached)
	}
	for _, r := range res.Repositories {
		if got := outcomes(r)["dev"]; got != "deployed" || r.Version != "1.24.0" {
			t.Errorf("%s: dev %q at %s, want deployed 1.24.0", r.Repository, got, r.Version)
		}
	}
	if n := env.Proxy.Count("RegisterTaskDefinition"); n != repos {
		t.Errorf("RegisterTaskDefinition calls = %d, want %d", n, repos)
	}
}

func TestReconcileStopsBeforeDeadline(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.push(t, "1.1.0")
	w.d.WaitMargin = time.Hour // every deadline is already too close
	ctx, cancel := contextWithTimeout(t, time.Minute)
	defer cancel()
	res, err := w.d.Reconcile(ctx, event.Schedule{ID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hello-color"}, res.NotReached); diff != "" {
		t.Errorf("NotReached (-want +got):\n%s", diff)
	}
}

// subscribe routes ecrdeploy's result events on the default bus to a new
// SQS queue and returns a function that reads what arrived.
func subscribe(t *testing.T, env *awstest.Env) func() []map[string]any {
	t.Helper()
	q := sqs.NewFromConfig(env.Local.Config)
	out, err := q.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("results")})
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:sqs:us-east-1:123456789012:results"
	eb := eventbridge.NewFromConfig(env.Local.Config)
	if _, err := eb.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String("ecrdeploy-results"), EventPattern: aws.String(`{"source":["ecrdeploy"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String("ecrdeploy-results"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(arn)}}}); err != nil {
		t.Fatal(err)
	}
	return func() []map[string]any {
		t.Helper()
		var got []map[string]any
		for {
			msgs, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs.Messages) == 0 {
				return got
			}
			for _, m := range msgs.Messages {
				var ev map[string]any
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
					t.Fatalf("message is not an event: %v", err)
				}
				got = append(got, ev)
				q.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: out.QueueUrl, ReceiptHandle: m.ReceiptHandle})
			}
		}
	}
}

func TestResultEventsAndMetrics(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	read := subscribe(t, w.env)
	var metrics bytes.Buffer
	w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge(), Bus: "default", Metrics: &metrics}
	p := w.push(t, "1.4.0")
	p.Time = time.Now().Add(-90 * time.Second).UTC()
	res := w.deliver(t, p)
	dev := row(t, res, "dev")

	events := map[string]map[string]any{}
	for _, ev := range read() {
		detail, _ := ev["detail"].(map[string]any)
		events[fmt.Sprint(ev["detail-type"], "/", detail["environment"])] = ev
		if ev["source"] != "ecrdeploy" {
			t.Errorf("source = %v", ev["source"])
		}
	}
	if len(events) != 2 {
		t.Fatalf("got events %v, want Started for dev and staging (production's manual-environment skip is not news)", keys(events))
	}
	got := events["Deployment Started/dev"]["detail"].(map[string]any)
	want := map[string]any{
		"repository": "hello-color", "environment": "dev", "cluster": "apps", "service": "hello-color-dev",
		"version": "1.4.0", "tag": "1.4.0", "digest": p.Digest, "image": localaws.ImageURI("hello-color", "1.4.0"),
		"taskDefinition": dev.TaskDefinition, "previousTaskDefinition": dev.PreviousTaskDefinition, "deploymentId": dev.DeploymentID,
		"outcome": "deployed", "trigger": "push", "eventId": p.ID,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deployment Started detail (-want +got):\n%s", diff)
	}

	w.rollout(t, "dev", "hello-color-dev", "COMPLETED")
	done := read()
	if len(done) != 1 || done[0]["detail-type"] != "Deployment Succeeded" {
		t.Fatalf("after COMPLETED got %v, want one Deployment Succeeded", done)
	}
	d := done[0]["detail"].(map[string]any)
	lead, _ := d["leadTimeSeconds"].(float64)
	if d["environment"] != "dev" || d["rollout"] != "completed" || d["version"] != "1.4.0" || d["digest"] != p.Digest || lead < 90 || lead > 600 {
		t.Errorf("Deployment Succeeded detail = %v, want dev 1.4.0 with a lead time of about 90s", d)
	}

	// A version turned away is news: 2.0.0 is outside staging's range.
	w.deliver(t, w.push(t, "2.0.0"))
	var skippedStaging map[string]any
	for _, ev := range read() {
		d, _ := ev["detail"].(map[string]any)
		if ev["detail-type"] == "Deployment Skipped" && d["environment"] == "staging" {
			skippedStaging = d
		}
		if d["environment"] == "production" {
			t.Errorf("published %v for production's manual-environment skip", ev["detail-type"])
		}
	}
	if skippedStaging["reason"] != "outside-range" || skippedStaging["outcome"] != "skipped" || skippedStaging["version"] != "2.0.0" {
		t.Errorf("Deployment Skipped detail = %v, want staging outside-range 2.0.0", skippedStaging)
	}

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(metrics.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	var sawLead, sawDeployed bool
	for _, m := range lines {
		if _, ok := m["_aws"].(map[string]any)["CloudWatchMetrics"]; !ok {
			t.Errorf("not an EMF record: %v", m)
		}
		if m["Outcome"] == "deployed" && m["Environment"] == "dev" && m["Deployments"] == float64(1) && m["DecisionTime"] != nil {
			sawDeployed = true
		}
		if m["Outcome"] == "completed" && m["LeadTime"] != nil {
			sawLead = true
		}
	}
	if !sawDeployed || !sawLead {
		t.Errorf("metrics lack the deployed count or the lead time:\n%s", metrics.String())
	}
}

func TestPublishingFailureDoesNotFailTheDeployment(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge()}
	w.env.Proxy.Fail("PutEvents", awstest.Always, awstest.AWSError(400, "AccessDeniedException", "no"))
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if err != nil || outcomes(res)["dev"] != "deployed" {
		t.Errorf("Push = %v, %v; want dev deployed despite the publishing failure", outcomes(res), err)
	}
	if w.env.Proxy.Count("PutEvents") == 0 {
		t.Error("no PutEvents attempted")
	}
}

func keys[M ~map[string]V, V any](m M) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}
