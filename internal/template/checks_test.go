package template

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// The functions of the template, by logical id.
const (
	deployer = "DeployerFunction"
	promoter = "PromoterFunction"
	board    = "BoardFunction"
)

// imageTagWrites are the ECR actions that tag and untag images: granted only
// on ProtectRepositoryArns, and only when it names any.
var imageTagWrites = []string{"ecr:BatchGetImage", "ecr:PutImage", "ecr:BatchDeleteImage"}

// serviceDeploymentActions act on a service deployment: ECS requires both
// the service and the service deployment as resources ("Actions,
// resources, and condition keys for Amazon Elastic Container Service",
// Service Authorization Reference,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html),
// and the functions may name no other (but the service revisions, beside
// them in a statement of reads).
var serviceDeploymentActions = []string{"ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"}

// ARN prefixes (as written in !Sub) that permissions are confined to.
const (
	ownDocuments = "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:document/*"
	// The services of this account and their service deployments.
	ownServices           = "arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service/*"
	ownServiceDeployments = "arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service-deployment/*"
	ownServiceRevisions   = "arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service-revision/*"
	ssmPrefix             = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Prefix}/"
	// stateTable is the only resource the DynamoDB actions may name.
	stateTable      = "!GetAtt StateTable.Arn"
	sameAccountRole = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
	// codeDeployARN starts the ARNs of CodeDeploy's resources of this
	// account, in any region.
	codeDeployARN = "arn:${AWS::Partition}:codedeploy:*:${AWS::AccountId}:"
)

// allowedActions are the only actions the functions' policies may grant:
// what the code calls. A new AWS call needs its action here, on purpose.
var allowedActions = map[string]bool{
	"ssm:GetParameter":        true,
	"ssm:GetParameters":       true,
	"ssm:GetParametersByPath": true,
	"ssm:GetParameterHistory": true,
	// The state table: reads, conditional updates (a transaction's Update
	// and Put are allowed as UpdateItem and PutItem), and the import of an
	// earlier release's records.
	"dynamodb:GetItem":        true,
	"dynamodb:BatchGetItem":   true,
	"dynamodb:Query":          true,
	"dynamodb:UpdateItem":     true,
	"dynamodb:PutItem":        true,
	"dynamodb:BatchWriteItem": true,
	// Forgetting pending work once done, in its own partitions only
	// (dynamodb:LeadingKeys state.PendingPartitions).
	"dynamodb:DeleteItem":        true,
	"ecs:DescribeServices":       true,
	"ecs:UpdateService":          true,
	"ecs:DescribeTaskDefinition": true,
	"ecs:RegisterTaskDefinition": true,
	"ecs:TagResource":            true,
	// How a rollout ended once DescribeServices no longer lists it.
	"ecs:ListServiceDeployments":   true,
	"ecs:DescribeServiceRevisions": true,
	// Deployments of the blue-green family: judged from their service
	// deployment, approved or rejected, stopped by a rollback.
	"ecs:DescribeServiceDeployments": true,
	"ecs:ContinueServiceDeployment":  true,
	"ecs:StopServiceDeployment":      true,
	"ecr:DescribeImages":             true,
	// Restoring an archived image a deployment needs; the lifecycle check.
	"ecr:UpdateImageStorageClass":     true,
	"ecr:GetLifecyclePolicy":          true,
	"ecr:StartLifecyclePolicyPreview": true,
	"ecr:GetLifecyclePolicyPreview":   true,
	// "protect": keep tags (only on ProtectRepositoryArns).
	"ecr:BatchGetImage":    true,
	"ecr:PutImage":         true,
	"ecr:BatchDeleteImage": true,
	// CODE_DEPLOY services: the calls of target.CodeDeployAPI, and
	// CreateDeployment's dependent actions (codeDeployResources).
	"codedeploy:CreateDeployment":            true,
	"codedeploy:GetDeployment":               true,
	"codedeploy:ListDeployments":             true,
	"codedeploy:BatchGetDeployments":         true,
	"codedeploy:GetDeploymentGroup":          true,
	"codedeploy:BatchGetDeploymentGroups":    true,
	"codedeploy:StopDeployment":              true,
	"codedeploy:ListDeploymentGroups":        true,
	"codedeploy:ListApplications":            true,
	"codedeploy:BatchGetApplications":        true,
	"codedeploy:GetApplicationRevision":      true,
	"codedeploy:RegisterApplicationRevision": true,
	"codedeploy:GetDeploymentConfig":         true,
	// freeze.calendars.
	"ssm:GetCalendarState": true,
	"events:PutEvents":     true,
	"iam:PassRole":         true,
	"sts:AssumeRole":       true,
	"kms:Decrypt":          true,
	// The deployer's hand-off of a delivery to the registration queue
	// (only there: checkStatement); its SQS event grants the receive.
	"sqs:SendMessage": true,
}

// starResourceActions are the actions ECS and CodeDeploy offer no
// resource-level permission for: a statement with Resource "*" may hold
// only these.
var starResourceActions = map[string]bool{
	"ecs:DescribeTaskDefinition":  true,
	"ecs:RegisterTaskDefinition":  true,
	"codedeploy:ListApplications": true,
	"codedeploy:StopDeployment":   true,
}

