package awstest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// RegistryHost returns the host of moto's ECR registry,
// 123456789012.dkr.ecr.us-east-1.amazonaws.com.
func RegistryHost() string {
	return AccountID + ".dkr.ecr." + Region + ".amazonaws.com"
}

// ImageURI returns the image reference of repository at ref in moto's
// registry: repo:tag, or repo@digest when ref is a sha256 digest.
func ImageURI(repository, ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return RegistryHost() + "/" + repository + "@" + ref
	}
	return RegistryHost() + "/" + repository + ":" + ref
}

// Digest returns the OCI digest of b, "sha256:" and the hex SHA-256.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ImageManifest returns a Docker image manifest (schema 2) with one layer,
// whose config and layer digests derive from seed, so that different seeds
// give different manifests and digests.
func ImageManifest(seed string) []byte {
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Size      int    `json:"size"`
		Digest    string `json:"digest"`
	}
	m := struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{
		SchemaVersion: 2,
		MediaType:     "application/vnd.docker.distribution.manifest.v2+json",
		Config: descriptor{
			MediaType: "application/vnd.docker.container.image.v1+json",
			Size:      1234,
			Digest:    Digest([]byte("config:" + seed)),
		},
		Layers: []descriptor{{
			MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
			Size:      4321,
			Digest:    Digest([]byte("layer:" + seed)),
		}},
	}
	b, err := json.MarshalIndent(m, "", "   ")
	if err != nil {
		panic(err) // cannot happen: plain strings and ints
	}
	return b
}

// CreateRepository creates an ECR repository in moto and returns its URI.
func (e *Env) CreateRepository(t testing.TB, name string) string {
	t.Helper()
	out, err := e.direct.ecr.CreateRepository(t.Context(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil {
		t.Fatalf("create repository %s: %v", name, err)
	}
	return aws.ToString(out.Repository.RepositoryUri)
}

// PutImage tags manifest as repository:tag in moto and returns its digest.
// The digest is computed here and passed to moto, because moto's own is
// the hash of the layer digests, not of the manifest, and collides.
func (e *Env) PutImage(t testing.TB, repository, tag string, manifest []byte) string {
	t.Helper()
	var head struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(manifest, &head); err != nil {
		t.Fatalf("put image %s:%s: manifest: %v", repository, tag, err)
	}
	digest := Digest(manifest)
	in := &ecr.PutImageInput{
		RepositoryName: aws.String(repository),
		ImageManifest:  aws.String(string(manifest)),
		ImageDigest:    aws.String(digest),
	}
	if tag != "" {
		in.ImageTag = aws.String(tag)
	}
	if head.MediaType != "" {
		in.ImageManifestMediaType = aws.String(head.MediaType)
	}
	out, err := e.direct.ecr.PutImage(t.Context(), in)
	if err != nil {
		t.Fatalf("put image %s:%s: %v", repository, tag, err)
	}
	if got := aws.ToString(out.Image.ImageId.ImageDigest); got != digest {
		t.Fatalf("put image %s:%s: moto stored digest %s, want %s", repository, tag, got, digest)
	}
	return digest
}
