package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// emitted is what the functions' metrics are: namespace, metric names,
// dimension sets and the values of Outcome, read from the EMF lines that
// pkg/announce writes for rows of every outcome and rollout, so that the
// dashboard and the alarms are checked against the code rather than against
// a copy of its names.
type emitted struct {
	namespace  string
	metrics    map[string]bool // metric name
	dimensions map[string]bool // "Outcome,Environment"
	outcomes   map[string]bool // values of the Outcome dimension
	reasons    map[string]bool // values of the Reason dimension
}

func emittedMetrics(t *testing.T) emitted {
	t.Helper()
	var rows []deploy.Row
	for _, o := range []deploy.Outcome{deploy.Deployed, deploy.Unchanged, deploy.Skipped, deploy.Planned, deploy.Failed} {
		rows = append(rows, deploy.Row{Environment: "dev", Outcome: o})
	}
	for _, r := range []state.Rollout{state.InProgress, state.Completed, state.Failed} {
		rows = append(rows, deploy.Row{Environment: "dev", Rollout: r, LeadTime: time.Minute})
	}
	for _, r := range []policy.Reason{policy.Frozen, policy.AwaitingReplica, policy.Restoring, policy.Held} {
		rows = append(rows, deploy.Row{Environment: "dev", Outcome: deploy.Skipped, Reason: r})
	}
	var buf bytes.Buffer
	a := &announce.Announcer{Metrics: &buf}
	a.Measure(deploy.Result{Repository: "hello-color", Results: rows}, time.Second)
	e := emitted{metrics: map[string]bool{}, dimensions: map[string]bool{}, outcomes: map[string]bool{}, reasons: map[string]bool{}}
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var line struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
			Outcome, Reason string
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("an EMF line: %v", err)
		}
		e.outcomes[line.Outcome] = true
		if line.Reason != "" {
			e.reasons[line.Reason] = true
		}
		for _, m := range line.AWS.CloudWatchMetrics {
			e.namespace = m.Namespace
			for _, d := range m.Dimensions {
				e.dimensions[strings.Join(d, ",")] = true
			}
			for _, def := range m.Metrics {
				e.metrics[def.Name] = true
			}
		}
	}
	if e.namespace != announce.MetricsNamespace || len(e.metrics) == 0 {
		t.Fatalf("pkg/announce wrote no metrics in %q: %s", announce.MetricsNamespace, buf.String())
	}
	return e
}

// metricRef is one metric a dashboard widget or an alarm names.
type metricRef struct {
	where      string
	namespace  string
	name       string
	dimensions map[string]string
	stat       string
}

