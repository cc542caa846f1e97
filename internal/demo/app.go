package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/internal/report"
	"github.com/ecrdeploy/ecrdeploy/pkg/config"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// app is one run of the demo.
type app struct {
	opts    options
	p       *printer
	stderr  io.Writer
	verbose io.Writer // the functions' logs go here too when set
	stack   stack
}

// run runs the mode and stops everything it started, and returns the exit
// code.
func (a *app) run(ctx context.Context) int {
	start := time.Now()
	if runtime.GOOS != "linux" {
		fmt.Fprintf(a.stderr, "demo: the Lambda Runtime Interface Emulator runs only on Linux, not %s: run the demo on Linux (a VM or a container will do)\n", runtime.GOOS)
		return exitFailed
	}
	var code int
	var err error
	a.p.say("ecrdeploy demo (%s): push-to-deploy for Amazon ECS on this machine, with no AWS account", a.opts.mode)
	switch a.opts.mode {
	case "all":
		err = a.all(ctx)
	case "push":
		code, err = a.push(ctx)
	case "promote":
		code, err = a.promote(ctx)
	}
	interrupted := ctx.Err() != nil
	if err != nil && !interrupted {
		a.showLogs()
	}
	stopped := a.stack.processes()
	if stopErr := a.stack.stop(); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	took := seconds(time.Since(start))
	switch {
	case interrupted:
		fmt.Fprintf(a.stderr, "demo: interrupted after %s; stopped %s\n", took, stopped)
		return exitFailed
	case err != nil && a.opts.mode == "all":
		fmt.Fprintf(a.stderr, "\ndemo FAILED after %s: %v\nstopped %s\n", took, err, stopped)
		return exitFailed
	case err != nil:
		fmt.Fprintf(a.stderr, "demo: %v\nstopped %s\n", err, stopped)
		if code == exitOK {
			code = exitFailed
		}
		return code
	case a.opts.mode == "all":
		a.p.say("\ndemo passed in %s; stopped %s", took, stopped)
	default:
		a.p.say("\nstopped %s (%s in all)", stopped, took)
	}
	return code
}

// showLogs writes the end of each function's log to standard error, after
// a failure (unless -v already showed them).
func (a *app) showLogs() {
	if a.verbose != nil {
		return
	}
	for _, name := range []string{deployerName, promoterName} {
		logs := a.stack.logs[name]
		if logs == nil {
			continue
		}
		if lines := lastLines(logs, 30); len(lines) > 0 {
			fmt.Fprintf(a.stderr, "\nthe last lines of %s's log (all of them with -v):\n", name)
			for _, line := range lines {
				fmt.Fprintf(a.stderr, "  %s\n", line)
			}
		}
	}
}

// setup starts the stack and seeds moto with the story's world. The caller
// stops the stack.
func (a *app) setup(ctx context.Context, withPromoter bool) (*world, *localaws.Client, error) {
	w, err := loadWorld(defaultFiles)
	if err != nil {
		return nil, nil, err
	}
	a.p.heading("setup: a local AWS (moto), and the functions under the Lambda Runtime Interface Emulator")
	if err := a.stack.start(ctx, a.p, withPromoter, a.verbose); err != nil {
		return nil, nil, fmt.Errorf("setup: %w", err)
	}
	local := localaws.NewClient(a.stack.moto.URL)
	if err := w.seed(ctx, local, defaultFiles.TaskDefinition); err != nil {
		return nil, nil, fmt.Errorf("setup: seed moto: %w", err)
	}
	a.describeSeed(w)
	return w, local, nil
}

// describeSeed says what setup put in moto.
func (a *app) describeSeed(w *world) {
	byCluster := map[string][]string{}
	var clusters []string
	for _, name := range w.doc.Names() {
		env := w.doc.Environments[name]
		if _, ok := byCluster[env.Cluster]; !ok {
			clusters = append(clusters, env.Cluster)
		}
		byCluster[env.Cluster] = append(byCluster[env.Cluster], env.Services...)
	}
	label := "seeded"
	for _, c := range clusters {
		a.p.say("%-12s ECS cluster %s: %s, each running %s:%s (its own task definition family)", label, c, strings.Join(byCluster[c], ", "), repository, runningTag)
		label = ""
	}
	a.p.say("%-12s ECR repository %s: %s", "", repository, runningTag)
	a.p.say("%-12s SSM %s: %s", "", config.ParameterName(prefix, repository), defaultFiles.Config)
}

