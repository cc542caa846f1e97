package deploy

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

func TestFreeze(t *testing.T) {
	t1 := time.Date(2026, 12, 27, 6, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	push := Request{Cause: state.CausePush}
	deploy := Request{Cause: state.CauseDeploy}
	tests := []struct {
		name       string
		req        Request
		cals       []target.Calendar
		wantUntil  time.Time
		wantDetail string // "" for not frozen
	}{
		{name: "no calendars", req: push},
		{name: "open", req: push, cals: []target.Calendar{{Name: "freeze", Open: true, Next: t1}}},
		{
			name: "a push waits", req: push, cals: []target.Calendar{{Name: "freeze", Next: t1}}, wantUntil: t1,
			wantDetail: "change calendar freeze is CLOSED until 2026-12-27T06:00:00Z: the deploy waits for the freeze to end",
		},
		{
			name: "a reconcile waits", req: Request{Cause: state.CauseReconcile}, cals: []target.Calendar{{Name: "freeze", Next: t1}}, wantUntil: t1,
			wantDetail: "change calendar freeze is CLOSED until 2026-12-27T06:00:00Z: the deploy waits for the freeze to end",
		},
		{
			name: "a manual deploy is refused, saying force overrides", req: deploy, cals: []target.Calendar{{Name: "freeze", Next: t1}}, wantUntil: t1,
			wantDetail: "change calendar freeze is CLOSED until 2026-12-27T06:00:00Z: --force deploys through the freeze",
		},
		{
			name: "a promote too", req: Request{Cause: state.CausePromote}, cals: []target.Calendar{{Name: "freeze", Next: t1}}, wantUntil: t1,
			wantDetail: "change calendar freeze is CLOSED until 2026-12-27T06:00:00Z: --force deploys through the freeze",
		},
		{
			name: "force ecrdeploy set itself is not a person's", req: Request{Cause: state.CauseDeploy, Force: true},
			cals: []target.Calendar{{Name: "freeze", Next: t1}}, wantUntil: t1,
			wantDetail: "change calendar freeze is CLOSED until 2026-12-27T06:00:00Z: --force deploys through the freeze",
		},
		// A person's force, and a rollback (the way out of an incident),
		// go through.
		{name: "a deploy a person forced goes through", req: Request{Cause: state.CauseDeploy, Force: true, ForceAsked: true}, cals: []target.Calendar{{Name: "freeze", Next: t1}}},
		{name: "a promote a person forced goes through", req: Request{Cause: state.CausePromote, Force: true, ForceAsked: true}, cals: []target.Calendar{{Name: "freeze", Next: t1}}},
		{name: "a rollback goes through", req: Request{Cause: state.CauseRollback, Force: true}, cals: []target.Calendar{{Name: "freeze", Next: t1}}},
		{name: "a push is never forced through", req: Request{Cause: state.CausePush, ForceAsked: true}, cals: []target.Calendar{{Name: "freeze", Next: t1}}, wantUntil: t1,
			wantDetail: "change calendar freeze is CLOSED until 2026-12-27T06:00:00Z: the deploy waits for the freeze to end"},
		{
			name: "the last of two closed calendars to open", req: push,
			cals:      []target.Calendar{{Name: "a", Next: t2}, {Name: "b", Open: true, Next: t1}, {Name: "c", Next: t1}},
			wantUntil: t2, wantDetail: "change calendars a, c are CLOSED until 2026-12-28T06:00:00Z: the deploy waits for the freeze to end",
		},
		{
			name: "no opening scheduled", req: push, cals: []target.Calendar{{Name: "a", Next: t2}, {Name: "b"}},
			wantDetail: "change calendars a, b are CLOSED until they open (no opening is scheduled for all of them): the deploy waits for the freeze to end",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := freeze(tt.req, tt.cals)
			if tt.wantDetail == "" {
				if h != nil {
					t.Fatalf("freeze = %+v, want nil (go on)", h)
				}
				return
			}
			if h == nil {
				t.Fatal("freeze = nil, want frozen")
			}
			if h.reason != policy.Frozen || h.detail != tt.wantDetail || !h.until.Equal(tt.wantUntil) {
				t.Errorf("freeze = %s %q until %s, want frozen %q until %s", h.reason, h.detail, h.until, tt.wantDetail, tt.wantUntil)
			}
		})
	}
}

