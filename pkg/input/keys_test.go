package input

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckKeys(t *testing.T) {
	tests := []struct {
		name, data             string
		wantField, wantProblem string
	}{
		{"none", `{"a": 1, "b": {"c": [1, {"d": 2}]}}`, "", ""},
		{"not an object", `[1, 2]`, "", ""},
		{"invalid JSON", `{"a": 1, "b"`, "", ""},
		{"duplicate at the top", `{"detail": {}, "detail": {}}`, "detail", "given more than once"},
		{"case variant at the top", `{"detail": {}, "Detail": {}}`, "Detail", `the same key as detail in another case: give it once, spelled one way`},
		{"duplicate nested", `{"detail": {"image-tag": "1", "image-tag": "2"}}`, "detail.image-tag", "given more than once"},
		{"case variant nested", `{"detail": {"image-tag": "1", "Image-Tag": "2"}}`, "detail.Image-Tag", "the same key as image-tag in another case"},
		{"in a list", `{"resources": [{"a": 1}, {"a": 1, "A": 2}]}`, "resources[1].A", "the same key as a in another case"},
		{"fold beyond ASCII", `{"k": 1, "\u212a": 2}`, "[\"\u212a\"]", "the same key as k in another case"},
		{"same value twice", `{"a": 1, "a": 1}`, "a", "given more than once"},
		{"distinct keys alike", `{"ab": 1, "a_b": 2, "a-b": 3}`, "", ""},
		{"long key", `{"` + strings.Repeat("k", 200) + `": 1, "` + strings.Repeat("K", 200) + `": 2}`, `["` + strings.Repeat("K", 80) + `"… (200 bytes)]`, "the same key as"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := CheckKeys("", []byte(tt.data))
			var field, problem string
			if e != nil {
				field, problem = e.Field, e.Problem
			}
			if !strings.HasPrefix(problem, tt.wantProblem) || (tt.wantProblem == "") != (problem == "") {
				t.Errorf("CheckKeys(%.60s) problem = %q, want %q", tt.data, problem, tt.wantProblem)
			}
			if diff := cmp.Diff(tt.wantField, field); diff != "" {
				t.Errorf("CheckKeys(%.60s) field mismatch (-want +got):\n%s", tt.data, diff)
			}
		})
	}
	if e := CheckKeys("taskDefinition", []byte(`{"family": "a", "Family": "b"}`)); e == nil || e.Field != "taskDefinition.Family" {
		t.Errorf("CheckKeys below a path = %v, want taskDefinition.Family", e)
	}
}

func TestKeySetCaseSensitive(t *testing.T) {
	var keys KeySet
	for _, k := range []string{"http_proxy", "HTTP_PROXY"} {
		if p := keys.Add(k, true); p != "" {
			t.Errorf("Add(%q, case-sensitive) = %q, want no problem", k, p)
		}
	}
	if p := keys.Add("HTTP_PROXY", true); p != "given more than once" {
		t.Errorf("Add of a duplicate = %q", p)
	}
}

func TestRunnableImage(t *testing.T) {
	tests := []struct {
		name               string
		manifest, artifact string
		want               bool
	}{
		{"no media types (older events)", "", "", true},
		{"Docker image", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.container.image.v1+json", true},
		{"Docker manifest list", "application/vnd.docker.distribution.manifest.list.v2+json", "", true},
		{"OCI image", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.config.v1+json", true},
		{"OCI index", "application/vnd.oci.image.index.v1+json", "", true},
		{"manifest only", "application/vnd.oci.image.manifest.v1+json", "", true},
		{"artifact only", "", "application/vnd.docker.container.image.v1+json", true},
		{"media type in upper case, with a parameter", "Application/VND.OCI.Image.Manifest.v1+JSON; charset=utf-8", "", true},
		{"Helm chart", "application/vnd.oci.image.manifest.v1+json", "application/vnd.cncf.helm.config.v1+json", false},
		{"Helm chart, artifact only", "", "application/vnd.cncf.helm.config.v1+json", false},
		{"cosign signature (OCI 1.1)", "application/vnd.oci.image.manifest.v1+json", "application/vnd.dev.cosign.artifact.sig.v1+json", false},
		{"cosign simple signing", "application/vnd.oci.image.manifest.v1+json", "application/vnd.dev.cosign.simplesigning.v1+json", false},
		{"Notation signature", "application/vnd.oci.image.manifest.v1+json", "application/vnd.cncf.notary.signature", false},
		{"SPDX SBOM", "application/vnd.oci.image.manifest.v1+json", "application/spdx+json", false},
		{"CycloneDX SBOM", "application/vnd.oci.image.manifest.v1+json", "application/vnd.cyclonedx+json", false},
		{"in-toto attestation", "application/vnd.oci.image.manifest.v1+json", "application/vnd.in-toto+json", false},
		{"OCI artifact with an empty config", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.empty.v1+json", false},
		{"OCI artifact manifest", "application/vnd.oci.artifact.manifest.v1+json", "", false},
		{"Singularity image", "application/vnd.oci.image.manifest.v1+json", "application/vnd.sylabs.sif.config.v1+json", false},
		{"WebAssembly module", "application/vnd.oci.image.manifest.v1+json", "application/vnd.wasm.config.v0+json", false},
		{"Docker schema 1", "application/vnd.docker.distribution.manifest.v1+prettyjws", "", false},
		{"something else", "text/plain", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RunnableImage(tt.manifest, tt.artifact); got != tt.want {
				t.Errorf("RunnableImage(%q, %q) = %v, want %v", tt.manifest, tt.artifact, got, tt.want)
			}
		})
	}
}
