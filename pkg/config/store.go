package config

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// DefaultTTL is how long a Store trusts a document it has read when
// ECRDEPLOY_CONFIG_TTL is not set.
const DefaultTTL = 60 * time.Second

// SSMAPI is the part of the SSM client that Store uses; *ssm.Client satisfies
// it.
type SSMAPI interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Store reads configuration documents from SSM Parameter Store and caches
// what it reads for a TTL, so that a warm function does not read the same
// parameter for every event. The outcome of a read is cached whatever it is —
// a valid document, a missing parameter or an invalid document — so that a
// bad document is not re-read on every event; errors that a retry may fix
// (throttling, network, a cancelled context) are not cached. Concurrent Gets of
// one repository share a single read.
//
// A Store is safe for concurrent use.
type Store struct {
	client SSMAPI
	prefix string
	ttl    time.Duration

	// now is the clock; tests replace it.
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*entry // by parameter name
}

// entry is the outcome of one read. While the read is in flight, done is open
// and doc and err are unset.
type entry struct {
	done    chan struct{}
	doc     *Document
	err     error
	expires time.Time
}

// NewStore returns a Store that reads {prefix}/config/{repository} (see
// ParameterName) with client, and trusts what it read for ttl. A ttl of zero
// or less disables caching; concurrent reads are still shared.
func NewStore(client SSMAPI, prefix string, ttl time.Duration) *Store {
	return &Store{
		client:  client,
		prefix:  prefix,
		ttl:     max(ttl, 0),
		now:     time.Now,
		entries: make(map[string]*entry),
	}
}

// Get returns the valid configuration document of repository, from the cache
// when it is fresh. The Document is shared between callers: treat it as
// read-only.
//
// Get returns an error wrapping ErrNotFound when the parameter does not exist,
// the *Error values of Parse when the document is invalid, and otherwise the
// error of GetParameter (or of ctx) wrapped with the parameter name.
func (s *Store) Get(ctx context.Context, repository string) (*Document, error) {
	name := ParameterName(s.prefix, repository)
	if strings.Trim(repository, "/") == "" {
		return nil, fmt.Errorf("read config %s: empty repository name", name)
	}

	s.mu.Lock()
	e, ok := s.entries[name]
	if ok {
		select {
		case <-e.done:
			if s.now().Before(e.expires) {
				s.mu.Unlock()
				return e.doc, e.err
			}
			// Stale: read again below.
		default:
			s.mu.Unlock()
			return s.wait(ctx, name, e)
		}
	}
	e = &entry{done: make(chan struct{})}
	s.entries[name] = e
	s.mu.Unlock()

	doc, cache, err := s.read(ctx, name)

	s.mu.Lock()
	e.doc, e.err = doc, err
	if cache && s.ttl > 0 {
		e.expires = s.now().Add(s.ttl)
	} else if s.entries[name] == e {
		delete(s.entries, name)
	}
	close(e.done)
	s.mu.Unlock()
	return doc, err
}

// wait waits for a read in flight to finish, or for ctx to end.
func (s *Store) wait(ctx context.Context, name string, e *entry) (*Document, error) {
	select {
	case <-e.done:
		return e.doc, e.err
	case <-ctx.Done():
		return nil, fmt.Errorf("read config %s: %w", name, context.Cause(ctx))
	}
}

// read reads and parses one parameter. cache says whether the outcome is about
// the document (and so worth caching) rather than a failure to read it.
func (s *Store) read(ctx context.Context, name string) (doc *Document, cache bool, err error) {
	out, err := s.client.GetParameter(ctx, &ssm.GetParameterInput{
		Name:           aws.String(name),
		WithDecryption: aws.Bool(true),
	})
	var notFound *ssmtypes.ParameterNotFound
	switch {
	case errors.As(err, &notFound):
		return nil, true, fmt.Errorf("read config %s: %w", name, ErrNotFound)
	case err != nil:
		return nil, false, fmt.Errorf("read config %s: %w", name, err)
	case out == nil || out.Parameter == nil || out.Parameter.Value == nil:
		return nil, false, fmt.Errorf("read config %s: response has no value", name)
	}
	doc, err = Parse(name, []byte(*out.Parameter.Value))
	return doc, true, err
}

// ParseTTL parses the value of ECRDEPLOY_CONFIG_TTL: a Go duration ("30s",
// "5m", "0s") or a whole number of seconds ("30"). Zero disables caching. It
// returns an error for an empty, negative or malformed value; the caller
// applies DefaultTTL when the variable is unset.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("config TTL %q: must not be negative", s)
		}
		if n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("config TTL %q: want from 0 to %d seconds", s, math.MaxInt64/int64(time.Second))
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("config TTL %q: want a duration such as 30s or 5m, or a number of seconds", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("config TTL %q: must not be negative", s)
	}
	return d, nil
}
