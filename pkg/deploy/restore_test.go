package deploy

import (
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestStepFor(t *testing.T) {
	for status, want := range map[string]imageStep{
		"": useImage, target.StatusActive: useImage, target.StatusArchived: restoreImage, target.StatusActivating: awaitImage,
	} {
		if got := stepFor(target.Image{Status: status}); got != want {
			t.Errorf("stepFor(%q) = %d, want %d", status, got, want)
		}
	}
}

func TestResumeStep(t *testing.T) {
	since := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	p := PendingRestore{Repository: "web", Environment: "production", Digest: "sha256:old", Registry: "r", Cause: state.CauseRollback,
		Replaces: "sha256:bad", Since: since}
	active := target.Image{Status: target.StatusActive}
	activating := target.Image{Status: target.StatusActivating}
	archived := target.Image{Status: target.StatusArchived}
	soon, late := since.Add(10*time.Minute), since.Add(restoreBound+time.Minute)
	tests := []struct {
		name    string
		img     target.Image
		found   bool
		current string
		now     time.Time
		want    resumeAction
	}{
		{"still restoring", activating, true, "sha256:bad", soon, resumeWait},
		{"restored", active, true, "sha256:bad", soon, resumeDeploy},
		{"restored late still deploys", active, true, "sha256:bad", late, resumeDeploy},
		{"already deployed (resumed before): deploy is idempotent", active, true, "sha256:old", soon, resumeDeploy},
		{"archived again: ask again", archived, true, "sha256:bad", soon, resumeRestore},
		{"restoring for too long", activating, true, "sha256:bad", late, resumeAbandon},
		{"archived for too long", archived, true, "sha256:bad", late, resumeAbandon},
		{"deleted while restored", target.Image{}, false, "sha256:bad", soon, resumeAbandon},
		{"the environment moved on", active, true, "sha256:newer", soon, resumeAbandon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := resumeStep(p, tt.img, tt.found, tt.current, tt.now)
			if got != tt.want {
				t.Errorf("resumeStep = %d (%s), want %d", got, why, tt.want)
			}
			if (got == resumeAbandon) != (why != "") {
				t.Errorf("resumeStep says %q for %d: an abandoned deployment says why, the others say nothing", why, got)
			}
		})
	}
}
