package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
	"github.com/ecrdeploy/ecrdeploy/pkg/taskdef"
	"github.com/ecrdeploy/ecrdeploy/pkg/verify"
)

const (
	otherAccount = "222222222222"
	otherRegion  = "us-west-2"
	targetRole   = "arn:aws:iam::222222222222:role/ecrdeploy-target"
)

// otherAccountConfig returns moto credentials for the second account, as
// assuming a role there gives them.
func otherAccountConfig(t *testing.T, env *awstest.Env) aws.Config {
	t.Helper()
	cfg := env.Local.Config.Copy()
	cfg.Region = otherRegion
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(env.Local.Config), "arn:aws:iam::222222222222:role/seed"))
	return cfg
}

func TestTemplateModeFirstDeployIntoAServiceThatRanSomethingElse(t *testing.T) {
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), cluster))(t)
	// The service runs nginx from another family: nothing of hello-color.
	in := awstest.Must(localaws.ParseTaskDefinition([]byte(`{"family":"placeholder","containerDefinitions":[{"name":"nginx","image":"nginx:1.27","memory":128,"essential":true}]}`)))(t)
	other := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	awstest.Must(env.Local.CreateService(t.Context(), cluster, "hello-color-qa", other, 1))(t)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	pretty, err := os.ReadFile(fargateFixture)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer // a parameter holds at most 8 KiB
	if err := json.Compact(&compact, pretty); err != nil {
		t.Fatal(err)
	}
	tmpl := compact.Bytes()
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{"qa":{"cluster":"apps","services":["hello-color-qa"],
		"container":"web","family":"hello-color-qa","environment":{"OCTO_ENV":"QA"},"taskDefinition":`+string(tmpl)+`}}}`))(t)
	w := &world{env: env, d: newDeployer(env, nil)}
	p := w.push(t, "1.4.0")
	res := w.deliver(t, p)
	if got := outcomes(res)["qa"]; got != "deployed" {
		t.Fatalf("qa = %q (%+v), want deployed", got, res)
	}
	td, tags := w.running(t, "hello-color-qa")
	if aws.ToString(td.Family) != "hello-color-qa" || image(td, "web") != localaws.ImageURI("hello-color", "1.4.0") || len(td.ContainerDefinitions) != 2 {
		t.Errorf("qa runs %s with web %s and %d containers", aws.ToString(td.TaskDefinitionArn), image(td, "web"), len(td.ContainerDefinitions))
	}
	// The revision is the template with only image, variables and tags set.
	fixture, fixtureTags, err := taskdef.DecodeDescribeJSON(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	want := expectRender(taskdef.FromDescribe(fixture, fixtureTags), "web", localaws.ImageURI("hello-color", "1.4.0"), map[string]string{"OCTO_ENV": "QA"}, nil)
	want.Family = aws.String("hello-color-qa")
	if diff := cmp.Diff(canonical(t, want), canonical(t, taskdef.FromDescribe(td, tags))); diff != "" {
		t.Errorf("revision differs from the template (-want +got):\n%s", diff)
	}
	// A re-delivery registers nothing.
	env.Proxy.Reset()
	if got := outcomes(w.deliver(t, p))["qa"]; got != "unchanged" || env.Proxy.Count("RegisterTaskDefinition") != 0 {
		t.Errorf("re-delivery: qa = %q with %d registrations", got, env.Proxy.Count("RegisterTaskDefinition"))
	}
}

// seedOtherAccount creates, in the second account and region, the cluster
// and service production runs, and returns that account's ECS client.
func seedOtherAccount(t *testing.T, env *awstest.Env) *ecs.Client {
	t.Helper()
	cfg := otherAccountConfig(t, env)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("apps-prod")}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ec2Fixture)
	if err != nil {
		t.Fatal(err)
	}
	in, err := localaws.ParseTaskDefinition(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.RegisterTaskDefinition(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("apps-prod"), ServiceName: aws.String("hello-color"),
		TaskDefinition: out.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeEc2}); err != nil {
		t.Fatal(err)
	}
	return client
}

func TestDeployIntoAnotherAccountThroughAssumedRole(t *testing.T) {
	env := awstest.New(t)
	prodECS := seedOtherAccount(t, env)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{"production":{"trigger":"manual","cluster":"apps-prod","services":["hello-color"],
		"region":"`+otherRegion+`","roleArn":"`+targetRole+`","imageRef":"digest","environment":{"OCTO_COLOR":"#f00"}}}}`))(t)
	w := &world{env: env, d: newDeployer(env, nil)}
	p := w.push(t, "1.4.0")
	res, err := w.d.Manual(t.Context(), mustRequest(t, `{"action":"deploy","repository":"hello-color","tag":"1.4.0","environment":"production"}`), "r")
	if err != nil || res.Error != "" || outcomes(res)["production"] != "deployed" {
		t.Fatalf("deploy: %v %+v", err, res)
	}
	r := row(t, res, "production")
	if !strings.Contains(r.TaskDefinition, ":"+otherRegion+":"+otherAccount+":task-definition/") {
		t.Errorf("registered %s, want a revision in %s/%s", r.TaskDefinition, otherAccount, otherRegion)
	}
	svc, err := prodECS.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("apps-prod"), Services: []string{"hello-color"}})
	if err != nil || len(svc.Services) != 1 {
		t.Fatalf("describe production service: %v", err)
	}
	if got := aws.ToString(svc.Services[0].TaskDefinition); !localaws.SameTaskDefinition(got, r.TaskDefinition) {
		t.Errorf("production service runs %s, want %s", got, r.TaskDefinition)
	}
	td, err := prodECS.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(r.TaskDefinition)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := image(td.TaskDefinition, "app"), localaws.RegistryHost()+"/hello-color@"+p.Digest; got != want {
		t.Errorf("image = %s, want %s (imageRef digest)", got, want)
	}
	if n := env.Proxy.Count("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1 (credentials cached)", n)
	}
	var assume string
	for _, c := range env.Proxy.Log() {
		if c.Operation == "AssumeRole" {
			assume = string(c.Request)
		}
	}
	if !strings.Contains(assume, "RoleSessionName=ecrdeploy-hello-color-production") {
		t.Errorf("AssumeRole request %q lacks the session name", assume)
	}
}

