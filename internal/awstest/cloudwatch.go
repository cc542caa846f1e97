package awstest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// serveCloudWatch answers the SDK's CloudWatch DescribeAlarms from moto's
// alarms. aws-sdk-go-v2's CloudWatch client (v1.76) speaks the Smithy RPC v2
// CBOR protocol (POST /service/GraniteServiceVersion20100801/operation/
// DescribeAlarms, "Smithy RPC v2 CBOR protocol", smithy.io), which moto 5.2
// does not serve (it answers 404); moto serves CloudWatch's query protocol.
// So the proxy decodes the CBOR request, asks moto by query
// ([localaws.Client.DescribeAlarms]) and answers moto's alarms in CBOR, with
// the members of DescribeAlarmsOutput the SDK's schema names (MetricAlarms,
// CompositeAlarms: AlarmName, AlarmArn, StateValue). Seed alarms with
// [localaws.Client.PutMetricAlarm].
func serveCloudWatch(p *Proxy, local *localaws.Client) {
	p.Intercept("monitoring:DescribeAlarms", func(ctx context.Context, in Intercepted) (*Response, error) {
		req, err := cbor.Decode(in.Call.Request)
		if err != nil && len(in.Call.Request) > 0 {
			return nil, fmt.Errorf("awstest: decode DescribeAlarms request: %w", err)
		}
		var names []string
		if m, ok := req.(cbor.Map); ok {
			if l, ok := m["AlarmNames"].(cbor.List); ok {
				for _, v := range l {
					if s, ok := v.(cbor.String); ok {
						names = append(names, string(s))
					}
				}
			}
		}
		metric, composite, err := local.DescribeAlarms(ctx, names)
		if err != nil {
			return nil, err
		}
		body := cbor.Encode(cbor.Map{"MetricAlarms": alarmList(metric), "CompositeAlarms": alarmList(composite)})
		h := http.Header{}
		h.Set("Content-Type", "application/cbor")
		h.Set("Smithy-Protocol", "rpc-v2-cbor")
		h.Set("X-Amzn-RequestId", "00000000-0000-0000-0000-00000000a0a2")
		return &Response{Status: http.StatusOK, Header: h, Body: body}, nil
	})
}

func alarmList(alarms []localaws.Alarm) cbor.List {
	l := cbor.List{}
	for _, a := range alarms {
		l = append(l, cbor.Map{"AlarmName": cbor.String(a.Name), "AlarmArn": cbor.String(a.ARN), "StateValue": cbor.String(a.State)})
	}
	return l
}
