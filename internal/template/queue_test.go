package template

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// registrationQueue is the only resource sqs:SendMessage may name: the
// queue the deployer hands deliveries off to.
const registrationQueue = "!GetAtt RegistrationQueue.Arn"

// checkRegistrationQueue checks the deployer's hand-off of deliveries whose
// registration slot is far off: the queue (encrypted, a visibility timeout
// of at least six times the deployer's timeout, a redrive to a dead-letter
// queue of this template that keeps messages at least as long), its URL in
// the deployer's ECRDEPLOY_QUEUE and in no other function's, the deployer's
// SQS event of it (one message a batch, a maximum concurrency SQS accepts
// that leaves room in the deployer's reserved concurrency), and the
// deployer's grant of sqs:SendMessage on it, without condition: without
// it, every hand-off fails.
func checkRegistrationQueue(t tmpl) []string {
	var probs []string
	fail := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	if t.resourceType("RegistrationQueue") != "AWS::SQS::Queue" {
		return []string{"RegistrationQueue: want an AWS::SQS::Queue resource"}
	}
	q := props(t.resource("RegistrationQueue"))
	if q["SqsManagedSseEnabled"] != true {
		fail("RegistrationQueue: SqsManagedSseEnabled %v, want true", q["SqsManagedSseEnabled"])
	}
	timeout, _ := asNumber(t.functionProperty(deployer, "Timeout"))
	if v, ok := asNumber(q["VisibilityTimeout"]); !ok || timeout == 0 || v < 6*timeout {
		fail("RegistrationQueue: VisibilityTimeout %v, want at least six times the deployer's Timeout (%v s), as AWS recommends for an SQS event source", q["VisibilityTimeout"], timeout)
	}
	retention, ok := asNumber(q["MessageRetentionPeriod"])
	if !ok {
		fail("RegistrationQueue: MessageRetentionPeriod %v, want a number of seconds", q["MessageRetentionPeriod"])
	}
	redrive := asMap(q["RedrivePolicy"])
	att, _ := asMap(redrive["deadLetterTargetArn"])["Fn::GetAtt"].([]any)
	if len(att) != 2 || att[1] != "Arn" || t.resourceType(fmt.Sprint(att[0])) != "AWS::SQS::Queue" || att[0] == "RegistrationQueue" {
		fail("RegistrationQueue: RedrivePolicy.deadLetterTargetArn %v, want !GetAtt <another SQS queue of this template>.Arn", redrive["deadLetterTargetArn"])
	} else if dlq, ok := asNumber(props(t.resource(fmt.Sprint(att[0])))["MessageRetentionPeriod"]); !ok || dlq < retention {
		fail("RegistrationQueue: its dead-letter queue %s keeps messages %v s, less than the queue's %v s (a message moved keeps its first enqueue time)", att[0], dlq, retention)
	}
	if n, ok := asNumber(redrive["maxReceiveCount"]); !ok || n != 5 {
		fail("RegistrationQueue: RedrivePolicy.maxReceiveCount %v, want 5", redrive["maxReceiveCount"])
	}

	for _, fn := range []string{deployer, promoter, board} {
		got, set := asMap(asMap(t.functionProperty(fn, "Environment"))["Variables"])["ECRDEPLOY_QUEUE"]
		switch {
		case fn == deployer && !reflect.DeepEqual(got, map[string]any{"Ref": "RegistrationQueue"}):
			fail("%s: environment ECRDEPLOY_QUEUE = %v, want !Ref RegistrationQueue", fn, got)
		case fn != deployer && set:
			fail("%s: environment ECRDEPLOY_QUEUE = %v: only the deployer hands deliveries off", fn, got)
		}
	}

	var sqsEvents []map[string]any
	for _, ev := range asMap(props(t.resource(deployer))["Events"]) {
		if ev := asMap(ev); ev["Type"] == "SQS" {
			sqsEvents = append(sqsEvents, asMap(ev["Properties"]))
		}
	}
	if len(sqsEvents) != 1 {
		fail("%s: %d SQS events, want one, of RegistrationQueue", deployer, len(sqsEvents))
	}
	for _, p := range sqsEvents {
		if got := p["Queue"]; !reflect.DeepEqual(got, map[string]any{"Fn::GetAtt": []any{"RegistrationQueue", "Arn"}}) {
			fail("%s: SQS event Queue %v, want %s", deployer, got, registrationQueue)
		}
		if n, ok := asNumber(p["BatchSize"]); !ok || n != 1 {
			fail("%s: SQS event BatchSize %v, want 1 (a failed delivery is received again alone)", deployer, p["BatchSize"])
		}
		reserved, _ := asNumber(t.parameter("DeployerReservedConcurrency")["Default"])
		max := asMap(p["ScalingConfig"])["MaximumConcurrency"]
		if n, ok := asNumber(max); !ok || n < 2 || n > 1000 || n > reserved {
			fail("%s: SQS event ScalingConfig.MaximumConcurrency %v, want 2 to 1000 (SQS's bounds) and at most DeployerReservedConcurrency's default %v", deployer, max, reserved)
		}
	}

	granted := false
	for _, st := range t.statements() {
		actions, _ := stringList(st.body["Action"])
		if strings.HasPrefix(st.where, deployer+".") && len(st.guards) == 0 && st.body["Effect"] == "Allow" &&
			reflect.DeepEqual(actions, []string{"sqs:SendMessage"}) && reflect.DeepEqual(resourceForms(st.body["Resource"]), []string{registrationQueue}) {
			granted = true
		}
	}
	if !granted {
		fail("%s: no statement of its own Policies allows sqs:SendMessage on %s alone, without condition: every hand-off would fail", deployer, registrationQueue)
	}
	return probs
}

