package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// profile samples the live tktgate with perf while wrk loads it (the
// whole process: kernel, runtime, fasthttp, handler), then runs the root
// package's handler benchmarks under pprof.
func (h *harness) profile(g *gate, t target) error {
	if _, err := exec.LookPath("perf"); err != nil {
		h.rep.note("perf is not installed: no whole-process profile.")
	} else {
		data := filepath.Join(h.out, "perf.data")
		done := make(chan error, 1)
		go func() {
			_, err := h.wrk(t, 8)
			done <- err
		}()
		time.Sleep(1500 * time.Millisecond)
		out, perr := h.command(h.clientCPU, "perf", "record", "-F", "1999", "-g", "-p", strconv.Itoa(g.pid), "-o", data, "--", "sleep", "5").CombinedOutput()
		if err := <-done; err != nil {
			return err
		}
		if perr != nil {
			h.rep.note(fmt.Sprintf("perf record failed (%v): %s", perr, lastLine(string(out))))
		} else {
			self, err := exec.Command("perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--sort", "symbol", "--percent-limit", "0").Output()
			if err != nil {
				return fmt.Errorf("perf report: %v", err)
			}
			children, err := exec.Command("perf", "report", "-i", data, "--stdio", "--children", "-g", "none", "--sort", "symbol", "--percent-limit", "0.2").Output()
			if err != nil {
				return fmt.Errorf("perf report: %v", err)
			}
			if err := os.WriteFile(filepath.Join(h.out, "perf-self.txt"), self, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(h.out, "perf-children.txt"), children, 0o644); err != nil {
				return err
			}
			h.rep.perfProfile(parsePerf(string(self)), parsePerf(string(children)))
		}
	}

	test := h.binPath("tktgate.test")
	if _, err := os.Stat(test); err != nil {
		h.rep.note("no tktgate.test binary (run.sh builds it in full mode): no pprof profile.")
		return nil
	}
	for _, b := range []struct{ name, pattern string }{
		{"handler", "^BenchmarkHandler$/^MD5$/^ok$"},
		{"serveconn", "^BenchmarkServeConn$"},
	} {
		prof := filepath.Join(h.out, b.name+".prof")
		cmd := h.command(h.serverCPU, test, "-test.run", "^$", "-test.bench", b.pattern, "-test.benchtime", "3s", "-test.benchmem", "-test.cpuprofile", prof)
		cmd.Dir = h.root
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s -test.bench %s: %v\n%s", test, b.pattern, err, out)
		}
		top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount", "100000", test, prof).Output()
		if err != nil {
			return fmt.Errorf("go tool pprof: %v", err)
		}
		if err := os.WriteFile(filepath.Join(h.out, "pprof-"+b.name+".txt"), top, 0o644); err != nil {
			return err
		}
		h.rep.pprofProfile(b.name, benchLine(string(out)), parsePprof(string(top)))
	}
	return nil
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}

// benchLine returns the benchmark result line of go test output.
func benchLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Benchmark") && strings.Contains(l, "ns/op") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return ""
}

// entry is one symbol of a profile.
type entry struct {
	pct    float64
	kernel bool
	sym    string
}

// A perf report line: [children%] self% [k|.] symbol, then IPC columns.
var rePerfLine = regexp.MustCompile(`^\s+([\d.]+)%\s+(?:[\d.]+%\s+)?\[(.)\]\s+(\S+)`)

// parsePerf reads perf report --stdio lines; with --children the share
// is the inclusive one.
func parsePerf(out string) []entry {
	var es []entry
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := rePerfLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		p, _ := strconv.ParseFloat(m[1], 64)
		es = append(es, entry{pct: p, kernel: m[2] == "k", sym: m[3]})
	}
	return es
}

var rePprofLine = regexp.MustCompile(`^\s*[\d.]+\w*s?\s+([\d.]+)%\s+[\d.]+%\s+[\d.]+\w*s?\s+[\d.]+%\s+(.+?)\s*$`)

func parsePprof(out string) []entry {
	var es []entry
	for _, l := range strings.Split(out, "\n") {
		m := rePprofLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		p, _ := strconv.ParseFloat(m[1], 64)
		es = append(es, entry{pct: p, sym: m[2]})
	}
	return es
}

