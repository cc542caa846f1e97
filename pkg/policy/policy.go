// Package policy decides whether an image tag is a version that an environment
// accepts: is it a semantic version, is it a pre-release, and does it satisfy the
// environment's range. It is pure: no I/O, no clock.
package policy

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Reason says why an environment turns a tag away. Accepted is the empty
// string. Every skip reason a result can carry is declared here, once, so a
// Reason goes into a result, a log line and a result event as it is.
type Reason string

// The reasons Evaluate and Accepts return.
const (
	// Accepted means the version satisfies the policy.
	Accepted Reason = ""
	// NotSemver means the tag is not a strict semantic version (after removing
	// one optional leading "v", or after extracting the tag pattern's group).
	NotSemver Reason = "not-semver"
	// Prerelease means the version is a pre-release and the policy does not
	// take pre-releases.
	Prerelease Reason = "prerelease"
	// OutsideRange means the version does not satisfy the policy's range.
	OutsideRange Reason = "outside-range"
)

// The reasons the deployer decides from the push, the environment's trigger
// and its state rather than from the tag alone.
const (
	// NotAnImage is a push of something that is not a runnable container
	// image (a Helm chart, a signature, an SBOM).
	NotAnImage Reason = "not-an-image"
	// NoTag is a push by digest only.
	NoTag Reason = "no-tag"
	// OlderThanCurrent is a version below the one the environment runs.
	OlderThanCurrent Reason = "older-than-current"
	// Retagged is the running version's tag pushed again with a new digest.
	Retagged Reason = "retagged"
	// Held is a version held in the environment (it was rolled back).
	Held Reason = "held"
	// ManualEnvironment is an environment that deploys only on request.
	ManualEnvironment Reason = "manual-environment"
	// NoConfig is a repository without a configuration document.
	NoConfig Reason = "no-config"
	// UnsupportedController is a service whose deployments an external
	// controller runs (EXTERNAL): neither UpdateService nor a CodeDeploy
	// deployment can change its task definition.
	UnsupportedController Reason = "unsupported-controller"
	// ForeignRegistry is a push from a registry the environment does not
	// pull from: another account's or region's.
	ForeignRegistry Reason = "foreign-registry"
	// Superseded is a delivery whose version another, higher one replaced
	// before it took effect: that one is deployed instead.
	Superseded Reason = "superseded"
	// RolloutUnknown is the version whose last deployment in the
	// environment ECS no longer lists, when how it ended cannot be read
	// yet (the service-deployments history is unavailable) and what runs
	// proves nothing: it may have been rolled back, so it is not deployed
	// there again until ECS says.
	RolloutUnknown Reason = "rollout-unknown"
	// Frozen is an environment held by a change calendar that is CLOSED:
	// automatic deploys wait for it to open, manual ones need force.
	Frozen Reason = "frozen"
	// AwaitingReplica is an environment pulling from a replica registry
	// that does not have the image yet: replication (or the next
	// reconcile) deploys it.
	AwaitingReplica Reason = "awaiting-replica"
	// Restoring is an image ECR archived, being restored for the request:
	// the request is carried out once ECR reports it ACTIVE.
	Restoring Reason = "restoring"
	// Queued is a push whose registration waits for a slot of the
	// account's pace that is far off: the delivery is handed to the
	// deployer's queue and comes back, to be decided again, when it is due.
	Queued Reason = "queued"
)

// versionGroup is the name of the capture group of a tag pattern that holds the
// version.
const versionGroup = "version"

// Policy is a compiled version policy: a range, whether pre-releases may satisfy
// it, and an optional pattern that extracts the version from a tag. A Policy is
// immutable and safe for concurrent use.
type Policy struct {
	versions    string
	constraints *semver.Constraints
	prereleases bool
	tagPattern  string
	pattern     *regexp.Regexp // tagPattern anchored at both ends; nil without one
}

