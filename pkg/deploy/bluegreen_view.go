package deploy

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// A deployment of the blue-green family (blue-green, linear, canary) has
// ended only when its service deployment says so: ECS may report the
// deployment COMPLETED in DescribeServices, or send no FAILED event, while
// its service deployment bakes, waits for an approval or rolls back. Such a
// deployment is therefore judged from DescribeServiceDeployments
// (judgeBlueGreen) wherever ecrdeploy looks at the service: a push,
// reconcile, status, promote, rollback, wait, an ECS event.

// blueGreenFamily reports whether a service deploys with a strategy of the
// blue-green family: the one its environment configures, or else the one
// its deployment configuration names. env may be nil (the configuration is
// not at hand: the service's says).
func blueGreenFamily(env *config.Environment, svc target.Service) bool {
	if env != nil && env.Deployment != nil && env.Deployment.Strategy != "" {
		return env.Deployment.Strategy.BlueGreenFamily()
	}
	if c := svc.DeploymentConfiguration; c != nil {
		return config.ParseStrategy(string(c.Strategy)).BlueGreenFamily()
	}
	return false
}

// serviceDeploymentOf returns the service deployment of the deployment a
// record's entry names: the one recorded, or, while that deployment is the
// service's PRIMARY, the service's current service deployment (ECS starts
// both at once). "" when neither says.
func serviceDeploymentOf(entry state.Service, svc target.Service) string {
	if entry.ServiceDeploymentARN != "" {
		return entry.ServiceDeploymentARN
	}
	if p, ok := svc.Primary(); ok && entry.DeploymentID != "" && p.ID == entry.DeploymentID {
		return svc.CurrentServiceDeployment
	}
	return ""
}

// blueGreenDeployment returns the service deployment to describe to judge
// an entry: its deployment is of the blue-green family (as the service's
// configuration says) and has not ended as far as the record knows. ""
// when the entry is judged from DescribeServices alone, so that a rolling
// update costs no call.
func blueGreenDeployment(entry state.Service, svc target.Service) string {
	if entry.DeploymentID == "" || entry.Rollout.Terminal() || !blueGreenFamily(nil, svc) {
		return ""
	}
	return serviceDeploymentOf(entry, svc)
}

// describeBlueGreen judges an entry from its service deployment (arn):
// false when there is none to describe, ECS does not describe it (the API
// refused, the deployment unknown), or it is not of the blue-green family
// after all; DescribeServices then says what it can.
func describeBlueGreen(ctx context.Context, client target.ECSAPI, entry state.Service, svc target.Service, arn string) (ecsView, bool) {
	if arn == "" {
		return ecsView{}, false
	}
	sd, err := target.DescribeServiceDeployment(ctx, client, arn)
	if err != nil || (sd.Strategy != "" && !config.ParseStrategy(sd.Strategy).BlueGreenFamily()) {
		return ecsView{}, false
	}
	return blueGreenRollout(entry, svc, sd), true
}

// blueGreenRollout is what a service deployment of the blue-green family
// (sd) says became of the deployment a record's entry names, with ECS's
// description of the service. SUCCESSFUL is completed, and only it; a
// rollback or stop is failed, whatever caused it (a hook, an approval
// rejected or timed out, an alarm, a stage timeout, a StopServiceDeployment),
// and when the service runs another revision again ECS rolled it back; a
// deployment stopped because a newer one started is superseded, and
// recorded as nothing. It calls nothing.
func blueGreenRollout(entry state.Service, svc target.Service, sd target.ServiceDeploymentDetail) ecsView {
	bg := judgeBlueGreen(sd, svc.CurrentServiceDeployment, time.Time{})
	v := ecsView{running: svc.TaskDefinition, sd: &sd}
	primary, _ := svc.Primary()
	switch bg.rollout {
	case state.Completed:
		v.rollout, v.at = state.Completed, firstSet(sd.FinishedAt, sd.UpdatedAt)
		if primary.ID == entry.DeploymentID {
			v.reason = primary.Reason
		}
	case state.Failed:
		v.rollout, v.reason = state.Failed, failureReason(sd, bg)
		v.at = firstSet(sd.FinishedAt, sd.StoppedAt, sd.UpdatedAt)
		if primary.ID != "" && primary.ID != entry.DeploymentID && !ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition) {
			v.rolledBack, v.rollback = true, primary
		}
	case state.Superseded:
		v.replaced = !ecsref.SameRevision(svc.TaskDefinition, entry.TaskDefinition)
		if !v.replaced {
			v.rollout, v.reason, v.at = rolloutOf(svc, primary), primary.Reason, primary.UpdatedAt
		}
	default:
		v.rollout, v.at = state.InProgress, sd.UpdatedAt
	}
	return v
}

