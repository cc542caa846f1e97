// Package event decodes the events the deployer function receives (ECR image
// pushes, ECS deployment state changes and the reconcile schedule) from the
// EventBridge envelope into plain values the deployment library works with.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Sources and detail types of the events the deployer accepts.
const (
	SourceECR              = "aws.ecr"
	SourceECS              = "aws.ecs"
	SourceSchedule         = "aws.events"
	DetailImageAction      = "ECR Image Action"
	DetailDeploymentChange = "ECS Deployment State Change"
	DetailScheduled        = "Scheduled Event"
)

// MaxSize is the largest event accepted. EventBridge events are at most 256 KiB.
const MaxSize = 256 << 10

// Error is a malformed or unsupported event. A retry cannot fix it, so the
// deployer reports it instead of returning it to Lambda.
type Error struct {
	Field   string // JSON path of the offending field, "" for the whole event
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "bad event: " + e.Problem
	}
	return "bad event: " + e.Field + ": " + e.Problem
}

// Push is a successful image push to ECR.
type Push struct {
	ID                string    // EventBridge event id, the idempotency key of the delivery
	Time              time.Time // when ECR emitted the event
	Account           string    // registry account id
	Region            string    // registry region
	Repository        string
	Tag               string // "" for a push by digest only
	Digest            string
	ManifestMediaType string // "" when ECR did not say
	ArtifactMediaType string // "" when ECR did not say
}

// Registry returns the registry host the image was pushed to.
func (p Push) Registry() string {
	return RegistryHost(p.Account, p.Region)
}

// RegistryHost returns the ECR registry host of an account in a region.
func RegistryHost(account, region string) string {
	host := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		host = "amazonaws.com.cn"
	}
	return account + ".dkr.ecr." + region + "." + host
}

// IsImage reports whether the pushed artifact is a runnable container image
// (a single image or a multi-architecture index) rather than a Helm chart, a
// signature, an SBOM or an attestation. Missing media types mean an image:
// older ECR events do not carry them.
func (p Push) IsImage() bool {
	switch p.ManifestMediaType {
	case "",
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.oci.image.index.v1+json":
	default:
		return false
	}
	switch p.ArtifactMediaType {
	case "",
		"application/vnd.docker.container.image.v1+json",
		"application/vnd.oci.image.config.v1+json":
		return true
	}
	return false
}

// DeploymentChange is an ECS service deployment state change.
type DeploymentChange struct {
	ID           string
	Time         time.Time
	Account      string
	Region       string
	ServiceARN   string // arn:aws:ecs:region:account:service/cluster/service
	Cluster      string
	Service      string
	EventName    string // SERVICE_DEPLOYMENT_IN_PROGRESS, _COMPLETED or _FAILED
	DeploymentID string
	Reason       string
	UpdatedAt    time.Time
}

// Rollout returns the rollout status the event reports: IN_PROGRESS,
// COMPLETED or FAILED.
func (d DeploymentChange) Rollout() string {
	return strings.TrimPrefix(d.EventName, "SERVICE_DEPLOYMENT_")
}

// Schedule is the reconcile schedule firing.
type Schedule struct {
	ID   string
	Time time.Time
}

// ecrMediaTypes are the fields ECR adds to the detail of an image action for
// OCI artifacts, which the aws-lambda-go type does not have yet.
type ecrMediaTypes struct {
	ManifestMediaType string `json:"manifest-media-type"`
	ArtifactMediaType string `json:"artifact-media-type"`
}

