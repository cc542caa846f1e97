package deploy

import (
	"fmt"
	"os"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
)

// benchDocument is hello-color's configuration as pkg/deploy's integration
// tests use it: dev, staging and a manual production.
func benchDocument(b *testing.B) *config.Document {
	b.Helper()
	data, err := os.ReadFile("testdata/hello-color.json")
	if err != nil {
		b.Fatal(err)
	}
	doc, err := config.Parse("bench", data)
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// BenchmarkAdmit measures the decision a push makes for one environment from
// the tag and the policy alone, before any AWS call.
func BenchmarkAdmit(b *testing.B) {
	doc := benchDocument(b)
	cases := []struct {
		name, env, tag string
	}{
		{"accepted", "staging", "1.4.0"},
		{"prerelease", "staging", "1.5.0-rc.1"},
		{"outside-range", "staging", "2.0.0"},
		{"not-semver", "dev", "latest"},
		{"manual-environment", "production", "1.4.0"},
	}
	for _, c := range cases {
		env := doc.Environments[c.env]
		req := Request{Repository: "hello-color", Tag: c.tag, Cause: state.CausePush}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				admit(req, env)
			}
		})
	}
}

// BenchmarkCompareState measures the decision from an environment's state
// record: held, older than current, re-tagged, or go on.
func BenchmarkCompareState(b *testing.B) {
	rec := &state.Record{Version: "1.3.0", Tag: "1.3.0", Digest: "sha256:a", Rollout: state.Completed, Held: []string{"1.3.5", "1.3.7"}}
	cases := []struct{ name, tag, digest string }{
		{"newer", "1.4.0", "sha256:b"},
		{"older-than-current", "1.2.0", "sha256:c"},
		{"held", "1.3.5", "sha256:d"},
		{"retagged", "1.3.0", "sha256:e"},
	}
	doc := benchDocument(b)
	for _, c := range cases {
		req := Request{Repository: "hello-color", Tag: c.tag, Digest: c.digest, Cause: state.CausePush}
		v, _ := admit(req, doc.Environments["dev"])
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				compareState(req, v, rec)
			}
		})
	}
}

// BenchmarkDecidePush measures every pure decision of one push for one
// service: admit each of the three environments, then, for an admitted one,
// compare with its state record and with the image the service runs,
// render the new revision from the running one (the Fargate fixture) and
// compare the two to decide whether to register. The AWS calls that
// surround these steps are what internal/bench measures.
func BenchmarkDecidePush(b *testing.B) {
	doc := benchDocument(b)
	data, err := os.ReadFile("../taskdef/testdata/fargate-web.json")
	if err != nil {
		b.Fatal(err)
	}
	td, tags, err := taskdef.DecodeDescribeJSON(data)
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Repository: "hello-color", Tag: "1.4.0", Digest: "sha256:b", Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		Cause: state.CausePush, EventID: "ev-1"}
	rec := &state.Record{Version: "1.3.0", Tag: "1.3.0", Digest: "sha256:a", Rollout: state.Completed}
	b.ReportAllocs()
	for b.Loop() {
		for _, name := range doc.Names() {
			env := doc.Environments[name]
			v, reason := admit(req, env)
			if reason != "" || compareState(req, v, rec) != "" {
				continue
			}
			base := taskdef.FromDescribe(td, tags)
			images, err := taskdef.Images(base, env.Container, req.Repository)
			if err != nil {
				b.Fatal(err)
			}
			for _, image := range images {
				compareImage(req, v, env.Policy(), taskdef.ParseImage(image).Tag)
			}
			rendered, err := taskdef.Render(base, taskdef.Spec{
				Repository: req.Repository, Image: taskdef.ImageFor(req.Registry, req.Repository, req.Tag, req.Digest, false),
				Containers: env.Container, Environment: env.Environment, Secrets: env.Secrets, Tags: revisionTags(req, v),
			})
			if err != nil {
				b.Fatal(err)
			}
			if taskdef.Equal(rendered, base) {
				b.Fatal("rendered revision equals the running one")
			}
		}
	}
}

// BenchmarkSupersededBy measures what coalescing costs a push beyond the
// DescribeImages it makes anyway to check the event: choosing, among a
// repository's 1,000 tagged images (one DescribeImages page), the highest
// version staging accepts that is not held there.
func BenchmarkSupersededBy(b *testing.B) {
	doc := benchDocument(b)
	images := make([]target.Image, 0, 1000)
	for i := range 1000 {
		tag := fmt.Sprintf("1.%d.%d", i/50, i%50)
		if i%10 == 9 {
			tag += "-rc.1"
		}
		images = append(images, target.Image{Tag: tag, Digest: fmt.Sprintf("sha256:%064x", i), ManifestMediaType: "application/vnd.oci.image.manifest.v1+json"})
	}
	e := environment{name: "staging", env: doc.Environments["staging"], version: semver.MustParse("1.3.0")}
	rec := &state.Record{Version: "1.2.0", Tag: "1.2.0", Digest: "sha256:a", Rollout: state.Completed, Held: []string{"1.9.48"}}
	pushed := pushedImages{images: images, checked: true}
	if _, ok := supersededBy(pushed, e, rec); !ok {
		b.Fatal("1.3.0 is not superseded among 1,000 images up to 1.19.49")
	}
	b.ReportAllocs()
	for b.Loop() {
		supersededBy(pushed, e, rec)
	}
}