// codeDeployResources are the resources each CodeDeploy action may name:
// the resource type "Actions, resources, and condition keys for AWS
// CodeDeploy" (Service Authorization Reference,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html)
// gives it, in this account (any region), or "*" for the two it gives
// none. CreateDeployment's dependent actions there are GetApplicationRevision,
// GetDeploymentConfig, RegisterApplicationRevision and UpdateDeploymentGroup;
// the last is not granted (ecrdeploy never overrides a group's settings).
var codeDeployResources = map[string]string{
	"codedeploy:CreateDeployment":            codeDeployARN + "deploymentgroup:*",
	"codedeploy:GetDeployment":               codeDeployARN + "deploymentgroup:*",
	"codedeploy:ListDeployments":             codeDeployARN + "deploymentgroup:*",
	"codedeploy:BatchGetDeployments":         codeDeployARN + "deploymentgroup:*",
	"codedeploy:GetDeploymentGroup":          codeDeployARN + "deploymentgroup:*",
	"codedeploy:BatchGetDeploymentGroups":    codeDeployARN + "deploymentgroup:*",
	"codedeploy:ListDeploymentGroups":        codeDeployARN + "application:*",
	"codedeploy:BatchGetApplications":        codeDeployARN + "application:*",
	"codedeploy:GetApplicationRevision":      codeDeployARN + "application:*",
	"codedeploy:RegisterApplicationRevision": codeDeployARN + "application:*",
	"codedeploy:GetDeploymentConfig":         codeDeployARN + "deploymentconfig:*",
	"codedeploy:ListApplications":            "*",
	"codedeploy:StopDeployment":              "*",
}

// tmpl is a decoded template with lookups.
type tmpl struct {
	raw      map[string]any
	makefile []byte // the Makefile next to it, for the build-<LogicalId> targets
}

func (t tmpl) section(name string) map[string]any { return asMap(t.raw[name]) }

func (t tmpl) resource(name string) map[string]any { return asMap(t.section("Resources")[name]) }

func (t tmpl) resourceType(name string) string {
	s, _ := t.resource(name)["Type"].(string)
	return s
}

// namesOfType returns the logical ids of the resources of a type, sorted.
func (t tmpl) namesOfType(typ string) []string {
	var names []string
	for name := range t.section("Resources") {
		if t.resourceType(name) == typ {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func (t tmpl) parameter(name string) map[string]any { return asMap(t.section("Parameters")[name]) }

// functionProperty returns a property of a function as SAM applies Globals:
// maps are merged (the function's keys win), lists are appended to the
// global list, anything else in the function replaces the global value.
func (t tmpl) functionProperty(fn, key string) any {
	global := asMap(t.section("Globals")["Function"])[key]
	own := props(t.resource(fn))[key]
	return mergeGlobal(global, own)
}

func mergeGlobal(global, own any) any {
	switch {
	case own == nil:
		return global
	case global == nil:
		return own
	}
	gm, gok := global.(map[string]any)
	om, ook := own.(map[string]any)
	if gok && ook && !isIntrinsic(gm) && !isIntrinsic(om) {
		out := maps.Clone(gm)
		for k, v := range om {
			out[k] = mergeGlobal(gm[k], v)
		}
		return out
	}
	gl, gok := global.([]any)
	ol, ook := own.([]any)
	if gok && ook {
		return append(slices.Clone(gl), ol...)
	}
	return own
}

// statement is one IAM policy statement of the template.
type statement struct {
	where  string         // resource and position, for messages
	body   map[string]any // the statement
	guards []string       // conditions it exists under: "C" (Fn::If true branch) or "!C"
}

// statements returns every policy statement in the template's resources:
// managed and inline policies, role trust policies, resource policies, SAM
// inline Policies, with both branches of every Fn::If.
func (t tmpl) statements() []statement {
	var out []statement
	res := t.section("Resources")
	for _, name := range slices.Sorted(maps.Keys(res)) {
		walkPolicies(res[name], name, nil, &out)
	}
	return out
}

func walkPolicies(v any, where string, guards []string, out *[]statement) {
	switch v := v.(type) {
	case map[string]any:
		if cond, yes, no, ok := ifArgs(v); ok {
			walkPolicies(yes, where, withGuard(guards, cond), out)
			walkPolicies(no, where, withGuard(guards, "!"+cond), out)
			return
		}
		if st, ok := v["Statement"]; ok {
			n := 0
			expandStatements(st, where, guards, &n, out)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			walkPolicies(v[k], where+"."+k, guards, out)
		}
	case []any:
		for i, e := range v {
			walkPolicies(e, fmt.Sprintf("%s[%d]", where, i), guards, out)
		}
	}
}

func expandStatements(v any, where string, guards []string, n *int, out *[]statement) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			expandStatements(e, where, guards, n, out)
		}
	case map[string]any:
		if cond, yes, no, ok := ifArgs(v); ok {
			expandStatements(yes, where, withGuard(guards, cond), n, out)
			expandStatements(no, where, withGuard(guards, "!"+cond), n, out)
			return
		}
		if isNoValue(v) {
			return
		}
		*n++
		name := fmt.Sprintf("%s statement %d", where, *n)
		if sid, ok := v["Sid"].(string); ok {
			name = fmt.Sprintf("%s statement %s", where, sid)
		}
		*out = append(*out, statement{where: name, body: v, guards: guards})
	default:
		*n++
		*out = append(*out, statement{where: fmt.Sprintf("%s statement %d", where, *n), body: map[string]any{"?": v}, guards: guards})
	}
}

func withGuard(guards []string, g string) []string {
	return append(slices.Clone(guards), g)
}

// checkStatements checks every policy statement.
func checkStatements(t tmpl) []string {
	var probs []string
	sts := t.statements()
	if len(sts) == 0 {
		return []string{"no policy statements found: the checks would pass vacuously"}
	}
	for _, st := range sts {
		probs = append(probs, checkStatement(t, st)...)
	}
	return probs
}

