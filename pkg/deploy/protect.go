package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// KeepTagPrefix starts the image tags ecrdeploy owns: a repository whose
// document sets protect has each digest its environments run or may roll
// back to tagged KeepTagPrefix + the digest's hex. A lifecycle rule that
// keeps images tagged with this prefix (KeepRule) spares them, and every
// rule after it too: "An image that matches the tagging requirements of a
// rule cannot be expired or archived by a rule with a lower priority"
// ("Lifecycle policy evaluation rules", Amazon ECR User Guide).
const KeepTagPrefix = "ecrdeploy-keep-"

// KeepTag is the tag that protects a digest: ecrdeploy-keep-<hex>, 79
// characters, within the 128 an image tag may have.
func KeepTag(digest string) string {
	return KeepTagPrefix + strings.TrimPrefix(digest, "sha256:")
}

// KeepRule is the lifecycle rule to add, first (priority 1), to a protected
// repository's lifecycle policy: it matches every image tagged with
// KeepTagPrefix and keeps up to 10000 of them, far more than a repository's
// environments run and may roll back to, so it never expires one, and no
// later rule may expire or archive them.
const KeepRule = `{
  "rulePriority": 1,
  "description": "ecrdeploy: keep the images environments run or may roll back to",
  "selection": {
    "tagStatus": "tagged",
    "tagPrefixList": ["` + KeepTagPrefix + `"],
    "countType": "imageCountMoreThan",
    "countNumber": 10000
  },
  "action": { "type": "expire" }
}`

// ProtectResult is what protecting a repository's digests did.
type ProtectResult struct {
	// Tagged are the digests that got their keep tag; Untagged the keep
	// tags removed from digests no longer needed.
	Tagged   []string `json:"tagged,omitempty"`
	Untagged []string `json:"untagged,omitempty"`
	// Kept are keep tags left on digests no longer needed because the tag
	// is the image's last one: ECR deletes an image whose last tag is
	// removed, and ecrdeploy deletes no image.
	Kept []string `json:"kept,omitempty"`
	// Missing are needed digests ECR does not have, and Archived needed
	// digests ECR archived: neither is tagged (tagging an archived image
	// would restore it).
	Missing  []string `json:"missing,omitempty"`
	Archived []string `json:"archived,omitempty"`
}

// protectPlan is what protecting a repository's digests does: the digests
// to tag, the keep tags to remove, and what it leaves and why.
type protectPlan struct {
	tag, untag, kept, missing, archived []string
}

// planProtect decides, from the digests needed (running or rollback
// targets) and the repository's tagged images (with all their tags and
// their status), which digests get a keep tag and which keep tags go. A
// keep tag is removed only from an image that has another tag.
func planProtect(needed map[string]bool, images []target.Image) protectPlan {
	var p protectPlan
	have := map[string]target.Image{}
	for _, img := range images {
		have[img.Digest] = img
		for _, tag := range img.Tags {
			if !strings.HasPrefix(tag, KeepTagPrefix) || needed[img.Digest] && tag == KeepTag(img.Digest) {
				continue
			}
			if len(img.Tags) == 1 {
				p.kept = append(p.kept, tag)
				continue
			}
			p.untag = append(p.untag, tag)
		}
	}
	for digest := range needed {
		img, ok := have[digest]
		switch {
		case !ok:
			p.missing = append(p.missing, digest)
		case slices.Contains(img.Tags, KeepTag(digest)):
		case img.Status == target.StatusArchived || img.Status == target.StatusActivating:
			p.archived = append(p.archived, digest)
		default:
			p.tag = append(p.tag, digest)
		}
	}
	for _, s := range []*[]string{&p.tag, &p.untag, &p.kept, &p.missing, &p.archived} {
		slices.Sort(*s)
	}
	return p
}

// protect keeps a repository's keep tags (KeepTag) on exactly the digests
// its environments run or may roll back to, in the function's own
// registry, when the document sets protect; without it, it does nothing.
// recs are the records of every environment of the repository, as just
// written. It is called after a record is written: the digests it names
// are tagged, and those no record names any more are untagged. It returns
// an error when ECR cannot be read or written; what it did is in the
// result.
func (d *Deployer) protect(ctx context.Context, repository string, doc *config.Document, recs map[string]state.Record) (ProtectResult, error) {
	var res ProtectResult
	if !doc.Protect {
		return res, nil
	}
	images, err := target.AllImages(ctx, d.ECR, d.Region, repository)
	if err != nil {
		return res, err
	}
	needed := neededDigests(recs)
	p := planProtect(needed, images)
	if len(p.untag) > 0 {
		// Another invocation may have written a record since recs were
		// read, and tagged its digest before the images were listed: the
		// records read again now name it, and its tag stays.
		again, err := d.State.GetMany(ctx, repository, doc.Names())
		if err != nil {
			return res, err
		}
		maps.Copy(needed, neededDigests(again))
		p = planProtect(needed, images)
	}
	res.Kept, res.Missing, res.Archived = p.kept, p.missing, p.archived
	var errs []error
	for _, digest := range p.tag {
		if err := target.TagImage(ctx, d.ECR, repository, digest, KeepTag(digest)); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Tagged = append(res.Tagged, digest)
	}
	for _, tag := range p.untag {
		if err := target.UntagImage(ctx, d.ECR, repository, tag); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Untagged = append(res.Untagged, tag)
	}
	if len(res.Tagged)+len(res.Untagged)+len(res.Kept)+len(res.Missing)+len(res.Archived) > 0 {
		d.log().InfoContext(ctx, "protected digests", "repository", repository, "tagged", res.Tagged, "untagged", res.Untagged,
			"kept", res.Kept, "missing", res.Missing, "archived", res.Archived)
	}
	return res, errors.Join(errs...)
}

// Protect reads a repository's configuration and the records of all its
// environments and protects their digests (see protect); it refuses a
// repository whose document does not set protect. It returns an error when
// the configuration or the records cannot be read, or ECR cannot be read
// or written.
func (d *Deployer) Protect(ctx context.Context, repository string) (ProtectResult, error) {
	doc, err := d.manualConfig(ctx, repository)
	if err != nil {
		return ProtectResult{}, err
	}
	if !doc.Protect {
		return ProtectResult{}, fmt.Errorf("repository %s: its document does not set protect: ecrdeploy tags nothing", repository)
	}
	recs, err := d.State.GetMany(ctx, repository, doc.Names())
	if err != nil {
		// An unreadable record would leave its digests untagged, or untag
		// them: nothing is changed without all of them.
		return ProtectResult{}, err
	}
	return d.protect(ctx, repository, doc, recs)
}