// failureReason is the reason recorded for a deployment of the blue-green
// family that failed: what rolled it back, then ECS's reason.
func failureReason(sd target.ServiceDeploymentDetail, v blueGreenView) string {
	what := string(v.cause)
	switch v.cause {
	case causeAlarm:
		if len(sd.TriggeredAlarms) > 0 {
			what = "alarm " + strings.Join(sd.TriggeredAlarms, ", ")
		}
	case causeOther, causeNone:
		if v.reason != "" {
			return v.reason
		}
		return string(causeOther)
	}
	if v.reason != "" {
		return what + ": " + v.reason
	}
	return what
}

// firstSet returns the first of times that is not zero.
func firstSet(times ...time.Time) time.Time {
	for _, t := range times {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// repairBlueGreen brings into rec what the service deployments of views
// say beyond the rollout: the service deployment of an entry that did not
// record it yet, and the end of a pending approval whose hook no longer
// awaits action (approved, rejected or timed out while the event that says
// so was lost). It reports whether it changed rec. It calls nothing.
func repairBlueGreen(rec *state.Record, views map[string]ecsView) bool {
	changed := false
	for name, v := range views {
		entry, ok := rec.Services[name]
		if v.sd == nil || !ok || entry.ServiceDeploymentARN != "" || v.sd.ARN == "" {
			continue
		}
		entry.ServiceDeploymentARN = v.sd.ARN
		rec.Services[name] = entry
		changed = true
	}
	if a := rec.Approval; a != nil {
		if v, ok := views[a.Service]; ok && v.sd != nil && v.sd.ARN == a.ServiceDeploymentARN && !awaits(*v.sd, a.HookID) {
			rec.Approval = nil
			changed = true
		}
	}
	return changed
}

// awaits reports whether a service deployment in progress has the hook
// awaiting action.
func awaits(sd target.ServiceDeploymentDetail, hookID string) bool {
	return sd.Status == sdInProgress && slices.ContainsFunc(sd.Hooks, func(h target.HookDetail) bool {
		return h.ID == hookID && h.Status == hookAwaitingAction
	})
}

// stageStatus is what status shows of a deployment of the blue-green
// family a view was judged from: the status line ("canary 10 %, baking, 12
// of 15 min"; for one that failed, what rolled it back) and the share of
// production traffic on the new revision (nil when ECS does not say, or the
// deployment ended); "" and nil for a view judged from DescribeServices
// alone, and for a deployment that completed (its rollout says all).
func stageStatus(v ecsView, current string, now time.Time) (string, *float64) {
	if v.sd == nil {
		return "", nil
	}
	bg := judgeBlueGreen(*v.sd, current, now)
	if bg.rollout == state.Completed {
		return "", nil
	}
	if bg.production < 0 || bg.rollout != state.InProgress {
		return bg.text, nil
	}
	p := bg.production
	return bg.text, &p
}

// blueGreenChanged records, for an ECS deployment state change of a
// service whose environment deploys with a strategy of the blue-green
// family, what the deployment's service deployment says (the event's
// COMPLETED may come before the bake ends; a rollback by a hook, an alarm
// or a timeout may come with no FAILED at all), by bringing the record up
// to it as every look at the service does. recorded says whether that
// changed the rollout of the service's recorded deployment (the event's
// deploymentID), and rollout is that rollout. judged is false when the
// environment's strategy is not of the family, the record names another
// deployment, or ECS does not describe the service deployment: the event
// is then recorded as it says.
func (d *Deployer) blueGreenChanged(ctx context.Context, repository, name string, env *config.Environment, service, deploymentID string) (rec state.Record, recorded bool, rollout state.Rollout, judged bool, err error) {
	if !blueGreenFamily(env, target.Service{}) {
		return rec, false, "", false, nil
	}
	rec, err = d.State.Get(ctx, repository, name)
	if err != nil {
		return rec, false, "", false, nil // recordRollout reads it again, and says
	}
	before, ok := rec.Services[service]
	if !ok || before.DeploymentID != deploymentID || deploymentID == "" {
		return rec, false, "", false, nil
	}
	after, _, views, err := d.refreshViews(ctx, rec, env, nil)
	if err != nil {
		return rec, false, "", true, err
	}
	v := views[service]
	if v.sd == nil {
		return rec, false, "", false, nil
	}
	switch {
	case v.rollout == "" || v.rollout == before.Rollout:
		return after, false, v.rollout, true, nil
	case v.rolledBack:
		// The record now names what ECS rolled back to; the row tells the
		// deployment that failed.
		return rec, true, v.rollout, true, nil
	}
	return after, true, v.rollout, true, nil
}
