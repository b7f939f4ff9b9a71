package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// reason is why an auth answer came out as it did; the metrics label.
type reason uint8

const (
	reasonOK reason = iota
	reasonGuest
	reasonNoTicket
	reasonMalformed
	reasonBadDigest
	reasonIPMismatch
	reasonExpired
	reasonFuture
	reasonTokenDenied
	reasonOldSecret
	reasonRefreshed
	reasonUnspecifiedIP
	reasonRevoked
	reasonURLTicket // accepted from the URL, and redirected without it
	numReasons
)

var reasonNames = [numReasons]string{"ok", "guest", "no_ticket", "malformed", "bad_digest", "ip_mismatch", "expired", "future", "token_denied", "old_secret", "refreshed", "unspecified_ip", "revoked", "url_ticket"}

// String is the reason's metric label.
func (r reason) String() string { return reasonNames[r] }

// status is the HTTP status each reason answers with.
func (r reason) status() int {
	switch r {
	case reasonOK, reasonGuest, reasonOldSecret, reasonRefreshed:
		return 200
	case reasonTokenDenied:
		return 403
	}
	return 401
}

// verified says whether the answer rests on a ticket whose signature
// held (or on a guest ticket tktgate made): its uid names the user.
func (r reason) verified() bool {
	switch r {
	case reasonOK, reasonGuest, reasonOldSecret, reasonRefreshed, reasonExpired, reasonFuture, reasonTokenDenied, reasonRevoked, reasonURLTicket:
		return true
	}
	return false
}

// debug says whether the decision is worth a debug log line.
func (r reason) debug() bool { return r != reasonOK }

// reasonOf maps a verifier error to its reason; an error it does not know
// counts as a bad digest.
func reasonOf(err error) reason {
	switch {
	case err == nil:
		return reasonOK
	case err == errRevoked:
		return reasonRevoked
	case errors.Is(err, verifier.ErrNoTicket):
		return reasonNoTicket
	case errors.Is(err, verifier.ErrMalformed):
		return reasonMalformed
	case errors.Is(err, verifier.ErrBadIP):
		return reasonIPMismatch
	case errors.Is(err, verifier.ErrExpired):
		return reasonExpired
	case errors.Is(err, verifier.ErrFuture):
		return reasonFuture
	}
	return reasonBadDigest
}

// Latency buckets in seconds; an auth answer normally takes microseconds.
var buckets = [...]float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1}

// policyStats are one policy's counters: fixed arrays of atomics, so that
// counting a request allocates nothing and takes no lock. They survive
// reloads: the same name gets the same counters.
type policyStats struct {
	name    string
	reasons [numReasons]atomic.Uint64
	hist    [len(buckets) + 1]atomic.Uint64
	sumNs   atomic.Uint64
}

// timeSample: one answer in timeSample of each reason is timed. Reading
// the clock costs tens of nanoseconds on a virtual machine, which is a
// tenth of tktgate's own work per answer; a sample shows the latency just
// as well. The first answer of each reason is always timed.
const timeSample = 16

// count records one answer, and times it if it is in the sample.
func (p *policyStats) count(r reason, start time.Time) {
	if p.reasons[r].Add(1)%timeSample != 1 {
		return
	}
	d := time.Since(start)
	s := d.Seconds()
	i := 0
	for i < len(buckets) && s > buckets[i] {
		i++
	}
	p.hist[i].Add(1)
	p.sumNs.Add(uint64(d))
}

