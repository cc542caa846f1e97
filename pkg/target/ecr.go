package target

import (
	"context"
	"errors"
	"fmt"
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
	// environment pulls from. Replication catches up, so it is retryable.
	ErrReplicaMissing = errors.New("image not replicated to the environment's registry yet")
)

// Image is an image ECR has.
type Image struct {
	Tag      string
	Digest   string
	Registry string // the registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com
	PushedAt time.Time
}

// ResolveTag looks a tag up in the ECR of region. It returns
// ErrImageNotFound or ErrRepositoryNotFound (wrapped) when it is not there.
func ResolveTag(ctx context.Context, client ECRAPI, region, repository, tag string) (Image, error) {
	out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
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
	img := out.ImageDetails[0]
	return Image{
		Tag:      tag,
		Digest:   aws.ToString(img.ImageDigest),
		Registry: input.RegistryHost(aws.ToString(img.RegistryId), region),
	}, nil
}

// ListImages returns the tagged images of a repository in the ECR of
// region, one per tag.
func ListImages(ctx context.Context, client ECRAPI, region, repository string) ([]Image, error) {
	var out []Image
	pages := ecr.NewDescribeImagesPaginator(client, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repository),
		Filter:         &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusTagged},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			var rnf *ecrtypes.RepositoryNotFoundException
			if errors.As(err, &rnf) {
				return nil, fmt.Errorf("ECR repository %s: %w", repository, ErrRepositoryNotFound)
			}
			return nil, fmt.Errorf("list images of %s: %w", repository, err)
		}
		for _, img := range page.ImageDetails {
			registry := input.RegistryHost(aws.ToString(img.RegistryId), region)
			for _, tag := range img.ImageTags {
				c := Image{Tag: tag, Digest: aws.ToString(img.ImageDigest), Registry: registry}
				if img.ImagePushedAt != nil {
					c.PushedAt = *img.ImagePushedAt
				}
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// CheckReplica checks that the image of a digest exists in the registry of
// account (a replica an environment pulls from). registry names it in the
// error. It returns ErrReplicaMissing (wrapped) when it does not.
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
	return nil
}