// TestRegistrationQueueChecksBite proves the registration queue's checks
// bite: each edit of the real template widens the hand-off's permission,
// drops it, or breaks the queue, and must be reported.
func TestRegistrationQueueChecksBite(t *testing.T) {
	text := string(mustReadTemplate(t))
	const grant = "              Action:\n                - sqs:SendMessage\n              Resource:\n                - !GetAtt RegistrationQueue.Arn\n"
	tests := []templateEdit{
		{
			name: "no SendMessage",
			old:  grant,
			new:  "              Action:\n                - ecr:DescribeImages\n              Resource:\n                - !Sub arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*\n",
			want: "no statement of its own Policies allows sqs:SendMessage",
		},
		{
			name: "SendMessage on every queue",
			old:  grant,
			new:  "              Action:\n                - sqs:SendMessage\n              Resource:\n                - !Sub arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:*\n",
			want: "sqs:SendMessage on",
		},
		{
			name: "SendMessage on the dead-letter queue too",
			old:  grant,
			new:  grant + "                - !GetAtt EventDeadLetterQueue.Arn\n",
			want: "want exactly !GetAtt RegistrationQueue.Arn",
		},
		{
			name: "every SQS action",
			old:  grant,
			new:  "              Action:\n                - sqs:*\n              Resource:\n                - !GetAtt RegistrationQueue.Arn\n",
			want: `action "sqs:*" has a wildcard`,
		},
		{
			name: "the receive beside the send",
			old:  grant,
			new:  "              Action:\n                - sqs:SendMessage\n                - sqs:ReceiveMessage\n              Resource:\n                - !GetAtt RegistrationQueue.Arn\n",
			want: "want sqs:SendMessage alone in its statement",
		},
		{
			name: "SendMessage for the promoter too",
			old:  "          - Sid: EmitResultEvents\n",
			new:  "          - Sid: Send\n            Effect: Allow\n            Action: sqs:SendMessage\n            Resource: !GetAtt RegistrationQueue.Arn\n          - Sid: EmitResultEvents\n",
			want: "sqs:SendMessage outside the deployer's own Policies",
		},
		{
			name: "queue setting not wired",
			old:  "ECRDEPLOY_QUEUE: !Ref RegistrationQueue",
			new:  "ECRDEPLOY_QUEUE: https://sqs.us-east-1.amazonaws.com/123456789012/other",
			want: "ECRDEPLOY_QUEUE",
		},
		{
			name: "a short visibility timeout",
			old:  "VisibilityTimeout: 5400",
			new:  "VisibilityTimeout: 900",
			want: "VisibilityTimeout 900, want at least six times",
		},
		{
			name: "no redrive",
			old:  "        maxReceiveCount: 5\n",
			new:  "        maxReceiveCount: 1000\n",
			want: "maxReceiveCount 1000, want 5",
		},
		{
			name: "a batch of ten",
			old:  "            BatchSize: 1\n",
			new:  "            BatchSize: 10\n",
			want: "BatchSize 10, want 1",
		},
		{
			name: "more concurrency than reserved",
			old:  "              MaximumConcurrency: 10\n",
			new:  "              MaximumConcurrency: 50\n",
			want: "MaximumConcurrency 50",
		},
	}
	checkEditsCaught(t, text, tests)
}
