package config

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// fakeSSM is an SSMAPI whose behaviour each test sets. calls counts the
// GetParameter calls, pathCalls the GetParametersByPath calls.
type fakeSSM struct {
	GetParameterFn        func(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	GetParametersByPathFn func(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
	calls, pathCalls      atomic.Int32
}

var _ SSMAPI = (*fakeSSM)(nil)

func (f *fakeSSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.calls.Add(1)
	return f.GetParameterFn(ctx, in, optFns...)
}

func (f *fakeSSM) GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	f.pathCalls.Add(1)
	return f.GetParametersByPathFn(ctx, in, optFns...)
}

const validDocument = `{"environments": {"dev": {"cluster": "apps", "services": ["web"]}}}`

// parameters returns a GetParameter that serves values by name and answers
// ParameterNotFound for any other name.
func parameters(values map[string]string) func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return func(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
		v, ok := values[aws.ToString(in.Name)]
		if !ok {
			return nil, &ssmtypes.ParameterNotFound{Message: aws.String("not found")}
		}
		return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
	}
}

// fakeClock is a settable clock for Store.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestStore(t *testing.T, fake *fakeSSM, ttl time.Duration) (*Store, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewStore(fake, "/ecrdeploy", ttl)
	s.now = clock.now
	return s, clock
}

func TestStoreGet(t *testing.T) {
	throttled := errors.New("ThrottlingException: rate exceeded")
	tests := []struct {
		name       string
		repository string
		fn         func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
		wantNames  []string // environment names of the document
		wantErr    string
		wantIs     error
		wantConfig *input.Error // the first problem of an invalid document
		wantCalls  int32
	}{
		{
			name:       "valid document",
			repository: "hello-color",
			fn:         parameters(map[string]string{"/ecrdeploy/config/hello-color": validDocument}),
			wantNames:  []string{"dev"},
			wantCalls:  1,
		},
		{
			name:       "repository with a slash",
			repository: "team/web",
			fn:         parameters(map[string]string{"/ecrdeploy/config/team/web": validDocument}),
			wantNames:  []string{"dev"},
			wantCalls:  1,
		},
		{
			name:       "not found",
			repository: "hello-color",
			fn:         parameters(nil),
			wantErr:    "read config /ecrdeploy/config/hello-color: parameter not found",
			wantIs:     ErrNotFound,
			wantCalls:  1,
		},
		{
			name:       "invalid document",
			repository: "hello-color",
			fn:         parameters(map[string]string{"/ecrdeploy/config/hello-color": `{"environments": {"dev": {"cluster": "apps"}}}`}),
			wantErr:    "config /ecrdeploy/config/hello-color: environments.dev.services: at least one service is required",
			wantConfig: &input.Error{Input: inputName, Source: "/ecrdeploy/config/hello-color", Field: "environments.dev.services", Problem: "at least one service is required"},
			wantCalls:  1,
		},
		{
			name:       "other error",
			repository: "hello-color",
			fn: func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
				return nil, throttled
			},
			wantErr:   "read config /ecrdeploy/config/hello-color: ThrottlingException: rate exceeded",
			wantIs:    throttled,
			wantCalls: 1,
		},
		{
			name:       "no value",
			repository: "hello-color",
			fn: func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
				return &ssm.GetParameterOutput{}, nil
			},
			wantErr:   "read config /ecrdeploy/config/hello-color: response has no value",
			wantCalls: 1,
		},
		{
			name:       "empty repository",
			repository: "",
			fn:         parameters(nil),
			wantErr:    "read config /ecrdeploy/config/: empty repository name",
			wantCalls:  0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSSM{GetParameterFn: tt.fn}
			s, _ := newTestStore(t, fake, time.Minute)
			doc, err := s.Get(t.Context(), tt.repository)

			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if tt.wantConfig != nil {
				var got *input.Error
				if !errors.As(err, &got) {
					t.Fatalf("error %v is not an *input.Error", err)
				}
				if diff := cmp.Diff(tt.wantConfig, got); diff != "" {
					t.Errorf("*input.Error mismatch (-want +got):\n%s", diff)
				}
			}
			var names []string
			if doc != nil {
				names = doc.Names()
			}
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("document mismatch (-want +got):\n%s", diff)
			}
			if got := fake.calls.Load(); got != tt.wantCalls {
				t.Errorf("GetParameter calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestStoreGetInput(t *testing.T) {
	var got *ssm.GetParameterInput
	fake := &fakeSSM{GetParameterFn: func(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
		got = in
		return parameters(map[string]string{"/platform/config/web": validDocument})(ctx, in, optFns...)
	}}
	s := NewStore(fake, "/platform/", time.Minute)
	if _, err := s.Get(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}
	want := &ssm.GetParameterInput{Name: aws.String("/platform/config/web"), WithDecryption: aws.Bool(true)}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(ssm.GetParameterInput{})); diff != "" {
		t.Errorf("GetParameterInput mismatch (-want +got):\n%s", diff)
	}
}

