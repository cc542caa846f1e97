package deploy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
	"github.com/ecrdeploy/ecrdeploy/pkg/policy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
	"github.com/ecrdeploy/ecrdeploy/pkg/target"
)

// freezeConfig gates dev and production on the release-freeze calendar;
// staging has none.
const freezeConfig = `{"environments":{
	"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web","freeze":{"calendars":["release-freeze"]}},
	"staging":{"cluster":"apps","services":["hello-color-staging"],"container":"web"},
	"production":{"trigger":"manual","cluster":"apps","services":["hello-color-prod"],"container":"web","freeze":{"calendars":["release-freeze"]}}}}`

// releaseFreeze is the calendar's ARN in the function's own account and
// region, where its name is read.
var releaseFreeze = awstest.CalendarARN(localaws.Region, localaws.AccountID, "release-freeze")

// calendarOpened is the Calendar State Change event SSM sends when the
// release freeze opens.
func calendarOpened(state string) event.CalendarChange {
	return event.CalendarChange{ID: "cal-" + state, Time: time.Now().UTC(), Account: localaws.AccountID, Region: localaws.Region,
		Calendar: releaseFreeze, State: state}
}

// TestPushDuringAFreezeWaitsForTheCalendarToOpen: a push while the
// environment's calendar is CLOSED skips it as frozen, saying until when,
// and publishes that; other environments deploy. The calendar's opening
// event catches it up; its closing event changes nothing.
func TestPushDuringAFreezeWaitsForTheCalendarToOpen(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(freezeConfig))
	w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge()}
	until := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	w.env.Calendars.Close(releaseFreeze, time.Now().Add(-time.Hour), until)
	before, _ := w.running(t, "hello-color-dev")
	p := w.push(t, "1.4.0")
	w.env.Proxy.Reset()

	res := w.deliver(t, p)
	dev := row(t, res, "dev")
	if dev.Outcome != deploy.Skipped || dev.Reason != policy.Frozen || dev.Until == nil || !dev.Until.Equal(until) ||
		!strings.Contains(dev.Detail, "release-freeze is CLOSED until "+until.Format(time.RFC3339)) {
		t.Errorf("dev = %+v, want skipped frozen until %s", dev, until)
	}
	if got := outcomes(res)["staging"]; got != "deployed" {
		t.Errorf("staging = %q, want deployed: its environment has no calendar", got)
	}
	if after, _ := w.running(t, "hello-color-dev"); image(after, "web") != image(before, "web") {
		t.Errorf("dev runs %s, want what it ran before the freeze", image(after, "web"))
	}
	var skipped *announce.Detail
	for _, batch := range publishedEvents(t, w.env) {
		for _, e := range batch {
			if e.DetailType == announce.DetailTypeSkipped && e.Detail.Environment == "dev" {
				skipped = &e.Detail
			}
		}
	}
	if skipped == nil || skipped.Reason != policy.Frozen || skipped.Until == nil || !skipped.Until.Equal(until) {
		t.Errorf("published %+v, want Deployment Skipped for dev, frozen until %s", skipped, until)
	}

	// The calendar closing again (another event) changes nothing.
	w.env.Proxy.Reset()
	if res, err := w.d.CalendarChanged(t.Context(), calendarOpened("CLOSED")); err != nil || len(res.Repositories) != 0 || len(mutating(w.env)) != 0 {
		t.Errorf("closing: %+v, %v, calls %v; want nothing done", res, err, mutating(w.env))
	}

	// The freeze ends: the opening event deploys what the push could not.
	w.env.Calendars.Open(releaseFreeze)
	res, err := w.d.CalendarChanged(t.Context(), calendarOpened("OPEN"))
	if err != nil || len(res.Repositories) != 1 {
		t.Fatalf("opening: %+v, %v", res, err)
	}
	if got := outcomes(res.Repositories[0]); got["dev"] != "deployed" {
		t.Errorf("opening: %v, want dev deployed", got)
	}
	if _, ok := outcomes(res.Repositories[0])["production"]; ok {
		t.Errorf("opening deployed production, a manual environment: %+v", res.Repositories[0])
	}
	if after, _ := w.running(t, "hello-color-dev"); image(after, "web") != localaws.ImageURI("hello-color", "1.4.0") {
		t.Errorf("dev runs %s after the freeze, want 1.4.0", image(after, "web"))
	}
}

