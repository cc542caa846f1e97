package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one verb's flags and help.
type command struct {
	name     string // "deploy", "config put"
	synopsis string // the arguments: "REPO TAG --env E [flags]"
	help     string // what it does, one paragraph or more
	flags    *flag.FlagSet
}

// newCommand returns a command whose flag set reports nothing itself: parse
// does the reporting, in one format for every verb.
func newCommand(name, synopsis, help string) *command {
	fs := flag.NewFlagSet("ecrdeploy "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{name: name, synopsis: synopsis, help: help, flags: fs}
}

// parse parses args, allowing flags before, between and after the positional
// arguments. It returns the positional arguments and ok; when !ok it has
// printed the help (for -h or --help, to stdout, code 0) or the error and
// the command's usage with its flags (to stderr, code exitBadInput), and
// code is the exit code. A flag that takes a value may be given once.
func (c *command) parse(args []string, stdout, stderr io.Writer) (positional []string, code int, ok bool) {
	c.flags.VisitAll(func(f *flag.Flag) {
		if _, once := f.Value.(*onceValue); !once && !isBoolFlag(f) {
			f.Value = &onceValue{Value: f.Value}
		}
	})
	positional, err := parseInterleaved(c.flags, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.printHelp(stdout)
		return nil, exitOK, false
	case err != nil:
		fmt.Fprintf(stderr, "%s%v\n", errorPrefix, err)
		c.printHelp(stderr)
		return nil, exitBadInput, false
	}
	return positional, exitOK, true
}

// onceValue is a flag value that may be set once: "--env a --env b" is an
// error rather than a silent "b".
type onceValue struct {
	flag.Value
	set bool
}

func (v *onceValue) Set(s string) error {
	if v.set {
		return fmt.Errorf("given more than once (already %q)", v.String())
	}
	v.set = true
	return v.Value.Set(s)
}

// isBoolFlag reports whether f is a boolean flag (given without a value).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// usageError prints a usage problem and how to get help, and returns
// exitBadInput.
func (c *command) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s%s\nusage: ecrdeploy %s %s\nRun 'ecrdeploy %s --help' for more.\n",
		errorPrefix, fmt.Sprintf(format, args...), c.name, c.synopsis, c.name)
	return exitBadInput
}

// printHelp prints the usage, the description and every flag.
func (c *command) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: ecrdeploy %s %s\n\n%s\n", c.name, c.synopsis, strings.TrimSpace(c.help))
	n := 0
	c.flags.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprint(w, "\nflags:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c.flags.VisitAll(func(f *flag.Flag) {
		arg, text := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if arg != "" {
			name += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, text)
	})
	tw.Flush()
}

// parseInterleaved parses args with fs like fs.Parse, but goes on past
// positional arguments, so that "deploy hello-color 1.4.0 --env production"
// works: the flag package alone stops at the first non-flag argument. It
// returns the positional arguments in order. Everything after "--" is
// positional; a lone "-" is positional (it means standard input).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" && !isFlagValue(fs, args[:consumed-1]) {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// isFlagValue reports whether the argument after args would be the value of
// a flag: args ends with a non-boolean flag given without "=value". It tells
// "--env --" (a value) from "--env x --" (the terminator).
func isFlagValue(fs *flag.FlagSet, args []string) bool {
	if len(args) == 0 {
		return false
	}
	last := args[len(args)-1]
	name, ok := strings.CutPrefix(last, "-")
	if !ok || strings.Contains(name, "=") {
		return false
	}
	name = strings.TrimPrefix(name, "-")
	f := fs.Lookup(name)
	return f != nil && !isBoolFlag(f)
}
