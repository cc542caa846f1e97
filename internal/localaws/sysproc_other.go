//go:build unix && !linux

package localaws

import "syscall"

// sysProcAttr puts moto_server in its own process group, so that Stop can kill
// it and anything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
