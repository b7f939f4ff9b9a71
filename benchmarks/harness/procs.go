package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server the harness started. It runs in its own process group
// so that stopping it also stops its workers (nginx, Apache).
type proc struct {
	name   string
	cmd    *exec.Cmd
	pid    int
	exited chan struct{}
	err    error
	log    string
}

// command runs name pinned to cpu ("" = not pinned) with taskset, which
// execs it: the pid is the program's own.
func (h *harness) command(cpu, name string, args ...string) *exec.Cmd {
	if cpu != "" {
		return exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (h *harness) start(name, bin string, args ...string) (*proc, error) {
	return h.startEnv(name, nil, bin, args...)
}

// startEnv starts bin on the server CPU with env (nil = the harness's).
func (h *harness) startEnv(name string, env []string, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(h.out, "logs", name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := h.command(h.serverCPU, bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	h.procs = append(h.procs, p)
	return p, nil
}

// stop ends the process group: SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.exited
	}
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// waitPort waits until addr accepts connections or p exits.
func waitPort(p *proc, addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during start-up (%v):\n%s", p.name, p.err, p.tail())
		default:
		}
		c, err := dial(addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after 15 s:\n%s", p.name, addr, p.tail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dial connects to "host:port" or "unix:/path".
func dial(addr string, timeout time.Duration) (net.Conn, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return net.DialTimeout("unix", path, timeout)
	}
	return net.DialTimeout("tcp", addr, timeout)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tree returns pid and all its descendants.
func tree(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := ppid(n); ok {
			children[pp] = append(children[pp], n)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statFields returns the fields of /proc/pid/stat after the command name.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func ppid(pid int) (int, bool) {
	f := statFields(pid)
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil
}

// clkTck is USER_HZ, 100 on every Linux architecture Go supports.
const clkTck = 100

// cpuSeconds is the user+system CPU time of the given processes.
func cpuSeconds(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		// utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return float64(ticks) / clkTck
}

// memKB returns VmRSS and VmHWM of pid in KiB.
func memKB(pid int) (rss, hwm int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

func cpusAllowed(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// schedPolicy names the scheduling policy of pid's main thread (field 41
// of /proc/PID/stat): what the report's labels SCHED_BATCH and
// SCHED_OTHER claim, read back.
func schedPolicy(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "?"
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 39 {
		return "?"
	}
	switch f[38] {
	case "0":
		return "other"
	case "3":
		return "batch"
	case "5":
		return "idle"
	}
	return f[38]
}

// rawResp is one HTTP/1.1 answer, headers in order.
type rawResp struct {
	status  int
	headers [][2]string
	body    []byte
	size    int // bytes on the wire
}

func (r rawResp) get(k string) string {
	for _, h := range r.headers {
		if strings.EqualFold(h[0], k) {
			return h[1]
		}
	}
	return ""
}

// rawGet sends one GET with exactly these headers (plus Host) on a new
// connection and reads the answer.
func rawGet(addr, path string, headers []string) (rawResp, error) {
	var r rawResp
	c, err := dial(addr, 2*time.Second)
	if err != nil {
		return r, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	host := addr
	if strings.HasPrefix(addr, "unix:") {
		host = "localhost"
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	for _, h := range headers {
		req.WriteString(h + "\r\n")
	}
	req.WriteString("Connection: close\r\n\r\n")
	if _, err := c.Write(req.Bytes()); err != nil {
		return r, err
	}
	all, err := io.ReadAll(c)
	if err != nil && len(all) == 0 {
		return r, err
	}
	head, body, ok := bytes.Cut(all, []byte("\r\n\r\n"))
	if !ok {
		return r, fmt.Errorf("GET %s: incomplete answer %q", path, all)
	}
	lines := strings.Split(string(head), "\r\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 {
		return r, fmt.Errorf("GET %s: bad status line %q", path, lines[0])
	}
	r.status, err = strconv.Atoi(f[1])
	if err != nil {
		return r, fmt.Errorf("GET %s: bad status line %q", path, lines[0])
	}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		r.headers = append(r.headers, [2]string{k, strings.TrimSpace(v)})
	}
	r.body = body
	r.size = len(all)
	// The request asked for Connection: close; the benchmark's keep-alive
	// answers lack that header line.
	if v := r.get("Connection"); strings.EqualFold(v, "close") {
		r.size -= len("Connection: close\r\n")
	}
	return r, nil
}

var errSkip = errors.New("skipped")
