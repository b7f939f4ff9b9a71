package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// latResult is one target's pooled open-loop latencies.
type latResult struct {
	name                       string
	achieved                   float64
	p50, p90, p99, p999, max   float64 // µs
	lagP99                     float64
	samples, bad, errs, rounds int
	retries                    int
	firstErr                   string
}

type loadgenOut struct {
	AchievedRPS float64 `json:"achieved_rps"`
	OK          int     `json:"ok"`
	BadStatus   int     `json:"bad_status"`
	Errors      int     `json:"errors"`
	LagP99us    float64 `json:"lag_p99_us"`
	FirstError  string  `json:"first_error"`
}

// maxLagUs is the most loadgen's p99 lateness may be in a valid run.
const maxLagUs = 1000

// latency runs loadgen against each target at the same fixed rate,
// alternating, and pools each target's latencies over the rounds.
func (h *harness) latency(ts []target) error {
	c := h.cfg
	pooled := make([][]time.Duration, len(ts))
	res := make([]latResult, len(ts))
	for r := 0; r < c.latRounds; r++ {
		order := make([]int, len(ts))
		for i := range order {
			order[i] = i
		}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			t := ts[i]
			file := filepath.Join(h.out, fmt.Sprintf("latency-%d.bin", i))
			args := []string{"-url", t.url, "-rate", strconv.FormatFloat(c.latRate, 'f', -1, 64), "-c", strconv.Itoa(c.latConns),
				"-d", c.latDur.String(), "-warmup", c.latWarm.String(), "-samples", file}
			for _, hd := range t.headers {
				args = append(args, "-H", hd)
			}
			// A run in which loadgen itself was held up (other work on
			// its CPU) measures the machine, not the server: try again,
			// up to latRetry times.
			var o loadgenOut
			for attempt := 0; ; attempt++ {
				out, err := h.command(h.clientCPU, h.binPath("loadgen"), args...).Output()
				if err != nil {
					return fmt.Errorf("loadgen %s: %v\n%s", t.name, err, out)
				}
				o = loadgenOut{}
				if err := json.Unmarshal(out, &o); err != nil {
					return fmt.Errorf("loadgen %s: %v\n%s", t.name, err, out)
				}
				if o.LagP99us <= maxLagUs || attempt >= c.latRetry {
					break
				}
				res[i].retries++
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			for j := 0; j+8 <= len(b); j += 8 {
				pooled[i] = append(pooled[i], time.Duration(binary.LittleEndian.Uint64(b[j:])))
			}
			os.Remove(file)
			lr := &res[i]
			lr.name = t.name
			lr.achieved += o.AchievedRPS / float64(c.latRounds)
			lr.bad += o.BadStatus
			lr.errs += o.Errors
			lr.lagP99 = max(lr.lagP99, o.LagP99us)
			lr.rounds++
			if lr.firstErr == "" {
				lr.firstErr = o.FirstError
			}
			h.served[t.name] += o.OK + o.BadStatus
			if o.BadStatus > 0 {
				return fmt.Errorf("loadgen %s: %d answers with an unexpected status (%s)", t.name, o.BadStatus, o.FirstError)
			}
			fmt.Fprintf(os.Stderr, "   latency round %d/%d: %s %.0f req/s\n", r+1, c.latRounds, t.name, o.AchievedRPS)
		}
	}
	for i := range res {
		s := pooled[i]
		slices.Sort(s)
		res[i].samples = len(s)
		res[i].p50, res[i].p90, res[i].p99, res[i].p999, res[i].max = pct(s, 50), pct(s, 90), pct(s, 99), pct(s, 99.9), pct(s, 100)
	}
	h.rep.latency(res)
	return nil
}

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / 1e3
}

