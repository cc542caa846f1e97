package announce

import (
	"encoding/json"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// MetricsNamespace is the CloudWatch namespace of ecrdeploy's metrics.
const MetricsNamespace = "ecrdeploy"

// emf is one CloudWatch Embedded Metric Format record.
type emf struct {
	AWS struct {
		Timestamp         int64       `json:"Timestamp"`
		CloudWatchMetrics []emfMetric `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	Repository  string   `json:"Repository"`
	Environment string   `json:"Environment"`
	Outcome     string   `json:"Outcome"`
	Reason      string   `json:"Reason,omitempty"`
	Trigger     string   `json:"Trigger,omitempty"`
	Deployments *int     `json:"Deployments,omitempty"`
	LeadTime    *float64 `json:"LeadTime,omitempty"`
	Decision    *float64 `json:"DecisionTime,omitempty"`
}

type emfMetric struct {
	Namespace  string          `json:"Namespace"`
	Dimensions [][]string      `json:"Dimensions"`
	Metrics    []emfDefinition `json:"Metrics"`
}

type emfDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emitMetrics writes one EMF line per result row: a count by outcome (or
// rollout) and environment, the decision time of rows with an outcome, and
// the lead time from push to completion of rows that report one. A row held
// back (heldBack: frozen, awaiting-replica, restoring) is counted by its
// reason too, so that a dashboard shows them; other skips are not, each
// reason a metric of its own being a cost.
func (a *Announcer) emitMetrics(res deploy.Result, decision time.Duration) {
	if a.Metrics == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	enc := json.NewEncoder(a.Metrics)
	for _, r := range res.Results {
		outcome := string(r.Outcome)
		if r.Rollout != "" {
			outcome = string(r.Rollout)
		}
		if outcome == "" {
			continue
		}
		var m emf
		m.AWS.Timestamp = a.now().UnixMilli()
		m.Repository, m.Environment, m.Outcome, m.Trigger = res.Repository, r.Environment, outcome, string(res.Cause)
		one := 1
		m.Deployments = &one
		defs := []emfDefinition{{Name: "Deployments", Unit: "Count"}}
		if r.Outcome != "" {
			ms := float64(decision.Milliseconds())
			m.Decision = &ms
			defs = append(defs, emfDefinition{Name: "DecisionTime", Unit: "Milliseconds"})
		}
		if r.LeadTime > 0 {
			s := r.LeadTime.Seconds()
			m.LeadTime = &s
			defs = append(defs, emfDefinition{Name: "LeadTime", Unit: "Seconds"})
		}
		dims := [][]string{{"Outcome", "Environment"}, {"Outcome"}}
		if r.Outcome == deploy.Skipped && heldBack[r.Reason] {
			m.Reason = string(r.Reason)
			dims = append(dims, []string{"Outcome", "Reason"})
		}
		m.AWS.CloudWatchMetrics = []emfMetric{{
			Namespace:  MetricsNamespace,
			Dimensions: dims,
			Metrics:    defs,
		}}
		_ = enc.Encode(m)
	}
}
