package deploy_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
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

// TestProtectTagsMoveWithDeployments: with protect, the deployer keeps
// the keep tags itself: after each deployment is recorded (by the push)
// and after its completion is (by ECS's event), exactly the digests dev's
// record says run or may be rolled back to carry a keep tag. A new one gets
// it; one the record no longer keeps (the first, never a rollback target,
// and those pushed out of its bounded list of known-good deployments) loses
// it, and only the keep tag. A lifecycle policy with the documented keep
// rule first then spares them all. What the record keeps is read from the
// record, not assumed.
func TestProtectTagsMoveWithDeployments(t *testing.T) {
	cfg := `{"protect":true,"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	// needed is what protect keeps: the digest that runs, and the known-good
	// ones.
	needed := func(rec state.Record) map[string][]string {
		want := map[string][]string{rec.Digest: {deploy.KeepTag(rec.Digest)}}
		for _, g := range rec.Good {
			want[g.Digest] = []string{deploy.KeepTag(g.Digest)}
		}
		return want
	}
	check := func(when string) state.Record {
		t.Helper()
		rec := w.state(t, "dev")
		if diff := cmp.Diff(needed(rec), keepTags(t, w)); diff != "" {
			t.Errorf("keep tags %s, against the record's digests (-want +got):\n%s", when, diff)
		}
		return rec
	}
	var pushes []event.Push
	var rec state.Record
	pushedOut := "" // a known-good digest the bound of the record's list dropped
	for i := 0; pushedOut == ""; i++ {
		if i == 40 {
			t.Fatalf("after %d deployments the record keeps %d known-good ones: want a bounded list", i, len(rec.Good))
		}
		v := fmt.Sprintf("1.%d.0", i)
		p := w.push(t, v)
		pushes = append(pushes, p)
		got := outcomes(w.deliver(t, p))["dev"]
		// The services run 1.0.0's image already: it is recorded without a
		// deployment, and is no rollback target.
		if got != "deployed" && (i > 0 || got != "unchanged") {
			t.Fatalf("%s to dev: %s", v, got)
		}
		if rec = check("after deploying " + v); rec.Digest != p.Digest {
			t.Fatalf("dev's record names %s after deploying %s (%s)", rec.Digest, v, p.Digest)
		}
		before := rec.Good
		if got == "deployed" {
			w.complete(t, "hello-color-dev")
			w.rollout(t, "dev", "hello-color-dev", "COMPLETED")
			rec = check("after " + v + " completed")
			if len(rec.Good) == 0 || rec.Good[0].Digest != p.Digest {
				t.Fatalf("after %s completed, the record's known-good deployments are %+v; want %s first", v, rec.Good, v)
			}
		}
		for _, g := range before {
			if _, ok := needed(rec)[g.Digest]; !ok {
				pushedOut = g.Digest
			}
		}
	}
	// Every digest the record no longer keeps lost its keep tag (it had
	// one while it ran), and only that: the image is still there.
	gone := 0
	for _, p := range pushes {
		if _, ok := needed(rec)[p.Digest]; ok {
			continue
		}
		gone++
		if _, err := target.ResolveTag(t.Context(), w.env.ECR(), "us-east-1", "hello-color", p.Tag); err != nil {
			t.Errorf("%s after its keep tag went: %v, want the image still there", p.Tag, err)
		}
	}
	if gone < 2 {
		t.Errorf("%d digests left the record; want the first and one pushed out of its known-good list", gone)
	}

	// The keep rule first: the rule after it spares every protected digest.
	kept := len(needed(rec))
	w.pushedInOrder(pushes...)
	w.putLifecyclePolicy(t, `{"rules":[`+deploy.KeepRule+`,{"rulePriority":2,"description":"keep 1","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)
	w.d.PollInterval = time.Millisecond
	rep, err := w.d.Lifecycle(t.Context(), "hello-color")
	if err != nil {
		t.Fatal(err)
	}
	if risk := rep.AtRisk(); len(risk) != 0 || len(rep.Digests) != kept {
		t.Errorf("with the keep rule: %d checked, at risk %+v; want %d checked (running and rollback targets), none at risk", len(rep.Digests), risk, kept)
	}
	// Without it, the same rule would expire all but the newest.
	w.putLifecyclePolicy(t, `{"rules":[{"rulePriority":2,"description":"keep 1","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)
	if rep, err := w.d.Lifecycle(t.Context(), "hello-color"); err != nil || len(rep.AtRisk()) != kept-1 {
		t.Errorf("without the keep rule: %v, at risk %d, want %d", err, len(rep.AtRisk()), kept-1)
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

// TestProtectKeepsATagAnotherInvocationAddedMeanwhile: protect reads the
// records, then lists the images. Another invocation that records a new
// digest for another environment and tags it in between must not see its
// tag removed by the first, which read the records before that write:
// before removing a keep tag, protect reads the records again.
func TestProtectKeepsATagAnotherInvocationAddedMeanwhile(t *testing.T) {
	cfg := `{"protect":true,"environments":{
		"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"},
		"staging":{"trigger":"manual","cluster":"apps","services":["hello-color-staging"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	w.deliver(t, w.push(t, "1.1.0"))
	other := w.push(t, "1.2.0")
	local := ecr.NewFromConfig(w.env.Local.Config)

	// The other invocation, between this one's read of the records and its
	// listing of the images: it records 1.2.0 in staging, then tags it.
	var once sync.Once
	w.env.Proxy.Before("DescribeImages", func(awstest.Call) {
		once.Do(func() {
			store := state.NewStore(dynamodb.NewFromConfig(w.env.Local.Config), w.env.Table)
			if _, err := store.Put(context.Background(), state.Record{Repository: "hello-color", Environment: "staging",
				Version: "1.2.0", Tag: "1.2.0", Digest: other.Digest}); err != nil {
				t.Errorf("the other invocation's record: %v", err)
			}
			if err := target.TagImage(context.Background(), local, "hello-color", other.Digest, deploy.KeepTag(other.Digest)); err != nil {
				t.Errorf("the other invocation's keep tag: %v", err)
			}
		})
	})
	res, err := w.d.Protect(t.Context(), "hello-color")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.Untagged, deploy.KeepTag(other.Digest)) {
		t.Errorf("protect removed %s, which staging's record names since", deploy.KeepTag(other.Digest))
	}
	if tags := keepTags(t, w); len(tags[other.Digest]) != 1 {
		t.Errorf("keep tags %v, want %s's kept", tags, other.Digest)
	}
}