// TestFrozenManualRequestIsNothingDoneWithForceHint: a manual request all of
// whose rows are frozen is judged nothing done (exit 3), saying when the
// calendar opens and that force deploys.
func TestFrozenManualRequestIsNothingDoneWithForceHint(t *testing.T) {
	env := mustEnv(t, `{"cluster":"apps","services":["web"]}`)
	t1 := time.Date(2026, 12, 27, 6, 0, 0, 0, time.UTC)
	h := freeze(Request{Cause: state.CauseDeploy}, []target.Calendar{{Name: "freeze", Next: t1}})
	res := Result{Repository: "web", Cause: state.CauseDeploy, Results: h.rows(environment{name: "production", env: env})}
	v := Judgement(res, nil)
	if v.Kind != Nothing || v.ExitCode != 3 {
		t.Fatalf("judged %+v, want nothing-done, exit 3", v)
	}
	for _, want := range []string{"production/web: frozen", "until 2026-12-27T06:00:00Z", "--force would deploy it"} {
		if !strings.Contains(v.Message, want) {
			t.Errorf("message %q lacks %q", v.Message, want)
		}
	}
	if r := res.Results[0]; r.Until == nil || !r.Until.Equal(t1) {
		t.Errorf("row until = %v, want %s", r.Until, t1)
	}
}

func TestHeldBy(t *testing.T) {
	doc := func(envs string) *config.Document {
		d, err := config.Parse("test", []byte(`{"environments":{`+envs+`}}`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	docs := map[string]*config.Document{
		"web": doc(`"dev":{"cluster":"apps","services":["web-dev"]},
			"staging":{"cluster":"apps","services":["web-staging"],"freeze":{"calendars":["release-freeze"]}},
			"production":{"trigger":"manual","cluster":"apps","services":["web-prod"],"freeze":{"calendars":["release-freeze"]}}`),
		"api": doc(`"staging":{"cluster":"apps","services":["api-staging"],"freeze":{"calendars":["arn:aws:ssm:us-east-1:123456789012:document/release-freeze"]}},
			"eu":{"cluster":"apps","services":["api-eu"],"freeze":{"calendars":["arn:aws:ssm:eu-west-1:222222222222:document/sales-peak"]}}`),
	}
	ev := event.CalendarChange{Account: "123456789012", Region: "us-east-1", Calendar: "arn:aws:ssm:us-east-1:123456789012:document/release-freeze", State: "OPEN"}
	tests := []struct {
		name     string
		ev       event.CalendarChange
		region   string
		own      string
		wantEnvs map[string][]string
	}{
		{"own calendar by name and ARN; manual environments are not caught up", ev, "us-east-1", "123456789012",
			map[string][]string{"web": {"staging"}, "api": {"staging"}}},
		{"by name only in the function's own region", ev, "us-west-2", "123456789012",
			map[string][]string{"api": {"staging"}}},
		{"by name only in the function's own account", ev, "us-east-1", "999999999999",
			map[string][]string{"api": {"staging"}}},
		{"another calendar", event.CalendarChange{Account: "222222222222", Region: "eu-west-1", Calendar: "arn:aws:ssm:eu-west-1:222222222222:document/sales-peak"}, "us-east-1", "123456789012",
			map[string][]string{"api": {"eu"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string][]string{}
			for repo, d := range heldBy(docs, tt.ev, tt.region, tt.own) {
				got[repo] = slices.Sorted(maps.Keys(d.Environments))
			}
			if diff := cmp.Diff(tt.wantEnvs, got); diff != "" {
				t.Errorf("heldBy (-want +got):\n%s", diff)
			}
		})
	}
}
