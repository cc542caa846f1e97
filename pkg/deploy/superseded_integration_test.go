package deploy_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// bumpMemory is an operator's change while staging's deployment runs: the
// revision it runs with more memory, registered and rolled out by hand.
// ECS stops the running deployment ("a new service deployment started")
// and rolls the operator's out. It returns the operator's revision.
func bumpMemory(t *testing.T, w *world) string {
	t.Helper()
	current := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-staging"))(t)
	td, tags := awstest.Must2(w.env.Local.DescribeTaskDefinition(t.Context(), current))(t)
	in := taskdef.FromDescribe(td, tags)
	in.Memory = aws.String("2048")
	bumped := awstest.Must(w.env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	if _, err := w.env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
		Cluster: aws.String(cluster), Service: aws.String("hello-color-staging"), TaskDefinition: aws.String(bumped),
	}); err != nil {
		t.Fatal(err)
	}
	return bumped
}

// A deployment someone else's superseded before it finished is not a
// failure: nothing is held or recorded as failed, and reconcile does not
// move the service back to the version before it. What runs afterwards
// decides the record.
func TestASupersededDeploymentIsNotFailed(t *testing.T) {
	for _, tc := range []struct {
		name string
		how  awstest.Refusal
		// gone: ECS no longer lists ecrdeploy's stopped deployment.
		gone bool
	}{
		{"the history says it was stopped for a newer one", awstest.ServeServiceDeployments, true},
		{"still listed beside the newer one, no history", awstest.RefuseAccessDenied, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, fargateFixture, nil)
			w.env.ECSModel.RefuseServiceDeployments(tc.how)
			w.deliver(t, w.push(t, "1.1.0"))
			w.complete(t, "hello-color-staging")
			if got := outcomes(w.deliver(t, w.push(t, "1.2.0")))["staging"]; got != "deployed" {
				t.Fatalf("staging 1.2.0: %s", got)
			}
			bumpMemory(t, w)
			if tc.gone {
				w.complete(t, "hello-color-staging")
			}
			w.env.Proxy.Reset()
			w.reconcile(t)

			rec := w.state(t, "staging")
			if rec.IsHeld("1.2.0") || rec.Failed != nil || rec.Version != "1.2.0" {
				t.Errorf("state = %s, held %v, failed %+v; want 1.2.0, nothing held or failed", rec.Version, rec.Held, rec.Failed)
			}
			td, _ := w.running(t, "hello-color-staging")
			if got := image(td, "web"); got != localaws.ImageURI("hello-color", "1.2.0") {
				t.Errorf("staging runs %s, want 1.2.0 still: a superseded deployment is not rolled back", got)
			}
			if aws.ToString(td.Memory) != "2048" {
				t.Errorf("staging runs memory %s, want the operator's 2048 kept", aws.ToString(td.Memory))
			}
		})
	}
}
