package deploy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestLifecycleDigests(t *testing.T) {
	recs := map[string]state.Record{
		"dev":        {Version: "1.2.0", Digest: "sha256:12", Good: []state.Deployment{{Version: "1.2.0", Digest: "sha256:12"}, {Version: "1.1.0", Digest: "sha256:11"}}},
		"production": {Version: "1.0.0", Digest: "sha256:10"},
	}
	preview := []target.PreviewResult{
		{Digest: "sha256:11", Action: target.Expire, RulePriority: 2},
		{Digest: "sha256:10", Action: target.Archive, RulePriority: 3},
		{Digest: "sha256:09", Action: target.Expire, RulePriority: 2}, // no environment's: not reported
	}
	rules := map[int32]string{2: "keep 2 images", 3: "archive after 30 days"}
	got := lifecycleDigests([]string{"dev", "production", "qa"}, recs, map[string]string{"production": "222222222222.dkr.ecr.eu-west-1.amazonaws.com"}, preview, rules)
	want := []LifecycleDigest{
		{Environment: "dev", Role: RoleRunning, Version: "1.2.0", Digest: "sha256:12"},
		{Environment: "dev", Role: RoleRollbackTarget, Version: "1.1.0", Digest: "sha256:11", Action: target.Expire, RulePriority: 2, RuleDescription: "keep 2 images"},
		{Environment: "production", Role: RoleRunning, Version: "1.0.0", Digest: "sha256:10", Action: target.Archive, RulePriority: 3,
			RuleDescription: "archive after 30 days", Registry: "222222222222.dkr.ecr.eu-west-1.amazonaws.com"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lifecycleDigests (-want +got):\n%s", diff)
	}
	if risk := got[1].Risk(); risk != "dev rollback-target 1.1.0@sha256:11: rule 2 (keep 2 images) would expire it" {
		t.Errorf("Risk() = %q", risk)
	}
}

func TestRuleDescriptions(t *testing.T) {
	got := ruleDescriptions(`{"rules":[{"rulePriority":1,"description":"keep","selection":{},"action":{"type":"expire"}},{"rulePriority":5,"selection":{},"action":{"type":"expire"}}]}`)
	if diff := cmp.Diff(map[int32]string{1: "keep", 5: ""}, got); diff != "" {
		t.Errorf("ruleDescriptions (-want +got):\n%s", diff)
	}
	if got := ruleDescriptions("not json"); len(got) != 0 {
		t.Errorf("ruleDescriptions of a bad text = %v, want none", got)
	}
}

func TestPlanProtect(t *testing.T) {
	needed := map[string]bool{"sha256:aa": true, "sha256:bb": true, "sha256:cc": true, "sha256:dd": true, "sha256:ee": true}
	images := []target.Image{
		{Digest: "sha256:aa", Tags: []string{"1.0.0"}, Status: target.StatusActive},                       // to tag
		{Digest: "sha256:bb", Tags: []string{"1.1.0", KeepTag("sha256:bb")}, Status: target.StatusActive}, // tagged already
		{Digest: "sha256:cc", Tags: []string{"1.2.0"}, Status: target.StatusArchived},                     // archived: left
		{Digest: "sha256:dd", Tags: []string{"1.3.0"}},                                                    // status unknown: tag
		{Digest: "sha256:ff", Tags: []string{"0.9.0", KeepTag("sha256:ff")}, Status: target.StatusActive}, // no longer needed
		{Digest: "sha256:00", Tags: []string{KeepTag("sha256:00")}, Status: target.StatusActive},          // its last tag: kept
		{Digest: "sha256:01", Tags: []string{"ecrdeploy-keep-stale", "x"}, Status: target.StatusActive},   // ours, not needed
		{Digest: "sha256:02", Tags: []string{"keep-me", "ecrdeploy-keeper"}, Status: target.StatusActive}, // another's tags: ours only by prefix
	}
	got := planProtect(needed, images)
	want := protectPlan{
		tag:      []string{"sha256:aa", "sha256:dd"},
		untag:    []string{KeepTag("sha256:ff"), "ecrdeploy-keep-stale"},
		kept:     []string{KeepTag("sha256:00")},
		missing:  []string{"sha256:ee"},
		archived: []string{"sha256:cc"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(protectPlan{})); diff != "" {
		t.Errorf("planProtect (-want +got):\n%s", diff)
	}
}

func TestKeepTagAndRule(t *testing.T) {
	tag := KeepTag("sha256:" + strings.Repeat("a", 64))
	if len(tag) > 128 || !strings.HasPrefix(tag, KeepTagPrefix) {
		t.Errorf("KeepTag = %q (%d characters), want the prefix and at most 128", tag, len(tag))
	}
	var rule struct {
		RulePriority int `json:"rulePriority"`
		Selection    struct {
			TagStatus     string   `json:"tagStatus"`
			TagPrefixList []string `json:"tagPrefixList"`
			CountType     string   `json:"countType"`
		} `json:"selection"`
	}
	if err := json.Unmarshal([]byte(KeepRule), &rule); err != nil {
		t.Fatalf("KeepRule is not JSON: %v", err)
	}
	if rule.RulePriority != 1 || rule.Selection.TagStatus != "tagged" || len(rule.Selection.TagPrefixList) != 1 ||
		rule.Selection.TagPrefixList[0] != KeepTagPrefix || rule.Selection.CountType != "imageCountMoreThan" {
		t.Errorf("KeepRule = %+v, want priority 1 keeping images tagged %s", rule, KeepTagPrefix)
	}
}