func checkStatement(t tmpl, st statement) []string {
	var probs []string
	fail := func(format string, args ...any) {
		probs = append(probs, st.where+": "+fmt.Sprintf(format, args...))
	}
	for k := range st.body {
		switch k {
		case "Sid", "Effect", "Action", "Resource", "Condition", "Principal":
		case "NotAction", "NotResource", "NotPrincipal":
			fail("%s is not allowed: it grants everything except what it names", k)
		default:
			fail("unexpected key %q", k)
		}
	}
	effect, _ := st.body["Effect"].(string)
	if effect != "Allow" && effect != "Deny" {
		fail("Effect %v: want Allow or Deny", st.body["Effect"])
	}
	actions, ok := stringList(st.body["Action"])
	if !ok || len(actions) == 0 {
		fail("Action %v: want an action or a list of actions, written out", st.body["Action"])
	}
	for _, a := range actions {
		if strings.Contains(a, "*") {
			fail("action %q has a wildcard: name each action", a)
		}
		if service, name, found := strings.Cut(a, ":"); !found || service == "" || name == "" {
			fail("action %q: want service:Action", a)
		}
	}
	if effect != "Allow" {
		return probs
	}
	if principal, ok := st.body["Principal"]; ok {
		return append(probs, checkResourcePolicyStatement(st, principal, actions)...)
	}

	resources := resourceForms(st.body["Resource"])
	if len(resources) == 0 {
		fail("no Resource")
	}
	for _, a := range actions {
		if !allowedActions[a] {
			fail("action %q is not one the code calls: add it to allowedActions in internal/template if it now does", a)
		}
	}
	if slices.Contains(resources, "*") {
		for _, a := range actions {
			if !starResourceActions[a] {
				fail(`Resource "*" with %s, which supports resource-level permissions: name the resources`, a)
			}
		}
	}

	has := func(prefix string) bool {
		return slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, prefix) })
	}
	if slices.Contains(actions, "iam:PassRole") {
		if got := conditionValues(st.body, "StringEquals", "iam:PassedToService"); !slices.Equal(got, []string{"ecs-tasks.amazonaws.com"}) {
			fail("iam:PassRole without Condition StringEquals iam:PassedToService: ecs-tasks.amazonaws.com (got %q)", got)
		}
		for _, r := range resources {
			if r != "!Ref TaskRoleArns" && !(strings.HasPrefix(r, sameAccountRole) && len(r) > len(sameAccountRole)) {
				fail("iam:PassRole on %q: want !Ref TaskRoleArns or roles of this account", r)
			}
		}
	}
	if has("sts:") {
		if !slices.Equal(actions, []string{"sts:AssumeRole"}) {
			fail("sts actions %q: want sts:AssumeRole alone in its statement", actions)
		}
		if !slices.Equal(resources, []string{"!Ref TargetRoleArns"}) {
			fail("sts:AssumeRole on %q: want exactly !Ref TargetRoleArns", resources)
		}
		if !slices.ContainsFunc(st.guards, func(g string) bool { return isNotEmptyCondition(t, g, "TargetRoleArns") }) {
			fail("sts:AssumeRole only under the condition that TargetRoleArns is not empty (Fn::If), so an empty list grants nothing")
		}
	}
	if slices.ContainsFunc(actions, func(a string) bool { return slices.Contains(imageTagWrites, a) }) {
		if !slices.Equal(resources, []string{"!Ref ProtectRepositoryArns"}) {
			fail("image tag writes (%q) on %q: want exactly !Ref ProtectRepositoryArns", actions, resources)
		}
		if !slices.ContainsFunc(st.guards, func(g string) bool { return isNotEmptyCondition(t, g, "ProtectRepositoryArns") }) {
			fail("image tag writes (%q) only under the condition that ProtectRepositoryArns is not empty (Fn::If), so that ecrdeploy writes no image tag unless protect is used", actions)
		}
	}
	if slices.Contains(actions, "ssm:GetCalendarState") {
		if !slices.Equal(actions, []string{"ssm:GetCalendarState"}) {
			fail("ssm:GetCalendarState beside %q: want it alone in its statement (it is on documents, not parameters)", actions)
		}
		for _, r := range resources {
			switch {
			case r == ownDocuments:
			case r == "!Ref CalendarArns":
				if !slices.ContainsFunc(st.guards, func(g string) bool { return isNotEmptyCondition(t, g, "CalendarArns") }) {
					fail("ssm:GetCalendarState on !Ref CalendarArns only under the condition that CalendarArns is not empty (Fn::If)")
				}
			default:
				fail("ssm:GetCalendarState on %q: want the documents of this account (%s) or !Ref CalendarArns", r, ownDocuments)
			}
		}
		return probs
	}
	if has("ssm:") {
		write := slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, "ssm:") && !strings.HasPrefix(a, "ssm:Get") })
		if write {
			fail("SSM write (%q): the functions write no parameter (configuration is people's, state lives in the state table)", actions)
		}
		for _, r := range resources {
			if !strings.HasPrefix(r, ssmPrefix) {
				fail("SSM on %q: want parameters under %s", r, ssmPrefix)
			}
		}
	}
	for _, a := range actions {
		want, ok := codeDeployResources[a]
		switch {
		case !ok && strings.HasPrefix(a, "codedeploy:"):
			fail("%s has no resource type in codeDeployResources: add it from the Service Authorization Reference", a)
		case ok && !slices.Equal(resources, []string{want}):
			fail("%s on %q, want exactly %s", a, resources, want)
		}
	}
	if has("dynamodb:") && !slices.Equal(resources, []string{stateTable}) {
		fail("DynamoDB on %q: want the state table alone (%s)", resources, stateTable)
	}
	if slices.Contains(actions, "dynamodb:DeleteItem") {
		// A deletion of a record would lose what runs and its history:
		// only pending work's items may be deleted.
		if !slices.Equal(actions, []string{"dynamodb:DeleteItem"}) {
			fail("dynamodb:DeleteItem beside %q: want it alone in its statement, under its condition", actions)
		}
		if got := conditionValues(st.body, "ForAllValues:StringLike", "dynamodb:LeadingKeys"); !slices.Equal(got, []string{state.PendingPartitions}) ||
			len(asMap(st.body["Condition"])) != 1 {
			fail("dynamodb:DeleteItem only under Condition ForAllValues:StringLike dynamodb:LeadingKeys: %s, the partitions of pending work (got %q)", state.PendingPartitions, got)
		}
	}
	if slices.ContainsFunc(actions, func(a string) bool { return slices.Contains(serviceDeploymentActions, a) }) {
		for _, r := range resources {
			revisions := r == ownServiceRevisions && !slices.Contains(actions, "ecs:ContinueServiceDeployment") && !slices.Contains(actions, "ecs:StopServiceDeployment")
			if r != ownServices && r != ownServiceDeployments && !revisions {
				fail("%q on %q: want the services of this account and their service deployments only (%s, %s)", actions, r, ownServices, ownServiceDeployments)
			}
		}
	}
	if slices.Contains(actions, "ecs:TagResource") {
		if got := conditionValues(st.body, "StringEquals", "ecs:CreateAction"); !slices.Equal(got, []string{"RegisterTaskDefinition"}) {
			fail("ecs:TagResource without Condition StringEquals ecs:CreateAction: RegisterTaskDefinition (got %q)", got)
		}
	}
	if slices.Contains(actions, "events:PutEvents") {
		if got := conditionValues(st.body, "StringEquals", "events:source"); !slices.Equal(got, []string{"ecrdeploy"}) {
			fail("events:PutEvents without Condition StringEquals events:source: ecrdeploy (got %q)", got)
		}
	}
	if has("sqs:") {
		if !slices.Equal(actions, []string{"sqs:SendMessage"}) {
			fail("sqs actions %q: want sqs:SendMessage alone in its statement (the deployer's SQS event grants it the receive)", actions)
		}
		if !slices.Equal(resources, []string{registrationQueue}) {
			fail("sqs:SendMessage on %q: want exactly %s", resources, registrationQueue)
		}
		if !strings.HasPrefix(st.where, deployer+".") {
			fail("sqs:SendMessage outside the deployer's own Policies: only the deployer hands deliveries off")
		}
	}
	if has("kms:") {
		if !slices.Equal(resources, []string{"!Ref ConfigKeyArns"}) {
			fail("kms on %q: want exactly !Ref ConfigKeyArns", resources)
		}
		if conditionValue(st.body, "StringEquals", "kms:ViaService") == nil {
			fail("kms without Condition StringEquals kms:ViaService (only through SSM)")
		}
	}
	return probs
}

