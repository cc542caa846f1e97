package awstest

import (
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// RegistryHost returns the host of moto's ECR registry,
// 123456789012.dkr.ecr.us-east-1.amazonaws.com.
func RegistryHost() string { return localaws.RegistryHost() }

// ImageURI returns the image reference of repository at ref in moto's
// registry: repo:tag, or repo@digest when ref is a sha256 digest.
func ImageURI(repository, ref string) string { return localaws.ImageURI(repository, ref) }

// Digest returns the OCI digest of b, "sha256:" and the hex SHA-256.
func Digest(b []byte) string { return localaws.Digest(b) }

// ImageManifest returns a Docker image manifest (schema 2) with one layer,
// whose config and layer digests derive from seed, so that different seeds
// give different manifests and digests.
func ImageManifest(seed string) []byte { return localaws.ImageManifest(seed) }

// CreateRepository creates an ECR repository in moto and returns its URI.
func (e *Env) CreateRepository(t testing.TB, name string) string {
	t.Helper()
	uri, err := e.local.CreateRepository(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

// PutImage tags manifest as repository:tag in moto and returns its digest.
// The digest is computed here and passed to moto, because moto's own is
// the hash of the layer digests, not of the manifest, and collides.
func (e *Env) PutImage(t testing.TB, repository, tag string, manifest []byte) string {
	t.Helper()
	digest, err := e.local.PutImage(t.Context(), repository, tag, manifest)
	if err != nil {
		t.Fatal(err)
	}
	return digest
}
