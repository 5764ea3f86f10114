package stack

import "syscall"

// sysProcAttr makes a child die with the test binary (SIGKILL when the
// harness's thread ends), so that a crashed or killed test leaves no servers
// behind on the machine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
