package event

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

const digest = "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"

func pushJSON(detail string) string {
	return `{"version":"0","id":"e1","detail-type":"ECR Image Action","source":"aws.ecr","account":"123456789012",` +
		`"time":"2026-11-27T09:30:00Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

func TestDecodePush(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    Push
		isImage bool
	}{
		{
			name: "docker image with media types",
			in: pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.4.0",` +
				`"manifest-media-type":"application/vnd.docker.distribution.manifest.v2+json","artifact-media-type":"application/vnd.docker.container.image.v1+json"}`),
			want: Push{ID: "e1", Time: at, Account: "123456789012", Region: "us-east-1", Repository: "hello-color", Tag: "1.4.0", Digest: digest,
				ManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json", ArtifactMediaType: "application/vnd.docker.container.image.v1+json"},
			isImage: true,
		},
		{
			name:    "older event without media types is an image",
			in:      pushJSON(`{"result":"SUCCESS","repository-name":"team/web","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"v2.0.0"}`),
			want:    Push{ID: "e1", Time: at, Account: "123456789012", Region: "us-east-1", Repository: "team/web", Tag: "v2.0.0", Digest: digest},
			isImage: true,
		},
		{
			name: "multi-arch index is an image",
			in:   pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.4.0","manifest-media-type":"application/vnd.oci.image.index.v1+json"}`),
			want: Push{ID: "e1", Time: at, Account: "123456789012", Region: "us-east-1", Repository: "hello-color", Tag: "1.4.0", Digest: digest,
				ManifestMediaType: "application/vnd.oci.image.index.v1+json"},
			isImage: true,
		},
		{
			name: "helm chart",
			in: pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.4.0",` +
				`"manifest-media-type":"application/vnd.oci.image.manifest.v1+json","artifact-media-type":"application/vnd.cncf.helm.config.v1+json"}`),
			want: Push{ID: "e1", Time: at, Account: "123456789012", Region: "us-east-1", Repository: "hello-color", Tag: "1.4.0", Digest: digest,
				ManifestMediaType: "application/vnd.oci.image.manifest.v1+json", ArtifactMediaType: "application/vnd.cncf.helm.config.v1+json"},
		},
		{
			name: "cosign signature",
			in: pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"sha256-abc.sig",` +
				`"manifest-media-type":"application/vnd.oci.image.manifest.v1+json","artifact-media-type":"application/vnd.dev.cosign.artifact.sig.v1+json"}`),
			want: Push{ID: "e1", Time: at, Account: "123456789012", Region: "us-east-1", Repository: "hello-color", Tag: "sha256-abc.sig", Digest: digest,
				ManifestMediaType: "application/vnd.oci.image.manifest.v1+json", ArtifactMediaType: "application/vnd.dev.cosign.artifact.sig.v1+json"},
		},
		{
			name: "tagless push",
			in:   pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH"}`),
			want: Push{ID: "e1", Time: at, Account: "123456789012", Region: "us-east-1", Repository: "hello-color", Digest: digest},
			// a tagless push is still an image; it is skipped as no-tag
			isImage: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			p, ok := got.(Push)
			if !ok {
				t.Fatalf("Decode returned %T, want Push", got)
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
			if p.IsImage() != tt.isImage {
				t.Errorf("IsImage() = %v, want %v", p.IsImage(), tt.isImage)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string
		wantText  string
	}{
		{"empty", ``, "", "not a JSON object"},
		{"array", `[1]`, "", "not a JSON object"},
		{"truncated", `{"source":"aws.ecr"`, "", "unexpected end"},
		{"not eventbridge", `{"hello":"world"}`, "", "not an EventBridge event"},
		{"other source", `{"source":"aws.s3","detail-type":"Object Created","detail":{}}`, "source", `unsupported event "aws.s3"`},
		{"delete action", pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"DELETE","image-tag":"1.0.0"}`), "detail.action-type", "not a successful push"},
		{"failed push", pushJSON(`{"result":"FAILURE","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.0.0"}`), "detail.action-type", "not a successful push"},
		{"missing detail", `{"source":"aws.ecr","detail-type":"ECR Image Action"}`, "detail", "missing"},
		{"detail wrong type", `{"source":"aws.ecr","detail-type":"ECR Image Action","detail":{"image-tag":5}}`, "detail.image-tag", "want string"},
		{"bad repository", pushJSON(`{"result":"SUCCESS","repository-name":"Hello Color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.0.0"}`), "detail.repository-name", "not an ECR repository name"},
		{"bad digest", pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"md5:abc","action-type":"PUSH","image-tag":"1.0.0"}`), "detail.image-digest", "not an image digest"},
		{"tag too long", pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"` + strings.Repeat("a", 301) + `"}`), "detail.image-tag", "not an image tag"},
		{"tag with control character", pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.0.0\n"}`), "detail.image-tag", "not an image tag"},
		{"bad account", strings.Replace(pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"`+digest+`","action-type":"PUSH","image-tag":"1.0.0"}`), "123456789012", "12", 1), "account", "not an AWS account id"},
		{"bad time", strings.Replace(pushJSON(`{}`), "2026-11-27T09:30:00Z", "yesterday", 1), "", "bad time"},
		{"too large", `{"source":"` + strings.Repeat("x", MaxSize) + `"}`, "", "more than"},
		{"ecs event without service", `{"source":"aws.ecs","detail-type":"ECS Deployment State Change","resources":[],"detail":{"eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/1"}}`, "resources", "exactly one"},
		{"detail twice", strings.Replace(pushJSON(`{}`), `"detail":{}`, `"detail":{},"detail":{"result":"SUCCESS"}`, 1), "detail", "given more than once"},
		{"Detail beside detail", strings.Replace(pushJSON(`{}`), `"detail":{}`, `"detail":{},"Detail":{}`, 1), "Detail", "the same key as detail in another case"},
		{"source in another case", `{"source":"aws.ecr","Source":"aws.s3"}`, "Source", "the same key as source in another case"},
		{"image-tag twice", pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.0.0","image-tag":"9.9.9"}`), "detail.image-tag", "given more than once"},
		{"Image-Tag beside image-tag", pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.0.0","Image-Tag":"9.9.9"}`), "detail.Image-Tag", "the same key as image-tag in another case"},
		{"account in upper case beside account", strings.Replace(pushJSON(`{}`), `"account":"123456789012"`, `"account":"123456789012","ACCOUNT":"999999999999"`, 1), "ACCOUNT", "the same key as account"},
		{"media type twice", pushJSON(`{"result":"SUCCESS","repository-name":"hello-color","image-digest":"` + digest + `","action-type":"PUSH","image-tag":"1.0.0","artifact-media-type":"application/vnd.cncf.helm.config.v1+json","Artifact-Media-Type":""}`), "detail.Artifact-Media-Type", "in another case"},
		{"ecs detail twice", `{"source":"aws.ecs","detail-type":"ECS Deployment State Change","resources":["arn:aws:ecs:us-east-1:123456789012:service/c/s"],"detail":{"eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/1","deploymentId":"ecs-svc/2"}}`, "detail.deploymentId", "given more than once"},
		{"ecs unknown event name", `{"source":"aws.ecs","detail-type":"ECS Deployment State Change","resources":["arn:aws:ecs:us-east-1:123456789012:service/c/s"],"detail":{"eventName":"SERVICE_TASK_PLACEMENT_FAILURE","deploymentId":"ecs-svc/1"}}`, "detail.eventName", "unknown deployment event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			var e *input.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error = %v, want *input.Error", err)
			}
			if e.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (error %q)", e.Field, tt.wantField, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestDecodeDeploymentChange(t *testing.T) {
	in := `{"version":"0","id":"d1","detail-type":"ECS Deployment State Change","source":"aws.ecs","account":"123456789012",` +
		`"time":"2026-11-27T09:35:00Z","region":"us-east-1","resources":["arn:aws:ecs:us-east-1:123456789012:service/apps/hello-color-staging"],` +
		`"detail":{"eventType":"INFO","eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/123","updatedAt":"2026-11-27T09:34:59Z","reason":"ECS deployment ecs-svc/123 completed."}}`
	got, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := DeploymentChange{
		ID: "d1", Time: time.Date(2026, 11, 27, 9, 35, 0, 0, time.UTC), Account: "123456789012", Region: "us-east-1",
		ServiceARN: "arn:aws:ecs:us-east-1:123456789012:service/apps/hello-color-staging", Cluster: "apps", Service: "hello-color-staging",
		EventName: "SERVICE_DEPLOYMENT_COMPLETED", DeploymentID: "ecs-svc/123", Reason: "ECS deployment ecs-svc/123 completed.",
		UpdatedAt: time.Date(2026, 11, 27, 9, 34, 59, 0, time.UTC),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
	if r := got.(DeploymentChange).Rollout(); r != "COMPLETED" {
		t.Errorf("Rollout() = %q, want COMPLETED", r)
	}
}

