package awstest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

// Names of the environment variables that decide whether integration tests
// run.
const (
	skipEnv = "ECRDEPLOY_SKIP_INTEGRATION"
	ciEnv   = "CI"
)

// shared is the moto_server of this test binary.
var shared struct {
	mu      sync.Mutex
	opts    []localaws.Option
	moto    *localaws.Moto
	err     error // sticky start error, so a missing moto fails fast in every test
	started bool
	user    string // name of the test that holds moto, "" if none
}

// RunMain runs the tests of m with opts for moto_server, stops moto_server if
// a test started it, and returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }
//
// moto_server is started lazily by the first [New], so a run that selects no
// integration test does not pay for it.
func RunMain(m *testing.M, opts ...localaws.Option) int {
	shared.mu.Lock()
	shared.opts = opts
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.moto != nil {
		if err := shared.moto.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "awstest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// skipReason returns why integration tests are skipped, or "" if they run.
func skipReason(getenv func(string) string) string {
	if getenv(skipEnv) == "1" && getenv(ciEnv) != "true" {
		return skipEnv + "=1: skipping integration test that needs moto_server"
	}
	return ""
}

// RequireIntegration is for integration tests that start moto_server
// themselves (in a child process, say) rather than through [New]: it skips
// the test when [New] would (ECRDEPLOY_SKIP_INTEGRATION=1, unless CI=true),
// and fails it with the install hint when moto_server is not on PATH.
func RequireIntegration(t testing.TB) {
	t.Helper()
	if reason := skipReason(os.Getenv); reason != "" {
		t.Skip(reason)
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Fatal(localaws.ErrMotoNotFound)
	}
}

// sharedMoto returns the running moto_server, starting it on first use.
func sharedMoto(ctx context.Context) (*localaws.Moto, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.started = true
		shared.moto, shared.err = localaws.StartMoto(ctx, shared.opts...)
	}
	if shared.err != nil {
		return nil, shared.err
	}
	if err := shared.moto.Err(); err != nil {
		return nil, err
	}
	return shared.moto, nil
}

// Env is one test's view of moto: a freshly reset server, a proxy in front of
// it, a config for the proxy, and a client that seeds and inspects moto
// directly.
type Env struct {
	// Local seeds and inspects moto directly, bypassing the proxy, so that
	// its calls are neither counted nor faulted; its Config reaches moto
	// directly too, for proxy hooks. Wrap its calls in [Must] to fail the
	// test on an error.
	Local *localaws.Client
	// Proxy counts the calls made through URL and injects faults.
	Proxy *Proxy
	// URL is the proxy's base URL, the endpoint for the code under test.
	URL string
	// Config reaches moto through the proxy (see localaws.Config).
	Config aws.Config
	// ECSModel is the model of ECS's deployments in the proxy, in front of
	// moto's ECS (see [ECSModel]): it answers what moto lacks, and drives
	// rollouts to completion, failure or rollback.
	ECSModel *ECSModel
	// Table is the state table, created from template.yaml's resource
	// (localaws.CreateStateTable) in every Env.
	Table string
	// CodeDeployModel is the model of CodeDeploy's deployments in the
	// proxy, in front of moto's CodeDeploy (see [CodeDeployModel]): a test
	// drives them to success, failure or a stop, and the ECS model's
	// CODE_DEPLOY services follow.
	CodeDeployModel *CodeDeployModel
	// Calendars is the model of SSM Change Calendars in the proxy (see
	// [CalendarModel]): moto has no GetCalendarState.
	Calendars *CalendarModel
	// ECRModel is the model of what moto's ECR lacks (see [ECRModel]):
	// archived and restoring images.
	ECRModel *ECRModel

	ecs         *ecs.Client
	codedeploy  *codedeploy.Client
	ssm         *ssm.Client
	dynamodb    *dynamodb.Client
	ecr         *ecr.Client
	sts         *sts.Client
	eventBridge *eventbridge.Client
}

// New returns an [Env] on a freshly reset moto_server, starting it if needed.
// It skips the test if ECRDEPLOY_SKIP_INTEGRATION=1 (unless CI=true), and
// fails it if moto_server is missing or broken, or if another test's Env is
// still in use, because the reset would wipe that test's state.
func New(t testing.TB) *Env {
	t.Helper()
	if reason := skipReason(os.Getenv); reason != "" {
		t.Skip(reason)
	}
	m, err := sharedMoto(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	acquire(t)
	if err := m.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}

	p := NewProxy(m.URL)
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		p.Close()
		srv.Close()
	})

	e := &Env{
		Local:    localaws.NewClient(m.URL),
		Proxy:    p,
		URL:      srv.URL,
		Config:   localaws.Config(srv.URL),
		ECSModel: NewECSModel(p, localaws.Config(m.URL)),
		Table:    localaws.StateTable,
	}
	if err := e.Local.CreateStateTable(t.Context(), e.Table); err != nil {
		t.Fatal(err)
	}
	e.CodeDeployModel = NewCodeDeployModel(p, localaws.Config(m.URL), e.ECSModel)
	serveCloudWatch(p, e.Local)
	e.Calendars = NewCalendarModel(p)
	e.ECRModel = NewECRModel(p)
	e.ecs = ecs.NewFromConfig(e.Config)
	e.codedeploy = codedeploy.NewFromConfig(e.Config)
	e.ssm = ssm.NewFromConfig(e.Config)
	e.dynamodb = dynamodb.NewFromConfig(e.Config)
	e.ecr = ecr.NewFromConfig(e.Config)
	e.sts = sts.NewFromConfig(e.Config)
	e.eventBridge = eventbridge.NewFromConfig(e.Config)
	return e
}

// acquire marks moto as used by t until t's cleanup, failing t if another
// test holds it.
func acquire(t testing.TB) {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.user != "" {
		t.Fatalf("awstest.New: test %s still uses moto; tests that call New must not run in parallel or nest, because New resets moto", shared.user)
	}
	shared.user = t.Name()
	t.Cleanup(func() {
		shared.mu.Lock()
		defer shared.mu.Unlock()
		shared.user = ""
	})
}

// SetEnv points code that calls config.LoadDefaultConfig at the proxy for the
// rest of the test: it sets AWS_ENDPOINT_URL, static credentials and the
// region, and hides the developer's profile and shared files. It cannot be
// used in parallel tests.
func (e *Env) SetEnv(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            e.URL,
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  localaws.Region,
		"AWS_DEFAULT_REGION":          localaws.Region,
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "3",
	} {
		t.Setenv(k, v)
	}
}

// ECS returns an ECS client that goes through the proxy.
func (e *Env) ECS() *ecs.Client { return e.ecs }

// CodeDeploy returns a CodeDeploy client that goes through the proxy.
func (e *Env) CodeDeploy() *codedeploy.Client { return e.codedeploy }

// SSM returns an SSM client that goes through the proxy.
func (e *Env) SSM() *ssm.Client { return e.ssm }

// DynamoDB returns a DynamoDB client that goes through the proxy.
func (e *Env) DynamoDB() *dynamodb.Client { return e.dynamodb }

// ECR returns an ECR client that goes through the proxy.
func (e *Env) ECR() *ecr.Client { return e.ecr }

// STS returns an STS client that goes through the proxy.
func (e *Env) STS() *sts.Client { return e.sts }

// EventBridge returns an EventBridge client that goes through the proxy.
func (e *Env) EventBridge() *eventbridge.Client { return e.eventBridge }
