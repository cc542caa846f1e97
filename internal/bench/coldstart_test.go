package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/rie"

	"github.com/ecrdeploy/ecrdeploy/internal/child"
)

// functions are the Lambda functions, by name, as main packages relative to
// this directory.
var functions = []struct {
	Name, Package string
	// Request is the first invocation's payload; Want is a string its
	// answer must contain.
	Request, RequestName, Want string
}{
	{"deployer", "../../functions/deployer",
		`{"version":"0","id":"cold-1","detail-type":"ECR Image Action","source":"aws.ecr","account":"123456789012","time":"2026-11-27T09:30:00Z","region":"us-east-1","resources":[],"detail":{"result":"SUCCESS","repository-name":"not-configured","image-digest":"sha256:b1a2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff01","action-type":"PUSH","image-tag":"1.0.0"}}`,
		"push of an unconfigured repository", `"no-config"`},
	{"promoter", "../../functions/promoter",
		`{"action":"status","repository":"hello-color"}`,
		"status of hello-color", `"environments"`},
	{"board", "../../functions/board",
		`{"describe":true}`,
		"the dashboard's describe request", "release board"},
}

// initStamp is the package of the program the emulator starts as the
// bootstrap, to time the function's init phase (see its documentation).
const initStamp = "./initstamp"

// coldStart is the cold start of one function.
type coldStart struct {
	Function, Request string
	Runs              int
	// Init is the median of the function's init phase: from the
	// bootstrap's start to its first request for an invocation (the
	// Next API request that ends Lambda's init phase).
	Init time.Duration
	// InitCPU is the median of the CPU time the bootstrap's threads spent
	// in its init phase, and InitWaiting the time they waited to run
	// (/proc/PID/task/*/schedstat, read at its first Next request): on a
	// busy machine, Init is InitCPU and the share of InitWaiting that no
	// other of its threads ran in.
	InitCPU, InitWaiting time.Duration
	// Launch is the median from the first invocation sent to the
	// bootstrap's start: the emulator starting it.
	Launch time.Duration
	Total  time.Duration // median: emulator started → first answer
	Invoke time.Duration // median: first invocation sent → answer (function started and initialised, request handled)
	Calls  int           // AWS calls of the first invocation
	RSS    int64         // the function's VmHWM after its first invocation, bytes
	Size   int64         // bootstrap for linux/arm64, stripped, bytes
}

// runColdStarts starts each function under the Runtime Interface Emulator
// runs times, against moto through the proxy (L = 0), and times its init
// phase and its first answer. The emulator starts the bootstrap on the
// first invocation; it is started through initstamp, which notes when it
// started and points its runtime API at a recorder in front of the
// emulator's, so that the init phase is timed from the bootstrap's start
// to its first request for an invocation. Sizes are of the binaries Lambda
// runs (make build).
func runColdStarts(t *testing.T, runs int) []coldStart {
	w := newWorld(t)
	w.configure(t, manualRepository, manualConfig())
	w.env.SetEnv(t)
	ctx := t.Context()

	dir := t.TempDir()
	var pkgs []string
	for _, f := range functions {
		pkgs = append(pkgs, f.Package)
	}
	// Built here rather than with rie.Build, whose signature is in flux.
	bootstraps, err := build(ctx, filepath.Join(dir, "host"), append(pkgs, initStamp), runtime.GOARCH, false)
	if err != nil {
		t.Fatal(err)
	}
	stamp := bootstraps[len(pkgs)]
	emulator, err := rie.Binary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lambda, err := build(ctx, filepath.Join(dir, "arm64"), pkgs, "arm64", true)
	if err != nil {
		t.Fatal(err)
	}
	sizes := make([]int64, len(lambda))
	for i, path := range lambda {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		sizes[i] = fi.Size()
	}

	var out []coldStart
	for i, f := range functions {
		cs := coldStart{Function: f.Name, Request: f.RequestName, Runs: runs, Size: sizes[i]}
		var inits, cpus, waits, launches, totals, invokes []time.Duration
		// One run more than measured: the first warms moto's backends
		// and the page cache, which is not the function's cold start.
		for run := range runs + 1 {
			w.env.Proxy.Reset()
			stampFile := filepath.Join(dir, fmt.Sprintf("%s-%d.stamp", f.Name, run))
			rec, err := startRecorder(stampFile)
			if err != nil {
				t.Fatal(err)
			}
			var logs child.Output
			start := time.Now()
			em, err := rie.Start(ctx, rie.Options{
				Emulator: emulator, Bootstrap: stamp,
				Env: []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "AWS_LAMBDA_FUNCTION_NAME=ecrdeploy-" + f.Name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
					"INITSTAMP_FILE=" + stampFile, "INITSTAMP_BOOTSTRAP=" + bootstraps[i], "INITSTAMP_RUNTIME_API=" + rec.addr,
					// The emulator hands the function this process's
					// environment, Lambda does not: a CA bundle of the
					// machine's (AWS_CA_BUNDLE, which this one sets) is read
					// and parsed by config.LoadDefaultConfig in the init
					// phase, some 10 to 20 ms here, which no function in
					// Lambda pays. Empty, the SDK takes it as unset.
					"AWS_CA_BUNDLE="},
				Output: &logs,
			})
			if err != nil {
				rec.close()
				t.Fatal(err)
			}
			rec.watch(em.Pid())
			sent := time.Now()
			answer, err := invoke(ctx, em.URL(), f.Request)
			done := time.Now()
			for _, pid := range rie.ChildrenOf(em.Pid()) {
				cs.RSS = max(cs.RSS, procStatus(fmt.Sprintf("/proc/%d/status", pid), "VmHWM"))
			}
			if stopErr := em.Stop(); stopErr != nil {
				t.Error(stopErr)
			}
			rec.close()
			if err != nil || !strings.Contains(answer, f.Want) {
				t.Fatalf("%s: answer %q (%v), want it to contain %s; emulator and function output:\n%s", f.Name, answer, err, f.Want, logs.String())
			}
			started, next, err := rec.times()
			if err != nil {
				t.Fatalf("%s: %v; emulator and function output:\n%s", f.Name, err, logs.String())
			}
			if run == 0 {
				continue
			}
			inits = append(inits, next.Sub(started))
			cpu, waiting := rec.schedule()
			cpus, waits = append(cpus, cpu), append(waits, waiting)
			launches = append(launches, started.Sub(sent))
			totals = append(totals, done.Sub(start))
			invokes = append(invokes, done.Sub(sent))
			cs.Calls = w.env.Proxy.Total()
		}
		cs.Init, cs.Launch, cs.Total, cs.Invoke = medianDuration(inits), medianDuration(launches), medianDuration(totals), medianDuration(invokes)
		cs.InitCPU, cs.InitWaiting = medianDuration(cpus), medianDuration(waits)
		out = append(out, cs)
	}
	return out
}

