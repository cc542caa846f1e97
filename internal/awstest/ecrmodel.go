package awstest

// The ECR model: what moto's ECR lacks, in front of moto. moto never
// archives an image, never reports imageStatus and ignores the filter of
// DescribeImages; it has no UpdateImageStorageClass.
//
// Shapes and behaviour come from AWS's documentation:
//   - "DescribeImagesFilter", Amazon ECR API Reference,
//     https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImagesFilter.html:
//     imageStatus "ACTIVE | ARCHIVED | ACTIVATING | ANY"; "If not
//     specified, only images with ACTIVE status are returned." The model
//     applies the filter to a lookup by imageIds too (the reference does
//     not say it does not): an image the filter leaves out is answered as
//     a missing one, ImageNotFoundException.
//   - "ImageDetail" (API Reference): imageStatus, lastArchivedAt,
//     lastActivatedAt.
//   - "UpdateImageStorageClass" (API Reference,
//     https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UpdateImageStorageClass.html):
//     request {"repositoryName", "imageId", "targetStorageClass":
//     "STANDARD | ARCHIVE", "registryId"}, response {"imageId",
//     "imageStatus", "registryId", "repositoryName"}, imageStatus "the
//     current status of the image after the call".
//   - "Archiving an image" and "Restoring an image", Amazon ECR User Guide,
//     https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive_restore_image.html:
//     "Archived images cannot be pulled"; "While the image cannot be
//     pulled, it can still be described using the describe-images
//     command ... The image status will be shown as ARCHIVED"; a restore
//     "typically takes up to 20 minutes", during which describe-images
//     shows the image ACTIVATING; "When you push an image that is
//     currently archived, that image will immediately be restored".
//
// What AWS does not document, the model decides: restoring an image that
// is ACTIVE or already ACTIVATING answers its status and changes nothing,
// and archiving an ARCHIVED one likewise. How long a restore takes is the
// test's to say ([ECRModel.FinishRestore]).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// Image statuses ECR reports ("ImageDetail", API Reference).
const (
	ImageActive     = "ACTIVE"
	ImageArchived   = "ARCHIVED"
	ImageActivating = "ACTIVATING"
)

// ECRModel answers what moto's ECR lacks: archived and restoring images.
type ECRModel struct {
	proxy *Proxy

	mu       sync.Mutex
	now      func() time.Time
	images   map[imageKey]*imageState // images that are, or were, archived
	pushedAt map[imageKey]time.Time   // push times a test set (SetPushedAt)
	previews map[previewKey]*preview  // lifecycle policy previews started
}

// imageKey names an image: the registry (account and region), the
// repository and the digest.
type imageKey struct{ account, region, repository, digest string }

type imageState struct {
	status                  string
	archivedAt, activatedAt time.Time
}

// NewECRModel puts the ECR model in front of the proxy's ECR.
func NewECRModel(p *Proxy) *ECRModel {
	m := &ECRModel{proxy: p, now: time.Now, images: map[imageKey]*imageState{}}
	p.Intercept("ecr:DescribeImages", m.describeImages)
	p.Intercept("ecr:UpdateImageStorageClass", m.updateImageStorageClass)
	p.Intercept("ecr:PutImage", m.putImage)
	p.Intercept("ecr:StartLifecyclePolicyPreview", m.startLifecyclePolicyPreview)
	p.Intercept("ecr:GetLifecyclePolicyPreview", m.getLifecyclePolicyPreview)
	return m
}

// Archive archives an image of the function's own registry
// (localaws.AccountID, localaws.Region), as a lifecycle rule's transition
// does.
func (m *ECRModel) Archive(repository, digest string) {
	m.ArchiveIn(localaws.AccountID, localaws.Region, repository, digest)
}

// ArchiveIn archives an image of the registry of account in region.
func (m *ECRModel) ArchiveIn(account, region, repository, digest string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.images[imageKey{account, region, repository, digest}] = &imageState{status: ImageArchived, archivedAt: m.now()}
}

// FinishRestore ends the restore of an image of the function's own
// registry: an ACTIVATING image becomes ACTIVE. It reports whether the
// image was being restored.
func (m *ECRModel) FinishRestore(repository, digest string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.images[imageKey{localaws.AccountID, localaws.Region, repository, digest}]
	if s == nil || s.status != ImageActivating {
		return false
	}
	s.status, s.activatedAt = ImageActive, m.now()
	return true
}

// Status returns the status of an image of the function's own registry:
// ACTIVE unless it was archived.
func (m *ECRModel) Status(repository, digest string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statusOf(imageKey{localaws.AccountID, localaws.Region, repository, digest}).status
}

func (m *ECRModel) statusOf(k imageKey) imageState {
	if s := m.images[k]; s != nil {
		return *s
	}
	return imageState{status: ImageActive}
}

// caller returns the account and region a call is made in, from its
// credentials.
func (m *ECRModel) caller(ctx context.Context, in Intercepted) (account, region, key string) {
	return m.proxy.caller(ctx, in.Header.Get("Authorization"))
}

// caller returns the account, region and access key of a call, from its
// Authorization header: the account moto gives the key, or the default
// account for a call without credentials.
func (p *Proxy) caller(ctx context.Context, auth string) (account, region, key string) {
	key, region, _ = credentialScope(auth)
	account = localaws.AccountID
	if key != "" {
		account = p.accounts.of(ctx, p.target, key)
	}
	return account, region, key
}

