package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"
)

// threadPolicies reads the scheduling policy of every thread of pid
// (field 41 of /proc/PID/task/TID/stat), by thread id.
func threadPolicies(t *testing.T, pid int) map[int]int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	pols := map[int]int{}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue // exited
		}
		// The command name may hold spaces and parentheses: the fields
		// that follow start after the last ')', at field 3.
		rest := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(rest) < 39 {
			t.Fatalf("%s/stat: %d fields after the name", task.Name(), len(rest))
		}
		pol, err := strconv.Atoi(rest[38]) // field 41
		if err != nil {
			t.Fatal(err)
		}
		tid, _ := strconv.Atoi(task.Name())
		pols[tid] = pol
	}
	return pols
}

// errCannotBatch: the test's own thread cannot be put under SCHED_BATCH
// (a sandbox such as gVisor), so no process can be started under it.
var errCannotBatch = errors.New("cannot put the starting thread under SCHED_BATCH")

// startUnderBatch starts cmd from an OS thread of the test put under
// SCHED_BATCH, so that the process starts under it, as it does with
// systemd's CPUSchedulingPolicy=batch or `chrt -b 0`.
func startUnderBatch(cmd *exec.Cmd) error {
	var err error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The thread is never unlocked: it exits with the goroutine, so
		// its policy goes with it.
		runtime.LockOSThread()
		var param struct{ priority int32 }
		if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, linuxSchedBatch, uintptr(unsafe.Pointer(&param))); errno != 0 {
			err = fmt.Errorf("%w: %w", errCannotBatch, errno)
			return
		}
		err = cmd.Start()
	}()
	wg.Wait()
	return err
}

// ownPolicy is the policy the test process runs under (what a child
// started from it inherits).
func ownPolicy(t *testing.T) int {
	cur, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, 0, 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	return int(cur) &^ linuxSchedResetOnFork
}

// Every thread of the serving process is under the policy cpu_scheduling
// asks for, started under SCHED_OTHER or under SCHED_BATCH; "inherit"
// (the default) leaves the one it was started with.
func TestCPUScheduling(t *testing.T) {
	const secret = "[ticket]\nsecret = \"s\"\n"
	for _, tc := range []struct {
		name, config string
		underBatch   bool
		want         int    // -1: the test process's own
		logged       string // the start-up line's cpu_scheduling
	}{
		{"batch", `cpu_scheduling = "batch"` + "\n", false, linuxSchedBatch, "batch"},
		{"batch started under batch", `cpu_scheduling = "batch"` + "\n", true, linuxSchedBatch, "batch"},
		{"other started under batch", `cpu_scheduling = "other"` + "\n", true, linuxSchedOther, "other"},
		{"inherit started under batch", "", true, linuxSchedBatch, "inherit"},
		{"inherit", `cpu_scheduling = "inherit"` + "\n", false, -1, "inherit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := (*exec.Cmd).Start
			if tc.underBatch {
				start = func(cmd *exec.Cmd) error {
					err := startUnderBatch(cmd)
					if errors.Is(err, errCannotBatch) {
						t.Skip(err)
					}
					return err
				}
			}
			want := tc.want
			if want < 0 {
				want = ownPolicy(t)
			}
			p := startProcWith(t, t.TempDir(), "watch = false\n"+tc.config+secret, start)
			// Requests on many connections at once, so that the runtime
			// has started threads for them: those must have the policy
			// too.
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := p.client()
					for range 20 {
						if resp, err := c.Get("http://gate/auth"); err == nil {
							resp.Body.Close()
						}
					}
				}()
			}
			wg.Wait()
			pols := threadPolicies(t, p.cmd.Process.Pid)
			if len(pols) < 2 {
				t.Fatalf("%d threads: want the runtime's several", len(pols))
			}
			for tid, pol := range pols {
				if pol != want {
					t.Fatalf("thread %d: policy %d, want %d (of %d threads: %v)", tid, pol, want, len(pols), pols)
				}
			}
			names := map[int]string{linuxSchedOther: "other", linuxSchedBatch: "batch"}
			for _, field := range []string{`"cpu_scheduling":"` + tc.logged + `"`, `"cpu_policy":"` + names[want] + `"`} {
				if !strings.Contains(p.stderr.String(), field) {
					t.Errorf("start-up line lacks %s:\n%s", field, p.stderr.String())
				}
			}
		})
	}
}