// all runs the whole story.
func (a *app) all(ctx context.Context) error {
	w, local, err := a.setup(ctx, true)
	if err != nil {
		return err
	}
	if err := pushImage(ctx, local, w.push); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	a.p.say("%-12s ECR %s:%s (%s, the digest in %s)", "pushed", w.push.Repository, w.push.Tag, report.ShortDigest(w.push.Digest), defaultFiles.Push)
	s := &story{p: a.p, local: local, ecs: localaws.NewClient(a.stack.front.URL), model: a.stack.ecs, w: w, deployer: a.stack.deployer, promoter: a.stack.promoter,
		page: boardPage}
	for _, step := range []func(context.Context) error{s.push, s.complete, s.promote, s.approve, s.status, s.board} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// push sends one event to the deployer and prints its result.
func (a *app) push(ctx context.Context) (int, error) {
	raw, err := os.ReadFile(a.opts.event)
	if err != nil {
		return exitBadInput, fmt.Errorf("read the event: %w", err)
	}
	_, local, err := a.setup(ctx, false)
	if err != nil {
		return exitFailed, err
	}
	// Put the pushed image in ECR, as the push made it; another event
	// (an ECS deployment state change, a schedule) goes as it is.
	if ev, err := event.Decode(raw); err == nil {
		if p, ok := ev.(event.Push); ok {
			if err := pushImage(ctx, local, p); err != nil {
				return exitFailed, fmt.Errorf("setup: %w", err)
			}
			a.p.say("%-12s ECR %s:%s (%s, the digest in the event)", "pushed", p.Repository, dash(p.Tag), report.ShortDigest(p.Digest))
		}
	}
	a.p.heading("invoke the deployer with %s", a.opts.eventName)
	return a.invoke(ctx, a.stack.deployer, raw, false)
}

// promote runs the story's first two steps quietly, then sends one request
// to the promoter and prints its result.
func (a *app) promote(ctx context.Context) (int, error) {
	w, local, err := a.setup(ctx, true)
	if err != nil {
		return exitFailed, err
	}
	s := &story{p: a.p, local: local, ecs: localaws.NewClient(a.stack.front.URL), model: a.stack.ecs, w: w, deployer: a.stack.deployer, promoter: a.stack.promoter, quiet: true}
	req := s.promoteRequest()
	if a.opts.request != "" {
		if req, err = readRequest(a.opts.request); err != nil {
			return exitBadInput, err
		}
	}
	if err := pushImage(ctx, local, w.push); err != nil {
		return exitFailed, fmt.Errorf("setup: %w", err)
	}
	if err := s.push(ctx); err != nil {
		return exitFailed, err
	}
	if err := s.complete(ctx); err != nil {
		return exitFailed, err
	}
	a.p.say("%-12s %s sent to the deployer: %s run %s:%s; then %s's rollout completed (steps 1 and 2 of make demo)",
		"story", defaultFiles.Push, strings.Join(automatic(w), " and "), repository, w.push.Tag, w.source)
	var probe struct{ Action string }
	_ = json.Unmarshal(req, &probe)
	a.p.heading("invoke the promoter with %s", req)
	return a.invoke(ctx, a.stack.promoter, req, probe.Action == "status")
}

// invoke sends payload to f, prints the response as Lambda returned it and
// as a table, and returns the exit code the result means: 2 if the function
// rejected the input, 1 if a service failed, else 0.
func (a *app) invoke(ctx context.Context, f function, payload []byte, status bool) (int, error) {
	start := time.Now()
	out, err := f.Invoke(ctx, payload)
	if err != nil {
		return exitFailed, err
	}
	a.p.say("%s (%s)", f.Where(), seconds(time.Since(start)))
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Write(out)
	}
	a.p.say("\nthe function's response:\n%s\n", pretty.String())
	res, err := decodeResult(out)
	if err != nil {
		return exitFailed, err
	}
	if status {
		a.p.tables().Status(res)
	} else {
		a.p.tables().Results(res)
	}
	// The function did its work: what it answered is the outcome, not a
	// failure of the demo.
	if res.Error != "" {
		fmt.Fprintf(a.stderr, "error: %s\n", res.Error)
	}
	return deploy.Judge(res, nil).ExitCode(), nil
}

// readRequest reads a request given as JSON or as a file.
func readRequest(r string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(r), "{") {
		return []byte(r), nil
	}
	b, err := os.ReadFile(r)
	if err != nil {
		return nil, fmt.Errorf("read the request: %w", err)
	}
	return b, nil
}

// automatic lists the environments a push deploys to.
func automatic(w *world) []string {
	var out []string
	for _, name := range w.doc.Names() {
		if w.doc.Environments[name].Trigger != config.TriggerManual {
			out = append(out, name)
		}
	}
	return out
}
