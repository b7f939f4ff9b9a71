package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// report collects the Markdown results as the run goes.
type report struct {
	h        *harness
	env      []string
	pins     map[string]string
	headline []string
	sections []string
	notes    []string
	rawRuns  []string
	loadEnd  string
}

func newReport(h *harness) *report {
	r := &report{h: h, pins: map[string]string{}}
	// Output even on a non-zero exit: wrk -v exits 1.
	cmdOut := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil && len(out) == 0 {
			return "not installed"
		}
		return strings.TrimSpace(string(out))
	}
	firstLine := func(s string) string { return strings.Split(s, "\n")[0] }
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindStringSubmatch(string(b)); m != nil {
			cpu = m[1]
		}
	}
	fasthttp := "?"
	if b, err := os.ReadFile(filepath.Join(h.root, "go.mod")); err == nil {
		if m := regexp.MustCompile(`github.com/valyala/fasthttp (v\S+)`).FindStringSubmatch(string(b)); m != nil {
			fasthttp = m[1]
		}
	}
	commit := cmdOut("git", "-C", h.root, "rev-parse", "--short", "HEAD")
	if st := cmdOut("git", "-C", h.root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks"); st != "" && st != "not installed" {
		commit += " + uncommitted changes"
	}
	nginx := strings.TrimPrefix(firstLine(cmdOut("nginx", "-v")), "nginx version: ")
	apache := strings.TrimPrefix(firstLine(cmdOut("/usr/sbin/apache2", "-v")), "Server version: ")
	tkt := cmdOut("dpkg-query", "-W", "-f", "${Version}", "libapache2-mod-auth-tkt")
	wrk := strings.Fields(firstLine(cmdOut("wrk", "-v")) + " ? ?")[1]
	r.env = []string{
		fmt.Sprintf("date: %s", time.Now().UTC().Format("2006-01-02 15:04 UTC")),
		fmt.Sprintf("command: `benchmarks/run.sh %s`", h.mode),
		fmt.Sprintf("machine: %d CPUs (`nproc`), %s, Linux %s; load average at start %s (the machine is shared)", runtime.NumCPU(), cpu, cmdOut("uname", "-r"), loadavg()),
		fmt.Sprintf("versions: %s, fasthttp %s, %s, %s with libapache2-mod-auth-tkt %s, wrk %s", runtime.Version(), fasthttp, nginx, apache, tkt, wrk),
		fmt.Sprintf("tktgate: commit %s, built with `go build` from the repository root", commit),
	}
	return r
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (r *report) pinning(pids map[string]int) {
	for n, pid := range pids {
		r.pins[n] = cpusAllowed(pid) + ", " + schedPolicy(pid)
	}
}

func (r *report) note(s string) { r.notes = append(r.notes, s) }

func (r *report) add(s string) {
	r.sections = append(r.sections, s)
	fmt.Fprintln(os.Stderr)
	fmt.Fprintln(os.Stderr, s)
}

func rps(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func x(v float64) string { return fmt.Sprintf("%.2f×", v) }

func us(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1f ms", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f µs", v)
	}
	return fmt.Sprintf("%.1f µs", v)
}

// ratioCell is "median (spread)", the spread being the interquartile
// range of the per-round ratios from 4 rounds on, else their range.
func ratioCell(a, b *series) string {
	m, lo, hi := ratio(a, b)
	c, n := cleanRounds(a, b)
	used := fmt.Sprintf("%d/%d rounds", c, n)
	if 2*c < n {
		used = fmt.Sprintf("all %d rounds, few clean", n)
	}
	if len(ratios(a, b)) == 1 {
		return fmt.Sprintf("**%s**", x(m))
	}
	return fmt.Sprintf("**%s** (%.2f–%.2f; %s)", x(m), lo, hi, used)
}

// costCell is b's CPU per answer over a's, the median over the rounds
// used for the rate ratio (IQR in brackets from 4 rounds on): the rate
// ratio the CPU costs predict for two servers that each have a core to
// themselves.
func costCell(a, b *series) string {
	v := cpuRatios(a, b)
	if len(v) == 0 {
		return "—"
	}
	if len(v) < 4 {
		return fmt.Sprintf("**%s**", x(median(v)))
	}
	return fmt.Sprintf("**%s** (%.2f–%.2f)", x(median(v)), quantile(v, 0.25), quantile(v, 0.75))
}