// metrics are the process's counters, served on /metrics.
type metrics struct {
	mu            sync.Mutex
	policies      map[string]*policyStats
	reloads       atomic.Uint64
	reloadFails   atomic.Uint64
	lastReloadOK  atomic.Int64 // unix seconds
	unknownPolicy atomic.Uint64
	panics        atomic.Uint64
	logLimiter    limiter
	// The revocation list: entries in force, and reloads of the file
	// alone (with the config, they count as config reloads).
	revEntries     atomic.Int64
	revReloads     atomic.Uint64
	revReloadFails atomic.Uint64
	revLastOK      atomic.Int64 // unix seconds
	// [revocation] redis: entries loaded from Redis, the last full load
	// that succeeded, the connection (1 up), changes applied as
	// published, full loads and failures, values that are no entry.
	redisEntries   atomic.Int64
	redisLastSync  atomic.Int64 // unix seconds
	redisUp        atomic.Int64
	redisUpdates   atomic.Uint64
	redisSyncs     atomic.Uint64
	redisSyncFails atomic.Uint64
	redisBadValues atomic.Uint64
}

// revocationsInForce records the list just installed, read whole (from
// the file, with the config or alone).
func (m *metrics) revocationsInForce(r *revocations) {
	if m.revocationsChanged(r) >= bigRevocationList {
		// Reading a big file leaves several times the list's size of
		// garbage (the text, the parsed entries, the previous list), which
		// the collector would otherwise keep in RSS for minutes: give it
		// back now. A few milliseconds, once per reload of such a file.
		debug.FreeOSMemory()
	}
}

// revocationsChanged records the list just installed, and returns its
// size. A change from Redis comes this way alone: it may come many times
// a second (logouts), and a forced collection each time would cost more
// than the garbage.
func (m *metrics) revocationsChanged(r *revocations) int64 {
	var n int64
	if r != nil {
		n = int64(r.entries)
		m.revLastOK.Store(time.Now().Unix())
	}
	m.revEntries.Store(n)
	return n
}

// bigRevocationList is the size of list after whose load memory is
// returned to the system at once.
const bigRevocationList = 10000

func newMetrics() *metrics {
	return &metrics{policies: map[string]*policyStats{}, logLimiter: limiter{perSec: 10}}
}

// policy returns the counters of the policy called name, made on first
// use, so that a reload keeps them.
func (m *metrics) policy(name string) *policyStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.policies[name]
	if p == nil {
		p = &policyStats{name: name}
		m.policies[name] = p
	}
	return p
}

