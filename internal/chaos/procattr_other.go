//go:build !linux

package chaos

import "syscall"

// sysProcAttr is nil where the kernel cannot tie a child's life to the
// harness's; Run still stops its children when it returns.
func sysProcAttr() *syscall.SysProcAttr { return nil }
