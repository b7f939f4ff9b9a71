package apachetest

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts Apache in a process group of its own, so that its
// workers can be signalled with it, and has the kernel stop it if the test
// binary dies without running its cleanups (a panic or a -timeout), so no
// Apache is left listening.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// signalGroup sends SIGTERM (or SIGKILL) to the Apache parent and its
// workers: the process group sysProcAttr created, whose id is the parent's
// pid.
func signalGroup(cmd *exec.Cmd, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	syscall.Kill(-cmd.Process.Pid, sig)
}
