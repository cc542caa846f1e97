package request

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// longRepository is a valid repository name of exactly n bytes.
func longRepository(n int) string {
	return "r" + strings.Repeat("/r", (n-1)/2) + strings.Repeat("x", (n-1)%2)
}

func TestLongRepository(t *testing.T) {
	for _, n := range []int{2, 3, 255, 256, 257} {
		if got := len(longRepository(n)); got != n {
			t.Errorf("len(longRepository(%d)) = %d", n, got)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Request
	}{
		{"deploy", `{"action": "deploy", "repository": "hello-color", "tag": "1.0.1", "environment": "production"}`,
			Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.1", Environment: "production"}},
		{"deploy with force, wait and dryRun", `{"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"dev","force":true,"wait":true,"dryRun":true}`,
			Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.0", Environment: "dev", Force: true, Wait: true, DryRun: true}},
		{"deploy with false flags", `{"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"dev","force":false,"wait":false,"dryRun":false}`,
			Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.0", Environment: "dev"}},
		{"promote", `{"action": "promote", "repository": "hello-color", "from": "staging", "to": "production"}`,
			Request{Action: Promote, Repository: "hello-color", From: "staging", To: "production"}},
		{"promote from promoteFrom", `{"action":"promote","repository":"hello-color","to":"production","force":true,"wait":true,"dryRun":true}`,
			Request{Action: Promote, Repository: "hello-color", To: "production", Force: true, Wait: true, DryRun: true}},
		{"rollback", `{"action": "rollback", "repository": "hello-color", "environment": "production"}`,
			Request{Action: Rollback, Repository: "hello-color", Environment: "production"}},
		{"rollback dry run", `{"action":"rollback","repository":"hello-color","environment":"production","dryRun":true,"force":true,"wait":true}`,
			Request{Action: Rollback, Repository: "hello-color", Environment: "production", DryRun: true, Force: true, Wait: true}},
		{"plan", `{"action": "plan", "repository": "hello-color", "tag": "1.0.2"}`,
			Request{Action: Plan, Repository: "hello-color", Tag: "1.0.2"}},
		{"plan one environment", `{"action":"plan","repository":"team/web","tag":"v2","environment":"staging"}`,
			Request{Action: Plan, Repository: "team/web", Tag: "v2", Environment: "staging"}},
		{"status", `{"action": "status", "repository": "hello-color"}`,
			Request{Action: Status, Repository: "hello-color"}},
		{"white space around", " \n\t{\"action\":\"status\",\"repository\":\"hello-color\"}\r\n ",
			Request{Action: Status, Repository: "hello-color"}},
		{"fields in any order", `{"environment":"dev","tag":"1.0.0","repository":"hello-color","action":"deploy"}`,
			Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.0", Environment: "dev"}},
		{"escaped strings", `{"action":"d\u0065ploy","repository":"hello\u002dcolor","tag":"1.0.0","environment":"dev"}`,
			Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.0", Environment: "dev"}},
		{"repository of 2 characters", `{"action":"status","repository":"ab"}`,
			Request{Action: Status, Repository: "ab"}},
		{"repository of 256 characters", `{"action":"status","repository":"` + longRepository(256) + `"}`,
			Request{Action: Status, Repository: longRepository(256)}},
		{"repository with every separator", `{"action":"status","repository":"a.b_c-d/e0/f"}`,
			Request{Action: Status, Repository: "a.b_c-d/e0/f"}},
		{"tag of 300 characters", `{"action":"plan","repository":"hello-color","tag":"` + strings.Repeat("t", 300) + `"}`,
			Request{Action: Plan, Repository: "hello-color", Tag: strings.Repeat("t", 300)}},
		{"tag with every character class", `{"action":"plan","repository":"hello-color","tag":"_v1.2.3-rc.1_B"}`,
			Request{Action: Plan, Repository: "hello-color", Tag: "_v1.2.3-rc.1_B"}},
		{"environment of 64 characters", `{"action":"rollback","repository":"hello-color","environment":"` + strings.Repeat("e", 64) + `"}`,
			Request{Action: Rollback, Repository: "hello-color", Environment: strings.Repeat("e", 64)}},
		{"environment with dots", `{"action":"rollback","repository":"hello-color","environment":"eu.prod-1_a"}`,
			Request{Action: Rollback, Repository: "hello-color", Environment: "eu.prod-1_a"}},
		{"board", `{"action": "board"}`, Request{Action: Board}},
		{"board as a table", `{"action":"board","output":"table"}`, Request{Action: Board, Output: "table"}},
		{"board as JSON", `{"action":"board","output":"json"}`, Request{Action: Board, Output: "json"}},
		{"board as HTML", `{"output":"html","action":"board"}`, Request{Action: Board, Output: "html"}},
		{"board with an empty output", `{"action":"board","output":""}`, Request{Action: Board}},
		{"approve", `{"action":"approve","repository":"hello-color","environment":"production"}`,
			Request{Action: Approve, Repository: "hello-color", Environment: "production"}},
		{"reject with a reason", `{"action":"reject","repository":"hello-color","environment":"production","reason":"error rate above 2 % in the canary"}`,
			Request{Action: Reject, Repository: "hello-color", Environment: "production", Reason: "error rate above 2 % in the canary"}},
		{"reject with a reason in another script", `{"action":"reject","repository":"hello-color","environment":"production","reason":"taux d'erreur élevé"}`,
			Request{Action: Reject, Repository: "hello-color", Environment: "production", Reason: "taux d'erreur élevé"}},
		{"deploy waiting until test traffic", `{"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"production","wait":true,"until":"test-traffic"}`,
			Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.0", Environment: "production", Wait: true, Until: UntilTestTraffic}},
		{"promote waiting until approval", `{"action":"promote","repository":"hello-color","to":"production","wait":true,"until":"approval"}`,
			Request{Action: Promote, Repository: "hello-color", To: "production", Wait: true, Until: UntilApproval}},
		{"rollback waiting until done", `{"action":"rollback","repository":"hello-color","environment":"production","wait":true,"until":"done"}`,
			Request{Action: Rollback, Repository: "hello-color", Environment: "production", Wait: true, Until: UntilDone}},
		{"deploy waiting until production traffic", `{"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"production","wait":true,"until":"production-traffic"}`,
			Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.0", Environment: "production", Wait: true, Until: UntilProductionTraffic}},
		{"at the size limit", `{"action":"status","repository":"hello-color"}` + strings.Repeat(" ", MaxSize-len(`{"action":"status","repository":"hello-color"}`)),
			Request{Action: Status, Repository: "hello-color"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
			// What the CLI sends (json.Marshal of the request) decodes to it.
			data, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode(%s): %v", data, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("re-encoded request decodes differently (-first +again):\n%s", diff)
			}
		})
	}
}

// nest returns s inside n JSON arrays.
func nest(n int, s string) string {
	return strings.Repeat("[", n) + s + strings.Repeat("]", n)
}

func TestDecodeErrors(t *testing.T) {
	const (
		deploy  = `"action":"deploy","repository":"hello-color","tag":"1.0.0","environment":"dev"`
		promote = `"action":"promote","repository":"hello-color","from":"staging","to":"production"`
		status  = `"action":"status","repository":"hello-color"`
		plan    = `"action":"plan","repository":"hello-color","tag":"1.0.0"`
	)
	tests := []struct {
		name      string
		in        string
		wantField string
		wantText  string
	}{
		// Not a request object at all.
		{"empty", ``, "", "empty request"},
		{"white space", " \n\t ", "", "empty request"},
		{"null", `null`, "", "want a JSON object, got null"},
		{"list", `[]`, "", "want a JSON object, got a list"},
		{"list of requests", `[{` + status + `}]`, "", "want a JSON object, got a list"},
		{"string", `"deploy"`, "", `want a JSON object, got string "deploy"`},
		{"number", `42`, "", "want a JSON object, got number 42"},
		{"number out of range", `1e999`, "", "want a JSON object"},
		{"boolean", `true`, "", "want a JSON object, got true"},
		{"not JSON", `action=deploy`, "", "want a JSON object"},
		{"truncated", `{"action":"deploy","repository":"hel`, "", "unexpected end"},
		{"truncated after a key", `{"action"`, "", "unexpected end"},
		{"syntax error", `{"action":"status",,"repository":"hello-color"}`, "", "invalid JSON at byte 20"},
		{"single quotes", `{'action':'status'}`, "", "invalid JSON"},
		{"trailing comma", `{` + status + `,}`, "", "invalid JSON"},
		{"byte order mark", "\uFEFF{" + status + "}", "", "want a JSON object"},
		{"invalid UTF-8 outside strings", "{" + status + "}\xff", "", "not valid UTF-8 at byte 46"},

		// Trailing data.
		{"second object", `{` + status + `} {}`, "", "data after the request object"},
		{"two requests", `{` + status + `}{` + deploy + `}`, "", "data after the request object"},
		{"trailing garbage", `{` + status + `} x`, "", "data after the request object"},
		{"trailing bracket", `{` + status + `}]`, "", "data after the request object"},
		{"trailing null", `{` + status + `} null`, "", "data after the request object"},

		// Size.
		{"one byte over the limit", `{` + status + `}` + strings.Repeat(" ", MaxSize-len(status)-1), "", "more than 65536"},
		{"huge", `{"action":"status","repository":"` + strings.Repeat("a", 1<<20) + `"}`, "", "more than 65536"},

		// JSON nesting bombs.
		{"100000 nested arrays", nest(100000, ""), "", "more than 65536"},
		{"100000 nested arrays in a field", `{"action":` + nest(100000, `"deploy"`) + `}`, "", "more than 65536"},
		{"nested arrays at the top within the limit", nest(30000, ""), "", "want a JSON object, got a list"},
		{"nested arrays in a field within the limit", `{"action":` + nest(30000, `"deploy"`) + `}`, "", "nested more than 10000 levels deep"},
		{"nested objects in a field within the limit", `{"tag":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `}`, "", "nested more than 10000 levels deep"},
		{"nested arrays in an unknown field", `{"x":` + nest(30000, "") + `}`, "x", "unknown field"},
		{"shallow nesting in a field", `{"action":[["deploy"]]}`, "action", "want string, got JSON array"},

		// Field names: exact, known, once, not null.
		{"unknown field", `{` + deploy + `,"version":"1.0.0"}`, "version", "unknown field (want action, repository, tag, environment, from, to, force, wait, dryRun, limit, cursor, output, until, reason)"},
		{"unknown field first", `{"image":"x",` + deploy + `}`, "image", "unknown field"},
		{"field name in upper case", `{"ACTION":"status","repository":"hello-color"}`, "ACTION", `unknown field (did you mean "action"?)`},
		{"field name capitalised", `{"action":"status","Repository":"hello-color"}`, "Repository", `did you mean "repository"?`},
		{"dryRun in lower case", `{` + deploy + `,"dryrun":true}`, "dryrun", `did you mean "dryRun"?`},
		{"dry_run", `{` + deploy + `,"dry_run":true}`, "dry_run", "unknown field"},
		{"field name with a Kelvin sign", "{\"action\":\"status\",\"repository\":\"hello-color\",\"for\u212Ae\":true}", "for\u212Ae", "unknown field"},
		{"empty field name", `{"":"x",` + status + `}`, `""`, "unknown field"},
		{"field name with a control character", `{"act\u0000ion":"status"}`, `"act\x00ion"`, "unknown field"},
		{"field name with a quote", `{"a\"b":1}`, `"a\"b"`, "unknown field"},
		{"long field name", `{"` + strings.Repeat("k", 1000) + `":1}`, `"` + strings.Repeat("k", 80) + `"… (1000 bytes)`, "unknown field"},
		{"duplicate field", `{` + deploy + `,"environment":"production"}`, "environment", "given more than once"},
		{"duplicate field with the same value", `{` + status + `,"action":"status"}`, "action", "given more than once"},
		{"duplicate field in another case", `{` + deploy + `,"Environment":"production"}`, "Environment", `did you mean "environment"?`},
		{"null action", `{"action":null,"repository":"hello-color"}`, "action", "null"},
		{"null tag", `{` + status + `,"tag":null}`, "tag", "null (leave the field out instead)"},
		{"null force", `{` + deploy + `,"force":null}`, "force", "null"},

		// Wrong types.
		{"action a number", `{"action":1,"repository":"hello-color"}`, "action", "want string, got JSON number"},
		{"repository a list", `{"action":"status","repository":["hello-color"]}`, "repository", "want string, got JSON array"},
		{"tag a number", `{"action":"plan","repository":"hello-color","tag":1.0}`, "tag", "want string, got JSON number"},
		{"environment an object", `{"action":"rollback","repository":"hello-color","environment":{"name":"dev"}}`, "environment", "want string, got JSON object"},
		{"force a string", `{` + deploy + `,"force":"true"}`, "force", "want bool, got JSON string"},
		{"wait a number", `{` + deploy + `,"wait":1}`, "wait", "want bool, got JSON number"},
		{"dryRun a list", `{` + deploy + `,"dryRun":[true]}`, "dryRun", "want bool, got JSON array"},

		// Actions.
		{"no action", `{"repository":"hello-color"}`, "action", "missing (want deploy, promote, rollback, plan, status, history, approve, reject or board)"},
		{"empty action", `{"action":"","repository":"hello-color"}`, "action", "missing"},
		{"unknown action", `{"action":"destroy","repository":"hello-color"}`, "action", `unknown action "destroy"`},
		{"action in upper case", `{"action":"DEPLOY","repository":"hello-color","tag":"1.0.0","environment":"dev"}`, "action", `unknown action "DEPLOY"`},
		{"action with white space", `{"action":" status","repository":"hello-color"}`, "action", `unknown action " status"`},
		{"action checked before the repository", `{"action":"destroy"}`, "action", "unknown action"},
		{"empty object", `{}`, "action", "missing"},

		// Missing fields, per action.
		{"no repository", `{"action":"status"}`, "repository", "missing"},
		{"empty repository", `{"action":"status","repository":""}`, "repository", "missing"},
		{"deploy without tag", `{"action":"deploy","repository":"hello-color","environment":"dev"}`, "tag", "missing for deploy"},
		{"deploy without environment", `{"action":"deploy","repository":"hello-color","tag":"1.0.0"}`, "environment", "missing for deploy"},
		{"deploy with an empty tag", `{"action":"deploy","repository":"hello-color","tag":"","environment":"dev"}`, "tag", "missing for deploy"},
		{"promote without to", `{"action":"promote","repository":"hello-color","from":"staging"}`, "to", "missing for promote"},
		{"rollback without environment", `{"action":"rollback","repository":"hello-color"}`, "environment", "missing for rollback"},
		{"plan without tag", `{"action":"plan","repository":"hello-color","environment":"dev"}`, "tag", "missing for plan"},

		// Superfluous fields, per action.
		{"deploy with from", `{` + deploy + `,"from":"staging"}`, "from", "not used by deploy"},
		{"deploy with to", `{` + deploy + `,"to":"production"}`, "to", "not used by deploy"},
		{"promote with tag", `{` + promote + `,"tag":"1.0.0"}`, "tag", "not used by promote"},
		{"promote with environment", `{` + promote + `,"environment":"production"}`, "environment", "not used by promote"},
		{"rollback with tag", `{"action":"rollback","repository":"hello-color","environment":"dev","tag":"1.0.0"}`, "tag", "not used by rollback"},
		{"rollback with from", `{"action":"rollback","repository":"hello-color","environment":"dev","from":"staging"}`, "from", "not used by rollback"},
		{"rollback with to", `{"action":"rollback","repository":"hello-color","environment":"dev","to":"staging"}`, "to", "not used by rollback"},
		{"plan with from", `{` + plan + `,"from":"staging"}`, "from", "not used by plan"},
		{"plan with to", `{` + plan + `,"to":"production"}`, "to", "not used by plan"},
		{"status with tag", `{` + status + `,"tag":"1.0.0"}`, "tag", "not used by status"},
		{"status with environment", `{` + status + `,"environment":"dev"}`, "environment", "not used by status"},
		{"status with from", `{` + status + `,"from":"dev"}`, "from", "not used by status"},
		{"status with to", `{` + status + `,"to":"dev"}`, "to", "not used by status"},

		// force, wait and dryRun change nothing on plan and status.
		{"plan with force", `{` + plan + `,"force":true}`, "force", "not used by plan"},
		{"plan with wait", `{` + plan + `,"wait":true}`, "wait", "not used by plan"},
		{"plan with dryRun", `{` + plan + `,"dryRun":true}`, "dryRun", "not used by plan"},
		{"status with force", `{` + status + `,"force":true}`, "force", "not used by status"},
		{"status with wait", `{` + status + `,"wait":true}`, "wait", "not used by status"},
		{"status with dryRun", `{` + status + `,"dryRun":true}`, "dryRun", "not used by status"},
		{"status with all three names force first", `{` + status + `,"dryRun":true,"wait":true,"force":true}`, "force", "not used by status"},

		// The board shows every repository and changes nothing.
		{"board for a repository", `{"action":"board","repository":"hello-color"}`, "repository", "not used by board (it shows every repository)"},
		{"board for an environment", `{"action":"board","environment":"dev"}`, "environment", "not used by board"},
		{"board with a tag", `{"action":"board","tag":"1.0.0"}`, "tag", "not used by board"},
		{"board with from", `{"action":"board","from":"dev"}`, "from", "not used by board"},
		{"board with to", `{"action":"board","to":"dev"}`, "to", "not used by board"},
		{"board with force", `{"action":"board","force":true}`, "force", "not used by board"},
		{"board with wait", `{"action":"board","wait":true}`, "wait", "not used by board"},
		{"board with dryRun", `{"action":"board","dryRun":true}`, "dryRun", "not used by board"},
		{"board in an unknown format", `{"action":"board","output":"yaml"}`, "output", `"yaml" is not a format (want table, json or html)`},
		{"board in a format in upper case", `{"action":"board","output":"HTML"}`, "output", `"HTML" is not a format`},
		{"board output a number", `{"action":"board","output":1}`, "output", "want string, got JSON number"},
		{"board output null", `{"action":"board","output":null}`, "output", "null"},
		{"output of a status", `{` + status + `,"output":"json"}`, "output", "not used by status"},
		{"output of a deploy", `{` + deploy + `,"output":"html"}`, "output", "not used by deploy"},
		{"action in upper case before the output", `{"action":"BOARD","output":"html"}`, "action", `unknown action "BOARD"`},

		// Approvals and waits.
		{"approve without environment", `{"action":"approve","repository":"hello-color"}`, "environment", "missing for approve"},
		{"reject without reason", `{"action":"reject","repository":"hello-color","environment":"production"}`, "reason", "missing for reject"},
		{"reject with a blank reason", `{"action":"reject","repository":"hello-color","environment":"production","reason":"  "}`, "reason", "missing for reject"},
		{"reject with a long reason", `{"action":"reject","repository":"hello-color","environment":"production","reason":"` + strings.Repeat("r", MaxReason+1) + `"}`, "reason", "1025 bytes, more than 1024"},
		{"reject with a newline in the reason", `{"action":"reject","repository":"hello-color","environment":"production","reason":"bad\nrate"}`, "reason", "control character"},
		{"approve with a reason", `{"action":"approve","repository":"hello-color","environment":"production","reason":"fine"}`, "reason", "not used by approve"},
		{"approve with a tag", `{"action":"approve","repository":"hello-color","environment":"production","tag":"1.0.0"}`, "tag", "not used by approve"},
		{"approve with wait", `{"action":"approve","repository":"hello-color","environment":"production","wait":true}`, "wait", "not used by approve"},
		{"reject with force", `{"action":"reject","repository":"hello-color","environment":"production","reason":"x","force":true}`, "force", "not used by reject"},
		{"deploy with a reason", `{` + deploy + `,"reason":"x"}`, "reason", "not used by deploy"},
		{"until without wait", `{` + deploy + `,"until":"test-traffic"}`, "until", `used only with "wait": true`},
		{"until unknown", `{` + deploy + `,"wait":true,"until":"soon"}`, "until", `"soon" is not a point to wait for (want approval, test-traffic, production-traffic, done)`},
		{"until in upper case", `{` + deploy + `,"wait":true,"until":"APPROVAL"}`, "until", "is not a point to wait for"},
		{"until on a plan", `{` + plan + `,"until":"done"}`, "until", "not used by plan"},
		{"until on an approval", `{"action":"approve","repository":"hello-color","environment":"production","until":"done"}`, "until", "not used by approve"},
		{"board with until", `{"action":"board","until":"done"}`, "until", "not used by board"},
		{"board with a reason", `{"action":"board","reason":"x"}`, "reason", "not used by board"},

		// Promote to itself.
		{"promote to itself", `{"action":"promote","repository":"hello-color","from":"production","to":"production"}`, "to", "promote from an environment to itself"},

		// Repository names.
		{"repository of 1 character", `{"action":"status","repository":"a"}`, "repository", `"a" is not an ECR repository name`},
		{"repository of 257 characters", `{"action":"status","repository":"` + longRepository(257) + `"}`, "repository", "… (257 bytes) is not an ECR repository name"},
		{"repository in upper case", `{"action":"status","repository":"Hello-Color"}`, "repository", "not an ECR repository name"},
		{"repository with a space", `{"action":"status","repository":"hello color"}`, "repository", `"hello color" is not`},
		{"repository with a leading slash", `{"action":"status","repository":"/hello"}`, "repository", "not an ECR repository name"},
		{"repository with a trailing slash", `{"action":"status","repository":"hello/"}`, "repository", "not an ECR repository name"},
		{"repository with a double slash", `{"action":"status","repository":"team//web"}`, "repository", "not an ECR repository name"},
		{"repository with two separators", `{"action":"status","repository":"hello..color"}`, "repository", "not an ECR repository name"},
		{"repository with a leading separator", `{"action":"status","repository":"-hello"}`, "repository", "not an ECR repository name"},
		{"repository with a tag", `{"action":"status","repository":"hello-color:1.0.0"}`, "repository", "not an ECR repository name"},
		{"repository with a digest", `{"action":"status","repository":"hello-color@sha256:abc"}`, "repository", "not an ECR repository name"},
		{"repository with unicode", `{"action":"status","repository":"héllo"}`, "repository", `"héllo" is not`},
		{"repository with a newline", `{"action":"status","repository":"hello\n"}`, "repository", `"hello\n" is not`},
		{"repository with NUL", `{"action":"status","repository":"hello\u0000color"}`, "repository", `"hello\x00color" is not`},
		{"repository with a right-to-left override", `{"action":"status","repository":"hello\u202ecolor"}`, "repository", `"hello\u202ecolor" is not`},
		{"repository with invalid UTF-8", "{\"action\":\"status\",\"repository\":\"hello\xffcolor\"}", "", "not valid UTF-8 at byte 38"},
		{"repository of 60000 characters", `{"action":"status","repository":"` + strings.Repeat("a", 60000) + `"}`, "repository", "… (60000 bytes) is not"},

		// Tags.
		{"tag of 301 characters", `{"action":"plan","repository":"hello-color","tag":"` + strings.Repeat("t", 301) + `"}`, "tag", "… (301 bytes) is not an image tag"},
		{"tag starting with a dot", `{"action":"plan","repository":"hello-color","tag":".1.0.0"}`, "tag", "not an image tag"},
		{"tag starting with a dash", `{"action":"plan","repository":"hello-color","tag":"-1.0.0"}`, "tag", "not an image tag"},
		{"tag with a colon", `{"action":"plan","repository":"hello-color","tag":"1.0:0"}`, "tag", "not an image tag"},
		{"tag with a plus", `{"action":"plan","repository":"hello-color","tag":"1.0.0+build.1"}`, "tag", "not an image tag"},
		{"tag with a slash", `{"action":"plan","repository":"hello-color","tag":"feature/x"}`, "tag", "not an image tag"},
		{"tag with a space", `{"action":"plan","repository":"hello-color","tag":"1.0.0 "}`, "tag", "not an image tag"},
		{"tag with a newline", `{"action":"plan","repository":"hello-color","tag":"1.0.0\n"}`, "tag", `"1.0.0\n" is not an image tag`},
		{"tag with a tab", `{"action":"plan","repository":"hello-color","tag":"1.0\t0"}`, "tag", "not an image tag"},
		{"tag with DEL", `{"action":"plan","repository":"hello-color","tag":"1.0.0\u007f"}`, "tag", `"1.0.0\x7f" is not`},
		{"tag with unicode", `{"action":"plan","repository":"hello-color","tag":"été"}`, "tag", `"été" is not an image tag`},
		{"tag with a zero-width space", `{"action":"plan","repository":"hello-color","tag":"1.0.0\u200b"}`, "tag", `"1.0.0\u200b" is not`},
		{"tag with a digest", `{"action":"plan","repository":"hello-color","tag":"sha256:abc"}`, "tag", "not an image tag"},

		// Environment names.
		{"environment of 65 characters", `{"action":"rollback","repository":"hello-color","environment":"` + strings.Repeat("e", 65) + `"}`, "environment", "is not an environment name"},
		{"environment .", `{"action":"rollback","repository":"hello-color","environment":"."}`, "environment", `"." is not an environment name`},
		{"environment ..", `{"action":"rollback","repository":"hello-color","environment":".."}`, "environment", `".." is not an environment name`},
		{"environment with a slash", `{"action":"rollback","repository":"hello-color","environment":"prod/eu"}`, "environment", "not an environment name"},
		{"environment with a space", `{"action":"rollback","repository":"hello-color","environment":"prod eu"}`, "environment", "not an environment name"},
		{"environment with unicode", `{"action":"rollback","repository":"hello-color","environment":"prød"}`, "environment", `"prød" is not`},
		{"environment with a control character", `{"action":"rollback","repository":"hello-color","environment":"prod\u0007"}`, "environment", `"prod\a" is not`},
		{"from ..", `{"action":"promote","repository":"hello-color","from":"..","to":"production"}`, "from", `".." is not an environment name`},
		{"to with a slash", `{"action":"promote","repository":"hello-color","from":"staging","to":"../production"}`, "to", "not an environment name"},
		{"plan environment with a space", `{` + plan + `,"environment":" dev"}`, "environment", "not an environment name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			var e *input.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error = %v (%T), want *input.Error", err, err)
			}
			if e.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (error %q)", e.Field, tt.wantField, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if !strings.HasPrefix(err.Error(), "bad request: ") {
				t.Errorf("error %q does not start with %q", err, "bad request: ")
			}
			if n := len(err.Error()); n > maxErrorLen {
				t.Errorf("error is %d bytes, more than %d: %.200q…", n, maxErrorLen, err)
			}
		})
	}
}

// maxErrorLen bounds an error message, whatever the input.
const maxErrorLen = 400

// TestDecodeReturnsRequestWithValidationError checks that a request that
// decodes but does not validate comes back with its error, so that the
// promoter can name the repository in its reply.
func TestDecodeReturnsRequestWithValidationError(t *testing.T) {
	got, err := Decode([]byte(`{"action":"deploy","repository":"hello-color","environment":"dev"}`))
	if err == nil {
		t.Fatal("Decode accepted a deploy without tag")
	}
	if diff := cmp.Diff(Request{Action: Deploy, Repository: "hello-color", Environment: "dev"}, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	// A request with a repository not worth naming comes back empty.
	got, err = Decode([]byte(`{"action":"status","repository":"` + strings.Repeat("x", 60000) + `!"}`))
	if err == nil || got != (Request{}) {
		t.Errorf("Decode with a bad repository = %+v, %v; want an empty request and an error", got, err)
	}
	// A request that does not decode comes back empty.
	got, err = Decode([]byte(`{"action":"deploy","repository":"hello-color","environment":"dev","x":1}`))
	if err == nil || got != (Request{}) {
		t.Errorf("Decode with an unknown field = %+v, %v; want an empty request and an error", got, err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		req       Request
		wantField string // "" for a valid request
	}{
		{"deploy", Request{Action: Deploy, Repository: "hello-color", Tag: "1.0.0", Environment: "dev"}, ""},
		{"promote", Request{Action: Promote, Repository: "hello-color", From: "staging", To: "production", Force: true}, ""},
		{"zero request", Request{}, "action"},
		{"status with every flag", Request{Action: Status, Repository: "hello-color", Force: true, Wait: true, DryRun: true}, "force"},
		{"plan with wait and dryRun", Request{Action: Plan, Repository: "hello-color", Tag: "1.0.0", Wait: true, DryRun: true}, "wait"},
		{"plan with dryRun", Request{Action: Plan, Repository: "hello-color", Tag: "1.0.0", DryRun: true}, "dryRun"},
		{"promote to itself without from", Request{Action: Promote, Repository: "hello-color", To: "production"}, ""},
		{"promote to itself", Request{Action: Promote, Repository: "hello-color", From: "dev", To: "dev"}, "to"},
		{"bad repository and bad tag", Request{Action: Deploy, Repository: "Hello", Tag: "-", Environment: "dev"}, "repository"},
		{"bad tag and superfluous from", Request{Action: Deploy, Repository: "hello-color", Tag: "-", Environment: "dev", From: "x"}, "tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The same request always gets the same error (no map order).
			for range 20 {
				err := tt.req.Validate()
				if tt.wantField == "" {
					if err != nil {
						t.Fatalf("Validate: %v", err)
					}
					continue
				}
				var e *input.Error
				if !errors.As(err, &e) {
					t.Fatalf("Validate = %v, want *input.Error", err)
				}
				if e.Field != tt.wantField {
					t.Fatalf("Field = %q, want %q (error %q)", e.Field, tt.wantField, err)
				}
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		err  *input.Error
		want string
	}{
		{bad("", "empty request"), "bad request: empty request"},
		{bad("tag", "missing for deploy"), "bad request: tag: missing for deploy"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestHistoryRequests(t *testing.T) {
	for _, ok := range []string{`{"action":"history","repository":"hello-color"}`, `{"action":"history","repository":"hello-color","environment":"dev"}`} {
		if _, err := Decode([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		`{"action":"history","repository":"hello-color","tag":"1.0.0"}`: "tag: not used by history",
		`{"action":"history","repository":"hello-color","force":true}`:  "force: not used by history",
	} {
		if _, err := Decode([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}