// checkOwnMetric reports a metric in the functions' namespace whose name,
// dimension set or Outcome value the code never emits.
func (e emitted) checkOwnMetric(m metricRef) []string {
	if m.namespace != e.namespace {
		return nil
	}
	var probs []string
	if !e.metrics[m.name] {
		probs = append(probs, fmt.Sprintf("%s: metric %s/%s is not one the functions emit (%s)", m.where, m.namespace, m.name, strings.Join(sortedKeys(e.metrics), ", ")))
	}
	var dims []string
	for _, d := range []string{"Outcome", "Environment", "Reason"} {
		if _, ok := m.dimensions[d]; ok {
			dims = append(dims, d)
		}
	}
	if len(dims) != len(m.dimensions) || !e.dimensions[strings.Join(dims, ",")] {
		probs = append(probs, fmt.Sprintf("%s: metric %s with dimensions %v: the functions emit the sets %s", m.where, m.name, m.dimensions, strings.Join(sortedKeys(e.dimensions), "; ")))
	}
	if o := m.dimensions["Outcome"]; o != "" && !e.outcomes[o] {
		probs = append(probs, fmt.Sprintf("%s: metric %s with Outcome %q: the functions emit %s", m.where, m.name, o, strings.Join(sortedKeys(e.outcomes), ", ")))
	}
	if r := m.dimensions["Reason"]; r != "" && !e.reasons[r] {
		probs = append(probs, fmt.Sprintf("%s: metric %s with Reason %q: the functions emit %s", m.where, m.name, r, strings.Join(sortedKeys(e.reasons), ", ")))
	}
	return probs
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// alarmMetric is the metric an alarm watches.
func alarmMetric(t tmpl, name string) metricRef {
	p := props(t.resource(name))
	m := metricRef{where: "alarm " + name, dimensions: map[string]string{}}
	m.namespace, _ = p["Namespace"].(string)
	m.name, _ = p["MetricName"].(string)
	m.stat, _ = p["Statistic"].(string)
	for _, d := range asList(p["Dimensions"]) {
		dm := asMap(d)
		k, _ := dm["Name"].(string)
		m.dimensions[k] = fmt.Sprint(dm["Value"])
	}
	return m
}

// checkAlarms checks that each dead-letter queue and each function's errors
// have an alarm that goes off on the first message or error, notifying the
// optional AlarmTopicArn, and that an alarm on the functions' own metrics
// names what they emit.
func checkAlarms(t tmpl, e emitted) []string {
	var probs []string
	p := t.parameter("AlarmTopicArn")
	if p == nil || p["Type"] != "String" || p["Default"] != "" {
		probs = append(probs, "parameter AlarmTopicArn: want an optional String (default empty)")
	}
	wantCond := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AlarmTopicArn"}, ""}}}}
	if !reflect.DeepEqual(t.section("Conditions")["HasAlarmTopic"], wantCond) {
		probs = append(probs, `condition HasAlarmTopic: want !Not [!Equals [!Ref AlarmTopicArn, ""]]`)
	}
	watched := map[string]bool{}
	for _, name := range t.namesOfType("AWS::CloudWatch::Alarm") {
		m := alarmMetric(t, name)
		probs = append(probs, e.checkOwnMetric(m)...)
		switch {
		case m.namespace == "AWS/SQS" && m.name == "ApproximateNumberOfMessagesVisible":
			watched["queue "+m.dimensions["QueueName"]] = true
		case m.namespace == "AWS/Lambda" && m.name == "Errors":
			watched["function "+m.dimensions["FunctionName"]] = true
		}
		ap := props(t.resource(name))
		if th, ok := asNumber(ap["Threshold"]); !ok || th != 0 || ap["ComparisonOperator"] != "GreaterThanThreshold" {
			probs = append(probs, fmt.Sprintf("alarm %s: want Threshold 0 and GreaterThanThreshold (the first occurrence)", name))
		}
		if ap["TreatMissingData"] != "notBreaching" {
			probs = append(probs, fmt.Sprintf("alarm %s: TreatMissingData %v, want notBreaching (no data is nothing wrong)", name, ap["TreatMissingData"]))
		}
		wantActions := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{map[string]any{"Ref": "AlarmTopicArn"}}, map[string]any{"Ref": "AWS::NoValue"}}}
		for _, k := range []string{"AlarmActions", "OKActions"} {
			if !reflect.DeepEqual(ap[k], wantActions) {
				probs = append(probs, fmt.Sprintf("alarm %s: %s %v, want !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]", name, k, ap[k]))
			}
		}
	}
	for _, want := range []string{
		"queue map[Fn::GetAtt:[EventDeadLetterQueue", "queue map[Fn::GetAtt:[FailedInvocationQueue",
		"function map[Ref:" + deployer + "]", "function map[Ref:" + promoter + "]",
	} {
		if !slices.ContainsFunc(sortedKeys(watched), func(w string) bool { return strings.HasPrefix(w, want) }) {
			probs = append(probs, fmt.Sprintf("no alarm on %s…] (alarms watch: %s)", want, strings.Join(sortedKeys(watched), "; ")))
		}
	}
	return probs
}

// searchExpression matches the parts of a CloudWatch SEARCH expression
// that name a schema and a metric: {namespace,dimension,...} MetricName="name".
var searchExpression = regexp.MustCompile(`\{([^}]*)\}\s+MetricName="([^"]+)"`)

