package handler

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

const badInputDigest = "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"

// maxReplyError bounds the error a bad input puts in the result and the log,
// whatever the input.
const maxReplyError = 400

func badPush(detail string) string {
	return `{"version":"0","id":"e1","detail-type":"ECR Image Action","source":"aws.ecr","account":"123456789012",` +
		`"time":"2026-11-27T09:30:00Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

func pushOf(repository, tag string) string {
	return badPush(`{"result":"SUCCESS","action-type":"PUSH","repository-name":` + repository + `,"image-digest":"` + badInputDigest + `","image-tag":` + tag + `}`)
}

func nest(n int, s string) string {
	return strings.Repeat("[", n) + s + strings.Repeat("]", n)
}

// handle runs h on raw, failing the test (rather than the test binary) on a
// panic, and returns the result, what was logged and the error.
func handle(t *testing.T, h func(*slog.Logger) func([]byte) (deploy.Result, error), raw []byte) (res deploy.Result, logged string, err error) {
	t.Helper()
	var log bytes.Buffer
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("handler panicked: %v", p)
			}
		}()
		res, err = h(slog.New(slog.NewJSONHandler(&log, nil)))(raw)
	}()
	return res, log.String(), err
}

// checkBadInput checks the reply to an input refused before any AWS call: no
// error for Lambda (a retry cannot fix it), a clear error of bounded size in
// the result and one log line, an empty list of results, and a result that
// encodes as JSON.
func checkBadInput(t *testing.T, res deploy.Result, logged string, err error, prefix, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Handle returned the error %v: a bad input must not be retried", err)
	}
	if !strings.HasPrefix(res.Error, prefix) || !strings.Contains(res.Error, want) {
		t.Errorf("result error = %.300q, want %q … %q", res.Error, prefix, want)
	}
	if n := len(res.Error); n > maxReplyError {
		t.Errorf("result error is %d bytes: %.300q…", n, res.Error)
	}
	if len(res.Results) != 0 {
		t.Errorf("results = %#v, want none", res.Results)
	}
	if lines := strings.Count(logged, "\n"); lines != 1 || len(logged) > maxReplyError+200 {
		t.Errorf("logged %d lines, %d bytes: %.300q", lines, len(logged), logged)
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("encode the result: %v", err)
	}
	if !strings.Contains(string(out), `"results":[]`) {
		t.Errorf("result encodes as %.300s, want an empty list of results", out)
	}
	if !json.Valid(out) || len(out) > maxReplyError+200 {
		t.Errorf("result JSON is %d bytes: %.300s", len(out), out)
	}
}

// TestDeployerBadEvents runs bad events through the deployer's handler with
// no deployment library: each must be refused by decoding, before any AWS
// call, and reported in the result.
func TestDeployerBadEvents(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"a list", `[` + pushOf(`"hello-color"`, `"1.0.0"`) + `]`, "not a JSON object"},
		{"not JSON", `nope`, "not a JSON object"},
		{"truncated", pushOf(`"hello-color"`, `"1.0.0"`)[:100], "unexpected end of JSON input"},
		{"one byte over the size limit", `{"x":"` + strings.Repeat("x", event.MaxSize-7) + `"}`, "262145 bytes, more than the 262144"},
		{"100000 nested arrays", nest(100000, ""), "not a JSON object"},
		{"100000 nested arrays in the detail", badPush(nest(100000, "")), "nested more than 10000 levels deep"},
		{"100000 nested arrays in the tag", pushOf(`"hello-color"`, nest(100000, `"1.0.0"`)), "nested more than 10000 levels deep"},
		{"repository of 1 character", pushOf(`"a"`, `"1.0.0"`), `detail.repository-name: "a" is not an ECR repository name`},
		{"repository of 257 characters", pushOf(`"r`+strings.Repeat("/r", 128)+`"`, `"1.0.0"`), "(257 bytes) is not an ECR repository name"},
		{"repository of 200000 characters", pushOf(`"`+strings.Repeat("r", 200000)+`"`, `"1.0.0"`), "(200000 bytes) is not an ECR repository name"},
		{"repository with unicode", pushOf(`"hélló"`, `"1.0.0"`), `"hélló" is not an ECR repository name`},
		{"repository with NUL", pushOf(`"hello\u0000color"`, `"1.0.0"`), `"hello\x00color" is not`},
		{"tag of 301 characters", pushOf(`"hello-color"`, `"`+strings.Repeat("t", 301)+`"`), "(301 bytes) is not an image tag"},
		{"tag with unicode", pushOf(`"hello-color"`, `"1.0.0-β"`), `"1.0.0-β" is not an image tag`},
		{"tag with a control character", pushOf(`"hello-color"`, `"1.0.0\u001b[2J"`), `"1.0.0\x1b[2J" is not an image tag`},
		{"tag with a newline", pushOf(`"hello-color"`, `"1.0.0\nlevel=ERROR"`), `"1.0.0\nlevel=ERROR" is not an image tag`},
		{"tag not a string", pushOf(`"hello-color"`, `1`), "detail.image-tag: want string, got JSON number"},
		{"bad digest", badPush(`{"result":"SUCCESS","action-type":"PUSH","repository-name":"hello-color","image-digest":"sha256:xyz","image-tag":"1.0.0"}`), "not an image digest"},
		{"missing detail", `{"source":"aws.ecr","detail-type":"ECR Image Action"}`, "detail: missing"},
		{"image deleted", badPush(`{"result":"SUCCESS","action-type":"DELETE","repository-name":"hello-color","image-digest":"` + badInputDigest + `","image-tag":"1.0.0"}`), "not a successful push"},
		{"push failed", badPush(`{"result":"FAILURE","action-type":"PUSH","repository-name":"hello-color","image-digest":"` + badInputDigest + `","image-tag":"1.0.0"}`), "not a successful push"},
		{"other source", `{"source":"aws.s3","detail-type":"Object Created","detail":{}}`, `unsupported event "aws.s3"`},
		{"huge source", `{"source":"` + strings.Repeat("s", 200000) + `","detail-type":"x"}`, "(200000 bytes)"},
		{"ecs event for two services", `{"source":"aws.ecs","detail-type":"ECS Deployment State Change","resources":["a","b"],"detail":{"eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"d"}}`, "want exactly one service ARN, got 2"},
		{"ecs event for a task", `{"source":"aws.ecs","detail-type":"ECS Deployment State Change","resources":["arn:aws:ecs:us-east-1:123456789012:task/apps/1"],"detail":{"eventName":"SERVICE_DEPLOYMENT_COMPLETED","deploymentId":"d"}}`, "is not an ECS service ARN"},
		{"ecs event with an unknown name", `{"source":"aws.ecs","detail-type":"ECS Deployment State Change","resources":["arn:aws:ecs:us-east-1:123456789012:service/apps/web"],"detail":{"eventName":"SERVICE_STEADY_STATE","deploymentId":"d"}}`, `unknown deployment event "SERVICE_STEADY_STATE"`},
		{"bad time", strings.Replace(pushOf(`"hello-color"`, `"1.0.0"`), "2026-11-27T09:30:00Z", strings.Repeat("9", 100000), 1), "bad time"},
		// A stray byte in the id would have hidden the tag given twice
		// from the key check, and the second tag been deployed.
		{"a stray byte and a tag given twice", strings.Replace(pushOf(`"hello-color"`, `"1.0.0","image-tag":"9.9.9"`), `"id":"e1"`, "\"id\":\"e1\xff\"", 1),
			"not valid UTF-8 at byte 23"},
		{"a stray byte in the detail", pushOf(`"hello-color"`, "\"1.0.0\xc3\""), "not valid UTF-8 at byte 357"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deployer := func(log *slog.Logger) func([]byte) (deploy.Result, error) {
				h := &Handler{Log: log} // no deployment library: nothing may reach AWS
				return func(raw []byte) (deploy.Result, error) { return h.Event(t.Context(), raw) }
			}
			res, logged, err := handle(t, deployer, []byte(tt.in))
			checkBadInput(t, res, logged, err, "bad event: ", tt.want)
			if res.Repository != "" {
				t.Errorf("result repository = %.100q, want none", res.Repository)
			}
		})
	}
}