// checkResourcePolicyStatement checks a statement with a Principal (a
// resource policy such as the dead-letter queue's).
func checkResourcePolicyStatement(st statement, principal any, actions []string) []string {
	var probs []string
	fail := func(format string, args ...any) {
		probs = append(probs, st.where+": "+fmt.Sprintf(format, args...))
	}
	p := asMap(principal)
	services, ok := stringList(p["Service"])
	if len(p) != 1 || !ok || len(services) == 0 {
		fail("Principal %v: want AWS service principals only", principal)
	}
	if !slices.Equal(actions, []string{"sqs:SendMessage"}) {
		fail("resource policy actions %q: want sqs:SendMessage", actions)
	}
	if conditionValue(st.body, "ArnEquals", "aws:SourceArn") == nil {
		fail("resource policy for %q without Condition ArnEquals aws:SourceArn", services)
	}
	return probs
}

// checkFunctionPolicies checks that the functions get permissions only from
// statements this package sees: managed policies of the template and inline
// statements, never SAM policy templates or AWS managed policies.
func checkFunctionPolicies(t tmpl) []string {
	var probs []string
	for _, fn := range t.namesOfType("AWS::Serverless::Function") {
		p := props(t.resource(fn))
		if _, ok := p["Role"]; ok {
			probs = append(probs, fn+": Role is set: let SAM create the role from Policies, which this package checks")
		}
		for i, pol := range asList(p["Policies"]) {
			probs = append(probs, checkPolicyRef(t, fmt.Sprintf("%s.Policies[%d]", fn, i), pol)...)
		}
	}
	for _, role := range t.namesOfType("AWS::IAM::Role") {
		for i, pol := range asList(props(t.resource(role))["ManagedPolicyArns"]) {
			probs = append(probs, checkPolicyRef(t, fmt.Sprintf("%s.ManagedPolicyArns[%d]", role, i), pol)...)
		}
	}
	return probs
}

func checkPolicyRef(t tmpl, where string, pol any) []string {
	m := asMap(pol)
	if ref, ok := m["Ref"].(string); ok && len(m) == 1 && t.resourceType(ref) == "AWS::IAM::ManagedPolicy" {
		return nil
	}
	if _, ok := m["Statement"]; ok {
		return nil
	}
	return []string{fmt.Sprintf("%s: policy %v: want !Ref to an AWS::IAM::ManagedPolicy of this template or an inline policy document; "+
		"a SAM policy template or an AWS managed policy grants permissions these checks cannot see", where, pol)}
}

