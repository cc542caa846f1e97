package localaws

import (
	"context"
	"fmt"
	"net/url"
)

// cloudWatchVersion is the API version of CloudWatch's query protocol.
const cloudWatchVersion = "2010-08-01"

// PutMetricAlarm creates (or replaces) a metric alarm named name in moto's
// CloudWatch, on a made-up metric: a test needs the alarm to exist, not to
// measure anything.
func (c *Client) PutMetricAlarm(ctx context.Context, name string) error {
	form := url.Values{
		"Action": {"PutMetricAlarm"}, "AlarmName": {name},
		"Namespace": {"ecrdeploy/test"}, "MetricName": {"Errors"}, "Statistic": {"Sum"},
		"Period": {"60"}, "EvaluationPeriods": {"1"}, "Threshold": {"1"},
		"ComparisonOperator": {"GreaterThanOrEqualToThreshold"},
	}
	if err := c.query(ctx, "monitoring", cloudWatchVersion, form, nil); err != nil {
		return fmt.Errorf("put metric alarm %s: %w", name, err)
	}
	return nil
}

// Alarm is a CloudWatch alarm as moto's DescribeAlarms reports it.
type Alarm struct {
	Name  string `xml:"AlarmName"`
	ARN   string `xml:"AlarmArn"`
	State string `xml:"StateValue"`
}

// DescribeAlarms returns the metric and composite alarms of moto's
// CloudWatch among names (at most 100, DescribeAlarms' limit); names moto
// does not have are absent.
func (c *Client) DescribeAlarms(ctx context.Context, names []string) (metric, composite []Alarm, err error) {
	form := url.Values{"Action": {"DescribeAlarms"}, "AlarmTypes.member.1": {"MetricAlarm"}, "AlarmTypes.member.2": {"CompositeAlarm"}}
	for i, n := range names {
		form.Set(fmt.Sprintf("AlarmNames.member.%d", i+1), n)
	}
	var out struct {
		Metric    []Alarm `xml:"DescribeAlarmsResult>MetricAlarms>member"`
		Composite []Alarm `xml:"DescribeAlarmsResult>CompositeAlarms>member"`
	}
	if err := c.query(ctx, "monitoring", cloudWatchVersion, form, &out); err != nil {
		return nil, nil, fmt.Errorf("describe alarms: %w", err)
	}
	return out.Metric, out.Composite, nil
}
