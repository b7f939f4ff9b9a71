package main

// cpu_scheduling: tktgate puts itself under SCHED_BATCH.
//
// nginx and tktgate on one host hand each request back and forth: nginx
// sends the subrequest, tktgate answers, nginx goes on. Under the default
// policy (SCHED_OTHER) every subrequest that wakes tktgate may preempt
// nginx at once, so the CPU switches twice per request. Under SCHED_BATCH
// tktgate's wake-ups never preempt: nginx goes on with the other requests
// it has and hands tktgate a batch of subrequests at once (measured in
// benchmarks/README.md, nginx and tktgate sharing one CPU: 4 to 7% less
// CPU per request over TCP, 17 to 18% over a unix socket).
// systemd's CPUSchedulingPolicy=batch does the same from outside; this
// key is for everything else: a container, Kubernetes (which has no pod
// setting for it), a shell. Lowering one's own policy to SCHED_BATCH
// needs no privilege.

import (
	"fmt"
	"strings"
)

// cpuScheduling is the cpu_scheduling key.
type cpuScheduling uint8

const (
	// schedInherit leaves the policy tktgate was started with (systemd's
	// CPUSchedulingPolicy, chrt, a parent's): the default, as a program
	// that changes its own scheduling unasked would surprise.
	schedInherit cpuScheduling = iota
	schedBatch                 // SCHED_BATCH
	schedOther                 // SCHED_OTHER, Linux's default
)

func parseCPUScheduling(s string) (cpuScheduling, bool) {
	switch strings.ToLower(s) {
	case "inherit":
		return schedInherit, true
	case "batch":
		return schedBatch, true
	case "other":
		return schedOther, true
	}
	return 0, false
}

func (p cpuScheduling) String() string {
	switch p {
	case schedBatch:
		return "batch"
	case schedOther:
		return "other"
	}
	return "inherit"
}

// applyScheduling puts every thread of the process under p (nothing for
// schedInherit); the error names the key. The caller logs an error and
// serves on: the policy is a speed-up, never a reason not to serve.
func applyScheduling(p cpuScheduling) error {
	if p == schedInherit {
		return nil
	}
	if err := setScheduling(p); err != nil {
		return fmt.Errorf("cpu_scheduling = %q: %w", p.String(), err)
	}
	return nil
}
