package input

import "strings"

// Manifest media types of runnable container images: a single image
// (Docker image manifest v2 schema 2, OCI image manifest) or a
// multi-architecture index (Docker manifest list, OCI image index).
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIManifest        = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex           = "application/vnd.oci.image.index.v1+json"
)

// Artifact (config) media types of runnable container images.
const (
	MediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"
	MediaTypeOCIConfig    = "application/vnd.oci.image.config.v1+json"
)

// RunnableImage reports whether an image in ECR is a container image ECS can
// run, from the media types ECR reports for it: manifest-media-type and
// artifact-media-type in a push event, imageManifestMediaType and
// artifactMediaType in DescribeImages' image details.
//
// The manifest must be a Docker v2 or OCI image manifest, or a Docker
// manifest list or OCI image index (multi-architecture), and the artifact
// media type (the manifest's config media type, or its OCI artifactType)
// that of an image configuration. Anything else is an artifact stored
// beside images: a Helm chart (application/vnd.cncf.helm.config.v1+json), a
// cosign or Notation signature, an SBOM, an in-toto attestation, an OCI
// artifact with an empty config (application/vnd.oci.empty.v1+json), a
// Docker v2 schema 1 manifest (which current container runtimes no longer
// pull). An empty media type means ECR did not say (older events and
// images, and indexes, which have no config): it is taken for an image.
//
// Media types are compared as RFC 6838 has them: case-insensitively, and
// without parameters ("; charset=utf-8").
func RunnableImage(manifestMediaType, artifactMediaType string) bool {
	switch mediaType(manifestMediaType) {
	case "", MediaTypeDockerManifest, MediaTypeDockerManifestList, MediaTypeOCIManifest, MediaTypeOCIIndex:
	default:
		return false
	}
	switch mediaType(artifactMediaType) {
	case "", MediaTypeDockerConfig, MediaTypeOCIConfig:
		return true
	}
	return false
}

// mediaType is a media type without its parameters, in lower case.
func mediaType(s string) string {
	s, _, _ = strings.Cut(s, ";")
	return strings.ToLower(strings.TrimSpace(s))
}
