package taskdef

import (
	"strings"
	"testing"
)

func nest(n int, s string) string {
	return strings.Repeat("[", n) + s + strings.Repeat("]", n)
}

// TestDecodeDescribeJSONBadInput feeds DecodeDescribeJSON JSON nesting bombs
// and other hostile documents: each is refused with an error that says
// where, never a panic.
func TestDecodeDescribeJSONBadInput(t *testing.T) {
	const minimal = `"family":"x","containerDefinitions":[{"name":"web","image":"hello-color:1"}]`
	tests := []struct {
		name, in, want string
	}{
		{"100000 nested arrays", nest(100000, ""), "decode task definition JSON: at byte 10001: nested more than 10000 levels deep"},
		{"100000 nested arrays in containerDefinitions", `{"family":"x","containerDefinitions":` + nest(100000, "") + `}`, "nested more than 10000 levels deep"},
		{"100000 nested arrays in an unknown field", `{` + minimal + `,"x":` + nest(100000, "") + `}`, "nested more than 10000 levels deep"},
		{"100000 nested objects in dockerLabels", `{"family":"x","containerDefinitions":[{"name":"a","dockerLabels":` + strings.Repeat(`{"a":`, 100000) + `"b"` + strings.Repeat("}", 100000) + `}]}`, "nested more than 10000 levels deep"},
		{"100000 nested arrays in the describe wrapper", `{"taskDefinition":` + nest(100000, "") + `}`, "nested more than 10000 levels deep"},
		{"deep but legal nesting in a list of strings", `{"family":"x","requiresCompatibilities":` + nest(5000, "") + `}`, "requiresCompatibilities[0]: want a string, got a list"},
		{"deep but legal nesting in an unknown field", `{` + minimal + `,"x":` + nest(5000, "") + `}`, "x: unknown field"},
		{"deep but legal nesting in a union", `{"family":"x","containerDefinitions":[{"name":"a","resourceRequirements":[{"sharingStrategy":{"nvidiaMps":` + nest(5000, "") + `}}]}]}`, "sharingStrategy.nvidiaMps: want an object, got a list"},
		{"empty", ``, "decode task definition JSON: EOF"},
		{"null", `null`, "want an object, got null"},
		{"list", `[{` + minimal + `}]`, "want an object, got a list"},
		{"trailing data", `{` + minimal + `} {}`, "trailing data after the document"},
		{"byte order mark", "\uFEFF{" + minimal + "}", "invalid character"},
		{"integer overflow", `{"family":"x","containerDefinitions":[{"name":"a","memory":99999999999}]}`, "containerDefinitions[0].memory: want an integer of 32 bits, got 99999999999"},
		{"fraction for an integer", `{"family":"x","containerDefinitions":[{"name":"a","memory":1.5}]}`, "want an integer of 32 bits, got 1.5"},
		{"time out of range", `{"family":"x","registeredAt":1e300}`, "registeredAt: want seconds since the epoch"},
		{"union with two members", `{"family":"x","containerDefinitions":[{"name":"a","resourceRequirements":[{"sharingStrategy":{"nvidiaMps":{},"x":{}}}]}]}`, "want an object with exactly one member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, tags, err := DecodeDescribeJSON([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodeDescribeJSON accepted it: %+v %v", td, tags)
			}
			if td != nil || tags != nil {
				t.Errorf("DecodeDescribeJSON returned a definition with the error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := len(err.Error()); n > 400 {
				t.Errorf("error is %d bytes: %.300q…", n, err)
			}
		})
	}
}

// TestRenderUnicode renders values with unicode and control characters
// into a real task definition: they are kept exactly, the canonical form
// and the diff escape them, and rendering is idempotent.
func TestRenderUnicode(t *testing.T) {
	base := mustInput(t, "fargate-web")
	spec := Spec{
		Repository:  "hello-color",
		Image:       "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.4.0",
		Environment: map[string]string{"GREETING": "héllo, 世界 👋", "CONTROL": "a\x00b\nc\td\x1b[31m", "BIDI": "abc\u202edef", "Ω": "\u2028"},
		Secrets:     map[string]string{"ÜBER": "arn:aws:ssm:us-east-1:123456789012:parameter/über"},
		Tags:        map[string]string{"ecrdeploy:event": "\u0000" + strings.Repeat("é", 200)},
	}
	out := mustRender(t, base, spec)
	checkRender(t, base, spec)
	c := mustCanonical(t, out)
	for _, want := range []string{`"héllo, 世界 👋"`, `"a\u0000b\nc\td\u001b[31m"`, "\"abc\u202edef\"", `"\u2028"`} {
		if !strings.Contains(c, want) {
			t.Errorf("canonical form does not contain %s", want)
		}
	}
	d, err := Diff(base, out, "current", "next")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(d, "\x00\x1b\r") {
		t.Errorf("diff contains raw control characters:\n%q", d)
	}
	if !strings.Contains(d, `+          "value": "a\u0000b\nc\td\u001b[31m"`) {
		t.Errorf("diff does not show the escaped value on one line:\n%s", d)
	}
}

// TestRenderManyContainers renders a definition with 200 containers, far
// beyond ECS's limit of 10, many of them with the same name (which ECS
// refuses): the first of a name is the one a name selects.
func TestRenderManyContainers(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"family":"many","containerDefinitions":[`)
	for i := range 200 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name":"c` + strings.Repeat("x", i%7) + `","image":"hello-color:1.0.0","environment":[{"name":"B","value":"1"},{"name":"A","value":"2"}]}`)
	}
	b.WriteString(`]}`)
	base := decodeInput(t, []byte(b.String()))
	if base == nil {
		t.Fatal("decode failed")
	}
	checkRender(t, base, Spec{Repository: "hello-color", Image: "hello-color:1.1.0", Environment: map[string]string{"A": "3"}})
	checkRender(t, base, Spec{Image: "hello-color:1.1.0", Containers: []string{"cxxx", "c"}})
}
