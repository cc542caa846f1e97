package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// waitedServiceDeployment returns the service deployment of a waited row's
// deployment: the service's current one while that deployment is its
// PRIMARY, else the one the environment's record (recorded) names for it;
// "" when neither says.
func waitedServiceDeployment(r *Row, svc target.Service, recorded func() state.Record) string {
	if arn := serviceDeploymentOf(state.Service{DeploymentID: r.DeploymentID}, svc); arn != "" {
		return arn
	}
	if e, ok := recorded().Services[r.Service]; ok && e.DeploymentID == r.DeploymentID {
		return e.ServiceDeploymentARN
	}
	return ""
}

// reached reports whether a deployment still in progress has got as far
// as a wait's until asks (request.Until), as its service deployment says:
//
//   - approval: it awaits approval (a pause hook awaits action), or has
//     gone past the environment's approval stage (someone approved it);
//   - test-traffic: test traffic is on the new revision
//     (POST_TEST_TRAFFIC_SHIFT or a later stage);
//   - production-traffic: all production traffic is on it
//     (POST_PRODUCTION_TRAFFIC_SHIFT or later, or a share of 100 %).
//
// A view judged from DescribeServices alone (a rolling update) reaches
// nothing before it is done, and neither does done. It calls nothing.
func reached(v ecsView, until string, env *config.Environment) bool {
	sd := v.sd
	if sd == nil {
		return false
	}
	switch until {
	case request.UntilApproval:
		if h, ok := sd.AwaitingHook(); ok && h.Type == hookTypePause {
			return true
		}
		stage := approvalStage(env).ECS()
		return stage != "" && sd.Stage != stage && stageReached(sd.Stage, stage)
	case request.UntilTestTraffic:
		return stageReached(sd.Stage, stagePostTestTrafficShift)
	case request.UntilProductionTraffic:
		return stageReached(sd.Stage, stagePostProductionTrafficShift) || (sd.Stage == stageProductionTrafficShift && sd.Production != nil && *sd.Production >= 100)
	}
	return false
}

// ErrNoApprovalStage is a wait until approval in an environment whose
// deployments do not pause for approval: it would wait for nothing.
var ErrNoApprovalStage = errors.New("the environment has no approval stage")

// checkUntil refuses, before anything is done, a wait until approval in an
// environment that configures no approval stage (deployment.approval).
func (d *Deployer) checkUntil(ctx context.Context, req request.Request) error {
	if req.Until != request.UntilApproval {
		return nil
	}
	name := cmp.Or(req.To, req.Environment)
	doc, err := d.Config.Get(ctx, req.Repository)
	if err != nil || doc.Environments[name] == nil {
		return nil // the action says what is wrong with the request
	}
	if approvalStage(doc.Environments[name]) == "" {
		return fmt.Errorf("wait until approval in %s of %s: %w (set deployment.approval, or wait until test-traffic, production-traffic or done)", name, req.Repository, ErrNoApprovalStage)
	}
	return nil
}
