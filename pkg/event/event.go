// Package event decodes the events the deployer function receives (ECR image
// pushes, ECS deployment and hook state changes, change calendar state
// changes, image restores and replications, and the reconcile schedule) from
// the EventBridge envelope, and the deliveries its own queue gives back
// from an SQS event source mapping's batch, into plain values the
// deployment library works with.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ecrdeploy/ecrdeploy/pkg/ecsref"
	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// Sources and detail types of the events the deployer accepts.
const (
	SourceECR              = "aws.ecr"
	SourceECS              = "aws.ecs"
	SourceSchedule         = "aws.events"
	SourceSSM              = "aws.ssm"
	DetailImageAction      = "ECR Image Action"
	DetailReplication      = "ECR Replication Action"
	DetailDeploymentChange = "ECS Deployment State Change"
	DetailScheduled        = "Scheduled Event"
	// DetailHookChange is the detail-type of a lifecycle hook's state
	// change ("Amazon ECS service deployment hook state change events",
	// Amazon ECS Developer Guide,
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_hook_state_change_events.html).
	DetailHookChange     = "ECS Hook State Change"
	DetailCalendarChange = "Calendar State Change"
)

// MaxSize is the largest event accepted. EventBridge events are at most 256 KiB.
const MaxSize = 256 << 10

// inputName starts the message of every error Decode returns.
const inputName = "bad event"

// bad returns the error for a malformed or unsupported event. A retry cannot
// fix it, so the deployer reports it instead of returning it to Lambda.
func bad(field, problem string) *input.Error {
	return &input.Error{Input: inputName, Field: field, Problem: problem}
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
	return input.RegistryHost(p.Account, p.Region)
}

// IsImage reports whether the pushed artifact is a runnable container image
// (a single image or a multi-architecture index) rather than a Helm chart, a
// signature, an SBOM or an attestation: input.RunnableImage of the event's
// media types, the test reconcile and manual requests apply to what
// DescribeImages reports. Missing media types mean an image: older ECR events
// do not carry them.
func (p Push) IsImage() bool {
	return input.RunnableImage(p.ManifestMediaType, p.ArtifactMediaType)
}

// DeploymentChange is an ECS service deployment state change.
type DeploymentChange struct {
	ID         string
	Time       time.Time
	Account    string
	Region     string
	ServiceARN string // arn:aws:ecs:region:account:service/cluster/service
	// Cluster is the service's cluster, "" when the event does not say:
	// the service ARN has the short form of services created before 2021
	// (arn:aws:ecs:region:account:service/service), and the event's
	// detail names no cluster. See InCluster.
	Cluster      string
	Service      string
	EventName    string // SERVICE_DEPLOYMENT_IN_PROGRESS, _COMPLETED or _FAILED
	DeploymentID string
	Reason       string
	UpdatedAt    time.Time
}

// InCluster reports whether the event may be of a service in cluster (a
// name or an ARN): its own cluster, or any when the event does not name
// one. A service with a short ARN is named by the event only by its name,
// unique in its cluster only; the deployment id, which ECS gives no two
// deployments, then tells whose event it is.
//
// Sources: "Migrate an Amazon ECS short service ARN to a long ARN" (Amazon
// ECS Developer Guide,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-arn-migration.html):
// "Services that were created before 2021 have a short ARN format:
// arn:aws:ecs:region:aws_account_id:service/service-name"; the examples of
// "Amazon ECS service deployment state change events" (Developer Guide):
// the detail holds eventType, eventName, deploymentId, updatedAt and
// reason, no cluster.
func (d DeploymentChange) InCluster(cluster string) bool {
	return d.Cluster == "" || d.Cluster == ecsref.ClusterName(cluster)
}

// Rollout returns the rollout status the event reports: IN_PROGRESS,
// COMPLETED or FAILED.
func (d DeploymentChange) Rollout() string {
	return strings.TrimPrefix(d.EventName, "SERVICE_DEPLOYMENT_")
}

