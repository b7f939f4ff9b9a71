//go:build !linux

package apachetest

import (
	"os"
	"os/exec"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup can only reach the Apache parent here; on SIGTERM it stops
// its workers itself.
func signalGroup(cmd *exec.Cmd, kill bool) {
	if kill {
		cmd.Process.Kill()
		return
	}
	cmd.Process.Signal(os.Interrupt)
}
