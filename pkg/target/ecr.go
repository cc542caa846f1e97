package target

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Errors of the ECR calls, translated from the SDK's.
var (
	ErrImageNotFound      = errors.New("image not found")
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrReplicaMissing is an image not (yet) replicated to the registry an
	// environment pulls from. Replication catches up, and tells when it
	// has (an ECR Replication Action event): a retry of the invocation is
	// not how it is waited for, so it is not retryable.
	ErrReplicaMissing = errors.New("image not replicated to the environment's registry yet")
)

// Image is an image ECR has.
type Image struct {
	Tag string
	// Tags are all the image's tags, where the call says them
	// (AllImages).
	Tags     []string
	Digest   string
	Registry string // the registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com
	PushedAt time.Time
	// ManifestMediaType and ArtifactMediaType say what the image is: a
	// container image, or an artifact (a Helm chart, a signature).
	ManifestMediaType, ArtifactMediaType string
	// Status is ACTIVE, ARCHIVED or ACTIVATING (being restored); "" when
	// ECR does not say (older APIs, moto).
	Status string
}

// image converts what DescribeImages says of one image.
func image(d ecrtypes.ImageDetail, region string) Image {
	img := Image{
		Digest: aws.ToString(d.ImageDigest), Registry: input.RegistryHost(aws.ToString(d.RegistryId), region),
		ManifestMediaType: aws.ToString(d.ImageManifestMediaType), ArtifactMediaType: aws.ToString(d.ArtifactMediaType),
		Status: string(d.ImageStatus), Tags: d.ImageTags,
	}
	if d.ImagePushedAt != nil {
		img.PushedAt = *d.ImagePushedAt
	}
	return img
}

// anyStatus asks DescribeImages for images whatever their status: without
// it, "only images with ACTIVE status are returned" ("DescribeImagesFilter",
// Amazon ECR API Reference), and an archived image would read as missing.
var anyStatus = &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterAny}

// FindImage looks an image up by digest in a registry (registryID "" for
// the client's own), whatever its status (Image.Status says it). It returns
// ErrImageNotFound or ErrRepositoryNotFound (wrapped, naming the digest)
// when it is not there.
func FindImage(ctx context.Context, client ECRAPI, registryID, region, repository, digest string) (Image, error) {
	in := &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
		Filter:         anyStatus,
	}
	if registryID != "" {
		in.RegistryId = aws.String(registryID)
	}
	out, err := client.DescribeImages(ctx, in)
	var inf *ecrtypes.ImageNotFoundException
	var rnf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &inf) || (err == nil && len(out.ImageDetails) == 0):
		return Image{}, fmt.Errorf("image %s@%s: %w in its registry (deleted, perhaps by a lifecycle rule)", repository, digest, ErrImageNotFound)
	case errors.As(err, &rnf):
		return Image{}, fmt.Errorf("image %s@%s: ECR repository %s: %w", repository, digest, repository, ErrRepositoryNotFound)
	case err != nil:
		return Image{}, fmt.Errorf("describe image %s@%s: %w", repository, digest, err)
	}
	return image(out.ImageDetails[0], region), nil
}

// ResolveTag looks a tag up in the ECR of region, whatever the status of
// its image (Image.Status says it). It returns ErrImageNotFound or
// ErrRepositoryNotFound (wrapped) when it is not there.
func ResolveTag(ctx context.Context, client ECRAPI, region, repository, tag string) (Image, error) {
	out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
		Filter:         anyStatus,
	})
	var inf *ecrtypes.ImageNotFoundException
	var rnf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &inf):
		return Image{}, fmt.Errorf("tag %s in ECR repository %s: %w", tag, repository, ErrImageNotFound)
	case errors.As(err, &rnf):
		return Image{}, fmt.Errorf("ECR repository %s: %w", repository, ErrRepositoryNotFound)
	case err != nil:
		return Image{}, fmt.Errorf("describe image %s:%s: %w", repository, tag, err)
	case len(out.ImageDetails) == 0:
		return Image{}, fmt.Errorf("tag %s in ECR repository %s: %w", tag, repository, ErrImageNotFound)
	}
	img := image(out.ImageDetails[0], region)
	img.Tag = tag
	return img, nil
}

// ListPage is how many images one DescribeImages call lists at most
// ("maxResults ... between 1 and 1000", DescribeImages, Amazon ECR API
// Reference).
const ListPage = 1000

