package verify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/verify"
)

// config verify checks a canary environment against moto: the service with
// a load balancer's advanced configuration can shift traffic, the one with
// a plain target group cannot, and of the two alarms named only the one
// CloudWatch has exists.
func TestVerifyRolloutAgainstAWS(t *testing.T) {
	env := awstest.New(t)
	ctx := t.Context()
	awstest.Must(env.Local.CreateCluster(ctx, "apps"))(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("../taskdef/testdata/fargate-web.json"))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(ctx, in))(t)
	const (
		blue  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1"
		green = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2"
		rule  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"
	)
	withLB := func(advanced *ecstypes.AdvancedConfiguration) func(*ecs.CreateServiceInput) {
		return func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(blue), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080), AdvancedConfiguration: advanced}}
		}
	}
	awstest.Must(env.Local.CreateService(ctx, "apps", "web-ready", arn, 1, withLB(&ecstypes.AdvancedConfiguration{
		AlternateTargetGroupArn: aws.String(green), ProductionListenerRule: aws.String(rule), RoleArn: aws.String("arn:aws:iam::123456789012:role/ecs-elb"),
	})))(t)
	awstest.Must(env.Local.CreateService(ctx, "apps", "web-plain", arn, 1, withLB(nil)))(t)
	if err := env.Local.PutMetricAlarm(ctx, "web-5xx"); err != nil {
		t.Fatal(err)
	}
	doc := `{"environments":{"production":{"cluster":"apps","services":["web-ready","web-plain"],
		"deployment":{"strategy":"canary","canary":{"percent":10},"alarms":{"names":["web-5xx","web-latency"]}}}}}`
	awstest.Must(env.Local.PutParameter(ctx, "/ecrdeploy/config/web", doc))(t)

	v := &verify.Verifier{Config: config.NewStore(env.SSM(), "/ecrdeploy", time.Minute), Targets: &target.Pool{Base: env.Config}}
	checks, err := v.Verify(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]verify.Check{}
	for _, c := range checks {
		got[c.What] = c
	}
	for what, want := range map[string]struct {
		ok     bool
		detail string
	}{
		"service web-ready can shift traffic (strategy canary)": {true, "target groups " + blue + " and " + green + ", production listener rule " + rule + ", no test listener rule (test traffic stages see no traffic)"},
		"service web-plain can shift traffic (strategy canary)": {false, "load balancer " + blue + " has no alternate target group and production listener rule (advancedConfiguration)"},
		"alarms web-5xx, web-latency exist":                     {false, "not found: web-latency"},
	} {
		c, ok := got[what]
		if !ok {
			t.Errorf("no check %q in %+v", what, checks)
			continue
		}
		if c.OK != want.ok || c.Detail != want.detail {
			t.Errorf("%s: ok %v, %q; want %v, %q", what, c.OK, c.Detail, want.ok, want.detail)
		}
	}
	if n := env.Proxy.Count("monitoring:DescribeAlarms"); n != 1 {
		t.Errorf("%d DescribeAlarms calls, want 1", n)
	}

	// Every alarm there: the check passes.
	if err := env.Local.PutMetricAlarm(ctx, "web-latency"); err != nil {
		t.Fatal(err)
	}
	checks = awstest.Must(v.Verify(ctx, "web"))(t)
	for _, c := range checks {
		if strings.HasPrefix(c.What, "alarms ") && (!c.OK || c.Detail != "") {
			t.Errorf("%+v, want the alarms found", c)
		}
	}
}