// TestAPushBeforeReplicationAwaitsTheReplica: a push that arrives before
// ECR has replicated the image to the registry an environment pulls from
// skips that environment (awaiting-replica), registers nothing, and is not
// an error: retried, it would only end in the dead-letter queue.
func TestAPushBeforeReplicationAwaitsTheReplica(t *testing.T) {
	env := awstest.New(t)
	seedOtherAccount(t, env)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	replica := otherAccount + ".dkr.ecr." + otherRegion + ".amazonaws.com"
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{"production":{"cluster":"apps-prod","services":["hello-color"],
		"region":"`+otherRegion+`","roleArn":"`+targetRole+`","registry":"`+replica+`"}}}`))(t)
	w := &world{env: env, d: newDeployer(env, nil)}
	p := w.push(t, "1.4.0")
	env.Proxy.Reset()
	res, err := w.d.Push(t.Context(), p)
	if err != nil {
		t.Errorf("Push error = %v, want none: replication is waited for, not retried", err)
	}
	if r := row(t, res, "production"); r.Outcome != deploy.Skipped || r.Reason != policy.AwaitingReplica ||
		!strings.Contains(r.Detail, replica+"/hello-color@"+p.Digest) {
		t.Errorf("production = %+v, want skipped awaiting-replica naming %s/hello-color@%s", r, replica, p.Digest)
	}
	if ops := mutating(env); len(ops) != 0 && !(len(ops) == 1 && ops[0] == "AssumeRole") {
		t.Errorf("a missing replica made mutating calls: %v", ops)
	}

	// ECR replicates the image, and says so in the destination: the
	// replication event deploys it, pulling from the replica. A replication
	// to a registry nobody pulls from does nothing.
	replicate(t, env, p)
	replicated := event.Replication{ID: "repl-1", Time: time.Now().UTC(), Account: otherAccount, Region: otherRegion,
		Repository: "hello-color", Digest: p.Digest, Tag: "1.4.0", SourceAccount: localaws.AccountID, SourceRegion: localaws.Region, Result: "SUCCESS"}
	elsewhere := replicated
	elsewhere.Region = "eu-west-3"
	env.Proxy.Reset()
	if res, err := w.d.Replicated(t.Context(), elsewhere); err != nil || len(res.Results) != 0 || env.Proxy.Total() > 1 {
		t.Errorf("replication elsewhere: %+v, %v, %d calls; want nothing done", res, err, env.Proxy.Total())
	}
	res, err = w.d.Replicated(t.Context(), replicated)
	if err != nil {
		t.Fatal(err)
	}
	if r := row(t, res, "production"); r.Outcome != deploy.Deployed || r.Image != replica+"/hello-color:1.4.0" {
		t.Errorf("after replication: production = %+v", r)
	}
}

// replicate puts a pushed image in the replica registry of the second
// account and region, as ECR's replication does.
func replicate(t *testing.T, env *awstest.Env, p event.Push) {
	t.Helper()
	repl := ecr.NewFromConfig(otherAccountConfig(t, env))
	if _, err := repl.CreateRepository(t.Context(), &ecr.CreateRepositoryInput{RepositoryName: aws.String("hello-color")}); err != nil {
		t.Fatal(err)
	}
	manifest := localaws.ImageManifest("hello-color " + p.Tag)
	if _, err := repl.PutImage(t.Context(), &ecr.PutImageInput{RepositoryName: aws.String("hello-color"), ImageManifest: aws.String(string(manifest)),
		ImageTag: aws.String(p.Tag), ImageDigest: aws.String(p.Digest)}); err != nil {
		t.Fatal(err)
	}
}

// TestAFailedReplicationIsReportedForTheEnvironmentsWaiting: a FAILED
// replication to the registry an environment pulls from is published as a
// failure of that environment (Deployment Failed), naming the digest and
// the registry; nothing is deployed.
func TestAFailedReplicationIsReportedForTheEnvironmentsWaiting(t *testing.T) {
	env := awstest.New(t)
	seedOtherAccount(t, env)
	awstest.Must(env.Local.CreateRepository(t.Context(), "hello-color"))(t)
	replica := otherAccount + ".dkr.ecr." + otherRegion + ".amazonaws.com"
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/hello-color", `{"environments":{
		"production":{"cluster":"apps-prod","services":["hello-color"],"region":"`+otherRegion+`","roleArn":"`+targetRole+`","registry":"`+replica+`"},
		"eu":{"versions":"^2.0.0","cluster":"apps-prod","services":["hello-color-eu"],"region":"`+otherRegion+`","roleArn":"`+targetRole+`","registry":"`+replica+`"}}}`))(t)
	w := &world{env: env, d: newDeployer(env, nil)}
	w.d.Reporter = &announce.Announcer{Events: env.EventBridge()}
	p := w.push(t, "1.4.0")
	env.Proxy.Reset()
	res, err := w.d.Replicated(t.Context(), event.Replication{ID: "repl-2", Time: time.Now().UTC(), Account: otherAccount, Region: otherRegion,
		Repository: "hello-color", Digest: p.Digest, Tag: "1.4.0", SourceAccount: localaws.AccountID, SourceRegion: localaws.Region, Result: "FAILED"})
	if err != nil {
		t.Fatal(err)
	}
	if r := row(t, res, "production"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, p.Digest) || !strings.Contains(r.Error, replica) {
		t.Errorf("production = %+v, want failed naming %s and %s", r, p.Digest, replica)
	}
	if got := outcomes(res); len(got) != 1 {
		t.Errorf("outcomes %v, want production only: eu would not have taken 1.4.0", got)
	}
	var failed int
	for _, batch := range publishedEvents(t, env) {
		for _, e := range batch {
			if e.DetailType == announce.DetailTypeFailed && e.Detail.Environment == "production" {
				failed++
			}
		}
	}
	if failed != 1 {
		t.Errorf("published %d Deployment Failed events for production, want 1", failed)
	}
	if ops := ecsChanges(env); len(ops) != 0 {
		t.Errorf("a failed replication changed ECS: %v", ops)
	}
}

func TestVerifyReportsMissingContainerAndSecret(t *testing.T) {
	cfg := `{"environments":{
	  "dev":{"cluster":"apps","services":["hello-color-dev"],"container":["web","metrics"],
	         "secrets":{"DB_PASSWORD":"arn:aws:ssm:us-east-1:123456789012:parameter/hello/dev/db","API_KEY":"/hello/dev/api-key",
	                    "TOKEN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf"}},
	  "staging":{"cluster":"apps","services":["hello-color-staging","gone"]}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	awstest.Must(w.env.Local.PutParameter(t.Context(), "/hello/dev/db", "s3cret"))(t)
	v := &verify.Verifier{Config: w.d.Config, Targets: w.d.Targets.(*target.Pool)}
	checks, err := v.Verify(t.Context(), "hello-color")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range checks {
		got[c.Environment+": "+c.What] = c.OK
		if !c.OK && c.Detail == "" {
			t.Errorf("failed check %q has no detail", c.What)
		}
	}
	want := map[string]bool{
		": configuration hello-color: environments dev, staging":                                             true,
		"dev: cluster apps exists":                                                                           true,
		"dev: service hello-color-dev exists":                                                                true,
		"dev: hello-color:1 has container(s) web, metrics":                                                   false,
		"dev: secret API_KEY parameter /hello/dev/api-key exists":                                            false,
		"dev: secret DB_PASSWORD parameter arn:aws:ssm:us-east-1:123456789012:parameter/hello/dev/db exists": true,
		"dev: secret TOKEN (arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf)":              true,
		"staging: cluster apps exists":                                                                       true,
		"staging: service hello-color-staging exists":                                                        true,
		"staging: hello-color:1 has the containers for hello-color":                                          true,
		"staging: service gone exists":                                                                       false,
	}
	// The task definition is named by the ARN the service reports.
	normalised := map[string]bool{}
	for k, v := range got {
		normalised[strings.Replace(k, "arn:aws:ecs:us-east-1:123456789012:task-definition/", "", 1)] = v
	}
	if diff := cmp.Diff(want, normalised); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
}
