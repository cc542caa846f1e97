package target

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// The history says when each deployment ended (finishedAt), beside when it
// was created.
func TestServiceDeploymentsSayWhenTheyEnded(t *testing.T) {
	created, finished := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 10, 7, 0, 0, time.UTC)
	const rev = "arn:aws:ecs:us-east-1:123456789012:service-revision/apps/web/1"
	client := &fakeECS{
		ListServiceDeploymentsFn: func(*ecs.ListServiceDeploymentsInput) (*ecs.ListServiceDeploymentsOutput, error) {
			return &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeploymentBrief{{
				ServiceDeploymentArn: aws.String("sd1"), Status: ecstypes.ServiceDeploymentStatusRollbackSuccessful,
				CreatedAt: aws.Time(created), FinishedAt: aws.Time(finished), TargetServiceRevisionArn: aws.String(rev),
			}}}, nil
		},
		DescribeServiceRevisionsFn: func(*ecs.DescribeServiceRevisionsInput) (*ecs.DescribeServiceRevisionsOutput, error) {
			return &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []ecstypes.ServiceRevision{{ServiceRevisionArn: aws.String(rev), TaskDefinition: aws.String("web:2")}}}, nil
		},
	}
	got, err := ServiceDeployments(t.Context(), client, "apps", "web", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []ServiceDeployment{{ARN: "sd1", Status: "ROLLBACK_SUCCESSFUL", TaskDefinition: "web:2", CreatedAt: created, FinishedAt: finished}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ServiceDeployments (-want +got):\n%s", diff)
	}
}

// An image ECR archived in the replica registry cannot be pulled there:
// the replica check fails, naming the command that restores it.
func TestCheckReplicaRefusesAnArchivedImage(t *testing.T) {
	const digest = "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"
	for _, status := range []ecrtypes.ImageStatus{ecrtypes.ImageStatusActive, ecrtypes.ImageStatusArchived, ecrtypes.ImageStatusActivating, ""} {
		client := &fakeECR{DescribeImagesFn: func(in *ecr.DescribeImagesInput) (*ecr.DescribeImagesOutput, error) {
			return &ecr.DescribeImagesOutput{ImageDetails: []ecrtypes.ImageDetail{{
				RegistryId: in.RegistryId, RepositoryName: in.RepositoryName, ImageDigest: aws.String(digest), ImageStatus: status,
			}}}, nil
		}}
		err := CheckReplica(t.Context(), client, "111111111111.dkr.ecr.eu-west-1.amazonaws.com", "111111111111", "hello-color", digest)
		pullable := status == ecrtypes.ImageStatusActive || status == ""
		switch {
		case pullable && err != nil:
			t.Errorf("%q: %v, want the replica found", status, err)
		case !pullable && (!errors.Is(err, ErrImageArchived) || errors.Is(err, ErrReplicaMissing) || Retryable(err) ||
			!strings.Contains(err.Error(), "update-image-storage-class") || !strings.Contains(err.Error(), "eu-west-1")):
			t.Errorf("%q: %v, want ErrImageArchived naming the replica registry and the restore command, not retryable", status, err)
		}
	}
}
