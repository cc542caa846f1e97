package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

func TestProgressLine(t *testing.T) {
	polls := []deploy.Progress{
		{Environment: "dev", Service: "web", Rollout: state.InProgress, Elapsed: 0},
		{Environment: "dev", Service: "worker", Rollout: "", Elapsed: 10 * time.Millisecond},
		{Environment: "dev", Service: "web", Rollout: state.InProgress, Elapsed: 10 * time.Second},
		{Environment: "dev", Service: "worker", Rollout: state.InProgress, Elapsed: 10*time.Second + 400*time.Millisecond},
		{Environment: "dev", Service: "web", Rollout: state.Completed, Elapsed: 20 * time.Second},
	}
	tests := []struct {
		name string
		tty  bool
		want string
	}{
		{"not a terminal: a line per change", false, "" +
			"waiting 0s: dev/web in-progress\n" +
			"waiting 0s: dev/web in-progress, dev/worker pending\n" +
			"waiting 10s: dev/web in-progress, dev/worker in-progress\n" +
			"waiting 20s: dev/web completed, dev/worker in-progress\n"},
		{"terminal: one line rewritten, then erased", true, "" +
			"\rwaiting 0s: dev/web in-progress\x1b[K" +
			"\rwaiting 0s: dev/web in-progress, dev/worker pending\x1b[K" +
			"\rwaiting 10s: dev/web in-progress, dev/worker pending\x1b[K" +
			"\rwaiting 10s: dev/web in-progress, dev/worker in-progress\x1b[K" +
			"\rwaiting 20s: dev/web completed, dev/worker in-progress\x1b[K" +
			"\r\x1b[K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := newProgressLine(&buf, tt.tty)
			for _, pr := range polls {
				p.Observe(pr)
			}
			p.Done()
			if got := buf.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	var nilLine *progressLine
	nilLine.Observe(polls[0]) // does nothing
	nilLine.Done()
}

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestProgressHeartbeat checks that off a terminal a wait writes a line at
// least every 30 seconds though nothing changes, between polls (Beat) and on
// polls, and that on a terminal the heartbeat writes nothing.
func TestProgressHeartbeat(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(map[bool]string{false: "not a terminal", true: "terminal"}[tty], func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
			var buf bytes.Buffer
			p := newProgressLine(&buf, tty)
			p.now = clock.now
			poll := func(elapsed time.Duration) {
				p.Observe(deploy.Progress{Environment: "production", Service: "web", Rollout: state.InProgress, Elapsed: elapsed})
			}
			p.Beat() // before the first poll: nothing to repeat
			poll(0)
			for range 2 { // polls every 10s, nothing changes
				clock.advance(10 * time.Second)
				p.Beat()
				poll(clock.t.Sub(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)))
			}
			clock.advance(10 * time.Second)
			poll(30 * time.Second) // 30s since the last line: written again
			clock.advance(29 * time.Second)
			p.Beat() // 29s: not yet
			clock.advance(time.Second)
			p.Beat() // polls stopped coming (a slow call): the heartbeat says so
			clock.advance(45 * time.Second)
			p.Beat()
			got := buf.String()
			want := "" +
				"waiting 0s: production/web in-progress\n" +
				"waiting 30s: production/web in-progress\n" +
				"waiting 1m0s: production/web in-progress\n" +
				"waiting 1m45s: production/web in-progress\n"
			if tty { // every poll and every beat rewrites the line
				want = "\rwaiting 0s: production/web in-progress\x1b[K" +
					"\rwaiting 10s: production/web in-progress\x1b[K" +
					"\rwaiting 10s: production/web in-progress\x1b[K" +
					"\rwaiting 20s: production/web in-progress\x1b[K" +
					"\rwaiting 20s: production/web in-progress\x1b[K" +
					"\rwaiting 30s: production/web in-progress\x1b[K" +
					"\rwaiting 59s: production/web in-progress\x1b[K" +
					"\rwaiting 1m0s: production/web in-progress\x1b[K" +
					"\rwaiting 1m45s: production/web in-progress\x1b[K"
			}
			if got != want {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestProgressPending checks the heartbeat of a request the deployed
// function carries out: quiet for 30 seconds, then a line every 30 seconds.
func TestProgressPending(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	p := newProgressLine(&buf, false)
	p.now = clock.now
	p.Pending("function ecrdeploy-promoter is carrying out the request")
	for range 7 {
		clock.advance(10 * time.Second)
		p.Beat()
	}
	p.Done()
	want := "waiting 30s: function ecrdeploy-promoter is carrying out the request\n" +
		"waiting 1m0s: function ecrdeploy-promoter is carrying out the request\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// cancelOn is a writer that cancels a context the first time what is
// written contains a string.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	s      string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(w.s)) {
		w.cancel()
	}
	return w.buf.Write(p)
}

// TestWaitInterrupted is TestWaitProgress with Ctrl-C instead of the end of
// the wait: the CLI says it was interrupted, and exits 130.
func TestWaitInterrupted(t *testing.T) {
	seedPromoter(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	var stdout bytes.Buffer
	stderr := &cancelOn{s: "waiting", cancel: func() { cancel(&signalError{os.Interrupt}) }}
	code := run(ctx, []string{"deploy", "hello-color", "1.4.0", "--env", "production", "--wait"}, strings.NewReader(""), &stdout, stderr, os.Getenv)
	if code != 130 {
		t.Errorf("exit code = %d, want 130", code)
	}
	want := "ecrdeploy: interrupted: production/hello-color: stopped waiting; the rollout goes on in ECS ('ecrdeploy status' shows it)\n"
	if got := stderr.buf.String(); !strings.Contains(got, want) || strings.Contains(got, "when waiting stopped") {
		t.Errorf("stderr does not say interrupted (%q):\n%s", want, got)
	}
}

// TestWaitProgress runs a deploy with --wait, whose rollout never finishes
// in moto, and stops waiting (by cancelling) at the first progress line: the
// hook is wired, and a rollout still in progress when waiting stops is a
// failure.
func TestWaitProgress(t *testing.T) {
	seedPromoter(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &cancelOn{s: "waiting", cancel: cancel}
	code := run(ctx, []string{"deploy", "hello-color", "1.4.0", "--env", "production", "--wait"}, strings.NewReader(""), &stdout, stderr, os.Getenv)
	if code != exitFailed {
		t.Errorf("exit code = %d, want %d", code, exitFailed)
	}
	for _, want := range []string{
		"waiting 0s: production/hello-color in-progress\n",
		"ecrdeploy: production/hello-color: rollout still in progress when waiting stopped\n",
	} {
		if !strings.Contains(stderr.buf.String(), want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr.buf.String())
		}
	}
	if want := "production   hello-color  deployed  -       in-progress  hello-color:1 -> hello-color:2"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout does not contain %q:\n%s", want, stdout.String())
	}
}

// A deployment of the blue-green family shows where it is.
func TestProgressLineShowsTheStage(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressLine(&buf, false)
	p.Observe(deploy.Progress{Environment: "production", Service: "web", Rollout: state.InProgress, Stage: "canary 0 %, starting"})
	p.Observe(deploy.Progress{Environment: "production", Service: "web", Rollout: state.InProgress, Stage: "canary 0 %, test traffic on the new revision", Elapsed: 10 * time.Second})
	p.Done()
	want := "waiting 0s: production/web in-progress (canary 0 %, starting)\n" +
		"waiting 10s: production/web in-progress (canary 0 %, test traffic on the new revision)\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