// checkFunctions checks runtime, architecture, build, logging and settings
// of both functions.
func checkFunctions(t tmpl) []string {
	var probs []string
	fail := func(fn, format string, args ...any) {
		probs = append(probs, fn+": "+fmt.Sprintf(format, args...))
	}
	if got, want := t.namesOfType("AWS::Serverless::Function"), []string{board, deployer, promoter}; !slices.Equal(got, want) {
		probs = append(probs, fmt.Sprintf("functions %q, want %q", got, want))
	}
	for _, fn := range []string{deployer, promoter, board} {
		if got := t.functionProperty(fn, "Runtime"); got != "provided.al2023" {
			fail(fn, "Runtime %v, want provided.al2023", got)
		}
		if got := t.functionProperty(fn, "Architectures"); !reflect.DeepEqual(got, []any{"arm64"}) {
			fail(fn, "Architectures %v, want [arm64]", got)
		}
		if got := t.functionProperty(fn, "Handler"); got != "bootstrap" {
			fail(fn, "Handler %v, want bootstrap", got)
		}
		if got := asMap(t.functionProperty(fn, "LoggingConfig"))["LogFormat"]; got != "JSON" {
			fail(fn, "LoggingConfig.LogFormat %v, want JSON", got)
		}
		if got := t.functionProperty(fn, "CodeUri"); got != "." {
			fail(fn, "CodeUri %v, want . (the module root, for the one go.mod)", got)
		}
		if got := asMap(t.resource(fn)["Metadata"])["BuildMethod"]; got != "makefile" {
			fail(fn, "Metadata.BuildMethod %v, want makefile", got)
		} else if !hasMakeTarget(t.makefile, "build-"+fn) {
			fail(fn, "the Makefile has no target build-%s, which sam build runs", fn)
		}
		if _, ok := props(t.resource(fn))["FunctionUrlConfig"]; ok {
			fail(fn, "FunctionUrlConfig: the functions are invoked by EventBridge and IAM-authorised Invoke only")
		}
		if timeout, ok := asNumber(t.functionProperty(fn, "Timeout")); !ok || timeout < 1 || timeout > 900 {
			fail(fn, "Timeout %v, want a number of seconds up to 900", t.functionProperty(fn, "Timeout"))
		}
		vars := asMap(asMap(t.functionProperty(fn, "Environment"))["Variables"])
		for name, param := range map[string]string{"ECRDEPLOY_PREFIX": "Prefix", "ECRDEPLOY_EVENT_BUS": "EventBusName", "ECRDEPLOY_CONFIG_TTL": "ConfigTTL",
			"ECRDEPLOY_TABLE": "StateTable", "ECRDEPLOY_HISTORY_DAYS": "HistoryRetentionDays"} {
			if got := vars[name]; !reflect.DeepEqual(got, map[string]any{"Ref": param}) {
				fail(fn, "environment %s = %v, want !Ref %s", name, got, param)
			}
		}
	}
	return probs
}

// checkStateTable checks the state table: the history of every deployment,
// so kept when the stack goes, recoverable, encrypted, and billed on demand
// (no capacity to plan, no throttling at ecrdeploy's rates).
func checkStateTable(t tmpl) []string {
	var probs []string
	fail := func(format string, args ...any) { probs = append(probs, "StateTable: "+fmt.Sprintf(format, args...)) }
	res := t.resource("StateTable")
	if t.resourceType("StateTable") != "AWS::DynamoDB::Table" {
		return []string{"StateTable: want an AWS::DynamoDB::Table resource"}
	}
	for _, policy := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
		if res[policy] != "Retain" {
			fail("%s %v, want Retain: the table is the history of every deployment", policy, res[policy])
		}
	}
	p := props(res)
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"BillingMode", p["BillingMode"], "PAY_PER_REQUEST"},
		{"PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled", asMap(p["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"], true},
		{"SSESpecification.SSEEnabled", asMap(p["SSESpecification"])["SSEEnabled"], true},
		{"TimeToLiveSpecification.AttributeName", asMap(p["TimeToLiveSpecification"])["AttributeName"], "expiresAt"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			fail("%s %v, want %v", c.what, c.got, c.want)
		}
	}
	if _, named := p["TableName"]; named {
		fail("TableName set: let CloudFormation name it (ECRDEPLOY_TABLE carries the name), so that two stacks never collide")
	}
	return probs
}

// checkParameters checks the parameters the permissions depend on.
func checkParameters(t tmpl) []string {
	var probs []string
	want := []struct {
		name, typ string
		def       any
	}{
		{"Prefix", "String", "/ecrdeploy"},
		{"EventBusName", "String", "default"},
		{"ReconcileSchedule", "String", "rate(15 minutes)"},
		{"DeployerReservedConcurrency", "Number", 20},
		{"TargetRoleArns", "CommaDelimitedList", ""},
		{"TaskRoleArns", "CommaDelimitedList", nil},
		{"ConfigKeyArns", "CommaDelimitedList", ""},
	}
	for _, w := range want {
		p := t.parameter(w.name)
		if p == nil {
			probs = append(probs, "parameter "+w.name+" is missing")
			continue
		}
		if p["Type"] != w.typ {
			probs = append(probs, fmt.Sprintf("parameter %s: Type %v, want %s", w.name, p["Type"], w.typ))
		}
		if w.def != nil && fmt.Sprint(p["Default"]) != fmt.Sprint(w.def) {
			probs = append(probs, fmt.Sprintf("parameter %s: Default %v, want %v", w.name, p["Default"], w.def))
		}
	}
	if min, ok := asNumber(t.parameter("DeployerReservedConcurrency")["MinValue"]); !ok || min < 1 {
		probs = append(probs, "parameter DeployerReservedConcurrency: MinValue must be at least 1 (0 would stop the deployer)")
	}
	return probs
}

