package config

import (
	"errors"

	"github.com/ecrdeploy/ecrdeploy/pkg/input"
)

// ErrNotFound is returned, wrapped with the parameter name, by Store.Get when
// the repository has no configuration parameter. Test for it with errors.Is.
var ErrNotFound = errors.New("parameter not found")

// inputName starts the message of every problem Parse reports:
// "config {parameter}: {field}: {problem}".
const inputName = "config"

// Problems returns every *input.Error in err, in order: err itself, or those
// it wraps or joins. It returns nil when err holds no *input.Error. Parse
// reports each problem with a configuration document as an *input.Error
// naming the parameter (or file) the document came from as its Source and
// the JSON path of the field at fault ("environments.dev.versions",
// "environments.dev.services[1]"; empty for the document as a whole) as its
// Field; it returns a single one, or several joined with errors.Join, and
// errors.As finds the first.
func Problems(err error) []*input.Error { return input.Problems(err) }

// joinProblems returns nil, the only problem, or all of them joined.
func joinProblems(problems []*input.Error) error {
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
