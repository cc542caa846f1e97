package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// The roles a digest has in an environment, for the lifecycle check.
const (
	// RoleRunning is the digest the environment's record says runs.
	RoleRunning = "running"
	// RoleRollbackTarget is a known-good digest a rollback may go back to.
	RoleRollbackTarget = "rollback-target"
)

// previewPoll is how often a lifecycle policy preview is polled at most.
const previewPoll = 2 * time.Second

// LifecycleReport is what a repository's lifecycle policy would do to the
// digests its environments run or may roll back to, as ECR's preview of
// the policy says.
type LifecycleReport struct {
	Repository string `json:"repository"`
	// Policy reports whether the repository has a lifecycle policy; without
	// one, nothing expires or archives its images.
	Policy bool `json:"policy"`
	// Protect is the document's protect: the digests are tagged to be
	// spared by a keep rule.
	Protect bool `json:"protect,omitempty"`
	// Digests are every running and rollback-target digest, per
	// environment in name order, running first.
	Digests []LifecycleDigest `json:"digests"`
	// Errors are the environments whose records could not be read.
	Errors map[string]string `json:"errors,omitempty"`
}

// LifecycleDigest is one digest an environment runs or may roll back to,
// and what the lifecycle policy would do to it.
type LifecycleDigest struct {
	Environment string `json:"environment"`
	Role        string `json:"role"`
	Version     string `json:"version,omitempty"`
	Digest      string `json:"digest"`
	// Action is what a rule would do to it (expire or archive); "" when no
	// rule would.
	Action target.LifecycleAction `json:"action,omitempty"`
	// RulePriority and RuleDescription name the rule that would.
	RulePriority    int32  `json:"rulePriority,omitempty"`
	RuleDescription string `json:"ruleDescription,omitempty"`
	// Registry says the environment pulls from a replica registry, whose
	// own lifecycle policy this check does not read.
	Registry string `json:"registry,omitempty"`
}

// AtRisk returns the digests a rule would expire or archive.
func (r LifecycleReport) AtRisk() []LifecycleDigest {
	var out []LifecycleDigest
	for _, d := range r.Digests {
		if d.Action != "" {
			out = append(out, d)
		}
	}
	return out
}

// Lifecycle checks a repository's lifecycle policy against the digests its
// environments run and may roll back to (their state records' digest and
// known-good digests): it reads the policy and ECR's preview of it, in the
// function's own registry, and says which of them a rule would expire or
// archive, and which rule. It changes nothing. It returns an error when the
// configuration, the policy or the preview cannot be read.
func (d *Deployer) Lifecycle(ctx context.Context, repository string) (LifecycleReport, error) {
	rep := LifecycleReport{Repository: repository}
	doc, err := d.manualConfig(ctx, repository)
	if err != nil {
		return rep, err
	}
	rep.Protect = doc.Protect
	names := doc.Names()
	recs, err := d.State.GetMany(ctx, repository, names)
	var unreadable *state.Unreadable
	if err != nil && !errors.As(err, &unreadable) {
		return rep, err
	}
	for _, name := range names {
		if bad := unreadable.Of(name); bad != nil {
			if rep.Errors == nil {
				rep.Errors = map[string]string{}
			}
			rep.Errors[name] = bad.Error()
		}
	}
	text, err := target.LifecyclePolicy(ctx, d.ECR, repository)
	var preview []target.PreviewResult
	switch {
	case errors.Is(err, target.ErrNoLifecyclePolicy):
	case err != nil:
		return rep, err
	default:
		rep.Policy = true
		// A preview takes seconds: it is polled more often than a rollout.
		if preview, err = target.PreviewLifecycle(ctx, d.ECR, repository, min(d.pollInterval(), previewPoll)); err != nil {
			return rep, err
		}
	}
	registries := map[string]string{}
	for _, name := range names {
		registries[name] = doc.Environments[name].Registry
	}
	rep.Digests = lifecycleDigests(names, recs, registries, preview, ruleDescriptions(text))
	return rep, nil
}

// lifecycleDigests says, for each environment in names order, what the
// preview would do to the digest its record says runs and to its
// known-good digests (each once, running first). registries are the
// environments' replica registries, noted beside their digests.
func lifecycleDigests(names []string, recs map[string]state.Record, registries map[string]string, preview []target.PreviewResult, rules map[int32]string) []LifecycleDigest {
	byDigest := make(map[string]target.PreviewResult, len(preview))
	for _, p := range preview {
		byDigest[p.Digest] = p
	}
	out := []LifecycleDigest{}
	for _, name := range names {
		rec, ok := recs[name]
		if !ok {
			continue
		}
		seen := map[string]bool{}
		add := func(role, version, digest string) {
			if digest == "" || seen[digest] {
				return
			}
			seen[digest] = true
			ld := LifecycleDigest{Environment: name, Role: role, Version: version, Digest: digest, Registry: registries[name]}
			if p, ok := byDigest[digest]; ok {
				ld.Action, ld.RulePriority, ld.RuleDescription = p.Action, p.RulePriority, rules[p.RulePriority]
			}
			out = append(out, ld)
		}
		add(RoleRunning, rec.Version, rec.Digest)
		for _, g := range rec.Good {
			add(RoleRollbackTarget, g.Version, g.Digest)
		}
	}
	return out
}

// ruleDescriptions reads the description of each rule of a lifecycle
// policy's text ("Lifecycle policy properties in Amazon ECR", Amazon ECR
// User Guide: rulePriority, description), by priority. A text that does not
// read gives none: the preview's priorities still say which rule.
func ruleDescriptions(text string) map[int32]string {
	var policy struct {
		Rules []struct {
			RulePriority int32  `json:"rulePriority"`
			Description  string `json:"description"`
		} `json:"rules"`
	}
	out := map[int32]string{}
	if json.Unmarshal([]byte(text), &policy) != nil {
		return out
	}
	for _, r := range policy.Rules {
		out[r.RulePriority] = r.Description
	}
	return out
}

// neededDigests returns the digests the environments' records say run or
// may be rolled back to: what protect keeps.
func neededDigests(recs map[string]state.Record) map[string]bool {
	out := map[string]bool{}
	for _, rec := range recs {
		if rec.Digest != "" {
			out[rec.Digest] = true
		}
		for _, g := range rec.Good {
			if g.Digest != "" {
				out[g.Digest] = true
			}
		}
	}
	return out
}

// Risk says in words what a rule would do to the digest: "production
// running 1.4.0@sha256:…: rule 2 (keep 10 images) would expire it".
func (ld LifecycleDigest) Risk() string {
	rule := fmt.Sprintf("rule %d", ld.RulePriority)
	if ld.RuleDescription != "" {
		rule += fmt.Sprintf(" (%s)", ld.RuleDescription)
	}
	what := "expire"
	if ld.Action == target.Archive {
		what = "archive"
	}
	return fmt.Sprintf("%s %s %s@%s: %s would %s it", ld.Environment, ld.Role, ld.Version, ld.Digest, rule, what)
}
