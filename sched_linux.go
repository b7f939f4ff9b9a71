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
		changed, seen := false, false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			cur, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
			if errno == syscall.ESRCH {
				// Gone since the list was read; it may have started a
				// thread first: read the list again.
				changed = true
				continue
			}
			if errno != 0 {
				return fmt.Errorf("sched_getscheduler: %w", errno)
			}
			seen = true
			if int(cur)&^linuxSchedResetOnFork == want {
				continue
			}
			// Keep SCHED_RESET_ON_FORK as it is: only a privileged
			// process may clear it.
			pol := want | int(cur)&linuxSchedResetOnFork
			_, _, errno = syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(pol), uintptr(unsafe.Pointer(&param)))
			if errno == syscall.ESRCH {
				changed = true
				continue
			}
			if errno != 0 {
				return fmt.Errorf("sched_setscheduler: %w", errno)
			}
			changed = true
		}
		if !seen {
			// /proc is another PID namespace's: none of its thread ids
			// are ours.
			return errors.New("/proc/self/task lists none of this process's threads")
		}
		if !changed {
			return nil
		}
	}
	return errors.New("threads kept appearing under another policy")
}

// currentPolicy names the policy the calling thread runs under, for the
// start-up log line.
func currentPolicy() string {
	cur, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, 0, 0, 0)
	if errno != 0 {
		return "unknown"
	}
	switch int(cur) &^ linuxSchedResetOnFork {
	case linuxSchedOther:
		return "other"
	case 1:
		return "fifo"
	case 2:
		return "rr"
	case linuxSchedBatch:
		return "batch"
	case 5:
		return "idle"
	case 6:
		return "deadline"
	}
	return "unknown"
}