// cpuRatios are b's CPU per answer over a's per round, in the rounds
// ratios uses.
func cpuRatios(a, b *series) []float64 {
	var all, clean []float64
	for i := range min(len(a.samples), len(b.samples)) {
		ca, cb := a.samples[i].cpuPerReq, b.samples[i].cpuPerReq
		if ca <= 0 || cb <= 0 {
			continue
		}
		all = append(all, cb/ca)
		if a.clean(i) && b.clean(i) {
			clean = append(clean, cb/ca)
		}
	}
	if 2*len(clean) < len(all) {
		return all
	}
	return clean
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// headlineRow adds a row comparing a with b; ok judges the median rate
// ratio, okCPU the median CPU-per-answer ratio (nil: not judged).
func (r *report) headlineRow(what string, a, b *series, target string, ok func(float64) bool) {
	r.headlineRowBy(what, a, b, target, ok, nil)
}

func (r *report) headlineRowBy(what string, a, b *series, target string, ok, okCPU func(float64) bool) {
	m, _, _ := ratio(a, b)
	v := "—"
	switch {
	case (ok != nil || okCPU != nil) && r.h.mode == "quick":
		v = "not judged (quick run)"
	case ok != nil:
		v = verdict(ok(m))
	case okCPU != nil:
		v = verdict(okCPU(median(cpuRatios(a, b))))
	}
	r.headline = append(r.headline, fmt.Sprintf("| %s | %s req/s, %s | %s req/s, %s | %s | %s | %s | %s |", what, rps(a.rps()), us(a.cpu()), rps(b.rps()), us(b.cpu()), ratioCell(a, b), costCell(a, b), target, v))
}

func find(ss []*series, name string) *series {
	for _, s := range ss {
		if s.t.name == name {
			return s
		}
	}
	return nil
}

func (r *report) rawSeries(label string, ss []*series) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n**%s** (req/s / server CPU µs per answer / CPU share, per round, in run order forward/backward):\n\n", label)
	for _, s := range ss {
		var v []string
		for _, x := range s.samples {
			v = append(v, fmt.Sprintf("%s / %.1f / %.0f%%", rps(x.rps), x.cpuPerReq, 100*x.util))
		}
		fmt.Fprintf(&b, "- %s: %s\n", s.t.name, strings.Join(v, ", "))
	}
	r.rawRuns = append(r.rawRuns, b.String())
}

