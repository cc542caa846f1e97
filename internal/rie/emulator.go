package rie

import (
	"io"
)

// Options says what to run under the emulator.
type Options struct {
	// Emulator is the path of aws-lambda-rie (see [Binary]).
	Emulator string
	// Bootstrap is the function's executable (see [Build]).
	Bootstrap string
	// Env is added to this process's environment for the emulator, which
	// passes it on to the function; a later value of a name wins.
	Env []string
	// Output receives the emulator's and the function's standard output and
	// error (the function's logs); nil discards them. It must be safe for
	// concurrent writes.
	Output io.Writer
}
