package deploy

import (
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// A backlogged push is settled without a claim only when its record, read
// without looking at ECS, could not be wrong about it: a record whose
// deployment is still in progress may have been rolled back since, so a
// push that would be deployable were that version held is claimed and
// decided from what ECS says.
func TestSettledUnclaimed(t *testing.T) {
	env := mustEnv(t, `{"cluster":"c","services":["web"],"versions":"*"}`)
	var images pushedImages
	for _, tag := range []string{"1.5.0", "2.0.1", "2.1.0"} {
		images.images = append(images.images, target.Image{Tag: tag, Digest: "sha256:" + tag, ManifestMediaType: "application/vnd.oci.image.manifest.v1+json"})
	}
	images.checked = true
	rec := func(rollout state.Rollout) *state.Record {
		return &state.Record{Version: "2.1.0", Tag: "2.1.0", Digest: "sha256:2.1.0", Rollout: rollout, LastCompleted: "1.0.0"}
	}
	cases := []struct {
		name   string
		push   string
		rec    *state.Record
		want   policy.Reason
		settle bool
	}{
		{"two below a deployment in progress", "1.5.0", rec(state.InProgress), policy.OlderThanCurrent, true},
		{"just below a deployment in progress: deployable were it rolled back", "2.0.1", rec(state.InProgress), "", false},
		{"just below a completed deployment", "2.0.1", rec(state.Completed), policy.OlderThanCurrent, true},
		{"the same version as the record", "2.1.0", rec(state.InProgress), "", false},
		{"no record: superseded by ECR's highest", "2.0.1", nil, policy.Superseded, true},
	}
	for _, c := range cases {
		e := environment{name: "dev", env: env, version: semver.MustParse(c.push)}
		req := Request{Cause: state.CausePush, Tag: c.push, Digest: "sha256:" + c.push, PushedAt: time.Now().Add(-time.Minute)}
		rows, ok := settledUnclaimed(req, e, c.rec, images)
		if ok != c.settle || (ok && rows[0].Reason != c.want) {
			t.Errorf("%s: settled %v %+v, want settled %v with %q", c.name, ok, rows, c.settle, c.want)
		}
	}
	if in := rec(state.InProgress); len(asIfFailed(*in).Held) != 1 || len(in.Held) != 0 {
		t.Error("asIfFailed changed the record it was given")
	}
}
