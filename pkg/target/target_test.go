package target

import (
	"strings"
	"testing"
)

func TestFamilyOfAndSameRevision(t *testing.T) {
	for ref, want := range map[string]string{
		"arn:aws:ecs:us-east-1:123456789012:task-definition/hello-color:4": "hello-color",
		"hello-color:4": "hello-color",
		"hello-color":   "hello-color",
	} {
		if got := FamilyOf(ref); got != want {
			t.Errorf("FamilyOf(%q) = %q, want %q", ref, got, want)
		}
	}
	if !SameRevision("arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "web:2") {
		t.Error("ARN and family:revision of the same revision differ")
	}
	if SameRevision("arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "web:3") || SameRevision("", "") {
		t.Error("different revisions compare the same")
	}
}

func TestSessionName(t *testing.T) {
	for _, tt := range []struct{ repo, env, want string }{
		{"hello-color", "production", "ecrdeploy-hello-color-production"},
		{"team/web", "prod", "ecrdeploy-team.web-prod"},
		{strings.Repeat("a", 80), "prod", "ecrdeploy-" + strings.Repeat("a", 54)},
	} {
		if got := SessionName(tt.repo, tt.env); got != tt.want {
			t.Errorf("SessionName(%q, %q) = %q, want %q", tt.repo, tt.env, got, tt.want)
		}
	}
}