// TestSampleEvents decodes every push sample in events/ so the samples never
// drift from the decoder.
func TestSampleEvents(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events found: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var probe struct {
			Source string `json:"source"`
		}
		_ = json.Unmarshal(data, &probe)
		if probe.Source == "" {
			continue // a manual request, not an event
		}
		if _, err := Decode(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// A service created before 2021 has a short ARN without its cluster, and
// the event's detail names none: the event may be of that service name in
// any cluster; one with the cluster, only of its own.
func TestDeploymentChangeInCluster(t *testing.T) {
	short := `{"version":"0","id":"d1","detail-type":"ECS Deployment State Change","source":"aws.ecs","account":"123456789012",` +
		`"time":"2026-11-27T09:35:00Z","region":"us-east-1","resources":["arn:aws:ecs:us-east-1:123456789012:service/hello-color-staging"],` +
		`"detail":{"eventType":"INFO","eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/123","updatedAt":"2026-11-27T09:34:59Z","reason":"ECS deployment ecs-svc/123 completed."}}`
	v, err := Decode([]byte(short))
	if err != nil {
		t.Fatal(err)
	}
	old := v.(DeploymentChange)
	if old.Cluster != "" || old.Service != "hello-color-staging" {
		t.Errorf("short ARN decoded as cluster %q, service %q; want no cluster, hello-color-staging", old.Cluster, old.Service)
	}
	long := DeploymentChange{Cluster: "apps", Service: "hello-color-staging"}
	for _, tc := range []struct {
		ev      DeploymentChange
		cluster string
		want    bool
	}{
		{old, "apps", true},
		{old, "arn:aws:ecs:us-east-1:123456789012:cluster/other", true},
		{long, "apps", true},
		{long, "arn:aws:ecs:us-east-1:123456789012:cluster/apps", true},
		{long, "other", false},
	} {
		if got := tc.ev.InCluster(tc.cluster); got != tc.want {
			t.Errorf("event of cluster %q InCluster(%q) = %v, want %v", tc.ev.Cluster, tc.cluster, got, tc.want)
		}
	}
}