// TestManualDeployDuringAFreezeIsRefusedUnlessForced: a manual deploy to a
// frozen environment does nothing (exit 3), saying when the calendar opens
// and that force deploys; status shows the freeze; forced, it deploys.
func TestManualDeployDuringAFreezeIsRefusedUnlessForced(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(freezeConfig))
	until := time.Now().UTC().Add(6 * time.Hour).Truncate(time.Second)
	w.env.Calendars.Close(releaseFreeze, time.Now().Add(-time.Hour), until)
	w.push(t, "1.4.0")
	w.env.Proxy.Reset()

	req := request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.4.0", Environment: "production"}
	res, err := w.manual(t, req)
	v := deploy.Judgement(res, err)
	if v.ExitCode != 3 || !strings.Contains(v.Message, "frozen") || !strings.Contains(v.Message, until.Format(time.RFC3339)) ||
		!strings.Contains(v.Message, "--force") {
		t.Errorf("deploy during a freeze: %+v, want exit 3 saying frozen until %s and --force", v, until)
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("a refused deploy changed ECS: %v", ops)
	}

	status, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range status.Environments {
		switch st.Environment {
		case "production", "dev":
			if st.Frozen == nil || len(st.Frozen.Closed) != 1 || st.Frozen.Until == nil || !st.Frozen.Until.Equal(until) {
				t.Errorf("status of %s: frozen %+v, want release-freeze closed until %s", st.Environment, st.Frozen, until)
			}
		default:
			if st.Frozen != nil {
				t.Errorf("status of %s: frozen %+v, want none", st.Environment, st.Frozen)
			}
		}
	}

	req.Force = true
	w.env.Proxy.Reset()
	res, err = w.manual(t, req)
	if err != nil || outcomes(res)["production"] != "deployed" {
		t.Errorf("forced deploy during a freeze: %+v, %v; want deployed", res, err)
	}
	if n := w.env.Proxy.Count("GetCalendarState"); n != 0 {
		t.Errorf("a forced deploy read the calendar %d times; force goes through without asking", n)
	}
}

// TestAnUnreadableCalendarDeploysNothing: a calendar SSM does not know (a
// typo, a calendar not shared) fails the environment clearly, rather than
// deploying through a freeze nobody could check.
func TestAnUnreadableCalendarDeploysNothing(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(freezeConfig)) // release-freeze is never created
	p := w.push(t, "1.4.0")
	w.env.Proxy.Reset()
	res, err := w.d.Push(t.Context(), p)
	if err != nil {
		t.Fatalf("Push: %v (a calendar that does not exist is no reason to retry)", err)
	}
	if dev := row(t, res, "dev"); dev.Outcome != deploy.Failed || !strings.Contains(dev.Error, "release-freeze") ||
		!strings.Contains(dev.Error, target.ErrCalendar.Error()) {
		t.Errorf("dev = %+v, want failed naming the calendar", dev)
	}
	for _, c := range w.env.Proxy.Log() {
		if c.Operation == "UpdateService" && strings.Contains(string(c.Request), "hello-color-dev") {
			t.Errorf("dev was updated: %s", c.Request)
		}
	}
}

// TestARollbackGoesThroughAFreeze: an operator rolling an incident back
// during a freeze is not refused: the rollback puts back what completed
// there, and reads no calendar. A manual deploy in the same freeze is
// refused unless the person asks for force; the force a rollback carries
// is ecrdeploy's own, not the person's.
func TestARollbackGoesThroughAFreeze(t *testing.T) {
	w := newWorld(t, fargateFixture, []byte(freezeConfig))
	w.env.Calendars.Create(releaseFreeze)
	completedInDev(t, w, "1.1.0", "1.2.0")
	until := time.Now().UTC().Add(6 * time.Hour).Truncate(time.Second)
	w.env.Calendars.Close(releaseFreeze, time.Now().Add(-time.Hour), until)
	w.env.Proxy.Reset()

	if r := row(t, w.rollback(t), "dev"); r.Outcome != deploy.Deployed || !strings.Contains(r.Image, "1.1.0") {
		t.Errorf("rollback during a freeze: dev = %+v, want 1.1.0 deployed", r)
	}
	if got := w.runsVersion(t); got != "1.1.0" {
		t.Errorf("dev runs %s, want 1.1.0", got)
	}
	if n := w.env.Proxy.Count("GetCalendarState"); n != 0 {
		t.Errorf("the rollback read the calendar %d times; it goes through without asking", n)
	}

	w.env.Proxy.Reset()
	res, err := w.manual(t, request.Request{Action: "deploy", Repository: "hello-color", Tag: "1.2.0", Environment: "dev"})
	if r := row(t, res, "dev"); err != nil || r.Outcome != deploy.Skipped || r.Reason != policy.Frozen || !strings.Contains(r.Detail, "--force") {
		t.Errorf("deploy during the freeze: %+v, %v; want skipped frozen, saying --force", r, err)
	}
	if ops := ecsChanges(w.env); len(ops) != 0 {
		t.Errorf("the refused deploy changed ECS: %v", ops)
	}
}
