package awstest

// The lifecycle policy preview: moto stores a repository's lifecycle policy
// text (PutLifecyclePolicy, GetLifecyclePolicy) but has no preview, so the
// ECR model answers StartLifecyclePolicyPreview and
// GetLifecyclePolicyPreview by evaluating the policy's rules itself over
// the repository's images.
//
// The rules and their evaluation come from AWS's documentation:
//   - "Lifecycle policy properties in Amazon ECR", Amazon ECR User Guide,
//     https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html:
//     rulePriority, description, selection (tagStatus tagged | untagged |
//     any; tagPatternList, wildcards *; tagPrefixList; storageClass standard
//     | archive, standard when left out; countType imageCountMoreThan,
//     sinceImagePushed, sinceImagePulled, sinceImageTransitioned;
//     countUnit days; countNumber), action (type expire | transition,
//     targetStorageClass archive).
//   - "Lifecycle policy evaluation rules", in "Automate the cleanup of
//     images by using lifecycle policies in Amazon ECR", Amazon ECR User
//     Guide,
//     https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html:
//     "All rules are evaluated at the same time, regardless of rule
//     priority. After all rules are evaluated, they are then applied based
//     on rule priority."; "An image is expired or archived by exactly one or
//     zero rules."; "An image that matches the tagging requirements of a
//     rule cannot be expired or archived by a rule with a lower priority.";
//     "Rules can never mark images that are marked by higher priority rules,
//     but can still identify them as if they haven't been expired or
//     archived."; "an image is successfully matched if all of the tags in
//     the tagPatternList or tagPrefixList value are matched against any of
//     the image's tags"; "With countType = imageCountMoreThan, images are
//     sorted from youngest to oldest based on pushed_at_time and then all
//     images greater than the specified count are expired or archived";
//     sinceImagePushed: "all images whose pushed_at_time is older than the
//     specified number of days"; sinceImagePulled uses
//     last_recorded_pulltime, or pushed_at_time for an image never pulled
//     (moto records no pulls: the model uses pushed_at_time);
//     sinceImageTransitioned: "all archived images whose last_archived_at is
//     older"; an image restored once counts from its last_activated_at.
//   - "StartLifecyclePolicyPreview" and "GetLifecyclePolicyPreview", Amazon
//     ECR API Reference: a preview of the given text, or of the
//     repository's policy when none is given (LifecyclePolicyNotFoundException
//     when it has none); status IN_PROGRESS | COMPLETE | EXPIRED | FAILED;
//     previewResults {imageDigest, imageTags, imagePushedAt, action {type
//     EXPIRE | TRANSITION, targetStorageClass}, appliedRulePriority,
//     storageClass}; summary {expiringImageTotalCount,
//     transitioningImageTotalCounts}; LifecyclePolicyPreviewNotFoundException
//     without a preview. The member names are those of
//     aws-sdk-go-v2/service/ecr v1.67.6's schemas.
//
// The model's own choices: a preview answers IN_PROGRESS to the first Get
// after it starts (so that a caller's polling is exercised) and COMPLETE
// after; the results list only the images a rule acts on, in one page; an
// ACTIVATING image counts as standard storage. The messages of the two
// NotFound errors are made up.

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// preview is a lifecycle policy preview the model has started.
type preview struct {
	policy  string
	results []map[string]any
	summary map[string]any
	polls   int // Gets answered so far
}

// lifecycleRule is one rule of a lifecycle policy, as the model reads it.
type lifecycleRule struct {
	RulePriority int    `json:"rulePriority"`
	Description  string `json:"description"`
	Selection    struct {
		TagStatus      string   `json:"tagStatus"`
		TagPrefixList  []string `json:"tagPrefixList"`
		TagPatternList []string `json:"tagPatternList"`
		StorageClass   string   `json:"storageClass"`
		CountType      string   `json:"countType"`
		CountUnit      string   `json:"countUnit"`
		CountNumber    int      `json:"countNumber"`
	} `json:"selection"`
	Action struct {
		Type               string `json:"type"`
		TargetStorageClass string `json:"targetStorageClass"`
	} `json:"action"`
}

// lifecycleImage is an image as the evaluator sees it.
type lifecycleImage struct {
	digest                            string
	tags                              []string
	pushedAt, archivedAt, activatedAt time.Time
	archived                          bool
}

