package awstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }

// ecsOnce and ssmOnce make an SDK call a single attempt.
func ecsOnce(o *ecs.Options) { o.Retryer = aws.NopRetryer{} }
func ssmOnce(o *ssm.Options) { o.Retryer = aws.NopRetryer{} }

func TestNewResetsState(t *testing.T) {
	t.Run("seed", func(t *testing.T) {
		env := awstest.New(t)
		awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t)
		awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/web", "{}"))(t)
	})
	t.Run("after reset", func(t *testing.T) {
		env := awstest.New(t)
		out, err := env.ECS().ListClusters(t.Context(), &ecs.ListClustersInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ClusterArns) != 0 {
			t.Errorf("clusters after reset = %v, want none", out.ClusterArns)
		}
		if _, ok := awstest.Must2(env.Local.GetParameter(t.Context(), "/ecrdeploy/config/web"))(t); ok {
			t.Error("parameter survived the reset")
		}
	})
}

func TestProxyCountsCalls(t *testing.T) {
	env := awstest.New(t)
	awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t) // seeding bypasses the proxy
	awstest.Must(env.Local.PutParameter(t.Context(), "/p", "v"))(t)
	ctx := t.Context()

	for range 2 {
		if _, err := env.ECS().DescribeServices(ctx, &ecs.DescribeServicesInput{
			Cluster: aws.String("prod"), Services: []string{"web"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.SSM().GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}

	want := map[string]int{"DescribeServices": 2, "GetParameter": 1, "GetCallerIdentity": 1}
	if diff := cmp.Diff(want, env.Proxy.Calls()); diff != "" {
		t.Errorf("Calls() (-want +got):\n%s", diff)
	}
	wantOps := []string{"DescribeServices", "DescribeServices", "GetParameter", "GetCallerIdentity"}
	if diff := cmp.Diff(wantOps, env.Proxy.Operations()); diff != "" {
		t.Errorf("Operations() (-want +got):\n%s", diff)
	}
	if got := env.Proxy.Count("ecs:DescribeServices"); got != 2 {
		t.Errorf("Count(ecs:DescribeServices) = %d, want 2", got)
	}
	if got := env.Proxy.Count("ssm:DescribeServices"); got != 0 {
		t.Errorf("Count(ssm:DescribeServices) = %d, want 0", got)
	}
	if got := env.Proxy.Total(); got != 4 {
		t.Errorf("Total() = %d, want 4", got)
	}
	for _, c := range env.Proxy.Log() {
		if !c.ReadOnly() || c.Status != http.StatusOK || !c.Forwarded || c.Fault || c.End.Before(c.Start) {
			t.Errorf("call %+v: want a read-only, forwarded, unfaulted 200", c)
		}
	}
	if got := env.Proxy.Log()[2]; got.Service != "ssm" || !strings.Contains(string(got.Request), `"/p"`) {
		t.Errorf("GetParameter call = service %q, request %s", got.Service, got.Request)
	}

	env.Proxy.Reset()
	if got := env.Proxy.Total(); got != 0 {
		t.Errorf("Total() after Reset = %d, want 0", got)
	}
}

func TestProxyRetriedFaults(t *testing.T) {
	tests := []struct {
		name  string
		op    string
		fault awstest.Fault
		call  func(context.Context, *awstest.Env) error
	}{
		{
			name: "JSON throttling", op: "GetParameter", fault: awstest.Throttling(),
			call: func(ctx context.Context, env *awstest.Env) error {
				_, err := env.SSM().GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")})
				return err
			},
		},
		{
			name: "JSON 503", op: "ecs:ListClusters", fault: awstest.ServerError(http.StatusServiceUnavailable),
			call: func(ctx context.Context, env *awstest.Env) error {
				_, err := env.ECS().ListClusters(ctx, &ecs.ListClustersInput{})
				return err
			},
		},
		{
			name: "query throttling", op: "GetCallerIdentity", fault: awstest.AWSError(http.StatusBadRequest, "Throttling", "Rate exceeded"),
			call: func(ctx context.Context, env *awstest.Env) error {
				_, err := env.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				return err
			},
		},
		{
			name: "dropped connection", op: "*", fault: awstest.DropConnection(),
			call: func(ctx context.Context, env *awstest.Env) error {
				_, err := env.SSM().GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")})
				return err
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := awstest.New(t)
			awstest.Must(env.Local.PutParameter(t.Context(), "/p", "v"))(t)
			env.Proxy.Fail(tc.op, 2, tc.fault)
			if err := tc.call(t.Context(), env); err != nil {
				t.Fatalf("call after 2 faults and 3 attempts: %v", err)
			}
			if got := env.Proxy.Total(); got != 3 {
				t.Errorf("attempts = %d, want 3 (2 faults, then success)", got)
			}
			var faulted []bool
			for _, c := range env.Proxy.Log() {
				faulted = append(faulted, c.Fault)
			}
			if diff := cmp.Diff([]bool{true, true, false}, faulted); diff != "" {
				t.Errorf("Fault per attempt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProxyErrorShape(t *testing.T) {
	env := awstest.New(t)
	env.Proxy.Fail("GetParameter", 1, awstest.Throttling())
	_, err := env.SSM().GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/p")}, ssmOnce)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" || apiErr.ErrorMessage() != "Rate exceeded" {
		t.Errorf("error = %v, want API error ThrottlingException: Rate exceeded", err)
	}

	env.Proxy.Fail("GetCallerIdentity", 1, awstest.AWSError(http.StatusForbidden, "AccessDenied", "no"))
	_, err = env.STS().GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("query error = %v, want API error AccessDenied", err)
	}
}

func TestProxyDropConnectionWithoutRetries(t *testing.T) {
	env := awstest.New(t)
	env.Proxy.Fail("ListClusters", 1, awstest.DropConnection())
	_, err := env.ECS().ListClusters(t.Context(), &ecs.ListClustersInput{}, ecsOnce)
	if err == nil {
		t.Fatal("ListClusters over a dropped connection succeeded, want an error")
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		t.Errorf("error = %v, want a connection error, not an API error", err)
	}
	log := env.Proxy.Log()
	if len(log) != 1 || log[0].Status != 0 || log[0].Forwarded {
		t.Errorf("log = %+v, want one unforwarded call without status", log)
	}
	// The fault was used up: the next call goes through.
	if _, err := env.ECS().ListClusters(t.Context(), &ecs.ListClustersInput{}, ecsOnce); err != nil {
		t.Errorf("second ListClusters: %v", err)
	}
}

func TestProxyLatency(t *testing.T) {
	env := awstest.New(t)
	const latency = 100 * time.Millisecond
	env.Proxy.SetLatency(latency)
	start := time.Now()
	for range 2 {
		if _, err := env.STS().GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if elapsed := time.Since(start); elapsed < 2*latency {
		t.Errorf("2 calls took %v, want at least %v", elapsed, 2*latency)
	}
}

func TestProxyDelayOutlastsClientTimeout(t *testing.T) {
	env := awstest.New(t)
	env.Proxy.Fail("DescribeServices", 1, awstest.Delay(time.Minute))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := env.ECS().DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("call took %v: the client's deadline did not end it", elapsed)
	}
}

func TestProxyAfterForward(t *testing.T) {
	tests := []struct {
		name  string
		fault awstest.Fault
	}{
		{"500 after the update", awstest.Fault{Status: 500, Code: "InternalFailure", AfterForward: true}},
		{"dropped after the update", awstest.Fault{Drop: true, AfterForward: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := awstest.New(t)
			awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t)
			in := awstest.Must(localaws.ReadTaskDefinitionFile("testdata/taskdef-bridge.json"))(t)
			v1 := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
			v2 := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
			awstest.Must(env.Local.CreateService(t.Context(), "prod", "worker", v1, 1))(t)

			env.Proxy.Fail("UpdateService", 1, tc.fault)
			_, err := env.ECS().UpdateService(t.Context(), &ecs.UpdateServiceInput{
				Cluster: aws.String("prod"), Service: aws.String("worker"), TaskDefinition: aws.String(v2),
			}, ecsOnce)
			if err == nil {
				t.Fatal("UpdateService succeeded, want the injected failure")
			}
			if got := awstest.Must(env.Local.ServiceTaskDefinition(t.Context(), "prod", "worker"))(t); !localaws.SameTaskDefinition(got, v2) {
				t.Errorf("service task definition = %s, want %s: the update should have reached moto", got, v2)
			}
			if c := env.Proxy.Log()[0]; !c.Forwarded || !c.Fault {
				t.Errorf("call = %+v, want forwarded and faulted", c)
			}
		})
	}
}

func TestProxyHooks(t *testing.T) {
	env := awstest.New(t)
	awstest.Must(env.Local.PutParameter(t.Context(), "/p", "old"))(t)
	direct := ssm.NewFromConfig(env.Local.Config)
	env.Proxy.Before("GetParameter", func(awstest.Call) {
		// A concurrent writer changes the value just before the read.
		if _, err := direct.PutParameter(context.Background(), &ssm.PutParameterInput{
			Name: aws.String("/p"), Value: aws.String("new"), Overwrite: aws.Bool(true),
		}); err != nil {
			t.Error(err)
		}
	})
	var seen atomic.Int32
	env.Proxy.OnCall(func(c awstest.Call) {
		if c.Operation == "GetParameter" && c.Status == http.StatusOK {
			seen.Add(1)
		}
	})
	out, err := env.SSM().GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/p")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Parameter.Value); got != "new" {
		t.Errorf("value = %q, want the one the Before hook wrote", got)
	}
	if seen.Load() != 1 {
		t.Errorf("OnCall saw %d successful GetParameter calls, want 1", seen.Load())
	}
}

func TestSetEnv(t *testing.T) {
	env := awstest.New(t)
	env.SetEnv(t)
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Account); got != localaws.AccountID {
		t.Errorf("account = %s, want %s", got, localaws.AccountID)
	}
	if got := env.Proxy.Count("sts:GetCallerIdentity"); got != 1 {
		t.Errorf("GetCallerIdentity through the proxy = %d, want 1", got)
	}
}

func TestCreateService(t *testing.T) {
	tests := []struct {
		file       string
		launchType ecstypes.LaunchType
		awsvpc     bool
	}{
		{"testdata/taskdef-fargate.json", ecstypes.LaunchTypeFargate, true},
		{"testdata/taskdef-bridge.json", ecstypes.LaunchTypeEc2, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			env := awstest.New(t)
			awstest.Must(env.Local.CreateCluster(t.Context(), "prod"))(t)
			in := awstest.Must(localaws.ReadTaskDefinitionFile(tc.file))(t)
			arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
			svc := awstest.Must(env.Local.CreateService(t.Context(), "prod", "svc", arn, 2))(t)
			if aws.ToString(svc.Status) != "ACTIVE" || svc.LaunchType != tc.launchType || svc.DesiredCount != 2 {
				t.Errorf("service status %s, launch type %s, desired %d; want ACTIVE, %s, 2",
					aws.ToString(svc.Status), svc.LaunchType, svc.DesiredCount, tc.launchType)
			}
			if got := awstest.Must(env.Local.ServiceTaskDefinition(t.Context(), "prod", "svc"))(t); !localaws.SameTaskDefinition(got, arn) {
				t.Errorf("service task definition = %s, want %s", got, arn)
			}
			if tc.awsvpc {
				n := awstest.Must(env.Local.Network(t.Context()))(t)
				got := svc.NetworkConfiguration.AwsvpcConfiguration.Subnets
				if diff := cmp.Diff([]string{n.SubnetID}, got); diff != "" {
					t.Errorf("subnets (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRegisterTaskDefinitionJSON(t *testing.T) {
	env := awstest.New(t)
	in := awstest.Must(localaws.ReadTaskDefinitionFile("testdata/taskdef-fargate.json"))(t)
	arn := awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	if want := "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"; arn != want {
		t.Errorf("ARN = %s, want %s", arn, want)
	}
	td, tags := awstest.Must2(env.Local.DescribeTaskDefinition(t.Context(), arn))(t)
	c := td.ContainerDefinitions[0]
	got := []string{
		aws.ToString(td.Cpu), aws.ToString(td.Memory), string(td.NetworkMode), string(td.RuntimePlatform.CpuArchitecture),
		aws.ToString(c.Secrets[0].ValueFrom), c.LogConfiguration.Options["awslogs-group"],
		c.HealthCheck.Command[1], aws.ToString(tags[0].Value),
	}
	want := []string{
		"256", "512", "awsvpc", "ARM64",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::", "/ecs/web",
		"curl -f http://localhost:8080/healthz || exit 1", "platform",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registered fields (-want +got):\n%s", diff)
	}

	awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), in))(t)
	worker := awstest.Must(localaws.ParseTaskDefinition([]byte(`{"family":"web-worker","containerDefinitions":[{"name":"a","image":"x","memory":128}]}`)))(t)
	awstest.Must(env.Local.RegisterTaskDefinition(t.Context(), worker))(t)
	revs := awstest.Must(env.Local.ListTaskDefinitionRevisions(t.Context(), "web"))(t)
	wantRevs := []string{arn, strings.TrimSuffix(arn, "1") + "2"}
	if diff := cmp.Diff(wantRevs, revs); diff != "" {
		t.Errorf("revisions of web (-want +got):\n%s", diff)
	}
}

func TestPutImage(t *testing.T) {
	env := awstest.New(t)
	uri := awstest.Must(env.Local.CreateRepository(t.Context(), "web"))(t)
	if want := localaws.RegistryHost() + "/web"; uri != want {
		t.Errorf("repository URI = %s, want %s", uri, want)
	}
	d1 := awstest.Must(env.Local.PutImage(t.Context(), "web", "v1", localaws.ImageManifest("one")))(t)
	d2 := awstest.Must(env.Local.PutImage(t.Context(), "web", "v2", localaws.ImageManifest("two")))(t)
	if d1 == d2 {
		t.Fatalf("two different images share digest %s", d1)
	}
	out, err := env.ECR().DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for _, img := range out.ImageDetails {
		for _, tag := range img.ImageTags {
			digests[tag] = aws.ToString(img.ImageDigest)
		}
	}
	if diff := cmp.Diff(map[string]string{"v1": d1, "v2": d2}, digests); diff != "" {
		t.Errorf("digests by tag (-want +got):\n%s", diff)
	}
	if got, want := localaws.ImageURI("web", d1), uri+"@"+d1; got != want {
		t.Errorf("ImageURI = %s, want %s", got, want)
	}
}

// The proxy's DynamoDB writes are atomic, as DynamoDB's are: of many
// conditional writes made at once that each require the item not to be
// claimed yet, one succeeds.
func TestConditionalWritesThroughTheProxyAreAtomic(t *testing.T) {
	env := awstest.New(t)
	client := env.DynamoDB()
	key := map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "race"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "x"},
	}
	for round := range 10 {
		key["sk"] = &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint("x", round)}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				_, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
					TableName: aws.String(env.Table), Key: key,
					UpdateExpression:          aws.String("SET o = :o"),
					ConditionExpression:       aws.String("attribute_not_exists(o)"),
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":o": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint(i)}},
				})
				if err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("round %d: %d conditional writes succeeded, want 1", round, n)
		}
	}
}
