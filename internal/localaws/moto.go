package localaws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ecrdeploy/ecrdeploy/internal/child"
)

// ErrMotoNotFound is returned by [StartMoto] when moto_server is not on PATH.
var ErrMotoNotFound = errors.New("moto_server not found: install it with pip install 'moto[server]'")

const (
	// startTimeout bounds how long moto_server may take to answer its first
	// request; importing moto takes a few seconds on a cold machine.
	startTimeout = 30 * time.Second
	// stderrTail is how much of moto_server's stderr is kept for error
	// messages; moto logs every request there, so it must be bounded.
	stderrTail = 16 << 10
	// startAttempts retries on another port when moto dies at start, which is
	// what happens when the free port we picked was taken in the meantime.
	startAttempts = 3
)

// Option configures the moto_server process started by [StartMoto].
type Option func(*motoOptions)

type motoOptions struct {
	env []string
}

// WithMotoEnv sets an environment variable for moto_server, such as
// MOTO_ECS_SERVICE_RUNNING=2, which makes services created with a desired
// count of at most 2 report a COMPLETED rollout.
func WithMotoEnv(key, value string) Option {
	return func(o *motoOptions) { o.env = append(o.env, key+"="+value) }
}

// Moto is a running moto_server process.
type Moto struct {
	// URL is moto's base URL, such as http://127.0.0.1:41234.
	URL string

	stderr *child.Output
	proc   *child.Process
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers. It returns [ErrMotoNotFound] if moto_server is not on PATH, and an
// error that includes moto's stderr if it exits or does not answer within 30
// seconds. The caller must call [Moto.Stop].
func StartMoto(ctx context.Context, opts ...Option) (*Moto, error) {
	var o motoOptions
	for _, opt := range opts {
		opt(&o)
	}
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMotoNotFound
	}
	for attempt := 1; ; attempt++ {
		m, err := startMoto(ctx, path, o)
		if err == nil {
			return m, nil
		}
		var exited *exitedError
		if attempt == startAttempts || !errors.As(err, &exited) {
			return nil, fmt.Errorf("start moto_server: %w", err)
		}
	}
}

// exitedError reports that moto_server exited before it became ready.
type exitedError struct {
	err    error
	stderr string
}

func (e *exitedError) Error() string {
	return fmt.Sprintf("moto_server exited before it was ready (%v); stderr:\n%s", e.err, e.stderr)
}

func startMoto(ctx context.Context, path string, o motoOptions) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &Moto{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
		stderr: &child.Output{Max: stderrTail},
	}
	// Not CommandContext: the process must outlive ctx, which only bounds
	// the start.
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = motoEnv(os.Environ(), o.env)
	cmd.Stdout = m.stderr
	cmd.Stderr = m.stderr
	if m.proc, err = child.Start(cmd); err != nil {
		return nil, err
	}
	if err := m.waitReady(ctx); err != nil {
		_ = m.Stop()
		return nil, err
	}
	return m, nil
}

// motoEnv drops every inherited MOTO_* variable, so that a developer's shell
// cannot change what the tests and the demo see, and then adds extra.
func motoEnv(environ, extra []string) []string {
	env := make([]string, 0, len(environ)+len(extra))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "MOTO_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (m *Moto) waitReady(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/moto-api/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-m.proc.Done():
			return &exitedError{err: m.proc.Err(), stderr: m.stderr.String()}
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err // the caller gave up (an interrupted demo): no timeout to report
			}
			return fmt.Errorf("moto_server at %s not ready after %v: %w; stderr:\n%s", m.URL, startTimeout, ctx.Err(), m.stderr.String())
		case <-tick.C:
		}
	}
}

// Err returns nil while moto_server runs, and an error that includes its
// stderr once it has exited.
func (m *Moto) Err() error {
	select {
	case <-m.proc.Done():
		return fmt.Errorf("moto_server at %s exited (%v); stderr:\n%s", m.URL, m.proc.Err(), m.stderr.String())
	default:
		return nil
	}
}

// Reset wipes all of moto's state (POST /moto-api/reset). It returns an error
// if moto has exited or does not answer 200.
func (m *Moto) Reset(ctx context.Context) error {
	if err := m.Err(); err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/moto-api/reset", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: status %s", resp.Status)
	}
	return nil
}

// Stop kills moto_server's whole process group and waits for it to exit, so
// that no python process is left behind. It is safe to call more than once;
// it returns an error only if the process could not be killed.
func (m *Moto) Stop() error {
	if err := m.proc.Stop(); err != nil {
		return fmt.Errorf("stop moto_server: %w", err)
	}
	return nil
}