// SetPushedAt makes DescribeImages, and the lifecycle preview, say that an
// image of the function's own registry was pushed at t (moto says when it
// was put), so that age-based rules can be tested.
func (m *ECRModel) SetPushedAt(repository, digest string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pushedAt == nil {
		m.pushedAt = map[imageKey]time.Time{}
	}
	m.pushedAt[imageKey{localaws.AccountID, localaws.Region, repository, digest}] = t
}

// SetNow sets the model's clock: when images are archived and restored, and
// the "now" of age-based lifecycle rules.
func (m *ECRModel) SetNow(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = now
}

// previewKey is the repository a preview is of.
type previewKey struct{ account, region, repository string }

func (m *ECRModel) startLifecyclePolicyPreview(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		RegistryID          string `json:"registryId"`
		RepositoryName      string `json:"repositoryName"`
		LifecyclePolicyText string `json:"lifecyclePolicyText"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	account, region, key := m.caller(ctx, in)
	if req.RegistryID != "" {
		account = req.RegistryID
	}
	client := m.motoECR(region, key)
	text := req.LifecyclePolicyText
	if text == "" {
		out, err := client.GetLifecyclePolicy(context.WithoutCancel(ctx), &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(req.RepositoryName)})
		if err != nil {
			return apiError(in, err)
		}
		text = aws.ToString(out.LifecyclePolicyText)
	}
	var policy struct {
		Rules []lifecycleRule `json:"rules"`
	}
	if err := json.Unmarshal([]byte(text), &policy); err != nil {
		return in.Error(http.StatusBadRequest, "InvalidParameterException", "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure'"), nil
	}
	images, err := m.lifecycleImages(ctx, client, account, region, req.RepositoryName)
	if err != nil {
		return apiError(in, err)
	}
	m.mu.Lock()
	results, summary := evaluateLifecycle(policy.Rules, images, m.now())
	if m.previews == nil {
		m.previews = map[previewKey]*preview{}
	}
	m.previews[previewKey{account, region, req.RepositoryName}] = &preview{policy: text, results: results, summary: summary}
	m.mu.Unlock()
	return in.JSON(map[string]any{
		"registryId": account, "repositoryName": req.RepositoryName, "lifecyclePolicyText": text, "status": "IN_PROGRESS",
	})
}

func (m *ECRModel) getLifecyclePolicyPreview(ctx context.Context, in Intercepted) (*Response, error) {
	var req struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
	}
	_ = json.Unmarshal(in.Call.Request, &req)
	account, region, _ := m.caller(ctx, in)
	if req.RegistryID != "" {
		account = req.RegistryID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.previews[previewKey{account, region, req.RepositoryName}]
	if p == nil {
		return in.Error(http.StatusBadRequest, "LifecyclePolicyPreviewNotFoundException", "There is no dry run for this repository."), nil // made up
	}
	p.polls++
	out := map[string]any{"registryId": account, "repositoryName": req.RepositoryName, "lifecyclePolicyText": p.policy, "status": "IN_PROGRESS"}
	if p.polls > 1 {
		out["status"], out["previewResults"], out["summary"] = "COMPLETE", p.results, p.summary
	}
	return in.JSON(out)
}

// motoECR is an ECR client that reaches moto directly with the caller's
// credentials, in region.
func (m *ECRModel) motoECR(region, key string) *ecr.Client {
	cfg := localaws.Config(m.proxy.target)
	if region != "" {
		cfg.Region = region
	}
	if key != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(key, "awstest", "")
	}
	return ecr.NewFromConfig(cfg)
}

// lifecycleImages returns every image of a repository, as moto has them and
// the model's statuses and push times say.
func (m *ECRModel) lifecycleImages(ctx context.Context, client *ecr.Client, account, region, repository string) ([]lifecycleImage, error) {
	var images []lifecycleImage
	pages := ecr.NewDescribeImagesPaginator(client, &ecr.DescribeImagesInput{RepositoryName: aws.String(repository)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		for _, d := range page.ImageDetails {
			k := imageKey{account, region, repository, aws.ToString(d.ImageDigest)}
			s := m.statusOf(k)
			img := lifecycleImage{digest: k.digest, tags: d.ImageTags, archived: s.status == ImageArchived,
				archivedAt: s.archivedAt, activatedAt: s.activatedAt}
			if d.ImagePushedAt != nil {
				img.pushedAt = *d.ImagePushedAt
			}
			if t, ok := m.pushedAt[k]; ok {
				img.pushedAt = t
			}
			images = append(images, img)
		}
		m.mu.Unlock()
	}
	return images, nil
}

// evaluateLifecycle applies a policy's rules to the images, as ECR's
// evaluator does (see the top of this file), and returns the preview's
// results (the images a rule acts on) and summary.
func evaluateLifecycle(rules []lifecycleRule, images []lifecycleImage, now time.Time) ([]map[string]any, map[string]any) {
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b lifecycleRule) int { return a.RulePriority - b.RulePriority })
	// Every rule's selection, evaluated at the same time over all images.
	selected := make([]map[string]bool, len(rules))
	for i, r := range rules {
		var matching []lifecycleImage
		for _, img := range images {
			if r.matches(img) {
				matching = append(matching, img)
			}
		}
		selected[i] = r.selects(matching, now)
	}
	results := []map[string]any{}
	expiring, transitioning := 0, 0
	for _, img := range images {
		for i, r := range rules {
			if !r.matches(img) {
				continue
			}
			// The first rule whose tagging requirements the image meets
			// decides it, whether or not it selects it.
			if selected[i][img.digest] {
				action := map[string]any{"type": strings.ToUpper(r.Action.Type)}
				if strings.EqualFold(r.Action.Type, "transition") {
					action["targetStorageClass"] = "ARCHIVE"
					transitioning++
				} else {
					expiring++
				}
				class := "STANDARD"
				if img.archived {
					class = "ARCHIVE"
				}
				results = append(results, map[string]any{
					"imageDigest": img.digest, "imageTags": orEmptyStrings(img.tags), "imagePushedAt": epoch(img.pushedAt),
					"action": action, "appliedRulePriority": r.RulePriority, "storageClass": class,
				})
			}
			break
		}
	}
	summary := map[string]any{"expiringImageTotalCount": expiring}
	if transitioning > 0 {
		summary["transitioningImageTotalCounts"] = []map[string]any{{"targetStorageClass": "ARCHIVE", "imageTotalCount": transitioning}}
	}
	return results, summary
}

// matches reports whether an image meets a rule's tagging requirements and
// is of its storage class.
func (r lifecycleRule) matches(img lifecycleImage) bool {
	archiveRule := strings.EqualFold(r.Selection.StorageClass, "archive")
	if archiveRule != img.archived {
		return false
	}
	switch strings.ToLower(r.Selection.TagStatus) {
	case "untagged":
		return len(img.tags) == 0
	case "any":
		return true
	case "tagged":
		if len(img.tags) == 0 {
			return false
		}
		for _, prefix := range r.Selection.TagPrefixList {
			if !slices.ContainsFunc(img.tags, func(t string) bool { return strings.HasPrefix(t, prefix) }) {
				return false
			}
		}
		for _, pattern := range r.Selection.TagPatternList {
			re := wildcard(pattern)
			if !slices.ContainsFunc(img.tags, re.MatchString) {
				return false
			}
		}
		return len(r.Selection.TagPrefixList)+len(r.Selection.TagPatternList) > 0
	}
	return false
}

// selects returns the images, of those matching the rule, that its count
// selects.
func (r lifecycleRule) selects(matching []lifecycleImage, now time.Time) map[string]bool {
	out := map[string]bool{}
	days := time.Duration(r.Selection.CountNumber) * 24 * time.Hour
	pushed := func(img lifecycleImage) time.Time {
		if !img.activatedAt.IsZero() {
			return img.activatedAt // restored: counted from then
		}
		return img.pushedAt
	}
	switch r.Selection.CountType {
	case "imageCountMoreThan":
		sorted := slices.Clone(matching)
		slices.SortStableFunc(sorted, func(a, b lifecycleImage) int { return b.pushedAt.Compare(a.pushedAt) })
		for i, img := range sorted {
			if i >= r.Selection.CountNumber {
				out[img.digest] = true
			}
		}
	case "sinceImagePushed", "sinceImagePulled":
		for _, img := range matching {
			if pushed(img).Before(now.Add(-days)) {
				out[img.digest] = true
			}
		}
	case "sinceImageTransitioned":
		for _, img := range matching {
			if img.archived && img.archivedAt.Before(now.Add(-days)) {
				out[img.digest] = true
			}
		}
	}
	return out
}

// wildcard compiles a tag pattern, where * matches any run of characters.
func wildcard(pattern string) *regexp.Regexp {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$")
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
