package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// ECRAPI is the part of the ECR API a manual deployment uses; *ecr.Client
// satisfies it.
type ECRAPI interface {
	DescribeImages(ctx context.Context, in *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// Errors of resolving a tag in ECR.
var (
	ErrImageNotFound      = errors.New("image not found")
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrReplicaMissing is an image not (yet) replicated to the registry an
	// environment pulls from. Replication catches up, so it is retryable.
	ErrReplicaMissing = errors.New("image not replicated to the environment's registry yet")
)

// image is a tag resolved in ECR.
type image struct {
	Digest   string
	Registry string
}

// resolve looks a tag up in ECR. It returns ErrImageNotFound or
// ErrRepositoryNotFound (wrapped) when it is not there.
func (d *Deployer) resolve(ctx context.Context, repository, tag string) (image, error) {
	out, err := d.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
	})
	var inf *ecrtypes.ImageNotFoundException
	var rnf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &inf):
		return image{}, fmt.Errorf("tag %s in ECR repository %s: %w", tag, repository, ErrImageNotFound)
	case errors.As(err, &rnf):
		return image{}, fmt.Errorf("ECR repository %s: %w", repository, ErrRepositoryNotFound)
	case err != nil:
		return image{}, fmt.Errorf("describe image %s:%s: %w", repository, tag, err)
	case len(out.ImageDetails) == 0:
		return image{}, fmt.Errorf("tag %s in ECR repository %s: %w", tag, repository, ErrImageNotFound)
	}
	img := out.ImageDetails[0]
	return image{
		Digest:   aws.ToString(img.ImageDigest),
		Registry: event.RegistryHost(aws.ToString(img.RegistryId), d.Region),
	}, nil
}

// checkReplica checks, before anything is registered, that the image exists
// in the registry the environment pulls from (a replica in another region or
// account). It returns ErrReplicaMissing (wrapped) when it does not.
func (d *Deployer) checkReplica(ctx context.Context, req Request, e *envRun) error {
	account, region, _ := config.RegistryAccountRegion(e.env.Registry)
	t := target(req.Repository, e.name, e.env)
	t.Region = region
	client, err := d.Targets.ECR(ctx, t)
	if err != nil {
		return err
	}
	out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId:     aws.String(account),
		RepositoryName: aws.String(req.Repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(req.Digest)}},
	})
	var inf *ecrtypes.ImageNotFoundException
	var rnf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &inf) || errors.As(err, &rnf) || (err == nil && len(out.ImageDetails) == 0):
		return fmt.Errorf("%s/%s@%s: %w", e.env.Registry, req.Repository, req.Digest, ErrReplicaMissing)
	case err != nil:
		return fmt.Errorf("check replica in %s: %w", e.env.Registry, err)
	}
	return nil
}