// TestPromoterBadRequests runs bad requests through the promoter's handler
// with no deployment library: each must be refused by decoding, before any
// AWS call, and reported in the result, naming the repository when it is a
// valid one.
func TestPromoterBadRequests(t *testing.T) {
	tests := []struct {
		name, in, want, repository string
	}{
		{"empty", ``, "empty request", ""},
		{"null", `null`, "want a JSON object, got null", ""},
		{"a list", `[{"action":"status","repository":"hello-color"}]`, "want a JSON object, got a list", ""},
		{"not JSON", `deploy hello-color 1.0.0`, "want a JSON object", ""},
		{"truncated", `{"action":"status","repository":"hel`, "unexpected end", ""},
		{"trailing data", `{"action":"status","repository":"hello-color"} {"action":"deploy"}`, "data after the request object", ""},
		{"one byte over the size limit", `{"action":"status","repository":"hello-color"}` + strings.Repeat(" ", request.MaxSize-45), "65537 bytes, more than 65536", ""},
		{"100000 nested arrays", nest(100000, ""), "more than 65536", ""},
		{"30000 nested arrays in a field", `{"action":"status","repository":` + nest(30000, `"hello-color"`) + `}`, "nested more than 10000 levels deep", ""},
		{"unknown field", `{"action":"status","repository":"hello-color","cluster":"apps"}`, "cluster: unknown field", ""},
		{"field in another case", `{"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"dev","Environment":"production"}`, `Environment: unknown field (did you mean "environment"?)`, ""},
		{"field given twice", `{"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"dev","environment":"production"}`, "environment: given more than once", ""},
		{"null field", `{"action":"status","repository":null}`, "repository: null", ""},
		{"wrong type", `{"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"dev","force":"yes"}`, "force: want bool, got JSON string", ""},
		{"no action", `{"repository":"hello-color"}`, "action: missing", "hello-color"},
		{"unknown action", `{"action":"destroy","repository":"hello-color"}`, `action: unknown action "destroy"`, "hello-color"},
		{"no repository", `{"action":"status"}`, "repository: missing", ""},
		{"repository of 257 characters", `{"action":"status","repository":"r` + strings.Repeat("/r", 128) + `"}`, "(257 bytes) is not an ECR repository name", ""},
		{"repository of 60000 characters", `{"action":"status","repository":"` + strings.Repeat("r", 60000) + `!"}`, "(60001 bytes) is not an ECR repository name", ""},
		{"repository with unicode", `{"action":"status","repository":"hélló"}`, `"hélló" is not an ECR repository name`, ""},
		{"repository with a control character", `{"action":"status","repository":"hello\u0007"}`, `"hello\a" is not an ECR repository name`, ""},
		{"tag of 301 characters", `{"action":"deploy","repository":"hello-color","tag":"` + strings.Repeat("t", 301) + `","environment":"dev"}`, "(301 bytes) is not an image tag", "hello-color"},
		{"tag with unicode", `{"action":"plan","repository":"hello-color","tag":"1.0.0-β"}`, `"1.0.0-β" is not an image tag`, "hello-color"},
		{"tag with a newline", `{"action":"plan","repository":"hello-color","tag":"1.0.0\nlevel=ERROR"}`, `"1.0.0\nlevel=ERROR" is not an image tag`, "hello-color"},
		{"environment of 65 characters", `{"action":"rollback","repository":"hello-color","environment":"` + strings.Repeat("e", 65) + `"}`, "is not an environment name", "hello-color"},
		{"environment ..", `{"action":"rollback","repository":"hello-color","environment":".."}`, `environment: ".." is not an environment name`, "hello-color"},
		{"environment with a slash", `{"action":"promote","repository":"hello-color","to":"../production"}`, "to: \"../production\" is not an environment name", "hello-color"},
		{"environment with NUL", `{"action":"rollback","repository":"hello-color","environment":"dev\u0000"}`, `"dev\x00" is not an environment name`, "hello-color"},
		{"deploy without tag", `{"action":"deploy","repository":"hello-color","environment":"dev"}`, "tag: missing for deploy", "hello-color"},
		{"rollback with a tag", `{"action":"rollback","repository":"hello-color","environment":"dev","tag":"1.0.0"}`, "tag: not used by rollback", "hello-color"},
		{"promote to itself", `{"action":"promote","repository":"hello-color","from":"production","to":"production"}`, "to: promote from an environment to itself", "hello-color"},
		{"force on status", `{"action":"status","repository":"hello-color","force":true}`, "force: not used by status", "hello-color"},
		{"dryRun on plan", `{"action":"plan","repository":"hello-color","tag":"1.0.0","dryRun":true}`, "dryRun: not used by plan", "hello-color"},
		{"a stray byte in a value", "{\"action\":\"deploy\",\"repository\":\"hello-color\",\"tag\":\"1.0.0\xff\",\"environment\":\"dev\"}", "not valid UTF-8 at byte 58", ""},
		{"a stray byte in a key beside a key given twice", "{\"action\":\"deploy\",\"repository\":\"hello-color\",\"tag\":\"1.0.0\",\"environment\":\"dev\",\"environment\xed\xa0\x80\":\"production\"}",
			"not valid UTF-8 at byte 92", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			promoter := func(log *slog.Logger) func([]byte) (deploy.Result, error) {
				h := &Handler{Log: log} // no deployment library: nothing may reach AWS
				return func(raw []byte) (deploy.Result, error) { return h.Request(t.Context(), raw) }
			}
			res, logged, err := handle(t, promoter, []byte(tt.in))
			checkBadInput(t, res, logged, err, "bad request: ", tt.want)
			if res.Repository != tt.repository {
				t.Errorf("result repository = %.100q, want %q", res.Repository, tt.repository)
			}
		})
	}
}

