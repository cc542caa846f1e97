package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// FuzzDecode checks that no event makes Decode panic, that every refusal is a
// nil value with an *input.Error and a bounded message, and that every event it
// accepts is well formed and decodes to the same value after being written
// back as an EventBridge event. The seed corpus (testdata/fuzz/FuzzDecode)
// holds real ECR pushes (with and without media types, by digest only, Helm
// charts, signatures), ECS deployment state changes and scheduled events,
// and the same with a key given twice or beside itself in another case
// (which every decoder must refuse, lest the last one win), or with a byte
// that is not UTF-8 (refused too: encoding/json would read it as U+FFFD,
// and a key beside it could hide its twin), and batches of the deployer's
// queue (an SQS event source mapping's); the samples in events/ are
// added here.
func FuzzDecode(f *testing.F) {
	samples, _ := filepath.Glob("../../events/*.json")
	for _, s := range samples {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			checkRefusal(t, v, err)
			return
		}
		if clash := keyClash(data); clash != "" {
			t.Fatalf("accepted an event with %s", clash)
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted an event that is not valid UTF-8: %q", data)
		}
		checkAccepted(t, v)
	})
}

// keyClash names a key that an object of data has twice, or beside itself
// in another case, comparing every pair of keys with strings.EqualFold; ""
// when there is none or data is not valid JSON.
func keyClash(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() string
	walk = func() string {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch tok {
		case json.Delim('{'):
			var keys []string
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return ""
				}
				k := tok.(string)
				for _, prev := range keys {
					if strings.EqualFold(prev, k) {
						return fmt.Sprintf("keys %q and %q", prev, k)
					}
				}
				keys = append(keys, k)
				if c := walk(); c != "" {
					return c
				}
			}
			dec.Token()
		case json.Delim('['):
			for dec.More() {
				if c := walk(); c != "" {
					return c
				}
			}
			dec.Token()
		}
		return ""
	}
	return walk()
}

// FuzzDecodePush fuzzes the fields of an otherwise real ECR push event, so
// that the name rules see many more near misses than byte mutations of whole
// events reach, and checks them against rules written out by hand: ECR's
// repository names (2 to 256 characters; lower-case components separated by
// '/', each of letters and digits joined by single '.', '_' or '-') and tags
// (1 to 300 letters, digits, '_', '.' or '-', not starting with '.' or '-').
func FuzzDecodePush(f *testing.F) {
	f.Add("hello-color", "1.4.0", digest, "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.container.image.v1+json", "123456789012", "us-east-1")
	f.Add("team/web", "", digest, "", "", "111111111111", "cn-north-1")
	f.Add("a.b_c-d/e", "sha256-abc.sig", digest, "application/vnd.oci.image.manifest.v1+json", "application/vnd.dev.cosign.artifact.sig.v1+json", "123456789012", "us-gov-west-1")
	f.Add("hello-color", "1.1.0-chart", digest, "application/vnd.oci.image.manifest.v1+json", "application/vnd.cncf.helm.config.v1+json", "123456789012", "ap-southeast-1")
	f.Add("Hello//Color", ".1", "sha256:XYZ", "\x00", "\u202e", "12345678901", "US-EAST-1")
	f.Fuzz(func(t *testing.T, repository, tag, digest, manifestMediaType, artifactMediaType, account, region string) {
		detail := map[string]string{
			"result": "SUCCESS", "action-type": "PUSH",
			"repository-name": repository, "image-digest": digest, "image-tag": tag,
			"manifest-media-type": manifestMediaType, "artifact-media-type": artifactMediaType,
		}
		for k, v := range detail {
			if v == "" {
				delete(detail, k)
			}
		}
		raw, err := json.Marshal(detail)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(events.CloudWatchEvent{
			Version: "0", ID: "4f6c1f2e-6b1d-4c55-9d8e-1a2b3c4d5e01", DetailType: DetailImageAction, Source: SourceECR,
			AccountID: account, Time: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC), Region: region,
			Resources: []string{}, Detail: raw,
		})
		if err != nil {
			t.Fatal(err)
		}
		v, err := Decode(data)
		if len(data) > MaxSize {
			if err == nil {
				t.Fatalf("accepted a %d-byte event", len(data))
			}
			return
		}
		valid := ecrRepository(repository) && (tag == "" || ecrTag(tag)) && sha256Digest(digest) &&
			len(account) == 12 && strings.Trim(account, "0123456789") == "" && awsRegion(region)
		if valid != (err == nil) {
			t.Fatalf("repository %q, tag %q, digest %q, account %q, region %q: valid by the rules is %v, Decode error is %v",
				repository, tag, digest, account, region, valid, err)
		}
		if err != nil {
			checkRefusal(t, v, err)
			return
		}
		p := v.(Push)
		want := Push{ID: "4f6c1f2e-6b1d-4c55-9d8e-1a2b3c4d5e01", Time: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
			Account: account, Region: region, Repository: repository, Tag: tag, Digest: digest,
			// json.Marshal writes each byte of invalid UTF-8 as U+FFFD, as
			// the conversion to []rune does.
			ManifestMediaType: string([]rune(manifestMediaType)), ArtifactMediaType: string([]rune(artifactMediaType))}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Fatalf("Decode (-want +got):\n%s", diff)
		}
		if strings.Contains(artifactMediaType, "helm") && p.IsImage() {
			t.Fatalf("a Helm chart (%q) is an image", artifactMediaType)
		}
		checkAccepted(t, v)
	})
}