// TestStoreCache runs a sequence of Gets of one repository against a clock,
// counting the reads of SSM after each.
func TestStoreCache(t *testing.T) {
	type step struct {
		advance   time.Duration
		wantCalls int32
		wantErr   bool
	}
	tests := []struct {
		name  string
		ttl   time.Duration
		fn    func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
		steps []step
	}{
		{
			name: "valid document cached until the TTL",
			ttl:  time.Minute,
			fn:   parameters(map[string]string{"/ecrdeploy/config/web": validDocument}),
			steps: []step{
				{0, 1, false},
				{30 * time.Second, 1, false},
				{29 * time.Second, 1, false},
				{time.Second, 2, false}, // 60s after the read: stale
				{time.Second, 2, false},
			},
		},
		{
			name: "not found cached",
			ttl:  time.Minute,
			fn:   parameters(nil),
			steps: []step{
				{0, 1, true},
				{59 * time.Second, 1, true},
				{time.Second, 2, true},
			},
		},
		{
			name: "invalid document cached",
			ttl:  time.Minute,
			fn:   parameters(map[string]string{"/ecrdeploy/config/web": `{"environments": {}}`}),
			steps: []step{
				{0, 1, true},
				{10 * time.Second, 1, true},
				{time.Minute, 2, true},
			},
		},
		{
			name: "errors a retry may fix not cached",
			ttl:  time.Minute,
			fn: func(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
				return nil, errors.New("connection reset")
			},
			steps: []step{
				{0, 1, true},
				{0, 2, true},
				{time.Second, 3, true},
			},
		},
		{
			name: "TTL 0 disables caching",
			ttl:  0,
			fn:   parameters(map[string]string{"/ecrdeploy/config/web": validDocument}),
			steps: []step{
				{0, 1, false},
				{0, 2, false},
				{0, 3, false},
			},
		},
		{
			name: "negative TTL disables caching",
			ttl:  -time.Second,
			fn:   parameters(nil),
			steps: []step{
				{0, 1, true},
				{0, 2, true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSSM{GetParameterFn: tt.fn}
			s, clock := newTestStore(t, fake, tt.ttl)
			var first *Document
			for i, st := range tt.steps {
				clock.advance(st.advance)
				doc, err := s.Get(t.Context(), "web")
				if (err != nil) != st.wantErr {
					t.Fatalf("step %d: Get error = %v, want error %v", i, err, st.wantErr)
				}
				if got := fake.calls.Load(); got != st.wantCalls {
					t.Errorf("step %d: GetParameter calls = %d, want %d", i, got, st.wantCalls)
				}
				if i == 0 {
					first = doc
				} else if doc != nil && tt.ttl > 0 && st.wantCalls == 1 && doc != first {
					t.Errorf("step %d: a cache hit returned a different document", i)
				}
			}
		})
	}
}

func TestStoreCacheByRepository(t *testing.T) {
	fake := &fakeSSM{GetParameterFn: parameters(map[string]string{
		"/ecrdeploy/config/web": validDocument,
		"/ecrdeploy/config/api": validDocument,
	})}
	s, _ := newTestStore(t, fake, time.Minute)
	for _, repository := range []string{"web", "api", "web", "api", "/web/"} {
		if _, err := s.Get(t.Context(), repository); err != nil {
			t.Fatal(err)
		}
	}
	if got := fake.calls.Load(); got != 2 {
		t.Errorf("GetParameter calls = %d, want 2 (one per parameter)", got)
	}
}

// TestStoreConcurrentGets checks that Gets of one repository while a read is
// in flight wait for it rather than read again, and all see its outcome.
func TestStoreConcurrentGets(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		value     string
		err       error
		wantErr   bool
		wantCalls int32 // after the concurrent Gets and one more
	}{
		{name: "valid document", ttl: time.Minute, value: validDocument, wantCalls: 1},
		{name: "without caching", ttl: 0, value: validDocument, wantCalls: 2},
		{name: "transient error shared but not cached", ttl: time.Minute, err: errors.New("connection reset"), wantErr: true, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				fake := &fakeSSM{GetParameterFn: func(ctx context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
					<-release
					if tt.err != nil {
						return nil, tt.err
					}
					return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(tt.value)}}, nil
				}}
				s, _ := newTestStore(t, fake, tt.ttl)

				const n = 10
				docs := make([]*Document, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { docs[i], errs[i] = s.Get(t.Context(), "web") })
				}
				synctest.Wait() // every Get is blocked: one in SSM, the rest waiting for it
				if got := fake.calls.Load(); got != 1 {
					t.Errorf("GetParameter calls while in flight = %d, want 1", got)
				}
				close(release)
				wg.Wait()

				for i := range n {
					if (errs[i] != nil) != tt.wantErr {
						t.Errorf("Get %d error = %v, want error %v", i, errs[i], tt.wantErr)
					}
					if docs[i] != docs[0] {
						t.Errorf("Get %d returned a different document", i)
					}
				}
				_, _ = s.Get(t.Context(), "web")
				if got := fake.calls.Load(); got != tt.wantCalls {
					t.Errorf("GetParameter calls after one more Get = %d, want %d", got, tt.wantCalls)
				}
			})
		})
	}
}

