// Package announce tells the world what the deployer did: a result event on
// EventBridge for every outcome worth a message (a deployment started,
// succeeded, failed, or a version turned away), and a CloudWatch Embedded
// Metric Format line for every row. It never fails a deployment: errors are
// logged.
package announce

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
)

// Announcer is the deploy.Reporter of the functions: result events on
// EventBridge and metrics as EMF lines. Both are optional.
type Announcer struct {
	// Events, when set, receives a result event for every row worth one, on
	// Bus (default "default").
	Events EventsAPI
	Bus    string
	// Metrics, when set, receives one EMF line per row (the functions write
	// them to standard output, where CloudWatch Logs picks them up).
	Metrics io.Writer
	Log     *slog.Logger // default slog.Default()
	Now     func() time.Time

	mu sync.Mutex // serialises Metrics lines
}

var _ deploy.Reporter = (*Announcer)(nil)

// Publish puts the result events of res's rows on the bus.
func (a *Announcer) Publish(ctx context.Context, res deploy.Result, eventID string) {
	a.publish(ctx, events(res, eventID))
}

// Measure writes the metrics of a final result.
func (a *Announcer) Measure(res deploy.Result, decision time.Duration) {
	a.emitMetrics(res, decision)
}

func (a *Announcer) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *Announcer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
