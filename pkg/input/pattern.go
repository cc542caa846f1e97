package input

import (
	"regexp"
	"sync"
)

// Pattern is a regular expression compiled the first time it is used, not
// when the program starts. Go's regexp expands a counted repetition such as
// {1,255} into that many copies of its operand, so a name or ARN rule with
// one costs a millisecond or more and thousands of allocations to compile;
// compiled in a package's variables, every such rule was paid for in the
// Lambda functions' init phase, whether or not an invocation would ever
// check that kind of name.
type Pattern struct {
	expr string
	re   func() *regexp.Regexp
}

// NewPattern returns the pattern of expr, which must be a valid regular
// expression: the first match panics otherwise, as regexp.MustCompile does.
func NewPattern(expr string) *Pattern {
	return &Pattern{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// MatchString reports whether s contains a match of the pattern.
func (p *Pattern) MatchString(s string) bool { return p.re().MatchString(s) }

// String returns the regular expression.
func (p *Pattern) String() string { return p.expr }
