package announce

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// EventsAPI is the part of the EventBridge API result events use;
// *eventbridge.Client satisfies it.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// The source and detail types of result events.
const (
	Source              = "ecrdeploy"
	DetailTypeStarted   = "Deployment Started"
	DetailTypeSucceeded = "Deployment Succeeded"
	DetailTypeFailed    = "Deployment Failed"
	DetailTypeSkipped   = "Deployment Skipped"
	// DetailTypeAwaitingApproval announces a deployment that ECS paused
	// for a person's approval; its detail's approval says where, until
	// when, and the commands that approve or reject it.
	DetailTypeAwaitingApproval = "Deployment Awaiting Approval"
)

// maxEntriesPerRequest is PutEvents' limit.
const maxEntriesPerRequest = 10

// Detail is the detail of a result event: the row it announces and what the
// row's result says of the image.
type Detail struct {
	Repository string `json:"repository"`
	deploy.Row
	// Reason is the row's, left out when empty (a row always says it).
	Reason          policy.Reason `json:"reason,omitempty"`
	Version         string        `json:"version,omitempty"`
	Tag             string        `json:"tag,omitempty"`
	Digest          string        `json:"digest,omitempty"`
	Trigger         state.Cause   `json:"trigger,omitempty"`
	EventID         string        `json:"eventId,omitempty"`
	LeadTimeSeconds *float64      `json:"leadTimeSeconds,omitempty"`
}

// quiet are the skips that say a push was not meant for an environment at
// all, rather than that a version was turned away.
var quiet = map[policy.Reason]bool{
	policy.NotSemver: true, policy.NotAnImage: true, policy.NoTag: true,
	policy.ManualEnvironment: true, policy.NoConfig: true,
}

// heldBack are the skips that hold an environment back until something
// outside ecrdeploy happens (a change calendar opens, ECR replicates or
// restores the image): news whatever started the request, a reconcile
// included, since they say why a version the environment takes is not
// running there yet. They are counted by reason too (metrics.go).
var heldBack = map[policy.Reason]bool{
	policy.Frozen: true, policy.AwaitingReplica: true, policy.Restoring: true,
}

// detailType is the result event a row is announced with; "" for none.
// Unchanged and planned rows are not news, and neither is a skip that says a
// push was never meant for an environment (a tag that is not a version, a
// Helm chart, a manual environment): announcing those would cost a call on
// every push of "latest" and every push to a repository with a production
// environment. An environment a reconcile leaves alone (ahead, held,
// outside its range) is not news every quarter of an hour either; one held
// back (heldBack) is. A pause that awaits approval is news of its own kind.
func detailType(cause state.Cause, r deploy.Row) string {
	switch {
	case r.Approval != nil && r.Approval.Decision == "":
		return DetailTypeAwaitingApproval
	case r.Rollout == state.Completed:
		return DetailTypeSucceeded
	case r.Rollout == state.Failed || r.Outcome == deploy.Failed:
		return DetailTypeFailed
	case r.Outcome == deploy.Deployed:
		return DetailTypeStarted
	case r.Outcome == deploy.Skipped && heldBack[r.Reason]:
		return DetailTypeSkipped
	case r.Outcome == deploy.Skipped && cause != state.CauseReconcile && !quiet[r.Reason]:
		return DetailTypeSkipped
	}
	return ""
}

// event is one result event to publish.
type event struct {
	detailType string
	detail     Detail
}

// events returns the result events of a result.
func events(res deploy.Result, eventID string) []event {
	var out []event
	for _, r := range res.Results {
		dt := detailType(res.Cause, r)
		if dt == "" {
			continue
		}
		d := Detail{
			Repository: res.Repository, Row: r, Version: res.Version, Tag: res.Tag, Digest: res.Digest,
			Trigger: res.Cause, EventID: eventID, Reason: r.Reason,
		}
		d.Diff = ""
		if r.LeadTime > 0 {
			s := r.LeadTime.Seconds()
			d.LeadTimeSeconds = &s
		}
		out = append(out, event{dt, d})
	}
	return out
}

// publish puts result events on the bus, ten per request.
func (a *Announcer) publish(ctx context.Context, events []event) {
	if a.Events == nil || len(events) == 0 {
		return
	}
	bus := a.Bus
	if bus == "" {
		bus = "default"
	}
	for chunk := range slices.Chunk(events, maxEntriesPerRequest) {
		entries := make([]ebtypes.PutEventsRequestEntry, 0, len(chunk))
		for _, e := range chunk {
			detail, err := json.Marshal(e.detail)
			if err != nil {
				continue
			}
			entries = append(entries, ebtypes.PutEventsRequestEntry{
				Source: aws.String(Source), DetailType: aws.String(e.detailType), Detail: aws.String(string(detail)),
				EventBusName: aws.String(bus), Resources: resources(e.detail),
			})
		}
		out, err := a.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		switch {
		case err != nil:
			a.log().ErrorContext(ctx, "publish result events", "bus", bus, "events", len(entries), "error", err.Error())
		case out.FailedEntryCount > 0:
			for i, e := range out.Entries {
				if e.ErrorCode != nil {
					a.log().ErrorContext(ctx, "publish result event", "bus", bus, "detailType", aws.ToString(entries[i].DetailType),
						"error", fmt.Sprintf("%s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)))
				}
			}
		}
	}
}

// resources lists the ARNs an event is about, for rules that match on them.
func resources(d Detail) []string {
	if strings.HasPrefix(d.TaskDefinition, "arn:") {
		return []string{d.TaskDefinition}
	}
	return nil
}
