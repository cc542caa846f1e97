package config

import (
	"errors"
	"strings"
)

// ErrNotFound is returned, wrapped with the parameter name, by Store.Get when
// the repository has no configuration parameter. Test for it with errors.Is.
var ErrNotFound = errors.New("parameter not found")

// Error is one problem with a configuration document: it names the parameter
// (or file) the document came from, the JSON path of the field at fault
// ("environments.dev.versions", "environments.dev.services[1]"; empty for the
// document as a whole) and what is wrong with it.
//
// Parse returns a single *Error, or several joined with errors.Join; in both
// cases errors.As(err, &e) with e of type *Error finds the first, and Problems
// lists them all.
type Error struct {
	Parameter string
	Field     string
	Problem   string
}

// Error returns "config {parameter}: {field}: {problem}", leaving out the
// parameter and the field when they are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.Parameter != "" {
		b.WriteString(" ")
		b.WriteString(e.Parameter)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Problems returns every *Error in err, in order: err itself, or those it
// wraps or joins (fmt.Errorf with %w, errors.Join). It returns nil when err
// holds no *Error.
func Problems(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *Error:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// joinProblems returns nil, the only problem, or all of them joined.
func joinProblems(problems []*Error) error {
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return problems[0]
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}
