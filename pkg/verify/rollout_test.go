package verify

import (
	"testing"

	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestTrafficShifting(t *testing.T) {
	const (
		blue  = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/blue/1"
		green = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/green/2"
		prod  = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/web/1/2/3"
		test  = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/web/1/2/4"
	)
	tests := []struct {
		name   string
		svc    target.Service
		ok     bool
		detail string
	}{
		{"Service Connect", target.Service{ServiceConnect: true}, true, "Service Connect"},
		{"nothing to shift", target.Service{}, false,
			"no load balancer and no Service Connect: ECS would deploy it without shifting traffic; give it a load balancer with an alternate target group and a production listener rule, or Service Connect"},
		{"a load balancer without an advanced configuration", target.Service{LoadBalancers: []target.LoadBalancer{{TargetGroupARN: blue, ContainerName: "web"}}}, false,
			"load balancer " + blue + " has no alternate target group and production listener rule (advancedConfiguration)"},
		{"no production listener rule", target.Service{LoadBalancers: []target.LoadBalancer{{TargetGroupARN: blue, AlternateTargetGroupARN: green}}}, false,
			"load balancer " + blue + " has no production listener rule (advancedConfiguration)"},
		{"alternate target group and both rules", target.Service{LoadBalancers: []target.LoadBalancer{{TargetGroupARN: blue, AlternateTargetGroupARN: green, ProductionListenerRule: prod, TestListenerRule: test}}}, true,
			"target groups " + blue + " and " + green + ", production listener rule " + prod + ", test listener rule " + test},
		{"no test listener rule", target.Service{LoadBalancers: []target.LoadBalancer{{TargetGroupARN: blue, AlternateTargetGroupARN: green, ProductionListenerRule: prod}}}, true,
			"target groups " + blue + " and " + green + ", production listener rule " + prod + ", no test listener rule (test traffic stages see no traffic)"},
		{"one load balancer of two is set up", target.Service{LoadBalancers: []target.LoadBalancer{{TargetGroupARN: test}, {TargetGroupARN: blue, AlternateTargetGroupARN: green, ProductionListenerRule: prod}}}, true,
			"target groups " + blue + " and " + green + ", production listener rule " + prod + ", no test listener rule (test traffic stages see no traffic)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, detail := trafficShifting(tt.svc)
			if ok != tt.ok || detail != tt.detail {
				t.Errorf("trafficShifting = %v, %q\nwant %v, %q", ok, detail, tt.ok, tt.detail)
			}
		})
	}
}