// checkEvents checks the deployer's triggers, their retry policies and
// dead-letter queues, its async failure destination and its concurrency.
func checkEvents(t tmpl) []string {
	var probs []string
	fail := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	for _, fn := range t.namesOfType("AWS::Serverless::Function") {
		events := asMap(props(t.resource(fn))["Events"])
		for _, name := range slices.Sorted(maps.Keys(events)) {
			probs = append(probs, checkEvent(t, fn, name, asMap(events[name]))...)
		}
	}
	if events := asMap(props(t.resource(promoter))["Events"]); len(events) != 0 {
		fail("%s: Events %q: the promoter takes manual requests by direct invocation only", promoter, slices.Sorted(maps.Keys(events)))
	}
	if events := asMap(props(t.resource(board))["Events"]); len(events) != 0 {
		fail("%s: Events %q: the board is invoked by the dashboard only", board, slices.Sorted(maps.Keys(events)))
	}

	dp := props(t.resource(deployer))
	var ecr, restore, replication, calendar, ecs, hooks, schedule int
	// wantDetail checks the detail fields of a rule's pattern.
	wantDetail := func(name string, pattern map[string]any, want map[string][]any) {
		detail := asMap(pattern["detail"])
		for _, key := range slices.Sorted(maps.Keys(want)) {
			if got := detail[key]; !reflect.DeepEqual(got, want[key]) {
				fail("%s.%s: pattern detail.%s %v, want %v", deployer, name, key, got, want[key])
			}
		}
	}
	for name, ev := range asMap(dp["Events"]) {
		ev := asMap(ev)
		p := asMap(ev["Properties"])
		pattern := asMap(p["Pattern"])
		detailType := pattern["detail-type"]
		switch {
		case ev["Type"] == "SQS":
			// The registration queue's: checkRegistrationQueue.
		case ev["Type"] == "Schedule":
			schedule++
			if got := p["Schedule"]; !reflect.DeepEqual(got, map[string]any{"Ref": "ReconcileSchedule"}) {
				fail("%s.%s: Schedule %v, want !Ref ReconcileSchedule", deployer, name, got)
			}
		case reflect.DeepEqual(pattern["source"], []any{"aws.ecr"}) && reflect.DeepEqual(detailType, []any{"ECR Replication Action"}):
			replication++
			wantDetail(name, pattern, map[string][]any{"action-type": {"REPLICATE"}, "result": {"SUCCESS", "FAILED"}})
		case reflect.DeepEqual(pattern["source"], []any{"aws.ecr"}) && slices.Contains(asList(asMap(pattern["detail"])["action-type"]), any("UPDATE_STORAGE_CLASS")):
			restore++
			wantDetail(name, pattern, map[string][]any{"action-type": {"UPDATE_STORAGE_CLASS"}, "target-storage-class": {"STANDARD"}, "result": {"SUCCESS"}})
			if !reflect.DeepEqual(detailType, []any{"ECR Image Action"}) {
				fail("%s.%s: pattern detail-type %v, want [ECR Image Action]", deployer, name, detailType)
			}
		case reflect.DeepEqual(pattern["source"], []any{"aws.ecr"}):
			ecr++
			wantDetail(name, pattern, map[string][]any{"action-type": {"PUSH"}, "result": {"SUCCESS"}})
			if !reflect.DeepEqual(detailType, []any{"ECR Image Action"}) {
				fail("%s.%s: pattern detail-type %v, want [ECR Image Action]", deployer, name, detailType)
			}
		case reflect.DeepEqual(pattern["source"], []any{"aws.ssm"}):
			calendar++
			if !reflect.DeepEqual(detailType, []any{"Calendar State Change"}) {
				fail("%s.%s: pattern detail-type %v, want [Calendar State Change]", deployer, name, detailType)
			}
			wantDetail(name, pattern, map[string][]any{"state": {"OPEN"}})
		case reflect.DeepEqual(pattern["source"], []any{"aws.ecs"}) && reflect.DeepEqual(detailType, []any{"ECS Hook State Change"}):
			hooks++
			// The pause that awaits approval and every end of a hook; not
			// HOOK_IN_PROGRESS, which says nothing ecrdeploy acts on.
			wantDetail(name, pattern, map[string][]any{"eventName": {"HOOK_AWAITING_ACTION", "HOOK_SUCCEEDED", "HOOK_FAILED", "HOOK_TIMED_OUT"}})
		case reflect.DeepEqual(pattern["source"], []any{"aws.ecs"}):
			ecs++
			if !reflect.DeepEqual(detailType, []any{"ECS Deployment State Change"}) {
				fail("%s.%s: pattern detail-type %v, want [ECS Deployment State Change]", deployer, name, detailType)
			}
		default:
			fail("%s.%s: not one of the deployer's triggers (ECR push, restore and replication, ECS deployment and hook state changes, change calendar, reconcile schedule)", deployer, name)
		}
	}
	if ecr != 1 || restore != 1 || replication != 1 || calendar != 1 || ecs != 1 || hooks != 1 || schedule != 1 {
		fail("%s: %d ECR push rules, %d ECR restore rules, %d ECR replication rules, %d calendar rules, %d ECS deployment rules, %d ECS hook rules, %d schedules; want one of each",
			deployer, ecr, restore, replication, calendar, ecs, hooks, schedule)
	}

	if got := dp["ReservedConcurrentExecutions"]; !reflect.DeepEqual(got, map[string]any{"Ref": "DeployerReservedConcurrency"}) {
		fail("%s: ReservedConcurrentExecutions %v, want !Ref DeployerReservedConcurrency", deployer, got)
	}
	onFailure := asMap(asMap(asMap(t.functionProperty(deployer, "EventInvokeConfig"))["DestinationConfig"])["OnFailure"])
	if typ := onFailure["Type"]; (typ != "SQS" && typ != "SNS") || onFailure["Destination"] == nil {
		fail("%s: EventInvokeConfig.DestinationConfig.OnFailure %v: want Type SQS or SNS and a Destination", deployer, onFailure)
	}
	return probs
}

