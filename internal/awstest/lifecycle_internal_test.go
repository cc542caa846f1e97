package awstest

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEvaluateLifecycle checks the model's evaluator against the rules of
// "Lifecycle policy evaluation rules" (Amazon ECR User Guide).
func TestEvaluateLifecycle(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	images := []lifecycleImage{
		{digest: "a", tags: []string{"1.0.0"}, pushedAt: now.Add(-40 * day)},
		{digest: "b", tags: []string{"1.1.0", "ecrdeploy-keep-b"}, pushedAt: now.Add(-30 * day)},
		{digest: "c", tags: []string{"1.2.0", "prod-1"}, pushedAt: now.Add(-20 * day)},
		{digest: "d", tags: []string{"1.3.0"}, pushedAt: now.Add(-10 * day)},
		{digest: "e", pushedAt: now.Add(-5 * day)}, // untagged
		{digest: "f", tags: []string{"0.9.0"}, pushedAt: now.Add(-200 * day), archived: true, archivedAt: now.Add(-100 * day)},
	}
	rule := func(s string) lifecycleRule {
		var r lifecycleRule
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name  string
		rules []string
		want  map[string]string // digest -> "ACTION priority"
	}{
		{"keep the two newest of any", []string{`{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}`},
			map[string]string{"a": "EXPIRE 1", "b": "EXPIRE 1", "c": "EXPIRE 1"}},
		{"older than 15 days", []string{`{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":15},"action":{"type":"expire"}}`},
			map[string]string{"a": "EXPIRE 1", "b": "EXPIRE 1", "c": "EXPIRE 1"}},
		{"a keep rule first spares its images from a later rule", []string{
			`{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["ecrdeploy-keep-"],"countType":"imageCountMoreThan","countNumber":10000},"action":{"type":"expire"}}`,
			`{"rulePriority":2,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}`},
			// b is the keep rule's; the later rule still counts it ("can still
			// identify them"), so d, e and b are the three newest of its five.
			map[string]string{"a": "EXPIRE 2", "c": "EXPIRE 2", "d": "EXPIRE 2"}},
		{"tag patterns, and archiving", []string{`{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["prod-*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"transition","targetStorageClass":"archive"}}`},
			map[string]string{"c": "TRANSITION 1"}},
		{"untagged only", []string{`{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}`},
			map[string]string{"e": "EXPIRE 1"}},
		{"archived images, by time in archive", []string{`{"rulePriority":1,"selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90},"action":{"type":"expire"}}`},
			map[string]string{"f": "EXPIRE 1"}},
		{"every prefix of the list must match a tag", []string{`{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["1.", "prod"],"countType":"imageCountMoreThan","countNumber":0},"action":{"type":"expire"}}`},
			map[string]string{"c": "EXPIRE 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rules []lifecycleRule
			for _, r := range tt.rules {
				rules = append(rules, rule(r))
			}
			results, _ := evaluateLifecycle(rules, images, now)
			got := map[string]string{}
			for _, r := range results {
				action := r["action"].(map[string]any)
				got[r["imageDigest"].(string)] = action["type"].(string) + " " + map[int]string{1: "1", 2: "2"}[r["appliedRulePriority"].(int)]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("results (-want +got), digests %v:\n%s", slices.Sorted(maps.Keys(got)), diff)
			}
		})
	}
}
