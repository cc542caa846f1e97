// Package config reads and checks the configuration document of a repository:
// one JSON document per repository in SSM Parameter Store at
// {prefix}/config/{repository}, naming the environments an image is deployed to
// and the policy of each.
//
// Parse decodes a document strictly and validates it; Store reads documents
// from SSM and caches them across warm invocations.
package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/param"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
)

// MaxDocumentSize is the largest document Parse accepts, in bytes: the largest
// value of an advanced-tier SSM parameter (a standard-tier parameter holds 4 KB).
const MaxDocumentSize = param.AdvancedLimit

// Document is the configuration of one repository.
//
// A Document returned by Parse or Store is valid and shared: treat it as
// read-only.
type Document struct {
	// Environments maps an environment name to its configuration. Names are
	// part of the state table's keys and of the paths of records earlier
	// releases kept in SSM ({prefix}/state/{repository}/{environment}).
	Environments map[string]*Environment `json:"environments" jsonschema:"minProperties=1" jsonschema_description:"The environments this repository is deployed to, by name. A name is 1 to 64 letters, digits, '_', '.' or '-'."`
	// Protect has ecrdeploy tag the digests its environments run, or may
	// roll back to, with a tag of its own (ecrdeploy-keep-...) that a keep
	// rule of the repository's lifecycle policy spares, and remove the tag
	// once a digest is neither. Without it, ecrdeploy writes nothing to ECR
	// but the restores its deployments need.
	Protect bool `json:"protect,omitempty" jsonschema:"default=false" jsonschema_description:"Tag the digests the environments run or may roll back to with ecrdeploy-keep-<digest>, so that a lifecycle rule keeping that tag prefix spares them; the tag is removed once a digest is neither. Without it, ecrdeploy never tags images."`
}

