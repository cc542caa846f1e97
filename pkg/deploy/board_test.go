package deploy

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestBoardEnvironment(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	until := at.Add(30 * time.Hour)
	env := &config.Environment{Cluster: "apps", Services: []string{"web", "worker"}, PromoteFrom: "dev"}
	const td = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
	rec := func(change func(*state.Record)) *state.Record {
		r := &state.Record{
			Repository: "shop", Environment: "staging", Version: "1.4.0", Tag: "v1.4.0", Digest: "sha256:ab", Cause: state.CausePush, Time: at,
			Rollout: state.Completed, Held: []string{"1.3.9"},
			Services: map[string]state.Service{
				"web":    {TaskDefinition: td + "web:7", DeploymentID: "ecs-svc/1", Rollout: state.Completed},
				"worker": {TaskDefinition: td + "worker:3", DeploymentID: "ecs-svc/2", Rollout: state.Completed},
			},
		}
		if change != nil {
			change(r)
		}
		return r
	}
	running := map[string]target.Service{"web": {TaskDefinition: td + "web:7"}, "worker": {TaskDefinition: "worker:3"}}
	closed := calendarStates{cals: map[calendarKey]target.Calendar{{name: "freeze"}: {Name: "freeze", Next: until}}}
	progress := &board.Progress{Strategy: "canary", Stage: "PRODUCTION_TRAFFIC_SHIFT"}
	approval := &board.Approval{Version: "1.4.0", Stage: "post-test-traffic-shift"}
	recorded := board.Environment{
		Name: "staging", PromoteFrom: "dev", Recorded: true, Version: "1.4.0", Tag: "v1.4.0", Digest: "sha256:ab",
		Rollout: state.Completed, Held: []string{"1.3.9"}, DeployedAt: &at, DeployedBy: state.CausePush,
	}
	with := func(e board.Environment, change func(*board.Environment)) board.Environment {
		change(&e)
		return e
	}
	tests := []struct {
		name string
		read boardRead
		cals calendarStates
		want board.Environment
	}{
		{
			name: "no record",
			read: boardRead{described: true, services: running},
			want: board.Environment{Name: "staging", PromoteFrom: "dev"},
		},
		{
			name: "in sync: the same revision, however ECS spells it",
			read: boardRead{rec: rec(nil), described: true, services: running},
			want: recorded,
		},
		{
			name: "drift, by family and revision",
			read: boardRead{rec: rec(nil), described: true, services: map[string]target.Service{"web": {TaskDefinition: td + "web:8"}, "worker": running["worker"]}},
			want: with(recorded, func(e *board.Environment) {
				e.Drift = []board.ServiceDrift{{Service: "web", Recorded: "web:7", Running: "web:8"}}
			}),
		},
		{
			name: "not described (a role not assumed): the record as it is, no drift",
			read: boardRead{rec: rec(nil)},
			want: recorded,
		},
		{
			name: "a configured service ECS does not have",
			read: boardRead{rec: rec(nil), described: true, services: map[string]target.Service{"web": running["web"]}},
			want: with(recorded, func(e *board.Environment) { e.Error = "service worker not found in cluster apps" }),
		},
		{
			name: "rolled back by ECS: what runs, failed",
			read: boardRead{rec: rec(func(r *state.Record) {
				r.Version, r.Cause, r.Rollout = "1.3.0", state.CauseECS, state.InProgress
				r.Failed = &state.Failure{Version: "1.4.0", Time: at}
				r.Held = []string{"1.4.0"}
			})},
			want: with(recorded, func(e *board.Environment) {
				e.Version, e.DeployedBy, e.Rollout = "1.3.0", state.CauseECS, state.Failed
				e.Failed, e.Held = &state.Failure{Version: "1.4.0", Time: at}, []string{"1.4.0"}
			}),
		},
		{
			name: "a failure of an earlier deployment does not fail the cell",
			read: boardRead{rec: rec(func(r *state.Record) { r.Failed = &state.Failure{Version: "1.3.9", Time: at} })},
			want: with(recorded, func(e *board.Environment) { e.Failed = &state.Failure{Version: "1.3.9", Time: at} }),
		},
		{
			name: "held through a version",
			read: boardRead{rec: rec(func(r *state.Record) { r.HeldThrough = "1.2.0" })},
			want: with(recorded, func(e *board.Environment) { e.Held = []string{"≤1.2.0", "1.3.9"} }),
		},
		{
			name: "a rollout under way, with its stage and its approval",
			read: boardRead{rec: rec(func(r *state.Record) {
				s := r.Services["web"]
				s.Rollout = state.InProgress
				r.Services["web"] = s
			}), progress: progress, approval: approval},
			want: with(recorded, func(e *board.Environment) {
				e.Rollout, e.Progress, e.Approval = state.InProgress, progress, approval
			}),
		},
		{
			name: "the approval the record keeps comes before the one ECS's service deployment shows",
			read: boardRead{rec: rec(func(r *state.Record) {
				s := r.Services["web"]
				s.Rollout = state.InProgress
				r.Services["web"] = s
				r.Approval = &state.Approval{Service: "web", Stage: "post-production-traffic-shift", HookID: "h-1", Since: at, Expires: until}
			}), progress: progress, approval: approval},
			want: with(recorded, func(e *board.Environment) {
				e.Rollout, e.Progress = state.InProgress, progress
				e.Approval = &board.Approval{Version: "1.4.0", Stage: "post-production-traffic-shift", Since: &at, Expires: &until}
			}),
		},
		{
			name: "a stage read before ECS said the rollout ended is not shown",
			read: boardRead{rec: rec(nil), progress: progress},
			want: recorded,
		},
		{
			name: "frozen",
			read: boardRead{rec: rec(nil), env: &config.Environment{Cluster: "apps", Services: env.Services, PromoteFrom: "dev", Freeze: &config.Freeze{Calendars: []string{"freeze"}}}},
			cals: closed,
			want: with(recorded, func(e *board.Environment) { e.Freeze = &board.Freeze{Calendars: []string{"freeze"}, Until: &until} }),
		},
		{
			name: "what could not be read, all of it",
			read: boardRead{errs: []string{"describe services in apps: cluster not found"},
				env: &config.Environment{Cluster: "apps", Services: env.Services, PromoteFrom: "dev", Freeze: &config.Freeze{Calendars: []string{"freeze"}}}},
			cals: calendarStates{errs: map[calendarKey]error{{name: "freeze"}: errors.New("read change calendar freeze: AccessDenied")}},
			want: board.Environment{Name: "staging", PromoteFrom: "dev", Error: "describe services in apps: cluster not found; read change calendar freeze: AccessDenied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.read
			r.key = state.Key{Repository: "shop", Environment: "staging"}
			if r.env == nil {
				r.env = env
			}
			if diff := cmp.Diff(tt.want, boardEnvironment(&r, tt.cals)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgressOf(t *testing.T) {
	updated := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ends := func(minutes int) *time.Time {
		e := updated.Add(time.Duration(minutes) * time.Minute)
		return &e
	}
	share := func(p float64) *float64 { return &p }
	tests := []struct {
		name string
		sd   target.ServiceDeploymentDetail
		want *board.Progress
	}{
		{
			name: "blue-green at its test traffic",
			sd:   target.ServiceDeploymentDetail{Strategy: "BLUE_GREEN", Stage: "POST_TEST_TRAFFIC_SHIFT", Production: aws.Float64(0), UpdatedAt: updated},
			want: &board.Progress{Strategy: "blue-green", Stage: "POST_TEST_TRAFFIC_SHIFT", TrafficPercent: share(0)},
		},
		{
			name: "the final bake",
			sd:   target.ServiceDeploymentDetail{Strategy: "BLUE_GREEN", Stage: "BAKE_TIME", BakeMinutes: aws.Int32(60), Production: aws.Float64(100), UpdatedAt: updated},
			want: &board.Progress{Strategy: "blue-green", Stage: "BAKE_TIME", TrafficPercent: share(100), Baking: true, BakeEnds: ends(60)},
		},
		{
			name: "the final bake of a length ECS does not say",
			sd:   target.ServiceDeploymentDetail{Strategy: "BLUE_GREEN", Stage: "BAKE_TIME", Production: aws.Float64(100), UpdatedAt: updated},
			want: &board.Progress{Strategy: "blue-green", Stage: "BAKE_TIME", TrafficPercent: share(100), Baking: true},
		},
		{
			name: "a canary bakes its share",
			sd: target.ServiceDeploymentDetail{Strategy: "CANARY", Stage: "PRODUCTION_TRAFFIC_SHIFT", CanaryBakeMinutes: aws.Int32(15),
				Production: aws.Float64(10), UpdatedAt: updated},
			want: &board.Progress{Strategy: "canary", Stage: "PRODUCTION_TRAFFIC_SHIFT", TrafficPercent: share(10), Baking: true, BakeEnds: ends(15)},
		},
		{
			name: "a canary's bake by ECS's default",
			sd:   target.ServiceDeploymentDetail{Strategy: "CANARY", Stage: "PRODUCTION_TRAFFIC_SHIFT", Production: aws.Float64(5), UpdatedAt: updated},
			want: &board.Progress{Strategy: "canary", Stage: "PRODUCTION_TRAFFIC_SHIFT", TrafficPercent: share(5), Baking: true, BakeEnds: ends(defaultCanaryBakeMinutes)},
		},
		{
			name: "a linear step by ECS's default",
			sd:   target.ServiceDeploymentDetail{Strategy: "LINEAR", Stage: "PRODUCTION_TRAFFIC_SHIFT", Production: aws.Float64(30), UpdatedAt: updated},
			want: &board.Progress{Strategy: "linear", Stage: "PRODUCTION_TRAFFIC_SHIFT", TrafficPercent: share(30), Baking: true, BakeEnds: ends(defaultStepBakeMinutes)},
		},
		{
			name: "all traffic moved: no step bake",
			sd:   target.ServiceDeploymentDetail{Strategy: "LINEAR", Stage: "PRODUCTION_TRAFFIC_SHIFT", Production: aws.Float64(100), UpdatedAt: updated},
			want: &board.Progress{Strategy: "linear", Stage: "PRODUCTION_TRAFFIC_SHIFT", TrafficPercent: share(100)},
		},
		{
			name: "no share or strategy said",
			sd:   target.ServiceDeploymentDetail{Stage: "SCALE_UP", UpdatedAt: updated},
			want: &board.Progress{Strategy: "deployment", Stage: "SCALE_UP"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sd.Status = "IN_PROGRESS"
			got := progressOf(tt.sd, judgeBlueGreen(tt.sd, "", updated))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyBlueGreen: what ECS's service deployment says of a rollout
// under way goes on the environment: the stage and a pause awaiting
// approval while it runs; its end, on the board's copy of the record.
func TestApplyBlueGreen(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	expires := now.Add(2 * time.Hour)
	const arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/apps/web/NCWGC2ZR-taawPAYrIaU5"
	newRead := func() *boardRead {
		return &boardRead{
			rec: &state.Record{Version: "1.4.0", Rollout: state.InProgress, Services: map[string]state.Service{
				"web": {DeploymentID: "ecs-svc/2", Rollout: state.InProgress}}},
			described: true,
			services: map[string]target.Service{"web": {CurrentServiceDeployment: arn,
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen},
				Deployments:             []target.Deployment{{ID: "ecs-svc/2", Status: "PRIMARY", Rollout: state.InProgress}}}},
		}
	}
	waiting := newRead()
	waiting.applyBlueGreen("web", target.ServiceDeploymentDetail{ARN: arn, Status: "IN_PROGRESS", Strategy: "BLUE_GREEN", Stage: "POST_TEST_TRAFFIC_SHIFT",
		UpdatedAt: now.Add(-time.Hour), Hooks: []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "AWAITING_ACTION", ExpiresAt: expires}}}, now)
	since := now.Add(-time.Hour)
	if diff := cmp.Diff(&board.Approval{Version: "1.4.0", Stage: "post-test-traffic-shift", Since: &since, Expires: &expires}, waiting.approval); diff != "" {
		t.Errorf("approval (-want +got):\n%s", diff)
	}
	if waiting.progress == nil || waiting.progress.Stage != "POST_TEST_TRAFFIC_SHIFT" || waiting.rec.Rollout != state.InProgress {
		t.Errorf("progress %+v, rollout %s", waiting.progress, waiting.rec.Rollout)
	}

	lambda := newRead()
	lambda.applyBlueGreen("web", target.ServiceDeploymentDetail{ARN: arn, Status: "IN_PROGRESS", Strategy: "BLUE_GREEN", Stage: "POST_SCALE_UP",
		Hooks: []target.HookDetail{{ID: "ecs-lambda-1", Type: "AWS_LAMBDA", Status: "IN_PROGRESS"}}}, now)
	if lambda.approval != nil {
		t.Errorf("a Lambda hook is an approval: %+v", lambda.approval)
	}

	done := newRead()
	done.applyBlueGreen("web", target.ServiceDeploymentDetail{ARN: arn, Status: "SUCCESSFUL", Strategy: "BLUE_GREEN", Stage: "CLEAN_UP", FinishedAt: now}, now)
	if done.rec.AggregateRollout() != state.Completed || done.progress != nil || done.rec.LastCompleted != "1.4.0" {
		t.Errorf("after SUCCESSFUL: %+v, progress %+v", done.rec, done.progress)
	}

	rejected := newRead()
	rejected.applyBlueGreen("web", target.ServiceDeploymentDetail{ARN: arn, Status: "ROLLBACK_SUCCESSFUL", Strategy: "BLUE_GREEN", Stage: "POST_TEST_TRAFFIC_SHIFT",
		FinishedAt: now, Hooks: []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "FAILED"}}}, now)
	if r := rejected.rec; r.AggregateRollout() != state.Failed || !r.IsHeld("1.4.0") || r.Failed == nil || r.Failed.Reason != "blue-green rolled back at post-test-traffic-shift: approval rejected" {
		t.Errorf("after a rejection: %+v, failed %+v", r, r.Failed)
	}
}

func TestFreezeOf(t *testing.T) {
	until := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	const other = "arn:aws:ssm:eu-west-1:111111111111:document/shared-freeze"
	cals := calendarStates{region: "us-east-1", cals: map[calendarKey]target.Calendar{
		{name: "freeze"}:                   {Name: "freeze", Next: until},
		{name: "open"}:                     {Name: "open", Open: true, Next: until},
		{name: "forever"}:                  {Name: "forever"},
		{region: "eu-west-1", name: other}: {Name: other, Next: until.Add(time.Hour)},
	}, errs: map[calendarKey]error{{name: "gone"}: errors.New("change calendar gone: not a change calendar")}}
	env := func(names ...string) *config.Environment {
		return &config.Environment{Freeze: &config.Freeze{Calendars: names}}
	}
	later := until.Add(time.Hour)
	tests := []struct {
		name    string
		env     *config.Environment
		cals    calendarStates
		want    *board.Freeze
		wantErr string
	}{
		{name: "no calendars", env: &config.Environment{}},
		{name: "open", env: env("open")},
		{name: "closed", env: env("freeze", "open"), want: &board.Freeze{Calendars: []string{"freeze"}, Until: &until}},
		{name: "closed in another region, until the last opens", env: env("freeze", other), want: &board.Freeze{Calendars: []string{"freeze", other}, Until: &later}},
		{name: "no opening scheduled", env: env("freeze", "forever"), want: &board.Freeze{Calendars: []string{"freeze", "forever"}}},
		{name: "unreadable", env: env("freeze", "gone"), wantErr: "change calendar gone: not a change calendar"},
		{name: "no reader", env: env("freeze"), cals: calendarStates{err: ErrNoCalendarReader},
			wantErr: "change calendars freeze: no SSM client to read change calendars with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cals
			if tt.cals.err != nil {
				c = tt.cals
			}
			got, err := c.freezeOf(tt.env)
			if (err != nil || tt.wantErr != "") && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