// cookies returns n cookies (the ticket last) whose "; "-joined header is
// about total bytes long. n = 0 picks cookies of about 40 bytes each.
func cookies(ticket string, total, n int) []string {
	tk := "auth_tkt=" + ticket
	rest := total - len(tk)
	np := n - 1
	if n == 0 {
		np = max(1, rest/40)
	}
	if rest <= 0 || np <= 0 {
		return []string{tk}
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var out []string
	base, extra := rest/np, rest%np
	k := 0
	for i := range np {
		size := base
		if i < extra {
			size++
		}
		name := "c" + strconv.Itoa(i)
		vlen := max(1, size-len(name)-1-2)
		v := make([]byte, vlen)
		for j := range v {
			v[j] = alphabet[k%len(alphabet)]
			k += 7
		}
		out = append(out, name+"="+string(v))
	}
	return append(out, tk)
}

// wrkScript writes a wrk script sending a fixed raw request: wrk's -H
// keeps one header per name, and the several-Cookie-headers point needs
// more.
func (h *harness) wrkScript(name, addr string, headers []string) (string, error) {
	var req strings.Builder
	req.WriteString("GET /auth HTTP/1.1\r\nHost: " + addr + "\r\n")
	for _, hd := range headers {
		req.WriteString(hd + "\r\n")
	}
	req.WriteString("\r\n")
	lua := fmt.Sprintf("local req = %s\nrequest = function() return req end\n", luaQuote(req.String()))
	path := filepath.Join(h.tmp, name+".lua")
	return path, os.WriteFile(path, []byte(lua), 0o644)
}

func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\%03d`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// sweeps measures how tktgate's cost grows with the cookie header, the
// digest and the number of connections.
func (h *harness) sweeps(g *gate, tGate, tCeil target) error {
	c := h.cfg
	with := func(t target, name string, headers []string, conns int) target {
		t.name, t.headers, t.conns = name, headers, conns
		return t
	}

	// Cookie header size, padded with ~40-byte cookies before auth_tkt;
	// the ceiling parses the same header, so the difference is tktgate's.
	var ts []target
	var sizes []int
	for _, n := range c.sizes {
		cs := strings.Join(cookies(g.ticket, n, 0), "; ")
		sizes = append(sizes, len(cs))
		ts = append(ts,
			with(tGate, fmt.Sprintf("tktgate %d B", n), subrequestHeaders(cs), 0),
			with(tCeil, fmt.Sprintf("ceiling %d B", n), subrequestHeaders(cs), 0))
	}
	fmt.Fprintf(os.Stderr, "   5a. cookie header size %v bytes\n", sizes)
	s, err := h.alternate("5a", ts, c.sweepRounds, c.sweepSecs, 0)
	if err != nil {
		return err
	}
	h.rep.sizeSweep(sizes, s)

	// Number of cookies in a header of a fixed 2 KB.
	ts = ts[:0]
	var labels []string
	for _, n := range c.counts {
		cs := cookies(g.ticket, 2048, n)
		hdr := strings.Join(cs, "; ")
		labels = append(labels, fmt.Sprintf("%d cookies, one header (%d B)", len(cs), len(hdr)))
		ts = append(ts, with(tGate, fmt.Sprintf("tktgate %d cookies", n), subrequestHeaders(hdr), 0))
	}
	if c.cookieLines > 0 {
		cs := cookies(g.ticket, 2048, c.cookieLines)
		// As a proxy that passes the client's lines on (Caddy, Traefik)
		// sends them; nginx with the shipped files joins them into one.
		hs := subrequestSet()
		for _, x := range cs {
			hs = append(hs, "Cookie: "+x)
		}
		script, err := h.wrkScript("cookie-lines", g.addr, hs)
		if err != nil {
			return err
		}
		t := with(tGate, fmt.Sprintf("tktgate %d Cookie lines", len(cs)), nil, 0)
		t.script = script
		// The request must still be answered with the ticket.
		if r, err := rawGet(g.addr, "/auth", hs); err != nil || r.status != 200 {
			return fmt.Errorf("%d Cookie header lines: status %d, %v; want 200", len(cs), r.status, err)
		}
		labels = append(labels, fmt.Sprintf("%d cookies, %d Cookie header lines", len(cs), len(cs)))
		ts = append(ts, t)
	}
	fmt.Fprintf(os.Stderr, "   5b. number of cookies in 2 KB\n")
	s, err = h.alternate("5b", ts, c.sweepRounds, c.sweepSecs, 0)
	if err != nil {
		return err
	}
	h.rep.countSweep(labels, s)

	// Digest type: one tktgate per digest, the same request shape.
	ts = []target{with(tGate, "MD5", tGate.headers, 0)}
	tickets := []string{g.ticket}
	for _, d := range []string{"SHA256", "SHA512"} {
		gd, err := h.startTktgate("tktgate-"+strings.ToLower(d), d)
		if err != nil {
			return err
		}
		h.rep.pinning(map[string]int{"tktgate-" + strings.ToLower(d): gd.pid})
		ts = append(ts, target{name: d, url: "http://" + gd.addr + "/auth", headers: subrequestHeaders(browserCookie(gd.ticket)), procs: one(gd.pid)})
		tickets = append(tickets, gd.ticket)
	}
	fmt.Fprintf(os.Stderr, "   5c. digest type\n")
	s, err = h.alternate("5c", ts, c.sweepRounds, c.sweepSecs, 1)
	if err != nil {
		return err
	}
	h.rep.digestSweep(tickets, s)

	// Connections, tktgate and the ceiling side by side at each.
	ts = ts[:0]
	for _, n := range c.concs {
		ts = append(ts, with(tGate, fmt.Sprintf("tktgate c=%d", n), tGate.headers, n), with(tCeil, fmt.Sprintf("ceiling c=%d", n), tCeil.headers, n))
	}
	warm := 0
	if h.mode == "full" {
		warm = 1
	}
	fmt.Fprintf(os.Stderr, "   5d. connections %v\n", c.concs)
	s, err = h.alternate("5d", ts, c.sweepRounds, c.sweepSecs, warm)
	if err != nil {
		return err
	}
	h.rep.concSweep(c.concs, s)
	return nil
}
