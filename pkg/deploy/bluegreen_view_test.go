package deploy

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

const (
	sdARN  = "arn:aws:ecs:eu-west-1:111111111111:service-deployment/apps/web/NCWGC2ZR-taawPAYrIaU5"
	tdNew  = "arn:aws:ecs:eu-west-1:111111111111:task-definition/web:8"
	tdPrev = "arn:aws:ecs:eu-west-1:111111111111:task-definition/web:7"
)

func canaryService(primary target.Deployment, running string) target.Service {
	return target.Service{
		TaskDefinition: running, Deployments: []target.Deployment{primary}, CurrentServiceDeployment: sdARN,
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary},
	}
}

func TestBlueGreenRollout(t *testing.T) {
	entry := state.Service{TaskDefinition: tdNew, DeploymentID: "ecs-svc/2", ReplacedDeploymentID: "ecs-svc/1", Rollout: state.InProgress}
	green := target.Deployment{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: tdNew, Rollout: state.Completed, Reason: "ECS deployment ecs-svc/2 completed."}
	blue := target.Deployment{ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: tdPrev, Rollout: state.Completed}
	finished := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	sd := func(status string, change func(*target.ServiceDeploymentDetail)) target.ServiceDeploymentDetail {
		d := target.ServiceDeploymentDetail{ARN: sdARN, Status: status, Stage: "BAKE_TIME", Strategy: "CANARY", UpdatedAt: finished.Add(-time.Minute)}
		if change != nil {
			change(&d)
		}
		return d
	}
	tests := []struct {
		name       string
		svc        target.Service
		sd         target.ServiceDeploymentDetail
		rollout    state.Rollout
		reason     string
		rolledBack bool
		replaced   bool
	}{
		// DescribeServices says COMPLETED, the service deployment bakes.
		{"baking though the deployment reads completed", canaryService(green, tdNew), sd("IN_PROGRESS", nil), state.InProgress, "", false, false},
		{"successful", canaryService(green, tdNew), sd("SUCCESSFUL", func(d *target.ServiceDeploymentDetail) { d.FinishedAt = finished }),
			state.Completed, "ECS deployment ecs-svc/2 completed.", false, false},
		{"rolled back by an alarm", canaryService(blue, tdPrev), sd("ROLLBACK_IN_PROGRESS", func(d *target.ServiceDeploymentDetail) {
			d.TriggeredAlarms, d.Rollback = []string{"web-5xx"}, &target.RollbackDetail{Reason: "alarm in ALARM"}
		}), state.Failed, "alarm web-5xx: alarm in ALARM", true, false},
		{"rejected, the service still on the new revision", canaryService(green, tdNew), sd("ROLLBACK_REQUESTED", func(d *target.ServiceDeploymentDetail) {
			d.Hooks = []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "FAILED"}}
		}), state.Failed, "approval rejected", false, false},
		{"stopped by a newer deployment of the same revision", target.Service{TaskDefinition: tdNew, CurrentServiceDeployment: sdARN + "-newer",
			Deployments: []target.Deployment{{ID: "ecs-svc/3", Status: "PRIMARY", TaskDefinition: tdNew, Rollout: state.InProgress}}},
			sd("STOPPED", nil), state.InProgress, "", false, false},
		{"stopped by someone's deployment", target.Service{TaskDefinition: tdPrev, CurrentServiceDeployment: sdARN + "-newer",
			Deployments: []target.Deployment{{ID: "ecs-svc/3", Status: "PRIMARY", TaskDefinition: tdPrev, Rollout: state.InProgress}}},
			sd("STOPPED", nil), "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := blueGreenRollout(entry, tt.svc, tt.sd)
			if v.rollout != tt.rollout || v.reason != tt.reason || v.rolledBack != tt.rolledBack || v.replaced != tt.replaced || v.sd == nil {
				t.Errorf("blueGreenRollout = rollout %q, reason %q, rolled back %v, replaced %v; want %q, %q, %v, %v",
					v.rollout, v.reason, v.rolledBack, v.replaced, tt.rollout, tt.reason, tt.rolledBack, tt.replaced)
			}
		})
	}
}

func TestBlueGreenDeploymentCostsNoCallForARollingUpdate(t *testing.T) {
	entry := state.Service{DeploymentID: "ecs-svc/2", Rollout: state.InProgress}
	primary := target.Deployment{ID: "ecs-svc/2", Status: "PRIMARY"}
	rolling := target.Service{Deployments: []target.Deployment{primary}, CurrentServiceDeployment: sdARN}
	if arn := blueGreenDeployment(entry, rolling); arn != "" {
		t.Errorf("a rolling update: %q", arn)
	}
	if arn := blueGreenDeployment(entry, canaryService(primary, tdNew)); arn != sdARN {
		t.Errorf("a canary, found by its deployment id: %q", arn)
	}
	entry.Rollout = state.Completed
	if arn := blueGreenDeployment(entry, canaryService(primary, tdNew)); arn != "" {
		t.Errorf("a canary that ended: %q", arn)
	}
	other := state.Service{DeploymentID: "ecs-svc/1", Rollout: state.InProgress}
	if arn := blueGreenDeployment(other, canaryService(primary, tdNew)); arn != "" {
		t.Errorf("another deployment, not recorded: %q", arn)
	}
	other.ServiceDeploymentARN = "recorded"
	if arn := blueGreenDeployment(other, canaryService(primary, tdNew)); arn != "recorded" {
		t.Errorf("another deployment, recorded: %q", arn)
	}
}

