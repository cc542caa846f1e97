//go:build unix

package main

import (
	"os"
	"syscall"
)

// execve replaces this process with path, with this process's environment.
func execve(path string) error { return syscall.Exec(path, []string{path}, os.Environ()) }
