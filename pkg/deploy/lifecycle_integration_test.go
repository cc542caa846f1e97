package deploy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// keepTwo is a lifecycle policy whose one rule expires all but the two
// newest images.
const keepTwo = `{"rules":[{"rulePriority":1,"description":"keep the 2 newest images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}`

// putLifecyclePolicy sets a repository's lifecycle policy (moto stores it).
func (w *world) putLifecyclePolicy(t *testing.T, text string) {
	t.Helper()
	if _, err := ecr.NewFromConfig(w.env.Local.Config).PutLifecyclePolicy(t.Context(), &ecr.PutLifecyclePolicyInput{
		RepositoryName: aws.String("hello-color"), LifecyclePolicyText: aws.String(text),
	}); err != nil {
		t.Fatal(err)
	}
}

// pushedInOrder makes ECR say the images were pushed a minute apart, in
// the order given (moto's push times are whole seconds).
func (w *world) pushedInOrder(pushes ...event.Push) {
	start := time.Now().Add(-time.Hour)
	for i, p := range pushes {
		w.env.ECRModel.SetPushedAt("hello-color", p.Digest, start.Add(time.Duration(i)*time.Minute))
	}
}

// TestLifecycleNamesTheDigestsACountRuleWouldExpire: dev stays on 1.0.0
// while staging moves on to 1.3.0; a rule keeping the two newest images
// would expire dev's running digest and staging's rollback target 1.1.0,
// and the lifecycle check says so, naming the rule. It writes nothing to
// ECR.
func TestLifecycleNamesTheDigestsACountRuleWouldExpire(t *testing.T) {
	cfg := `{"environments":{
		"dev":{"versions":"~1.0.0","cluster":"apps","services":["hello-color-dev"],"container":"web"},
		"staging":{"cluster":"apps","services":["hello-color-staging"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	var pushes []event.Push
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		p := w.push(t, v)
		pushes = append(pushes, p)
		w.deliver(t, p)
		w.complete(t, "hello-color-staging")
		if v == "1.0.0" {
			w.complete(t, "hello-color-dev")
		}
	}
	w.pushedInOrder(pushes...)
	w.putLifecyclePolicy(t, keepTwo)
	w.d.PollInterval = time.Millisecond
	w.env.Proxy.Reset()

	rep, err := w.d.Lifecycle(t.Context(), "hello-color")
	if err != nil {
		t.Fatal(err)
	}
	type risk struct{ env, role, version string }
	var got []risk
	for _, d := range rep.AtRisk() {
		got = append(got, risk{d.Environment, d.Role, d.Version})
		if d.Action != target.Expire || d.RulePriority != 1 || d.RuleDescription != "keep the 2 newest images" {
			t.Errorf("%+v, want expired by rule 1, keep the 2 newest images", d)
		}
	}
	// staging's record keeps 1.2.0 and 1.1.0 as rollback targets: the
	// completions it observed (1.0.0 was recorded completed at once, and
	// 1.3.0's completion is not observed yet).
	want := []risk{{"dev", deploy.RoleRunning, "1.0.0"}, {"staging", deploy.RoleRollbackTarget, "1.1.0"}}
	if !slices.Equal(want, got) {
		t.Errorf("at risk: %v, want %v", got, want)
	}
	if !rep.Policy || len(rep.Digests) != 4 {
		t.Errorf("report %+v, want the policy read and 4 digests checked (dev's 1.0.0; staging's 1.3.0, 1.2.0, 1.1.0)", rep)
	}
	if n := w.env.Proxy.Count("GetLifecyclePolicyPreview"); n < 2 {
		t.Errorf("GetLifecyclePolicyPreview calls = %d, want the preview polled until COMPLETE", n)
	}
	for _, op := range mutating(w.env) {
		if op != "StartLifecyclePolicyPreview" {
			t.Errorf("the lifecycle check called %s: without protect ecrdeploy writes nothing to ECR", op)
		}
	}
}

// keepTags returns the keep tags of every image of hello-color, by digest.
func keepTags(t *testing.T, w *world) map[string][]string {
	t.Helper()
	out, err := w.env.ECR().DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("hello-color"),
		Filter: &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterAny}})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string][]string{}
	for _, d := range out.ImageDetails {
		for _, tag := range d.ImageTags {
			if strings.HasPrefix(tag, deploy.KeepTagPrefix) {
				tags[aws.ToString(d.ImageDigest)] = append(tags[aws.ToString(d.ImageDigest)], tag)
			}
		}
	}
	return tags
}

// TestProtectTagsMoveWithDeployments: with protect, after each deployment
// is recorded, exactly the digests dev's record says run or may be rolled
// back to carry a keep tag: a new one gets it, and one the record no longer
// keeps (it keeps five known-good deployments) loses it, and only the keep
// tag. A lifecycle policy with the documented keep rule first then spares
// them all.
func TestProtectTagsMoveWithDeployments(t *testing.T) {
	cfg := `{"protect":true,"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	var pushes []event.Push
	untagged := map[string]bool{}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0", "1.7.0"} {
		p := w.push(t, v)
		pushes = append(pushes, p)
		w.deliver(t, p)
		// What the deployer does after writing a record.
		res, err := w.d.Protect(t.Context(), "hello-color")
		if err != nil {
			t.Fatalf("protect after %s: %v", v, err)
		}
		if !slices.Contains(res.Tagged, p.Digest) {
			t.Errorf("protect after %s tagged %v, want %s", v, res.Tagged, p.Digest)
		}
		for _, tag := range res.Untagged {
			untagged[tag] = true
		}
		rec := w.state(t, "dev")
		want := map[string][]string{rec.Digest: {deploy.KeepTag(rec.Digest)}}
		for _, g := range rec.Good {
			want[g.Digest] = []string{deploy.KeepTag(g.Digest)}
		}
		if diff := cmp.Diff(want, keepTags(t, w)); diff != "" {
			t.Errorf("keep tags after %s, against the record's digests (-want +got):\n%s", v, diff)
		}
		w.complete(t, "hello-color-dev")
	}
	// 1.0.0 (recorded completed at once, never a rollback target) lost its
	// tag when 1.1.0 ran, and 1.1.0 when a sixth known-good deployment
	// pushed it out of the record.
	for _, v := range []int{0, 1} {
		if !untagged[deploy.KeepTag(pushes[v].Digest)] {
			t.Errorf("%s's keep tag was never removed", pushes[v].Tag)
		}
		// Untagging removed only the keep tag: the image is still there.
		if _, err := target.ResolveTag(t.Context(), w.env.ECR(), "us-east-1", "hello-color", pushes[v].Tag); err != nil {
			t.Errorf("%s after its keep tag went: %v, want the image still there", pushes[v].Tag, err)
		}
	}

	// The keep rule first: the rule after it spares every protected digest.
	w.pushedInOrder(pushes...)
	w.putLifecyclePolicy(t, `{"rules":[`+deploy.KeepRule+`,{"rulePriority":2,"description":"keep 1","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)
	w.d.PollInterval = time.Millisecond
	rep, err := w.d.Lifecycle(t.Context(), "hello-color")
	if err != nil {
		t.Fatal(err)
	}
	if risk := rep.AtRisk(); len(risk) != 0 || len(rep.Digests) != 6 {
		t.Errorf("with the keep rule: %d checked, at risk %+v; want 6 checked (running and five rollback targets), none at risk", len(rep.Digests), risk)
	}
	// Without it, the same rule would expire all but the newest.
	w.putLifecyclePolicy(t, `{"rules":[{"rulePriority":2,"description":"keep 1","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)
	if rep, err := w.d.Lifecycle(t.Context(), "hello-color"); err != nil || len(rep.AtRisk()) != 5 {
		t.Errorf("without the keep rule: %v, at risk %d, want 5", err, len(rep.AtRisk()))
	}
}

// TestProtectRefusesADocumentWithoutIt: without protect, ecrdeploy tags
// nothing.
func TestProtectRefusesADocumentWithoutIt(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.4.0"))
	w.env.Proxy.Reset()
	if _, err := w.d.Protect(t.Context(), "hello-color"); err == nil || !strings.Contains(err.Error(), "does not set protect") {
		t.Errorf("Protect without protect: %v, want refused", err)
	}
	if n := w.env.Proxy.Count("PutImage") + w.env.Proxy.Count("BatchDeleteImage"); n != 0 {
		t.Errorf("%d writes to ECR, want none", n)
	}
}