// checkRefusal checks what Decode returns for an event it refuses.
func checkRefusal(t *testing.T, v any, err error) {
	t.Helper()
	var e *input.Error
	if !errors.As(err, &e) || e != err {
		t.Fatalf("Decode error %v is a %T, want *input.Error", err, err)
	}
	if v != nil {
		t.Fatalf("Decode returned %#v with the error %v", v, err)
	}
	if e.Problem == "" {
		t.Fatalf("Decode error %#v has no problem", e)
	}
	if n := len(err.Error()); n > maxErrorLen {
		t.Fatalf("Decode error is %d bytes: %.300q…", n, err)
	}
}

// checkAccepted checks an event that Decode accepted: it is well formed, and
// written back as EventBridge would deliver it, it decodes to the same value.
func checkAccepted(t *testing.T, v any) {
	t.Helper()
	var env events.CloudWatchEvent
	var written any // what is written back, when not env
	switch v := v.(type) {
	case Queued:
		if len(v.Messages) == 0 {
			t.Fatal("accepted a batch without messages")
		}
		batch := events.SQSEvent{}
		for _, m := range v.Messages {
			if m.ID == "" || len(m.Body) == 0 || m.Receives < 1 || !utf8.Valid(m.Body) {
				t.Fatalf("accepted message %+v", m)
			}
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: m.ID, Body: string(m.Body), EventSource: SourceSQS,
				Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.Receives)}})
		}
		written = batch
	case Push:
		switch {
		case !ecrRepository(v.Repository):
			t.Fatalf("accepted repository %q", v.Repository)
		case v.Tag != "" && !ecrTag(v.Tag):
			t.Fatalf("accepted tag %q", v.Tag)
		case !sha256Digest(v.Digest):
			t.Fatalf("accepted digest %q", v.Digest)
		case !input.ValidRepository(v.Repository) || !input.ValidDigest(v.Digest) || (v.Tag != "" && !input.ValidTag(v.Tag)):
			t.Fatalf("accepted %+v, which the validators refuse", v)
		case !awsRegion(v.Region) || len(v.Account) != 12:
			t.Fatalf("accepted account %q, region %q", v.Account, v.Region)
		case !strings.HasPrefix(v.Registry(), v.Account+".dkr.ecr."+v.Region+".amazonaws.com"):
			t.Fatalf("registry %q of account %q, region %q", v.Registry(), v.Account, v.Region)
		}
		detail := map[string]string{"result": "SUCCESS", "action-type": "PUSH", "repository-name": v.Repository,
			"image-digest": v.Digest, "image-tag": v.Tag,
			"manifest-media-type": v.ManifestMediaType, "artifact-media-type": v.ArtifactMediaType}
		env = envelope(t, v.ID, v.Time, v.Account, v.Region, SourceECR, DetailImageAction, nil, detail)
	case DeploymentChange:
		switch {
		case v.Rollout() != "IN_PROGRESS" && v.Rollout() != "COMPLETED" && v.Rollout() != "FAILED":
			t.Fatalf("accepted event name %q", v.EventName)
		case v.DeploymentID == "" || v.Service == "":
			t.Fatalf("accepted %+v without deployment id or service", v)
		case !strings.HasPrefix(v.ServiceARN, "arn:") || !strings.HasSuffix(v.ServiceARN, "/"+v.Service) ||
			(v.Cluster != "" && !strings.HasSuffix(v.ServiceARN, ":service/"+v.Cluster+"/"+v.Service)):
			t.Fatalf("service ARN %q gave cluster %q, service %q", v.ServiceARN, v.Cluster, v.Service)
		}
		detail := map[string]any{"eventType": "INFO", "eventName": v.EventName, "deploymentId": v.DeploymentID,
			"updatedAt": v.UpdatedAt, "reason": v.Reason}
		env = envelope(t, v.ID, v.Time, v.Account, v.Region, SourceECS, DetailDeploymentChange, []string{v.ServiceARN}, detail)
	case HookChange:
		cluster, service, _ := parseServiceDeploymentARN(v.ServiceDeploymentARN)
		switch {
		case v.Status() == v.EventName || v.HookID == "" || v.Stage == "":
			t.Fatalf("accepted %+v", v)
		case cluster != v.Cluster || service != v.Service || !strings.HasSuffix(v.ServiceARN, ":service/"+v.Cluster+"/"+v.Service):
			t.Fatalf("service deployment %q of service %q gave cluster %q, service %q", v.ServiceDeploymentARN, v.ServiceARN, v.Cluster, v.Service)
		}
		detail := map[string]any{"eventType": "INFO", "eventName": v.EventName, "hookId": v.HookID, "hookType": v.HookType,
			"lifecycleStage": v.Stage, "serviceArn": v.ServiceARN, "serviceDeploymentArn": v.ServiceDeploymentARN, "updatedAt": v.UpdatedAt}
		if !v.ExpiresAt.IsZero() {
			detail["expiresAt"] = v.ExpiresAt
		}
		env = envelope(t, v.ID, v.Time, v.Account, v.Region, SourceECS, DetailHookChange, []string{v.ServiceDeploymentARN}, detail)
	case Schedule:
		env = envelope(t, v.ID, v.Time, "123456789012", "us-east-1", SourceSchedule, DetailScheduled,
			[]string{"arn:aws:events:us-east-1:123456789012:rule/ecrdeploy-reconcile"}, map[string]any{})
	case CalendarChange:
		switch {
		case v.State != "OPEN" && v.State != "CLOSED":
			t.Fatalf("accepted calendar state %q", v.State)
		case !calendarARN.MatchString(v.Calendar) || v.Name() == "":
			t.Fatalf("accepted calendar %q", v.Calendar)
		}
		detail := map[string]string{"state": v.State, "atTime": timeText(v.AtTime), "nextTransitionTime": timeText(v.NextTransition)}
		env = envelope(t, v.ID, v.Time, v.Account, v.Region, SourceSSM, DetailCalendarChange, []string{v.Calendar}, detail)
	case Replication:
		switch {
		case v.Result != "SUCCESS" && v.Result != "FAILED":
			t.Fatalf("accepted replication result %q", v.Result)
		case !ecrRepository(v.Repository) || !sha256Digest(v.Digest) || v.Tag != "" && !ecrTag(v.Tag):
			t.Fatalf("accepted repository %q, digest %q, tag %q", v.Repository, v.Digest, v.Tag)
		case !awsRegion(v.Region) || len(v.Account) != 12 || !awsRegion(v.SourceRegion) || len(v.SourceAccount) != 12:
			t.Fatalf("accepted %s/%s from %s/%s", v.Account, v.Region, v.SourceAccount, v.SourceRegion)
		}
		detail := map[string]string{"result": v.Result, "repository-name": v.Repository, "image-digest": v.Digest,
			"source-account": v.SourceAccount, "action-type": "REPLICATE", "source-region": v.SourceRegion, "image-tag": v.Tag}
		env = envelope(t, v.ID, v.Time, v.Account, v.Region, SourceECR, DetailReplication, nil, detail)
	case ImageRestored:
		if !ecrRepository(v.Repository) || !sha256Digest(v.Digest) {
			t.Fatalf("accepted repository %q, digest %q", v.Repository, v.Digest)
		}
		detail := map[string]string{"action-type": "UPDATE_STORAGE_CLASS", "target-storage-class": "STANDARD", "result": "SUCCESS",
			"repository-name": v.Repository, "image-digest": v.Digest, "last-activated-at": timeText(v.ActivatedAt)}
		env = envelope(t, v.ID, v.Time, v.Account, v.Region, SourceECR, DetailImageAction, nil, detail)
	default:
		t.Fatalf("Decode returned a %T", v)
	}
	if written == nil {
		written = env
	}
	data, err := json.Marshal(written)
	if err != nil {
		t.Fatalf("write back %#v: %v", v, err)
	}
	again, err := Decode(data)
	if err != nil {
		t.Fatalf("accepted %#v, but not the event written back:\n%s\n%v", v, data, err)
	}
	if diff := cmp.Diff(v, again); diff != "" {
		t.Fatalf("event written back decodes differently (-first +again):\n%s", diff)
	}
}

