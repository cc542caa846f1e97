package board

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// fakeSource is a Source that answers a board or an error, and counts its
// calls.
type fakeSource struct {
	board Board
	err   error
	calls int
}

func (f *fakeSource) Board(context.Context) (Board, error) {
	f.calls++
	return f.board, f.err
}

var _ Source = (*fakeSource)(nil)

// invokeWidget runs the widget's handler on a sample event exactly as the
// Lambda runtime does (lambda.NewHandler decodes the payload into the
// handler's input and encodes its answer), and returns the answer's bytes.
func invokeWidget(t *testing.T, w *Widget, sample string) ([]byte, error) {
	t.Helper()
	payload, err := os.ReadFile(filepath.Join("testdata", sample))
	if err != nil {
		t.Fatal(err)
	}
	return lambda.NewHandler(w.Handle).Invoke(t.Context(), payload)
}

// TestWidget answers CloudWatch's custom-widget invocations. The samples
// are AWS's documented request: testdata/widget-request.json is the
// widgetContext example of "Details about custom widgets in CloudWatch"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/add_custom_widget_dashboard_about.html)
// as printed there; widget-describe.json is the same with "describe": true,
// which the console sends for the widget's documentation (as AWS's samples
// in aws-samples/cloudwatch-custom-widgets-samples read it);
// widget-request-dark.json is made up from it: the dark theme, a wider
// widget with a fractional height, and a widget parameter at the top level
// of the event, where the dashboard passes parameters.
func TestWidget(t *testing.T) {
	now := func() time.Time { return seedNow }
	t.Run("render", func(t *testing.T) {
		src := &fakeSource{board: seedFleet()}
		out, err := invokeWidget(t, &Widget{Source: src, Now: now}, "widget-request.json")
		if err != nil {
			t.Fatal(err)
		}
		// The answer is the HTML as a JSON string: what the runtime returns
		// for a handler that returns a string.
		var page string
		if err := json.Unmarshal(out, &page); err != nil {
			t.Fatalf("the answer is not a JSON string: %v: %.100s", err, out)
		}
		// Unescaped: a large fleet's board stays well inside Lambda's
		// response limit ("For synchronous invocations, the maximum payload
		// size is 6 MB", Lambda API Reference, Invoke,
		// https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html),
		// where \u003c for every < would add half again.
		if !strings.HasPrefix(string(out), `"<div class=\"cwdb-no-default-styles\"></div>`) {
			t.Errorf("the answer starts %.60s", out)
		}
		for _, want := range []string{
			`<div class="cwdb-no-default-styles"></div>`,
			`<section class="ecrdeploy-board theme-light compact" style="max-width:588px;max-height:369px">`,
			`data-state="awaiting-approval" data-repository="hello-color" data-environment="production"`,
			`<code class="approve">ecrdeploy approve hello-color --env production</code>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("no %q in the widget", want)
			}
		}
		if strings.Contains(page, "<html") || strings.Contains(page, "<script") {
			t.Error("the widget is a page, or has a script")
		}
		if src.calls != 1 {
			t.Errorf("%d reads of the board, want 1", src.calls)
		}
	})
	t.Run("render dark", func(t *testing.T) {
		out, err := invokeWidget(t, &Widget{Source: &fakeSource{board: seedFleet()}, Now: now}, "widget-request-dark.json")
		if err != nil {
			t.Fatal(err)
		}
		var page string
		if err := json.Unmarshal(out, &page); err != nil {
			t.Fatal(err)
		}
		if want := `<section class="ecrdeploy-board theme-dark" style="max-width:1176px;max-height:611px">`; !strings.Contains(page, want) {
			t.Errorf("no %q in the widget", want)
		}
	})
	t.Run("describe", func(t *testing.T) {
		src := &fakeSource{err: errors.New("not to be read")}
		out, err := invokeWidget(t, &Widget{Source: src, Now: now}, "widget-describe.json")
		if err != nil {
			t.Fatal(err)
		}
		var docs string
		if err := json.Unmarshal(out, &docs); err != nil {
			t.Fatal(err)
		}
		if docs != WidgetDocs || !strings.HasPrefix(docs, "## ") {
			t.Errorf("describe answered %q", docs)
		}
		if src.calls != 0 {
			t.Errorf("describe read the board %d times", src.calls)
		}
	})
	t.Run("unreadable board", func(t *testing.T) {
		boom := errors.New("throttled")
		_, err := (&Widget{Source: &fakeSource{err: boom}, Now: now}).Handle(t.Context(), WidgetEvent{})
		if !errors.Is(err, boom) || err.Error() != "read the board: throttled" {
			t.Errorf("error %v", err)
		}
	})
}

func TestWidgetTheme(t *testing.T) {
	for in, want := range map[string]Theme{"light": Light, "dark": Dark, "": Auto, "sepia": Auto} {
		if got := widgetTheme(in); got != want {
			t.Errorf("widgetTheme(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]int{588: 588, 610.5: 611, 0: 0, -3: 0, 1e9: 0} {
		if got := pixels(in); got != want {
			t.Errorf("pixels(%v) = %d, want %d", in, got, want)
		}
	}
}
