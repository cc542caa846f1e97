package board

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
)

// The board in a CloudWatch dashboard is a custom widget: the dashboard
// invokes a Lambda function with the widget's context and displays the
// HTML string it returns. The shapes below are AWS's, from "Details about
// custom widgets in CloudWatch"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/add_custom_widget_dashboard_about.html):
// "Every call by a custom widget to Lambda includes a widgetContext
// element", with the fields of WidgetContext; the function "returns a
// string of HTML, JSON, or Markdown". JavaScript in the returned HTML is
// removed before it is displayed, as are iframe and use elements ("Security
// and JavaScript",
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/add_custom_widget_dashboard_security.html),
// while style elements and inline styles are kept: the board's HTML has no
// script and carries its own style sheet. An element of class
// cwdb-no-default-styles turns off the dashboard's default styles of
// tables and links (the same page), which the board's would fight.
//
// The console also invokes the function with "describe": true to show the
// widget's documentation, which the function answers with Markdown, as
// AWS's samples do (aws-samples/cloudwatch-custom-widgets-samples, e.g.
// samples/helloWorld/helloWorld.js: `if (event.describe) { return DOCS; }`;
// AWS Lambda Powertools for Python reads the same field,
// CloudWatchDashboardCustomWidgetEvent.describe).

// WidgetEvent is the event a CloudWatch dashboard's custom widget invokes
// its function with. The widget's own parameters (params) also come at the
// top level of the event; the board takes none.
type WidgetEvent struct {
	// Describe asks for the widget's documentation instead of the widget.
	Describe      bool          `json:"describe,omitempty"`
	WidgetContext WidgetContext `json:"widgetContext"`
}

// WidgetContext is what the dashboard says of the widget and of itself.
// Width and Height are the widget's size in CSS pixels; Theme is the
// console's, "light" or "dark".
type WidgetContext struct {
	DashboardName string          `json:"dashboardName"`
	WidgetID      string          `json:"widgetId"`
	AccountID     string          `json:"accountId"`
	Locale        string          `json:"locale"`
	Timezone      WidgetTimezone  `json:"timezone"`
	Period        float64         `json:"period"`
	IsAutoPeriod  bool            `json:"isAutoPeriod"`
	TimeRange     WidgetTimeRange `json:"timeRange"`
	Theme         string          `json:"theme"`
	LinkCharts    bool            `json:"linkCharts"`
	Title         string          `json:"title"`
	Forms         json.RawMessage `json:"forms,omitempty"`
	Params        json.RawMessage `json:"params,omitempty"`
	Width         float64         `json:"width"`
	Height        float64         `json:"height"`
}

// WidgetTimezone is the dashboard's time zone.
type WidgetTimezone struct {
	Label           string  `json:"label"`
	OffsetISO       string  `json:"offsetISO"`
	OffsetInMinutes float64 `json:"offsetInMinutes"`
}

// WidgetTimeRange is the dashboard's time range, in milliseconds since the
// Unix epoch. The board shows the fleet now, whatever the range.
type WidgetTimeRange struct {
	Mode          string           `json:"mode"`
	Start         float64          `json:"start"`
	End           float64          `json:"end"`
	RelativeStart float64          `json:"relativeStart,omitempty"`
	Zoom          *WidgetTimeRange `json:"zoom,omitempty"`
}

// WidgetDocs is the widget's documentation (Markdown), the answer to
// "describe": true.
const WidgetDocs = `## ecrdeploy release board
Every configured repository (a row) and environment (a column, in promotion
order): the version each runs, its rollout and stage, held versions, pending
approvals with the command that approves them, freezes, drift and the age of
each deployment. Cells are coloured by state: completed, in-progress, baking,
awaiting-approval, failed, frozen, drift, no-record.

The widget follows the console's light or dark theme and fits its size. It
takes no parameters. The same board is printed by ` + "`ecrdeploy board`" + `
(` + "`-o table`, `-o json`, `-o html`" + `).
`

// Widget answers a CloudWatch custom widget's invocations with the board.
type Widget struct {
	Source Source
	// Now is the clock the board's ages are measured with.
	Now func() time.Time
	// Log, when set, gets a line per invocation.
	Log *slog.Logger
}

// Handle answers one invocation: the documentation when the event asks to
// describe the widget, otherwise the board as an HTML fragment, themed and
// sized by the widget's context. It returns the Source's error, which
// Lambda reports as a function error and the dashboard shows in the widget.
func (w *Widget) Handle(ctx context.Context, ev WidgetEvent) (string, error) {
	if ev.Describe {
		return WidgetDocs, nil
	}
	b, err := w.Source.Board(ctx)
	if err != nil {
		w.log(ctx, slog.LevelError, "board unreadable", "error", err.Error())
		return "", fmt.Errorf("read the board: %w", err)
	}
	g := Layout(b, w.Now())
	wc := ev.WidgetContext
	opts := HTMLOptions{Fragment: true, Theme: widgetTheme(wc.Theme), Width: pixels(wc.Width), Height: pixels(wc.Height)}
	var buf strings.Builder
	if err := WriteHTML(&buf, g, opts); err != nil {
		return "", err
	}
	w.log(ctx, slog.LevelInfo, "board", "repositories", len(g.Repositories), "environments", len(g.Environments),
		"dashboard", wc.DashboardName, "theme", wc.Theme, "width", opts.Width, "height", opts.Height)
	return buf.String(), nil
}

func (w *Widget) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if w.Log != nil {
		w.Log.Log(ctx, level, msg, args...)
	}
}

// widgetTheme is the board's theme for the console's: the console's dark
// theme is its own setting, not the reader's system preference, so it is
// forced; anything else follows the reader.
func widgetTheme(theme string) Theme {
	switch theme {
	case "dark":
		return Dark
	case "light":
		return Light
	}
	return Auto
}

// pixels is a size the dashboard gives, as whole pixels (0 when absent or
// nonsense).
func pixels(v float64) int {
	if math.IsNaN(v) || v < 1 || v > 1e5 {
		return 0
	}
	return int(math.Round(v))
}