// checkEvent checks one event source: an EventBridge rule or schedule with a
// retry policy and a dead-letter queue that the rule may write to.
func checkEvent(t tmpl, fn, name string, ev map[string]any) []string {
	var probs []string
	fail := func(format string, args ...any) {
		probs = append(probs, fmt.Sprintf("%s.%s: ", fn, name)+fmt.Sprintf(format, args...))
	}
	if typ := ev["Type"]; typ == "SQS" && fn == deployer {
		return nil // the registration queue's: checkRegistrationQueue
	} else if typ != "EventBridgeRule" && typ != "Schedule" {
		fail("Type %v: want EventBridgeRule or Schedule (or the deployer's SQS event of its registration queue)", typ)
		return probs
	}
	p := asMap(ev["Properties"])
	retry := asMap(p["RetryPolicy"])
	for _, key := range []string{"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} {
		if _, ok := asNumber(retry[key]); !ok {
			fail("RetryPolicy.%s missing", key)
		}
	}
	dlq := asMap(p["DeadLetterConfig"])
	if dlq["Type"] == "SQS" {
		return probs // SAM creates the queue and its policy
	}
	att, _ := asMap(dlq["Arn"])["Fn::GetAtt"].([]any)
	if len(att) != 2 || att[1] != "Arn" || t.resourceType(fmt.Sprint(att[0])) != "AWS::SQS::Queue" {
		fail("DeadLetterConfig %v: want Arn: !GetAtt <an SQS queue of this template>.Arn", p["DeadLetterConfig"])
		return probs
	}
	// SAM names the rule it generates <function><event>; without it in the
	// queue policy, EventBridge cannot write to the dead-letter queue.
	queue, rule := att[0].(string), fn+name
	if !queuePolicyAllowsRule(t, queue, rule) {
		fail("no AWS::SQS::QueuePolicy on %s lets events.amazonaws.com sqs:SendMessage with ArnEquals aws:SourceArn !GetAtt %s.Arn", queue, rule)
	}
	return probs
}

func queuePolicyAllowsRule(t tmpl, queue, rule string) bool {
	want := map[string]any{"Fn::GetAtt": []any{rule, "Arn"}}
	for _, name := range t.namesOfType("AWS::SQS::QueuePolicy") {
		p := props(t.resource(name))
		if !slices.ContainsFunc(asList(p["Queues"]), func(q any) bool { return reflect.DeepEqual(q, map[string]any{"Ref": queue}) }) {
			continue
		}
		for _, st := range asList(asMap(p["PolicyDocument"])["Statement"]) {
			st := asMap(st)
			services, _ := stringList(asMap(st["Principal"])["Service"])
			actions, _ := stringList(st["Action"])
			arns := asList(asMap(asMap(st["Condition"])["ArnEquals"])["aws:SourceArn"])
			if st["Effect"] == "Allow" && slices.Contains(services, "events.amazonaws.com") &&
				slices.Contains(actions, "sqs:SendMessage") &&
				slices.ContainsFunc(arns, func(a any) bool { return reflect.DeepEqual(a, want) }) {
				return true
			}
		}
	}
	return false
}

// readVerbs are how the names of the actions that only read begin.
var readVerbs = []string{"Get", "BatchGet", "List", "Describe", "Query", "Scan"}

// readOnlyActions are the actions whose names do not begin with a read verb
// that only read: kms:Decrypt reads a SecureString configuration (through
// SSM, as the statement's condition says).
var readOnlyActions = map[string]bool{"kms:Decrypt": true}

// checkBoardReadOnly checks that the board function can only read: every
// statement of every policy it has allows only actions whose names say they
// read (Get…, List…, Describe…, BatchGet…, Query, Scan) or that only read
// (readOnlyActions), and none assumes a role (a role may write).
func checkBoardReadOnly(t tmpl) []string {
	var probs []string
	policies := asList(props(t.resource(board))["Policies"])
	if len(policies) == 0 {
		return []string{board + ": no Policies: want its read-only policy"}
	}
	var sts []statement
	for i, pol := range policies {
		m := asMap(pol)
		if ref, ok := m["Ref"].(string); ok && len(m) == 1 {
			walkPolicies(t.resource(ref), ref, nil, &sts)
			continue
		}
		walkPolicies(pol, fmt.Sprintf("%s.Policies[%d]", board, i), nil, &sts)
	}
	for _, st := range sts {
		if effect, _ := st.body["Effect"].(string); effect != "Allow" {
			continue
		}
		actions, _ := stringList(st.body["Action"])
		for _, a := range actions {
			_, name, _ := strings.Cut(a, ":")
			if !readOnlyActions[a] && !slices.ContainsFunc(readVerbs, func(v string) bool { return strings.HasPrefix(name, v) }) {
				probs = append(probs, fmt.Sprintf("%s: %s: the board function may only read, and %s does not (want %s… actions)", board, st.where, a, strings.Join(readVerbs, "…, ")))
			}
		}
	}
	return probs
}

