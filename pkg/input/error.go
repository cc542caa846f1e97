// Package input says what is wrong with an input and where: one error type
// for every decoder (events, requests, configuration documents, version
// policies), the helpers that describe bad JSON for it, and the name rules of
// the AWS identifiers that inputs carry (ECR repositories, image tags and
// digests, accounts, regions, registry hosts).
//
// It is a leaf: it imports only the standard library, so that any decoder can
// use it.
package input

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is one problem with an input. A retry cannot fix it: the input has
// to change.
type Error struct {
	// Input names the kind of input at the head of the message ("bad event",
	// "bad request", "config"). It is empty for a part of an input whose
	// caller reports it, such as one argument of policy.New.
	Input string
	// Source is where the input was read from, such as an SSM parameter or a
	// file name; empty when there is nothing to name.
	Source string
	// Field is the JSON path of the field at fault ("detail.image-tag",
	// `environments["my.env"].services[1]`); empty for the input as a whole.
	Field string
	// Problem says what is wrong.
	Problem string
	// Err is the error behind Problem, if any, for errors.Is and errors.As.
	// Problem already says what it says.
	Err error
}

// Error returns "{input} {source}: {field}: {problem}", leaving out the
// parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Input)
	if e.Input != "" && e.Source != "" {
		b.WriteString(" ")
	}
	b.WriteString(e.Source)
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Problems returns every *Error in err, in order: err itself, or those it
// wraps or joins (fmt.Errorf with %w, errors.Join). It returns nil when err
// holds no *Error. A decoder that reports several problems joins them, and
// errors.As finds only the first.
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

// MaxQuoted is how much of a value an error message quotes: enough to
// recognise it, not so much that a 256 KiB value floods the log.
const MaxQuoted = 80

// Quote quotes s for a message about bad input. When the quoted form would
// be longer than MaxQuoted characters (besides the quotes), s is cut at a
// character boundary to fit and its length is added: escapes make a control
// character four times as long as it was, so cutting s itself to MaxQuoted
// bytes would not do.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		if q := strconv.Quote(s); len(q) <= MaxQuoted+2 {
			return q
		}
	}
	// The quoted form of a prefix grows by at least one character a rune,
	// so this stops within MaxQuoted runes, whatever the length of s.
	cut := 0
	for i := range s {
		if len(strconv.Quote(s[:i])) > MaxQuoted+2 {
			break
		}
		cut = i
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

// Words writes a list as a sentence does, for messages: "dev", "dev and
// staging", "dev, production and staging"; "none" when it is empty.
func Words(list []string) string {
	switch len(list) {
	case 0:
		return "none"
	case 1:
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " and " + list[len(list)-1]
}
