package deploy_test

import (
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// Staging's first ecrdeploy deployment (1.1.0) was rolled back by ECS: the
// repaired record has no version. Promoting from it is bad input (exit 2)
// that says there is nothing completed there, naming the rolled-back,
// held version; forced or not, nothing is deployed.
func TestPromoteFromAnEnvironmentWhoseOnlyDeploymentWasRolledBack(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(map[bool]string{false: "not forced", true: "forced"}[force], func(t *testing.T) {
			promoteFromRolledBack(t, force)
		})
	}
}

// promoteFromRolledBack promotes from staging once ECS rolled back its
// only ecrdeploy deployment, and checks the refusal.
func promoteFromRolledBack(t *testing.T, force bool) {
	w := newWorld(t, fargateFixture, nil)
	if got := outcomes(w.deliver(t, w.push(t, "1.1.0")))["staging"]; got != "deployed" {
		t.Fatalf("staging 1.1.0: %s", got)
	}
	awstest.Must(w.env.ECSModel.RollBack(t.Context(), cluster, "hello-color-staging"))(t)
	w.complete(t, "hello-color-staging")
	w.env.Proxy.Reset()

	res, err := w.manual(t, request.Request{Action: "promote", Repository: "hello-color", To: "production", Force: force})
	v := deploy.Judgement(res, err)
	if v.ExitCode != 2 || v.Kind != deploy.BadInput {
		t.Errorf("judged %q, exit %d (%s); want bad input, exit 2", v.Kind, v.ExitCode, v.Message)
	}
	for _, want := range []string{"nothing completed", "staging", "1.1.0 was rolled back and is held there"} {
		if !strings.Contains(v.Message, want) {
			t.Errorf("message %q, want it to say %q", v.Message, want)
		}
	}
	if n := countUpdates(w.env, "hello-color-prod"); n != 0 {
		t.Errorf("%d UpdateService calls of production, want none", n)
	}
}