// TestStoreWaiterContext checks that a Get waiting for another's read gives up
// when its own context ends, without disturbing the read.
func TestStoreWaiterContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		fake := &fakeSSM{GetParameterFn: func(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
			<-release
			return parameters(map[string]string{"/ecrdeploy/config/web": validDocument})(ctx, in, optFns...)
		}}
		s, _ := newTestStore(t, fake, time.Minute)

		var leaderDoc *Document
		var leaderErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			leaderDoc, leaderErr = s.Get(t.Context(), "web")
		}()
		synctest.Wait()

		ctx, cancel := context.WithCancel(t.Context())
		waiterErr := make(chan error, 1)
		go func() {
			_, err := s.Get(ctx, "web")
			waiterErr <- err
		}()
		synctest.Wait()
		cancel()
		err := <-waiterErr
		if !errors.Is(err, context.Canceled) {
			t.Errorf("waiter error = %v, want context.Canceled", err)
		}
		if diff := cmp.Diff("read config /ecrdeploy/config/web: context canceled", err.Error()); diff != "" {
			t.Errorf("waiter error mismatch (-want +got):\n%s", diff)
		}

		close(release)
		<-done
		if leaderErr != nil || leaderDoc == nil {
			t.Errorf("leader Get = %v, %v; want the document", leaderDoc, leaderErr)
		}
		if got := fake.calls.Load(); got != 1 {
			t.Errorf("GetParameter calls = %d, want 1", got)
		}
	})
}

// pages returns a GetParametersByPath that serves the given pages of
// name/value pairs in order, linked by NextToken, and records its inputs.
func pages(inputs *[]*ssm.GetParametersByPathInput, pages ...map[string]string) func(context.Context, *ssm.GetParametersByPathInput, ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	return func(_ context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
		*inputs = append(*inputs, in)
		i := 0
		if in.NextToken != nil {
			i, _ = strconv.Atoi(*in.NextToken)
		}
		out := &ssm.GetParametersByPathOutput{}
		if i >= len(pages) {
			return out, nil
		}
		names := slices.Sorted(maps.Keys(pages[i]))
		for _, name := range names {
			out.Parameters = append(out.Parameters, ssmtypes.Parameter{Name: aws.String(name), Value: aws.String(pages[i][name])})
		}
		if i+1 < len(pages) {
			out.NextToken = aws.String(strconv.Itoa(i + 1))
		}
		return out, nil
	}
}

