package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// heartbeat is the longest a wait stays silent off a terminal: a CI log that
// says nothing for minutes looks hung, and some CI systems stop a job whose
// output is silent for too long.
const heartbeat = 30 * time.Second

// progressLine shows how a wait is going on standard error. On a terminal it
// is one line, rewritten in place ("\r", then erase to the end of the line)
// and erased when done; elsewhere (a CI log) each change is a plain line of
// its own, and the same line again when nothing has changed for heartbeat.
// A nil *progressLine does nothing.
type progressLine struct {
	w   io.Writer
	tty bool
	now func() time.Time // the clock: time.Now but in tests

	mu        sync.Mutex
	shown     bool              // a line is on the terminal
	last      string            // the last line written, without the elapsed time
	lastWrite time.Time         // when it was written (off a terminal)
	elapsed   time.Duration     // the elapsed time of the last poll
	polled    time.Time         // when it was observed
	rollouts  map[string]string // "environment/service" -> rollout
	order     []string          // keys of rollouts, in the order first seen
	stop      chan struct{}     // closed by Done: ends the heartbeat
}

// newProgressLine returns a progress line on w; tty says whether w is a
// terminal.
func newProgressLine(w io.Writer, tty bool) *progressLine {
	return &progressLine{w: w, tty: tty, now: time.Now, rollouts: map[string]string{}}
}

// start writes a heartbeat (Beat) until Done, checking every interval.
func (p *progressLine) start(interval time.Duration) {
	stop := make(chan struct{})
	p.stop = stop
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop: // the heartbeat's own copy: Done clears the field
				return
			case <-t.C:
				p.Beat()
			}
		}
	}()
}

// Beat shows that the wait goes on, with the time elapsed since it began:
// on a terminal it rewrites the line; elsewhere it writes the last line
// again when nothing was written for heartbeat, since polls can be further
// apart than that, stuck in a slow call, or invisible (a deployed function
// waiting).
func (p *progressLine) Beat() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.last == "" {
		return
	}
	elapsed := p.elapsed + now.Sub(p.polled)
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\x1b[K", progressText(p.last, elapsed))
	case now.Sub(p.lastWrite) >= heartbeat:
		p.write(p.last, elapsed, now)
	}
}

// Pending shows text as what is awaited when no poll will say more: a
// request carried out by the deployed function. Off a terminal nothing is
// written until heartbeat has passed, so a quick request stays quiet.
func (p *progressLine) Pending(text string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.last, p.elapsed, p.polled, p.lastWrite = text, 0, now, now
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", progressText(text, 0))
		p.shown = true
	}
}

// Observe records one poll of a rollout and shows the line. It is the
// deploy.Deployer's Progress hook, and safe for concurrent use.
func (p *progressLine) Observe(pr deploy.Progress) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := pr.Environment + "/" + pr.Service
	if _, ok := p.rollouts[key]; !ok {
		p.order = append(p.order, key)
	}
	p.rollouts[key] = rolloutLabel(pr.Rollout)
	if pr.Stage != "" {
		// Where a blue-green, linear or canary deployment is.
		p.rollouts[key] += " (" + pr.Stage + ")"
	}
	states := make([]string, len(p.order))
	for i, k := range p.order {
		states[i] = k + " " + p.rollouts[k]
	}
	p.elapsed, p.polled = pr.Elapsed, p.now()
	p.show(strings.Join(states, ", "), pr.Elapsed)
}

// rolloutLabel is a rollout state as results spell it; an unknown or empty
// one is "pending".
func rolloutLabel(s state.Rollout) string {
	if s == "" {
		return "pending"
	}
	return string(s)
}

// show writes "waiting 1m20s: text". Off a terminal a line is written only
// when text changed or heartbeat has passed, so that a long wait neither
// fills a CI log nor leaves it silent.
func (p *progressLine) show(text string, elapsed time.Duration) {
	switch now := p.now(); {
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\x1b[K", progressText(text, elapsed))
		p.shown = true
	case text != p.last || now.Sub(p.lastWrite) >= heartbeat:
		p.write(text, elapsed, now)
	}
	p.last = text
}

// write writes one line off a terminal, at now.
func (p *progressLine) write(text string, elapsed time.Duration, now time.Time) {
	fmt.Fprintln(p.w, progressText(text, elapsed))
	p.lastWrite = now
}

// progressText is "waiting 1m20s: text".
func progressText(text string, elapsed time.Duration) string {
	return fmt.Sprintf("waiting %s: %s", elapsed.Round(time.Second), text)
}

// Done ends the heartbeat and erases the line from the terminal, before the
// result is printed.
func (p *progressLine) Done() {
	if p == nil {
		return
	}
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
