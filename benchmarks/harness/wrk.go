package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is one thing wrk loads.
type target struct {
	name    string
	url     string
	headers []string
	conns   int
	script  string // a wrk Lua script sending the request instead of headers
	// minBytes is the least an answer can be on average: a redirect to
	// the login page (3xx, which wrk counts as success) is smaller.
	minBytes int
	// procs returns the processes whose CPU time serves this target.
	procs func() []int
}

// sample is one wrk run.
type sample struct {
	rps       float64
	reqs      int
	secs      float64 // wrk's measured duration
	bytesPer  float64 // bytes read per answer, headers included
	cpuPerReq float64 // server CPU µs per answer
	// util is the servers' CPU time over the run's wall time: how much of
	// its CPU the server got. Other work on the machine lowers it.
	util     float64
	p50, p99 float64 // wrk's (closed-loop) latency, µs
	non2xx   int
	errors   int
}

var (
	reReqs    = regexp.MustCompile(`(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read`)
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reLatPct  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

// wrk runs wrk against t for secs seconds on the client CPU and measures
// the servers' CPU time meanwhile.
func (h *harness) wrk(t target, secs int) (sample, error) {
	conns := t.conns
	if conns == 0 {
		conns = h.conns
	}
	args := []string{"-t1", "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", secs), "--latency", "--timeout", "5s"}
	for _, hd := range t.headers {
		args = append(args, "-H", hd)
	}
	if t.script != "" {
		args = append(args, "-s", t.script)
	}
	args = append(args, t.url)
	var pids []int
	if t.procs != nil {
		pids = t.procs()
	}
	cpu0 := cpuSeconds(pids)
	t0 := time.Now()
	out, err := h.command(h.clientCPU, "wrk", args...).CombinedOutput()
	wall := time.Since(t0).Seconds()
	cpu1 := cpuSeconds(pids)
	if err != nil {
		return sample{}, fmt.Errorf("wrk %s: %v\n%s", t.name, err, out)
	}
	s, err := parseWrk(string(out))
	if err != nil {
		return s, fmt.Errorf("wrk %s: %v\n%s", t.name, err, out)
	}
	if s.reqs > 0 && len(pids) > 0 {
		s.cpuPerReq = (cpu1 - cpu0) / float64(s.reqs) * 1e6
		// wrk's own start and stop are in wall but not in its duration.
		s.util = (cpu1 - cpu0) / max(wall, s.secs)
	}
	h.served[t.name] += s.reqs
	if s.non2xx > 0 {
		return s, fmt.Errorf("wrk %s: %d of %d answers were not 2xx/3xx: the benchmark is not measuring valid-ticket answers\n%s", t.name, s.non2xx, s.reqs, out)
	}
	if t.minBytes > 0 && s.bytesPer < float64(t.minBytes) {
		return s, fmt.Errorf("wrk %s: %.0f bytes per answer, less than the %d-byte file: not every request got it\n%s", t.name, s.bytesPer, t.minBytes, out)
	}
	if s.errors > s.reqs/100 {
		return s, fmt.Errorf("wrk %s: %d socket errors in %d requests\n%s", t.name, s.errors, s.reqs, out)
	}
	return s, nil
}

func parseWrk(out string) (sample, error) {
	var s sample
	m := reReqs.FindStringSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("no request count in wrk output")
	}
	s.reqs, _ = strconv.Atoi(m[1])
	s.secs, _ = strconv.ParseFloat(m[2], 64)
	s.secs *= map[string]float64{"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m[3]]
	n, _ := strconv.ParseFloat(m[4], 64)
	mult := map[string]float64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[m[5]]
	if s.reqs > 0 {
		s.bytesPer = n * mult / float64(s.reqs)
	}
	m = reRPS.FindStringSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("no Requests/sec in wrk output")
	}
	s.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		s.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := reSockErr.FindStringSubmatch(out); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.Atoi(x)
			s.errors += n
		}
	}
	for _, m := range reLatPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		v *= map[string]float64{"us": 1, "ms": 1e3, "s": 1e6}[m[3]]
		if m[1] == "50" {
			s.p50 = v
		} else {
			s.p99 = v
		}
	}
	return s, nil
}

