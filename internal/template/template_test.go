package template

import (
	"strings"
	"testing"
)

// TestTemplate checks the SAM template's security properties and shape.
func TestTemplate(t *testing.T) {
	tpl, err := load(mustReadTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name  string
		check func(tmpl) []string
	}{
		{"policy statements", checkStatements},
		{"function policies", checkFunctionPolicies},
		{"functions", checkFunctions},
		{"parameters", checkParameters},
		{"events", checkEvents},
		{"state table", checkStateTable},
		{"board reads only", checkBoardReadOnly},
		{"CodeDeploy granted", checkCodeDeployGranted},
		{"registration queue", checkRegistrationQueue},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.check(tpl) {
				t.Error(p)
			}
		})
	}
}

// templateEdit is an edit of the real template that the checks must
// report: a problem containing want.
type templateEdit struct {
	name     string
	old, new string
	want     string // in one of the problems
}

// checkEditsCaught applies each edit alone to text, the real template, and
// checks that checkAll reports it.
func checkEditsCaught(t *testing.T, text string, edits []templateEdit) {
	t.Helper()
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			if n := strings.Count(text, tt.old); n != 1 {
				t.Fatalf("the edit's old text occurs %d times in template.yaml, want once: update this case to the template", n)
			}
			tpl, err := load([]byte(strings.Replace(text, tt.old, tt.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			probs := checkAll(tpl)
			for _, p := range probs {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("no problem contains %q; got %q", tt.want, probs)
		})
	}
}

// TestChecksCatchWidening proves the checks bite: each edit of the real
// template widens a permission or drops a safeguard, and must be reported.
func TestChecksCatchWidening(t *testing.T) {
	text := string(mustReadTemplate(t))
	tests := []templateEdit{
		{
			name: "PassRole without its condition",
			old:  "            Condition:\n              StringEquals:\n                iam:PassedToService: ecs-tasks.amazonaws.com\n",
			new:  "",
			want: "iam:PassRole without Condition",
		},
		{
			name: "PassRole to another service",
			old:  "iam:PassedToService: ecs-tasks.amazonaws.com",
			new:  "iam:PassedToService: lambda.amazonaws.com",
			want: "iam:PassRole without Condition",
		},
		{
			name: "PassRole on any resource",
			old:  "- !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*",
			new:  `- "*"`,
			want: `iam:PassRole on "*"`,
		},
		{
			name: "action star in a list",
			old:  "              - ecs:DescribeServices\n",
			new:  "              - \"*\"\n",
			want: `action "*" has a wildcard`,
		},
		{
			name: "action star as a string",
			old:  "            Action:\n              - ecr:DescribeImages\n",
			new:  "            Action: \"*\"\n",
			want: `action "*" has a wildcard`,
		},
		{
			name: "service wildcard",
			old:  "- ecs:UpdateService",
			new:  "- ecs:*",
			want: `action "ecs:*" has a wildcard`,
		},
		{
			name: "partial wildcard",
			old:  "- dynamodb:Query",
			new:  "- dynamodb:Get*",
			want: `action "dynamodb:Get*" has a wildcard`,
		},
		{
			name: "NotAction",
			old:  "            Action:\n              - ecr:DescribeImages\n",
			new:  "            NotAction:\n              - ecr:DescribeImages\n",
			want: "NotAction is not allowed",
		},
		{
			name: "an action the code does not call",
			old:  "              - ecr:DescribeImages\n",
			new:  "              - ecr:DescribeImages\n              - ecr:DeleteRepository\n",
			want: `"ecr:DeleteRepository" is not one the code calls`,
		},
		{
			name: "AssumeRole on any role",
			old:  "Resource: !Ref TargetRoleArns",
			new:  `Resource: "*"`,
			want: "sts:AssumeRole on",
		},
		{
			name: "AssumeRole without the condition",
			old:  "          - Sid: DescribeImages\n",
			new:  "          - Sid: Assume\n            Effect: Allow\n            Action: sts:AssumeRole\n            Resource: !Ref TargetRoleArns\n          - Sid: DescribeImages\n",
			want: "sts:AssumeRole only under the condition",
		},
		{
			name: "SSM write on the old state",
			old:  "              - ssm:GetParameterHistory\n            Resource:\n              - !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Prefix}/state\n",
			new:  "              - ssm:GetParameterHistory\n              - ssm:PutParameter\n            Resource:\n              - !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Prefix}/state\n",
			want: "the functions write no parameter",
		},
		{
			name: "state table deleted with the stack",
			old:  "    Type: AWS::DynamoDB::Table\n    DeletionPolicy: Retain\n",
			new:  "    Type: AWS::DynamoDB::Table\n    DeletionPolicy: Delete\n",
			want: "DeletionPolicy Delete, want Retain",
		},
		{
			name: "state table without point-in-time recovery",
			old:  "PointInTimeRecoveryEnabled: true",
			new:  "PointInTimeRecoveryEnabled: false",
			want: "PointInTimeRecoveryEnabled false, want true",
		},
		{
			name: "DynamoDB on every table",
			old:  "              - dynamodb:BatchWriteItem\n            Resource:\n              - !GetAtt StateTable.Arn\n",
			new:  "              - dynamodb:BatchWriteItem\n            Resource:\n              - !Sub arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*\n",
			want: "want the state table alone",
		},
		{
			name: "DynamoDB action the code does not call",
			old:  "              - dynamodb:Query\n",
			new:  "              - dynamodb:Query\n              - dynamodb:Scan\n",
			want: `"dynamodb:Scan" is not one the code calls`,
		},
		{
			name: "deleting records",
			old:  "            Condition:\n              ForAllValues:StringLike:\n                dynamodb:LeadingKeys:\n                  - \"pending#*\"\n",
			new:  "",
			want: "dynamodb:DeleteItem only under Condition",
		},
		{
			name: "deleting records of any partition",
			old:  "                  - \"pending#*\"\n",
			new:  "                  - \"*\"\n",
			want: "dynamodb:DeleteItem only under Condition",
		},
		{
			name: "deleting beside other writes",
			old:  "              - dynamodb:DeleteItem\n",
			new:  "              - dynamodb:DeleteItem\n              - dynamodb:UpdateItem\n",
			want: "dynamodb:DeleteItem beside",
		},
		{
			name: "SSM read outside the prefix",
			old:  "parameter${Prefix}/config/*\n          # The state table",
			new:  "parameter/*\n          # The state table",
			want: "want parameters under",
		},
		{
			name: "star resource for an action that takes ARNs",
			old:  "              - ecs:UpdateService\n            Resource:\n              - !Sub arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service/*",
			new:  "              - ecs:UpdateService\n            Resource:\n              - \"*\"",
			want: `Resource "*" with ecs:UpdateService`,
		},
		{
			name: "service deployments of any resource",
			old:  "              - !Sub arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service-revision/*",
			new:  "              - \"*\"",
			want: `Resource "*" with ecs:ListServiceDeployments`,
		},
		{
			name: "CodeDeploy deployments of any resource",
			old:  "              - codedeploy:BatchGetDeploymentGroups\n            Resource:\n              - !Sub arn:${AWS::Partition}:codedeploy:*:${AWS::AccountId}:deploymentgroup:*\n",
			new:  "              - codedeploy:BatchGetDeploymentGroups\n            Resource: \"*\"\n",
			want: `Resource "*" with codedeploy:CreateDeployment`,
		},
		{
			name: "CodeDeploy deployment groups of any account",
			old:  "codedeploy:*:${AWS::AccountId}:deploymentgroup:*",
			new:  "codedeploy:*:*:deploymentgroup:*",
			want: "codedeploy:CreateDeployment on",
		},
		{
			name: "a CodeDeploy action on another resource type",
			old:  "              - codedeploy:ListDeploymentGroups\n",
			new:  "              - codedeploy:ListDeploymentGroups\n              - codedeploy:StopDeployment\n",
			want: `codedeploy:StopDeployment on ["arn:${AWS::Partition}:codedeploy:*:${AWS::AccountId}:application:*"], want exactly *`,
		},
		{
			name: "a CodeDeploy action the code does not call",
			old:  "              - codedeploy:GetDeploymentGroup\n",
			new:  "              - codedeploy:GetDeploymentGroup\n              - codedeploy:DeleteDeploymentGroup\n",
			want: `"codedeploy:DeleteDeploymentGroup" is not one the code calls`,
		},
		{
			name: "a CodeDeploy call not granted",
			old:  "              - codedeploy:StopDeployment\n",
			new:  "",
			want: "codedeploy:StopDeployment, which deploying a CODE_DEPLOY service needs",
		},
		{
			name: "service deployment answers on any resource",
			old:  "              - !Sub arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service-deployment/*",
			new:  "              - \"*\"",
			want: `Resource "*" with ecs:DescribeServiceDeployments`,
		},
		{
			name: "approving another account's deployments",
			old:  "${AWS::AccountId}:service-deployment/*\n",
			new:  "*:service-deployment/*\n",
			want: `want the services of this account and their service deployments only`,
		},
		{
			name: "stopping any ECS resource",
			old:  "${AWS::AccountId}:service-deployment/*\n",
			new:  "${AWS::AccountId}:*\n",
			want: `want the services of this account and their service deployments only`,
		},
		{
			name: "the board reading another account's service deployments",
			old:  "${AWS::AccountId}:service-deployment/*\"",
			new:  "*:service-deployment/*\"",
			want: `want the services of this account and their service deployments only`,
		},
		{
			name: "continuing deployments on task definitions",
			old:  "              - ecs:ContinueServiceDeployment\n",
			new:  "              - ecs:ContinueServiceDeployment\n            Resource:\n              - !Sub arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:task-definition/*\n          - Sid: More\n            Effect: Allow\n            Action:\n",
			want: `want the services of this account and their service deployments only`,
		},
		{
			name: "hook rule for hooks in progress too",
			old:  "                  - HOOK_AWAITING_ACTION\n",
			new:  "                  - HOOK_IN_PROGRESS\n                  - HOOK_AWAITING_ACTION\n",
			want: "pattern detail.eventName",
		},
		{
			name: "no hook rule",
			old:  "              detail-type: [ECS Hook State Change]",
			new:  "              detail-type: [ECS Deployment State Change]",
			want: "0 ECS hook rules",
		},
		{
			name: "hook rule without dead-letter queue in the queue policy",
			old:  "                  - !GetAtt DeployerFunctionHookStateChange.Arn\n",
			new:  "",
			want: "!GetAtt DeployerFunctionHookStateChange.Arn",
		},
		{
			name: "tagging beyond registration",
			old:  "ecs:CreateAction: RegisterTaskDefinition",
			new:  "ecs:ResourceTag/x: y",
			want: "ecs:TagResource without Condition",
		},
		{
			name: "SAM policy template",
			old:  "        - !Ref DeployPolicy\n        # The hand-off",
			new:  "        - !Ref DeployPolicy\n        - AmazonECS_FullAccess\n        # The hand-off",
			want: "a SAM policy template or an AWS managed policy",
		},
		{
			name: "x86_64",
			old:  "Architectures: [arm64]",
			new:  "Architectures: [x86_64]",
			want: "Architectures",
		},
		{
			name: "a function overrides the runtime",
			old:  "      Description: ecrdeploy promoter",
			new:  "      Runtime: provided.al2\n      Description: ecrdeploy promoter",
			want: "PromoterFunction: Runtime provided.al2",
		},
		{
			name: "text logs",
			old:  "LogFormat: JSON",
			new:  "LogFormat: Text",
			want: "LogFormat",
		},
		{
			name: "public function URL",
			old:  "      Description: ecrdeploy promoter",
			new:  "      FunctionUrlConfig:\n        AuthType: NONE\n      Description: ecrdeploy promoter",
			want: "FunctionUrlConfig",
		},
		{
			name: "ECR rule for any result",
			old:  "                action-type: [PUSH]\n                result: [SUCCESS]\n",
			new:  "                action-type: [PUSH]\n",
			want: "pattern detail.result",
		},
		{
			name: "image tag writes beyond protect",
			old:  "            Action:\n              - ecr:DescribeImages\n",
			new:  "            Action:\n              - ecr:DescribeImages\n              - ecr:PutImage\n",
			want: "image tag writes",
		},
		{
			name: "image tag writes without the condition",
			old:  "          - !If\n            - HasProtectRepositoryArns\n            - Sid: TagProtectedImages",
			new:  "          - !If\n            - HasCalendarArns\n            - Sid: TagProtectedImages",
			want: "only under the condition that ProtectRepositoryArns is not empty",
		},
		{
			name: "calendars of any account",
			old:  "              - !Sub arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:document/*",
			new:  "              - !Sub arn:${AWS::Partition}:ssm:*:*:document/*",
			want: "ssm:GetCalendarState on",
		},
		{
			name: "restore rule for archiving too",
			old:  "                target-storage-class: [STANDARD]",
			new:  "                target-storage-class: [STANDARD, ARCHIVE]",
			want: "pattern detail.target-storage-class",
		},
		{
			name: "replication rule without failures",
			old:  "                result: [SUCCESS, FAILED]",
			new:  "                result: [SUCCESS]",
			want: "pattern detail.result [SUCCESS], want [SUCCESS FAILED]",
		},
		{
			name: "calendar rule for closings too",
			old:  "                state: [OPEN]",
			new:  "                state: [OPEN, CLOSED]",
			want: "pattern detail.state",
		},
		{
			name: "ECR rule for deletions too",
			old:  "action-type: [PUSH]",
			new:  "action-type: [PUSH, DELETE]",
			want: "pattern detail.action-type",
		},
		{
			name: "rule without retry policy",
			old:  "                action-type: [PUSH]\n                result: [SUCCESS]\n            RetryPolicy:\n              MaximumRetryAttempts: 20\n              MaximumEventAgeInSeconds: 3600\n",
			new:  "                action-type: [PUSH]\n                result: [SUCCESS]\n",
			want: "ImagePush: RetryPolicy.MaximumRetryAttempts missing",
		},
		{
			name: "schedule without dead-letter queue",
			old:  "              MaximumEventAgeInSeconds: 600\n            DeadLetterConfig:\n              Arn: !GetAtt EventDeadLetterQueue.Arn\n",
			new:  "              MaximumEventAgeInSeconds: 600\n",
			want: "Reconcile: DeadLetterConfig",
		},
		{
			name: "queue policy misses a rule",
			old:  "                  - !GetAtt DeployerFunctionReconcile.Arn\n",
			new:  "",
			want: "!GetAtt DeployerFunctionReconcile.Arn",
		},
		{
			name: "reserved concurrency not wired",
			old:  "ReservedConcurrentExecutions: !Ref DeployerReservedConcurrency",
			new:  "ReservedConcurrentExecutions: 5",
			want: "ReservedConcurrentExecutions",
		},
		{
			name: "no failure destination",
			old:  "        DestinationConfig:\n          OnFailure:\n            Type: SQS\n            Destination: !GetAtt FailedInvocationQueue.Arn\n",
			new:  "",
			want: "OnFailure",
		},
		{
			name: "the board writes",
			old:  "Action: [dynamodb:BatchGetItem]",
			new:  "Action: [dynamodb:BatchGetItem, dynamodb:UpdateItem]",
			want: "the board function may only read, and dynamodb:UpdateItem does not",
		},
		{
			name: "the board assumes a role",
			old:  "Action: [ssm:GetParametersByPath]",
			new:  "Action: [ssm:GetParametersByPath, sts:AssumeRole]",
			want: "the board function may only read, and sts:AssumeRole does not",
		},
		{
			name: "the board reads another table",
			old:  "Resource: [!GetAtt StateTable.Arn]",
			new:  "Resource: [!Sub \"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*\"]",
			want: "want the state table alone",
		},
		{
			name: "the board decrypts anything",
			old:  "              Resource: !Ref ConfigKeyArns\n              Condition:\n                StringEquals:\n                  kms:ViaService: !Sub ssm.${AWS::Region}.amazonaws.com\n            - !Ref AWS::NoValue\n          - Sid: ReadStateRecords",
			new:  "              Resource: !Ref ConfigKeyArns\n            - !Ref AWS::NoValue\n          - Sid: ReadStateRecords",
			want: "kms without Condition StringEquals kms:ViaService",
		},
		{
			name: "the board with the deployers' policy",
			old:  "        - !Ref BoardReadPolicy\n",
			new:  "        - !Ref BoardReadPolicy\n        - !Ref DeployPolicy\n",
			want: "the board function may only read, and ecs:UpdateService does not",
		},
		{
			name: "the board with an inline write",
			old:  "        - !Ref BoardReadPolicy\n",
			new:  "        - !Ref BoardReadPolicy\n        - Statement:\n            - Effect: Allow\n              Action: ecs:UpdateService\n              Resource: !Sub arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service/*\n",
			want: "the board function may only read, and ecs:UpdateService does not",
		},
		{
			name: "the board on a schedule",
			old:  "        - !Ref BoardReadPolicy\n",
			new:  "        - !Ref BoardReadPolicy\n      Events:\n        Tick:\n          Type: Schedule\n          Properties:\n            Schedule: rate(1 minute)\n",
			want: "the board is invoked by the dashboard only",
		},
		{
			name: "prefix setting not wired",
			old:  "ECRDEPLOY_PREFIX: !Ref Prefix",
			new:  "ECRDEPLOY_PREFIX: /other",
			want: "ECRDEPLOY_PREFIX",
		},
	}
	checkEditsCaught(t, text, tests)
}