// timeText writes a time of an event's detail as the event does: ISO
// 8601, "" for none.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func envelope(t *testing.T, id string, at time.Time, account, region, source, detailType string, resources []string, detail any) events.CloudWatchEvent {
	t.Helper()
	if m, ok := detail.(map[string]string); ok {
		for k, v := range m {
			if v == "" {
				delete(m, k)
			}
		}
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		t.Fatalf("write back the detail %#v: %v", detail, err)
	}
	if resources == nil {
		resources = []string{}
	}
	return events.CloudWatchEvent{Version: "0", ID: id, DetailType: detailType, Source: source, AccountID: account,
		Time: at, Region: region, Resources: resources, Detail: raw}
}

// ecrRepository is ECR's rule for repository names, written out by hand
// rather than as a regular expression.
func ecrRepository(s string) bool {
	if len(s) < 2 || len(s) > 256 {
		return false
	}
	for component := range strings.SplitSeq(s, "/") {
		if component == "" {
			return false
		}
		prevSeparator := true // no separator first
		for _, r := range component {
			switch {
			case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				prevSeparator = false
			case r == '.' || r == '_' || r == '-':
				if prevSeparator {
					return false
				}
				prevSeparator = true
			default:
				return false
			}
		}
		if prevSeparator { // no separator last
			return false
		}
	}
	return true
}

