package deploy_test

import (
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ssmpkg "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

const oneEnv = `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`

// Every ECS, SSM and DynamoDB operation a push makes, each throttled, answered 5xx or
// cut off for a few attempts: the SDK's retryer gets the deployment through
// and nothing is done twice.
func TestTransientFaultsOnEveryOperation(t *testing.T) {
	ops := []string{"GetParameter", "UpdateItem", "DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService", "TransactWriteItems"}
	faults := map[string]awstest.Fault{
		"throttling":  awstest.Throttling(),
		"503":         awstest.ServerError(http.StatusServiceUnavailable),
		"500":         awstest.ServerError(http.StatusInternalServerError),
		"dropped":     awstest.DropConnection(),
		"latency":     awstest.Delay(4 * time.Second), // past the per-attempt timeout below
		"lost answer": {Status: http.StatusInternalServerError, Code: "InternalFailure", AfterForward: true},
	}
	for _, op := range ops {
		for name, fault := range faults {
			t.Run(op+"/"+name, func(t *testing.T) {
				w := newWorld(t, fargateFixture, []byte(oneEnv))
				if fault.Delay > 0 {
					// A per-attempt timeout, as LoadAWS sets one, so a hung
					// call is abandoned and retried.
					w.d = newDeployerWithTimeout(w.env, time.Second)
				}
				p := w.push(t, "1.4.0")
				w.env.Proxy.Fail(op, 2, fault)
				res, err := w.d.Push(t.Context(), p)
				if err != nil || outcomes(res)["dev"] != "deployed" {
					t.Fatalf("Push = %v, %v; want deployed after the retries", outcomes(res), err)
				}
				td, _ := w.running(t, "hello-color-dev")
				if got := image(td, "web"); got != localaws.ImageURI("hello-color", "1.4.0") {
					t.Errorf("dev runs %s", got)
				}
				if rec := w.state(t, "dev"); rec.Version != "1.4.0" || !localaws.SameTaskDefinition(rec.Services["hello-color-dev"].TaskDefinition, aws.ToString(td.TaskDefinitionArn)) {
					t.Errorf("state %+v does not agree with the service (%s)", rec, aws.ToString(td.TaskDefinitionArn))
				}
				// A retried RegisterTaskDefinition whose first answer was lost
				// registers a second identical revision (ECS has no idempotency
				// token for it); anything else registers exactly one.
				revisions := len(awstest.Must(w.env.Local.ListTaskDefinitionRevisions(t.Context(), "hello-color"))(t))
				want := 2 // the fixture's and ours
				if op == "RegisterTaskDefinition" && fault.AfterForward {
					want = 4
				}
				if revisions != want {
					t.Errorf("%d revisions, want %d", revisions, want)
				}
			})
		}
	}
}

func newDeployerWithTimeout(env *awstest.Env, timeout time.Duration) *deploy.Deployer {
	d := newDeployer(env, nil)
	cfg := env.Config.Copy()
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(timeout)
	d.Targets = &target.Pool{Base: cfg}
	d.Config = config.NewStore(ssmClient(cfg), "/ecrdeploy", time.Minute)
	store := state.NewStore(dynamodb.NewFromConfig(cfg), env.Table)
	store.Legacy = state.NewLegacy(ssmClient(cfg), "/ecrdeploy")
	d.State = store
	return d
}

// One environment of five failing (its service is gone) does not stop or
// slow the others, and the invocation is not retried for it.
func TestOneOfFiveEnvironmentsFails(t *testing.T) {
	var envs []string
	for i := range 5 {
		svc := fmt.Sprintf("svc-%d", i)
		if i == 3 {
			svc = "gone"
		}
		envs = append(envs, fmt.Sprintf(`"e%d":{"cluster":"apps","services":["%s"],"container":"web"}`, i, svc))
	}
	w := newWorld(t, fargateFixture, []byte(`{"environments":{`+strings.Join(envs, ",")+`}}`))
	arn := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t)
	for i := range 5 {
		if i != 3 {
			awstest.Must(w.env.Local.CreateService(t.Context(), cluster, fmt.Sprintf("svc-%d", i), arn, 1))(t)
		}
	}
	res, err := w.d.Push(t.Context(), w.push(t, "1.4.0"))
	if err != nil {
		t.Fatalf("Push: %v (a missing service is not retryable)", err)
	}
	want := map[string]string{"e0": "deployed", "e1": "deployed", "e2": "deployed", "e3": "failed", "e4": "deployed"}
	if diff := cmp.Diff(want, outcomes(res)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// Twenty deliveries of different versions for one service at once, through
// twenty deployers (as twenty Lambda instances), with random delays on every
// call: the service ends on the highest version and the state record
// agrees, whatever the interleaving.
func TestConcurrentDeliveriesConvergeOnHighest(t *testing.T) {
	rounds := 3 // make test; ECRDEPLOY_CONCURRENCY_ROUNDS=50 for a long run
	if n, err := strconv.Atoi(os.Getenv("ECRDEPLOY_CONCURRENCY_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for round := range rounds {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			w := newWorld(t, fargateFixture, []byte(oneEnv))
			const n = 20
			pushes := make([]event.Push, n)
			for i := range n {
				pushes[i] = w.push(t, fmt.Sprintf("1.%d.0", i+1))
			}
			rng := rand.New(rand.NewPCG(uint64(round), 7))
			var mu sync.Mutex
			delay := func() time.Duration {
				mu.Lock()
				defer mu.Unlock()
				return time.Duration(rng.IntN(40)) * time.Millisecond
			}
			w.env.Proxy.Before("*", func(awstest.Call) { time.Sleep(delay()) })
			order := rng.Perm(n)
			var wg sync.WaitGroup
			for _, i := range order {
				d := newDeployer(w.env, nil)
				wg.Go(func() {
					res, err := d.Push(t.Context(), pushes[i])
					if err != nil {
						t.Errorf("Push %s: %v", pushes[i].Tag, err)
					}
					t.Logf("push %s: %v %s", pushes[i].Tag, outcomes(res), res.Results[0].Error)
				})
			}
			wg.Wait()
			w.env.Proxy.ClearFaults()
			td, _ := w.running(t, "hello-color-dev")
			top := fmt.Sprintf("1.%d.0", n)
			if got := image(td, "web"); got != localaws.ImageURI("hello-color", top) {
				t.Errorf("service runs %s, want %s", got, top)
			}
			rec := w.state(t, "dev")
			if rec.Version != top || !localaws.SameTaskDefinition(rec.Services["hello-color-dev"].TaskDefinition, aws.ToString(td.TaskDefinitionArn)) {
				t.Errorf("state says %s on %s; the service runs %s", rec.Version, rec.Services["hello-color-dev"].TaskDefinition, aws.ToString(td.TaskDefinitionArn))
			}
		})
	}
}

// A re-delivery of every event after the burst changes nothing.
func TestRedeliveryAfterBurstChangesNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	var pushes []event.Push
	for i := range 5 {
		p := w.push(t, fmt.Sprintf("1.%d.0", i+1))
		pushes = append(pushes, p)
		w.deliver(t, p)
	}
	w.env.Proxy.Reset()
	slices.Reverse(pushes)
	for _, p := range pushes {
		w.deliver(t, p)
	}
	for _, op := range []string{"RegisterTaskDefinition", "UpdateService", "TransactWriteItems"} {
		if n := w.env.Proxy.Count(op); n != 0 {
			t.Errorf("%s called %d times by re-deliveries", op, n)
		}
	}
}

