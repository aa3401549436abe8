package chaos

import "syscall"

// sysProcAttr makes the kernel kill a child when the harness dies, so that
// no tender serve or emulator outlives an interrupted run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
