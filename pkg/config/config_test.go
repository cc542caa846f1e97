package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

const testParameter = "/ecrdeploy/config/hello-color"

// ignorePolicy leaves the compiled policy out of comparisons of documents;
// tests compare it through Policy().String().
var ignorePolicy = cmpopts.IgnoreUnexported(Environment{})

func ptr[T any](v T) *T { return &v }

func mustReadFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t *testing.T, data []byte) *Document {
	t.Helper()
	doc, err := Parse(testParameter, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

func TestParseSample(t *testing.T) {
	doc := mustParse(t, mustReadFile(t, "testdata/hello-color.json"))

	want := &Document{Environments: map[string]*Environment{
		"dev": {
			Trigger:     TriggerPush,
			Versions:    ">=0.1.0",
			Prereleases: true,
			Cluster:     "apps-dev",
			Services:    []string{"hello-color-dev"},
			Container:   Names{"web"},
			Environment: map[string]string{"OCTO_COLOR": "#0f0", "OCTO_ENV": "Development"},
			Secrets:     map[string]string{"DB_PASSWORD": "arn:aws:ssm:ap-southeast-1:111111111111:parameter/hello/dev/db"},
		},
		"staging": {
			Trigger:     TriggerPush,
			Versions:    "^1.0.0",
			Cluster:     "apps-staging",
			Services:    []string{"hello-color-staging"},
			Container:   Names{"web"},
			Environment: map[string]string{"OCTO_COLOR": "#ff0", "OCTO_ENV": "Staging"},
			Secrets:     map[string]string{"DB_PASSWORD": "arn:aws:ssm:ap-southeast-1:111111111111:parameter/hello/staging/db"},
		},
		"production": {
			Trigger:      TriggerManual,
			PromoteFrom:  "staging",
			Versions:     "^1.0.0",
			Cluster:      "apps-prod",
			Services:     []string{"hello-color"},
			Container:    Names{"web"},
			Region:       "ap-southeast-1",
			Environment:  map[string]string{"OCTO_COLOR": "#f00", "OCTO_ENV": "Production"},
			Secrets:      map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:ap-southeast-1:222222222222:secret:hello/prod/db-AbCdEf"},
			DesiredCount: ptr[int32](2),
			Deployment:   &Deployment{MaximumPercent: ptr[int32](200), MinimumHealthyPercent: ptr[int32](100), CircuitBreaker: &CircuitBreaker{Enable: true, Rollback: true}},
			Wait:         true,
		},
	}}
	if diff := cmp.Diff(want, doc, ignorePolicy); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"dev", "production", "staging"}, doc.Names()); diff != "" {
		t.Errorf("Names mismatch (-want +got):\n%s", diff)
	}

	policies := make(map[string]string)
	for name, env := range doc.Environments {
		policies[name] = env.Policy().String()
	}
	wantPolicies := map[string]string{
		"dev":        `versions ">=0.1.0", prereleases`,
		"staging":    `versions "^1.0.0"`,
		"production": `versions "^1.0.0"`,
	}
	if diff := cmp.Diff(wantPolicies, policies); diff != "" {
		t.Errorf("policies mismatch (-want +got):\n%s", diff)
	}
}

// TestParseExample parses an example with a dev and a production
// environment. It is refused, because production promotes from a staging
// environment that the example leaves out; with one, it is valid.
func TestParseExample(t *testing.T) {
	data := mustReadFile(t, "testdata/example.json")
	_, err := Parse(testParameter, data)
	want := []*input.Error{{Input: inputName, Source: testParameter, Field: "environments.production.promoteFrom", Problem: `unknown environment (environments: dev, production)`}}
	if diff := cmp.Diff(want, Problems(err)); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}

	var raw map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	raw["environments"]["staging"] = map[string]any{"versions": "^1.0.0", "cluster": "apps-staging", "services": []string{"hello-color-staging"}}
	doc := mustParse(t, mustMarshal(t, raw))
	if diff := cmp.Diff([]string{"dev", "production", "staging"}, doc.Names()); diff != "" {
		t.Errorf("Names mismatch (-want +got):\n%s", diff)
	}
	if got := doc.Environments["dev"].Trigger; got != TriggerPush {
		t.Errorf("dev trigger = %q, want the default %q", got, TriggerPush)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func asError(t *testing.T, err error) *input.Error {
	t.Helper()
	var e *input.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *input.Error", err, err)
	}
	return e
}