func TestStoreList(t *testing.T) {
	var inputs []*ssm.GetParametersByPathInput
	fake := &fakeSSM{GetParametersByPathFn: pages(&inputs,
		map[string]string{
			"/ecrdeploy/config/web":      validDocument,
			"/ecrdeploy/config/team/api": validDocument,
		},
		map[string]string{
			"/ecrdeploy/config/broken": `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "replicas": 2}}}`,
			"/ecrdeploy/config/worker": `{"environments": {"prod": {"cluster": "apps", "services": ["worker"]}}}`,
		},
	)}
	s, _ := newTestStore(t, fake, time.Minute)
	var logs bytes.Buffer
	s.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))

	docs, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string][]string)
	for repository, doc := range docs {
		got[repository] = doc.Names()
	}
	want := map[string][]string{"web": {"dev"}, "team/api": {"dev"}, "worker": {"prod"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}

	wantInputs := []*ssm.GetParametersByPathInput{
		{Path: aws.String("/ecrdeploy/config"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true)},
		{Path: aws.String("/ecrdeploy/config"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true), NextToken: aws.String("1")},
	}
	if diff := cmp.Diff(wantInputs, inputs, cmp.AllowUnexported(ssm.GetParametersByPathInput{})); diff != "" {
		t.Errorf("GetParametersByPathInput mismatch (-want +got):\n%s", diff)
	}

	wantLog := `{"level":"WARN","msg":"invalid configuration left out","parameter":"/ecrdeploy/config/broken","repository":"broken","error":"config /ecrdeploy/config/broken: environments.dev.replicas: unknown field"}` + "\n"
	if diff := cmp.Diff(wantLog, logs.String()); diff != "" {
		t.Errorf("log mismatch (-want +got):\n%s", diff)
	}
}

// TestStoreListAll: ListAll gives the documents List gives and, by
// repository, why each one it leaves out is invalid; both share one read.
func TestStoreListAll(t *testing.T) {
	var inputs []*ssm.GetParametersByPathInput
	fake := &fakeSSM{GetParametersByPathFn: pages(&inputs,
		map[string]string{
			"/ecrdeploy/config/web":    validDocument,
			"/ecrdeploy/config/broken": `{"environments": {"dev": {"cluster": "apps", "services": ["web"], "replicas": 2}}}`,
		},
	)}
	s, _ := newTestStore(t, fake, time.Minute)
	s.Log = slog.New(slog.DiscardHandler)
	docs, invalid, err := s.ListAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs["web"] == nil {
		t.Errorf("documents %v, want web's", slices.Sorted(maps.Keys(docs)))
	}
	if len(invalid) != 1 || invalid["broken"] == nil ||
		invalid["broken"].Error() != "config /ecrdeploy/config/broken: environments.dev.replicas: unknown field" {
		t.Errorf("invalid %v, want broken's error", invalid)
	}
	if listed, err := s.List(t.Context()); err != nil || len(listed) != 1 {
		t.Errorf("List after ListAll: %v, %v", listed, err)
	}
	if got := fake.pathCalls.Load(); got != 1 {
		t.Errorf("GetParametersByPath calls = %d, want 1 (one cached listing)", got)
	}
}

func TestStoreListCache(t *testing.T) {
	var inputs []*ssm.GetParametersByPathInput
	fake := &fakeSSM{GetParametersByPathFn: pages(&inputs, map[string]string{"/ecrdeploy/config/web": validDocument})}
	s, clock := newTestStore(t, fake, time.Minute)
	steps := []struct {
		advance   time.Duration
		wantCalls int32
	}{
		{0, 1},
		{59 * time.Second, 1},
		{time.Second, 2},
	}
	for i, st := range steps {
		clock.advance(st.advance)
		docs, err := s.List(t.Context())
		if err != nil || len(docs) != 1 {
			t.Fatalf("step %d: List = %v, %v", i, docs, err)
		}
		if got := fake.pathCalls.Load(); got != st.wantCalls {
			t.Errorf("step %d: GetParametersByPath calls = %d, want %d", i, got, st.wantCalls)
		}
	}
	if got := fake.calls.Load(); got != 0 {
		t.Errorf("GetParameter calls = %d, want 0", got)
	}
}

