package deploy_test

import (
	"strings"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/request"
)

// A record that could not be written keeps failing, retryably, on every
// re-delivery until it is written: a re-delivery finds the service running
// what was asked and must not answer "unchanged" with the record unwritten.
func TestAnUnwrittenRecordKeepsFailingUntilWritten(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	p := w.push(t, "1.4.0")
	w.env.Proxy.Fail("TransactWriteItems", awstest.Always, awstest.ServerError(500))
	for attempt := range 3 {
		res, err := w.d.Push(t.Context(), p)
		if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, "not recorded") || err == nil {
			t.Fatalf("delivery %d: dev = %+v, error %v; want failed, not recorded, retryable", attempt+1, r, err)
		}
	}
	w.env.Proxy.ClearFaults()
	if got := outcomes(w.deliver(t, p))["dev"]; got != "unchanged" {
		t.Errorf("once the store answers: dev %s, want unchanged", got)
	}
	if rec := w.state(t, "dev"); rec.Version != "1.4.0" || rec.Digest != p.Digest {
		t.Errorf("state = %+v, want 1.4.0 recorded", rec)
	}
}

// One environment's unreadable record fails that environment only, and
// status shows it as unreadable and the others as they are.
func TestAnUnreadableRecordFailsItsEnvironmentOnly(t *testing.T) {
	w := newWorld(t, fargateFixture, nil)
	w.deliver(t, w.push(t, "1.3.0"))
	awstest.Must(0, w.env.Local.PutStateRecord(t.Context(), w.env.Table, "hello-color", "staging", "{not a record"))(t)
	res := w.deliver(t, w.push(t, "1.4.0"))
	if got := outcomes(res); got["dev"] != "deployed" || got["staging"] != "failed" {
		t.Errorf("outcomes %v, want dev deployed and staging failed", got)
	}
	if r := row(t, res, "staging"); !strings.Contains(r.Error, "not a state record") {
		t.Errorf("staging error %q, want it to say the record is unreadable", r.Error)
	}
	st, err := w.manual(t, request.Request{Action: "status", Repository: "hello-color"})
	if err != nil || st.Error != "" {
		t.Fatalf("status: %v %s", err, st.Error)
	}
	for _, e := range st.Environments {
		switch e.Environment {
		case "staging":
			if !strings.Contains(e.Error, "not a state record") {
				t.Errorf("staging status = %+v, want it unreadable", e)
			}
		case "dev":
			if e.Version != "1.4.0" || e.Error != "" {
				t.Errorf("dev status = %+v, want 1.4.0", e)
			}
		}
	}
}
