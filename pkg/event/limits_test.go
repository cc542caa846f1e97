package event

import (
	"errors"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// pushDetail is the detail of a push of hello-color:1.0.0 with one field
// replaced: field is a detail key, value its raw JSON.
func pushDetail(field, value string) string {
	d := map[string]string{
		"result":          `"SUCCESS"`,
		"repository-name": `"hello-color"`,
		"image-digest":    `"` + digest + `"`,
		"action-type":     `"PUSH"`,
		"image-tag":       `"1.0.0"`,
	}
	d[field] = value
	var b strings.Builder
	b.WriteString("{")
	for i, k := range []string{"result", "repository-name", "image-digest", "action-type", "image-tag"} {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + k + `":` + d[k])
	}
	if _, ok := map[string]bool{"result": true, "repository-name": true, "image-digest": true, "action-type": true, "image-tag": true}[field]; !ok {
		b.WriteString(`,"` + field + `":` + value)
	}
	b.WriteString("}")
	return b.String()
}

// longRepository is a valid repository name of exactly n bytes.
func longRepository(n int) string {
	return "r" + strings.Repeat("/r", (n-1)/2) + strings.Repeat("x", (n-1)%2)
}

func nest(n int, s string) string {
	return strings.Repeat("[", n) + s + strings.Repeat("]", n)
}

const ecsEvent = `{"version":"0","id":"d1","detail-type":"ECS Deployment State Change","source":"aws.ecs","account":"123456789012",` +
	`"time":"2026-11-27T09:35:00Z","region":"us-east-1","resources":[RESOURCES],"detail":DETAIL}`

func ecsJSON(resources, detail string) string {
	return strings.NewReplacer("RESOURCES", resources, "DETAIL", detail).Replace(ecsEvent)
}

const ecsDetail = `{"eventType":"INFO","eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"ecs-svc/123","updatedAt":"2026-11-27T09:34:59Z","reason":"done"}`

// maxErrorLen bounds an error message, whatever the event.
const maxErrorLen = 400