// ecrTag is the rule for image tags, written out by hand.
func ecrTag(s string) bool {
	if len(s) < 1 || len(s) > 300 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

func sha256Digest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	return ok && len(hex) == 64 && strings.Trim(hex, "0123456789abcdef") == ""
}

// awsRegion is a region code: two letters, one or more words, a number of
// one or two digits ("us-east-1", "us-gov-west-1", "ap-southeast-5").
func awsRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	lower := func(p string) bool { return p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") == "" }
	num := parts[len(parts)-1]
	if len(parts[0]) != 2 || !lower(parts[0]) || len(num) < 1 || len(num) > 2 || strings.Trim(num, "0123456789") != "" {
		return false
	}
	for _, p := range parts[1 : len(parts)-1] {
		if !lower(p) {
			return false
		}
	}
	return true
}

func TestHandWrittenRules(t *testing.T) {
	for _, s := range []string{"ab", "hello-color", "team/web", "a.b_c-d/e0/f", longRepository(256)} {
		if !ecrRepository(s) || !input.ValidRepository(s) {
			t.Errorf("repository %q: hand-written %v, input.ValidRepository %v; want both true", s, ecrRepository(s), input.ValidRepository(s))
		}
	}
	for _, s := range []string{"a", "", "Hello", "a//b", "/a", "a/", "a__b", "a-", "-a", "a..b", "a b", longRepository(257), "é"} {
		if ecrRepository(s) || input.ValidRepository(s) {
			t.Errorf("repository %q: hand-written %v, input.ValidRepository %v; want both false", s, ecrRepository(s), input.ValidRepository(s))
		}
	}
	for _, s := range []string{"1", "_", "1.0.0", "v1.2.3-rc.1", "A_b.C-d", strings.Repeat("t", 300)} {
		if !ecrTag(s) || !input.ValidTag(s) {
			t.Errorf("tag %q: hand-written %v, input.ValidTag %v; want both true", s, ecrTag(s), input.ValidTag(s))
		}
	}
	for _, s := range []string{"", ".a", "-a", "a b", "a:b", "a+b", "é", strings.Repeat("t", 301), "1\n"} {
		if ecrTag(s) || input.ValidTag(s) {
			t.Errorf("tag %q: hand-written %v, input.ValidTag %v; want both false", s, ecrTag(s), input.ValidTag(s))
		}
	}
	for _, s := range []string{"us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5", "eu-central-2"} {
		if !awsRegion(s) || !input.ValidRegion(s) {
			t.Errorf("region %q: hand-written %v, input.ValidRegion %v; want both true", s, awsRegion(s), input.ValidRegion(s))
		}
	}
	for _, s := range []string{"", "us-east", "US-EAST-1", "us-east-100", "useast-1", "u-east-1", "us--1", "us-east-1\n"} {
		if awsRegion(s) || input.ValidRegion(s) {
			t.Errorf("region %q: hand-written %v, input.ValidRegion %v; want both false", s, awsRegion(s), input.ValidRegion(s))
		}
	}
}
