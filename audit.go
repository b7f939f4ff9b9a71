package main

// The audit log: one JSON line per auth answer (log_requests), written to
// the log's own destination, cheaply enough to leave on under load.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// logRequests says which auth answers get an audit line.
type logRequests uint8

const (
	logNone   logRequests = iota // none (the default)
	logDenied                    // answers other than 200 (a guest's 200 is not a denial)
	logAll                       // every answer
)

// parseLogRequests reads the value of log_requests.
func parseLogRequests(s string) (logRequests, bool) {
	switch s {
	case "none":
		return logNone, true
	case "denied":
		return logDenied, true
	case "all":
		return logAll, true
	}
	return logNone, false
}

// logOutput is where the process logs: slog's JSON lines and the audit
// log's flushed buffers go through one lock, so that neither ever splits
// a line of the other (a write to a pipe larger than PIPE_BUF is not
// atomic).
type logOutput struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *logOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Write(p)
}

// logHandler is slog's JSON handler that knows its output, so that the
// audit log can write there too, in the same format.
type logHandler struct {
	slog.Handler
	out *logOutput
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{h.Handler.WithAttrs(as), h.out}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{h.Handler.WithGroup(name), h.out}
}

// newLogger is the process's logger: JSON lines on w.
func newLogger(w io.Writer, opts *slog.HandlerOptions) *slog.Logger {
	out := &logOutput{w: w}
	return slog.New(&logHandler{slog.NewJSONHandler(out, opts), out})
}

// logOutputOf is log's destination when newLogger made it; for any
// other logger, the process's standard error, where logs go by default.
func logOutputOf(log *slog.Logger) io.Writer {
	if h, ok := log.Handler().(*logHandler); ok {
		return h.out
	}
	return os.Stderr
}

// Audit buffer sizes: lines collect in a buffer that is written out when
// it holds auditFlushAt bytes, or every auditFlushEvery, and at shutdown.
// A line is at most a few KiB (every field is bounded, see logAnswer),
// so the buffer never grows past auditBufCap once made.
const (
	auditBufCap     = 64 << 10
	auditFlushAt    = 32 << 10
	auditFlushEvery = time.Second
)

// auditLog buffers audit lines: one write(2) per some hundred answers
// instead of one each.
type auditLog struct {
	mu  sync.Mutex
	buf []byte
	out io.Writer
}

func newAuditLog(out io.Writer) *auditLog { return &auditLog{out: out} }

// add copies one line into the buffer, writing the buffer out first when
// the line would take it past auditFlushAt.
func (a *auditLog) add(line []byte) {
	a.mu.Lock()
	if cap(a.buf) == 0 {
		a.buf = make([]byte, 0, auditBufCap) // once, on the first line
	}
	if len(a.buf)+len(line) > auditFlushAt {
		a.flushLocked()
	}
	a.buf = append(a.buf, line...)
	a.mu.Unlock()
}

// flush writes out what the buffer holds.
func (a *auditLog) flush() {
	a.mu.Lock()
	a.flushLocked()
	a.mu.Unlock()
}

func (a *auditLog) flushLocked() {
	if len(a.buf) > 0 {
		// A failed write (standard error closed) loses these lines; there
		// is nowhere else to say so.
		_, _ = a.out.Write(a.buf)
		a.buf = a.buf[:0]
	}
}

// run flushes every auditFlushEvery until ctx is done, then once more.
func (a *auditLog) run(ctx context.Context) {
	t := time.NewTicker(auditFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.flush()
		case <-ctx.Done():
			a.flush()
			return
		}
	}
}

// Bounds of the request-derived fields of an audit line, in bytes before
// escaping. nginx's $request_id is 32 hex digits, a W3C traceparent 55
// characters.
const (
	maxLogID     = 128
	maxLogMethod = 32
	maxLogURL    = 2048
	maxLogUID    = 256
)

var (
	headerXRequestID   = []byte("X-Request-Id")
	headerTraceparent  = []byte("Traceparent")
	defaultTicketParam = []byte("auth_tkt")
)

// auditHead starts every audit line: the fields slog writes first.
const (
	auditTime = `{"time":"`
	auditMsg  = `","level":"INFO","msg":"auth answer"`
)

// auditClock formats audit times as slog does (RFC 3339 with
// nanoseconds, trailing zeros dropped), with the part up to the second
// kept from the last call: Time.AppendFormat costs a tenth of an answer.
// One per pooled state, so it needs no lock.
type auditClock struct {
	sec  int64
	head []byte // "2006-01-02T15:04:05" of sec
	zone []byte // "Z" or "+01:00"
}

