package deploy_test

import (
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// A service created before 2021 has the short ARN
// arn:aws:ecs:region:account:service/name; ECS's deployment events for it
// name no cluster. They are recorded all the same, for the deployment the
// record names.
func TestAnEventWithAShortServiceARNIsRecorded(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	id := w.state(t, "staging").Services["hello-color-staging"].DeploymentID
	short := "arn:aws:ecs:" + localaws.Region + ":" + localaws.AccountID + ":service/hello-color-staging"
	res := w.deliverEvent(t, localaws.DeploymentEvent{ServiceARN: short, EventName: localaws.EventDeploymentCompleted, DeploymentID: id})
	if r := row(t, res, "staging"); r.Rollout != state.Completed {
		t.Errorf("staging row %+v, want the rollout completed", r)
	}
	if rec := w.state(t, "staging"); rec.Rollout != state.Completed || rec.LastCompleted != "1.4.0" {
		t.Errorf("staging state: rollout %s, last completed %q; want 1.4.0 completed", rec.Rollout, rec.LastCompleted)
	}
	// Another environment's service of another name is not touched.
	if rec := w.state(t, "dev"); rec.Rollout != state.InProgress {
		t.Errorf("dev state rollout %s, want in-progress still", rec.Rollout)
	}
}

// Behind a Classic Load Balancer ECS reports no rolloutState: the rollout
// is judged from the counts, and the record says completed once every task
// of the deployment runs, not in progress for ever.
func TestARolloutBehindAClassicLoadBalancerCompletes(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.manual(t, request.Request{Action: "status", Repository: "hello-color"}) // the model learns the services
	if err := w.env.ECSModel.ClassicLoadBalancer(cluster, "hello-color-staging"); err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.push(t, "1.4.0"))
	status := func() state.Record {
		t.Helper()
		if res, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"}); err != nil || res.Error != "" {
			t.Fatalf("status: %v %s", err, res.Error)
		}
		return w.state(t, "staging")
	}
	if rec := status(); rec.Rollout != state.InProgress {
		t.Errorf("while the tasks start: rollout %s, want in-progress", rec.Rollout)
	}
	w.complete(t, "hello-color-staging")
	if rec := status(); rec.Rollout != state.Completed || rec.LastCompleted != "1.4.0" {
		t.Errorf("every task running: rollout %s, last completed %q; want 1.4.0 completed", rec.Rollout, rec.LastCompleted)
	}
}

// An outcome read from the service-deployments history is recorded at the
// time the deployment ended, not when it was created.
func TestAnOutcomeFromTheHistoryIsRecordedWhenItEnded(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	// ECS's clock: the history is read from a while before the record
	// was written, so it starts at the real time.
	clock := time.Now().UTC().Truncate(time.Millisecond)
	w.env.ECSModel.SetClock(func() time.Time { return clock })
	w.deliver(t, w.push(t, "1.0.0"))
	w.complete(t, "hello-color-staging")
	w.deliver(t, w.push(t, "1.1.0")) // created now
	clock = clock.Add(10 * time.Minute)
	awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
	clock = clock.Add(5 * time.Minute)
	w.complete(t, "hello-color-staging") // the rollback ends, and with it 1.1.0's service deployment
	ended := clock

	if res, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"}); err != nil || res.Error != "" {
		t.Fatalf("status: %v %s", err, res.Error)
	}
	rec := w.state(t, "staging")
	if rec.Failed == nil || rec.Failed.Version != "1.1.0" || !rec.Failed.Time.Equal(ended) {
		t.Errorf("failure recorded %+v, want 1.1.0 at %v, when its service deployment ended", rec.Failed, ended)
	}
}