// Replication is ECR replicating an image to a destination registry (the
// event's account and region), from the pushing one (SourceAccount,
// SourceRegion): "ECR Replication Action", sent in the destination when
// the replication completed (result SUCCESS) or failed (result FAILED)
// ("Event for a completed image replication", "Event for a failed image
// replication", Amazon ECR events and EventBridge, Amazon ECR User Guide,
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
type Replication struct {
	ID            string
	Time          time.Time
	Account       string // destination registry account
	Region        string // destination registry region
	Repository    string
	Digest        string
	Tag           string // "" when the event names none
	SourceAccount string
	SourceRegion  string
	Result        string // SUCCESS or FAILED
}

// Registry returns the host of the registry the image was replicated to.
func (r Replication) Registry() string { return input.RegistryHost(r.Account, r.Region) }

// Succeeded reports whether the image is in the destination registry now.
func (r Replication) Succeeded() bool { return r.Result == "SUCCESS" }

// ImageRestored is an archived image ECR restored to the standard storage
// class: an ECR Image Action of action-type UPDATE_STORAGE_CLASS to
// STANDARD ("Event for an image restore action", Amazon ECR events and
// EventBridge, Amazon ECR User Guide,
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).
// Deployments waiting on the restore are resumed.
type ImageRestored struct {
	ID         string
	Time       time.Time
	Account    string
	Region     string
	Repository string
	Digest     string
	// ActivatedAt is when ECR last restored the image (last-activated-at);
	// zero when the event does not say.
	ActivatedAt time.Time
}

// Schedule is the reconcile schedule firing.
type Schedule struct {
	ID   string
	Time time.Time
}

// CalendarChange is an SSM Change Calendar that opened or closed. SSM sends
// it for the calendars of the account itself only: "State changes for
// calendars shared from other AWS accounts are not currently supported"
// ("Amazon EventBridge event examples for Systems Manager", AWS Systems
// Manager User Guide), so a shared calendar's opening is caught up by the
// reconcile schedule.
type CalendarChange struct {
	ID       string
	Time     time.Time
	Account  string
	Region   string
	Calendar string // the calendar document's ARN: arn:aws:ssm:region:account:document/name
	State    string // OPEN or CLOSED
	// AtTime is when the state changed; NextTransition when it changes
	// again (zero when the event does not say).
	AtTime, NextTransition time.Time
}

// Open reports whether the calendar opened.
func (c CalendarChange) Open() bool { return c.State == "OPEN" }

// Name is the calendar document's name, the last part of its ARN.
func (c CalendarChange) Name() string {
	_, name, _ := strings.Cut(c.Calendar, ":document/")
	return name
}

// replicationDetail is the detail of an ECR Replication Action: the fields
// of the examples of "Amazon ECR events and EventBridge" (Amazon ECR User
// Guide): result, repository-name, image-digest, source-account,
// action-type (REPLICATE), source-region, image-tag.
type replicationDetail struct {
	Result         string `json:"result"`
	RepositoryName string `json:"repository-name"`
	ImageDigest    string `json:"image-digest"`
	SourceAccount  string `json:"source-account"`
	ActionType     string `json:"action-type"`
	SourceRegion   string `json:"source-region"`
	ImageTag       string `json:"image-tag"`
}

// ecrStorageClass are the fields of an ECR Image Action that moved an image
// between storage classes (its action-type is UPDATE_STORAGE_CLASS): the
// class it moved to, and for a restore, when.
type ecrStorageClass struct {
	TargetStorageClass string `json:"target-storage-class"`
	LastActivatedAt    string `json:"last-activated-at"`
}

// ecrMediaTypes are the fields ECR adds to the detail of an image action for
// OCI artifacts, which the aws-lambda-go type does not have yet.
type ecrMediaTypes struct {
	ManifestMediaType string `json:"manifest-media-type"`
	ArtifactMediaType string `json:"artifact-media-type"`
}

// calendarDetail is the detail of a Calendar State Change event, as the
// examples of "Amazon EventBridge event examples for Systems Manager" (AWS
// Systems Manager User Guide,
// https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html)
// show it: {"state": "OPEN", "atTime": "2020-09-19T18:00:07Z",
// "nextTransitionTime": "2020-10-11T18:00:07Z"}, the calendar's document
// ARN in resources.
type calendarDetail struct {
	State              string `json:"state"`
	AtTime             string `json:"atTime"`
	NextTransitionTime string `json:"nextTransitionTime"`
}