func (c *auditClock) appendRFC3339Nano(b []byte, t time.Time) []byte {
	if sec := t.Unix(); sec != c.sec || c.head == nil {
		c.sec = sec
		c.head = t.AppendFormat(c.head[:0], "2006-01-02T15:04:05")
		c.zone = t.AppendFormat(c.zone[:0], "Z07:00")
	}
	b = append(b, c.head...)
	if ns := uint32(t.Nanosecond()); ns != 0 {
		// Two digits at a time: this runs on every line.
		var frac [10]byte
		frac[0] = '.'
		frac[9] = byte('0' + ns%10)
		ns /= 10
		for i := 7; i > 0; i -= 2 {
			d := digitPairs[ns%100*2:]
			frac[i], frac[i+1] = d[0], d[1]
			ns /= 100
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, c.zone...)
}

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// logAnswer writes the audit line of one answer: who asked (request ID,
// client address, method, URL without its ticket), which policy answered
// what and why, and whose ticket it was. Never the cookie, the ticket, a
// digest or a secret. It appends into the pooled state's buffer and
// copies that into the shared one: no allocation.
func (s *Server) logAnswer(ctx *fasthttp.RequestCtx, snap *snapshot, p *policy, st *state, r reason, start time.Time) {
	status := ctx.Response.StatusCode()
	if snap.logRequests == logDenied && status == fasthttp.StatusOK {
		return
	}
	b := appendAuditStart(st.line[:0], ctx, st, p.cookieName, start)
	b = append(b, `,"policy":`...)
	b = appendJSONString(b, []byte(p.Name), maxLogID)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"reason":"`...)
	b = append(b, r.String()...)
	b = append(b, '"')
	// A ticket whose signature held names its user; one refused for its
	// digest or its form only claims one (a forger writes what he likes).
	switch {
	case r.verified():
		b = append(b, `,"uid":`...)
		b = appendJSONString(b, st.tk.UID, maxLogUID)
	case (r == reasonBadDigest || r == reasonMalformed) && len(st.tk.UID) > 0:
		b = append(b, `,"claimed_uid":`...)
		b = appendJSONString(b, st.tk.UID, maxLogUID)
	}
	b = appendAuditEnd(b, &ctx.Request.Header)
	st.line = b
	s.audit.add(b)
}

// logUnknownPolicy writes the audit line of a request for a policy that
// does not exist (answered 500).
func (s *Server) logUnknownPolicy(ctx *fasthttp.RequestCtx, snap *snapshot, name []byte) {
	var st state // rare: no need for the pool
	st.ip = clientIP(ctx, snap)
	st.scheme, st.host, st.uri = originalURL(&ctx.Request.Header)
	b := appendAuditStart(nil, ctx, &st, nil, ctx.Time())
	b = append(b, `,"policy":`...)
	b = appendJSONString(b, name, maxLogID)
	b = append(b, `,"status":500,"reason":"unknown_policy"`...)
	b = appendAuditEnd(b, &ctx.Request.Header)
	s.audit.add(b)
}

// appendAuditStart writes the fields every audit line starts with.
func appendAuditStart(b []byte, ctx *fasthttp.RequestCtx, st *state, cookieName []byte, start time.Time) []byte {
	req := &ctx.Request.Header
	b = append(b, auditTime...)
	b = st.clock.appendRFC3339Nano(b, start) // as slog's JSON handler writes it
	b = append(b, auditMsg...)
	if id := req.PeekCanonical(headerXRequestID); len(id) > 0 {
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, id, maxLogID)
	}
	if ip := st.ip; ip.IsValid() {
		b = append(b, `,"client_ip":"`...)
		b = ip.AppendTo(b)
		b = append(b, '"')
	}
	m := req.PeekCanonical(headerXOriginalMethod)
	if len(m) == 0 {
		m = req.PeekCanonical(headerXForwardedMethod)
	}
	if len(m) == 0 {
		m = req.Method()
	}
	b = append(b, `,"method":`...)
	b = appendJSONString(b, m, maxLogMethod)
	scheme, host, uri := st.scheme, st.host, st.uri
	if len(host) > 0 || len(uri) > 0 {
		b = append(b, `,"url":`...)
		b = appendLogURL(b, scheme, host, uri, cookieName)
	}
	return b
}

// appendAuditEnd closes an audit line, after the trace header if any.
func appendAuditEnd(b []byte, req *fasthttp.RequestHeader) []byte {
	if tp := req.PeekCanonical(headerTraceparent); len(tp) > 0 {
		b = append(b, `,"traceparent":`...)
		b = appendJSONString(b, tp, maxLogID)
	}
	return append(b, "}\n"...)
}