// appendText writes the Prometheus text exposition format. It runs per
// scrape, not per request, so it may allocate.
func (m *metrics) appendText(b []byte) []byte {
	m.mu.Lock()
	ps := make([]*policyStats, 0, len(m.policies))
	for _, p := range m.policies {
		ps = append(ps, p)
	}
	m.mu.Unlock()
	sort.Slice(ps, func(i, j int) bool { return ps[i].name < ps[j].name })

	b = append(b, "# HELP tktgate_auth_requests_total Auth answers by policy, HTTP status and reason.\n# TYPE tktgate_auth_requests_total counter\n"...)
	for _, p := range ps {
		for r := reason(0); r < numReasons; r++ {
			b = fmt.Appendf(b, "tktgate_auth_requests_total{policy=%q,status=\"%d\",reason=%q} %d\n", p.name, r.status(), r.String(), p.reasons[r].Load())
		}
	}
	b = fmt.Appendf(b, "# HELP tktgate_auth_duration_seconds Time from the arrival of an auth request to the end of its handler, for a sample: the first answer of each policy and reason, then every %dth.\n# TYPE tktgate_auth_duration_seconds histogram\n", timeSample)
	for _, p := range ps {
		var cum uint64
		for i := range p.hist {
			cum += p.hist[i].Load()
			le := "+Inf"
			if i < len(buckets) {
				le = strconv.FormatFloat(buckets[i], 'g', -1, 64)
			}
			b = fmt.Appendf(b, "tktgate_auth_duration_seconds_bucket{policy=%q,le=%q} %d\n", p.name, le, cum)
		}
		b = fmt.Appendf(b, "tktgate_auth_duration_seconds_sum{policy=%q} %g\n", p.name, float64(p.sumNs.Load())/1e9)
		b = fmt.Appendf(b, "tktgate_auth_duration_seconds_count{policy=%q} %d\n", p.name, cum)
	}
	b = appendByResult(b, "tktgate_config_reloads_total", "Configuration reloads by result.", m.reloads.Load(), m.reloadFails.Load())
	b = appendMetric(b, "tktgate_config_last_reload_success_timestamp_seconds", "gauge", "When the running config was loaded.", m.lastReloadOK.Load())
	b = appendMetric(b, "tktgate_revocation_entries", "gauge", "Entries of the revocation list in force.", m.revEntries.Load())
	b = appendByResult(b, "tktgate_revocation_reloads_total", "Reloads of the revocation file alone, by result.", m.revReloads.Load(), m.revReloadFails.Load())
	b = appendMetric(b, "tktgate_revocation_last_load_success_timestamp_seconds", "gauge", "When the revocation list in force was read (with the config or alone).", m.revLastOK.Load())
	b = appendMetric(b, "tktgate_revocation_redis_entries", "gauge", "Revocation entries loaded from Redis.", m.redisEntries.Load())
	b = appendMetric(b, "tktgate_revocation_redis_up", "gauge", "Whether the connection to Redis works (1) or not (0; the entries last loaded are in force).", m.redisUp.Load())
	b = appendMetric(b, "tktgate_revocation_redis_last_sync_timestamp_seconds", "gauge", "When every entry was last loaded from Redis.", m.redisLastSync.Load())
	b = appendByResult(b, "tktgate_revocation_redis_syncs_total", "Full loads from Redis, by result.", m.redisSyncs.Load(), m.redisSyncFails.Load())
	b = appendMetric(b, "tktgate_revocation_redis_updates_total", "counter", "Changes published on Redis and applied.", m.redisUpdates.Load())
	b = appendMetric(b, "tktgate_revocation_redis_bad_values_total", "counter", "Redis keys skipped because they hold no entry line.", m.redisBadValues.Load())
	b = appendMetric(b, "tktgate_unknown_policy_requests_total", "counter", "Requests for /auth/NAME with no such policy (answered 500).", m.unknownPolicy.Load())
	b = appendMetric(b, "tktgate_handler_panics_total", "counter", "Recovered panics (a bug: please report).", m.panics.Load())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b = appendMetric(b, "go_goroutines", "gauge", "Goroutines that currently exist.", runtime.NumGoroutine())
	b = appendMetric(b, "go_memstats_heap_inuse_bytes", "gauge", "Heap bytes in use.", ms.HeapInuse)
	if rss, ok := residentBytes(); ok {
		b = appendMetric(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss)
	}
	b = fmt.Appendf(b, "# HELP tktgate_build_info Build information.\n# TYPE tktgate_build_info gauge\ntktgate_build_info{version=%q,goversion=%q} 1\n", version, goVersion())
	return b
}

// appendMetric writes one metric without labels: its HELP and TYPE
// lines, then its value.
func appendMetric(b []byte, name, kind, help string, v any) []byte {
	return fmt.Appendf(b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, kind, name, v)
}

// appendByResult writes a counter by result: success, then failure.
func appendByResult(b []byte, name, help string, ok, fail uint64) []byte {
	return fmt.Appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s{result=\"success\"} %d\n%s{result=\"failure\"} %d\n", name, help, name, name, ok, name, fail)
}

// limiter lets through at most perSec events per second, without locks:
// per-request debug logs must not flood the log or slow the hot path.
type limiter struct {
	perSec int64
	second atomic.Int64
	n      atomic.Int64
}

// allow says whether one more event fits in now's second.
func (l *limiter) allow(now time.Time) bool {
	s := now.Unix()
	if old := l.second.Load(); old != s && l.second.CompareAndSwap(old, s) {
		l.n.Store(0)
	}
	return l.n.Add(1) <= l.perSec
}

// residentBytes reads the resident set size from /proc (Linux only).
func residentBytes() (int64, bool) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