// ListImages returns the tagged images of a repository in the ECR of
// region, one per tag: the ACTIVE ones, which are all DescribeImages lists
// without a status filter (an archived image is not a candidate of a
// reconcile).
func ListImages(ctx context.Context, client ECRAPI, region, repository string) ([]Image, error) {
	var out []Image
	err := describeImages(ctx, client, repository, &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusTagged}, func(d ecrtypes.ImageDetail) {
		for _, tag := range d.ImageTags {
			img := image(d, region)
			img.Tag = tag
			out = append(out, img)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// describeImages hands each image of a repository that filter selects to
// each, page by page, a thousand a call (the most DescribeImages answers at
// once: a repository of up to a thousand images costs one call).
func describeImages(ctx context.Context, client ECRAPI, repository string, filter *ecrtypes.DescribeImagesFilter, each func(ecrtypes.ImageDetail)) error {
	pages := ecr.NewDescribeImagesPaginator(client, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repository), Filter: filter, MaxResults: aws.Int32(ListPage),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			var rnf *ecrtypes.RepositoryNotFoundException
			if errors.As(err, &rnf) {
				return fmt.Errorf("ECR repository %s: %w", repository, ErrRepositoryNotFound)
			}
			return fmt.Errorf("list images of %s: %w", repository, err)
		}
		for _, d := range page.ImageDetails {
			each(d)
		}
	}
	return nil
}

// CheckReplica checks that the image of a digest exists in the registry of
// account (a replica an environment pulls from), and can be pulled there.
// registry names it in the error. It returns ErrReplicaMissing (wrapped)
// when it does not exist, and ErrImageArchived (wrapped, with the command
// that restores it) when ECR has archived it there (imageStatus ARCHIVED or
// ACTIVATING): a task could not pull it.
func CheckReplica(ctx context.Context, client ECRAPI, registry, account, repository, digest string) error {
	out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId:     aws.String(account),
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	})
	var inf *ecrtypes.ImageNotFoundException
	var rnf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &inf) || errors.As(err, &rnf) || (err == nil && len(out.ImageDetails) == 0):
		return fmt.Errorf("%s/%s@%s: %w", registry, repository, digest, ErrReplicaMissing)
	case err != nil:
		return fmt.Errorf("check replica in %s: %w", registry, err)
	}
	if st := out.ImageDetails[0].ImageStatus; st == ecrtypes.ImageStatusArchived || st == ecrtypes.ImageStatusActivating {
		return fmt.Errorf("replica in %s: %s@%s: %w (%s); restore it there with: aws ecr update-image-storage-class --registry-id %s --repository-name %s --image-id imageDigest=%s --target-storage-class STANDARD",
			registry, repository, digest, ErrImageArchived, strings.ToLower(string(st)), account, repository, digest)
	}
	return nil
}

// ErrImageArchived is an image ECR archived in a replica registry: a task
// cannot pull it there until it is restored.
var ErrImageArchived = errors.New("image archived")

// Image statuses, as ECR spells them ("ImageDetail", Amazon ECR API
// Reference).
const (
	StatusActive     = string(ecrtypes.ImageStatusActive)
	StatusArchived   = string(ecrtypes.ImageStatusArchived)
	StatusActivating = string(ecrtypes.ImageStatusActivating)
)

// Restore asks ECR to restore an archived image to the standard storage
// class (UpdateImageStorageClass, targetStorageClass STANDARD) in a
// registry (registryID "" for the client's own), and returns the status ECR
// answers: ACTIVATING while it restores ("typically takes up to 20 minutes",
// "Restoring an image", Amazon ECR User Guide). It returns ErrImageNotFound
// or ErrRepositoryNotFound (wrapped, naming the digest) when the image is
// not there.
func Restore(ctx context.Context, client ECRAPI, registryID, repository, digest string) (string, error) {
	in := &ecr.UpdateImageStorageClassInput{
		RepositoryName:     aws.String(repository),
		ImageId:            &ecrtypes.ImageIdentifier{ImageDigest: aws.String(digest)},
		TargetStorageClass: ecrtypes.TargetStorageClassStandard,
	}
	if registryID != "" {
		in.RegistryId = aws.String(registryID)
	}
	out, err := client.UpdateImageStorageClass(ctx, in)
	var inf *ecrtypes.ImageNotFoundException
	var rnf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &inf):
		return "", fmt.Errorf("restore %s@%s: %w in its registry (deleted, perhaps by a lifecycle rule)", repository, digest, ErrImageNotFound)
	case errors.As(err, &rnf):
		return "", fmt.Errorf("restore %s@%s: ECR repository %s: %w", repository, digest, repository, ErrRepositoryNotFound)
	case err != nil:
		return "", fmt.Errorf("restore %s@%s: %w", repository, digest, err)
	}
	return string(out.ImageStatus), nil
}
