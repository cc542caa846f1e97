package event

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeReplication decodes AWS's examples of ECR Replication Action
// events (testdata/samples, from the Amazon ECR User Guide).
func TestDecodeReplication(t *testing.T) {
	for file, want := range map[string]Replication{
		"replication-success.json": {
			ID: "c8b133b1-6029-ee73-e2a1-4f466b8ba999", Time: time.Date(2024, 5, 8, 20, 44, 54, 0, time.UTC), Account: "123456789012", Region: "us-east-1",
			Repository: "docker-hub/alpine", Digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12340000", Tag: "3.17.2",
			SourceAccount: "123456789012", SourceRegion: "us-west-2", Result: "SUCCESS",
		},
		"replication-failed.json": {
			ID: "d9c244c2-7130-ff84-f3b2-5g577c9cb000", Time: time.Date(2024, 5, 8, 20, 45, 12, 0, time.UTC), Account: "123456789012", Region: "us-east-1",
			Repository: "my-app", Digest: "sha256:8f6c3751af7ac5a47603aea4511d5a80ead5a90f5893543f1489bde234500000", Tag: "latest",
			SourceAccount: "123456789012", SourceRegion: "us-west-2", Result: "FAILED",
		},
	} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/samples/" + file)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ev); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
			r := ev.(Replication)
			if r.Registry() != "123456789012.dkr.ecr.us-east-1.amazonaws.com" || r.Succeeded() != (want.Result == "SUCCESS") {
				t.Errorf("Registry() = %s, Succeeded() = %v", r.Registry(), r.Succeeded())
			}
		})
	}

	raw, err := os.ReadFile("testdata/samples/replication-success.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct{ old, new, field, text string }{
		"not a replication": {`"action-type": "REPLICATE"`, `"action-type": "PUSH"`, "detail.action-type", "not a replication"},
		"unknown result":    {`"result": "SUCCESS"`, `"result": "MAYBE"`, "detail.result", "unknown replication result"},
		"bad digest":        {`sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd12340000`, `sha256:7f5b`, "detail.image-digest", "not an image digest"},
		"bad source region": {`"source-region": "us-west-2"`, `"source-region": "mars"`, "detail.source-region", "not an AWS region"},
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