type ecsDeploymentDetail struct {
	EventType    string    `json:"eventType"`
	EventName    string    `json:"eventName"`
	DeploymentID string    `json:"deploymentId"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Reason       string    `json:"reason"`
}

// Event is one of the events the deployer acts on: a Push, a
// DeploymentChange, a HookChange, a Schedule, a Queued batch and the
// others Decode returns. The set is closed: only this
// package's types implement it.
type Event interface{ event() }

func (Push) event()             {}
func (DeploymentChange) event() {}
func (HookChange) event()       {}
func (Schedule) event()         {}
func (CalendarChange) event()   {}
func (ImageRestored) event()    {}
func (Replication) event()      {}

// Decode decodes one EventBridge event and returns a Push, an
// ImageRestored, a Replication, a DeploymentChange, a HookChange, a
// CalendarChange or a Schedule; or a batch of the deployer's queue (an SQS
// event source mapping's {"Records": [...]}, at most MaxQueuedSize) and
// returns a Queued. It returns a nil value and an
// *input.Error (its message starting "bad event: ") for anything malformed
// (including bytes that are not valid UTF-8, anywhere, named by their
// offset, and a
// key given twice, or beside the same key in another case, anywhere in the
// event), of another source, or not a successful push.
func Decode(raw []byte) (Event, error) {
	// The larger of the two limits bounds the work below; an EventBridge
	// event is held to its own once it is known not to be a batch.
	if len(raw) > MaxQueuedSize {
		return nil, bad("", fmt.Sprintf("event is %d bytes, more than the %d a Lambda invocation can carry", len(raw), MaxQueuedSize))
	}
	queued := isQueued(raw)
	if !queued && len(raw) > MaxSize {
		return nil, bad("", fmt.Sprintf("event is %d bytes, more than the %d an EventBridge event can be", len(raw), MaxSize))
	}
	// Before anything is read: encoding/json would decode each invalid
	// byte as U+FFFD, and the checks below would judge another event.
	if e := input.CheckUTF8("", raw); e != nil {
		return nil, bad(e.Field, e.Problem)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, bad("", "not a JSON object")
	}
	// encoding/json matches field names case-insensitively and keeps the
	// last of duplicate keys, so {"detail": …, "Detail": …} would act on
	// whichever came last; CheckKeys refuses both, anywhere in the event.
	if e := input.CheckKeys("", raw); e != nil {
		return nil, bad(e.Field, e.Problem)
	}
	if queued {
		return orNil(decodeQueued(raw))
	}
	var env events.CloudWatchEvent
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, bad(input.JSONProblem(err))
	}
	// A refused event comes back as nil, not as a zero Push or
	// DeploymentChange beside the error, so that a type switch on the
	// value cannot act on it.
	switch {
	case env.Source == SourceECR && env.DetailType == DetailImageAction && isStorageClassAction(env.Detail):
		return orNil(decodeRestore(env))
	case env.Source == SourceECR && env.DetailType == DetailImageAction:
		return orNil(decodePush(env))
	case env.Source == SourceECR && env.DetailType == DetailReplication:
		return orNil(decodeReplication(env))
	case env.Source == SourceECS && env.DetailType == DetailDeploymentChange:
		return orNil(decodeDeploymentChange(env))
	case env.Source == SourceECS && env.DetailType == DetailHookChange:
		return orNil(decodeHookChange(env))
	case env.Source == SourceSchedule && env.DetailType == DetailScheduled:
		return Schedule{ID: env.ID, Time: env.Time}, nil
	case env.Source == SourceSSM && env.DetailType == DetailCalendarChange:
		return orNil(decodeCalendarChange(env))
	case env.Source == "" && env.DetailType == "":
		return nil, bad("", `no "source" or "detail-type": not an EventBridge event`)
	}
	return nil, bad("source", fmt.Sprintf("unsupported event %s / %s (want %s %q, %s %q or %q, or %s %q)",
		input.Quote(env.Source), input.Quote(env.DetailType), SourceECR, DetailImageAction, SourceECS, DetailDeploymentChange, DetailHookChange, SourceSchedule, DetailScheduled))
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
		return Push{}, bad("detail.action-type", fmt.Sprintf("not a successful push or restore (action-type %s, result %s)", input.Quote(d.ActionType), input.Quote(d.Result)))
	}
	p := Push{
		ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region,
		Repository: d.RepositoryName, Tag: d.ImageTag, Digest: d.ImageDigest,
		ManifestMediaType: mt.ManifestMediaType, ArtifactMediaType: mt.ArtifactMediaType,
	}
	switch {
	case !input.ValidRepository(p.Repository):
		return Push{}, bad("detail.repository-name", fmt.Sprintf("%s is not an ECR repository name", input.Quote(p.Repository)))
	case !input.ValidDigest(p.Digest):
		return Push{}, bad("detail.image-digest", fmt.Sprintf("%s is not an image digest (sha256:<64 hex>)", input.Quote(p.Digest)))
	case p.Tag != "" && !input.ValidTag(p.Tag):
		return Push{}, bad("detail.image-tag", fmt.Sprintf("%s is not an image tag", input.Quote(p.Tag)))
	case !input.ValidAccount(p.Account):
		return Push{}, bad("account", fmt.Sprintf("%s is not an AWS account id", input.Quote(p.Account)))
	case !input.ValidRegion(p.Region):
		return Push{}, bad("region", fmt.Sprintf("%s is not an AWS region", input.Quote(p.Region)))
	}
	return p, nil
}

func decodeDeploymentChange(env events.CloudWatchEvent) (DeploymentChange, error) {
	var d ecsDeploymentDetail
	if err := decodeDetail(env.Detail, &d); err != nil {
		return DeploymentChange{}, err
	}
	if len(env.Resources) != 1 {
		return DeploymentChange{}, bad("resources", fmt.Sprintf("want exactly one service ARN, got %d", len(env.Resources)))
	}
	cluster, service, ok := ecsref.ParseServiceARN(env.Resources[0])
	if !ok {
		return DeploymentChange{}, bad("resources[0]", fmt.Sprintf("%s is not an ECS service ARN", input.Quote(env.Resources[0])))
	}
	switch d.EventName {
	case "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED":
	default:
		return DeploymentChange{}, bad("detail.eventName", fmt.Sprintf("unknown deployment event %s", input.Quote(d.EventName)))
	}
	if d.DeploymentID == "" {
		return DeploymentChange{}, bad("detail.deploymentId", "missing")
	}
	return DeploymentChange{
		ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region,
		ServiceARN: env.Resources[0], Cluster: cluster, Service: service,
		EventName: d.EventName, DeploymentID: d.DeploymentID, Reason: d.Reason, UpdatedAt: d.UpdatedAt,
	}, nil
}

// isStorageClassAction reports whether the detail of an ECR Image Action
// says it moved an image between storage classes.
func isStorageClassAction(raw json.RawMessage) bool {
	var d struct {
		ActionType string `json:"action-type"`
	}
	return json.Unmarshal(raw, &d) == nil && d.ActionType == "UPDATE_STORAGE_CLASS"
}

// decodeRestore decodes an ECR Image Action that moved an image between
// storage classes: only a successful restore (to STANDARD) is one the
// deployer acts on.
func decodeRestore(env events.CloudWatchEvent) (ImageRestored, error) {
	var d events.ECRImageActionEventDetailType
	if err := decodeDetail(env.Detail, &d); err != nil {
		return ImageRestored{}, err
	}
	var sc ecrStorageClass
	if err := decodeDetail(env.Detail, &sc); err != nil {
		return ImageRestored{}, err
	}
	if sc.TargetStorageClass != "STANDARD" || d.Result != "SUCCESS" {
		return ImageRestored{}, bad("detail.target-storage-class", fmt.Sprintf("not a successful restore (target-storage-class %s, result %s)",
			input.Quote(sc.TargetStorageClass), input.Quote(d.Result)))
	}
	r := ImageRestored{ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region, Repository: d.RepositoryName, Digest: d.ImageDigest}
	switch {
	case !input.ValidRepository(r.Repository):
		return ImageRestored{}, bad("detail.repository-name", fmt.Sprintf("%s is not an ECR repository name", input.Quote(r.Repository)))
	case !input.ValidDigest(r.Digest):
		return ImageRestored{}, bad("detail.image-digest", fmt.Sprintf("%s is not an image digest (sha256:<64 hex>)", input.Quote(r.Digest)))
	}
	if sc.LastActivatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, sc.LastActivatedAt)
		if err != nil {
			return ImageRestored{}, bad("detail.last-activated-at", fmt.Sprintf("%s is not an ISO 8601 time", input.Quote(sc.LastActivatedAt)))
		}
		r.ActivatedAt = t.UTC()
	}
	return r, nil
}

func decodeReplication(env events.CloudWatchEvent) (Replication, error) {
	var d replicationDetail
	if err := decodeDetail(env.Detail, &d); err != nil {
		return Replication{}, err
	}
	if d.ActionType != "REPLICATE" {
		return Replication{}, bad("detail.action-type", fmt.Sprintf("not a replication (action-type %s)", input.Quote(d.ActionType)))
	}
	r := Replication{
		ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region,
		Repository: d.RepositoryName, Digest: d.ImageDigest, Tag: d.ImageTag,
		SourceAccount: d.SourceAccount, SourceRegion: d.SourceRegion, Result: d.Result,
	}
	switch {
	case r.Result != "SUCCESS" && r.Result != "FAILED":
		return Replication{}, bad("detail.result", fmt.Sprintf("unknown replication result %s (want SUCCESS or FAILED)", input.Quote(r.Result)))
	case !input.ValidRepository(r.Repository):
		return Replication{}, bad("detail.repository-name", fmt.Sprintf("%s is not an ECR repository name", input.Quote(r.Repository)))
	case !input.ValidDigest(r.Digest):
		return Replication{}, bad("detail.image-digest", fmt.Sprintf("%s is not an image digest (sha256:<64 hex>)", input.Quote(r.Digest)))
	case r.Tag != "" && !input.ValidTag(r.Tag):
		return Replication{}, bad("detail.image-tag", fmt.Sprintf("%s is not an image tag", input.Quote(r.Tag)))
	case !input.ValidAccount(r.Account):
		return Replication{}, bad("account", fmt.Sprintf("%s is not an AWS account id", input.Quote(r.Account)))
	case !input.ValidRegion(r.Region):
		return Replication{}, bad("region", fmt.Sprintf("%s is not an AWS region", input.Quote(r.Region)))
	case !input.ValidAccount(r.SourceAccount):
		return Replication{}, bad("detail.source-account", fmt.Sprintf("%s is not an AWS account id", input.Quote(r.SourceAccount)))
	case !input.ValidRegion(r.SourceRegion):
		return Replication{}, bad("detail.source-region", fmt.Sprintf("%s is not an AWS region", input.Quote(r.SourceRegion)))
	}
	return r, nil
}

// calendarARN is the ARN of an SSM document.
var calendarARN = input.NewPattern(`^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:document/[A-Za-z0-9_.-]{3,128}$`)

func decodeCalendarChange(env events.CloudWatchEvent) (CalendarChange, error) {
	var d calendarDetail
	if err := decodeDetail(env.Detail, &d); err != nil {
		return CalendarChange{}, err
	}
	if len(env.Resources) != 1 {
		return CalendarChange{}, bad("resources", fmt.Sprintf("want exactly one calendar ARN, got %d", len(env.Resources)))
	}
	if !calendarARN.MatchString(env.Resources[0]) {
		return CalendarChange{}, bad("resources[0]", fmt.Sprintf("%s is not an SSM document ARN", input.Quote(env.Resources[0])))
	}
	if d.State != "OPEN" && d.State != "CLOSED" {
		return CalendarChange{}, bad("detail.state", fmt.Sprintf("unknown calendar state %s (want OPEN or CLOSED)", input.Quote(d.State)))
	}
	c := CalendarChange{ID: env.ID, Time: env.Time, Account: env.AccountID, Region: env.Region, Calendar: env.Resources[0], State: d.State}
	for _, f := range []struct {
		name, text string
		into       *time.Time
	}{{"detail.atTime", d.AtTime, &c.AtTime}, {"detail.nextTransitionTime", d.NextTransitionTime, &c.NextTransition}} {
		if f.text == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.text)
		if err != nil {
			return CalendarChange{}, bad(f.name, fmt.Sprintf("%s is not an ISO 8601 time", input.Quote(f.text)))
		}
		*f.into = t.UTC()
	}
	return c, nil
}

func decodeDetail(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return bad("detail", "missing")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		f, problem := input.JSONProblem(err)
		if f == "" {
			f = "detail"
		} else {
			f = "detail." + f
		}
		return bad(f, problem)
	}
	return nil
}