func TestStoreListErrors(t *testing.T) {
	t.Run("no configuration", func(t *testing.T) {
		var inputs []*ssm.GetParametersByPathInput
		fake := &fakeSSM{GetParametersByPathFn: pages(&inputs)}
		s, _ := newTestStore(t, fake, time.Minute)
		docs, err := s.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]*Document{}, docs); diff != "" {
			t.Errorf("List mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("error not cached", func(t *testing.T) {
		throttled := errors.New("ThrottlingException: rate exceeded")
		fake := &fakeSSM{GetParametersByPathFn: func(context.Context, *ssm.GetParametersByPathInput, ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
			return nil, throttled
		}}
		s, _ := newTestStore(t, fake, time.Minute)
		for range 2 {
			_, err := s.List(t.Context())
			if !errors.Is(err, throttled) {
				t.Errorf("List error = %v, want it to wrap %v", err, throttled)
			}
			if diff := cmp.Diff("read config /ecrdeploy/config/*: ThrottlingException: rate exceeded", err.Error()); diff != "" {
				t.Errorf("List error mismatch (-want +got):\n%s", diff)
			}
		}
		if got := fake.pathCalls.Load(); got != 2 {
			t.Errorf("GetParametersByPath calls = %d, want 2", got)
		}
	})
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "5m", want: 5 * time.Minute},
		{in: "1m30s", want: 90 * time.Second},
		{in: "30", want: 30 * time.Second},
		{in: " 45 ", want: 45 * time.Second},
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "", wantErr: `config TTL "": want a duration such as 30s or 5m, or a number of seconds`},
		{in: "soon", wantErr: `config TTL "soon": want a duration such as 30s or 5m, or a number of seconds`},
		{in: "1.5", wantErr: `config TTL "1.5": want a duration such as 30s or 5m, or a number of seconds`},
		{in: "-1", wantErr: `config TTL "-1": must not be negative`},
		{in: "-1s", wantErr: `config TTL "-1s": must not be negative`},
		{in: "9223372037", wantErr: `config TTL "9223372037": want from 0 to 9223372036 seconds`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTTL(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("ParseTTL(%q) error mismatch (-want +got):\n%s", tt.in, diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseTTL(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestStoreListPrimesGet(t *testing.T) {
	var inputs []*ssm.GetParametersByPathInput
	fake := &fakeSSM{GetParametersByPathFn: pages(&inputs, map[string]string{"/ecrdeploy/config/team/web": validDocument})}
	s, _ := newTestStore(t, fake, time.Minute)
	if _, err := s.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	doc, err := s.Get(t.Context(), "team/web")
	if err != nil || doc == nil {
		t.Fatalf("Get after List = %v, %v", doc, err)
	}
	if got := fake.calls.Load(); got != 0 {
		t.Errorf("GetParameter calls after List = %d, want 0: List read the document already", got)
	}
}

// TestStorePrefix checks that the prefix is normalised as state records'
// is, and that a prefix that cannot be is refused before anything is read.
func TestStorePrefix(t *testing.T) {
	for _, prefix := range []string{"/ecrdeploy", "/ecrdeploy/", "/ecrdeploy//"} {
		if got := ParameterName(prefix, "web"); got != "/ecrdeploy/config/web" {
			t.Errorf("ParameterName(%q) = %q", prefix, got)
		}
	}
	for _, prefix := range []string{"/a//b", "/a b", "relative"} {
		s := NewStore(nil, prefix, time.Minute) // a nil client: nothing may be read
		if _, err := s.Get(t.Context(), "web"); err == nil || !strings.Contains(err.Error(), "ECRDEPLOY_PREFIX") {
			t.Errorf("Get with prefix %q: error %v, want one naming ECRDEPLOY_PREFIX", prefix, err)
		}
		if _, err := s.List(t.Context()); err == nil {
			t.Errorf("List with prefix %q: no error", prefix)
		}
	}
}
