package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
	"github.com/ecrdeploy/ecrdeploy/internal/child"
	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/internal/rie"
)

// binDir is where the functions are built, relative to the module's root:
// kept between runs, so that a run with nothing changed links nothing.
const binDir = "bin/demo"

// Names of the two functions, as in template.yaml's defaults.
const (
	deployerName = "ecrdeploy-deployer"
	promoterName = "ecrdeploy-promoter"
)

// stack is every process the demo starts: moto_server, and each function
// under its own Runtime Interface Emulator. Its zero value is ready to
// start; stop stops whatever started, so call it even when start fails.
type stack struct {
	moto      *localaws.Moto
	emulators []*rie.Emulator
	// ecs is the model of what moto lacks of ECS (rollouts that complete,
	// fail or roll back), in a proxy in front of moto: the functions, and
	// the demo's own look at the services, go through it.
	ecs   *awstest.ECSModel
	proxy *awstest.Proxy
	front *httptest.Server

	deployer, promoter function
	// logs are the emulators' and functions' output, by function name.
	logs map[string]*child.Output
}

// start starts moto_server while it builds both functions and the emulator,
// then runs the deployer (and, with withPromoter, the promoter) under the
// emulator, pointed at moto. It reports progress on p and copies the
// functions' logs to verbose when it is not nil.
func (s *stack) start(ctx context.Context, p *printer, withPromoter bool, verbose io.Writer) error {
	// moto takes seconds to import; the builds take as long from a cold
	// cache: do them at once. The first failure cancels the others.
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg                            sync.WaitGroup
		mu                            sync.Mutex
		errs                          []error
		bins                          []string
		emulator                      string
		motoTook, buildTook, toolTook time.Duration
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
		cancel()
	}
	wg.Go(func() {
		t := time.Now()
		m, err := localaws.StartMoto(ctx2)
		motoTook = time.Since(t)
		if err != nil {
			fail(err)
			return
		}
		mu.Lock()
		s.moto = m
		mu.Unlock()
	})
	wg.Go(func() {
		// One after the other: the second reuses what the first compiled,
		// where two go commands at once would both compile it.
		t := time.Now()
		for _, name := range []string{"deployer", "promoter"} {
			bin := filepath.Join(binDir, name, "bootstrap")
			if err := rie.Build(ctx2, "./functions/"+name, bin); err != nil {
				fail(err)
				return
			}
			bins = append(bins, bin)
		}
		buildTook = time.Since(t)
	})
	wg.Go(func() {
		t := time.Now()
		var err error
		emulator, err = rie.Binary(ctx2)
		toolTook = time.Since(t)
		if err != nil {
			fail(err)
		}
	})
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return firstCause(errs)
	}
	p.say("moto_server  %s (local AWS: ECS, ECR, SSM, EventBridge), ready in %s", s.moto.URL, seconds(motoTook))
	s.proxy = awstest.NewProxy(s.moto.URL)
	s.front = httptest.NewServer(s.proxy)
	s.ecs = awstest.NewECSModel(s.proxy, localaws.NewClient(s.moto.URL).Config)
	p.say("ECS model    %s (in front of moto: rollouts that complete, fail or roll back, as ECS's)", s.front.URL)
	p.say("functions    %s (go build -tags lambda.norpc, linux/%s) in %s", strings.Join(bins, ", "), runtime.GOARCH, seconds(buildTook))
	p.say("emulator     aws-lambda-rie (go tool, from go.mod) in %s", seconds(toolTook))

	s.logs = map[string]*child.Output{}
	type fn struct {
		name, bootstrap string
		into            *function
	}
	fns := []fn{{deployerName, bins[0], &s.deployer}}
	if withPromoter {
		fns = append(fns, fn{promoterName, bins[1], &s.promoter})
	}
	for _, f := range fns {
		logs := &child.Output{Max: 64 << 10}
		if verbose != nil {
			logs.Tee = &prefixLines{w: verbose, prefix: f.name + " | "}
		}
		s.logs[f.name] = logs
		em, err := rie.Start(ctx, rie.Options{
			Emulator:  emulator,
			Bootstrap: f.bootstrap,
			Env:       functionEnv(f.name, s.front.URL),
			Output:    logs,
		})
		if err != nil {
			return fmt.Errorf("run %s under the emulator: %w", f.name, err)
		}
		s.emulators = append(s.emulators, em)
		*f.into = newEmulated(f.name, em.URL())
		p.say("%-12s %s under the Runtime Interface Emulator at %s", f.name[len("ecrdeploy-"):], f.name, em.URL())
	}
	return nil
}

// firstCause returns the first error that is not a cancellation caused by
// another error, or the first error.
func firstCause(errs []error) error {
	for _, err := range errs {
		if !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errs[0]
}

// functionEnv is the environment of a function: the settings template.yaml
// gives it (timeout, memory, JSON logs), the AWS settings Lambda would give
// it pointed at moto, and ecrdeploy's settings.
func functionEnv(name, endpoint string) []string {
	timeout := "900" // both functions' Timeout in template.yaml
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + timeout,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_LOG_LEVEL=INFO",
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + localaws.Region,
		"AWS_DEFAULT_REGION=" + localaws.Region,
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"ECRDEPLOY_PREFIX=/ecrdeploy",
		"ECRDEPLOY_EVENT_BUS=default",
		"ECRDEPLOY_TABLE=" + localaws.StateTable,
	}
}

// stop stops the emulators (and their functions), then moto_server. It
// returns what could not be stopped.
func (s *stack) stop() error {
	var errs []error
	for _, em := range s.emulators {
		errs = append(errs, em.Stop())
	}
	if s.front != nil {
		s.proxy.Close()
		s.front.Close()
	}
	if s.moto != nil {
		errs = append(errs, s.moto.Stop())
	}
	return errors.Join(errs...)
}

// processes says what stop stops, for the last line of the story.
func (s *stack) processes() string {
	if s.moto == nil && len(s.emulators) == 0 {
		return "nothing (nothing was running yet)"
	}
	var what []string
	if s.moto != nil {
		what = append(what, "moto_server")
	}
	switch n := len(s.emulators); n {
	case 0:
	case 1:
		what = append(what, "the emulator and its function")
	default:
		what = append(what, fmt.Sprintf("%d emulators and their functions", n))
	}
	return strings.Join(what, ", ")
}

// prefixLines copies each complete line written to it to w, with prefix.
// It is not safe for concurrent writes: it is the Tee of a [child.Output].
type prefixLines struct {
	w       io.Writer
	prefix  string
	partial []byte
}

func (l *prefixLines) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// lastLines returns up to n of the last lines of logs.
func lastLines(logs *child.Output, n int) []string {
	lines := strings.Split(strings.TrimRight(logs.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := make([]string, 0, len(lines))
	for _, line := range lines {
		if len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}
