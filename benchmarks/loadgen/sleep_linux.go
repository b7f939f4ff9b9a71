package main

import (
	"syscall"
	"time"
	"unsafe"
)

// preciseTimers sets this thread's timer slack to 1 ns (it is 50 µs by
// default), so that nanosleep wakes on time.
func preciseTimers() {
	const prSetTimerslack = 29
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0)
}

// sleepUntil sleeps with Go's timer for all but the last 1.5 ms, then
// with a raw nanosleep: the goroutine keeps its P and thread, so that it
// needs no scheduling to run again, while the readers run on the other P.
func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 2*time.Millisecond {
		time.Sleep(d - 1500*time.Microsecond)
	}
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(d))
		// EINTR (the runtime's preemption signal) just loops.
		_, _, _ = syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
	}
}
