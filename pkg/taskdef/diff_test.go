package taskdef

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"
)

// numbered returns the lines "1" to "n", with the replacements given.
func numbered(n int, replace map[int]string) []string {
	lines := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		if s, ok := replace[i]; ok {
			if s != "" {
				lines = append(lines, s)
			}
			continue
		}
		lines = append(lines, fmt.Sprint(i))
	}
	return lines
}

func TestUnified(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want string
	}{
		{
			name: "identical",
			a:    numbered(5, nil),
			b:    numbered(5, nil),
			want: "",
		},
		{
			name: "both empty",
			want: "",
		},
		{
			name: "one changed line",
			a:    numbered(9, nil),
			b:    numbered(9, map[int]string{5: "five"}),
			want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
		},
		{
			name: "change at start",
			a:    numbered(6, nil),
			b:    numbered(6, map[int]string{1: "one"}),
			want: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n",
		},
		{
			name: "change at end",
			a:    numbered(6, nil),
			b:    numbered(6, map[int]string{6: "six"}),
			want: "--- a\n+++ b\n@@ -3,4 +3,4 @@\n 3\n 4\n 5\n-6\n+six\n",
		},
		{
			name: "insertion",
			a:    numbered(6, nil),
			b:    []string{"1", "2", "3", "3a", "3b", "4", "5", "6"},
			want: "--- a\n+++ b\n@@ -1,6 +1,8 @@\n 1\n 2\n 3\n+3a\n+3b\n 4\n 5\n 6\n",
		},
		{
			name: "insertion at end",
			a:    numbered(5, nil),
			b:    numbered(6, nil),
			want: "--- a\n+++ b\n@@ -3,3 +3,4 @@\n 3\n 4\n 5\n+6\n",
		},
		{
			name: "deletion",
			a:    numbered(10, nil),
			b:    numbered(10, map[int]string{5: "", 6: ""}),
			want: "--- a\n+++ b\n@@ -2,8 +2,6 @@\n 2\n 3\n 4\n-5\n-6\n 7\n 8\n 9\n",
		},
		{
			name: "deletion at start",
			a:    numbered(5, nil),
			b:    numbered(5, map[int]string{1: ""}),
			want: "--- a\n+++ b\n@@ -1,4 +1,3 @@\n-1\n 2\n 3\n 4\n",
		},
		{
			name: "two distant hunks",
			a:    numbered(20, nil),
			b:    numbered(20, map[int]string{3: "three", 17: "seventeen"}),
			want: "--- a\n+++ b\n" +
				"@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n" +
				"@@ -14,7 +14,7 @@\n 14\n 15\n 16\n-17\n+seventeen\n 18\n 19\n 20\n",
		},
		{
			name: "changes six lines apart share a hunk",
			a:    numbered(13, nil),
			b:    numbered(13, map[int]string{3: "three", 10: "ten"}),
			want: "--- a\n+++ b\n@@ -1,13 +1,13 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n 7\n 8\n 9\n-10\n+ten\n 11\n 12\n 13\n",
		},
		{
			name: "changes seven lines apart do not",
			a:    numbered(14, nil),
			b:    numbered(14, map[int]string{3: "three", 11: "eleven"}),
			want: "--- a\n+++ b\n" +
				"@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n" +
				"@@ -8,7 +8,7 @@\n 8\n 9\n 10\n-11\n+eleven\n 12\n 13\n 14\n",
		},
		{
			name: "insertion and deletion in separate hunks shift line numbers",
			a:    numbered(20, nil),
			b:    append([]string{"0"}, numbered(20, map[int]string{15: ""})...),
			want: "--- a\n+++ b\n" +
				"@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n" +
				"@@ -12,7 +13,6 @@\n 12\n 13\n 14\n-15\n 16\n 17\n 18\n",
		},
		{
			name: "from nothing",
			b:    []string{"x", "y"},
			want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n",
		},
		{
			name: "to nothing",
			a:    []string{"x"},
			want: "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n",
		},
		{
			name: "one line replaced",
			a:    []string{"x"},
			b:    []string{"y"},
			want: "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unified("a", "b", tt.a, tt.b, 3)
			if err != nil {
				t.Fatalf("unified: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unified (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnifiedApplies checks the diff on random inputs: it is empty exactly
// when the inputs are equal, and applied to a it gives b.
func TestUnifiedApplies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		a := randomLines(rng, rng.IntN(30))
		b := randomLines(rng, rng.IntN(30))
		if i%3 == 0 {
			// Similar inputs, as real diffs are.
			b = mutate(rng, a)
		}
		checkUnified(t, a, b)
	}
}

func randomLines(rng *rand.Rand, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = string(rune('a' + rng.IntN(4)))
	}
	return lines
}

func mutate(rng *rand.Rand, a []string) []string {
	b := append([]string(nil), a...)
	for range rng.IntN(4) {
		switch i := rng.IntN(len(b) + 1); {
		case rng.IntN(2) == 0 || i == len(b):
			b = append(b[:i], append([]string{"z"}, b[i:]...)...)
		default:
			b = append(b[:i], b[i+1:]...)
		}
	}
	return b
}

func TestDiff(t *testing.T) {
	a := renderBase()
	b := mustRender(t, a, Spec{
		Repository: "hello-color",
		Image:      newImage,
		Containers: []string{"worker"},
		Tags:       map[string]string{"ecrdeploy:version": "1.4.0"},
	})
	// Hand-checked against the canonical form: the worker's image is line
	// 26 and the version tag's value line 49.
	want := `--- current
+++ next
@@ -23,7 +23,7 @@
     },
     {
       "essential": true,
-      "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color@sha256:abc",
+      "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.4.0",
       "name": "worker"
     },
     {
@@ -47,7 +47,7 @@
   "tags": [
     {
       "key": "ecrdeploy:version",
-      "value": "1.0.0"
+      "value": "1.4.0"
     },
     {
       "key": "team",
`
	tests := []struct {
		name string
		a, b *ecs.RegisterTaskDefinitionInput
		want string
	}{
		{"identical", a, Clone(a), ""},
		{"image and tags", a, b, want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Diff(tt.a, tt.b, "current", "next")
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Diff(nil, a, "current", "next"); err == nil {
		t.Error("Diff(nil, …) returned no error")
	}
}
