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

// progressLine shows how a wait is going on standard error. On a terminal it
// is one line, rewritten in place ("\r", then erase to the end of the line)
// and erased when done; elsewhere (a CI log) each change is a plain line of
// its own. A nil *progressLine does nothing.
type progressLine struct {
	w   io.Writer
	tty bool

	mu       sync.Mutex
	shown    bool              // a line is on the terminal
	last     string            // the last line written, without the elapsed time
	rollouts map[string]string // "environment/service" -> rollout
	order    []string          // keys of rollouts, in the order first seen
}

// newProgressLine returns a progress line on w; tty says whether w is a
// terminal.
func newProgressLine(w io.Writer, tty bool) *progressLine {
	return &progressLine{w: w, tty: tty, rollouts: map[string]string{}}
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
	states := make([]string, len(p.order))
	for i, k := range p.order {
		states[i] = k + " " + p.rollouts[k]
	}
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
// when text changed, so a long wait does not fill a CI log.
func (p *progressLine) show(text string, elapsed time.Duration) {
	line := fmt.Sprintf("waiting %s: %s", elapsed.Round(time.Second), text)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.shown = true
		return
	}
	if text != p.last {
		fmt.Fprintln(p.w, line)
	}
	p.last = text
}

// Done erases the line from the terminal, before the result is printed.
func (p *progressLine) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
