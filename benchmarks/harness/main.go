// Command harness runs tktgate's end-to-end benchmarks and writes the
// results table. benchmarks/run.sh builds it and the servers it drives;
// see benchmarks/README.md.
//
//	harness -mode quick|full -root REPO -bin DIR -out DIR -results FILE [-readme FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// modeConfig is how long each part runs.
type modeConfig struct {
	secs, rounds, warm            int // headline comparisons
	webRounds, webWarm            int // comparison 3
	sweepSecs, sweepRounds        int // cost growth
	latRate                       float64
	latConns, latRounds, latRetry int
	latDur, latWarm               time.Duration
	rssRequests                   int
	sizes, counts, concs          []int
	cookieLines                   int // 0 = no several-Cookie-headers point
	micro, profile                bool
	conns                         int
}

var modes = map[string]modeConfig{
	"quick": {
		secs: 1, rounds: 2, warm: 1,
		webRounds: 1, webWarm: 0,
		sweepSecs: 1, sweepRounds: 1,
		latRate: 2000, latConns: 16, latRounds: 1, latDur: 500 * time.Millisecond, latWarm: 200 * time.Millisecond,
		rssRequests: 100_000,
		sizes:       []int{100, 4096}, counts: []int{2, 128}, concs: []int{1, 512},
		conns: 64,
	},
	"full": {
		secs: 2, rounds: 12, warm: 2,
		webRounds: 12, webWarm: 1,
		sweepSecs: 1, sweepRounds: 5,
		latRate: 5000, latConns: 32, latRounds: 2, latDur: 3 * time.Second, latWarm: time.Second, latRetry: 2,
		rssRequests: 1_000_000,
		sizes:       []int{100, 512, 1024, 2048, 4096}, counts: []int{2, 8, 32, 128}, concs: []int{1, 8, 64, 256, 512},
		cookieLines: 32,
		micro:       true, profile: true,
		conns: 64,
	},
}

type harness struct {
	mode                 string
	cfg                  modeConfig
	root, bin, out, tmp  string
	clientCPU, serverCPU string
	conns                int
	procs                []*proc
	served               map[string]int // requests per target name, all runs
	rep                  *report
	started              time.Time
	ticket               string // the MD5 ticket of the first tktgate, for the report
}

func main() {
	h := &harness{served: map[string]int{}, started: time.Now()}
	flag.StringVar(&h.mode, "mode", "quick", "quick (CI smoke, < 60 s) or full (the table)")
	flag.StringVar(&h.root, "root", ".", "repository root")
	flag.StringVar(&h.bin, "bin", "benchmarks/out/bin", "directory of the built binaries")
	flag.StringVar(&h.out, "out", "benchmarks/out", "directory for logs, profiles and raw data")
	results := flag.String("results", "", "write the results (Markdown) to this `file`")
	readme := flag.String("readme", "", "replace the marked results section of this `file`")
	flag.Parse()
	cfg, ok := modes[h.mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "harness: unknown mode %q (quick or full)\n", h.mode)
		os.Exit(2)
	}
	// BENCH_MICRO and BENCH_PROFILE turn those parts off (0) or on (1)
	// in either mode.
	if v := os.Getenv("BENCH_MICRO"); v != "" {
		cfg.micro = v == "1"
	}
	if v := os.Getenv("BENCH_PROFILE"); v != "" {
		cfg.profile = v == "1"
	}
	h.cfg, h.conns = cfg, cfg.conns
	for _, d := range []*string{&h.root, &h.bin, &h.out} {
		a, err := filepath.Abs(*d)
		if err != nil {
			fatal(err)
		}
		*d = a
	}
	if err := os.MkdirAll(filepath.Join(h.out, "logs"), 0o755); err != nil {
		fatal(err)
	}
	var err error
	// Not under a 0700 parent: nginx's and Apache's workers run as nobody
	// and must read the site.
	h.tmp, err = os.MkdirTemp("", "tktgate-bench-")
	if err != nil {
		fatal(err)
	}
	if err := os.Chmod(h.tmp, 0o755); err != nil {
		fatal(err)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "harness: interrupted; stopping the servers")
		h.cleanup()
		os.Exit(130)
	}()

	err = h.run()
	h.cleanup()
	if err != nil {
		fatal(err)
	}
	if only := os.Getenv("BENCH_ONLY"); only != "" {
		// A part of the run: the committed table stays as it is.
		*results, *readme = filepath.Join(h.out, "results-"+only+".md"), ""
	}
	text := h.rep.String()
	fmt.Println()
	fmt.Print(text)
	if *results != "" {
		if err := os.WriteFile(*results, []byte(text+h.rep.raw()), 0o644); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "harness: wrote %s\n", *results)
	}
	if *readme != "" {
		if err := replaceSection(*readme, text); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "harness: updated the results section of %s\n", *readme)
	}
	fmt.Fprintf(os.Stderr, "harness: %s run done in %v\n", h.mode, time.Since(h.started).Round(time.Second))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "harness: FAIL:", err)
	os.Exit(1)
}