// describeImages answers moto's images with their status, and leaves out
// those the filter does not select (by default, all but ACTIVE ones).
func (m *ECRModel) describeImages(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
		ImageIDs       []any  `json:"imageIds"`
		Filter         struct {
			ImageStatus string `json:"imageStatus"`
		} `json:"filter"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	want := req.Filter.ImageStatus
	if want == "" {
		want = ImageActive
	}
	// Which registry the call is in matters only once a test archived an
	// image or set a push time: asking moto whose the caller's key is costs
	// a call, which the proxy's timing must not see otherwise.
	m.mu.Lock()
	modelled := len(m.images) > 0 || len(m.pushedAt) > 0
	m.mu.Unlock()
	var account, region string
	if modelled {
		account, region, _ = m.caller(ctx, in)
		if req.RegistryID != "" {
			account = req.RegistryID
		}
	}
	var missing string
	resp, err := rewrite(ctx, in, func(out map[string]any) {
		details, _ := out["imageDetails"].([]any)
		kept := []any{}
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, d := range details {
			img, ok := d.(map[string]any)
			if !ok {
				continue
			}
			s := m.statusOf(imageKey{account, region, req.RepositoryName, str(img["imageDigest"])})
			if want != "ANY" && s.status != want {
				missing = str(img["imageDigest"])
				continue
			}
			img["imageStatus"] = s.status
			if t, ok := m.pushedAt[imageKey{account, region, req.RepositoryName, str(img["imageDigest"])}]; ok {
				setTime(img, "imagePushedAt", t)
			}
			setTime(img, "lastArchivedAt", s.archivedAt)
			setTime(img, "lastActivatedAt", s.activatedAt)
			kept = append(kept, img)
		}
		out["imageDetails"] = kept
	})
	if err == nil && resp.Status == http.StatusOK && len(req.ImageIDs) > 0 && missing != "" {
		// The message is moto's (and ECR's) for an image a lookup does not
		// find.
		return in.Error(http.StatusBadRequest, "ImageNotFoundException", fmt.Sprintf(
			"The image with imageId {imageDigest:'%s', imageTag:'null'} does not exist within the repository with name '%s' in the registry with id '%s'",
			missing, req.RepositoryName, account)), nil
	}
	return resp, err
}

// updateImageStorageClass archives an image (ARCHIVE) or starts its
// restore (STANDARD: ARCHIVED becomes ACTIVATING).
func (m *ECRModel) updateImageStorageClass(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
		ImageID        struct {
			ImageDigest string `json:"imageDigest"`
			ImageTag    string `json:"imageTag"`
		} `json:"imageId"`
		TargetStorageClass string `json:"targetStorageClass"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	id := req.ImageID
	if req.TargetStorageClass != "STANDARD" && req.TargetStorageClass != "ARCHIVE" {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", "Invalid parameter at 'targetStorageClass' failed to satisfy constraint: 'Member must satisfy enum value set: [STANDARD, ARCHIVE]'"), nil
	}
	account, region, key := m.caller(ctx, in)
	if req.RegistryID != "" {
		account = req.RegistryID
	}
	// The image must exist: ask moto, with the caller's credentials.
	lookup := &ecr.DescribeImagesInput{RepositoryName: aws.String(req.RepositoryName), ImageIds: []ecrtypes.ImageIdentifier{{}}}
	if id.ImageDigest != "" {
		lookup.ImageIds[0].ImageDigest = aws.String(id.ImageDigest)
	} else {
		lookup.ImageIds[0].ImageTag = aws.String(id.ImageTag)
	}
	if req.RegistryID != "" {
		lookup.RegistryId = aws.String(req.RegistryID)
	}
	out, err := m.motoECR(region, key).DescribeImages(context.WithoutCancel(ctx), lookup)
	switch {
	case err != nil:
		return apiError(in, err)
	case len(out.ImageDetails) == 0:
		return in.Error(http.StatusBadRequest, "ImageNotFoundException", "The image requested does not exist in the specified repository."), nil // made up: ECR's text is not documented
	}
	digest := aws.ToString(out.ImageDetails[0].ImageDigest)

	m.mu.Lock()
	k := imageKey{account, region, req.RepositoryName, digest}
	s := m.images[k]
	if s == nil {
		s = &imageState{status: ImageActive}
		m.images[k] = s
	}
	switch {
	case req.TargetStorageClass == "ARCHIVE" && s.status == ImageActive:
		s.status, s.archivedAt = ImageArchived, m.now()
	case req.TargetStorageClass == "STANDARD" && s.status == ImageArchived:
		s.status = ImageActivating
	}
	status := s.status
	m.mu.Unlock()
	return in.JSON(map[string]any{
		"imageId":        map[string]string{"imageDigest": digest},
		"imageStatus":    status,
		"registryId":     account,
		"repositoryName": req.RepositoryName,
	})
}

// putImage restores an archived image pushed again: "When you push an image
// that is currently archived, that image will immediately be restored".
func (m *ECRModel) putImage(ctx context.Context, in Intercepted) (*Response, error) {
	resp, err := in.Forward(ctx)
	if err != nil || resp.Status != http.StatusOK {
		return resp, err
	}
	var out struct {
		Image struct {
			RegistryID     string `json:"registryId"`
			RepositoryName string `json:"repositoryName"`
			ImageID        struct {
				ImageDigest string `json:"imageDigest"`
			} `json:"imageId"`
		} `json:"image"`
	}
	if json.Unmarshal(resp.Body, &out) != nil {
		return resp, nil
	}
	_, region, _ := m.caller(ctx, in)
	m.mu.Lock()
	defer m.mu.Unlock()
	k := imageKey{out.Image.RegistryID, region, out.Image.RepositoryName, out.Image.ImageID.ImageDigest}
	if s := m.images[k]; s != nil && s.status != ImageActive {
		s.status, s.activatedAt = ImageActive, m.now()
	}
	return resp, nil
}