// TestParseInvalid parses every document in testdata/invalid and checks each
// problem reported, without the "config {parameter}: " prefix.
func TestParseInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"byte-order-mark", []string{`document starts with a byte order mark (U+FEFF): save it as UTF-8 without one`}},
		{"cluster-bad-arn", []string{`environments.dev.cluster: invalid cluster: want a cluster name (1 to 255 letters, digits, '_' or '-') or a cluster ARN`}},
		{"cluster-missing", []string{`environments.dev.cluster: required`}},
		{"cluster-whitespace", []string{`environments.dev.cluster: invalid cluster: want a cluster name (1 to 255 letters, digits, '_' or '-') or a cluster ARN`}},
		{"container-duplicate", []string{`environments.dev.container[2]: duplicate container`}},
		{"container-empty-list", []string{`environments.dev.container: empty list: name at least one container, or leave container out to update every container from this repository`}},
		{"container-empty-name", []string{`environments.dev.container: empty container name`}},
		{"container-invalid-name", []string{`environments.dev.container: invalid container name: use 1 to 255 letters, digits, '_' or '-'`}},
		{"container-list-of-numbers", []string{`environments.dev.container[1]: expected a string, got a number`}},
		{"container-number", []string{`environments.dev.container: expected a container name or a list of names, got a number`}},
		{"deployment-no-room", []string{`environments.dev.deployment: minimumHealthyPercent is not below maximumPercent: a rolling update would have no room to replace a task`}},
		{"desired-count-fraction", []string{`environments.dev.desiredCount: expected an integer, got a number with a fraction or an exponent`}},
		{"desired-count-negative", []string{`environments.dev.desiredCount: must be 0 or more`}},
		{"desired-count-overflow", []string{`environments.dev.desiredCount: expected an integer from -2147483648 to 2147483647`}},
		{"desired-count-string", []string{`environments.dev.desiredCount: expected an integer, got a string`}},
		{"duplicate-environment", []string{`environments.dev: key given more than once`}},
		{"duplicate-field", []string{`environments.dev.cluster: field given more than once`}},
		{"empty-environments", []string{`environments: at least one environment is required`}},
		{"empty", []string{`empty document`}},
		{"environment-name-dotdot", []string{`environments[".."]: invalid environment name: use 1 to 64 letters, digits, '_', '.' or '-' (not . or ..), as it becomes a segment of an SSM parameter name`}},
		{"environment-name-space", []string{`environments["dev env"]: invalid environment name: use 1 to 64 letters, digits, '_', '.' or '-' (not . or ..), as it becomes a segment of an SSM parameter name`}},
		{"environment-name-too-long", []string{`environments.eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee: invalid environment name: use 1 to 64 letters, digits, '_', '.' or '-' (not . or ..), as it becomes a segment of an SSM parameter name`}},
		{"environment-null", []string{`environments.dev: expected an object, got null`}},
		{"environment-values-not-strings", []string{`environments.dev.environment.PORT: expected a string, got a number`}},
		{"environment-variable-empty-name", []string{`environments.dev.environment[""]: empty variable name`}},
		{"environment-variable-equals", []string{`environments.dev.environment["A=B"]: invalid variable name: contains '='`}},
		{"family-invalid", []string{`environments.dev.family: invalid family: use 1 to 255 letters, digits, '_' or '-'`}},
		{"field-name-case", []string{`environments.dev.Cluster: unknown field (did you mean "cluster"?)`}},
		{"invalid-utf8", []string{`document is not valid UTF-8 (at byte 42)`}},
		{"maximum-percent-too-high", []string{`environments.dev.deployment.maximumPercent: must be from 100 to 400`}},
		{"maximum-percent-too-low", []string{`environments.dev.deployment.maximumPercent: must be from 100 to 400`}},
		{"minimum-healthy-percent-negative", []string{`environments.dev.deployment.minimumHealthyPercent: must be from 0 to 100`}},
		{"minimum-healthy-percent-too-high", []string{`environments.dev.deployment.minimumHealthyPercent: must be from 0 to 100`}},
		{"no-environments", []string{`environments: at least one environment is required`}},
		{"not-json", []string{`invalid JSON at line 1, column 1: invalid character 'e' looking for beginning of value`}},
		{"null", []string{`expected an object, got null`}},
		{"prereleases-string", []string{`environments.dev.prereleases: expected true or false, got a string`}},
		{"promote-from-itself", []string{`environments.production.promoteFrom: an environment cannot promote from itself`}},
		{"promote-from-unknown", []string{`environments.production.promoteFrom: unknown environment (environments: dev, production)`}},
		{"promotion-cycle-of-three", []string{`environments.a.promoteFrom: promotion cycle: a <- c <- b <- a`}},
		{"promotion-cycle", []string{`environments.production.promoteFrom: promotion cycle: production <- staging <- production`}},
		{"region-invalid", []string{`environments.dev.region: invalid region: want a region code such as us-east-1`}},
		{"secret-also-in-environment", []string{`environments.dev.secrets.DB_PASSWORD: also set in environment: a variable is either a value or a secret`}},
		{"secret-empty-value-from", []string{`environments.dev.secrets.DB_PASSWORD: empty valueFrom: want the ARN of a Secrets Manager secret or an SSM parameter`}},
		{"service-duplicate", []string{`environments.dev.services[2]: duplicate service: the same service as environments.dev.services[0] (by name or ARN, in the same cluster, account and region); a service belongs to one environment`}},
		{"service-empty-name", []string{`environments.dev.services[0]: empty service name`}},
		{"service-not-a-string", []string{`environments.dev.services[1]: expected a string, got a number`}},
		{"services-empty", []string{`environments.dev.services: at least one service is required`}},
		{"services-missing", []string{`environments.dev.services: at least one service is required`}},
		{"services-not-a-list", []string{`environments.dev.services: expected a list, got a string`}},
		{"several-problems", []string{
			`environments.dev.trigger: invalid trigger: want "push" or "manual"`,
			`environments.dev.cluster: required`,
			`environments.dev.services[1]: duplicate service: the same service as environments.dev.services[0] (by name or ARN, in the same cluster, account and region); a service belongs to one environment`,
			`environments.production.desiredCount: must be 0 or more`,
			`environments.production.promoteFrom: unknown environment (environments: dev, production)`,
		}},
		{"several-type-errors", []string{
			`environments.dev.services: expected a list, got a string`,
			`environments.dev.desiredCount: expected an integer, got a string`,
			`environments.dev.wait: expected true or false, got a string`,
		}},
		{"tag-pattern-invalid", []string{"environments.dev.tagPattern: invalid regular expression: error parsing regexp: missing closing ): `release-(?P<version>.+`"}},
		{"tag-pattern-no-group", []string{`environments.dev.tagPattern: pattern "release-(.+)" has no named group "version" (write it as (?P<version>…))`}},
		{"too-large", []string{`document is 12945 bytes, more than the 8192 bytes an SSM parameter can hold (advanced tier)`}},
		{"top-level-list", []string{`expected an object, got a list`}},
		{"trailing-comma", []string{`environments.dev: invalid JSON at line 6, column 5: invalid character '}' looking for beginning of object key string`}},
		{"trailing-data", []string{`unexpected data after the document: an object`}},
		{"trigger-invalid", []string{`environments.dev.trigger: invalid trigger: want "push" or "manual"`}},
		{"truncated", []string{`environments.dev: invalid JSON: unexpected end of the document`}},
		{"unknown-deployment-field", []string{`environments.dev.deployment.rollback: unknown field`}},
		{"codedeploy-no-application", []string{`environments.dev.deployment.codeDeploy.application: required`}},
		{"codedeploy-group-for-two-services", []string{`environments.dev.deployment.codeDeploy.deploymentGroup: a deployment group deploys one ECS service, and this environment has 2: name only the application, and the group that deploys each service is looked up`}},
		{"codedeploy-name-too-long", []string{`environments.dev.deployment.codeDeploy.application: longer than the 100 characters CodeDeploy allows`}},
		{"codedeploy-name-whitespace", []string{`environments.dev.deployment.codeDeploy.deploymentGroup: invalid name: leading or trailing white space, or a control character`}},
		{"codedeploy-unknown-field", []string{`environments.dev.deployment.codeDeploy.group: unknown field`}},
		{`bad-roleArn`, []string{`environments.production.roleArn: invalid role ARN: want arn:aws:iam::<account>:role/<name>`}},
		{`bad-registry`, []string{`environments.production.registry: invalid registry: want an ECR registry host such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com`}},
		{`bad-imageRef`, []string{`environments.production.imageRef: invalid imageRef: want "tag" or "digest"`}},
		{`taskDefinition-unknown-field`, []string{`environments.production.taskDefinition: decode task definition JSON: containerDefinitions[0].imag: unknown field`}},
		{`taskDefinition-no-family`, []string{`environments.production.taskDefinition: family: missing`}},
		{`taskDefinition-duplicate-container`, []string{`environments.production.taskDefinition.containerDefinitions[1].name: duplicate container name: the same as containerDefinitions[0].name`}},
		{"unknown-top-level-field", []string{`version: unknown field`}},
		{"versions-and-tag-pattern-invalid", []string{
			`environments.dev.versions: invalid range "^^1": improper constraint: "^^1"`,
			`environments.dev.tagPattern: pattern "release-(.+)" has no named group "version" (write it as (?P<version>…))`,
		}},
		{"versions-invalid", []string{`environments.dev.versions: invalid range ">=banana": improper constraint: ">=banana"`}},
		{"versions-null", []string{`environments.dev.versions: expected a string, got null`}},
		{"service-in-two-environments", []string{`environments.staging.services[0]: duplicate service: the same service as environments.dev.services[0] (by name or ARN, in the same cluster, account and region); a service belongs to one environment`}},
		{"service-by-name-and-arn", []string{`environments.dev.services[1]: duplicate service: the same service as environments.dev.services[0] (by name or ARN, in the same cluster, account and region); a service belongs to one environment`}},
		{"service-arn-in-two-environments", []string{`environments.staging.services[0]: duplicate service: the same service as environments.dev.services[0] (by name or ARN, in the same cluster, account and region); a service belongs to one environment`}},
		{"service-arn-other-cluster", []string{`environments.dev.services[0]: the service ARN's cluster is not the environment's cluster: a service is deployed in the environment's cluster`}},
		{"service-arn-other-region", []string{`environments.dev.services[0]: the service ARN is in us-east-1, but the environment's region is eu-west-1`}},
		{"cluster-arn-other-region", []string{`environments.dev.cluster: the cluster ARN is in us-east-1, but the environment's region is eu-west-1: ECS is called there; set region to us-east-1, or name a cluster of eu-west-1`}},
		{"service-arn-other-account", []string{`environments.dev.services[0]: the service ARN's account or region is not the cluster ARN's`}},
		{"versions-empty-range", []string{`environments.dev.versions: the range can match no version: its bounds exclude each other (checked against the versions it names and their neighbours)`}},
		{"versions-only-prereleases", []string{`environments.dev.versions: the range matches only pre-releases, and prereleases is false: no version would be deployed`}},
		{"environment-name-case-variant", []string{`environments.Dev: the same key as dev in another case: give it once, spelled one way`}},
		{"field-case-variant", []string{`environments.dev.Cluster: the same key as cluster in another case: give it once, spelled one way`}},
		{"taskDefinition-duplicate-key", []string{`environments.production.taskDefinition.containerDefinitions[0].memory: given more than once`}},
		{"taskDefinition-case-variant-key", []string{`environments.production.taskDefinition.Family: the same key as family in another case: give it once, spelled one way`}},
		{"taskDefinition-case-variant-in-container", []string{`environments.production.taskDefinition.containerDefinitions[0].Image: the same key as image in another case: give it once, spelled one way`}},
		{"whitespace-only", []string{`empty document`}},
		{"freeze-no-calendars", []string{`environments.production.freeze.calendars: at least one calendar is required: name a change calendar, or leave freeze out`}},
		{"freeze-bad-calendars", []string{
			`environments.production.freeze.calendars[0]: invalid calendar name: use 3 to 128 letters, digits, '_', '-' or '.', or a document ARN`,
			`environments.production.freeze.calendars[1]: invalid calendar ARN: want arn:aws:ssm:<region>:<account>:document/<name>`,
			`environments.production.freeze.calendars[3]: duplicate calendar`,
		}},
		{"freeze-unknown-field", []string{`environments.production.freeze.calendar: unknown field`}},
		{"protect-not-bool", []string{`protect: expected true or false, got a string`}},
	}

	files, err := filepath.Glob("testdata/invalid/*.json")
	if err != nil {
		t.Fatal(err)
	}
	covered := make(map[string]bool)
	for _, tt := range tests {
		covered[tt.file] = true
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !covered[name] {
			t.Errorf("%s has no expected message in the table", f)
		}
	}

	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			doc, err := Parse(testParameter, mustReadFile(t, filepath.Join("testdata/invalid", tt.file+".json")))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", doc)
			}
			if doc != nil {
				t.Errorf("Parse returned a document with an error")
			}
			var got []string
			for _, p := range Problems(err) {
				if p.Input != inputName || p.Source != testParameter {
					t.Errorf("Input, Source = %q, %q, want %q, %q", p.Input, p.Source, inputName, testParameter)
				}
				got = append(got, strings.TrimPrefix(p.Error(), "config "+testParameter+": "))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
			if first := asError(t, err); first != Problems(err)[0] {
				t.Errorf("errors.As found %v, want the first problem", first)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("message has %d lines, want one per problem:\n%v", len(lines), err)
			}
		})
	}
}