func (h *harness) cleanup() {
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].stop()
	}
	h.procs = nil
	if h.tmp != "" {
		os.RemoveAll(h.tmp)
	}
}

func (h *harness) binPath(name string) string { return filepath.Join(h.bin, name) }

func step(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "== "+format+"\n", a...)
}

func (h *harness) run() error {
	n := runtime.NumCPU()
	if n >= 2 {
		h.clientCPU, h.serverCPU = "0", "1"
	} else {
		fmt.Fprintln(os.Stderr, "!! one CPU: wrk and the servers share it; nothing is pinned")
	}
	h.rep = newReport(h)

	step("starting tktgate, the fasthttp ceiling and the net/http version")
	gate, err := h.startTktgate("tktgate", "MD5")
	if err != nil {
		return err
	}
	h.ticket = gate.ticket
	ceil, err := h.startCeiling(gate)
	if err != nil {
		return err
	}
	nh, err := h.startNetHTTP(gate)
	if err != nil {
		return err
	}
	h.rep.pinning(map[string]int{"tktgate": gate.pid, "ceiling": ceil.pid, "nethttp": nh.pid})
	h.rep.answers(gate, ceil.addr, nh.addr)

	sub := subrequestHeaders(browserCookie(gate.ticket))
	tGate := target{name: "tktgate", url: "http://" + gate.addr + "/auth", headers: sub, procs: one(gate.pid)}
	tCeil := target{name: "ceiling", url: "http://" + ceil.addr + "/auth", headers: sub, procs: one(ceil.pid)}
	tNet := target{name: "nethttp", url: "http://" + nh.addr + "/auth", headers: sub, procs: one(nh.pid)}

	only := os.Getenv("BENCH_ONLY")
	if only != "web" {
		step("1-2. tktgate vs the fasthttp ceiling vs net/http: %d rounds x %d s, %d connections", h.cfg.rounds, h.cfg.secs, h.conns)
		a, err := h.alternate("1-2", []target{tCeil, tGate, tNet}, h.cfg.rounds, h.cfg.secs, h.cfg.warm)
		if err != nil {
			return err
		}
		h.rep.groupA(a, map[string]int{"ceiling": ceil.pid, "tktgate": gate.pid, "nethttp": nh.pid})

		if err := h.audit(gate, sub); err != nil {
			return err
		}
	}
	if only == "audit" {
		// Comparisons 1, 2 and 7 alone, e.g. to re-measure the audit
		// log's cost without the half hour of the rest.
		h.rep.end()
		return nil
	}

	step("3. nginx + tktgate vs Apache + mod_auth_tkt vs nginx static")
	var webTargets []target
	ngGate, err := h.startTktgate("tktgate-nginx", "MD5")
	if err != nil {
		return err
	}
	unixGate, err := h.startTktgateOn("tktgate-unix", "MD5", "unix:"+filepath.Join(h.tmp, "tktgate.sock"), "")
	if err != nil {
		return err
	}
	batchAddr, err := freeAddr()
	if err != nil {
		return err
	}
	batchGate, err := h.startTktgateOn("tktgate-batch", "MD5", batchAddr, "")
	if err != nil {
		return err
	}
	unixBatchGate, err := h.startTktgateOn("tktgate-unix-batch", "MD5", "unix:"+filepath.Join(h.tmp, "tktgate-batch.sock"), "")
	if err != nil {
		return err
	}
	cacheAddr, err := freeAddr()
	if err != nil {
		return err
	}
	// As nginx/tktgate-auth-cached.conf's header suggests.
	cachedGate, err := h.startTktgateOn("tktgate-cached", "MD5", cacheAddr, "\n[cache]\nmax_age = \"10s\"\n")
	if err != nil {
		return err
	}
	ceilBatch, err := h.startCeilingAs("ceiling-batch", gate)
	if err != nil {
		return err
	}
	ng, errN := h.startNginx(ngGate, unixGate, batchGate, unixBatchGate, cachedGate, ceil, ceilBatch)
	ap, errA := h.startApache(gate.ticket)
	for _, e := range []error{errN, errA} {
		if e != nil && e != errSkip {
			return e
		}
	}
	client := clientHeaders(browserCookie(gate.ticket))
	short := shortClientHeaders(shortCookie(gate.ticket))
	web := func(name, addr string, headers []string, pids ...int) target {
		return target{name: name, url: "http://" + addr + "/index.html", headers: headers, procs: treeOf(pids...), minBytes: len(staticFile())}
	}
	if errN == nil {
		h.rep.pinning(map[string]int{"nginx": ng.pid, "tktgate-nginx": ngGate.pid, "tktgate-unix": unixGate.pid, "tktgate-batch": batchGate.pid, "tktgate-unix-batch": unixBatchGate.pid, "tktgate-cached": cachedGate.pid, "ceiling-batch": ceilBatch.pid})
		pids := map[string][]int{
			nameStatic: {ng.pid}, nameNginx: {ng.pid, ngGate.pid}, nameNginxAllHeaders: {ng.pid, ngGate.pid},
			nameNginxUnix: {ng.pid, unixGate.pid}, nameNginxCeiling: {ng.pid, ceil.pid},
			nameNginxCeilingBatch: {ng.pid, ceilBatch.pid},
			nameNginxBatch:        {ng.pid, batchGate.pid}, nameNginxUnixBatch: {ng.pid, unixBatchGate.pid},
			nameNginxCached: {ng.pid, cachedGate.pid}, nameNginxLua: {ng.pid},
		}
		for _, st := range nginxSetups {
			if a := ng.sites[st.name]; a != "" {
				webTargets = append(webTargets, web(st.name, a, client, pids[st.name]...))
			}
		}
		webTargets = append(webTargets, web(nameNginxShort, ng.sites[nameNginx], short, ng.pid, ngGate.pid))
	}
	if errA == nil {
		h.rep.pinning(map[string]int{"apache": ap.pid})
		webTargets = append(webTargets, web(nameApache, ap.addr, client, ap.pid), web(nameApacheShort, ap.addr, short, ap.pid))
	}
	if len(webTargets) > 0 {
		gates := []string{ngGate.addr, unixGate.addr, batchGate.addr, unixBatchGate.addr}
		before := 0
		for _, a := range gates {
			before += authCount(a)
		}
		cachedBefore := authCount(cachedGate.addr)
		b, err := h.alternate("3", webTargets, h.cfg.webRounds, h.cfg.secs, h.cfg.webWarm)
		if err != nil {
			return err
		}
		checked := -before
		for _, a := range gates {
			checked += authCount(a)
		}
		served := h.served[nameNginx] + h.served[nameNginxAllHeaders] + h.served[nameNginxUnix] + h.served[nameNginxShort] + h.served[nameNginxBatch] + h.served[nameNginxUnixBatch]
		if errN == nil && checked < served {
			return fmt.Errorf("nginx served %d protected requests but tktgate checked only %d", served, checked)
		}
		// The cached row must really be cached. Misses come once per
		// max_age (10 s), each as a burst of up to one per connection
		// (the requests in flight when the entry expires all miss: no
		// proxy_cache_lock), so allow 5% of the requests.
		cachedChecked := authCount(cachedGate.addr) - cachedBefore
		if errN == nil && cachedChecked*20 > h.served[nameNginxCached] {
			return fmt.Errorf("nginx served %d requests from its cache of tktgate's answers, yet tktgate checked %d: the cache does not hit", h.served[nameNginxCached], cachedChecked)
		}
		h.rep.groupB(b, checked, served, cachedChecked, h.served[nameNginxCached])
	}
	if only == "web" {
		// Comparisons 3 and 6 alone: the wirings side by side, e.g. to
		// try a change to the nginx files in a few minutes.
		h.rep.end()
		return nil
	}

	step("4. latency at a fixed rate (%g req/s, %d connections, open loop)", h.cfg.latRate, h.cfg.latConns)
	lat := append([]target{tGate, tCeil, tNet}, webTargets...)
	if err := h.latency(lat); err != nil {
		return err
	}

	step("4. tktgate's memory after %d requests", h.cfg.rssRequests)
	if err := h.rss(); err != nil {
		return err
	}

	step("5. cost growth")
	if err := h.sweeps(gate, tGate, tCeil); err != nil {
		return err
	}
	h.rep.finalMemory(map[string]int{"tktgate": gate.pid, "ceiling": ceil.pid, "nethttp": nh.pid}, h.served)

	if h.cfg.profile {
		step("profile: perf on the live tktgate, pprof on the root package's benchmarks")
		if err := h.profile(gate, tGate); err != nil {
			// The tables above stand without it.
			fmt.Fprintln(os.Stderr, "!! profile:", err)
			h.rep.note("The profile failed: " + firstLineOf(err.Error()))
		}
	}
	// The servers are not needed any more; stop them before the
	// micro-benchmarks so that they run alone.
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].stop()
	}
	if h.cfg.micro {
		step("Go micro-benchmarks: verifier Verify vs DigestBaseline")
		if err := h.micro(); err != nil {
			fmt.Fprintln(os.Stderr, "!! micro-benchmarks:", err)
			h.rep.note("The verifier micro-benchmarks failed: " + firstLineOf(err.Error()))
		}
	}
	h.rep.end()
	return nil
}

