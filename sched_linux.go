package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// Linux's policy numbers (sched.h), and the flag sched_getscheduler may
// add to them.
const (
	linuxSchedOther       = 0
	linuxSchedBatch       = 3
	linuxSchedResetOnFork = 0x40000000
)

// setScheduling sets p on every thread of the process. A Linux
// scheduling policy belongs to a thread, not to the process, and a new
// thread takes its creator's: so every thread that exists is set, and
// the list is read again until a pass finds nothing left to set (the Go
// runtime may start a thread, from one not yet set, during a pass).
func setScheduling(p cpuScheduling) error {
	want := linuxSchedOther
	if p == schedBatch {
		want = linuxSchedBatch
	}
	var param struct{ priority int32 } // struct sched_param: 0 for both policies
	for range 100 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		changed := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			cur, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
			if errno == syscall.ESRCH {
				continue // the thread has exited since the list was read
			}
			if errno != 0 {
				return fmt.Errorf("sched_getscheduler: %w", errno)
			}
			if int(cur)&^linuxSchedResetOnFork == want {
				continue
			}
			_, _, errno = syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(want), uintptr(unsafe.Pointer(&param)))
			if errno == syscall.ESRCH {
				continue
			}
			if errno != 0 {
				return fmt.Errorf("sched_setscheduler: %w", errno)
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return errors.New("threads kept appearing under another policy")
}
