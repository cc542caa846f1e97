package deploy

import (
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

func mustEnv(t *testing.T, doc string) *config.Environment {
	t.Helper()
	d, err := config.Parse("test", []byte(`{"environments":{"e":`+doc+`}}`))
	if err != nil {
		t.Fatal(err)
	}
	return d.Environments["e"]
}

func TestAdmit(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		trigger state.Cause
		tag     string
		force   bool
		want    policy.Reason
	}{
		{"push accepted", `{"cluster":"c","services":["s"]}`, state.CausePush, "1.4.0", false, ""},
		{"leading v", `{"cluster":"c","services":["s"]}`, state.CausePush, "v1.4.0", false, ""},
		{"manual environment on push", `{"cluster":"c","services":["s"],"trigger":"manual"}`, state.CausePush, "1.4.0", false, policy.ManualEnvironment},
		{"manual environment on reconcile", `{"cluster":"c","services":["s"],"trigger":"manual"}`, state.CauseReconcile, "1.4.0", false, policy.ManualEnvironment},
		{"manual environment on deploy", `{"cluster":"c","services":["s"],"trigger":"manual"}`, state.CauseDeploy, "1.4.0", false, ""},
		{"latest", `{"cluster":"c","services":["s"]}`, state.CausePush, "latest", false, policy.NotSemver},
		{"latest forced is still not a version", `{"cluster":"c","services":["s"]}`, state.CauseDeploy, "latest", true, policy.NotSemver},
		{"two-part version", `{"cluster":"c","services":["s"]}`, state.CausePush, "1.2", false, policy.NotSemver},
		{"prerelease off", `{"cluster":"c","services":["s"]}`, state.CausePush, "1.3.0-rc.1", false, policy.Prerelease},
		{"prerelease on", `{"cluster":"c","services":["s"],"prereleases":true}`, state.CausePush, "1.3.0-rc.1", false, ""},
		{"prerelease forced", `{"cluster":"c","services":["s"]}`, state.CauseDeploy, "1.3.0-rc.1", true, ""},
		{"outside range", `{"cluster":"c","services":["s"],"versions":"^1.0.0"}`, state.CausePush, "2.0.0", false, policy.OutsideRange},
		{"outside range forced", `{"cluster":"c","services":["s"],"versions":"^1.0.0"}`, state.CausePromote, "2.0.0", true, ""},
		{"tag pattern", `{"cluster":"c","services":["s"],"tagPattern":"^release-(?P<version>.+)$"}`, state.CausePush, "release-1.4.2", false, ""},
		{"tag pattern no match", `{"cluster":"c","services":["s"],"tagPattern":"^release-(?P<version>.+)$"}`, state.CausePush, "1.4.2", false, policy.NotSemver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := admit(Request{Tag: tt.tag, Cause: tt.trigger, Force: tt.force}, mustEnv(t, tt.env))
			if got != tt.want {
				t.Errorf("admit = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompareState(t *testing.T) {
	rec := &state.Record{Version: "1.3.0", Tag: "1.3.0", Digest: "sha256:a", Held: []string{"1.5.0"}}
	tests := []struct {
		name    string
		version string
		tag     string
		digest  string
		force   bool
		rec     *state.Record
		want    policy.Reason
	}{
		{"no record", "1.0.0", "1.0.0", "sha256:x", false, nil, ""},
		{"newer", "1.4.0", "1.4.0", "sha256:b", false, rec, ""},
		{"same version same digest goes on to compare", "1.3.0", "1.3.0", "sha256:a", false, rec, ""},
		{"older", "1.2.0", "1.2.0", "sha256:b", false, rec, policy.OlderThanCurrent},
		{"older forced", "1.2.0", "1.2.0", "sha256:b", true, rec, ""},
		{"same tag new digest", "1.3.0", "1.3.0", "sha256:b", false, rec, policy.Retagged},
		{"same tag new digest forced", "1.3.0", "1.3.0", "sha256:b", true, rec, ""},
		{"same version other tag new digest", "1.3.0", "v1.3.0+build.2", "sha256:b", false, rec, policy.OlderThanCurrent},
		{"held", "1.5.0", "1.5.0", "sha256:c", false, rec, policy.Held},
		{"held forced", "1.5.0", "1.5.0", "sha256:c", true, rec, ""},
		{"newer than held", "1.5.1", "1.5.1", "sha256:d", false, rec, ""},
		{"after a failed rollout, newer than last completed", "1.4.1", "1.4.1", "sha256:e", false,
			&state.Record{Version: "1.5.0", Digest: "sha256:f", Rollout: state.Failed, LastCompleted: "1.4.0", Held: []string{"1.5.0"}}, ""},
		{"after a failed rollout, older than last completed", "1.3.9", "1.3.9", "sha256:e", false,
			&state.Record{Version: "1.5.0", Digest: "sha256:f", Rollout: state.Failed, LastCompleted: "1.4.0", Held: []string{"1.5.0"}}, policy.OlderThanCurrent},
		{"after a failed rollout, the failed version is held", "1.5.0", "1.5.0", "sha256:f", false,
			&state.Record{Version: "1.5.0", Digest: "sha256:f", Rollout: state.Failed, LastCompleted: "1.4.0", Held: []string{"1.5.0"}}, policy.Held},
		{"unparseable record version", "1.0.0", "1.0.0", "sha256:x", false, &state.Record{Version: "garbage"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := semver.MustParse(tt.version)
			got := compareState(Request{Tag: tt.tag, Digest: tt.digest, Force: tt.force}, v, tt.rec)
			if got != tt.want {
				t.Errorf("compareState = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompareImage(t *testing.T) {
	p := mustEnv(t, `{"cluster":"c","services":["s"]}`).Policy()
	tests := []struct {
		name, version, running string
		force                  bool
		want                   policy.Reason
	}{
		{"older than running", "0.9.0", "1.0.0", false, policy.OlderThanCurrent},
		{"older than running v-tag", "0.9.0", "v1.0.0", false, policy.OlderThanCurrent},
		{"newer", "1.1.0", "1.0.0", false, ""},
		{"running not a version", "0.9.0", "latest", false, ""},
		{"running by digest only", "0.9.0", "", false, ""},
		{"forced", "0.9.0", "1.0.0", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compareImage(Request{Force: tt.force}, semver.MustParse(tt.version), p, tt.running)
			if got != tt.want {
				t.Errorf("compareImage = %q, want %q", got, tt.want)
			}
		})
	}
}
