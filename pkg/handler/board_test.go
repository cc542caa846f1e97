package handler

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// partner is a repository whose environment is in another account: its
// role is one the board function may not assume.
const partner = `{"environments":{"prod":{"cluster":"apps","services":["partner-prod"],"container":"web",
	"roleArn":"arn:aws:iam::111111111111:role/ecrdeploy-target"}}}`

// TestBoardWidget runs the board function's widget as BoardMain serves it,
// on hello-color (staging deployed and completed) and partner: the
// documentation needs no read; the board is the fleet as ECS and the
// records say it, read with what the function's read-only policy allows:
// no role assumed (partner shows no error, only its record, of which it
// has none), no record of an earlier release imported (hello-color's
// production has one in SSM: the promoter imports it, the widget does
// not), no call that writes.
func TestBoardWidget(t *testing.T) {
	env := seed(t)
	env.PutPushedImages(t, "../../events") // hello-color:1.1.0
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/config/partner", partner))(t)
	legacy, err := json.Marshal(state.Record{Repository: "hello-color", Environment: "production", Version: "0.9.0", Tag: "0.9.0",
		Cause: state.CauseDeploy, Time: time.Now().Add(-48 * time.Hour).UTC(), Rollout: state.Completed})
	if err != nil {
		t.Fatal(err)
	}
	awstest.Must(env.Local.PutParameter(t.Context(), "/ecrdeploy/state/hello-color/production", string(legacy)))(t)
	h := newTestHandler(env)
	deployStaging("1.1.0", true)(t, h)

	w := newTestHandler(env).Widget()
	if w.Now == nil || w.Source == nil {
		t.Fatalf("widget without a clock or a source: %+v", w)
	}
	env.Proxy.Reset()
	docs, err := w.Handle(t.Context(), board.WidgetEvent{Describe: true})
	if err != nil || docs != board.WidgetDocs || len(env.Proxy.Log()) != 0 {
		t.Errorf("describe: %q, %v, calls %v", docs, err, env.Proxy.Operations())
	}
	page, err := w.Handle(t.Context(), board.WidgetEvent{WidgetContext: board.WidgetContext{Theme: "dark", Width: 1200, Height: 600}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`data-state="completed" data-repository="hello-color" data-environment="staging"`,
		`data-state="no-record" data-repository="hello-color" data-environment="dev"`,
		`data-state="no-record" data-repository="hello-color" data-environment="production"`,
		`data-state="no-record" data-repository="partner" data-environment="prod"`,
		`theme-dark`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("no %q in the widget", want)
		}
	}
	if strings.Contains(page, "0.9.0") {
		t.Error("the widget shows the record of an earlier release: it imported it")
	}
	for _, c := range env.Proxy.Log() {
		if !c.ReadOnly() || c.Service == "sts" || (c.Service == "ssm" && strings.Contains(string(c.Request), "/ecrdeploy/state")) {
			t.Errorf("the widget called %s %s: %s", c.Service, c.Operation, c.Request)
		}
	}

	// The promoter's source (and the CLI's) assumes the role, and imports.
	b, err := h.BoardSource().Board(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	g := board.Layout(b, time.Now())
	for _, row := range g.Repositories {
		for _, c := range row.Cells {
			switch key := row.Repository + "/" + c.Name; key {
			case "partner/prod":
				if c.State != board.Unknown || !strings.Contains(c.Error, "cluster not found") {
					t.Errorf("%s with its role assumed: %s %q, want unknown: cluster not found (in the other account)", key, c.State, c.Error)
				}
			case "hello-color/production":
				if c.Version != "0.9.0" {
					t.Errorf("%s: %q, want the imported 0.9.0", key, c.Version)
				}
			}
		}
	}
	if !slices.Contains(env.Proxy.Operations(), "AssumeRole") {
		t.Errorf("the promoter's board assumed no role: %v", env.Proxy.Operations())
	}
}