// category sorts a symbol into where the time goes.
func category(e entry) string {
	s := e.sym
	has := func(p ...string) bool {
		for _, x := range p {
			if strings.HasPrefix(s, x) {
				return true
			}
		}
		return false
	}
	switch {
	case e.kernel:
		return "kernel (syscalls, loopback TCP, scheduling)"
	case has("crypto/", "vendor/golang.org/x/crypto"):
		return "hashing (crypto/*)"
	case strings.Contains(s, "tktgate/tktgate/verifier."):
		return "verifier (decode, parse, hex, compare)"
	case has("main.", "github.com/tktgate/tktgate."):
		return "tktgate handler (package main)"
	case strings.Contains(s, "valyala/fasthttp"):
		return "fasthttp (request parsing, answer writing, server loop)"
	case has("runtime.mallocgc", "runtime.gc", "runtime.scanobject", "runtime.markroot", "runtime.greyobject", "runtime.findObject",
		"runtime.(*mspan)", "runtime.(*mheap)", "runtime.(*mcache)", "runtime.(*mcentral)", "runtime.(*gcWork)", "runtime.(*gcControllerState)",
		"runtime.sweepone", "runtime.bgsweep", "runtime.bgscavenge", "runtime.memclrNoHeapPointers", "runtime.heapSetType", "runtime.newobject",
		"runtime.makeslice", "runtime.growslice", "runtime.wbBuf", "runtime.gcDrain", "runtime.(*sweepLocked)", "runtime.nextFreeFast"):
		return "Go allocation and GC"
	case has("runtime.memmove", "runtime.memequal", "runtime.cmpbody", "internal/bytealg.", "runtime.memeqbody", "indexbytebody", "memeqbody", "cmpbody", "bytes.", "strings."):
		return "byte ops (memmove, IndexByte, Equal; bytes, strings)"
	case has("runtime.", "gogo", "runtime·"):
		return "Go runtime (scheduler, netpoll, timers, syscall entry)"
	case has("syscall.", "internal/poll.", "net.", "os.", "internal/runtime/syscall"):
		return "Go syscall and net wrappers"
	case has("sync.", "sync/atomic.", "internal/sync."):
		return "sync (pools, atomics)"
	case has("time.", "__vdso_clock_gettime"):
		return "time (Now, deadlines)"
	case has("bufio."):
		return "bufio"
	case has("[unknown]", "0x"):
		return "unresolved"
	}
	return "other Go"
}

type catShare struct {
	name string
	pct  float64
	top  []entry
}

func categorize(es []entry) []catShare {
	m := map[string]*catShare{}
	for _, e := range es {
		c := category(e)
		if m[c] == nil {
			m[c] = &catShare{name: c}
		}
		m[c].pct += e.pct
		m[c].top = append(m[c].top, e)
	}
	var out []catShare
	for _, c := range m {
		slices.SortFunc(c.top, func(a, b entry) int { return cmpFloat(b.pct, a.pct) })
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b catShare) int { return cmpFloat(b.pct, a.pct) })
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// micro runs the verifier micro-benchmarks into benchmarks/old.txt and
// summarises them with benchstat and the Verify/DigestBaseline ratios.
func (h *harness) micro() error {
	cmd := h.command(h.serverCPU, "go", "test", "-run", "^$", "-bench", "DigestBaseline|Verify", "-count", "6", "./verifier/")
	cmd.Dir = h.root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go test -bench: %v\n%s", err, out)
	}
	old := filepath.Join(h.root, "benchmarks", "old.txt")
	if err := os.WriteFile(old, out, 0o644); err != nil {
		return err
	}
	const benchstat = "golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"
	bs := exec.Command("go", "run", benchstat, "benchmarks/old.txt")
	bs.Dir = h.root
	stat, err := bs.CombinedOutput()
	if err != nil {
		stat = []byte(fmt.Sprintf("(benchstat failed: %v)\n%s", err, stat))
	}
	h.rep.micro(parseBench(string(out)), string(stat))
	return nil
}

// benchStats are the ns/op and allocs/op samples of one benchmark.
type benchStats struct {
	ns, allocs []float64
}

var reBench = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*?\s([\d.]+) allocs/op)?`)

func parseBench(out string) map[string]*benchStats {
	m := map[string]*benchStats{}
	for _, l := range strings.Split(out, "\n") {
		r := reBench.FindStringSubmatch(l)
		if r == nil {
			continue
		}
		b := m[r[1]]
		if b == nil {
			b = &benchStats{}
			m[r[1]] = b
		}
		ns, _ := strconv.ParseFloat(r[2], 64)
		b.ns = append(b.ns, ns)
		if r[3] != "" {
			a, _ := strconv.ParseFloat(r[3], 64)
			b.allocs = append(b.allocs, a)
		}
	}
	return m
}
