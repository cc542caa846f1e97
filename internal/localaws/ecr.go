package localaws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
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
func (c *Client) CreateRepository(ctx context.Context, name string) (string, error) {
	out, err := c.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create repository %s: %w", name, err)
	}
	return aws.ToString(out.Repository.RepositoryUri), nil
}

// PutImage tags manifest as repository:tag in moto (no tag when tag is "")
// and returns its digest, the SHA-256 of manifest. The digest is computed
// here and passed to moto, because moto's own is the hash of the layer
// digests, not of the manifest, and collides.
func (c *Client) PutImage(ctx context.Context, repository, tag string, manifest []byte) (string, error) {
	return c.PutImageDigest(ctx, repository, tag, manifest, Digest(manifest))
}

// PutImageDigest is PutImage with the digest given: moto stores the image
// under it, as ECR would store an image whose manifest has that digest. It
// is for replaying a recorded ECR event, whose digest must match the image
// in the repository; it returns an error if moto stored another digest.
func (c *Client) PutImageDigest(ctx context.Context, repository, tag string, manifest []byte, digest string) (string, error) {
	var head struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(manifest, &head); err != nil {
		return "", fmt.Errorf("put image %s:%s: manifest: %w", repository, tag, err)
	}
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
	out, err := c.ecr.PutImage(ctx, in)
	var exists *ecrtypes.ImageAlreadyExistsException
	if errors.As(err, &exists) && tag != "" {
		// ECR's answer when this manifest already carries this tag: "The
		// specified image has already been pushed, and there were no
		// changes to the manifest or image tag after the last push" (ECR
		// API Reference, PutImage). The SDK's retry of a PutImage that
		// moto stored but answered late or with an error lands here: the
		// image is there as asked.
		return digest, nil
	}
	if err != nil {
		return "", fmt.Errorf("put image %s:%s: %w", repository, tag, err)
	}
	if got := aws.ToString(out.Image.ImageId.ImageDigest); got != digest {
		return "", fmt.Errorf("put image %s:%s: moto stored digest %s, want %s", repository, tag, got, digest)
	}
	return digest, nil
}
