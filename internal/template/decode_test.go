package template

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// templatePath is the SAM template, relative to this package.
const templatePath = "../../template.yaml"

// mustReadTemplate returns the text of the SAM template.
func mustReadTemplate(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatalf("read template: %v", err)
	}
	return b
}

// decodeTemplate decodes a CloudFormation YAML template into plain values
// (map[string]any, []any, string, bool, int, float64), with the short-form
// intrinsic functions in their long form, as CloudFormation reads them:
// `!Ref X` is {"Ref": "X"}, `!Sub s` is {"Fn::Sub": s}, `!GetAtt A.B` is
// {"Fn::GetAtt": ["A", "B"]}. It returns an error for a duplicate key (YAML
// would keep only one of two statements silently) and for anchors and
// aliases, which CloudFormation does not accept.
func decodeTemplate(data []byte) (map[string]any, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	v, err := plain(&doc)
	if err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode template: top level is %T, want a mapping", v)
	}
	return m, nil
}

// plain converts one YAML node.
func plain(n *yaml.Node) (any, error) {
	if n.Anchor != "" {
		return nil, fmt.Errorf("line %d: anchor &%s: CloudFormation does not accept anchors", n.Line, n.Anchor)
	}
	if fn, ok := intrinsic(n.Tag); ok {
		inner := *n
		inner.Tag = ""
		switch inner.Kind {
		case yaml.ScalarNode:
			inner.Tag = "!!str"
		case yaml.MappingNode:
			inner.Tag = "!!map"
		case yaml.SequenceNode:
			inner.Tag = "!!seq"
		}
		arg, err := plain(&inner)
		if err != nil {
			return nil, err
		}
		if s, ok := arg.(string); ok && fn == "Fn::GetAtt" {
			resource, attribute, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, s)
			}
			arg = []any{resource, attribute}
		}
		return map[string]any{fn: arg}, nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("want one YAML document, got %d", len(n.Content))
		}
		return plain(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			if k.Value == "<<" {
				return nil, fmt.Errorf("line %d: merge key <<: CloudFormation does not accept it", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			v, err := plain(vn)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := plain(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: alias *%s: CloudFormation does not accept aliases", n.Line, n.Value)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
}

// intrinsic returns the long-form key of a CloudFormation short-form tag
// (`!Ref` gives "Ref", `!Sub` gives "Fn::Sub"); ok is false for YAML's own
// tags and untagged nodes.
func intrinsic(tag string) (key string, ok bool) {
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return "", false
	}
	name := tag[1:]
	switch name {
	case "Ref", "Condition":
		return name, true
	}
	return "Fn::" + name, true
}

func TestDecodeTemplate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{
		{"ref", "A: !Ref X", map[string]any{"A": map[string]any{"Ref": "X"}}},
		{"sub", "A: !Sub arn:${AWS::Partition}:x", map[string]any{"A": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:x"}}},
		{"getatt scalar", "A: !GetAtt Queue.Arn", map[string]any{"A": map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}}},
		{"getatt list", "A: !GetAtt [Queue, Arn]", map[string]any{"A": map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}}},
		{"if", "A: !If [C, x, !Ref AWS::NoValue]", map[string]any{"A": map[string]any{"Fn::If": []any{"C", "x", map[string]any{"Ref": "AWS::NoValue"}}}}},
		{"nested", "A: !Not [!Equals [!Join ['', !Ref L], '']]", map[string]any{"A": map[string]any{"Fn::Not": []any{
			map[string]any{"Fn::Equals": []any{map[string]any{"Fn::Join": []any{"", map[string]any{"Ref": "L"}}}, ""}},
		}}}},
		{"condition", "A: !Condition C", map[string]any{"A": map[string]any{"Condition": "C"}}},
		{"numbers stay numbers", "A: 1\nB: '1'\nC: true", map[string]any{"A": 1, "B": "1", "C": true}},
		{"long form", "A: {Ref: X}", map[string]any{"A": map[string]any{"Ref": "X"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeTemplate([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decodeTemplate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeTemplateRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"duplicate key", "A: 1\nA: 2", `duplicate key "A"`},
		{"alias", "A: &x 1\nB: *x", "anchor"},
		{"merge key", "A: {x: 1}\nB:\n  <<: {x: 1}", "merge key"},
		{"getatt without attribute", "A: !GetAtt Queue", "Resource.Attribute"},
		{"not a mapping", "- a", "want a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeTemplate([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeTemplate(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}
