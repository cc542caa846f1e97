package target

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatchAPI is the part of the CloudWatch API ecrdeploy calls;
// *cloudwatch.Client satisfies it.
type CloudWatchAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// CloudWatch returns the target's CloudWatch client. Verification is rare,
// so it is not kept.
func (p *Pool) CloudWatch(ctx context.Context, t Target) (CloudWatchAPI, error) {
	cfg, err := p.config(ctx, t)
	if err != nil {
		return nil, err
	}
	return cloudwatch.NewFromConfig(cfg), nil
}

// MissingAlarms returns the alarms among names that CloudWatch does not
// have, metric or composite, in the order given: the alarms an ECS
// deployment would watch in vain. It asks for 100 names a call, the most
// DescribeAlarms takes, and returns DescribeAlarms' error, wrapped, when a
// call fails.
func MissingAlarms(ctx context.Context, client CloudWatchAPI, names []string) ([]string, error) {
	found := map[string]bool{}
	for chunk := range slices.Chunk(names, 100) {
		out, err := client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{
			AlarmNames: chunk,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		})
		if err != nil {
			return nil, fmt.Errorf("describe alarms: %w", err)
		}
		for _, a := range out.MetricAlarms {
			found[aws.ToString(a.AlarmName)] = true
		}
		for _, a := range out.CompositeAlarms {
			found[aws.ToString(a.AlarmName)] = true
		}
	}
	var missing []string
	for _, n := range names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	return missing, nil
}
