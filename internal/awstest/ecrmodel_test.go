package awstest_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// TestECRModelArchiveAndRestore reads archived and restoring images
// through the SDK, as the deployer does: hidden unless asked for, ARCHIVED,
// then ACTIVATING once a restore is asked for, ACTIVE once the test ends
// it; an archived image pushed again is ACTIVE at once.
func TestECRModelArchiveAndRestore(t *testing.T) {
	env := awstest.New(t)
	ctx := t.Context()
	awstest.Must(env.Local.CreateRepository(ctx, "web"))(t)
	digest := awstest.Must(env.Local.PutImage(ctx, "web", "1.0.0", localaws.ImageManifest("web 1.0.0")))(t)
	client := env.ECR()

	listed := func() []string {
		t.Helper()
		out, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		var statuses []string
		for _, d := range out.ImageDetails {
			statuses = append(statuses, string(d.ImageStatus))
		}
		return statuses
	}
	if got := listed(); len(got) != 1 || got[0] != awstest.ImageActive {
		t.Fatalf("before archiving: %v, want one ACTIVE image", got)
	}

	env.ECRModel.Archive("web", digest)
	if got := listed(); len(got) != 0 {
		t.Errorf("archived image listed without a filter: %v; ECR lists only ACTIVE images", got)
	}
	_, err := client.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web"),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}}})
	var inf *ecrtypes.ImageNotFoundException
	if !errors.As(err, &inf) {
		t.Errorf("lookup of an archived image without a filter: %v, want ImageNotFoundException", err)
	}
	img, err := target.FindImage(ctx, client, "", localaws.Region, "web", digest)
	if err != nil || img.Status != target.StatusArchived {
		t.Fatalf("FindImage of an archived image: %+v, %v; want ARCHIVED", img, err)
	}

	status, err := target.Restore(ctx, client, "", "web", digest)
	if err != nil || status != target.StatusActivating {
		t.Fatalf("Restore: %q, %v; want ACTIVATING", status, err)
	}
	if img, _ := target.FindImage(ctx, client, "", localaws.Region, "web", digest); img.Status != target.StatusActivating {
		t.Errorf("while restoring: %q, want ACTIVATING", img.Status)
	}
	if status, _ := target.Restore(ctx, client, "", "web", digest); status != target.StatusActivating {
		t.Errorf("restoring again while ACTIVATING: %q, want ACTIVATING, unchanged", status)
	}
	if !env.ECRModel.FinishRestore("web", digest) {
		t.Fatal("FinishRestore: the image was not being restored")
	}
	if got := listed(); len(got) != 1 || got[0] != awstest.ImageActive {
		t.Errorf("after the restore: %v, want one ACTIVE image", got)
	}

	if _, err := target.Restore(ctx, client, "", "web", "sha256:0000000000000000000000000000000000000000000000000000000000000000"); !errors.Is(err, target.ErrImageNotFound) {
		t.Errorf("restore of a missing image: %v, want ErrImageNotFound", err)
	}

	// Pushed again while archived: restored at once.
	env.ECRModel.Archive("web", digest)
	if _, err := client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("web"), ImageTag: aws.String("again"),
		ImageManifest: aws.String(string(localaws.ImageManifest("web 1.0.0"))), ImageDigest: aws.String(digest)}); err != nil {
		t.Fatal(err)
	}
	if got := env.ECRModel.Status("web", digest); got != awstest.ImageActive {
		t.Errorf("pushed again while archived: %s, want ACTIVE", got)
	}
}
