package taskdef

import (
	"strings"
)

// ImageRef is a container image reference split into its parts.
type ImageRef struct {
	// Registry is the registry host, with its port if it has one
	// ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "localhost:5000"), or
	// "" when the reference names none (Docker Hub).
	Registry string
	// Repository is the path after the registry host ("hello-color",
	// "team/web", "library/nginx").
	Repository string
	// Tag is the tag without its ':' ("1.0.0"), or "".
	Tag string
	// Digest is the digest without its '@' ("sha256:…"), or "".
	Digest string
}

// ParseImage splits an image reference such as
// "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:1.4.0@sha256:…" into
// its parts. The first path component is taken as the registry host, as
// Docker does, only when it contains '.' or ':' or is "localhost"; so the ':'
// of a registry port is never mistaken for a tag. ParseImage does not
// validate the reference and returns no error.
func ParseImage(image string) ImageRef {
	var ref ImageRef
	name := image
	if at := strings.IndexByte(name, '@'); at >= 0 {
		name, ref.Digest = name[:at], name[at+1:]
	}
	if slash := strings.IndexByte(name, '/'); slash >= 0 {
		host := name[:slash]
		if strings.ContainsAny(host, ".:") || host == "localhost" {
			ref.Registry, name = host, name[slash+1:]
		}
	}
	// With the host removed, a ':' can only start the tag.
	if colon := strings.LastIndexByte(name, ':'); colon >= 0 {
		name, ref.Tag = name[:colon], name[colon+1:]
	}
	ref.Repository = name
	return ref
}

// String reassembles the reference: registry/repository:tag@digest, leaving
// out the parts that are empty.
func (r ImageRef) String() string {
	var b strings.Builder
	if r.Registry != "" {
		b.WriteString(r.Registry)
		b.WriteByte('/')
	}
	b.WriteString(r.Repository)
	if r.Tag != "" {
		b.WriteByte(':')
		b.WriteString(r.Tag)
	}
	if r.Digest != "" {
		b.WriteByte('@')
		b.WriteString(r.Digest)
	}
	return b.String()
}

// InRepository reports whether the image is from the named repository,
// whatever its registry, tag or digest: the same ECR repository is reached
// through replica registries in other regions and accounts. On Docker Hub
// (no registry, or docker.io) "nginx" and "library/nginx" are the same
// repository, so either name matches either form.
func (r ImageRef) InRepository(repository string) bool {
	if repository == "" {
		return false
	}
	if r.Repository == repository {
		return true
	}
	switch r.Registry {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return strings.TrimPrefix(r.Repository, "library/") == strings.TrimPrefix(repository, "library/")
	}
	return false
}

// ImageFor returns the image reference to put in a task definition:
// "registry/repository@digest" when byDigest is set, otherwise
// "registry/repository:tag". An empty registry gives a reference without a
// host. ImageFor does not validate its arguments (the caller has the tag and
// digest from ECR) and returns no error.
func ImageFor(registry, repository, tag, digest string, byDigest bool) string {
	ref := repository
	if registry != "" {
		ref = strings.TrimSuffix(registry, "/") + "/" + repository
	}
	if byDigest {
		return ref + "@" + digest
	}
	return ref + ":" + tag
}