// appendLogURL writes the original URL as a JSON string, without its
// ticket parameters (auth_tkt, and the policy's cookie name): a URL
// ticket is a whole ticket, which a log must never hold. A URL longer
// than maxLogURL bytes is cut there and ends in "…".
func appendLogURL(b, scheme, host, uri, cookieName []byte) []byte {
	if q := query(uri); len(host)+len(uri) <= maxLogURL && !bytes.Contains(q, defaultTicketParam) && (len(cookieName) == 0 || !bytes.Contains(q, cookieName)) {
		// Nothing to take out (the usual case): escape it as it is.
		b = append(b, '"')
		if len(host) > 0 {
			b = append(b, scheme...)
			b = append(b, "://"...)
			b = append(b, host...) // cleanHost: nothing to escape
		}
		b = appendJSONEscaped(b, uri, maxLogURL)
		return append(b, '"')
	}
	var stack [maxLogURL + len("…")]byte
	u := stack[:0:maxLogURL]
	if len(host) > 0 {
		u = append(u, scheme...)
		u = append(u, "://"...)
		u = append(u, host...) // at most 255 bytes: cleanHost
	}
	u, whole := appendWithoutTicket(u, uri, defaultTicketParam, cookieName)
	if !whole {
		u = append(stack[:len(u)], "…"...)
	}
	return appendJSONString(b, u, len(stack))
}

// appendWithoutTicket appends uri without the query parameters whose key
// is name1 or name2, whichever of '&' and ';' separates them
// (mod_auth_tkt reads a URL ticket from pairs split on '&'; its back URLs
// split on both). The other pairs and their separators stay as they
// were. It appends only what fits in dst's capacity (whole is false when
// something did not), so it never allocates.
func appendWithoutTicket(dst, uri, name1, name2 []byte) (out []byte, whole bool) {
	put := func(dst, p []byte) ([]byte, bool) {
		if room := cap(dst) - len(dst); len(p) > room {
			return append(dst, p[:room]...), false
		}
		return append(dst, p...), true
	}
	path, rest, hasQuery := bytes.Cut(uri, []byte{'?'})
	if dst, whole = put(dst, path); !whole || !hasQuery {
		return dst, whole
	}
	rest, frag, hasFrag := bytes.Cut(rest, []byte{'#'})
	sep, kept := byte('?'), false
	for {
		pair, next := rest, byte(0)
		if k := bytes.IndexAny(rest, "&;"); k >= 0 {
			pair, next, rest = rest[:k], rest[k], rest[k+1:]
		}
		key, _, _ := bytes.Cut(pair, []byte{'='})
		if !bytes.Equal(key, name1) && !bytes.Equal(key, name2) {
			if !kept {
				sep = '?'
			}
			if dst, whole = put(dst, []byte{sep}); !whole {
				return dst, false
			}
			if dst, whole = put(dst, pair); !whole {
				return dst, false
			}
			kept = true
		}
		if next == 0 {
			break
		}
		sep = next
	}
	if hasFrag {
		if dst, whole = put(dst, []byte{'#'}); whole {
			dst, whole = put(dst, frag)
		}
	}
	return dst, whole
}

// jsonPlain marks the ASCII bytes a JSON string holds as they are.
// Control bytes and DEL are escaped: a log line must not move a
// terminal's cursor either.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return
}()

// appendJSONString appends s, cut to max bytes, as a JSON string (see
// appendJSONEscaped).
func appendJSONString(dst, s []byte, max int) []byte {
	dst = append(dst, '"')
	dst = appendJSONEscaped(dst, s, max)
	return append(dst, '"')
}

// appendJSONEscaped appends s, cut to max bytes, escaped for a JSON
// string: quotes, backslashes and control bytes escaped, invalid UTF-8
// written as U+FFFD (as encoding/json does), U+2028 and U+2029 escaped
// (JavaScript reads them as line ends). Runs of eight plain ASCII bytes
// are passed over a word at a time.
func appendJSONEscaped(dst, s []byte, max int) []byte {
	if len(s) > max {
		s = s[:max] // a rune cut here is invalid UTF-8: U+FFFD below
	}
	const hexd = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && plain8(load64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexd[r&15])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// load64 reads eight bytes little-endian (one load: the compiler
// recognises the pattern; encoding/binary's name is taken in this
// package's tests).
func load64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// plain8 says whether all eight bytes of x are plain ASCII for a JSON
// string: none at or above 0x80, below 0x20, DEL, '"' or '\\'. (The
// tests for a byte below c, (x-c)&^x, are exact for "is there one" once
// no byte has its high bit set.)
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	has := func(c uint64) uint64 { y := x ^ (c * ones); return (y - ones) &^ y }
	return (x|(x-0x20*ones)&^x|has('"')|has('\\')|has(0x7f))&highs == 0
}