func TestRepairBlueGreen(t *testing.T) {
	awaiting := target.ServiceDeploymentDetail{ARN: sdARN, Status: "IN_PROGRESS", Hooks: []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "AWAITING_ACTION"}}}
	answered := target.ServiceDeploymentDetail{ARN: sdARN, Status: "IN_PROGRESS", Hooks: []target.HookDetail{{ID: "ecs-pause-1", Type: "PAUSE", Status: "SUCCEEDED"}}}
	rec := func() state.Record {
		return state.Record{
			Services: map[string]state.Service{"web": {DeploymentID: "ecs-svc/2", Rollout: state.InProgress}},
			Approval: &state.Approval{Service: "web", HookID: "ecs-pause-1", ServiceDeploymentARN: sdARN},
		}
	}
	r := rec()
	if !repairBlueGreen(&r, map[string]ecsView{"web": {sd: &awaiting}}) || r.Services["web"].ServiceDeploymentARN != sdARN || r.Approval == nil {
		t.Errorf("awaiting: %+v", r)
	}
	if repairBlueGreen(&r, map[string]ecsView{"web": {sd: &awaiting}}) {
		t.Error("nothing more to repair, but repaired")
	}
	if !repairBlueGreen(&r, map[string]ecsView{"web": {sd: &answered}}) || r.Approval != nil {
		t.Errorf("answered: %+v", r.Approval)
	}
	r = rec()
	if repairBlueGreen(&r, map[string]ecsView{"web": {}}); r.Approval == nil {
		t.Error("a view without a service deployment cleared the approval")
	}
}

func TestReached(t *testing.T) {
	env := &config.Environment{Deployment: &config.Deployment{Strategy: config.StrategyCanary, Approval: &config.Approval{Stage: config.StagePostTestTrafficShift}}}
	view := func(stage string, production float64, hooks ...target.HookDetail) ecsView {
		return ecsView{rollout: state.InProgress, sd: &target.ServiceDeploymentDetail{Status: "IN_PROGRESS", Stage: stage, Production: aws.Float64(production), Hooks: hooks}}
	}
	pause := target.HookDetail{ID: "ecs-pause-1", Type: "PAUSE", Status: "AWAITING_ACTION"}
	tests := []struct {
		v     ecsView
		until string
		want  bool
	}{
		{view("TEST_TRAFFIC_SHIFT", 0), request.UntilTestTraffic, false},
		{view("POST_TEST_TRAFFIC_SHIFT", 0), request.UntilTestTraffic, true},
		{view("BAKE_TIME", 100), request.UntilTestTraffic, true},
		{view("POST_TEST_TRAFFIC_SHIFT", 0, pause), request.UntilApproval, true},
		{view("POST_TEST_TRAFFIC_SHIFT", 0), request.UntilApproval, false},
		{view("PRODUCTION_TRAFFIC_SHIFT", 10), request.UntilApproval, true}, // approved already
		{view("PRODUCTION_TRAFFIC_SHIFT", 10), request.UntilProductionTraffic, false},
		{view("PRODUCTION_TRAFFIC_SHIFT", 100), request.UntilProductionTraffic, true},
		{view("POST_PRODUCTION_TRAFFIC_SHIFT", 100), request.UntilProductionTraffic, true},
		{view("BAKE_TIME", 100), request.UntilDone, false},
		{view("BAKE_TIME", 100), "", false},
		{ecsView{rollout: state.InProgress}, request.UntilTestTraffic, false}, // a rolling update
	}
	for _, tt := range tests {
		stage := ""
		if tt.v.sd != nil {
			stage = tt.v.sd.Stage
		}
		if got := reached(tt.v, tt.until, env); got != tt.want {
			t.Errorf("reached(%s, %q) = %v, want %v", stage, tt.until, got, tt.want)
		}
	}
}

func TestInFlight(t *testing.T) {
	running := state.Service{DeploymentID: "ecs-svc/2", Rollout: state.InProgress}
	done := state.Service{DeploymentID: "ecs-svc/1", Rollout: state.Completed}
	tests := []struct {
		name string
		rec  state.Record
		want []string
	}{
		{"one service in progress", state.Record{Version: "1.4.0", Cause: state.CausePush, Rollout: state.InProgress,
			Services: map[string]state.Service{"web": running, "worker": done}}, []string{"web"}},
		{"completed", state.Record{Version: "1.4.0", Cause: state.CausePush, Rollout: state.Completed, Services: map[string]state.Service{"web": done}}, nil},
		{"ECS's own rollback in progress", state.Record{Version: "1.3.0", Cause: state.CauseECS, Rollout: state.InProgress,
			Services: map[string]state.Service{"web": running}}, nil},
		{"a rollback's own deployment", state.Record{Version: "1.3.0", Cause: state.CauseRollback, Rollout: state.InProgress,
			Services: map[string]state.Service{"web": running}}, nil},
		{"failed", state.Record{Version: "1.4.0", Cause: state.CausePush, Services: map[string]state.Service{"web": {DeploymentID: "x", Rollout: state.Failed}}}, nil},
	}
	for _, tt := range tests {
		tt.rec.Rollout = tt.rec.AggregateRollout()
		if got := inFlight(tt.rec); len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("%s: inFlight = %v, want %v", tt.name, got, tt.want)
		}
	}
}