// Names returns the environment names, sorted. Iterate over Names rather than
// over Environments wherever order shows (results, logs, plans).
func (d *Document) Names() []string {
	names := make([]string, 0, len(d.Environments))
	for name := range d.Environments {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Trigger says what deploys to an environment.
type Trigger string

// The triggers of an environment.
const (
	// TriggerPush deploys automatically on image push and on reconcile, as
	// well as on manual requests. Parse sets it when "trigger" is absent.
	TriggerPush Trigger = "push"
	// TriggerManual deploys only on a manual deploy, promote or rollback.
	TriggerManual Trigger = "manual"
)

// Environment is the configuration of one environment of a repository.
//
// When fields are added (taskDefinition, roleArn, registry, imageRef), the
// strict decoder picks them up from the json tags; only validate needs to learn
// their rules.
type Environment struct {
	Trigger        Trigger           `json:"trigger,omitempty" jsonschema:"enum=push,enum=manual,default=push" jsonschema_description:"push: deploy automatically on image push and on reconcile; manual: only by a manual deploy, promote or rollback."`
	Versions       string            `json:"versions,omitempty" jsonschema:"default=*" jsonschema_description:"A semantic-version range (Masterminds semver/v3 syntax: ^1.2, ~1.2.3, >=1.0.0 <2.0.0, *) that a tag must satisfy, automatic or manual."`
	Prereleases    bool              `json:"prereleases,omitempty" jsonschema:"default=false" jsonschema_description:"Whether pre-release versions (1.3.0-rc.1) may satisfy versions."`
	TagPattern     string            `json:"tagPattern,omitempty" jsonschema_description:"A regular expression (Go RE2 syntax) with a named group version, matched against the whole tag; the group's text, with one optional leading v, is the version. Without it the whole tag is the version."`
	Cluster        string            `json:"cluster" jsonschema:"minLength=1" jsonschema_description:"The ECS cluster, by name or ARN."`
	Services       []string          `json:"services" jsonschema:"minItems=1,uniqueItems=true" jsonschema_description:"The ECS services in the cluster that run this repository, by name or ARN."`
	Container      Names             `json:"container,omitempty" jsonschema_description:"The container, or list of containers, that get the new image. Default: every container whose image is from this repository."`
	Environment    map[string]string `json:"environment,omitempty" jsonschema_description:"Environment variables set on those containers, replacing any of the same name."`
	Secrets        map[string]string `json:"secrets,omitempty" jsonschema_description:"Secrets set on those containers: name to valueFrom (the ARN of a Secrets Manager secret or SSM parameter, or the name of an SSM parameter in the same region), replacing any of the same name."`
	Family         string            `json:"family,omitempty" jsonschema_description:"The task definition family to register into. Default: the current family."`
	Region         string            `json:"region,omitempty" jsonschema_description:"The AWS region of the cluster. Default: the function's own region."`
	DesiredCount   *int32            `json:"desiredCount,omitempty" jsonschema:"minimum=0" jsonschema_description:"The desired count set on deploy. Left out, the count is not touched (autoscaling owns it)."`
	Deployment     *Deployment       `json:"deployment,omitempty" jsonschema_description:"How ECS rolls a revision out: strategy, bake time, alarms, approval, hooks. Each field is sent on deploy only when set; what is left out stays as the service has it."`
	TaskDefinition TaskDefinition    `json:"taskDefinition,omitzero"`
	RoleARN        string            `json:"roleArn,omitempty" jsonschema_description:"The IAM role to assume for this environment's deployment (cross-account targets). Default: the function's own role."`
	Registry       string            `json:"registry,omitempty" jsonschema_description:"The ECR registry host this environment pulls from (a replica in another region or account), e.g. 222222222222.dkr.ecr.eu-west-1.amazonaws.com. The digest is checked to exist there before anything is registered. Default: the pushing registry."`
	ImageRef       ImageRef          `json:"imageRef,omitempty" jsonschema:"enum=tag,enum=digest,default=tag" jsonschema_description:"How the image is written in the task definition: tag (repo:1.2.3) or digest (repo@sha256:...)."`
	PromoteFrom    string            `json:"promoteFrom,omitempty" jsonschema_description:"The environment that promote copies from when no source is named."`
	Wait           bool              `json:"wait,omitempty" jsonschema:"default=false" jsonschema_description:"Wait for the rollout to finish within the invocation (manual requests only)."`
	Freeze         *Freeze           `json:"freeze,omitempty" jsonschema_description:"SSM Change Calendars that hold the environment's deployments: while any is CLOSED, pushes and reconcile skip it (frozen) and manual requests are refused unless forced."`

	policy *policy.Policy
}

// Policy returns the environment's compiled version policy. It is nil unless
// the Environment came from Parse (or Store), which compiles it.
func (e *Environment) Policy() *policy.Policy { return e.policy }

// ImageRef says how an image is referenced in a task definition.
type ImageRef string

// Image references.
const (
	ImageRefTag    ImageRef = "tag"
	ImageRefDigest ImageRef = "digest"
)

// CodeDeploy names the CodeDeploy application, and optionally the
// deployment group, that deploy an environment's CODE_DEPLOY services. With
// only the application, the group that deploys each service is looked up
// among that application's groups. A deployment group deploys one ECS
// service, so a group can be named only for an environment of one service.
type CodeDeploy struct {
	Application     string `json:"application" jsonschema:"minLength=1,maxLength=100" jsonschema_description:"The CodeDeploy application (compute platform ECS)."`
	DeploymentGroup string `json:"deploymentGroup,omitempty" jsonschema:"maxLength=100" jsonschema_description:"The deployment group that deploys the environment's service. Only for an environment of one service; left out (or empty), the application's group that deploys each service is looked up."`
}

// Freeze names the SSM Change Calendars that gate an environment.
type Freeze struct {
	// Calendars are calendar names (SSM documents of type ChangeCalendar in
	// the function's own account and region) or ARNs (a calendar in another
	// region, or one shared from another account).
	Calendars []string `json:"calendars" jsonschema:"minItems=1,uniqueItems=true" jsonschema_description:"Change calendars, by name (in the function's own account and region) or by document ARN (another region, or a calendar shared from another account): arn:aws:ssm:REGION:ACCOUNT:document/NAME."`
}

// Names is a list of container names. In JSON it is a string or a list of
// strings, and it is written back as a string when it holds exactly one name.
type Names []string

// MarshalJSON writes one name as a string and any other number as a list. It
// returns no error of its own.
func (n Names) MarshalJSON() ([]byte, error) {
	if len(n) == 1 {
		return json.Marshal(n[0])
	}
	return json.Marshal([]string(n))
}

// UnmarshalJSON reads a string or a list of strings. It returns an error for
// any other JSON value, including null.
func (n *Names) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil && !isNull(data) {
		*n = Names{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err == nil && !isNull(data) {
		*n = many
		return nil
	}
	return fmt.Errorf("expected a container name or a list of names, got %s", describe(data))
}

func isNull(data []byte) bool { return strings.TrimSpace(string(data)) == "null" }

// ParameterName returns the name of the SSM parameter that holds the
// configuration of repository: {prefix}/config/{repository}, with prefix in
// the canonical form of param.Prefix (the form state records are named
// under: "/ecrdeploy/" and "/ecrdeploy//" are "/ecrdeploy"). A missing
// leading slash is added, since SSM requires a hierarchical name to start
// with "/"; a prefix param.Prefix refuses is used as given, without trailing
// slashes (Store refuses it before reading). A repository name may contain
// "/" ("team/web" gives "/ecrdeploy/config/team/web"). The caller supplies
// the default prefix (param.DefaultPrefix).
func ParameterName(prefix, repository string) string {
	if p, err := param.Prefix("/" + strings.TrimLeft(prefix, "/")); err == nil {
		prefix = p
	} else {
		prefix = strings.TrimRight(prefix, "/")
	}
	return prefix + "/config/" + strings.Trim(repository, "/")
}
