package target

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// ErrNoLifecyclePolicy is a repository without a lifecycle policy: nothing
// expires or archives its images.
var ErrNoLifecyclePolicy = errors.New("no lifecycle policy")

// LifecycleAction is what a lifecycle rule does to an image, spelled as
// ecrdeploy says it: ECR's EXPIRE and TRANSITION (to ARCHIVE) enter here.
type LifecycleAction string

// The lifecycle actions.
const (
	Expire  LifecycleAction = "expire"
	Archive LifecycleAction = "archive"
)

// PreviewResult is what ECR's preview of a lifecycle policy says the policy
// would do to one image.
type PreviewResult struct {
	Digest       string
	Tags         []string
	PushedAt     time.Time
	Action       LifecycleAction
	RulePriority int32
}

// LifecyclePolicy returns the text of a repository's lifecycle policy. It
// returns ErrNoLifecyclePolicy or ErrRepositoryNotFound (wrapped) when there
// is none.
func LifecyclePolicy(ctx context.Context, client ECRAPI, repository string) (string, error) {
	out, err := client.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repository)})
	var lnf *ecrtypes.LifecyclePolicyNotFoundException
	var rnf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &lnf):
		return "", fmt.Errorf("ECR repository %s: %w", repository, ErrNoLifecyclePolicy)
	case errors.As(err, &rnf):
		return "", fmt.Errorf("ECR repository %s: %w", repository, ErrRepositoryNotFound)
	case err != nil:
		return "", fmt.Errorf("read the lifecycle policy of %s: %w", repository, err)
	}
	return aws.ToString(out.LifecyclePolicyText), nil
}

// PreviewLifecycle asks ECR for a preview of a repository's lifecycle
// policy (StartLifecyclePolicyPreview) and reads its results once it is
// COMPLETE (GetLifecyclePolicyPreview, every interval, page by page): the
// images the policy would expire or archive, and by which rule. It returns
// an error when the preview FAILED or EXPIRED, or ctx ends first.
func PreviewLifecycle(ctx context.Context, client ECRAPI, repository string, interval time.Duration) ([]PreviewResult, error) {
	_, err := client.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: aws.String(repository)})
	var inProgress *ecrtypes.LifecyclePolicyPreviewInProgressException
	var lnf *ecrtypes.LifecyclePolicyNotFoundException
	switch {
	case errors.As(err, &lnf):
		return nil, fmt.Errorf("ECR repository %s: %w", repository, ErrNoLifecyclePolicy)
	case err != nil && !errors.As(err, &inProgress): // one already running is read as it is
		return nil, fmt.Errorf("start a lifecycle policy preview of %s: %w", repository, err)
	}
	var results []PreviewResult
	var token *string
	for {
		out, err := client.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String(repository), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("read the lifecycle policy preview of %s: %w", repository, err)
		}
		switch out.Status {
		case ecrtypes.LifecyclePolicyPreviewStatusInProgress:
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("lifecycle policy preview of %s: %w", repository, ctx.Err())
			case <-time.After(interval):
			}
			continue
		case ecrtypes.LifecyclePolicyPreviewStatusComplete:
		default:
			return nil, fmt.Errorf("lifecycle policy preview of %s: %s", repository, out.Status)
		}
		for _, r := range out.PreviewResults {
			results = append(results, previewResult(r))
		}
		if out.NextToken == nil {
			return results, nil
		}
		token = out.NextToken
	}
}

// previewResult converts what the preview says of one image.
func previewResult(r ecrtypes.LifecyclePolicyPreviewResult) PreviewResult {
	p := PreviewResult{Digest: aws.ToString(r.ImageDigest), Tags: r.ImageTags, RulePriority: aws.ToInt32(r.AppliedRulePriority), Action: Expire}
	if r.ImagePushedAt != nil {
		p.PushedAt = *r.ImagePushedAt
	}
	if r.Action != nil && r.Action.Type == ecrtypes.ImageActionTypeTransition {
		p.Action = Archive
	}
	return p
}

// AllImages returns every tagged image of a repository, whatever its
// status, one per digest, with all its tags (Image.Tags).
func AllImages(ctx context.Context, client ECRAPI, region, repository string) ([]Image, error) {
	var out []Image
	err := describeImages(ctx, client, repository, &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusTagged, ImageStatus: ecrtypes.ImageStatusFilterAny},
		func(d ecrtypes.ImageDetail) { out = append(out, image(d, region)) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// manifestTypes are the manifests BatchGetImage may answer with: ECR
// answers a manifest in a type the caller accepts.
var manifestTypes = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
}

// TagImage adds a tag to the image of a digest: it reads the image's
// manifest (BatchGetImage) and puts it again under the tag (PutImage), as
// ECR tags an existing image ("Retagging an image", Amazon ECR User Guide).
// An image that already has the tag is left alone. It returns
// ErrImageNotFound (wrapped) when the digest is not there.
func TagImage(ctx context.Context, client ECRAPI, repository, digest, tag string) error {
	got, err := client.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RepositoryName: aws.String(repository), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
		AcceptedMediaTypes: manifestTypes,
	})
	if err != nil {
		return fmt.Errorf("read the manifest of %s@%s: %w", repository, digest, err)
	}
	if len(got.Images) == 0 {
		return fmt.Errorf("tag %s@%s: %w", repository, digest, ErrImageNotFound)
	}
	img := got.Images[0]
	_, err = client.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: aws.String(repository), ImageTag: aws.String(tag), ImageDigest: aws.String(digest),
		ImageManifest: img.ImageManifest, ImageManifestMediaType: img.ImageManifestMediaType,
	})
	var exists *ecrtypes.ImageAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("tag %s@%s %s: %w", repository, digest, tag, err)
	}
	return nil
}

// UntagImage removes one tag from an image (BatchDeleteImage of the tag).
// ECR deletes an image whose last tag is removed ("When you remove the last
// tag from an image, the image is deleted from your repository",
// "BatchDeleteImage", Amazon ECR API Reference): callers remove only a tag
// beside others.
func UntagImage(ctx context.Context, client ECRAPI, repository, tag string) error {
	out, err := client.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{
		RepositoryName: aws.String(repository), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
	})
	if err != nil {
		return fmt.Errorf("untag %s:%s: %w", repository, tag, err)
	}
	for _, f := range out.Failures {
		if f.FailureCode != ecrtypes.ImageFailureCodeImageTagDoesNotMatchDigest && f.FailureCode != ecrtypes.ImageFailureCodeImageNotFound {
			return fmt.Errorf("untag %s:%s: %s: %s", repository, tag, f.FailureCode, aws.ToString(f.FailureReason))
		}
	}
	return nil
}