// recorder stands in front of the emulator's runtime API for a bootstrap
// started through initstamp: it forwards every request to the emulator's
// (whose address initstamp wrote to the stamp file) and notes when the
// first request for an invocation arrived.
type recorder struct {
	addr   string
	stamp  string
	server *http.Server

	mu       sync.Mutex
	next     time.Time
	upstream *url.URL
	emulator int           // the emulator's pid, whose child the bootstrap is
	cpu      time.Duration // the bootstrap's CPU time at its first Next request
	waiting  time.Duration // and its time waiting to run
}

func startRecorder(stamp string) (*recorder, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &recorder{addr: l.Addr().String(), stamp: stamp}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if u := r.target(); u != nil {
				pr.SetURL(u)
			}
		},
		FlushInterval: -1,
	}
	r.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/runtime/invocation/next") {
			r.mu.Lock()
			if r.next.IsZero() {
				r.next = time.Now()
				for _, pid := range rie.ChildrenOf(r.emulator) {
					cpu, waiting := schedStat(pid)
					r.cpu, r.waiting = r.cpu+cpu, r.waiting+waiting
				}
			}
			r.mu.Unlock()
		}
		if r.target() == nil {
			http.Error(w, "initstamp wrote no runtime API address", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, req)
	})}
	go func() { _ = r.server.Serve(l) }()
	return r, nil
}

// target returns the emulator's runtime API, read from the stamp file once
// initstamp has written it.
func (r *recorder) target() *url.URL {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.upstream == nil {
		if _, api, err := r.readStamp(); err == nil && api != "" {
			r.upstream = &url.URL{Scheme: "http", Host: api}
		}
	}
	return r.upstream
}

func (r *recorder) readStamp() (started time.Time, api string, err error) {
	b, err := os.ReadFile(r.stamp)
	if err != nil {
		return time.Time{}, "", err
	}
	var nanos int64
	if _, err := fmt.Sscan(string(b), &nanos, &api); err != nil {
		return time.Time{}, "", fmt.Errorf("stamp file %s: %w", r.stamp, err)
	}
	return time.Unix(0, nanos), api, nil
}

// times returns when the bootstrap started and when it first asked for an
// invocation.
func (r *recorder) times() (started, next time.Time, err error) {
	started, _, err = r.readStamp()
	if err != nil {
		return started, next, fmt.Errorf("the bootstrap's start: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next.IsZero() {
		return started, next, errors.New("the bootstrap never asked the runtime API for an invocation")
	}
	return started, r.next, nil
}

func (r *recorder) close() { _ = r.server.Close() }

// watch tells the recorder the emulator whose bootstrap it times.
func (r *recorder) watch(emulator int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emulator = emulator
}

// schedule returns the bootstrap's CPU time and time waiting to run at its
// first Next request.
func (r *recorder) schedule() (cpu, waiting time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cpu, r.waiting
}

// schedStat returns the time the threads of process pid have run on a CPU
// and waited to run, from /proc/PID/task/*/schedstat (nanoseconds).
func schedStat(pid int) (cpu, waiting time.Duration) {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue
		}
		var run, wait int64
		if _, err := fmt.Sscan(string(b), &run, &wait); err == nil {
			cpu, waiting = cpu+time.Duration(run), waiting+time.Duration(wait)
		}
	}
	return cpu, waiting
}

// invoke sends payload to the emulator's Invoke API and returns the answer.
func invoke(ctx context.Context, url, payload string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/2015-03-31/functions/"+rie.FunctionName+"/invocations", strings.NewReader(payload))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("invoke: HTTP %d", resp.StatusCode)
	}
	return string(b), err
}

// build builds the main packages pkgs as Lambda's provided.al2023 runtime
// runs them: GOOS=linux, CGO_ENABLED=0, -tags lambda.norpc, -trimpath, and,
// when stripped, -ldflags "-s -w" (make build). It returns the paths of
// the executables, dir/NAME/bootstrap.
func build(ctx context.Context, dir string, pkgs []string, goarch string, stripped bool) ([]string, error) {
	paths := make([]string, len(pkgs))
	for i, pkg := range pkgs {
		paths[i] = filepath.Join(dir, filepath.Base(pkg), "bootstrap")
		args := []string{"build", "-tags", "lambda.norpc", "-trimpath"}
		if stripped {
			args = append(args, "-ldflags", "-s -w")
		}
		cmd := exec.CommandContext(ctx, "go", append(args, "-o", paths[i], pkg)...)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
	}
	return paths, nil
}
