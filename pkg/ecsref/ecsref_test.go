package ecsref

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	tdARN      = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
	clusterARN = "arn:aws:ecs:us-east-1:123456789012:cluster/"
	serviceARN = "arn:aws:ecs:us-east-1:123456789012:service/"
)

// taskDefinitionRef is what FamilyRevision, Family and Revision make of one
// task definition reference.
type taskDefinitionRef struct {
	FamilyRevision, Family string
	Revision               int
}

func TestTaskDefinition(t *testing.T) {
	tests := []struct {
		name, ref string
		want      taskDefinitionRef
	}{
		{"ARN", tdARN + "web:12", taskDefinitionRef{"web:12", "web", 12}},
		{"ARN without revision", tdARN + "web", taskDefinitionRef{"web", "web", 0}},
		{"China partition ARN", "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/web:3", taskDefinitionRef{"web:3", "web", 3}},
		{"family:revision", "hello-color:7", taskDefinitionRef{"hello-color:7", "hello-color", 7}},
		{"bare family", "hello-color", taskDefinitionRef{"hello-color", "hello-color", 0}},
		{"revision not a number", "web:latest", taskDefinitionRef{"web:latest", "web", 0}},
		{"empty", "", taskDefinitionRef{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := taskDefinitionRef{FamilyRevision(tt.ref), Family(tt.ref), Revision(tt.ref)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestSameRevision(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       bool
	}{
		{"ARN and short form", tdARN + "web:2", "web:2", true},
		{"short form and ARN", "web:2", tdARN + "web:2", true},
		{"two ARNs", tdARN + "web:2", tdARN + "web:2", true},
		{"ARNs of other accounts", tdARN + "web:2", "arn:aws:ecs:us-east-1:210987654321:task-definition/web:2", true},
		{"other revision", tdARN + "web:2", "web:3", false},
		{"other family", "web:2", "worker:2", false},
		{"revision and bare family", "web:2", "web", false},
		{"a empty", "", "web:2", false},
		{"both empty", "", "", false},
		{"b empty", "web:2", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameRevision(tt.a, tt.b); got != tt.want {
				t.Errorf("SameRevision(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		ref  string
		want string
	}{
		{"service name", ServiceName, "hello-color-dev", "hello-color-dev"},
		{"service ARN", ServiceName, serviceARN + "apps-dev/hello-color-dev", "hello-color-dev"},
		{"old service ARN", ServiceName, serviceARN + "hello-color-dev", "hello-color-dev"},
		{"service empty", ServiceName, "", ""},
		{"cluster name", ClusterName, "apps-dev", "apps-dev"},
		{"cluster ARN", ClusterName, clusterARN + "apps-dev", "apps-dev"},
		{"GovCloud cluster ARN", ClusterName, "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:cluster/apps", "apps"},
		{"cluster empty", ClusterName, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.ref); got != tt.want {
				t.Errorf("%s(%q) = %q, want %q", tt.name, tt.ref, got, tt.want)
			}
		})
	}
}

func TestParseServiceARN(t *testing.T) {
	type parsed struct {
		Cluster, Service string
		OK               bool
	}
	tests := []struct {
		name, arn string
		want      parsed
	}{
		{"current form", serviceARN + "apps-dev/hello-color-dev", parsed{"apps-dev", "hello-color-dev", true}},
		{"old form", serviceARN + "hello-color-dev", parsed{"", "hello-color-dev", true}},
		{"other partition", "arn:aws-cn:ecs:cn-north-1:123456789012:service/apps/web", parsed{"apps", "web", true}},
		{"name only", "hello-color-dev", parsed{}},
		{"empty", "", parsed{}},
		{"not ECS", "arn:aws:ssm:us-east-1:123456789012:service/apps/web", parsed{}},
		{"not arn", "urn:aws:ecs:us-east-1:123456789012:service/apps/web", parsed{}},
		{"not a service", clusterARN + "apps", parsed{}},
		{"no resource", serviceARN, parsed{}},
		{"empty cluster", serviceARN + "/web", parsed{}},
		{"empty name", serviceARN + "apps/", parsed{}},
		{"too many parts", serviceARN + "apps/web/extra", parsed{}},
		{"too few fields", "arn:aws:ecs:us-east-1:service/apps/web", parsed{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got parsed
			got.Cluster, got.Service, got.OK = ParseServiceARN(tt.arn)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseServiceARN(%q) (-want +got):\n%s", tt.arn, diff)
			}
		})
	}
}