type ecsDeploymentDetail struct {
	EventType    string    `json:"eventType"`
	EventName    string    `json:"eventName"`
	DeploymentID string    `json:"deploymentId"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Reason       string    `json:"reason"`
}

// Event is one of the events the deployer acts on: a Push, a
// DeploymentChange or a Schedule. The set is closed: only this package's
// types implement it.
type Event interface{ event() }

func (Push) event()             {}
func (DeploymentChange) event() {}
func (Schedule) event()         {}

// Decode decodes one EventBridge event and returns a Push, a
// DeploymentChange or a Schedule. It returns a nil value and *Error for
// anything malformed, of another source, or not a successful push.
func Decode(raw []byte) (Event, error) {
	if len(raw) > MaxSize {
		return nil, &Error{Problem: fmt.Sprintf("event is %d bytes, more than the %d an EventBridge event can be", len(raw), MaxSize)}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &Error{Problem: "not a JSON object"}
	}
	var env events.CloudWatchEvent
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, &Error{Field: jsonField(err), Problem: jsonProblem(err)}
	}
	// A refused event comes back as nil, not as a zero Push or
	// DeploymentChange beside the error, so that a type switch on the
	// value cannot act on it.
	switch {
	case env.Source == SourceECR && env.DetailType == DetailImageAction:
		return orNil(decodePush(env))
	case env.Source == SourceECS && env.DetailType == DetailDeploymentChange:
		return orNil(decodeDeploymentChange(env))
	case env.Source == SourceSchedule && env.DetailType == DetailScheduled:
		return Schedule{ID: env.ID, Time: env.Time}, nil
	case env.Source == "" && env.DetailType == "":
		return nil, &Error{Problem: `no "source" or "detail-type": not an EventBridge event`}
	}
	return nil, &Error{Field: "source", Problem: fmt.Sprintf("unsupported event %s / %s (want %s %q, %s %q or %s %q)",
		Quote(env.Source), Quote(env.DetailType), SourceECR, DetailImageAction, SourceECS, DetailDeploymentChange, SourceSchedule, DetailScheduled)}
}

// orNil returns v, or nil when err is not nil.
func orNil[T Event](v T, err error) (Event, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

func decodePush(env events.CloudWatchEvent) (Push, error) {
	var d events.ECRImageActionEventDetailType
	if err := decodeDetail(env.Detail, &d); err != nil {
		return Push{}, err
	}
	var mt ecrMediaTypes
	if err := decodeDetail(env.Detail, &mt); err != nil {
		return Push{}, err
	}
	if d.ActionType != "PUSH" || d.Result != "SUCCESS" {
		return Push{}, &Error{Field: "detail.action-type", Problem: fmt.Sprintf("not a successful push (action-type %s, result %s)", Quote(d.ActionType), Quote(d.Result))}
	}
	p := Push{
		ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region,
		Repository: d.RepositoryName, Tag: d.ImageTag, Digest: d.ImageDigest,
		ManifestMediaType: mt.ManifestMediaType, ArtifactMediaType: mt.ArtifactMediaType,
	}
	switch {
	case !ValidRepository(p.Repository):
		return Push{}, &Error{Field: "detail.repository-name", Problem: fmt.Sprintf("%s is not an ECR repository name", Quote(p.Repository))}
	case !ValidDigest(p.Digest):
		return Push{}, &Error{Field: "detail.image-digest", Problem: fmt.Sprintf("%s is not an image digest (sha256:<64 hex>)", Quote(p.Digest))}
	case p.Tag != "" && !ValidTag(p.Tag):
		return Push{}, &Error{Field: "detail.image-tag", Problem: fmt.Sprintf("%s is not an image tag", Quote(p.Tag))}
	case !validAccount(p.Account):
		return Push{}, &Error{Field: "account", Problem: fmt.Sprintf("%s is not an AWS account id", Quote(p.Account))}
	case !validRegion(p.Region):
		return Push{}, &Error{Field: "region", Problem: fmt.Sprintf("%s is not an AWS region", Quote(p.Region))}
	}
	return p, nil
}

func decodeDeploymentChange(env events.CloudWatchEvent) (DeploymentChange, error) {
	var d ecsDeploymentDetail
	if err := decodeDetail(env.Detail, &d); err != nil {
		return DeploymentChange{}, err
	}
	if len(env.Resources) != 1 {
		return DeploymentChange{}, &Error{Field: "resources", Problem: fmt.Sprintf("want exactly one service ARN, got %d", len(env.Resources))}
	}
	cluster, service, ok := parseServiceARN(env.Resources[0])
	if !ok {
		return DeploymentChange{}, &Error{Field: "resources[0]", Problem: fmt.Sprintf("%s is not an ECS service ARN", Quote(env.Resources[0]))}
	}
	switch d.EventName {
	case "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED":
	default:
		return DeploymentChange{}, &Error{Field: "detail.eventName", Problem: fmt.Sprintf("unknown deployment event %s", Quote(d.EventName))}
	}
	if d.DeploymentID == "" {
		return DeploymentChange{}, &Error{Field: "detail.deploymentId", Problem: "missing"}
	}
	return DeploymentChange{
		ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region,
		ServiceARN: env.Resources[0], Cluster: cluster, Service: service,
		EventName: d.EventName, DeploymentID: d.DeploymentID, Reason: d.Reason, UpdatedAt: d.UpdatedAt,
	}, nil
}

func decodeDetail(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return &Error{Field: "detail", Problem: "missing"}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		f := jsonField(err)
		if f == "" {
			f = "detail"
		} else {
			f = "detail." + f
		}
		return &Error{Field: f, Problem: jsonProblem(err)}
	}
	return nil
}

// parseServiceARN splits arn:aws:ecs:region:account:service/cluster/service.
// The old ARN format without the cluster is accepted with cluster "".
func parseServiceARN(arn string) (cluster, service string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", "", false
	}
	res := strings.Split(parts[5], "/")
	switch {
	case len(res) == 3 && res[0] == "service" && res[1] != "" && res[2] != "":
		return res[1], res[2], true
	case len(res) == 2 && res[0] == "service" && res[1] != "":
		return "", res[1], true
	}
	return "", "", false
}

func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		// pe.Error() quotes the whole value, which may be 256 KiB.
		return fmt.Sprintf("bad time %s: want an RFC 3339 time such as 2026-11-27T09:30:00Z", Quote(pe.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, SyntaxProblem(se))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// SyntaxProblem describes a JSON syntax error for a message about bad input.
// encoding/json refuses JSON nested more than 10000 levels deep (a nesting
// bomb) with the puzzling "invalid character '[' exceeded max depth".
func SyntaxProblem(se *json.SyntaxError) string {
	if strings.HasSuffix(se.Error(), "exceeded max depth") {
		return "nested more than 10000 levels deep"
	}
	return strings.TrimPrefix(se.Error(), "json: ")
}

// MaxQuoted is how much of a value an error message quotes: enough to
// recognise it, not so much that a 256 KiB value floods the log.
const MaxQuoted = 80

// Quote quotes s for a message about bad input. When the quoted form would be longer than
// MaxQuoted characters (besides the quotes), s is cut at a character
// boundary to fit and its length is added: escapes make a control
// character four times as long as it was, so cutting s itself to MaxQuoted
// bytes would not do.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		if q := strconv.Quote(s); len(q) <= MaxQuoted+2 {
			return q
		}
	}
	// The quoted form of a prefix grows by at least one character a rune,
	// so this stops within MaxQuoted runes, whatever the length of s.
	cut := 0
	for i := range s {
		if len(strconv.Quote(s[:i])) > MaxQuoted+2 {
			break
		}
		cut = i
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}