func firstLineOf(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func one(pid int) func() []int { return func() []int { return []int{pid} } }

func treeOf(pids ...int) func() []int {
	return func() []int {
		var out []int
		for _, p := range pids {
			out = append(out, tree(p)...)
		}
		return out
	}
}

var reAuthTotal = regexp.MustCompile(`(?m)^tktgate_auth_requests_total\{[^}]*\} (\d+)$`)

// authCount is the number of auth answers tktgate at addr has given
// (-1 when /metrics cannot be read).
func authCount(addr string) int {
	r, err := rawGet(addr, "/metrics", nil)
	if err != nil || r.status != 200 {
		return -1
	}
	n := 0
	for _, m := range reAuthTotal.FindAllStringSubmatch(string(r.body), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// Names of the comparison 3 setups.
const (
	nameStatic            = "nginx static"
	nameNginx             = "nginx + tktgate"
	nameNginxAllHeaders   = "nginx + tktgate, every header forwarded"
	nameNginxUnix         = "nginx + tktgate, unix socket"
	nameNginxBatch        = "nginx + tktgate, SCHED_BATCH"
	nameNginxUnixBatch    = "nginx + tktgate, unix socket, SCHED_BATCH"
	nameNginxCeiling      = "nginx + auth_request to the fasthttp ceiling"
	nameNginxCeilingBatch = "nginx + auth_request to the fasthttp ceiling, SCHED_BATCH"
	nameNginxCached       = "nginx + tktgate, cached"
	nameNginxLua          = "nginx + Lua in-process check"
	nameApache            = "Apache + mod_auth_tkt"
	nameNginxShort        = "nginx + tktgate, short request"
	nameApacheShort       = "Apache + mod_auth_tkt, short request"
)

// nameAudit is comparison 7's tktgate that logs every answer.
const nameAudit = "tktgate, log_requests = all"

// audit measures the audit log's cost (comparison 7): g (log_requests
// "none", the default) against a tktgate that writes a line per answer
// to its log file, both sent nginx's X-Request-ID as well, alternated.
// Every answer must have its line.
func (h *harness) audit(g *gate, sub []string) error {
	step("7. audit log: log_requests = \"all\" vs \"none\": %d rounds x %d s", h.cfg.rounds, h.cfg.secs)
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	ag, err := h.startTktgateWith("tktgate-audit", "MD5", addr, "log_requests = \"all\"\n", "")
	if err != nil {
		return err
	}
	defer ag.stop()
	hs := sub // with nginx's X-Request-ID, as the shipped files send it
	tNone := target{name: "tktgate", url: "http://" + g.addr + "/auth", headers: hs, procs: one(g.pid)}
	tAll := target{name: nameAudit, url: "http://" + ag.addr + "/auth", headers: hs, procs: one(ag.pid)}
	res, err := h.alternate("7", []target{tNone, tAll}, h.cfg.rounds, h.cfg.secs, h.cfg.warm)
	if err != nil {
		return err
	}
	answered := authCount(ag.addr)
	time.Sleep(1500 * time.Millisecond) // the audit log is written every second
	b, err := os.ReadFile(ag.log)
	if err != nil {
		return err
	}
	lines := strings.Count(string(b), `"msg":"auth answer"`)
	if lines < answered {
		return fmt.Errorf("%s answered %d requests but wrote %d audit lines", nameAudit, answered, lines)
	}
	h.rep.audit(res, answered, len(b))
	return nil
}

// rss serves rssRequests valid-ticket answers from a fresh tktgate and
// reads its memory before and after.
func (h *harness) rss() error {
	g, err := h.startTktgate("tktgate-rss", "MD5")
	if err != nil {
		return err
	}
	defer g.stop()
	idle, idleHWM, err := memKB(g.pid)
	if err != nil {
		return err
	}
	t := target{name: "tktgate-rss", url: "http://" + g.addr + "/auth", headers: subrequestHeaders(browserCookie(g.ticket)), procs: one(g.pid)}
	var n int
	start := time.Now()
	for n < h.cfg.rssRequests {
		secs := 2
		if h.mode == "quick" {
			secs = 1
		}
		if _, err := h.wrk(t, secs); err != nil {
			return err
		}
		if n = authCount(g.addr); n < 0 {
			return fmt.Errorf("tktgate-rss: cannot read /metrics")
		}
		if time.Since(start) > 2*time.Minute {
			break
		}
	}
	rss, hwm, err := memKB(g.pid)
	if err != nil {
		return err
	}
	h.rep.memory(n, idle, idleHWM, rss, hwm)
	return nil
}

// replaceSection replaces the text between the results markers of path.
func replaceSection(path, text string) error {
	const begin, end = "<!-- results:begin -->", "<!-- results:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s ... %s section", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + text + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
