package deploy

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// fakeECS is an ECS where every service runs fam:1 and registrations are
// slow, recording how many were in flight at once.
type fakeECS struct {
	mu                    sync.Mutex
	revision              int
	inflight, maxInFlight atomic.Int32
}

var _ target.ECSAPI = (*fakeECS)(nil)

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	out := &ecs.DescribeServicesOutput{}
	for _, s := range in.Services {
		out.Services = append(out.Services, ecstypes.Service{ServiceName: aws.String(s), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/fam:1"), Status: aws.String("ACTIVE")})
	}
	return out, nil
}

func (f *fakeECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{
		Family: aws.String("fam"), Revision: 1, TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/fam:1"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-color:1.0.0")}},
	}}, nil
}

func (f *fakeECS) RegisterTaskDefinition(_ context.Context, in *ecs.RegisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // ECS rejects a concurrent revision of a family while this one is registered
	f.mu.Lock()
	f.revision++
	rev := f.revision + 1
	f.mu.Unlock()
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{TaskDefinitionArn: aws.String(fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/fam:%d", rev))}}, nil
}

func (f *fakeECS) ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	return nil, fmt.Errorf("no service deployments here")
}

func (f *fakeECS) DescribeServiceRevisions(context.Context, *ecs.DescribeServiceRevisionsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error) {
	return nil, fmt.Errorf("no service deployments here")
}

func (f *fakeECS) DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	return nil, fmt.Errorf("no service deployments here")
}

func (f *fakeECS) ContinueServiceDeployment(context.Context, *ecs.ContinueServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error) {
	return nil, fmt.Errorf("no service deployments here")
}

func (f *fakeECS) StopServiceDeployment(context.Context, *ecs.StopServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	return nil, fmt.Errorf("no service deployments here")
}

func (f *fakeECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	return &ecs.UpdateServiceOutput{Service: &ecstypes.Service{Deployments: []ecstypes.Deployment{{Id: aws.String("ecs-svc/1"), Status: aws.String("PRIMARY")}}}}, nil
}

type fakeTargets struct{ ecs *fakeECS }

func (f fakeTargets) ECS(context.Context, target.Target) (target.ECSAPI, error) { return f.ecs, nil }
func (f fakeTargets) ECR(context.Context, target.Target) (target.ECRAPI, error) {
	return nil, fmt.Errorf("no ECR")
}
func (f fakeTargets) CodeDeploy(context.Context, target.Target) (target.CodeDeployAPI, error) {
	return nil, fmt.Errorf("no CodeDeploy")
}

type fakeConfig struct{ doc *config.Document }

func (f fakeConfig) Get(context.Context, string) (*config.Document, error) { return f.doc, nil }
func (f fakeConfig) List(context.Context) (map[string]*config.Document, error) {
	return map[string]*config.Document{"hello-color": f.doc}, nil
}

// memState is an in-memory state store with the store's conditional
// writes and claims.
type memState struct {
	mu      sync.Mutex
	history map[string][]state.Record
	claims  map[string]state.Claim
}

func (m *memState) Get(_ context.Context, repo, env string) (state.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(repo + "/" + env)
}

func (m *memState) get(key string) (state.Record, error) {
	h := m.history[key]
	if len(h) == 0 {
		return state.Record{}, state.ErrNotFound
	}
	rec := h[len(h)-1]
	if c, ok := m.claims[key]; ok {
		rec.Claim = &c
	}
	return rec, nil
}

func (m *memState) GetMany(ctx context.Context, repo string, envs []string) (map[string]state.Record, error) {
	out := map[string]state.Record{}
	for _, e := range envs {
		if r, err := m.Get(ctx, repo, e); err == nil {
			out[e] = r
		}
	}
	return out, nil
}

func (m *memState) GetKeys(ctx context.Context, keys []state.Key) (map[state.Key]state.Record, error) {
	out := map[state.Key]state.Record{}
	for _, k := range keys {
		if r, err := m.Get(ctx, k.Repository, k.Environment); err == nil {
			out[k] = r
		}
	}
	return out, nil
}

func (m *memState) Put(_ context.Context, rec state.Record, opts ...state.PutOption) (state.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.history == nil {
		m.history = map[string][]state.Record{}
	}
	key := rec.Repository + "/" + rec.Environment
	if int(rec.Revision) != len(m.history[key]) {
		return rec, state.ErrConflict
	}
	rec.Revision++
	rec.Claim = nil
	m.history[key] = append(m.history[key], rec)
	if len(opts) > 0 {
		delete(m.claims, key) // releasing: the only option
	}
	return rec, nil
}

func (m *memState) Claim(_ context.Context, k state.Key, owner string, until time.Time) (*state.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := k.Repository + "/" + k.Environment
	if m.claims == nil {
		m.claims = map[string]state.Claim{}
	}
	if c, ok := m.claims[key]; ok && c.Owner != owner && c.Live(time.Now()) {
		return nil, &state.Claimed{Key: k, Claim: c}
	}
	m.claims[key] = state.Claim{Owner: owner, Until: until}
	rec, err := m.get(key)
	if err != nil {
		return nil, nil
	}
	return &rec, nil
}

func (m *memState) Release(_ context.Context, k state.Key, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := k.Repository + "/" + k.Environment
	if c, ok := m.claims[key]; ok && c.Owner == owner {
		delete(m.claims, key)
	}
	return nil
}

func (m *memState) History(_ context.Context, repo, env string, limit int, before int64) (state.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var page state.Page
	h := m.history[repo+"/"+env]
	for i := len(h) - 1; i >= 0; i-- {
		if before > 0 && h[i].Revision >= before {
			continue
		}
		if limit > 0 && len(page.Records) == limit {
			page.More = true
			break
		}
		page.Records = append(page.Records, h[i])
	}
	return page, nil
}

// Environments deploy concurrently, but registrations into one
// task-definition family are serialised: ECS rejects concurrent revisions of
// a family.
func TestRegistrationsIntoOneFamilyAreSerialised(t *testing.T) {
	doc, err := config.Parse("test", []byte(`{"environments":{
		"a":{"cluster":"c","services":["a"],"environment":{"ENV":"a"}},
		"b":{"cluster":"c","services":["b"],"environment":{"ENV":"b"}},
		"c":{"cluster":"c","services":["c"],"environment":{"ENV":"c"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeECS{}
	d := &Deployer{Config: fakeConfig{doc}, State: &memState{}, Targets: fakeTargets{fake}}
	res, err := d.Push(t.Context(), event.Push{ID: "e", Account: "123456789012", Region: "us-east-1", Repository: "hello-color", Tag: "1.4.0",
		Digest: "sha256:0c3bbf0c31e1e7e6a2b4a34cbd5d1e0a8b4fd22e7d8f9ad0f5bb0f0b6a1f1101"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Results {
		if r.Outcome != Deployed {
			t.Errorf("%s = %s %s %s, want deployed", r.Environment, r.Outcome, r.Reason, r.Error)
		}
	}
	if got := fake.maxInFlight.Load(); got != 1 {
		t.Errorf("%d registrations of family fam were in flight at once, want 1", got)
	}
	if fake.revision != 3 {
		t.Errorf("%d registrations, want 3", fake.revision)
	}
}
