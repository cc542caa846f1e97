//go:build !unix

package main

import "errors"

// execve is not available here: the emulator runs on Linux only.
func execve(string) error { return errors.ErrUnsupported }
