package verify

import (
	"context"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// trafficShifting says whether ECS can shift traffic between the revisions
// of a deployment of the blue-green family (blue-green, linear, canary) on
// the service, and how. ECS needs either a load balancer with an advanced
// configuration (the alternate target group that takes the new revision and
// the listener rule, or a Network Load Balancer's listener, that routes
// production traffic; a test listener rule for test traffic) or Service
// Connect: "To use a blue/green deployment with managed traffic shifting,
// your service must use one of the following features: Elastic Load
// Balancing, Service Connect. Services that don't use ... can also use
// blue/green deployments, but don't get any of the managed traffic
// shifting benefits" ("Required resources for Amazon ECS blue/green
// deployments", Amazon ECS Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-implementation.html;
// "AdvancedConfiguration", API Reference). Without either, the check fails:
// a canary or linear deployment would have no traffic to shift, and the
// stages an approval or a hook waits for would mean nothing.
func trafficShifting(svc target.Service) (ok bool, detail string) {
	if svc.ServiceConnect {
		return true, "Service Connect"
	}
	if len(svc.LoadBalancers) == 0 {
		return false, "no load balancer and no Service Connect: ECS would deploy it without shifting traffic; give it a load balancer with an alternate target group and a production listener rule, or Service Connect"
	}
	var problems []string
	for _, lb := range svc.LoadBalancers {
		name := lb.TargetGroupARN
		if name == "" {
			name = "of container " + lb.ContainerName
		}
		var missing []string
		if lb.AlternateTargetGroupARN == "" {
			missing = append(missing, "alternate target group")
		}
		if lb.ProductionListenerRule == "" {
			missing = append(missing, "production listener rule")
		}
		if len(missing) > 0 {
			problems = append(problems, "load balancer "+name+" has no "+strings.Join(missing, " and ")+" (advancedConfiguration)")
			continue
		}
		detail := "target groups " + lb.TargetGroupARN + " and " + lb.AlternateTargetGroupARN + ", production listener rule " + lb.ProductionListenerRule
		if lb.TestListenerRule != "" {
			detail += ", test listener rule " + lb.TestListenerRule
		} else {
			detail += ", no test listener rule (test traffic stages see no traffic)"
		}
		return true, detail
	}
	return false, strings.Join(problems, "; ")
}

// verifyAlarms checks that the alarms the deployment names exist in the
// target's account and region, where ECS watches them.
func (d *Verifier) verifyAlarms(ctx context.Context, t target.Target, name string, env *config.Environment) []Check {
	dc := env.Deployment
	if dc == nil || dc.Alarms == nil || len(dc.Alarms.Names) == 0 {
		return nil
	}
	what := "alarms " + strings.Join(dc.Alarms.Names, ", ") + " exist"
	client, err := d.Targets.CloudWatch(ctx, t)
	if err != nil {
		return []Check{{Environment: name, What: what, Detail: err.Error()}}
	}
	missing, err := target.MissingAlarms(ctx, client, dc.Alarms.Names)
	switch {
	case err != nil:
		return []Check{{Environment: name, What: what, Detail: err.Error()}}
	case len(missing) > 0:
		return []Check{{Environment: name, What: what, Detail: "not found: " + strings.Join(missing, ", ")}}
	}
	return []Check{{Environment: name, What: what, OK: true}}
}
