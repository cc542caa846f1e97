package deploy_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/announce"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// published is one result event the deployer put on the bus.
type published struct {
	DetailType string
	Detail     announce.Detail
}

// publishedEvents returns the result events of every PutEvents call the
// proxy saw, call by call.
func publishedEvents(t *testing.T, env *awstest.Env) [][]published {
	t.Helper()
	var out [][]published
	for _, c := range env.Proxy.Log() {
		if c.Operation != "PutEvents" {
			continue
		}
		var in struct {
			Entries []struct{ DetailType, Detail string }
		}
		if err := json.Unmarshal(c.Request, &in); err != nil {
			t.Fatalf("PutEvents request: %v", err)
		}
		var events []published
		for _, e := range in.Entries {
			p := published{DetailType: e.DetailType}
			if err := json.Unmarshal([]byte(e.Detail), &p.Detail); err != nil {
				t.Fatalf("event detail: %v", err)
			}
			events = append(events, p)
		}
		out = append(out, events)
	}
	return out
}

// TestResultEventsGoOutBesideTheStateWrite: the result event of a push is
// published once, when the service has been updated, without waiting for
// the state write and the convergence check.
func TestResultEventsGoOutBesideTheStateWrite(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	var metrics bytes.Buffer
	w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge(), Metrics: &metrics}
	p := w.push(t, "1.4.0")
	w.env.Proxy.Reset()
	// Every call takes 50 ms, so calls made together overlap in the log.
	w.env.Proxy.SetCallTime(50 * time.Millisecond)
	res := w.deliver(t, p)
	w.env.Proxy.SetCallTime(0)
	if r := row(t, res, "dev"); r.Outcome != deploy.Deployed {
		t.Fatalf("dev = %+v, want deployed", r)
	}
	var update, put, events awstest.Call
	for _, c := range w.env.Proxy.Log() {
		switch c.Operation {
		case "UpdateService":
			update = c
		case "TransactWriteItems":
			put = c
		case "PutEvents":
			events = c
		}
	}
	if events.Start.Before(update.End) {
		t.Errorf("result event published before UpdateService ended")
	}
	if !events.Start.Before(put.End) {
		t.Errorf("result event waited for the state write (PutParameter ended %v, PutEvents started %v)", put.End, events.Start)
	}
	got := publishedEvents(t, w.env)
	if len(got) != 1 || len(got[0]) != 1 || got[0][0].DetailType != announce.DetailTypeStarted {
		t.Fatalf("published %+v, want one Deployment Started", got)
	}
	if n := strings.Count(metrics.String(), `"Deployments":1`); n != 1 {
		t.Errorf("%d metric lines, want 1 (measured once, from the final result):\n%s", n, metrics.String())
	}
}

// TestAFailedStateWriteIsPublishedAfterTheEarlyEvent: when the state write
// fails after the early event said the deployment started, the row that
// changed is published again, failed, and the metrics count it once, as
// failed.
func TestAFailedStateWriteIsPublishedAfterTheEarlyEvent(t *testing.T) {
	cfg := `{"environments":{"dev":{"cluster":"apps","services":["hello-color-dev"],"container":"web"}}}`
	w := newWorld(t, fargateFixture, []byte(cfg))
	var metrics bytes.Buffer
	w.d.Reporter = &announce.Announcer{Events: w.env.EventBridge(), Metrics: &metrics}
	p := w.push(t, "1.4.0")
	w.env.Proxy.Fail("TransactWriteItems", 1, awstest.AWSError(400, "AccessDeniedException", "not this time"))
	w.env.Proxy.Reset()
	res, _ := w.d.Push(t.Context(), p)
	if r := row(t, res, "dev"); r.Outcome != deploy.Failed || !strings.Contains(r.Error, "not recorded") {
		t.Fatalf("dev = %+v, want failed: not recorded", r)
	}
	got := publishedEvents(t, w.env)
	if len(got) != 2 {
		t.Fatalf("published %d times (%+v), want 2: started, then failed", len(got), got)
	}
	if len(got[0]) != 1 || got[0][0].DetailType != announce.DetailTypeStarted {
		t.Errorf("first publication %+v, want Deployment Started", got[0])
	}
	if len(got[1]) != 1 || got[1][0].DetailType != announce.DetailTypeFailed || !strings.Contains(got[1][0].Detail.Error, "not recorded") {
		t.Errorf("second publication %+v, want Deployment Failed: not recorded", got[1])
	}
	if !strings.Contains(metrics.String(), `"Outcome":"failed"`) || strings.Contains(metrics.String(), `"Outcome":"deployed"`) {
		t.Errorf("metrics count the deployment as deployed, or not as failed:\n%s", metrics.String())
	}
}
