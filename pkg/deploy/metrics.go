package deploy

import (
	"encoding/json"
	"time"
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

// emitMetrics writes one EMF line per result row: a count by outcome and
// environment, the decision time, and the lead time from push to COMPLETED
// when the row reports a completed rollout.
func (d *Deployer) emitMetrics(res Result, decision time.Duration, leadTimes map[string]time.Duration) {
	if d.Metrics == nil {
		return
	}
	d.metricsMu.Lock()
	defer d.metricsMu.Unlock()
	enc := json.NewEncoder(d.Metrics)
	for _, r := range res.Results {
		outcome := string(r.Outcome)
		if r.Rollout != "" {
			outcome = r.Rollout
		}
		if outcome == "" {
			continue
		}
		var m emf
		m.AWS.Timestamp = d.now().UnixMilli()
		m.Repository, m.Environment, m.Outcome, m.Trigger = res.Repository, r.Environment, outcome, string(res.Trigger)
		one := 1
		m.Deployments = &one
		defs := []emfDefinition{{Name: "Deployments", Unit: "Count"}}
		if r.Outcome != "" {
			ms := float64(decision.Milliseconds())
			m.Decision = &ms
			defs = append(defs, emfDefinition{Name: "DecisionTime", Unit: "Milliseconds"})
		}
		if lt, ok := leadTimes[r.Environment+"/"+r.Service]; ok {
			s := lt.Seconds()
			m.LeadTime = &s
			defs = append(defs, emfDefinition{Name: "LeadTime", Unit: "Seconds"})
		}
		m.AWS.CloudWatchMetrics = []emfMetric{{
			Namespace:  MetricsNamespace,
			Dimensions: [][]string{{"Outcome", "Environment"}, {"Outcome"}},
			Metrics:    defs,
		}}
		_ = enc.Encode(m)
	}
}
