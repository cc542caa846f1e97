package appspec

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const webV5 = "arn:aws:ecs:eu-west-1:111111111111:task-definition/web:5"

var blue = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/web-blue/0123456789abcdef"

func TestBuildGolden(t *testing.T) {
	tests := []struct {
		name       string
		service    target.Service
		containers []string
	}{
		{
			name: "fargate",
			service: target.Service{
				Controller: "CODE_DEPLOY", PlatformVersion: "1.4.0",
				LoadBalancers: []target.LoadBalancer{{TargetGroupARN: blue, ContainerName: "web", ContainerPort: 8080}},
			},
		},
		{
			name: "capacity-providers",
			service: target.Service{
				Controller:               "CODE_DEPLOY",
				LoadBalancers:            []target.LoadBalancer{{TargetGroupARN: blue, ContainerName: "web", ContainerPort: 80}},
				CapacityProviderStrategy: []target.CapacityProvider{{Name: "FARGATE", Base: 1, Weight: 1}, {Name: "FARGATE_SPOT", Weight: 3}},
			},
		},
		{
			name: "container-named",
			service: target.Service{
				Controller: "CODE_DEPLOY",
				LoadBalancers: []target.LoadBalancer{
					{TargetGroupARN: blue, ContainerName: "envoy", ContainerPort: 9901},
					{TargetGroupARN: blue, ContainerName: "web", ContainerPort: 8080},
				},
			},
			containers: []string{"web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(webV5, tt.service, tt.containers)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata", tt.name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/appspec -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("AppSpec differs from %s (-want +got):\n%s", file, diff)
			}
			// Whatever the layout, the content is the documented shape.
			var spec Spec
			if err := json.Unmarshal(got, &spec); err != nil || spec.Version != Version || len(spec.Resources) != 1 ||
				spec.Resources[0].TargetService.Type != ServiceType || spec.Resources[0].TargetService.Properties.TaskDefinition != webV5 {
				t.Errorf("AppSpec %s decodes to %+v, %v", got, spec, err)
			}
		})
	}
}

func TestBuildIsStable(t *testing.T) {
	svc := target.Service{LoadBalancers: []target.LoadBalancer{{ContainerName: "web", ContainerPort: 80}, {ContainerName: "web", ContainerPort: 80}}}
	a, err := Build(webV5, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Build(webV5, svc, []string{"web", "sidecar"})
	if string(a) != string(b) {
		t.Errorf("equal choices give different AppSpecs:\n%s\n%s", a, b)
	}
}

func TestBuildRefuses(t *testing.T) {
	web := target.LoadBalancer{TargetGroupARN: blue, ContainerName: "web", ContainerPort: 8080}
	tests := []struct {
		name       string
		td         string
		lbs        []target.LoadBalancer
		containers []string
		want       error
		wantText   string
	}{
		{name: "family:revision", td: "web:5", lbs: []target.LoadBalancer{web}, want: ErrNotARN},
		{name: "no load balancer", td: webV5, want: ErrNoLoadBalancer},
		{name: "classic load balancer without container", td: webV5, lbs: []target.LoadBalancer{{LoadBalancerName: "web-elb"}}, want: ErrNoLoadBalancer},
		{
			name: "two containers", td: webV5, lbs: []target.LoadBalancer{web, {TargetGroupARN: blue, ContainerName: "api", ContainerPort: 9000}},
			want: ErrAmbiguousContainer, wantText: "web:8080, api:9000",
		},
		{
			name: "two ports of the named container", td: webV5, containers: []string{"web"},
			lbs:  []target.LoadBalancer{web, {TargetGroupARN: blue, ContainerName: "web", ContainerPort: 8443}},
			want: ErrAmbiguousContainer,
		},
		{name: "named container not behind the load balancer", td: webV5, lbs: []target.LoadBalancer{web}, containers: []string{"worker"}, want: ErrNoLoadBalancer, wantText: "web:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(tt.td, target.Service{LoadBalancers: tt.lbs}, tt.containers)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Build = %s, %v; want %v", got, err, tt.want)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
		})
	}
}