// TestDecodeLimits feeds Decode names at their length limits, unicode,
// control characters, oversized events and JSON nesting bombs: each is
// decoded or refused with a clear *input.Error, never a panic.
func TestDecodeLimits(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string // "-" when the event is accepted
		wantText  string
	}{
		// Repository names: ECR allows 2 to 256 characters.
		{"repository of 2 characters", pushJSON(pushDetail("repository-name", `"ab"`)), "-", ""},
		{"repository of 256 characters", pushJSON(pushDetail("repository-name", `"`+longRepository(256)+`"`)), "-", ""},
		{"repository of 1 character", pushJSON(pushDetail("repository-name", `"a"`)), "detail.repository-name", `"a" is not an ECR repository name`},
		{"repository of 257 characters", pushJSON(pushDetail("repository-name", `"`+longRepository(257)+`"`)), "detail.repository-name", "… (257 bytes) is not an ECR repository name"},
		{"empty repository", pushJSON(pushDetail("repository-name", `""`)), "detail.repository-name", `"" is not`},
		{"repository of 200000 characters", pushJSON(pushDetail("repository-name", `"`+strings.Repeat("a", 200000)+`"`)), "detail.repository-name", "… (200000 bytes) is not"},
		{"repository with unicode", pushJSON(pushDetail("repository-name", `"héllo"`)), "detail.repository-name", `"héllo" is not`},
		{"repository with a Cyrillic a", pushJSON(pushDetail("repository-name", `"hello-cолor"`)), "detail.repository-name", "is not an ECR repository name"},
		{"repository with NUL", pushJSON(pushDetail("repository-name", `"hello\u0000"`)), "detail.repository-name", `"hello\x00" is not`},
		{"repository with a newline", pushJSON(pushDetail("repository-name", `"hello\ncolor"`)), "detail.repository-name", `"hello\ncolor" is not`},
		{"repository with invalid UTF-8", pushJSON(pushDetail("repository-name", "\"hello\xff\"")), "", "not valid UTF-8 at byte 221"},
		{"repository with a trailing slash", pushJSON(pushDetail("repository-name", `"team/"`)), "detail.repository-name", "is not"},

		// Tags: up to 300 characters.
		{"tag of 1 character", pushJSON(pushDetail("image-tag", `"1"`)), "-", ""},
		{"tag of 300 characters", pushJSON(pushDetail("image-tag", `"`+strings.Repeat("t", 300)+`"`)), "-", ""},
		{"tag of 301 characters", pushJSON(pushDetail("image-tag", `"`+strings.Repeat("t", 301)+`"`)), "detail.image-tag", "… (301 bytes) is not an image tag"},
		{"tag of 200000 characters", pushJSON(pushDetail("image-tag", `"`+strings.Repeat("t", 200000)+`"`)), "detail.image-tag", "… (200000 bytes) is not an image tag"},
		{"tag with unicode", pushJSON(pushDetail("image-tag", `"1.0.0-β"`)), "detail.image-tag", `"1.0.0-β" is not`},
		{"tag with NUL", pushJSON(pushDetail("image-tag", `"1.0.0\u0000"`)), "detail.image-tag", `"1.0.0\x00" is not`},
		{"tag with an escape character", pushJSON(pushDetail("image-tag", `"\u001b[31m1.0.0"`)), "detail.image-tag", `"\x1b[31m1.0.0" is not`},
		{"tag with a right-to-left override", pushJSON(pushDetail("image-tag", `"1.0.0\u202e"`)), "detail.image-tag", `"1.0.0\u202e" is not`},
		{"tag starting with a dot", pushJSON(pushDetail("image-tag", `".1"`)), "detail.image-tag", "is not an image tag"},
		{"tag not a string", pushJSON(pushDetail("image-tag", `1.0`)), "detail.image-tag", "want string, got JSON number"},

		// Digests, accounts and regions.
		{"digest in upper case", pushJSON(pushDetail("image-digest", `"`+strings.ToUpper(digest)+`"`)), "detail.image-digest", "is not an image digest"},
		{"digest one short", pushJSON(pushDetail("image-digest", `"`+digest[:len(digest)-1]+`"`)), "detail.image-digest", "is not an image digest"},
		{"digest with a newline", pushJSON(pushDetail("image-digest", `"`+digest+`\n"`)), "detail.image-digest", "is not an image digest"},
		{"account with a newline", strings.Replace(pushJSON(pushDetail("x", "1")), `"123456789012"`, `"123456789012\n"`, 1), "account", `"123456789012\n" is not an AWS account id`},
		{"region in upper case", strings.Replace(pushJSON(pushDetail("x", "1")), `"us-east-1"`, `"US-EAST-1"`, 1), "region", "is not an AWS region"},

		// Media types are free text; what is not an image is skipped later.
		{"media types with unicode", pushJSON(pushDetail("manifest-media-type", `"application/vnd.ø+json"`)), "-", ""},

		// Sizes.
		{"at the size limit", pushJSON(pushDetail("x", `"`+strings.Repeat("x", MaxSize-len(pushJSON(pushDetail("x", `""`))))+`"`)), "-", ""},
		{"one byte over the size limit", pushJSON(pushDetail("x", `"`+strings.Repeat("x", MaxSize-len(pushJSON(pushDetail("x", `""`)))+1)+`"`)), "", "more than the 262144"},
		{"a megabyte", `{"source":"aws.ecr","x":"` + strings.Repeat("x", 1<<20) + `"}`, "", "1048603 bytes, more than"},
		{"huge source", `{"source":"` + strings.Repeat("s", 200000) + `","detail-type":"x"}`, "source", "… (200000 bytes)"},
		{"huge time", strings.Replace(pushJSON(`{}`), "2026-11-27T09:30:00Z", strings.Repeat("9", 200000), 1), "", "bad time \"999"},
		{"time not a string", strings.Replace(pushJSON(`{}`), `"2026-11-27T09:30:00Z"`, `1764235800`, 1), "", "not a JSON string"},
		{"time out of range", strings.Replace(pushJSON(`{}`), "2026-11-27T09:30:00Z", "2026-13-27T09:30:00Z", 1), "", "bad time"},

		// JSON nesting bombs: encoding/json refuses more than 10000 levels.
		{"100000 nested arrays in the detail", pushJSON(nest(100000, "")), "", "invalid JSON at byte 10177: nested more than 10000 levels deep"},
		{"100000 nested arrays in a detail field", pushJSON(pushDetail("x", nest(100000, ""))), "", "nested more than 10000 levels deep"},
		{"100000 nested arrays in the image tag", pushJSON(pushDetail("image-tag", nest(100000, `"1.0.0"`))), "", "nested more than 10000 levels deep"},
		{"100000 nested arrays in resources", strings.Replace(pushJSON(`{}`), `"resources":[]`, `"resources":`+nest(100000, ""), 1), "", "nested more than 10000 levels deep"},
		{"100000 nested arrays in an unknown field", `{"x":` + nest(100000, "") + `,"source":"aws.ecr"}`, "", "nested more than 10000 levels deep"},
		{"100000 nested arrays", nest(100000, ""), "", "not a JSON object"},
		{"nested objects over the size limit", `{"detail":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + "}", "", "more than the"},
		{"nested objects within the size limit", `{"detail":` + strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000) + "}", "", "nested more than 10000 levels deep"},
		{"deep but legal nesting in an unknown detail field", pushJSON(pushDetail("x", nest(9000, ""))), "-", ""},
		{"detail nested in a list", pushJSON(`[` + pushDetail("x", "1") + `]`), "detail", "want events.ECRImageActionEventDetailType, got JSON array"},

		// ECS deployment state changes.
		{"ecs event", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/apps/web"`, ecsDetail), "-", ""},
		{"ecs event with an old service ARN", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/web"`, ecsDetail), "-", ""},
		{"ecs event with two services", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/apps/web","arn:aws:ecs:us-east-1:123456789012:service/apps/api"`, ecsDetail), "resources", "want exactly one service ARN, got 2"},
		{"ecs event for a task", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:task/apps/0123"`, ecsDetail), "resources[0]", "is not an ECS service ARN"},
		{"ecs event with an empty service name", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/apps/"`, ecsDetail), "resources[0]", "is not an ECS service ARN"},
		{"ecs event with a huge ARN", ecsJSON(`"arn:`+strings.Repeat("x", 100000)+`"`, ecsDetail), "resources[0]", "… (100004 bytes) is not an ECS service ARN"},
		{"ecs event with a resource not a string", ecsJSON(`1`, ecsDetail), "resources", "want string, got JSON number"},
		{"ecs event without deployment id", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/apps/web"`, `{"eventName":"SERVICE_DEPLOYMENT_FAILED"}`), "detail.deploymentId", "missing"},
		{"ecs event with a unicode event name", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/apps/web"`, `{"eventName":"SERVICE_DEPLOYMENT_COMPLETED\u200b","deploymentId":"x"}`), "detail.eventName", `"SERVICE_DEPLOYMENT_COMPLETED\u200b"`},
		{"ecs event with a bad updatedAt", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/apps/web"`, `{"eventName":"SERVICE_DEPLOYMENT_FAILED","deploymentId":"x","updatedAt":"now"}`), "detail", `bad time "now"`},
		{"ecs event with detail a string", ecsJSON(`"arn:aws:ecs:us-east-1:123456789012:service/apps/web"`, `"COMPLETED"`), "detail", "want event.ecsDeploymentDetail, got JSON string"},

		// Scheduled events.
		{"scheduled event", `{"version":"0","id":"s1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-27T09:45:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/ecrdeploy-reconcile"],"detail":{}}`, "-", ""},
		{"scheduled event in other case", `{"detail-type":"scheduled event","source":"aws.events"}`, "source", `unsupported event "aws.events" / "scheduled event"`},
		{"scheduled event with a control character", "{\"detail-type\":\"Scheduled Event\\u0000\",\"source\":\"aws.events\"}", "source", `"Scheduled Event\x00"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if tt.wantField == "-" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if got == nil {
					t.Fatal("Decode returned nothing")
				}
				return
			}
			var e *input.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %v, %v; want *input.Error", got, err)
			}
			if got != nil {
				t.Errorf("Decode returned %v with the error", got)
			}
			if e.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (error %.300q)", e.Field, tt.wantField, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %.300q does not contain %q", err, tt.wantText)
			}
			if n := len(err.Error()); n > maxErrorLen {
				t.Errorf("error is %d bytes, more than %d: %.300q…", n, maxErrorLen, err)
			}
		})
	}
}
