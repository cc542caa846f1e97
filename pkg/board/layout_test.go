package board

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

func TestClassify(t *testing.T) {
	recorded := func(r state.Rollout) Environment {
		return Environment{Name: "e", Recorded: true, Version: "1.0.0", Rollout: r}
	}
	with := func(e Environment, f func(*Environment)) Environment { f(&e); return e }
	tests := []struct {
		name string
		env  Environment
		want State
	}{
		{"nothing recorded", Environment{Name: "e"}, NoRecord},
		{"completed", recorded(state.Completed), Completed},
		{"record without a rollout", recorded(""), Completed},
		{"in progress", recorded(state.InProgress), InProgress},
		{"failed", recorded(state.Failed), Failed},
		{"an earlier failure, then a completed deployment", with(recorded(state.Completed), func(e *Environment) {
			e.Failed = &state.Failure{Version: "0.9.0"}
		}), Completed},
		{"a canary that runs, not yet baking", with(recorded(state.InProgress), func(e *Environment) {
			e.Progress = &Progress{Strategy: "canary", TrafficPercent: ptr(5.0)}
		}), InProgress},
		{"a canary baking", with(recorded(state.InProgress), func(e *Environment) {
			e.Progress = &Progress{Strategy: "canary", TrafficPercent: ptr(5.0), Baking: true}
		}), Baking},
		{"a bake that ended with the rollout", with(recorded(state.Completed), func(e *Environment) {
			e.Progress = &Progress{Strategy: "blue-green", Baking: true}
		}), Completed},
		{"awaiting approval", with(recorded(state.InProgress), func(e *Environment) {
			e.Approval = &Approval{Stage: "post-test-traffic-shift"}
		}), AwaitingApproval},
		{"failed beats awaiting approval", with(recorded(state.Failed), func(e *Environment) {
			e.Approval = &Approval{Stage: "post-test-traffic-shift"}
		}), Failed},
		{"drift", with(recorded(state.Completed), func(e *Environment) {
			e.Drift = []ServiceDrift{{Service: "s", Recorded: "f:1", Running: "f:2"}}
		}), Drift},
		{"drift beats a rollout", with(recorded(state.InProgress), func(e *Environment) {
			e.Drift = []ServiceDrift{{Service: "s", Recorded: "f:1", Running: "f:2"}}
		}), Drift},
		{"approval beats drift", with(recorded(state.InProgress), func(e *Environment) {
			e.Drift = []ServiceDrift{{Service: "s", Recorded: "f:1", Running: "f:2"}}
			e.Approval = &Approval{}
		}), AwaitingApproval},
		{"frozen", with(recorded(state.Completed), func(e *Environment) { e.Freeze = &Freeze{} }), Frozen},
		{"frozen before anything was deployed", Environment{Name: "e", Freeze: &Freeze{}}, Frozen},
		{"a rollout that runs under a freeze", with(recorded(state.InProgress), func(e *Environment) { e.Freeze = &Freeze{} }), InProgress},
		{"failed under a freeze", with(recorded(state.Failed), func(e *Environment) { e.Freeze = &Freeze{} }), Failed},
		{"unreadable", with(recorded(state.Failed), func(e *Environment) { e.Error = "boom" }), Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.env); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestStatesSpelledOnce checks that every state has its own spelling and
// that the ones that are rollout states are spelled as those are.
func TestStatesSpelledOnce(t *testing.T) {
	seen := map[State]bool{}
	for _, s := range States {
		if seen[s] {
			t.Errorf("state %q twice", s)
		}
		seen[s] = true
	}
	for s, r := range map[State]state.Rollout{Completed: state.Completed, InProgress: state.InProgress, Failed: state.Failed} {
		if string(s) != string(r) {
			t.Errorf("state %q is spelled %q as a rollout", s, r)
		}
	}
}

func TestColumns(t *testing.T) {
	repo := func(name string, envs ...string) Repository {
		r := Repository{Name: name}
		for _, e := range envs {
			// "to<from" links to to from.
			to, from, _ := strings.Cut(e, "<")
			r.Environments = append(r.Environments, Environment{Name: to, PromoteFrom: from})
		}
		return r
	}
	tests := []struct {
		name  string
		repos []Repository
		want  []string
	}{
		{"empty", nil, []string{}},
		{"no links: by name", []Repository{repo("a", "staging", "dev", "production")}, []string{"dev", "production", "staging"}},
		{"one chain", []Repository{repo("a", "production<staging", "staging<dev", "dev")}, []string{"dev", "staging", "production"}},
		{"the rest after the chain", []Repository{repo("a", "production<staging", "staging", "adhoc", "zeta")}, []string{"staging", "production", "adhoc", "zeta"}},
		{
			"names line up across repositories",
			[]Repository{repo("a", "prod<qa", "qa<dev", "dev"), repo("b", "prod<staging", "staging<dev", "dev")},
			[]string{"dev", "qa", "staging", "prod"},
		},
		{
			"a name placed only once every link into it is",
			[]Repository{repo("a", "prod<staging", "staging"), repo("b", "staging<dev", "dev")},
			[]string{"dev", "staging", "prod"},
		},
		{
			"ties by name",
			[]Repository{repo("a", "uat<dev", "prod<dev", "dev", "perf")},
			[]string{"dev", "prod", "uat", "perf"},
		},
		{
			"links that contradict each other",
			[]Repository{repo("a", "production<staging", "staging"), repo("b", "staging<production", "production")},
			[]string{"production", "staging"},
		},
		{
			"a cycle after a chain",
			[]Repository{repo("a", "b<a", "c<b", "a"), repo("b", "b<c", "c")},
			[]string{"a", "b", "c"},
		},
		{"promoteFrom naming no environment of its repository", []Repository{repo("a", "prod<ghost"), repo("b", "ghost")}, []string{"ghost", "prod"}},
		{"promoteFrom itself", []Repository{repo("a", "prod<prod", "dev")}, []string{"dev", "prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Columns(Board{Repositories: tt.repos})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Columns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	hourAgo := now.Add(-time.Hour)
	future := now.Add(time.Minute) // a clock behind the record's
	b := Board{Repositories: []Repository{
		{Name: "web", Environments: []Environment{
			{Name: "production", PromoteFrom: "dev", Recorded: true, Version: "1.0.0", Rollout: state.InProgress, DeployedAt: &hourAgo, Approval: &Approval{}},
			{Name: "dev", Recorded: true, Version: "1.1.0", Rollout: state.Completed, DeployedAt: &future},
		}},
		{Name: "api", Error: "config unreadable"},
		{Name: "jobs", Environments: []Environment{{Name: "batch"}}},
	}}
	got := Layout(b, now)
	zero, hour := int64(0), int64(3600)
	want := Grid{
		At:           now,
		Environments: []string{"dev", "production", "batch"},
		Repositories: []Row{
			{Repository: "api", Error: "config unreadable", Cells: []Cell{}},
			{Repository: "jobs", Cells: []Cell{{Environment: Environment{Name: "batch"}, State: NoRecord}}},
			{Repository: "web", Cells: []Cell{
				{Environment: b.Repositories[0].Environments[1], State: Completed, AgeSeconds: &zero},
				{Environment: b.Repositories[0].Environments[0], State: AwaitingApproval, AgeSeconds: &hour, Approve: "ecrdeploy approve web --env production"},
			}},
		},
		Counts: map[State]int{NoRecord: 1, Completed: 1, AwaitingApproval: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Layout (-want +got):\n%s", diff)
	}
	if c, ok := got.Repositories[2].Cell("production"); !ok || c.State != AwaitingApproval {
		t.Errorf("Cell(production) = %v, %v", c.State, ok)
	}
	if _, ok := got.Repositories[1].Cell("production"); ok {
		t.Error("Cell(production) of a repository without it: ok")
	}
}

func ptr[T any](v T) *T { return &v }
