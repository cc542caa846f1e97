package board

import (
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// seedNow is the time the seeded fleet is laid out at.
var seedNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// ago is seedNow minus d.
func ago(d time.Duration) *time.Time {
	t := seedNow.Add(-d)
	return &t
}

// digest is a made-up image digest that starts with hex.
func digest(hex string) string {
	const zeros = "0000000000000000000000000000000000000000000000000000000000000000"
	return "sha256:" + hex + zeros[len(hex):]
}

// completed is an environment whose deployment of version completed d ago.
func completed(name, from, version string, d time.Duration) Environment {
	return Environment{
		Name: name, PromoteFrom: from, Recorded: true,
		Version: version, Tag: version, Digest: digest("a1b2c3" + version[:1]),
		Rollout: state.Completed, DeployedAt: ago(d), DeployedBy: state.CausePush,
	}
}

// seedFleet is a fleet with one of everything the board shows: a failed
// rollout (billing/staging), a pending approval (hello-color/production), a
// frozen environment (orders/production), drift (payments/dev), a held
// version (team/…/notifications-dispatcher-service/dev), an environment
// with no record (its staging), a baking canary (search/production), a
// rollout in progress (search/dev), environments named differently in
// different repositories (prod and production, qa), an environment whose
// record could not be read (payments/perf) and a repository whose
// configuration could not be read (reports).
func seedFleet() Board {
	with := func(e Environment, f func(*Environment)) Environment { f(&e); return e }
	return Board{Repositories: []Repository{
		{Name: "search", Environments: []Environment{
			with(completed("dev", "", "2.0.0-rc.2", 20*time.Minute), func(e *Environment) {
				e.Rollout = state.InProgress
				e.Digest = digest("5ea4c2")
			}),
			completed("qa", "dev", "2.0.0-rc.1", 26*time.Hour),
			with(completed("production", "qa", "1.9.4", 25*time.Minute), func(e *Environment) {
				e.DeployedBy = state.CausePromote
				e.Rollout = state.InProgress
				e.Progress = &Progress{
					Strategy: "canary", Stage: "PRODUCTION_TRAFFIC_SHIFT", TrafficPercent: ptr(5.0),
					Baking: true, BakeEnds: ago(-7 * time.Minute),
				}
			}),
		}},
		{Name: "billing", Environments: []Environment{
			completed("dev", "", "1.9.0", 4*time.Hour),
			with(completed("staging", "dev", "1.9.0", 3*time.Hour), func(e *Environment) {
				e.Rollout = state.Failed
				e.Held = []string{"1.9.0"}
				e.Failed = &state.Failure{
					Version: "1.9.0", Digest: e.Digest, DeploymentID: "ecs-svc/1234567890123456789",
					Reason: "ECS deployment circuit breaker: tasks failed to start.", Time: *ago(2*time.Hour + 40*time.Minute),
				}
			}),
			completed("production", "staging", "1.8.3", 6*24*time.Hour),
		}},
		{Name: "hello-color", Environments: []Environment{
			completed("dev", "", "1.2.0", 50*time.Hour),
			completed("staging", "dev", "1.2.0", 49*time.Hour),
			with(completed("production", "staging", "1.2.0", 90*time.Minute), func(e *Environment) {
				e.DeployedBy = state.CausePromote
				e.Rollout = state.InProgress
				e.Progress = &Progress{Strategy: "blue-green", Stage: "POST_TEST_TRAFFIC_SHIFT", TrafficPercent: ptr(0.0)}
				e.Approval = &Approval{Version: "1.2.0", Stage: "post-test-traffic-shift", Since: ago(80 * time.Minute), Expires: ago(-22*time.Hour - 40*time.Minute)}
			}),
		}},
		{Name: "orders", Environments: []Environment{
			completed("dev", "", "4.2.0", 30*time.Minute),
			completed("staging", "dev", "4.2.0", 29*time.Minute),
			with(completed("production", "staging", "4.1.7", 8*24*time.Hour), func(e *Environment) {
				until := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
				e.Freeze = &Freeze{Calendars: []string{"prod-change-freeze"}, Until: &until}
			}),
		}},
		{Name: "payments", Environments: []Environment{
			with(completed("dev", "", "3.1.0", 5*time.Hour), func(e *Environment) {
				e.Drift = []ServiceDrift{{Service: "payments-dev", Recorded: "payments-dev:41", Running: "payments-dev:42"}}
			}),
			completed("prod", "dev", "3.0.2", 12*24*time.Hour),
			{Name: "perf", PromoteFrom: "dev", Error: "state /ecrdeploy/state/payments/perf: not a state record: unexpected end of JSON input"},
		}},
		{Name: "team/platform/notifications-dispatcher-service", Environments: []Environment{
			with(completed("dev", "", "2.2.1", 45*time.Minute), func(e *Environment) {
				e.DeployedBy = state.CauseRollback
				e.Held = []string{"2.3.0"}
				e.Failed = &state.Failure{Version: "2.3.0", Reason: "rolled back by hand", Time: *ago(46 * time.Minute)}
			}),
			{Name: "staging", PromoteFrom: "dev"},
		}},
		{Name: "reports", Error: "configuration /ecrdeploy/config/reports: environments.prod.cluster: missing"},
	}}
}