// dashboardMetrics returns the metrics the dashboard's widgets show, with
// the template's ${...} substitutions left as text, and the problems of its
// body.
func dashboardMetrics(t tmpl) ([]metricRef, []string) {
	names := t.namesOfType("AWS::CloudWatch::Dashboard")
	if len(names) != 1 {
		return nil, []string{fmt.Sprintf("want one AWS::CloudWatch::Dashboard, have %d", len(names))}
	}
	body, ok := asMap(props(t.resource(names[0]))["DashboardBody"])["Fn::Sub"].(string)
	if !ok {
		return nil, []string{"dashboard: DashboardBody is not a !Sub string"}
	}
	var doc struct {
		Widgets []struct {
			Properties struct {
				Title   string
				Stat    string
				Metrics [][]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return nil, []string{"dashboard: DashboardBody is not JSON: " + err.Error()}
	}
	var refs []metricRef
	var probs []string
	for _, w := range doc.Widgets {
		where := fmt.Sprintf("dashboard widget %q", w.Properties.Title)
		for _, m := range w.Properties.Metrics {
			ref := metricRef{where: where, dimensions: map[string]string{}, stat: w.Properties.Stat}
			var strs []string
			for _, v := range m {
				switch v := v.(type) {
				case string:
					strs = append(strs, v)
				case map[string]any:
					if s, ok := v["stat"].(string); ok {
						ref.stat = s
					}
					if expr, ok := v["expression"].(string); ok {
						for _, sm := range searchExpression.FindAllStringSubmatch(expr, -1) {
							schema := strings.Split(sm[1], ",")
							r := metricRef{where: where, namespace: schema[0], name: sm[2], dimensions: map[string]string{}}
							for _, d := range schema[1:] {
								r.dimensions[d] = ""
							}
							refs = append(refs, r)
						}
					}
				}
			}
			if len(strs) == 0 {
				continue // an expression
			}
			if len(strs) < 2 || len(strs)%2 != 0 {
				probs = append(probs, fmt.Sprintf("%s: metric %q: want namespace, name and dimension pairs (no \".\" shorthand)", where, strs))
				continue
			}
			ref.namespace, ref.name = strs[0], strs[1]
			for i := 2; i < len(strs); i += 2 {
				ref.dimensions[strs[i]] = strs[i+1]
			}
			refs = append(refs, ref)
		}
	}
	return refs, probs
}

// checkDashboard checks that the dashboard shows deployments by outcome,
// failures and the lead time's p50 and p90, each under the names and
// dimensions the functions emit.
func checkDashboard(t tmpl, e emitted) []string {
	refs, probs := dashboardMetrics(t)
	shown := map[string]bool{}
	for _, m := range refs {
		probs = append(probs, e.checkOwnMetric(m)...)
		if m.namespace != e.namespace {
			continue
		}
		if r := m.dimensions["Reason"]; r != "" {
			shown[m.name+" reason "+r] = true
		} else {
			shown[m.name+" "+m.dimensions["Outcome"]] = true
		}
		shown[m.name+" "+m.stat] = true
	}
	for o := range e.outcomes {
		if !shown["Deployments "+o] {
			probs = append(probs, fmt.Sprintf("dashboard: no graph of Deployments with Outcome %q", o))
		}
	}
	for r := range e.reasons {
		if !shown["Deployments reason "+r] {
			probs = append(probs, fmt.Sprintf("dashboard: no graph of the Deployments held back with Reason %q", r))
		}
	}
	for _, stat := range []string{"p50", "p90"} {
		if !shown["LeadTime "+stat] {
			probs = append(probs, "dashboard: no graph of LeadTime "+stat)
		}
	}
	return probs
}

// checkBoardWidget checks that the dashboard shows the release board: a
// custom widget whose endpoint is the board function's ARN, drawn again on
// refresh and on resize (it is sized to the widget). A custom widget is
// {"type": "custom", "properties": {"endpoint": ARN, "params", "title",
// "updateOn": {"refresh", "resize", "timeRange"}}}, as AWS's CDK writes it
// (aws/aws-cdk, packages/aws-cdk-lib/aws-cloudwatch/lib/graph.ts,
// CustomWidget.toJson) and AWS's samples use it
// (aws-samples/cloudwatch-custom-widgets-samples, samples/*/dashboard.json).
func checkBoardWidget(t tmpl) []string {
	names := t.namesOfType("AWS::CloudWatch::Dashboard")
	if len(names) != 1 {
		return []string{fmt.Sprintf("want one AWS::CloudWatch::Dashboard, have %d", len(names))}
	}
	body, _ := asMap(props(t.resource(names[0]))["DashboardBody"])["Fn::Sub"].(string)
	var doc struct {
		Widgets []struct {
			Type       string
			Width      int
			Properties struct {
				Endpoint string
				Title    string
				UpdateOn map[string]bool
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return []string{"dashboard: DashboardBody is not JSON: " + err.Error()}
	}
	for _, w := range doc.Widgets {
		if w.Type != "custom" || w.Properties.Endpoint != "${"+board+".Arn}" {
			continue
		}
		var probs []string
		if !w.Properties.UpdateOn["refresh"] || !w.Properties.UpdateOn["resize"] {
			probs = append(probs, fmt.Sprintf("dashboard: the board's widget updateOn %v: want refresh and resize", w.Properties.UpdateOn))
		}
		if w.Properties.Title == "" {
			probs = append(probs, "dashboard: the board's widget has no title")
		}
		return probs
	}
	return []string{"dashboard: no custom widget with endpoint ${" + board + ".Arn}: the release board is not on it"}
}

// TestOperations checks the alarms and the dashboard against the metrics
// the code emits, and that the dashboard shows the release board.
func TestOperations(t *testing.T) {
	tpl, err := load(mustReadTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	e := emittedMetrics(t)
	for _, p := range append(append(checkAlarms(tpl, e), checkDashboard(tpl, e)...), checkBoardWidget(tpl)...) {
		t.Error(p)
	}
}

// TestOperationsChecksBite edits the template so that it names a metric the
// code does not emit, or drops an alarm, and expects the checks to say so.
func TestOperationsChecksBite(t *testing.T) {
	text := string(mustReadTemplate(t))
	tests := []struct{ name, old, new, want string }{
		{"a metric the code does not emit", `["ecrdeploy", "LeadTime", "Outcome", "completed", {"stat": "p90"`, `["ecrdeploy", "LeadTimeSeconds", "Outcome", "completed", {"stat": "p90"`, `metric ecrdeploy/LeadTimeSeconds is not one the functions emit`},
		{"an outcome the code does not emit", `["ecrdeploy", "Deployments", "Outcome", "skipped"]`, `["ecrdeploy", "Deployments", "Outcome", "SKIPPED"]`, `Outcome "SKIPPED"`},
		{"a dimension set the code does not emit", `["ecrdeploy", "Deployments", "Outcome", "planned"]`, `["ecrdeploy", "Deployments", "Outcome", "planned", "Repository", "hello-color"]`, "dimensions map[Outcome:planned Repository:hello-color]"},
		{"no p90", `{"stat": "p90", "label": "p90"}]
              ]}},
            {"type": "metric", "x": 12, "y": 6`, `{"stat": "p50", "label": "p90"}]
              ]}},
            {"type": "metric", "x": 12, "y": 6`, "no graph of LeadTime p90"},
		{"an alarm without the topic", "      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n\n  FailedInvocationQueueAlarm:", "\n  FailedInvocationQueueAlarm:", "OKActions <nil>"},
		{"no alarm on the promoter", "          Value: !Ref PromoterFunction\n", "          Value: !Ref DeployerFunction\n", "no alarm on function map[Ref:PromoterFunction]"},
		{"a search for another metric", `MetricName=\"Deployments\"`, `MetricName=\"Deployment\"`, "metric ecrdeploy/Deployment is not one"},
		{"no board", `"endpoint": "${BoardFunction.Arn}"`, `"endpoint": "${PromoterFunction.Arn}"`, "no custom widget with endpoint ${BoardFunction.Arn}"},
		{"a board not redrawn on resize", `"resize": true, "timeRange": false`, `"resize": false, "timeRange": false`, "want refresh and resize"},
		{"a reason the code does not count", `"Reason", "awaiting-replica"]`, `"Reason", "held"]`, `Reason "held"`},
		{"no graph of frozen", `                ["ecrdeploy", "Deployments", "Outcome", "skipped", "Reason", "frozen"],
`, "", `no graph of the Deployments held back with Reason "frozen"`},
	}
	e := emittedMetrics(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(text, tt.old) {
				t.Fatalf("template.yaml does not contain %q", tt.old)
			}
			tpl, err := load([]byte(strings.Replace(text, tt.old, tt.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			probs := append(append(checkAlarms(tpl, e), checkDashboard(tpl, e)...), checkBoardWidget(tpl)...)
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("no problem mentions %q; problems:\n%s", tt.want, strings.Join(probs, "\n"))
			}
		})
	}
}