func (r *report) answers(g *gate, ceilAddr, netAddr string) {
	var b strings.Builder
	b.WriteString("### What the servers answer\n\n")
	b.WriteString("Every `/auth` request carries a valid MD5 ticket (uid `bench`, tokens `admin,editor`, data `Bench User`, bound to 127.0.0.1) in the Cookie header\n")
	fmt.Fprintf(&b, "`%s`, plus the headers nginx's auth subrequest carries with the shipped nginx/tktgate-auth.conf (X-Real-IP, X-Forwarded-For, X-Original-URL, X-Original-Method, X-Request-ID; none of the browser's own).\n\n", browserCookie("<ticket>"))
	b.WriteString("| server | status | answer bytes | headers |\n|---|---|---|---|\n")
	sub := subrequestHeaders(browserCookie(g.ticket))
	for _, s := range []struct{ name, addr string }{{"tktgate", g.addr}, {"ceiling", ceilAddr}, {"nethttp", netAddr}} {
		a, err := rawGet(s.addr, "/auth", sub)
		if err != nil {
			fmt.Fprintf(&b, "| %s | error %v | | |\n", s.name, err)
			continue
		}
		var hs []string
		for _, kv := range a.headers {
			if !strings.EqualFold(kv[0], "Connection") {
				hs = append(hs, kv[0])
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", s.name, a.status, a.size, strings.Join(hs, ", "))
	}
	r.add(b.String())
}

func (r *report) groupA(ss []*series, pids map[string]int) {
	c, g, n := find(ss, "ceiling"), find(ss, "tktgate"), find(ss, "nethttp")
	r.headlineRow("1. tktgate `/auth` vs the bare fasthttp ceiling", g, c, "≥ 0.90×", func(v float64) bool { return v >= 0.90 })
	r.headlineRow("2. tktgate vs the same check on net/http", g, n, "> 1× (shows what fasthttp buys)", nil)
	var b strings.Builder
	fmt.Fprintf(&b, "### 1–2. tktgate vs the fasthttp ceiling vs net/http\n\n%d rounds × %d s per server, alternated (ceiling, tktgate, net/http, then backwards), %d keep-alive connections, after %d s of warm-up each.\n\n", len(c.samples), r.h.cfg.secs, r.h.conns, r.h.cfg.warm)
	b.WriteString("| server | req/s (median) | tktgate ÷ it | server CPU per answer | CPU share | wrk p50 / p99 (closed loop) | bytes per answer |\n|---|---|---|---|---|---|---|\n")
	for _, s := range []*series{c, g, n} {
		rc := "—"
		if s != g {
			rc = ratioCell(g, s)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s / %s | %.0f |\n", s.t.name, rps(s.rps()), rc, us(s.cpu()), share(s),
			us(s.med(func(x sample) float64 { return x.p50 })), us(s.med(func(x sample) float64 { return x.p99 })), s.med(func(x sample) float64 { return x.bytesPer }))
	}
	r.add(b.String())
	r.rawSeries("1–2", ss)
}

// audit reports comparison 7: what the audit log costs.
func (r *report) audit(ss []*series, lines, bytes int) {
	none, all := find(ss, "tktgate"), find(ss, nameAudit)
	r.headlineRow("7. tktgate with the audit log (`log_requests = \"all\"`, a JSON line per answer to a file) vs without (`\"none\"`)", all, none, "≥ 0.70×", func(v float64) bool { return v >= 0.70 })
	var b strings.Builder
	fmt.Fprintf(&b, "### 7. The audit log's cost\n\n%d rounds × %d s per server, alternated, %d keep-alive connections; both get the subrequest's headers plus nginx's `X-Request-ID`. The logging tktgate's standard error is a file: %s lines, %.0f bytes each on average.\n\n", len(none.samples), r.h.cfg.secs, r.h.conns, rps(float64(lines)), float64(bytes)/float64(max(lines, 1)))
	b.WriteString("| server | req/s (median) | ÷ without the log | server CPU per answer | CPU share |\n|---|---|---|---|---|\n")
	for _, s := range []*series{none, all} {
		rc := "—"
		if s == all {
			rc = ratioCell(all, none)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.t.name, rps(s.rps()), rc, us(s.cpu()), share(s))
	}
	r.add(b.String())
	r.rawSeries("7", ss)
}

func (r *report) groupB(ss []*series, checked, nginxServed, cachedChecked, cachedServed int) {
	st, ng, all, nu, ce, ap := find(ss, nameStatic), find(ss, nameNginx), find(ss, nameNginxAllHeaders), find(ss, nameNginxUnix), find(ss, nameNginxCeiling), find(ss, nameApache)
	nc, lua := find(ss, nameNginxCached), find(ss, nameNginxLua)
	ngShort, apShort := find(ss, nameNginxShort), find(ss, nameApacheShort)
	atLeast := func(t float64) func(float64) bool { return func(v float64) bool { return v >= t } }
	nb, nub, ceb := find(ss, nameNginxBatch), find(ss, nameNginxUnixBatch), find(ss, nameNginxCeilingBatch)
	if nb != nil && ap != nil {
		r.headlineRowBy("3. nginx + auth_request + tktgate as shipped (TCP, keepalive 256, the subrequest carries only what tktgate reads, `cpu_scheduling = \"batch\"` as config.toml and systemd/tktgate.service set it) vs Apache + mod_auth_tkt, a browser's page view", nb, ap, "≥ 1.2× by CPU per answer", nil, atLeast(1.2))
	}
	if ceb != nil && ap != nil {
		r.headlineRow("3. the limit of that wiring: nginx + auth_request to the fasthttp ceiling under SCHED_BATCH (any uncached auth service over TCP, scheduled alike) vs Apache + mod_auth_tkt", ceb, ap, "—", nil)
	}
	if nb != nil && ceb != nil {
		r.headlineRowBy("3. nginx + tktgate as shipped vs nginx + auth_request to the fasthttp ceiling, both under SCHED_BATCH (the cost of any uncached auth service)", nb, ceb, "≥ 0.95× by CPU per answer", nil, atLeast(0.95))
	}
	if nub != nil && ap != nil {
		r.headlineRow("3. the same over a unix socket (tktgate-upstream-unix.conf), SCHED_BATCH, vs Apache + mod_auth_tkt", nub, ap, "—", nil)
	}
	if ng != nil && ap != nil {
		r.headlineRow("3. nginx + tktgate over TCP under SCHED_OTHER (`cpu_scheduling = \"other\"`, Linux's default) vs Apache + mod_auth_tkt", ng, ap, "—", nil)
	}
	if nb != nil && ng != nil {
		r.headlineRow("3. what SCHED_BATCH buys: nginx + tktgate as shipped vs the same under SCHED_OTHER", nb, ng, "—", nil)
	}
	if nu != nil && ap != nil {
		r.headlineRow("3. the same over a unix socket under SCHED_OTHER vs Apache + mod_auth_tkt", nu, ap, "—", nil)
	}
	if ng != nil && ce != nil {
		r.headlineRow("3. nginx + tktgate vs nginx + auth_request to the fasthttp ceiling, both under SCHED_OTHER", ng, ce, "—", nil)
	}
	if all != nil && ap != nil {
		r.headlineRow("3. SCHED_OTHER, forwarding every header of the browser's (as shipped until 2026-12-04) vs Apache + mod_auth_tkt", all, ap, "—", nil)
	}
	if ng != nil && all != nil {
		r.headlineRow("3. what `proxy_pass_request_headers off` buys: nginx + tktgate vs the same forwarding every header, both under SCHED_OTHER", ng, all, "—", nil)
	}
	if ngShort != nil && apShort != nil {
		r.headlineRow("3. nginx + tktgate under SCHED_OTHER vs Apache + mod_auth_tkt, the short request measured until 2026-12-04", ngShort, apShort, "—", nil)
	}
	if nb != nil && st != nil {
		r.headlineRow("3. nginx + tktgate as shipped vs nginx static with no auth (the row's ceiling)", nb, st, "—", nil)
	}
	if nc != nil && lua != nil {
		r.headlineRowBy("6. nginx + tktgate with nginx/tktgate-auth-cached.conf's cache vs the check in Lua inside nginx", nc, lua, "≥ 1.05× by CPU per answer", nil, atLeast(1.05))
	}
	if nc != nil && ap != nil {
		r.headlineRowBy("6. nginx + tktgate, cached, vs Apache + mod_auth_tkt", nc, ap, "≥ 2× by CPU per answer", nil, atLeast(2))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### 3. nginx + tktgate vs Apache + mod_auth_tkt, the same 612-byte file\n\n%d round(s) × %d s each, alternated, %d keep-alive connections. The client sends a browser's page view: Chrome 131's headers (sec-ch-ua, sec-ch-ua-mobile, sec-ch-ua-platform, Upgrade-Insecure-Requests, User-Agent, Accept, Sec-Fetch-Site/Mode/User/Dest, Referer, Accept-Encoding, Accept-Language) and a %d-byte Cookie header (`%s`), %d bytes in all with the request line and Host; the \"short request\" rows send what this table sent until 2026-12-04 (%d bytes: User-Agent, Accept, Accept-Language and `%s`). nginx has one worker; tktgate runs beside it on the same CPU. Every nginx setup is the shipped files (nginx/tktgate-upstream*.conf, tktgate-auth.conf or tktgate-auth-cached.conf, tktgate-location.conf) with only the upstream's name and address replaced.\n\n",
		len(ss[0].samples), r.h.cfg.secs, r.h.conns, len("Cookie: ")+len(browserCookie(r.h.ticket)), browserCookie("<ticket>"), requestSize(clientHeaders(browserCookie(r.h.ticket))), requestSize(shortClientHeaders(shortCookie(r.h.ticket))), shortCookie("<ticket>"))
	b.WriteString("| setup | req/s (median) | ÷ nginx static | ÷ Apache (by req/s) | ÷ Apache by CPU per answer | server CPU per answer (all its processes) | CPU share | wrk p50 / p99 | bytes per answer |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range ss {
		rs, ra, rc := "—", "—", "—"
		base := ap
		if s == ngShort || s == apShort {
			base = apShort
		}
		if st != nil && s != st && s != ngShort && s != apShort {
			rs = ratioCell(s, st)
		}
		if base != nil && s != base {
			ra, rc = ratioCell(s, base), costCell(s, base)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s / %s | %.0f |\n", s.t.name, rps(s.rps()), rs, ra, rc, us(s.cpu()), share(s),
			us(s.med(func(x sample) float64 { return x.p50 })), us(s.med(func(x sample) float64 { return x.p99 })), s.med(func(x sample) float64 { return x.bytesPer }))
	}
	b.WriteString("\n- **nginx + tktgate, SCHED_BATCH** is the shipped wiring: tktgate-upstream.conf (`keepalive 256`) and tktgate-auth.conf, whose subrequest carries only what tktgate reads (`proxy_pass_request_headers off`; Cookie, the address, the original URL and method, the request id, a traceparent if any), to a tktgate with `cpu_scheduling = \"batch\"` (config.toml's; systemd/tktgate.service sets the same from outside).\n- **nginx + tktgate** (no SCHED_BATCH in its name): the same to a tktgate with `cpu_scheduling = \"other\"`, Linux's default policy.\n")
	b.WriteString("- **every header forwarded**: the same with `proxy_pass_request_headers on`, as shipped until 2026-12-04: nginx copies the browser's headers into every subrequest and tktgate parses them.\n")
	b.WriteString("- **unix socket**: tktgate-upstream-unix.conf to a second tktgate listening on `unix:` (socket_mode 0666).\n")
	b.WriteString("- **SCHED_BATCH**: tktgates (TCP and unix socket) with `cpu_scheduling = \"batch\"`, and a ceiling server started with `chrt -b 0`: their wake-ups do not preempt nginx, which goes on with the other requests it has and hands them a batch of subrequests at once, instead of switching for each.\n")
	b.WriteString("- **auth_request to the fasthttp ceiling**: the shipped wiring to the ceiling server of comparison 1, which answers every subrequest 200 with tktgate's headers without looking at it: the cheapest auth endpoint there can be, so the cost of the subrequest itself.\n")
	b.WriteString("- **cached**: a third tktgate with `[cache] max_age = \"10s\"`, and tktgate-auth-cached.conf with tktgate-cache.conf (`proxy_cache`, key upstream and policy + `$remote_addr` + `$http_cookie`, bypass for URL tickets). Every client sends the same ticket, so after the first miss per 10 s nginx answers from its cache.\n")
	b.WriteString("- **Lua in-process check**: no auth service; an `access_by_lua_block` (libnginx-mod-http-lua, LuaJIT) checks the same MD5 ticket inside nginx: base64 or raw cookie, IP, digest, 2 h timeout, identity headers. Less than tktgate does (no refresh, tokens, quoting or %21 forms): the lower bound of an in-process check.\n")
	b.WriteString("- **short request** rows are ÷ Apache with the short request.\n")
	if ng != nil {
		fmt.Fprintf(&b, "\nThe tktgates behind nginx gave %s auth answers while nginx served %s protected requests: every request was checked.\n", rps(float64(checked)), rps(float64(nginxServed)))
	}
	if nc != nil {
		fmt.Fprintf(&b, "The cached row's tktgate gave %d answers for %s requests: the rest came from nginx's cache.\n", cachedChecked, rps(float64(cachedServed)))
	}
	r.add(b.String())
	r.rawSeries("3", ss)
}

// requestSize is the size of a GET /index.html with headers as wrk
// sends it (Host 127.0.0.1:PORT, five-digit port).
func requestSize(headers []string) int {
	n := len("GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:12345\r\n\r\n")
	for _, h := range headers {
		n += len(h) + 2
	}
	return n
}

func (r *report) latency(res []latResult) {
	c := r.h.cfg
	var b strings.Builder
	fmt.Fprintf(&b, "### 4. Latency at a fixed rate\n\n`benchmarks/loadgen`, open loop: %g req/s over %d keep-alive connections, each request due at a fixed time and timed from then (a stall is charged to every request queued behind it, as wrk2 does); %d round(s) × %v per server after %v of warm-up, alternated, samples pooled.\n\n",
		c.latRate, c.latConns, c.latRounds, c.latDur, c.latWarm)
	b.WriteString("| server | achieved req/s | p50 | p90 | p99 | p99.9 | max | samples | errors | generator lag p99 | runs redone |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range res {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d | %d | %s | %d |\n", l.name, rps(l.achieved), us(l.p50), us(l.p90), us(l.p99), us(l.p999), us(l.max), l.samples, l.errs, us(l.lagP99), l.retries)
	}
	fmt.Fprintf(&b, "\nThe generator lag is how late loadgen itself wrote requests (timer and scheduling error on the client CPU); latencies include it. A run whose lag p99 exceeded %d µs (loadgen held up by other work on the machine) was redone, up to %d times; a lag above that in the table means every try was disturbed.\n", maxLagUs, c.latRetry)
	r.add(b.String())
}

func (r *report) memory(n, idle, idleHWM, rss, hwm int) {
	r.add(fmt.Sprintf("### 4. tktgate's memory\n\nA fresh tktgate, VmRSS / VmHWM from /proc/PID/status:\n\n| when | requests answered | VmRSS | VmHWM (peak) |\n|---|---|---|---|\n| after start-up and one request | 1 | %s | %s |\n| after the load (%d connections) | %s | %s | %s |\n",
		mib(idle), mib(idleHWM), r.h.conns, rps(float64(n)), mib(rss), mib(hwm)))
}

// share is the median share of its CPU the server got, and how many of
// its runs were clean.
func share(s *series) string {
	return fmt.Sprintf("%.0f%% (%d/%d clean)", 100*s.med(func(x sample) float64 { return x.util }), s.nClean(), len(s.samples))
}

func mib(kb int) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func (r *report) finalMemory(pids map[string]int, served map[string]int) {
	var b strings.Builder
	b.WriteString("At the end of all the load above (including 512 connections where the sweep goes that far):\n\n| server | requests answered | VmRSS | VmHWM (peak) |\n|---|---|---|---|\n")
	names := make([]string, 0, len(pids))
	for n := range pids {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rss, hwm, err := memKB(pids[n])
		if err != nil {
			continue
		}
		total := 0
		for k, v := range served {
			if k == n || strings.HasPrefix(k, n+" ") {
				total += v
			}
		}
		if n == "tktgate" {
			total += served["MD5"]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", n, rps(float64(total)), mib(rss), mib(hwm))
	}
	r.add(b.String())
}

func (r *report) sizeSweep(sizes []int, ss []*series) {
	var b strings.Builder
	fmt.Fprintf(&b, "### 5. How the cost grows\n\nEach point alternated with the others of its table, %d round(s) × %d s, %d connections unless stated. \"CPU per answer\" is the server process's user+system CPU time over the answers it gave: the cost that does not depend on how busy the shared machine was.\n\n", r.h.cfg.sweepRounds, r.h.cfg.sweepSecs, r.h.conns)
	b.WriteString("**Cookie header size** (other ~40-byte cookies before `auth_tkt`; the ceiling parses the same request):\n\n")
	b.WriteString("| Cookie header | tktgate req/s | ceiling req/s | tktgate ÷ ceiling | tktgate CPU per answer | ceiling CPU per answer | tktgate's own share |\n|---|---|---|---|---|---|---|\n")
	for i, n := range sizes {
		g, c := ss[2*i], ss[2*i+1]
		fmt.Fprintf(&b, "| %d B | %s | %s | %s | %s | %s | %s |\n", n, rps(g.rps()), rps(c.rps()), ratioCell(g, c), us(g.cpu()), us(c.cpu()), us(g.cpu()-c.cpu()))
	}
	r.add(b.String())
	r.rawSeries("5a cookie size", ss)
}

func (r *report) countSweep(labels []string, ss []*series) {
	var b strings.Builder
	b.WriteString("**Number of cookies** in a Cookie header of about 2 KB, `auth_tkt` last:\n\n| cookies | tktgate req/s | ÷ first row | CPU per answer |\n|---|---|---|---|\n")
	for i, s := range ss {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", labels[i], rps(s.rps()), ratioCell(s, ss[0]), us(s.cpu()))
	}
	r.add(b.String())
	r.rawSeries("5b cookie count", ss)
}

func (r *report) digestSweep(tickets []string, ss []*series) {
	var b strings.Builder
	b.WriteString("**Digest type** (one tktgate per digest, standard Cookie header):\n\n| digest | ticket (base64) | req/s | ÷ MD5 | CPU per answer |\n|---|---|---|---|---|\n")
	for i, s := range ss {
		fmt.Fprintf(&b, "| %s | %d B | %s | %s | %s |\n", s.t.name, len(tickets[i]), rps(s.rps()), ratioCell(s, ss[0]), us(s.cpu()))
	}
	r.add(b.String())
	r.rawSeries("5c digest", ss)
}

func (r *report) concSweep(concs []int, ss []*series) {
	var b strings.Builder
	b.WriteString("**Connections** (tktgate and the ceiling side by side at each):\n\n| connections | tktgate req/s | ceiling req/s | tktgate ÷ ceiling | tktgate CPU per answer | tktgate wrk p50 / p99 |\n|---|---|---|---|---|---|\n")
	for i, n := range concs {
		g, c := ss[2*i], ss[2*i+1]
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s / %s |\n", n, rps(g.rps()), rps(c.rps()), ratioCell(g, c), us(g.cpu()),
			us(g.med(func(x sample) float64 { return x.p50 })), us(g.med(func(x sample) float64 { return x.p99 })))
	}
	r.add(b.String())
	r.rawSeries("5d connections", ss)
}

func (r *report) catTable(b *strings.Builder, es []entry) {
	b.WriteString("| where | share of samples | biggest entries |\n|---|---|---|\n")
	for _, c := range categorize(es) {
		if c.pct < 0.05 {
			continue
		}
		var tops []string
		for _, e := range c.top[:min(3, len(c.top))] {
			tops = append(tops, fmt.Sprintf("`%s` %.1f%%", shortSym(e.sym), e.pct))
		}
		fmt.Fprintf(b, "| %s | %.1f%% | %s |\n", c.name, c.pct, strings.Join(tops, ", "))
	}
}

func shortSym(s string) string {
	s = strings.ReplaceAll(s, "github.com/valyala/", "")
	s = strings.ReplaceAll(s, "github.com/tktgate/tktgate/", "")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func (r *report) perfProfile(self, children []entry) {
	var b strings.Builder
	b.WriteString("### Profile: the live tktgate under wrk (perf)\n\n`perf record -F 1999 -g -p PID` for 5 s while wrk drives `/auth` with the standard request; self time by area (raw: `benchmarks/out/perf-self.txt`, `perf-children.txt`):\n\n")
	r.catTable(&b, self)
	b.WriteString("\nInclusive time of selected functions:\n\n| function | inclusive share |\n|---|---|\n")
	for _, want := range []string{"main.(*Server).Handler", "main.(*Server).decide", "main.(*Server).cacheHeaders", "main.joinCookies", "main.clientIP", "main.originalURL",
		"main.(*policyStats).count", "verifier.(*Verifier).Verify", "verifier.(*Ticket).decode", "verifier.(*Verifier).check", "crypto/md5.Sum", "time.Now",
		"fasthttp.(*RequestHeader).parse", "fasthttp.(*RequestHeader).PeekBytes", "fasthttp.(*ResponseHeader).SetCanonical", "fasthttp.(*Server).serveConn",
		"syscall.read", "syscall.write", "runtime.netpoll", "runtime.schedule", "runtime.gcBgMarkWorker"} {
		for _, e := range children {
			if strings.HasSuffix(e.sym, want) || strings.Contains(e.sym, "/"+want) || e.sym == want {
				fmt.Fprintf(&b, "| `%s` | %.1f%% |\n", shortSym(e.sym), e.pct)
				break
			}
		}
	}
	r.add(b.String())
}

func (r *report) pprofProfile(name, line string, es []entry) {
	var b strings.Builder
	fmt.Fprintf(&b, "### Profile: `go test -cpuprofile`, root package %s benchmark\n\n`%s` (GOMAXPROCS=1). Flat time by area (raw: `benchmarks/out/pprof-%s.txt`):\n\n", name, line, name)
	r.catTable(&b, es)
	b.WriteString("\nTop entries (flat):\n\n| flat | function |\n|---|---|\n")
	for _, e := range es[:min(12, len(es))] {
		fmt.Fprintf(&b, "| %.1f%% | `%s` |\n", e.pct, shortSym(e.sym))
	}
	r.add(b.String())
}

func (r *report) micro(m map[string]*benchStats, stat string) {
	var b strings.Builder
	b.WriteString("### Go micro-benchmarks: Verify vs the raw two-round digest\n\n`go test -run '^$' -bench 'DigestBaseline|Verify' -count 6 ./verifier/ > benchmarks/old.txt` (pinned to the server CPU), medians of 6. `DigestBaseline` is the two hash rounds alone over a prepared message, the second digest written out as hex as the ticket carries it: the floor for Verify. (Until 2026-11-30 the compiler dropped that last hex encoding as dead code, which made the floor ~10% lower than any verifier's work: 224 instead of ~246 ns/op for MD5 on this machine; the benchmark now keeps its result.) Target for a valid raw ticket: ≤ 1.15×.\n\n")
	b.WriteString("| digest | baseline | encoding | Verify | ÷ baseline | allocs/op | target |\n|---|---|---|---|---|---|---|\n")
	for _, d := range []string{"MD5", "SHA256", "SHA512"} {
		base := m["BenchmarkDigestBaseline/"+d]
		if base == nil {
			continue
		}
		bns := median(base.ns)
		for _, enc := range []string{"raw", "base64", "escaped", "baddigest"} {
			v := m["BenchmarkVerify/"+d+"/"+enc]
			if v == nil {
				continue
			}
			vns := median(v.ns)
			t := "—"
			if enc == "raw" {
				t = "≤ 1.15×: " + verdict(vns/bns <= 1.15)
			}
			if enc == "raw" && d == "MD5" {
				r.headline = append(r.headline, fmt.Sprintf("| micro: `Verify/MD5/raw` vs `DigestBaseline/MD5` (ns/op, medians of 6) | %.0f ns | %.0f ns | **%s** | — | ≤ 1.15× | %s |", vns, bns, x(vns/bns), verdict(vns/bns <= 1.15)))
			}
			fmt.Fprintf(&b, "| %s | %.0f ns | %s | %.0f ns | %s | %s | %s |\n", d, bns, enc, vns, x(vns/bns), fmtAllocs(v.allocs), t)
		}
	}
	b.WriteString("\nbenchstat:\n\n```\n" + strings.TrimSpace(stat) + "\n```\n")
	r.add(b.String())
}

func fmtAllocs(a []float64) string {
	if len(a) == 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f", median(a))
}

func (r *report) end() {
	r.loadEnd = loadavg()
}

// String is the results section: environment, headline, details.
func (r *report) String() string {
	var b strings.Builder
	h := r.h
	fmt.Fprintf(&b, "## Results (%s run)\n\n", h.mode)
	for _, e := range r.env {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	if r.loadEnd != "" {
		fmt.Fprintf(&b, "- load average at the end: %s; the run took %v\n", r.loadEnd, time.Since(h.started).Round(time.Second))
	}
	if h.clientCPU != "" {
		names := make([]string, 0, len(r.pins))
		for n := range r.pins {
			names = append(names, n)
		}
		slices.Sort(names)
		var ps []string
		for _, n := range names {
			ps = append(ps, fmt.Sprintf("%s → %s", n, r.pins[n]))
		}
		fmt.Fprintf(&b, "- pinning: wrk (`-t1`) and loadgen on CPU %s, every server on CPU %s with `taskset -c`, so the Go servers run with GOMAXPROCS=1; nginx has 1 worker, Apache 1 process × 128 threads. Cpus_allowed_list and scheduling policy read back: %s\n", h.clientCPU, h.serverCPU, strings.Join(ps, ", "))
	} else {
		b.WriteString("- pinning: none (one CPU)\n")
	}
	b.WriteString("\n### Headline: ratios measured side by side\n\n")
	b.WriteString("Each ratio is taken per round between runs seconds apart, then the median over the rounds; in brackets the interquartile range of the per-round ratios (their whole range below 4 rounds) and how many rounds were clean (both servers got at least 90% of their best CPU share: other work on the machine did not take their CPU). req/s are medians of the clean runs. \"By CPU per answer\" is B's server CPU time per answer over A's, per round, median and interquartile range over the same rounds: the ratio of rates that the two costs predict, which the machine's other load disturbs much less. A target says which of the two it judges.\n\n")
	b.WriteString("| comparison | A: req/s, CPU per answer | B: req/s, CPU per answer | A ÷ B by req/s (IQR; rounds used) | A ÷ B by CPU per answer (IQR) | target | result |\n|---|---|---|---|---|---|---|\n")
	for _, l := range r.headline {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	for _, s := range r.sections {
		b.WriteString(s + "\n")
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "> %s\n\n", n)
	}
	return b.String()
}

// raw is the per-round data, appended to results.md only.
func (r *report) raw() string {
	if len(r.rawRuns) == 0 {
		return ""
	}
	return "\n### Raw per-round rates\n" + strings.Join(r.rawRuns, "")
}
