package target

import (
	"strings"
	"testing"
)

func TestSessionName(t *testing.T) {
	for _, tt := range []struct{ repo, env, want string }{
		{"hello-color", "production", "ecrdeploy-hello-color-production"},
		{"team/web", "prod", "ecrdeploy-team.web-prod"},
		{strings.Repeat("a", 80), "prod", "ecrdeploy-" + strings.Repeat("a", 54)},
	} {
		if got := sessionName(tt.repo, tt.env); got != tt.want {
			t.Errorf("sessionName(%q, %q) = %q, want %q", tt.repo, tt.env, got, tt.want)
		}
	}
}