// TestFunctionTakesAnyBytes checks what the Lambda runtime gets from each
// entry: a payload that is not JSON is answered with a bad-input result,
// encoded as the runtime would (no HTML escaping, no newline), never with
// an error.
func TestFunctionTakesAnyBytes(t *testing.T) {
	h := &Handler{Log: slog.New(slog.DiscardHandler)}
	for name, f := range map[string]Function{"Request": h.Request, "Event": h.Event} {
		for _, payload := range []string{"not JSON", `{"action":"status",}`, `{"a":`, "\xff\xfe"} {
			out, err := f.Invoke(t.Context(), []byte(payload))
			if err != nil {
				t.Errorf("%s.Invoke(%q) = error %v, want a result", name, payload, err)
				continue
			}
			var res deploy.Result
			if err := json.Unmarshal(out, &res); err != nil || res.ErrorKind != deploy.BadInput || !strings.HasPrefix(res.Error, "bad ") {
				t.Errorf("%s.Invoke(%q) = %s (%v), want a bad input result", name, payload, out, err)
			}
			if strings.HasSuffix(string(out), "\n") {
				t.Errorf("%s.Invoke(%q) ends in a newline: %q", name, payload, out)
			}
		}
	}
	if out, err := h.Request(t.Context(), []byte(`{"action":"status",}`)); !strings.Contains(out.Error, "at byte 20") || err != nil {
		t.Errorf("Request = %q, %v; want the byte offset", out.Error, err)
	}
}