// An environment without region is in the function's own: a cluster or
// service ARN of another region is refused when the function's region is
// known (ParseIn), naming both; the ARN's own region is accepted.
func TestParseInTheFunctionsRegion(t *testing.T) {
	doc := func(cluster, service string) []byte {
		return []byte(`{"environments": {"dev": {"cluster": "` + cluster + `", "services": ["` + service + `"]}}}`)
	}
	const other = "arn:aws:ecs:eu-west-1:123456789012:cluster/apps"
	tests := []struct {
		name, region string
		data         []byte
		want         string // the problem; "" for none
	}{
		{"a cluster ARN of another region", "us-east-1", doc(other, "web"),
			`environments.dev.cluster: the cluster ARN is in eu-west-1, but the environment's region (region is not set: the function's own) is us-east-1: ECS is called there; set region to eu-west-1, or name a cluster of us-east-1`},
		{"a service ARN of another region", "us-east-1", doc("apps", "arn:aws:ecs:eu-west-1:123456789012:service/apps/web"),
			`environments.dev.services[0]: the service ARN is in eu-west-1, but the environment's region (region is not set: the function's own) is us-east-1`},
		{"a cluster ARN of the function's region", "eu-west-1", doc(other, "web"), ""},
		{"the function's region not known", "", doc(other, "web"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIn(testParameter, tt.data, tt.region)
			var got string
			if err != nil {
				got = strings.TrimPrefix(err.Error(), "config "+testParameter+": ")
			}
			if got != tt.want {
				t.Errorf("ParseIn(%s) = %q, want %q", tt.region, got, tt.want)
			}
		})
	}
}

