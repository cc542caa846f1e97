package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventsAPI is the part of the EventBridge API result events use;
// *eventbridge.Client satisfies it.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Result events (DESIGN section 6).
const (
	EventSource          = "ecrdeploy"
	DetailTypeStarted    = "Deployment Started"
	DetailTypeSucceeded  = "Deployment Succeeded"
	DetailTypeFailed     = "Deployment Failed"
	DetailTypeSkipped    = "Deployment Skipped"
	maxEntriesPerRequest = 10
)

// EventDetail is the detail of a result event.
type EventDetail struct {
	Repository             string   `json:"repository"`
	Environment            string   `json:"environment,omitempty"`
	Cluster                string   `json:"cluster,omitempty"`
	Service                string   `json:"service,omitempty"`
	Version                string   `json:"version,omitempty"`
	Tag                    string   `json:"tag,omitempty"`
	Digest                 string   `json:"digest,omitempty"`
	Image                  string   `json:"image,omitempty"`
	TaskDefinition         string   `json:"taskDefinition,omitempty"`
	PreviousTaskDefinition string   `json:"previousTaskDefinition,omitempty"`
	DeploymentID           string   `json:"deploymentId,omitempty"`
	Outcome                Outcome  `json:"outcome,omitempty"`
	Reason                 Reason   `json:"reason,omitempty"`
	Rollout                string   `json:"rollout,omitempty"`
	Trigger                Trigger  `json:"trigger,omitempty"`
	EventID                string   `json:"eventId,omitempty"`
	Error                  string   `json:"error,omitempty"`
	LeadTimeSeconds        *float64 `json:"leadTimeSeconds,omitempty"`
}

// detailType is the result event a row is announced with; "" for none
// (unchanged and planned rows are not news).
func detailType(r ServiceResult) string {
	switch {
	case r.Rollout == RolloutCompleted:
		return DetailTypeSucceeded
	case r.Rollout == RolloutFailed || r.Outcome == Failed:
		return DetailTypeFailed
	case r.Outcome == Deployed:
		return DetailTypeStarted
	case r.Outcome == Skipped:
		return DetailTypeSkipped
	}
	return ""
}

// announcement is one result event to publish.
type announcement struct {
	detailType string
	detail     EventDetail
}

// announcements returns the result events of a result.
func announcements(res Result, eventID string, leadTimes map[string]time.Duration) []announcement {
	var out []announcement
	for _, r := range res.Results {
		dt := detailType(r)
		if dt == "" {
			continue
		}
		d := EventDetail{
			Repository: res.Repository, Environment: r.Environment, Cluster: r.Cluster, Service: r.Service,
			Version: res.Version, Tag: res.Tag, Digest: res.Digest, Image: r.Image,
			TaskDefinition: r.TaskDefinition, PreviousTaskDefinition: r.PreviousTaskDefinition, DeploymentID: r.DeploymentID,
			Outcome: r.Outcome, Reason: r.Reason, Rollout: r.Rollout, Trigger: res.Trigger, EventID: eventID, Error: r.Error,
		}
		if lt, ok := leadTimes[r.Environment+"/"+r.Service]; ok {
			s := lt.Seconds()
			d.LeadTimeSeconds = &s
		}
		out = append(out, announcement{dt, d})
	}
	return out
}

// publish puts result events on the configured bus, ten per request.
// Publishing is best effort: a failure is logged and never fails the
// deployment it reports on.
func (d *Deployer) publish(ctx context.Context, events []announcement) {
	if d.Events == nil || len(events) == 0 {
		return
	}
	bus := d.EventBus
	if bus == "" {
		bus = "default"
	}
	for chunk := range slices.Chunk(events, maxEntriesPerRequest) {
		entries := make([]ebtypes.PutEventsRequestEntry, 0, len(chunk))
		for _, a := range chunk {
			detail, err := json.Marshal(a.detail)
			if err != nil {
				continue
			}
			entries = append(entries, ebtypes.PutEventsRequestEntry{
				Source: aws.String(EventSource), DetailType: aws.String(a.detailType), Detail: aws.String(string(detail)),
				EventBusName: aws.String(bus), Resources: resources(a.detail),
			})
		}
		out, err := d.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		switch {
		case err != nil:
			d.log().ErrorContext(ctx, "publish result events", "bus", bus, "events", len(entries), "error", err.Error())
		case out.FailedEntryCount > 0:
			for i, e := range out.Entries {
				if e.ErrorCode != nil {
					d.log().ErrorContext(ctx, "publish result event", "bus", bus, "detailType", aws.ToString(entries[i].DetailType),
						"error", fmt.Sprintf("%s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)))
				}
			}
		}
	}
}

// resources lists the ARNs an event is about, for rules that match on them.
func resources(d EventDetail) []string {
	var r []string
	if d.TaskDefinition != "" && len(d.TaskDefinition) > 4 && d.TaskDefinition[:4] == "arn:" {
		r = append(r, d.TaskDefinition)
	}
	return r
}
