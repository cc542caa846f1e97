package event

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeImageRestored decodes AWS's example of an image restore action
// (testdata/samples, from the Amazon ECR User Guide).
func TestDecodeImageRestored(t *testing.T) {
	raw, err := os.ReadFile("testdata/samples/image-restored.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := ImageRestored{
		ID: "7b8fc5e6-5ef5-8bbe-b157-EXAMPLE", Time: time.Date(2019, 8, 6, 1, 15, 22, 0, time.UTC), Account: "123456789012", Region: "us-east-1",
		Repository: "ubuntu", Digest: "sha256:f98d67af8e53a536502bfc600de3266556b06ed635a32d60aa7a5fe6d7e609d7",
		ActivatedAt: time.Date(2025, 10, 10, 19, 13, 2, 740_000_000, time.UTC),
	}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}

	for name, tt := range map[string]struct{ old, new, field, text string }{
		"an archival":        {`"target-storage-class": "STANDARD"`, `"target-storage-class": "ARCHIVE"`, "detail.target-storage-class", "not a successful restore"},
		"a failed restore":   {`"result": "SUCCESS"`, `"result": "FAILURE"`, "detail.target-storage-class", "not a successful restore"},
		"a bad digest":       {`sha256:f98d67af8e53a536502bfc600de3266556b06ed635a32d60aa7a5fe6d7e609d7`, `sha256:f98d`, "detail.image-digest", "not an image digest"},
		"a bad restore time": {`"2025-10-10T19:13:02.74Z"`, `"yesterday"`, "detail.last-activated-at", "not an ISO 8601 time"},
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := Decode([]byte(strings.Replace(string(raw), tt.old, tt.new, 1)))
			if ev != nil {
				t.Errorf("Decode returned %T beside the error", ev)
			}
			e := asInputError(t, err)
			if e.Field != tt.field || !strings.Contains(e.Problem, tt.text) {
				t.Errorf("error %q at %q, want %q at %q", e.Problem, e.Field, tt.text, tt.field)
			}
		})
	}
}