// TestParseValid checks documents that exercise the accepted edges of the rules.
func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *Environment
	}{
		{
			name: "minimal",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web"]}}}`,
			want: &Environment{Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"}},
		},
		{
			name: "ARNs",
			doc: `{"environments": {"dev": {
				"cluster": "arn:aws:ecs:us-east-1:111111111111:cluster/apps",
				"services": ["arn:aws:ecs:us-east-1:111111111111:service/apps/web", "arn:aws:ecs:us-east-1:111111111111:service/old-style"]}}}`,
			want: &Environment{
				Trigger:  TriggerPush,
				Cluster:  "arn:aws:ecs:us-east-1:111111111111:cluster/apps",
				Services: []string{"arn:aws:ecs:us-east-1:111111111111:service/apps/web", "arn:aws:ecs:us-east-1:111111111111:service/old-style"},
			},
		},
		{
			name: "list of containers",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "container": ["web", "nginx"]}}}`,
			want: &Environment{Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"}, Container: Names{"web", "nginx"}},
		},
		{
			name: "list of one container",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "container": ["web"]}}}`,
			want: &Environment{Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"}, Container: Names{"web"}},
		},
		{
			name: "bounds of deployment settings and counts",
			doc: `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "desiredCount": 0,
				"deployment": {"maximumPercent": 400, "minimumHealthyPercent": 0, "circuitBreaker": false}}}}`,
			want: &Environment{
				Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"}, DesiredCount: ptr[int32](0),
				Deployment: &Deployment{MaximumPercent: ptr[int32](400), MinimumHealthyPercent: ptr[int32](0), CircuitBreaker: &CircuitBreaker{}},
			},
		},
		{
			name: "maximumPercent 100 with a lower minimum",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "deployment": {"maximumPercent": 100, "minimumHealthyPercent": 50}}}}`,
			want: &Environment{
				Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"},
				Deployment: &Deployment{MaximumPercent: ptr[int32](100), MinimumHealthyPercent: ptr[int32](50)},
			},
		},
		{
			name: "empty deployment block",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "deployment": {}}}}`,
			want: &Environment{Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"}, Deployment: &Deployment{}},
		},
		{
			name: "CodeDeploy application only, for several services",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web", "api"], "deployment": {"codeDeploy": {"application": "apps"}}}}}`,
			want: &Environment{
				Trigger: TriggerPush, Cluster: "apps", Services: []string{"web", "api"},
				Deployment: &Deployment{CodeDeploy: &CodeDeploy{Application: "apps"}},
			},
		},
		{
			name: "CodeDeploy application and deployment group",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "deployment": {"codeDeploy": {"application": "AppECS-apps-web", "deploymentGroup": "DgpECS-apps-web"}}}}}`,
			want: &Environment{
				Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"},
				Deployment: &Deployment{CodeDeploy: &CodeDeploy{Application: "AppECS-apps-web", DeploymentGroup: "DgpECS-apps-web"}},
			},
		},
		{
			name: "regions and families",
			doc:  `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "region": "us-gov-west-1", "family": "hello_color-2"}}}`,
			want: &Environment{Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"}, Region: "us-gov-west-1", Family: "hello_color-2"},
		},
		{
			name: "variable names ECS takes",
			doc: `{"environments": {"dev": {"cluster": "apps", "services": ["web"],
				"environment": {"lower.case-name": "", "1ST": "x"}, "secrets": {"API_KEY": "api-key-parameter"}}}}`,
			want: &Environment{
				Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"},
				Environment: map[string]string{"lower.case-name": "", "1ST": "x"},
				Secrets:     map[string]string{"API_KEY": "api-key-parameter"},
			},
		},
		{
			name: "explicit defaults",
			doc: `{"environments": {"dev": {"trigger": "push", "versions": "*", "prereleases": false, "wait": false,
				"cluster": "apps", "services": ["web"]}}}`,
			want: &Environment{Trigger: TriggerPush, Versions: "*", Cluster: "apps", Services: []string{"web"}},
		},
		{
			name: "tag pattern",
			doc:  `{"environments": {"dev": {"tagPattern": "release-(?P<version>.+)", "cluster": "apps", "services": ["web"]}}}`,
			want: &Environment{Trigger: TriggerPush, TagPattern: "release-(?P<version>.+)", Cluster: "apps", Services: []string{"web"}},
		},
		{
			name: "change calendars by name and by ARN",
			doc: `{"environments": {"dev": {"cluster": "apps", "services": ["web"],
				"freeze": {"calendars": ["release-freeze", "arn:aws:ssm:eu-west-1:222222222222:document/sales.peak_2026"]}}}}`,
			want: &Environment{
				Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"},
				Freeze: &Freeze{Calendars: []string{"release-freeze", "arn:aws:ssm:eu-west-1:222222222222:document/sales.peak_2026"}},
			},
		},
		{
			name: "surrounding white space",
			doc:  "\n\t {\"environments\": {\"dev\": {\"cluster\": \"apps\", \"services\": [\"web\"]}}} \n\n",
			want: &Environment{Trigger: TriggerPush, Cluster: "apps", Services: []string{"web"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustParse(t, []byte(tt.doc))
			if diff := cmp.Diff(tt.want, doc.Environments["dev"], ignorePolicy); diff != "" {
				t.Errorf("environment mismatch (-want +got):\n%s", diff)
			}
			if doc.Environments["dev"].Policy() == nil {
				t.Errorf("Policy() = nil, want the compiled policy")
			}
		})
	}
}

func TestParseProtect(t *testing.T) {
	doc := mustParse(t, []byte(`{"protect": true, "environments": {"dev": {"cluster": "apps", "services": ["web"]}}}`))
	if !doc.Protect {
		t.Error("Protect = false, want true")
	}
	if doc := mustParse(t, []byte(`{"environments": {"dev": {"cluster": "apps", "services": ["web"]}}}`)); doc.Protect {
		t.Error("Protect = true without the field, want false: ecrdeploy tags nothing unless asked")
	}
}

func TestParsePromotionChain(t *testing.T) {
	doc := mustParse(t, []byte(`{"environments": {
		"dev": {"cluster": "apps", "services": ["web-dev"]},
		"staging": {"cluster": "apps", "services": ["web-staging"], "promoteFrom": "dev"},
		"production": {"cluster": "apps", "services": ["web"], "promoteFrom": "staging", "trigger": "manual"},
		"dr": {"cluster": "apps", "services": ["web"], "region": "us-west-2", "promoteFrom": "staging", "trigger": "manual"}}}`))
	if diff := cmp.Diff([]string{"dev", "dr", "production", "staging"}, doc.Names()); diff != "" {
		t.Errorf("Names mismatch (-want +got):\n%s", diff)
	}
}

func TestParseMaxDocumentSize(t *testing.T) {
	base := `{"environments": {"dev": {"cluster": "apps", "services": ["web"]}}}`
	pad := func(n int) []byte { return []byte(base + strings.Repeat(" ", n-len(base))) }
	if _, err := Parse(testParameter, pad(MaxDocumentSize)); err != nil {
		t.Errorf("Parse of %d bytes: %v", MaxDocumentSize, err)
	}
	_, err := Parse(testParameter, pad(MaxDocumentSize+1))
	want := &input.Error{Input: inputName, Source: testParameter, Problem: "document is 8193 bytes, more than the 8192 bytes an SSM parameter can hold (advanced tier)"}
	if diff := cmp.Diff(want, asError(t, err)); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *input.Error
		want string
	}{
		{"all parts", &input.Error{Input: inputName, Source: "/p/config/r", Field: "environments.dev.versions", Problem: "bad"}, "config /p/config/r: environments.dev.versions: bad"},
		{"no field", &input.Error{Input: inputName, Source: "/p/config/r", Problem: "empty document"}, "config /p/config/r: empty document"},
		{"no parameter", &input.Error{Input: inputName, Field: "environments", Problem: "bad"}, "config: environments: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNamesJSON(t *testing.T) {
	tests := []struct {
		name  string
		names Names
		json  string
	}{
		{"one name is a string", Names{"web"}, `"web"`},
		{"two names are a list", Names{"web", "nginx"}, `["web","nginx"]`},
		{"no names", Names{}, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.names)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.json, string(got)); diff != "" {
				t.Errorf("Marshal mismatch (-want +got):\n%s", diff)
			}
			var back Names
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.names, back); diff != "" {
				t.Errorf("Unmarshal mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("omitted when empty", func(t *testing.T) {
		got, err := json.Marshal(&Environment{Cluster: "apps", Services: []string{"web"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(`{"cluster":"apps","services":["web"]}`, string(got)); diff != "" {
			t.Errorf("Marshal mismatch (-want +got):\n%s", diff)
		}
	})

	for _, bad := range []string{`3`, `null`, `{}`, `[1]`, `true`} {
		t.Run("unmarshal "+bad, func(t *testing.T) {
			var n Names
			err := json.Unmarshal([]byte(bad), &n)
			if err == nil {
				t.Fatalf("Unmarshal(%s) = %v, want an error", bad, n)
			}
			if !strings.Contains(err.Error(), "expected a container name or a list of names") {
				t.Errorf("Unmarshal(%s) error = %v", bad, err)
			}
		})
	}
}

// TestCheckerOpaqueTypes covers the checker's handling of types that decode
// themselves (json.RawMessage, for a later taskDefinition field) and of kinds
// the document does not use yet.
func TestCheckerOpaqueTypes(t *testing.T) {
	type doc struct {
		Raw    json.RawMessage `json:"raw"`
		Custom strictBool      `json:"custom"`
		Ratio  float64         `json:"ratio"`
		Skip   string          `json:"-"`
	}
	tests := []struct {
		name string
		data string
		want []*input.Error
	}{
		{"anything goes in raw", `{"raw": {"a": [1, {"b": null}]}, "custom": "yes", "ratio": 0.5}`, nil},
		{"custom decoder error at its path", `{"raw": 1, "custom": "maybe"}`, []*input.Error{{Field: "custom", Problem: `want "yes" or "no"`}}},
		{"custom decoder after a spaced colon", `{"custom"  :  "no"}`, nil},
		{"field tagged - is unknown", `{"Skip": "x"}`, []*input.Error{{Field: "Skip", Problem: "unknown field"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{dec: json.NewDecoder(strings.NewReader(tt.data)), data: []byte(tt.data)}
			c.dec.UseNumber()
			if err := c.value("", reflect.TypeFor[doc]()); err != nil {
				t.Fatalf("syntax error: %v", err)
			}
			if diff := cmp.Diff(tt.want, c.problems); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type strictBool bool

func (b *strictBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case `"yes"`:
		*b = true
	case `"no"`:
		*b = false
	default:
		return errors.New(`want "yes" or "no"`)
	}
	return nil
}

func TestParameterName(t *testing.T) {
	tests := []struct {
		name       string
		prefix     string
		repository string
		want       string
	}{
		{"default prefix", "/ecrdeploy", "hello-color", "/ecrdeploy/config/hello-color"},
		{"trailing slash", "/ecrdeploy/", "hello-color", "/ecrdeploy/config/hello-color"},
		{"nested prefix", "/platform/ecrdeploy", "hello-color", "/platform/ecrdeploy/config/hello-color"},
		{"repository with a slash", "/ecrdeploy", "team/web", "/ecrdeploy/config/team/web"},
		{"no leading slash", "ecrdeploy", "team/web", "/ecrdeploy/config/team/web"},
		{"root prefix", "/", "web", "/config/web"},
		{"empty prefix", "", "web", "/config/web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParameterName(tt.prefix, tt.repository)); diff != "" {
				t.Errorf("ParameterName(%q, %q) mismatch (-want +got):\n%s", tt.prefix, tt.repository, diff)
			}
		})
	}
}

func TestParseTargetFields(t *testing.T) {
	td := `{"taskDefinition":{"family":"hello-color-prod","taskDefinitionArn":"arn:aws:ecs:eu-west-1:222222222222:task-definition/hello-color-prod:3",
		"revision":3,"status":"ACTIVE","containerDefinitions":[{"name":"web","image":"placeholder","essential":true,"memory":512}]},"tags":[]}`
	doc := mustParse(t, []byte(`{"environments":{"production":{"cluster":"apps","services":["web"],
		"roleArn":"arn:aws:iam::222222222222:role/ecrdeploy-target","region":"eu-west-1",
		"registry":"222222222222.dkr.ecr.eu-west-1.amazonaws.com","imageRef":"digest","taskDefinition":`+td+`}}}`))
	env := doc.Environments["production"]
	if env.RoleARN != "arn:aws:iam::222222222222:role/ecrdeploy-target" || env.ImageRef != ImageRefDigest || env.Registry == "" {
		t.Errorf("environment = %+v", env)
	}
	in := env.TaskDefinition.Input()
	if in == nil || *in.Family != "hello-color-prod" || len(in.ContainerDefinitions) != 1 {
		t.Fatalf("template input = %+v", in)
	}
	if env.Family != "hello-color-prod" {
		t.Errorf("family defaults to the template's: got %q", env.Family)
	}
	back, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	again := mustParse(t, back)
	if !again.Environments["production"].TaskDefinition.Equal(env.TaskDefinition) {
		t.Errorf("task definition does not survive a round trip: %s", back)
	}
	account, region, ok := input.ParseRegistryHost(env.Registry)
	if !ok || account != "222222222222" || region != "eu-west-1" {
		t.Errorf("ParseRegistryHost = %q %q %v", account, region, ok)
	}
}

// TestParseSameNameElsewhere checks what is not the same service, nor the
// same key: a service of the same name in another account, region or
// cluster, and variable names that differ only in case.
func TestParseSameNameElsewhere(t *testing.T) {
	mustParse(t, []byte(`{"environments": {
		"dev": {"cluster": "apps", "services": ["web"], "environment": {"http_proxy": "a", "HTTP_PROXY": "a"}, "secrets": {"k": "p", "K": "p"}},
		"other-cluster": {"cluster": "apps2", "services": ["web"]},
		"other-region": {"cluster": "apps", "region": "eu-west-1", "services": ["web"]},
		"other-account": {"cluster": "apps", "roleArn": "arn:aws:iam::222222222222:role/deploy", "services": ["web"]},
		"other-account-by-arn": {"cluster": "arn:aws:ecs:us-east-1:333333333333:cluster/apps", "services": ["arn:aws:ecs:us-east-1:333333333333:service/apps/web"]},
		"old-style-arn": {"cluster": "apps3", "services": ["arn:aws:ecs:us-east-1:123456789012:service/web"]}}}`))
}

// TestParseProblemsQuoteNoValue decodes documents with an invalid value in
// every field that holds a variable or a secret (an environment's
// environment and secrets, a task definition's container environment and
// secrets) and checks that no message quotes the value: problems name the
// field's path, and messages go to logs.
func TestParseProblemsQuoteNoValue(t *testing.T) {
	const (
		value     = "s3cr3t-VALUE"
		valueFrom = "arn:aws:ssm:us-east-1:111111111111:parameter/s3cr3t-PARAM"
		number    = "987654321"
	)
	td := func(container string) string {
		return `,"taskDefinition":{"family":"web","containerDefinitions":[{"name":"web","image":"x"` + container + `}]}`
	}
	docs := map[string]string{
		"environment value a number":       devWith(`,"environment":{"A":` + number + `}`),
		"environment value an object":      devWith(`,"environment":{"A":{"v":"` + value + `"}}`),
		"environment value a list":         devWith(`,"environment":{"A":["` + value + `"]}`),
		"environment a string":             devWith(`,"environment":"A=` + value + `"`),
		"environment a list":               devWith(`,"environment":["A=` + value + `"]`),
		"environment also a secret":        devWith(`,"environment":{"A":"` + value + `"},"secrets":{"A":"` + valueFrom + `"}`),
		"environment twice":                devWith(`,"environment":{"A":"` + value + `","A":"` + value + `"}`),
		"environment bad name":             devWith(`,"environment":{"A=B":"` + value + `"}`),
		"secret with white space":          devWith(`,"secrets":{"A":"` + valueFrom + ` x"}`),
		"secret a number":                  devWith(`,"secrets":{"A":` + number + `}`),
		"secret an object":                 devWith(`,"secrets":{"A":{"valueFrom":"` + valueFrom + `"}}`),
		"secrets a string":                 devWith(`,"secrets":"` + valueFrom + `"`),
		"secrets a list":                   devWith(`,"secrets":["` + valueFrom + `"]`),
		"secret empty beside":              devWith(`,"secrets":{"A":"` + valueFrom + `","B":""}`),
		"container environment a number":   devWith(td(`,"environment":[{"name":"A","value":` + number + `}]`)),
		"container environment an object":  devWith(td(`,"environment":[{"name":"A","value":{"v":"` + value + `"}}]`)),
		"container environment unknown":    devWith(td(`,"environment":[{"name":"A","value":"` + value + `","valu":"` + value + `"}]`)),
		"container environment a map":      devWith(td(`,"environment":{"A":"` + value + `"}`)),
		"container environment twice":      devWith(td(`,"environment":[{"name":"A","value":"` + value + `","value":"` + value + `"}]`)),
		"container secret a number":        devWith(td(`,"secrets":[{"name":"A","valueFrom":` + number + `}]`)),
		"container secret unknown field":   devWith(td(`,"secrets":[{"name":"A","valueFrom":"` + valueFrom + `","value":"` + value + `"}]`)),
		"container secret a string":        devWith(td(`,"secrets":"` + valueFrom + `"`)),
		"container secret in another case": devWith(td(`,"secrets":[{"name":"A","valueFrom":"` + valueFrom + `","ValueFrom":"` + valueFrom + `"}]`)),
		"log option a number":              devWith(td(`,"logConfiguration":{"logDriver":"awslogs","options":{"k":` + number + `}}`)),
		"docker label an object":           devWith(td(`,"dockerLabels":{"k":{"v":"` + value + `"}}`)),
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(testParameter, []byte(doc))
			if err == nil {
				t.Fatalf("Parse accepted %s", doc)
			}
			for _, v := range []string{value, "s3cr3t", number} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error quotes the value %q: %v", v, err)
				}
			}
		})
	}
}

// An environment may name as many services as it runs: the state store
// sets no limit (a monolith's web, worker, scheduler and queue consumers).
func TestFortyServicesInOneEnvironment(t *testing.T) {
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf(`"consumer-%02d"`, i))
	}
	doc, err := Parse("monolith", []byte(`{"environments":{"production":{"cluster":"apps","services":[`+strings.Join(names, ",")+`]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Environments["production"].Services); n != 40 {
		t.Errorf("%d services, want 40", n)
	}
}
