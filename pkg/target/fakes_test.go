package target

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// fakeECS answers the ECS calls a test sets; the others are not expected.
type fakeECS struct {
	ECSAPI                     // nil: a call the test does not set panics
	ListServiceDeploymentsFn   func(*ecs.ListServiceDeploymentsInput) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceRevisionsFn func(*ecs.DescribeServiceRevisionsInput) (*ecs.DescribeServiceRevisionsOutput, error)
}

var _ ECSAPI = (*fakeECS)(nil)

func (f *fakeECS) ListServiceDeployments(_ context.Context, in *ecs.ListServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	return f.ListServiceDeploymentsFn(in)
}

func (f *fakeECS) DescribeServiceRevisions(_ context.Context, in *ecs.DescribeServiceRevisionsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error) {
	return f.DescribeServiceRevisionsFn(in)
}

// fakeECR answers DescribeImages as the test sets.
type fakeECR struct {
	DescribeImagesFn func(*ecr.DescribeImagesInput) (*ecr.DescribeImagesOutput, error)
}

var _ ECRAPI = (*fakeECR)(nil)

func (f *fakeECR) DescribeImages(_ context.Context, in *ecr.DescribeImagesInput, _ ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	return f.DescribeImagesFn(in)
}

// The other ECR operations are not the tests' concern: a call is a test bug.
func (f *fakeECR) UpdateImageStorageClass(context.Context, *ecr.UpdateImageStorageClassInput, ...func(*ecr.Options)) (*ecr.UpdateImageStorageClassOutput, error) {
	panic("fakeECR: UpdateImageStorageClass")
}

func (f *fakeECR) GetLifecyclePolicy(context.Context, *ecr.GetLifecyclePolicyInput, ...func(*ecr.Options)) (*ecr.GetLifecyclePolicyOutput, error) {
	panic("fakeECR: GetLifecyclePolicy")
}

func (f *fakeECR) StartLifecyclePolicyPreview(context.Context, *ecr.StartLifecyclePolicyPreviewInput, ...func(*ecr.Options)) (*ecr.StartLifecyclePolicyPreviewOutput, error) {
	panic("fakeECR: StartLifecyclePolicyPreview")
}

func (f *fakeECR) GetLifecyclePolicyPreview(context.Context, *ecr.GetLifecyclePolicyPreviewInput, ...func(*ecr.Options)) (*ecr.GetLifecyclePolicyPreviewOutput, error) {
	panic("fakeECR: GetLifecyclePolicyPreview")
}

func (f *fakeECR) BatchGetImage(context.Context, *ecr.BatchGetImageInput, ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error) {
	panic("fakeECR: BatchGetImage")
}

func (f *fakeECR) PutImage(context.Context, *ecr.PutImageInput, ...func(*ecr.Options)) (*ecr.PutImageOutput, error) {
	panic("fakeECR: PutImage")
}

func (f *fakeECR) BatchDeleteImage(context.Context, *ecr.BatchDeleteImageInput, ...func(*ecr.Options)) (*ecr.BatchDeleteImageOutput, error) {
	panic("fakeECR: BatchDeleteImage")
}