// series is the samples of one target in a group, in round order.
type series struct {
	t       target
	samples []sample
}

// A sample is clean when the server got at least 90% of the CPU share of
// its best run: a lower share means other work took the server's CPU, or
// wrk's, during that run.
const cleanShare = 0.9

func (s *series) clean(i int) bool {
	best := 0.0
	for _, x := range s.samples {
		best = max(best, x.util)
	}
	return best == 0 || s.samples[i].util >= cleanShare*best
}

func (s *series) nClean() int {
	n := 0
	for i := range s.samples {
		if s.clean(i) {
			n++
		}
	}
	return n
}

// med is the median of f over the clean samples (all of them when fewer
// than half are clean).
func (s *series) med(f func(sample) float64) float64 {
	useAll := 2*s.nClean() < len(s.samples)
	var v []float64
	for i, x := range s.samples {
		if useAll || s.clean(i) {
			v = append(v, f(x))
		}
	}
	return median(v)
}

func (s *series) rps() float64 { return s.med(func(x sample) float64 { return x.rps }) }
func (s *series) cpu() float64 { return s.med(func(x sample) float64 { return x.cpuPerReq }) }

// alternate runs every target once per round, forward in even rounds and
// backward in odd ones (A B C, C B A, ...), so that a slow drift of the
// machine's load falls on all targets alike. A first unmeasured run of
// warm seconds per target fills pools, caches and keep-alive connections.
func (h *harness) alternate(label string, ts []target, rounds, secs, warm int) ([]*series, error) {
	out := make([]*series, len(ts))
	for i, t := range ts {
		out[i] = &series{t: t}
		if warm > 0 {
			if _, err := h.wrk(t, warm); err != nil {
				return nil, err
			}
		}
	}
	for r := 0; r < rounds; r++ {
		order := make([]int, len(ts))
		for i := range order {
			order[i] = i
		}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		var line []string
		for _, i := range order {
			s, err := h.wrk(ts[i], secs)
			if err != nil {
				return nil, err
			}
			out[i].samples = append(out[i].samples, s)
			line = append(line, fmt.Sprintf("%s %.0f", ts[i].name, s.rps))
		}
		fmt.Fprintf(os.Stderr, "   %s round %d/%d: %s req/s\n", label, r+1, rounds, strings.Join(line, ", "))
	}
	return out, nil
}

// ratios are a / b per round: the two ran seconds apart, so their ratio
// is steadier than either rate. Only rounds where both runs were clean
// count, unless fewer than half of the rounds are.
func ratios(a, b *series) []float64 {
	var all, clean []float64
	for i := range min(len(a.samples), len(b.samples)) {
		if b.samples[i].rps <= 0 {
			continue
		}
		r := a.samples[i].rps / b.samples[i].rps
		all = append(all, r)
		if a.clean(i) && b.clean(i) {
			clean = append(clean, r)
		}
	}
	if 2*len(clean) < len(all) {
		return all
	}
	return clean
}

// cleanRounds counts the rounds where both a and b ran clean.
func cleanRounds(a, b *series) (clean, all int) {
	for i := range min(len(a.samples), len(b.samples)) {
		all++
		if a.clean(i) && b.clean(i) {
			clean++
		}
	}
	return clean, all
}

// ratio is the median of the per-round ratios, with their spread: the
// interquartile range from 4 rounds on, else the whole range.
func ratio(a, b *series) (med, lo, hi float64) {
	v := ratios(a, b)
	if len(v) == 0 {
		return 0, 0, 0
	}
	if len(v) >= 4 {
		return median(v), quantile(v, 0.25), quantile(v, 0.75)
	}
	return median(v), slices.Min(v), slices.Max(v)
}

// quantile interpolates linearly between the order statistics of v.
func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