// New compiles a policy.
//
// versions is a Masterminds semver/v3 range ("^1.2", "~1.2.3", ">=1.0.0 <2.0.0",
// "*"); empty means "*". prereleases says whether pre-release versions may
// satisfy the range; when they may, they are ordered by semantic-version
// precedence, so ">=1.0.0 <2.0.0" takes 2.0.0-rc.1 (it sorts before 2.0.0) while
// the caret and tilde forms stay within their major or minor line ("^1.0.0"
// takes 1.3.0-rc.1 but not 2.0.0-rc.1). When they may not, every pre-release is
// refused, even one that a range naming a pre-release would match.
//
// tagPattern, when not empty, is a Go regular expression (RE2 syntax) with a
// named group "version". It must match the whole tag: it is applied as
// ^(?:tagPattern)$, so "release-(?P<version>.+)" takes "release-1.4.2" but not
// "prerelease-1.4.2" or "release-1.4.2-debug"; anchors written in the pattern are
// harmless. Anchoring by default is deliberate: a pattern that matched part of a
// tag would deploy tags its author never meant. If several groups are named
// "version" (in alternatives), the first that matched non-empty text is used.
//
// New returns an *input.Error for each invalid argument (joined with
// errors.Join when both are invalid): Field "versions" for a range that does
// not parse or that can match no version (">=1.0.0 <0.5"; see emptyRange),
// Field "tagPattern" for a pattern that does not compile or has no
// group "version". Field is the name of the argument, which is also the name
// of the configuration field it comes from, so that a caller can report the
// full path; the message is "{field}: {problem}".
func New(versions string, prereleases bool, tagPattern string) (*Policy, error) {
	p := &Policy{versions: versions, prereleases: prereleases, tagPattern: tagPattern}
	var errs []error

	rng := strings.TrimSpace(versions)
	if rng == "" {
		rng = "*"
	}
	c, err := semver.NewConstraint(rng)
	if err != nil {
		errs = append(errs, &input.Error{Field: "versions", Problem: fmt.Sprintf("invalid range %q: %v", versions, err), Err: err})
	} else if problem := emptyRange(c, prereleases); problem != "" {
		errs = append(errs, &input.Error{Field: "versions", Problem: problem})
	} else {
		c.IncludePrerelease = prereleases
		p.constraints = c
	}

	if tagPattern != "" {
		p.pattern, err = compilePattern(tagPattern)
		if err != nil {
			errs = append(errs, &input.Error{Field: "tagPattern", Problem: err.Error(), Err: err})
		}
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// versionLiteral matches the versions a range names: "1", "1.2", "v1.2.3",
// "1.x", "1.2.3-rc.1" (build metadata, which ordering ignores, is left out).
var versionLiteral = regexp.MustCompile(`v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(-[0-9A-Za-z.-]+)?`)

// emptyRange says why a range can match no version, or returns "" when it
// can match one.
//
// A Masterminds range is a union of intersections of intervals whose bounds
// are the versions it names, or those with the patch, minor or major number
// raised (1.2.3 as the bound of ">1.2", "~1.2.3" ends below 1.3.0, "^1.2.3"
// below 2.0.0). When an intersection is not empty, its lowest release
// version is one of those bounds or the next patch of one (the next but one,
// when a "!=" excludes the next), or 0.0.0 or 0.0.1 when nothing bounds it
// from below; with pre-releases, the lowest is the first pre-release (-0) of
// one of them. So the range is checked against exactly these candidates,
// derived from every version it names: it matches a version if and only if
// it matches a candidate (up to chains of "!=" longer than one).
//
// A range naming a version too large to derive neighbours from (above
// 2^62) is trusted. A range that only pre-releases match is reported as such when prereleases
// is false: Accepts refuses every pre-release then, so nothing would deploy.
func emptyRange(c *semver.Constraints, prereleases bool) string {
	candidates := []*semver.Version{semver.New(0, 0, 0, "", ""), semver.New(0, 0, 1, "", "")}
	for _, m := range versionLiteral.FindAllStringSubmatch(c.String(), -1) {
		var n [3]uint64
		ok := true
		for i, part := range m[1:4] {
			if part == "" || strings.ContainsAny(part, "xX*") {
				continue
			}
			var err error
			if n[i], err = strconv.ParseUint(part, 10, 64); err != nil || n[i] > 1<<62 {
				ok = false
			}
		}
		if !ok {
			return "" // a bound too large to derive neighbours from: trusted
		}
		major, minor, patch := n[0], n[1], n[2]
		for _, b := range [][3]uint64{
			{major, minor, patch}, {major, minor, patch + 1}, {major, minor, patch + 2},
			{major, minor + 1, 0}, {major, minor + 1, 1}, {major + 1, 0, 0}, {major + 1, 0, 1},
		} {
			candidates = append(candidates, semver.New(b[0], b[1], b[2], "", ""))
		}
		if m[4] != "" {
			if v, err := semver.NewVersion(fmt.Sprintf("%d.%d.%d%s", major, minor, patch, m[4])); err == nil {
				candidates = append(candidates, v)
			}
		}
	}
	matches := func(pre bool) bool {
		c.IncludePrerelease = pre
		for _, v := range candidates {
			if (v.Prerelease() == "" || pre) && c.Check(v) {
				return true
			}
			if pre {
				if first, err := v.SetPrerelease("0"); err == nil && v.Prerelease() == "" && c.Check(&first) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case matches(prereleases):
		return ""
	case !prereleases && matches(true):
		return "the range matches only pre-releases, and prereleases is false: no version would be deployed"
	}
	return "the range can match no version: its bounds exclude each other (checked against the versions it names and their neighbours)"
}

// compilePattern compiles a tag pattern anchored at both ends. The pattern is
// first compiled as written, so that an error quotes the user's text; the
// anchored form is built from its parsed syntax rather than by pasting text
// around it, because a trailing \Q…-quote in the pattern would otherwise swallow
// the closing anchor.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	if re.SubexpIndex(versionGroup) < 0 {
		return nil, fmt.Errorf("pattern %q has no named group %q (write it as (?P<%s>…))", pattern, versionGroup, versionGroup)
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	anchored, err := regexp.Compile(`^(?:` + tree.String() + `)$`)
	if err != nil {
		return nil, fmt.Errorf("anchor pattern %q: %w", pattern, err)
	}
	return anchored, nil
}

// Version parses a tag as a version without applying the range: the text of the
// tag pattern's group "version" when the policy has a pattern, otherwise the
// whole tag; in both cases one optional leading lower-case "v" is removed and the
// rest must be a strict semantic version (major.minor.patch, optional
// pre-release and build metadata, no leading zeros). "1.2", "latest", "vv1.2.3",
// "V1.2.3" and git hashes are not versions; a tag with an upper-case "V" can be
// taken with a pattern such as "V(?P<version>.+)". The second result is false
// when the tag is not a version.
func (p *Policy) Version(tag string) (*semver.Version, bool) {
	text := tag
	if p.pattern != nil {
		m := p.pattern.FindStringSubmatch(tag)
		if m == nil {
			return nil, false
		}
		text = ""
		for i, name := range p.pattern.SubexpNames() {
			if name == versionGroup && m[i] != "" {
				text = m[i]
				break
			}
		}
	}
	return parse(text)
}

// parse parses text as a strict semantic version after removing one optional
// leading "v".
func parse(text string) (*semver.Version, bool) {
	text = strings.TrimPrefix(text, "v")
	if text == "" {
		return nil, false
	}
	v, err := semver.StrictNewVersion(text)
	if err != nil {
		return nil, false
	}
	return v, true
}

// Evaluate parses a tag and applies the policy to it. It returns the version
// (nil when the tag is not a version) and the verdict: NotSemver, Prerelease,
// OutsideRange or Accepted, checked in that order.
func (p *Policy) Evaluate(tag string) (*semver.Version, Reason) {
	v, ok := p.Version(tag)
	if !ok {
		return nil, NotSemver
	}
	return v, p.Accepts(v)
}

// Accepts applies the policy to a version that is already known, such as the
// version of a digest being promoted from another environment. A pre-release is
// Prerelease when the policy does not take pre-releases, whatever the range;
// otherwise the verdict is OutsideRange or Accepted. Build metadata is ignored.
// A nil version is NotSemver.
func (p *Policy) Accepts(v *semver.Version) Reason {
	if v == nil {
		return NotSemver
	}
	if v.Prerelease() != "" && !p.prereleases {
		return Prerelease
	}
	if !p.constraints.Check(v) {
		return OutsideRange
	}
	return Accepted
}

// String describes the policy for logs and plans, for example
// `versions ">=1.0.0 <2.0.0", prereleases, tagPattern "release-(?P<version>.+)"`.
func (p *Policy) String() string {
	rng := strings.TrimSpace(p.versions)
	if rng == "" {
		rng = "*"
	}
	var b strings.Builder
	b.WriteString("versions ")
	b.WriteString(strconv.Quote(rng))
	if p.prereleases {
		b.WriteString(", prereleases")
	}
	if p.tagPattern != "" {
		b.WriteString(", tagPattern ")
		b.WriteString(strconv.Quote(p.tagPattern))
	}
	return b.String()
}
