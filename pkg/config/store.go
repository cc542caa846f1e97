package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/param"
)

// DefaultTTL is how long a Store trusts a document it has read when
// ECRDEPLOY_CONFIG_TTL is not set.
const DefaultTTL = 60 * time.Second

// SSMAPI is the part of the SSM client that Store uses; *ssm.Client satisfies
// it.
type SSMAPI interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	GetParametersByPath(ctx context.Context, params *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// Store reads configuration documents from SSM Parameter Store and caches
// what it reads for a TTL, so that a warm function does not read the same
// parameters for every event. The outcome of a read is cached whatever it is —
// a valid document, a missing parameter or an invalid document — so that a
// bad document is not re-read on every event; errors that a retry may fix
// (throttling, network, a cancelled context) are not cached. Concurrent calls
// that need the same read share it.
//
// A Store is safe for concurrent use.
type Store struct {
	// Log receives a warning for each invalid document that List leaves out
	// (the problems, never values). Nil means slog.Default(). Set it before
	// the Store is used.
	Log *slog.Logger
	// Region is the function's own region, that of an environment without
	// one, which its cluster and service ARNs must be in (ParseIn); ""
	// checks only environments that name their region. Set it before the
	// Store is used.
	Region string

	client SSMAPI
	prefix string // canonical (param.Prefix)
	// prefixErr is what is wrong with the prefix NewStore was given: Get and
	// List return it rather than read from a path that state records would
	// not share.
	prefixErr error
	ttl       time.Duration

	// now is the clock; tests replace it.
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*entry // by parameter name, and listKey for List
}

// listKey is the cache key of List; parameter names start with "/".
const listKey = "list"

// entry is the outcome of one read. While the read is in flight, done is open
// and the other fields are unset.
type entry struct {
	done    chan struct{}
	value   any // *Document for Get, a listing for List
	err     error
	expires time.Time
}

// NewStore returns a Store that reads {prefix}/config/{repository} (see
// ParameterName) with client, and trusts what it read for ttl. A ttl of zero
// or less disables caching; concurrent reads are still shared. The prefix is
// normalised with param.Prefix, as state records' must be; when it cannot
// be, every Get and List returns its error.
func NewStore(client SSMAPI, prefix string, ttl time.Duration) *Store {
	p, err := param.Prefix(prefix)
	if err != nil {
		err = fmt.Errorf("read config: ECRDEPLOY_PREFIX: %w", err)
	}
	return &Store{
		client:    client,
		prefix:    p,
		prefixErr: err,
		ttl:       max(ttl, 0),
		now:       time.Now,
		entries:   make(map[string]*entry),
	}
}

// Get returns the valid configuration document of repository, from the cache
// when it is fresh. The Document is shared between callers: treat it as
// read-only.
//
// Get returns the error of an invalid prefix (see NewStore), an error
// wrapping ErrNotFound when the parameter does not exist,
// the *input.Error values of Parse when the document is invalid, and otherwise the
// error of GetParameter (or of ctx) wrapped with the parameter name.
func (s *Store) Get(ctx context.Context, repository string) (*Document, error) {
	if s.prefixErr != nil {
		return nil, s.prefixErr
	}
	name := ParameterName(s.prefix, repository)
	if strings.Trim(repository, "/") == "" {
		return nil, fmt.Errorf("read config %s: empty repository name", name)
	}
	v, err := s.cached(ctx, name, func(ctx context.Context) (any, bool, error) {
		return s.read(ctx, name)
	})
	doc, _ := v.(*Document)
	return doc, err
}

// List returns the valid configuration documents of every repository, by
// repository name, from the cache when it is fresh: every parameter under
// {prefix}/config/, however deep. An invalid document is left out and logged
// to Log, so that one team's bad document does not stop events of the others.
// The map and the Documents are shared between callers: treat them as
// read-only.
//
// List returns the error of an invalid prefix (see NewStore), the error of
// GetParametersByPath (or of ctx) wrapped with the
// path; with no configuration it returns an empty map and no error.
func (s *Store) List(ctx context.Context) (map[string]*Document, error) {
	docs, _, err := s.ListAll(ctx)
	return docs, err
}

// ListAll is List with the documents it leaves out: invalid says, by
// repository name, why each invalid document is (the errors of Parse), for
// a caller that shows every configured repository (the release board). One
// listing serves List and ListAll alike, from the same cache.
//
// ListAll returns the errors of List.
func (s *Store) ListAll(ctx context.Context) (docs map[string]*Document, invalid map[string]error, err error) {
	if s.prefixErr != nil {
		return nil, nil, s.prefixErr
	}
	v, err := s.cached(ctx, listKey, s.list)
	l, _ := v.(listing)
	if err == nil {
		s.prime(l.docs)
	}
	return l.docs, l.invalid, err
}

// listing is what one read of every parameter found: the valid documents
// and why the others are invalid, by repository.
type listing struct {
	docs    map[string]*Document
	invalid map[string]error
}

// prime caches the documents a listing read, so that the Get of each
// repository that follows (a reconcile deploys repository by repository)
// costs no second read.
func (s *Store) prime(docs map[string]*Document) {
	if s.ttl <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for repo, doc := range docs {
		name := ParameterName(s.prefix, repo)
		if e, ok := s.entries[name]; ok {
			select {
			case <-e.done:
				if now.Before(e.expires) {
					continue
				}
			default:
				continue // a read in flight
			}
		}
		e := &entry{done: make(chan struct{}), value: doc, expires: now.Add(s.ttl)}
		close(e.done)
		s.entries[name] = e
	}
}

// cached returns the outcome of read for key: from the cache when fresh, or
// shared with a read of key in flight, or by calling read. read says whether
// its outcome may be cached.
func (s *Store) cached(ctx context.Context, key string, read func(context.Context) (any, bool, error)) (any, error) {
	s.mu.Lock()
	if e, ok := s.entries[key]; ok {
		select {
		case <-e.done:
			if s.now().Before(e.expires) {
				s.mu.Unlock()
				return e.value, e.err
			}
			// Stale: read again below.
		default:
			s.mu.Unlock()
			select {
			case <-e.done:
				return e.value, e.err
			case <-ctx.Done():
				return nil, fmt.Errorf("read config %s: %w", s.describe(key), context.Cause(ctx))
			}
		}
	}
	e := &entry{done: make(chan struct{})}
	s.entries[key] = e
	s.mu.Unlock()

	value, cache, err := read(ctx)

	s.mu.Lock()
	e.value, e.err = value, err
	if cache && s.ttl > 0 {
		e.expires = s.now().Add(s.ttl)
	} else if s.entries[key] == e {
		delete(s.entries, key)
	}
	close(e.done)
	s.mu.Unlock()
	return value, err
}

// describe names what key reads, for messages.
func (s *Store) describe(key string) string {
	if key == listKey {
		return s.path() + "/*"
	}
	return key
}

// path is the parameter path under which List reads.
func (s *Store) path() string { return strings.TrimSuffix(ParameterName(s.prefix, ""), "/") }

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
	doc, err = ParseIn(name, []byte(*out.Parameter.Value), s.Region)
	return doc, true, err
}

// list reads and parses every parameter under path(), into a listing.
func (s *Store) list(ctx context.Context) (any, bool, error) {
	path := s.path()
	docs := make(map[string]*Document)
	invalid := make(map[string]error)
	pages := ssm.NewGetParametersByPathPaginator(s.client, &ssm.GetParametersByPathInput{
		Path:           aws.String(path),
		Recursive:      aws.Bool(true),
		WithDecryption: aws.Bool(true),
	})
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("read config %s/*: %w", path, err)
		}
		for _, p := range page.Parameters {
			name := aws.ToString(p.Name)
			repository, ok := strings.CutPrefix(name, path+"/")
			if !ok || repository == "" || p.Value == nil {
				continue
			}
			doc, err := ParseIn(name, []byte(*p.Value), s.Region)
			if err != nil {
				log.WarnContext(ctx, "invalid configuration left out", "parameter", name, "repository", repository, "error", err.Error())
				invalid[repository] = err
				continue
			}
			docs[repository] = doc
		}
	}
	return listing{docs: docs, invalid: invalid}, true, nil
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