// checkAll runs every check.
func checkAll(t tmpl) []string {
	var probs []string
	for _, check := range []func(tmpl) []string{checkStatements, checkFunctionPolicies, checkFunctions, checkParameters, checkEvents, checkStateTable, checkBoardReadOnly, checkCodeDeployGranted, checkRegistrationQueue} {
		probs = append(probs, check(t)...)
	}
	return probs
}

// checkCodeDeployGranted checks that the functions' policy grants, without
// condition, every CodeDeploy call the code makes (the methods of
// target.CodeDeployAPI) and CreateDeployment's dependent actions, each on
// its resources (codeDeployResources, checked by checkStatement): a
// CODE_DEPLOY service cannot be deployed with less.
func checkCodeDeployGranted(t tmpl) []string {
	granted := map[string]bool{}
	for _, st := range t.statements() {
		if !strings.HasPrefix(st.where, "DeployPolicy.") || len(st.guards) > 0 || st.body["Effect"] != "Allow" {
			continue
		}
		actions, _ := stringList(st.body["Action"])
		for _, a := range actions {
			granted[a] = true
		}
	}
	want := []string{"codedeploy:GetApplicationRevision", "codedeploy:GetDeploymentConfig", "codedeploy:RegisterApplicationRevision"}
	api := reflect.TypeFor[target.CodeDeployAPI]()
	for i := range api.NumMethod() {
		want = append(want, "codedeploy:"+api.Method(i).Name)
	}
	var probs []string
	for _, a := range want {
		if !granted[a] {
			probs = append(probs, fmt.Sprintf("DeployPolicy: %s, which deploying a CODE_DEPLOY service needs (target.CodeDeployAPI and CreateDeployment's dependent actions), is not granted", a))
		}
	}
	return probs
}

// isNotEmptyCondition reports whether the template condition name is
// !Not [!Equals [!Join ["", !Ref param], ""]]: true when the list parameter
// has at least one non-empty element.
func isNotEmptyCondition(t tmpl, name, param string) bool {
	want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{
		map[string]any{"Fn::Join": []any{"", map[string]any{"Ref": param}}}, "",
	}}}}
	return reflect.DeepEqual(t.section("Conditions")[name], want)
}

// conditionValues returns the values of Condition[op][key] of a statement,
// nil when absent or not plain strings.
func conditionValues(st map[string]any, op, key string) []string {
	v, ok := stringList(asMap(asMap(st["Condition"])[op])[key])
	if !ok {
		return nil
	}
	return v
}

// conditionValue returns Condition[op][key] of a statement as written
// (perhaps an intrinsic function), nil when absent.
func conditionValue(st map[string]any, op, key string) any {
	return asMap(asMap(st["Condition"])[op])[key]
}

// resourceForms flattens a Resource value into comparable strings: a plain
// string as is, !Sub by its text, "!Ref X", "!GetAtt A.B", both branches of
// Fn::If.
func resourceForms(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, resourceForms(e)...)
		}
		return out
	case map[string]any:
		if _, yes, no, ok := ifArgs(v); ok {
			return append(resourceForms(yes), resourceForms(no)...)
		}
		if isNoValue(v) {
			return nil
		}
		if s, ok := v["Fn::Sub"].(string); ok && len(v) == 1 {
			return []string{s}
		}
		if args, ok := v["Fn::Sub"].([]any); ok && len(v) == 1 && len(args) > 0 {
			if s, ok := args[0].(string); ok {
				return []string{s}
			}
		}
		if ref, ok := v["Ref"].(string); ok && len(v) == 1 {
			return []string{"!Ref " + ref}
		}
		if att, ok := v["Fn::GetAtt"].([]any); ok && len(v) == 1 && len(att) == 2 {
			return []string{fmt.Sprintf("!GetAtt %v.%v", att[0], att[1])}
		}
	}
	return []string{fmt.Sprintf("?%v", v)}
}

// ifArgs returns the arguments of an Fn::If.
func ifArgs(m map[string]any) (cond string, yes, no any, ok bool) {
	args, isList := m["Fn::If"].([]any)
	if !isList || len(m) != 1 || len(args) != 3 {
		return "", nil, nil, false
	}
	cond, ok = args[0].(string)
	return cond, args[1], args[2], ok
}

func isNoValue(m map[string]any) bool {
	return len(m) == 1 && m["Ref"] == "AWS::NoValue"
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// stringList returns a string or a list of strings as a list; ok is false
// for anything else (an intrinsic function, a number).
func stringList(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

func props(res map[string]any) map[string]any { return asMap(res["Properties"]) }

func asNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// hasMakeTarget reports whether a Makefile defines target (a line "target:").
func hasMakeTarget(makefile []byte, target string) bool {
	sc := bufio.NewScanner(bytes.NewReader(makefile))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "#") {
			continue
		}
		targets, _, found := strings.Cut(line, ":")
		if found && slices.Contains(strings.Fields(targets), target) {
			return true
		}
	}
	return false
}

// load returns the template and the Makefile, or the error reading them.
func load(templateText []byte) (tmpl, error) {
	raw, err := decodeTemplate(templateText)
	if err != nil {
		return tmpl{}, err
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		return tmpl{}, fmt.Errorf("read Makefile: %w", err)
	}
	return tmpl{raw: raw, makefile: mk}, nil
}
