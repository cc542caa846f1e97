package localaws

import "syscall"

// sysProcAttr puts moto_server in its own process group, so that Stop can kill
// it and anything it started, and has the kernel kill it if the process that
// started it dies without calling Stop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