func ssmClient(cfg aws.Config) *ssmpkg.Client { return ssmpkg.NewFromConfig(cfg) }

// A record another writer changes while this delivery holds the claim on
// the environment (a tool that writes without claiming) is not
// overwritten: the delivery's write loses, it reads the record again and,
// the version recorded there standing over its own, puts the service back
// on the revision that record names; its row says superseded.
func TestARecordChangedUnderTheClaimIsNotOverwritten(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(oneEnv))
	before := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t)
	p := w.push(t, "1.4.0")
	newer := `{"repository":"hello-color","environment":"dev","version":"1.9.0","tag":"1.9.0","digest":"sha256:` + strings.Repeat("9", 64) +
		`","services":{"hello-color-dev":{"cluster":"apps","taskDefinition":"` + before + `","rollout":"completed"}}}`
	var once sync.Once
	w.env.Proxy.Before("UpdateService", func(awstest.Call) {
		once.Do(func() {
			if err := w.env.Local.PutStateRecord(t.Context(), w.env.Table, "hello-color", "dev", newer); err != nil {
				t.Errorf("write the newer record: %v", err)
			}
		})
	})
	res := w.deliver(t, p)
	if got := outcomes(res)["dev"]; got != "skipped superseded" {
		t.Errorf("dev = %q, want skipped superseded", got)
	}
	if got := awstest.Must(w.env.Local.ServiceTaskDefinition(t.Context(), cluster, "hello-color-dev"))(t); !localaws.SameTaskDefinition(got, before) {
		t.Errorf("the service runs %s, want %s, which the standing record names", got, before)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.9.0" {
		t.Errorf("record says %s, want the other writer's 1.9.0", rec.Version)
	}
}
