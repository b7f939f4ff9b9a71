package main

// The hostile-input suite of issue 7: everything here talks to a real
// server over a real socket (serve() in-process, and the built binary for
// the process staying up) and sends what a broken or malicious client, or
// a confused proxy, could. Whatever arrives, the gate must answer 4xx (5xx
// only for an unknown policy, which is a configuration error), never put
// a control byte into a response header, stay up, and still let a valid
// ticket through afterwards. Its logs must never show the secret, a
// digest or a whole ticket. The in-process attacks also run against a
// passport gate and a pyramid gate, with the ticket attacks written for
// each dialect (hostile_dialect_test.go, issue 16).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/apachetest"
	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/internal/rawhttp"
)

// hConfig is the main gate of the suite: baseConfig (secret testSecret,
// login URLs, policy admin), with the loopback peer NOT trusted, so that
// every client-IP header the test sends is a spoofing attempt. Short read
// and idle timeouts make the slow attacks quick to test.
const hConfig = baseConfig + `
[policy.rel]
login_url = "/login"
[client_ip]
trusted_proxies = ["10.0.0.0/8"]
[limits]
read_timeout = "1s"
idle_timeout = "1s"
`

var hLocalhost = [4]byte{127, 0, 0, 1}

// hSuite remembers what the suite's logs must never contain, and every
// log it captured.
type hSuite struct {
	mu     sync.Mutex
	secret map[string]bool // whole tickets in every encoding sent, and the secret
	digest map[string]bool
	logs   []hLogSource
}

type hLogSource struct {
	name string
	text func() string
}

func newHSuite() *hSuite {
	return &hSuite{secret: map[string]bool{testSecret: true}, digest: map[string]bool{}}
}

// hForge writes an MD5 ticket by the recipe in auth_tkt.md, independently
// of the verifier package (apachetest.Ticket, the reference signer), so that the
// suite can sign tickets Sign refuses to make: control bytes in uid,
// tokens or data.
func hForge(secret, uid, tokens, data string, ip [4]byte, ts uint32) string {
	return apachetest.Ticket{UID: uid, Tokens: tokens, Data: data, TS: ts, IP: netip.AddrFrom4(ip), Secret: secret}.Text("MD5")
}

// hEscape percent-encodes every byte outside [A-Za-z0-9._~-], '!' included,
// which is how mod_auth_tkt recognises a URL-escaped ticket (by "%21").
func hEscape(raw string) string { return hPercent(raw, "._~-") }

// hPercent percent-encodes (upper-case hex) every byte of s but ASCII
// letters, digits and those in safe.
func hPercent(s, safe string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hB64(raw string) string { return base64.StdEncoding.EncodeToString([]byte(raw)) }

// hFlip changes the character at i to another base64 character.
func hFlip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// forge signs a ticket with the test secret and registers it, in all
// its encodings, as something no log may show. It returns the raw ticket.
func (s *hSuite) forge(uid, tokens, data string, ip [4]byte, ts time.Time) string {
	return s.forgeTS(uid, tokens, data, ip, uint32(ts.Unix()))
}

func (s *hSuite) forgeTS(uid, tokens, data string, ip [4]byte, ts uint32) string {
	raw := hForge(testSecret, uid, tokens, data, ip, ts)
	s.mu.Lock()
	s.secret[raw] = true
	s.secret[hB64(raw)] = true
	s.secret[hEscape(raw)] = true
	s.secret[strings.ReplaceAll(raw, "!", "%21")] = true
	s.digest[raw[:32]] = true
	s.mu.Unlock()
	return raw
}

// valid is a fresh, base64-encoded ticket for uid from 127.0.0.1.
func (s *hSuite) valid(uid string) string {
	return hB64(s.forge(uid, "admin,editor", "data of "+uid, hLocalhost, time.Now()))
}

// ---- gates ----

// hGate is one running server: in-process or the binary.
type hGate struct {
	name    string
	network string // "tcp" or "unix"
	addr    string
	extra   []string // headers every request carries (X-Real-IP on a unix socket)
	up      func() error
	logs    func() string
	dl      *hDialect // the ticket dialect of /auth; nil: mod_auth_tkt
}

// start runs serve() on listen with config until the test ends.
func (s *hSuite) start(t *testing.T, name, config, listen string) *hGate {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Listen = listen
	logs := &e2e.Buffer{}
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug) // the most log lines there can be
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan []net.Addr, 1)
	exited := make(chan struct{})
	var serveErr error
	go func() {
		defer close(exited)
		serveErr = serve(ctx, cfg, path, log, level, make(chan os.Signal), ready)
	}()
	var addr string
	select {
	case addrs := <-ready:
		addr = addrs[0].String()
	case <-exited:
		cancel()
		t.Fatalf("serve: %v", serveErr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
			if serveErr != nil {
				t.Errorf("%s: serve returned %v", name, serveErr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s: serve did not return after cancel", name)
		}
	})
	s.mu.Lock()
	s.logs = append(s.logs, hLogSource{name, logs.String})
	s.mu.Unlock()
	g := &hGate{name: name, network: "tcp", addr: addr, logs: logs.String, up: func() error {
		select {
		case <-exited:
			return fmt.Errorf("serve returned early: %v", serveErr)
		default:
			return nil
		}
	}}
	// Runs before the server stops (cleanups run last first).
	t.Cleanup(func() { hNoPanics(t, g) })
	return g
}

func (g *hGate) dial(t *testing.T) *rawhttp.Conn {
	t.Helper()
	c, err := rawhttp.Dial(g.network, g.addr, 2*time.Second)
	if err != nil {
		t.Fatalf("%s: dial: %v", g.name, err)
	}
	return c
}

// request writes a request by hand, so that the test controls every byte.
func (g *hGate) request(method, path string, headers ...string) string {
	return rawhttp.Request(method, path, "gate", append(g.extra[:len(g.extra):len(g.extra)], headers...)...)
}

// exchange writes payload on a new connection (in the background, as the
// server may close before reading it all), optionally half-closes, and
// reads answers until the connection ends or the deadline passes. heads
// says which answers are to HEAD requests. It returns the answers and
// what ended the reading.
func (g *hGate) exchange(t *testing.T, payload string, halfClose bool, heads ...bool) ([]*hResp, error) {
	t.Helper()
	c := g.dial(t)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if _, err := io.WriteString(c, payload); err == nil && halfClose {
			c.CloseWrite()
		}
	}()
	defer func() { c.Close(); <-wrote }()
	var rs []*hResp
	for {
		head := len(heads) > len(rs) && heads[len(rs)]
		r, err := hRead(c, head)
		if err != nil {
			return rs, err
		}
		rs = append(rs, r)
	}
}

// one sends a single request on its own connection and returns its
// answer, checked: no 5xx unless allow5xx, a clean head.
func (g *hGate) one(t *testing.T, what, raw string, allow5xx bool) *hResp {
	t.Helper()
	c := g.dial(t)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(c, raw)
	r, err := hRead(c, strings.HasPrefix(raw, "HEAD "))
	if err != nil {
		t.Fatalf("%s: %s: no answer: %v", g.name, what, err)
	}
	hCheck(t, g.name+": "+what, r, allow5xx)
	return r
}

// get sends method path with headers and checks the answer.
func (g *hGate) get(t *testing.T, what, path string, headers ...string) *hResp {
	t.Helper()
	return g.one(t, what, g.request("GET", path, headers...), false)
}

// alive: after an attack, the gate is up and a valid ticket passes.
func (s *hSuite) alive(t *testing.T, g *hGate, after string) {
	t.Helper()
	if err := g.up(); err != nil {
		t.Fatalf("%s: after %s: %v", g.name, after, err)
	}
	r := g.get(t, "valid ticket after "+after, "/auth", g.ck(s.validOn(g, "alice")))
	if r.status != 200 || r.hdr.Get("X-Remote-User") != "alice" {
		t.Errorf("%s: after %s, a valid ticket got %d X-Remote-User %q, want 200 alice:\n%s", g.name, after, r.status, r.hdr.Get("X-Remote-User"), r.raw)
	}
}

// ---- reading and checking answers ----

type hResp struct {
	status int
	lines  []string // the head as received, line by line, CRLFs included
	raw    string
	hdr    http.Header
	body   string
}

// hRead reads the next answer on c, and nothing past it, so that
// pipelined answers stay buffered; head says it answers a HEAD request.
// io.EOF means the connection ended cleanly before an answer began.
// Header values in hdr lose the white space at their start, not at their
// end: a trailing tab from a request must show.
func hRead(c *rawhttp.Conn, head bool) (*hResp, error) {
	a, err := c.Read(head)
	if err != nil {
		return nil, err
	}
	r := &hResp{status: a.Status, lines: a.Lines, raw: a.Raw(), hdr: http.Header{}, body: a.Body}
	for _, f := range a.Fields {
		r.hdr.Add(f.Name, strings.TrimLeft(f.Value, " \t"))
	}
	return r, nil
}

// hHeaders are all the response headers the gate has any business sending.
var hHeaders = map[string]bool{
	"Content-Length": true, "Content-Type": true, "Connection": true, "Date": true, // fasthttp's own error answers
	"X-Remote-User": true, "X-Remote-User-Tokens": true, "X-Remote-User-Data": true,
	"Set-Cookie": true, "Location": true, "X-Accel-Expires": true, "Cache-Control": true,
	"X-Remote-User-Email": true, // user_data_headers of the passport gate's JSON policy
}

// hCheck holds an answer to the contract: no 5xx (unless allowed), every
// head line CRLF-terminated with no CR, LF, NUL or other control byte in
// it, no header an injection could have made up, identity headers only on
// a 200, and auth answers without a body.
func hCheck(t *testing.T, what string, r *hResp, allow5xx bool) {
	t.Helper()
	if r.status >= 500 && !allow5xx {
		t.Errorf("%s: %d, a 5xx for client input:\n%s", what, r.status, r.raw)
	}
	if r.status < 100 || r.status > 599 {
		t.Errorf("%s: status %d", what, r.status)
	}
	for i, l := range r.lines {
		body, ok := strings.CutSuffix(l, "\r\n")
		if !ok {
			t.Errorf("%s: head line %d %q does not end in CRLF", what, i, l)
		}
		for j := 0; j < len(body); j++ {
			if c := body[j]; (c < 0x20 && c != '\t') || c == 0x7f {
				t.Errorf("%s: control byte %#x in head line %q", what, c, l)
				break
			} else if c == '\t' && i > 0 {
				t.Logf("%s: a tab in head line %q", what, l)
			}
		}
		if i == 0 || body == "" {
			continue
		}
		name, _, ok := strings.Cut(body, ":")
		if !ok || !hHeaders[textproto.CanonicalMIMEHeaderKey(name)] {
			t.Errorf("%s: unexpected head line %q (header injection?):\n%s", what, l, r.raw)
		}
	}
	if r.status != 200 {
		for _, h := range []string{"X-Remote-User", "X-Remote-User-Tokens", "X-Remote-User-Data"} {
			if _, ok := r.hdr[h]; ok {
				t.Errorf("%s: %s on a %d:\n%s", what, h, r.status, r.raw)
			}
		}
	}
	if _, auth := r.hdr["X-Accel-Expires"]; auth && (r.hdr.Get("Content-Length") != "0" || r.body != "") {
		t.Errorf("%s: auth answer with a body:\n%s%s", what, r.raw, r.body)
	}
	for _, sc := range r.hdr.Values("Set-Cookie") {
		if strings.Contains(strings.ToLower(sc), "inject") {
			t.Errorf("%s: injected Set-Cookie %q", what, sc)
		}
	}
}

// ---- the suite ----

func TestHostileInput(t *testing.T) {
	s := newHSuite()
	t.Run("attacks", func(t *testing.T) {
		t.Run("in-process", func(t *testing.T) {
			t.Parallel()
			g := s.start(t, "main", hConfig, "127.0.0.1:0")
			for _, a := range []struct {
				name string
				f    func(*testing.T, *hSuite, *hGate)
			}{
				{"random-bytes", hRandomBytes},
				{"oversized", hOversized},
				{"truncated", hTruncated},
				{"framing", hFraming},
				{"big-cookies", hBigCookies},
				{"bad-encodings", hBadEncodings},
				{"ticket-injection", hTicketInjection},
				{"whitespace-identities", hWhitespaceIdentities},
				{"future", hFuture},
				{"spoofed-ip", hSpoofedIP},
				{"pipelining", hPipelining},
				{"paths-and-methods", hPathsAndMethods},
			} {
				t.Run(a.name, func(t *testing.T) {
					a.f(t, s, g)
					s.alive(t, g, a.name)
				})
			}
		})
		// The same attacks, dialect-aware where they are about tickets,
		// against a passport gate and a pyramid gate
		// (hostile_dialect_test.go).
		for _, dg := range hDialectGates {
			t.Run("in-process-"+dg.name, func(t *testing.T) { t.Parallel(); hDialectGate(t, s, dg) })
		}
		t.Run("xff-untrusted", func(t *testing.T) { t.Parallel(); hSpoofedXFF(t, s) })
		t.Run("client-ip-trusted", func(t *testing.T) { t.Parallel(); hTrustedClientIP(t, s) })
		t.Run("ipv6-peer", func(t *testing.T) { t.Parallel(); hIPv6Peer(t, s) })
		t.Run("slowloris", func(t *testing.T) { t.Parallel(); hSlowloris(t, s) })
		t.Run("max-conns", func(t *testing.T) { t.Parallel(); hMaxConns(t, s) })
		t.Run("process", func(t *testing.T) { t.Parallel(); hProcess(t, s) })
		t.Run("log-attribution", func(t *testing.T) { t.Parallel(); hLogAttribution(t, s) })
	})
	t.Run("logs", func(t *testing.T) { s.checkLogs(t) })
}

// hNoPanics: the handler's last-resort recover never fired.
func hNoPanics(t *testing.T, g *hGate) {
	t.Helper()
	r := g.get(t, "/metrics", "/metrics")
	if !strings.Contains(r.body, "\ntktgate_handler_panics_total 0\n") {
		t.Errorf("%s: the handler panicked:\n%s", g.name, r.body)
	}
}

// Random bytes, alone or after a plausible start, half-closed: whatever
// comes back is a clean 4xx, and the gate lives on.
func hRandomBytes(t *testing.T, s *hSuite, g *hGate) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	prefixes := []string{
		"",
		"GET ",
		"GET /auth HTTP/1.1\r\n",
		"GET /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=",
		"GET /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + s.validOn(g, "alice") + "\r\n",
		"POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: 16\r\n\r\n",
		"GET /auth?auth_tkt=",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",         // a TLS ClientHello
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",                     // the HTTP/2 preface
		g.request("GET", "/auth", g.ck(s.validOn(g, "alice"))), // a keep-alive request, then junk
	}
	for i := 0; i < 80; i++ {
		b := make([]byte, 1+rng.IntN(4096))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		p := prefixes[i%len(prefixes)]
		rs, err := g.exchange(t, p+string(b), true)
		if err != nil && !rawhttp.Closed(err) {
			t.Errorf("random #%d after %q: %v", i, p, err)
		}
		for k, r := range rs {
			hCheck(t, fmt.Sprintf("random #%d after %q", i, p), r, false)
			if r.status == 200 && (k > 0 || !strings.HasSuffix(p, "\r\n\r\n")) {
				t.Errorf("random #%d after %q: 200 for junk", i, p)
			}
		}
	}
}

// Headers beyond read_buffer_size (32 KiB): 431 and the connection
// closed, whatever part of the request is too big.
func hOversized(t *testing.T, s *hSuite, g *hGate) {
	big := strings.Repeat("a", 40<<10)
	many := strings.Builder{}
	for i := 0; many.Len() < 40<<10; i++ {
		fmt.Fprintf(&many, "X-Header-%d: value\r\n", i)
	}
	cookies := strings.Builder{}
	for i := 0; cookies.Len() < 40<<10; i++ {
		fmt.Fprintf(&cookies, "c%d=v; ", i)
	}
	for _, c := range []struct{ name, payload string }{
		{"one 40 KB header", g.request("GET", "/auth", "X-Big: "+big)},
		{"40 KB cookie after a valid ticket", g.request("GET", "/auth", g.ck(s.validOn(g, "alice"))+"; big="+big)},
		{"thousands of headers", "GET /auth HTTP/1.1\r\nHost: gate\r\n" + many.String() + "\r\n"},
		{"4500 cookies", g.request("GET", "/auth", "Cookie: "+cookies.String()+g.cookie()+"="+s.validOn(g, "alice"))},
		{"five 8 KB Cookie headers", g.request("GET", "/auth", "Cookie: a="+big[:8<<10], "Cookie: b="+big[:8<<10], "Cookie: c="+big[:8<<10], "Cookie: d="+big[:8<<10], "Cookie: e="+big[:8<<10])},
		{"40 KB request target", "GET /auth?" + big + " HTTP/1.1\r\nHost: gate\r\n\r\n"},
		{"40 KB X-Original-URL", g.request("GET", "/auth", "X-Original-URL: https://app/"+big)},
		{"1 MB header line without an end", "GET /auth HTTP/1.1\r\nHost: gate\r\nX-Big: " + strings.Repeat(big, 25)},
	} {
		rs, err := g.exchange(t, c.payload, false)
		if len(rs) != 1 {
			t.Errorf("%s: %d answers (%v), want one 431", c.name, len(rs), err)
			continue
		}
		r := rs[0]
		hCheck(t, c.name, r, false)
		if r.status != 431 || !strings.EqualFold(r.hdr.Get("Connection"), "close") {
			t.Errorf("%s: %d Connection %q, want 431 and close:\n%s", c.name, r.status, r.hdr.Get("Connection"), r.raw)
		}
		if !rawhttp.Closed(err) {
			t.Errorf("%s: connection not closed after the 431: %v", c.name, err)
		}
	}
	// Within the limit, the largest subrequest nginx sends with default
	// buffers (large_client_header_buffers 4 8k): its URI again in
	// X-Original-URL, three 8 KB Cookie lines, nginx's own headers; about
	// 32.6 KB.
	// A dialect's longer ticket takes the place of some of the filler.
	k8 := strings.Repeat("k", 8150)
	tk := s.validOn(g, "alice")
	fill := 8000 - max(0, len(tk)-len(s.valid("alice")))
	worst := g.request("GET", "/auth", "X-Real-IP: 127.0.0.1", "X-Original-Method: GET",
		"X-Original-URL: https://app.example.com/?"+k8, "Cookie: a="+k8, "Cookie: b="+k8, "Cookie: c="+k8[:fill]+"; "+g.cookie()+"="+tk)
	if r := g.one(t, "nginx's worst case", worst, false); r.status != 200 || r.hdr.Get("X-Remote-User") != "alice" {
		t.Errorf("an auth subrequest of %d bytes, as nginx with default buffers can send: %d, want 200 alice", len(worst), r.status)
	}
	// Just under the limit still works: nginx's default is 4 x 8 KB.
	r := g.get(t, "four 7 KB Cookie headers", "/auth", "Cookie: a="+big[:7<<10], "Cookie: b="+big[:7<<10], "Cookie: c="+big[:7<<10], "Cookie: d="+big[:7<<10]+"; "+g.cookie()+"="+s.validOn(g, "alice"))
	if r.status != 200 || r.hdr.Get("X-Remote-User") != "alice" {
		t.Errorf("28 KB of cookies: %d %q, want 200 alice", r.status, r.hdr.Get("X-Remote-User"))
	}
}

// Requests cut off anywhere: never a 2xx (the request is incomplete),
// never a 5xx; nothing or a 4xx, and the connection ends.
func hTruncated(t *testing.T, s *hSuite, g *hGate) {
	full := g.request("GET", "/auth", g.ck(s.validOn(g, "alice")), "X-Original-URL: https://app.example.com/x")
	post := "POST /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + s.validOn(g, "alice") + "\r\nContent-Length: 100\r\n\r\nonly part of the body"
	chunked := "POST /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + s.validOn(g, "alice") + "\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"
	var cuts []string
	for _, n := range []int{1, 3, 4, 10, 16, 17, 30, 60, len(full) - 4, len(full) - 3, len(full) - 2, len(full) - 1} {
		cuts = append(cuts, full[:n])
	}
	cuts = append(cuts, post, chunked, strings.Replace(full, "\r\n\r\n", "\r\n", 1))
	for i, p := range cuts {
		for _, abrupt := range []bool{false, true} {
			c := g.dial(t)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, p)
			if abrupt {
				// Reset, not FIN: the gate must not mind.
				c.Conn.(*net.TCPConn).SetLinger(0)
				c.Close()
				continue
			}
			c.CloseWrite()
			var rs []*hResp
			var err error
			for {
				var r *hResp
				if r, err = hRead(c, false); err != nil {
					break
				}
				rs = append(rs, r)
			}
			c.Close()
			if !rawhttp.Closed(err) {
				t.Errorf("cut #%d %q: connection not ended: %v", i, p, err)
			}
			for _, r := range rs {
				hCheck(t, fmt.Sprintf("cut #%d %q", i, p), r, false)
				if r.status < 400 {
					t.Errorf("cut #%d %q: %d for an incomplete request", i, p, r.status)
				}
			}
		}
	}
}

// Broken or ambiguous message framing: bodies, lengths, chunking,
// smuggling shapes, bare LF, folding.
func hFraming(t *testing.T, s *hSuite, g *hGate) {
	tk := s.validOn(g, "alice")
	for _, c := range []struct {
		name, payload string
		want          int // 0: any 4xx
	}{
		{"body too big", "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("x", 70<<10), 0}, // fasthttp: 400
		{"negative length", "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: -1\r\n\r\n", 0},
		{"huge length", "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0},
		{"non-numeric length", "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: 1a\r\n\r\n", 0},
		{"two lengths", "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 0},
		{"huge chunk", "POST /auth HTTP/1.1\r\nHost: gate\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n0\r\n\r\n", 0},
		{"bad chunk size", "POST /auth HTTP/1.1\r\nHost: gate\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n", 0},
		{"unknown transfer coding", "POST /auth HTTP/1.1\r\nHost: gate\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n", 0},
		{"NUL in a header value", "GET /auth HTTP/1.1\r\nHost: gate\r\nX-Original-URL: https://app/\x00\r\n\r\n", 400},
		{"bare CR in a header value", "GET /auth HTTP/1.1\r\nHost: gate\r\nX-Original-URL: https://app/\rSet-Cookie: injected=1\r\n\r\n", 400},
		{"DEL in a header value", "GET /auth HTTP/1.1\r\nHost: gate\r\nX-Forwarded-Host: a\x7fb\r\n\r\n", 400},
		{"control byte in a ticket cookie", "GET /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + tk + "\x01\r\n\r\n", 400},
		{"space before colon", "GET /auth HTTP/1.1\r\nHost: gate\r\nCookie : auth_tkt=" + tk + "\r\n\r\n", 0},
		{"header without colon", "GET /auth HTTP/1.1\r\nHost: gate\r\nCookie auth_tkt=" + tk + "\r\n\r\n", 0},
		{"empty header name", "GET /auth HTTP/1.1\r\nHost: gate\r\n: x\r\n\r\n", 0},
		// Errors whose messages could quote a ticket.
		{"ticket in a bad request line", "GET /auth?auth_tkt=" + tk + " HTTP/1.1 x\r\nHost: gate\r\n\r\n", 0},
		{"ticket in a bad header name", "GET /auth HTTP/1.1\r\nHost: gate\r\nauth_tkt=" + tk + ": x\r\n\r\n", 0},
		{"ticket in a bad method", "G\x01T /auth?auth_tkt=" + tk + " HTTP/1.1\r\nHost: gate\r\n\r\n", 0},
		{"ticket in a bad Content-Length", "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: " + tk + "\r\n\r\n", 0},
		{"ticket in a bad chunk", "POST /auth HTTP/1.1\r\nHost: gate\r\nTransfer-Encoding: chunked\r\n\r\n" + tk + "\r\n\r\n", 0},
	} {
		rs, err := g.exchange(t, c.payload, false)
		if len(rs) == 0 {
			t.Errorf("%s: no answer (%v)", c.name, err)
			continue
		}
		for _, r := range rs {
			hCheck(t, c.name, r, false)
		}
		r := rs[0]
		if (c.want != 0 && r.status != c.want) || (c.want == 0 && (r.status < 400 || r.status > 499)) {
			t.Errorf("%s: %d, want %v:\n%s", c.name, r.status, c.want, r.raw)
		}
	}
	// Framing that is odd but valid: the ticket still counts.
	for _, c := range []struct{ name, payload string }{
		{"chunked body", "POST /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + tk + "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"expect 100-continue", "POST /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + tk + "\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"},
		{"HTTP/1.0 without Host", "GET /auth HTTP/1.0\r\nCookie: " + g.cookie() + "=" + tk + "\r\n\r\n"},
		{"absolute-form target", "GET http://gate/auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + tk + "\r\n\r\n"},
		{"obs-fold", "GET /auth HTTP/1.1\r\nHost: gate\r\nX-Original-URL: https://app/a\r\n Set-Cookie: injected=1\r\nCookie: " + g.cookie() + "=" + tk + "\r\n\r\n"},
	} {
		rs, err := g.exchange(t, c.payload, true)
		if len(rs) == 0 {
			t.Errorf("%s: no answer (%v)", c.name, err)
			continue
		}
		for _, r := range rs {
			hCheck(t, c.name, r, false)
		}
		if r := rs[0]; r.status != 200 && !(c.name == "obs-fold" && r.status == 400) {
			t.Errorf("%s: %d, want 200:\n%s", c.name, r.status, r.raw)
		}
	}
	// Bare LF line ends: fasthttp may refuse them, but not with a 5xx.
	rs, err := g.exchange(t, "GET /auth HTTP/1.1\nHost: gate\nCookie: "+g.cookie()+"="+tk+"\n\n", true)
	if len(rs) == 0 || (rs[0].status != 200 && rs[0].status != 400) {
		t.Errorf("bare LF line ends: %d answers (%v), want a 200 or a 400", len(rs), err)
	}
	for _, r := range rs {
		hCheck(t, "bare LF", r, false)
	}
	// Smuggling shape: Content-Length and chunked together. Whatever
	// fasthttp makes of it, each answer is clean and none is a 5xx.
	smuggle := "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
		"GET /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + tk + "\r\n\r\n"
	rs, _ = g.exchange(t, smuggle, true)
	for _, r := range rs {
		hCheck(t, "CL+TE", r, false)
	}
	t.Logf("CL+TE: %d answers", len(rs))
}

// hMany is format f filled with 0 to n-1, one after the other.
func hMany(n int, f string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, f, i)
	}
	return b.String()
}

// hCookieLines is n Cookie header lines, c0=v to c(n-1)=v.
func hCookieLines(n int) []string {
	headers := make([]string, 0, n)
	for i := 0; i < n; i++ {
		headers = append(headers, fmt.Sprintf("Cookie: c%d=v", i))
	}
	return headers
}

// 8 KB cookies and thousands of cookies within the buffer: the ticket is
// still found.
func hBigCookies(t *testing.T, s *hSuite, g *hGate) {
	tk := s.valid("alice")
	k8 := strings.Repeat("x", 8<<10)
	many, headers := hMany, hCookieLines(1500)
	for _, c := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"8 KB cookie before", []string{"Cookie: big=" + k8 + "; auth_tkt=" + tk}, 200},
		{"8 KB cookie after", []string{"Cookie: auth_tkt=" + tk + "; big=" + k8}, 200},
		{"three 8 KB Cookie headers, ticket in a fourth", []string{"Cookie: a=" + k8, "Cookie: b=" + k8, "Cookie: c=" + k8, "Cookie: auth_tkt=" + tk}, 200},
		{"2500 cookies, ticket last", []string{"Cookie: " + many(2500, "c%d=v; ") + "auth_tkt=" + tk}, 200},
		{"2500 cookies, ticket first", []string{"Cookie: auth_tkt=" + tk + many(2500, "; c%d=v")}, 200},
		{"1500 Cookie headers, ticket last", append(headers[:len(headers):len(headers)], "Cookie: auth_tkt="+tk), 200},
		{"2000 empty tickets first", []string{"Cookie: " + strings.Repeat("auth_tkt=; ", 2000) + "auth_tkt=" + tk}, 200},
		{"2000 look-alike names", []string{"Cookie: " + strings.Repeat("xauth_tkt=a; auth_tkt2=b; auth_tktauth_tkt=c; auth_tk=d; ", 500) + "auth_tkt=" + tk}, 200},
		{"8 KB base64 ticket", []string{"Cookie: auth_tkt=" + strings.Repeat("QUFB", 2<<10)}, 401},
		{"8 KB raw ticket", []string{"Cookie: auth_tkt=" + strings.Repeat("a", 40) + strings.Repeat("!", 8<<10)}, 401},
		{"8 KB escaped ticket", []string{"Cookie: auth_tkt=" + strings.Repeat("%21", 3<<10)}, 401},
		{"an 8 KB uid, signed", []string{"Cookie: auth_tkt=" + hB64(s.forge(k8, "", "", hLocalhost, time.Now()))}, 200},
		{"a garbage ticket first wins", []string{"Cookie: auth_tkt=garbage-garbage-garbage-garbage-garbage-garbage; auth_tkt=" + tk}, 401},
	} {
		start := time.Now()
		r := g.get(t, c.name, "/auth", c.headers...)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", c.name, d)
		}
		if r.status != c.want {
			t.Errorf("%s: %d, want %d", c.name, r.status, c.want)
		}
		if c.want == 200 && !strings.HasPrefix(r.hdr.Get("X-Remote-User"), "alice") && !strings.HasPrefix(r.hdr.Get("X-Remote-User"), "xxxx") {
			t.Errorf("%s: X-Remote-User %q", c.name, r.hdr.Get("X-Remote-User"))
		}
	}
}

// Invalid base64 and escapes in the ticket and in the URLs the gate
// reads: 401 with a clean Location, never a 5xx.
func hBadEncodings(t *testing.T, s *hSuite, g *hGate) {
	raw := s.forge("alice", "admin", "d", hLocalhost, time.Now())
	b64 := hB64(raw)
	bad := []string{
		"!", strings.Repeat("!", 60), "====", strings.Repeat("=", 100), "A", "AAAA", "A===",
		"%", "%2", "%21", "%zz%21", "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%21",
		"%00%21" + strings.Repeat("a", 60), hEscape(raw[:40]) + "%21%00",
		hB64("hello world, no ticket here, just some text!!"), hB64(strings.Repeat("\x00", 60)),
		hB64(strings.Repeat("\xff", 60) + "!"), b64[:len(b64)/2], "*" + b64, b64[:10] + "*" + b64[10:],
		hFlip(b64, 5), hFlip(b64, len(b64)-5), // one character changed
		hEscape(raw[:len(raw)-1]) + "%2", strings.ReplaceAll(raw, "!", "%2"),
		"\xff\xfe\xfd" + b64, "\t" + b64, "\"", "\"\"", `"` + "!" + `"`,
		"ä" + raw, raw[:31] + "ü" + raw[32:],
	}
	for i, v := range bad {
		r := g.get(t, fmt.Sprintf("bad cookie #%d %q", i, v), "/auth", "Cookie: auth_tkt="+v)
		if r.status != 401 {
			t.Errorf("bad cookie #%d %q: %d, want 401", i, v, r.status)
		}
	}
	// The encodings mod_auth_tkt accepts still work.
	for _, v := range []string{b64, raw, strings.ReplaceAll(raw, "!", "%21"), hEscape(raw), `"` + b64 + `"`, strings.TrimRight(b64, "=")} {
		if r := g.get(t, "good cookie "+v, "/auth", "Cookie: auth_tkt="+v); r.status != 200 || r.hdr.Get("X-Remote-User") != "alice" {
			t.Errorf("good cookie %q: %d %q, want 200 alice", v, r.status, r.hdr.Get("X-Remote-User"))
		}
	}
	// URL tickets and URLs: bad escapes are not an error, and the Location
	// stays clean.
	for i, u := range []string{
		"https://app.example.com/p?auth_tkt=%ZZ", "https://app.example.com/p?auth_tkt=%", "https://app.example.com/p?auth_tkt=====",
		"https://app.example.com/p?auth_tkt=%00%21", "https://app.example.com/p?auth_tkt=" + hEscape(raw[:50]) + "%0d%0aSet-Cookie:%20injected=1",
		"https://app.example.com/%", "https://app.example.com/%zz/%", "https://app.example.com/%00/%0d%0aSet-Cookie:%20injected=1",
		"https://app.example.com/%c0%ae%c0%ae/%2e%2e/", "https://app.example.com/\xff\xfe?\xff=\xfe", "https://app.example.com/?" + strings.Repeat("%", 8<<10),
		"https://app.example.com/?" + strings.Repeat("&;=", 2<<10), "//evil.example/x", "javascript:alert(1)", "https://", "://", "",
		"https://user:pass@app.example.com:99999/x#frag%0d%0a",
	} {
		for _, p := range []string{"/auth", "/auth/rel"} {
			r := g.get(t, fmt.Sprintf("X-Original-URL #%d %.60q on %s", i, u, p), p, "X-Original-URL: "+u)
			if r.status != 401 {
				t.Errorf("X-Original-URL #%d %.60q on %s: %d, want 401", i, u, p, r.status)
			}
			hCheckLocation(t, fmt.Sprintf("GET %s with X-Original-URL #%d %.60q", p, i, u), r.hdr.Get("Location"), u)
		}
	}
	// The X-Forwarded-* family, with a relative login URL that takes the
	// scheme and host from the request: odd bytes, but no control byte
	// gets through (fasthttp refuses them, tab aside).
	for i, h := range [][]string{
		{"X-Forwarded-Proto: javascript", "X-Forwarded-Host: evil.example", "X-Forwarded-Uri: /%0d%0a"},
		{"X-Forwarded-Proto: https\t", "X-Forwarded-Host: a\tb", "X-Original-URI: /\t"},
		{"X-Forwarded-Host: " + strings.Repeat("h", 8<<10)},
		{"X-Original-URL: ht\ttp://a\tb/\tc"},
		{"X-Forwarded-Host: \xff\xfe", "X-Original-URI: \xff"},
	} {
		for _, p := range []string{"/auth", "/auth/rel"} {
			r := g.get(t, fmt.Sprintf("forwarded #%d %q on %s", i, h, p), p, h...)
			if r.status != 401 {
				t.Errorf("forwarded #%d on %s: %d, want 401", i, p, r.status)
			}
			orig := ""
			for _, l := range h {
				if v, ok := strings.CutPrefix(l, "X-Original-URL: "); ok {
					orig = v
				}
			}
			hCheckLocation(t, fmt.Sprintf("GET %s with %q", p, h), r.hdr.Get("Location"), orig)
		}
	}
}

// hLocationRows are the weaknesses a Location built from request bytes
// could show (README, Security notes: Redirects, back=), each a row that
// fails when its weakness appears. bad gets the Location (white space at
// its end kept) and the X-Original-URL sent ("" for none), and says what
// is wrong, or "".
var hLocationRows = []struct {
	name string
	bad  func(loc, orig string) string
}{
	{"Location grows unbounded with the original URL", func(loc, _ string) string {
		// nginx's proxy_buffer_size is 4-8 KB by default: "upstream
		// sent too big header", a 502. The login URL made absolute
		// (scheme, a host of 255 bytes at most, /login), then a back
		// URL of hMaxBack (2 KiB) escaped at most.
		base, back, _ := strings.Cut(loc, "?back=")
		if len(base) > len("https://")+255+len("/login") || len(back) > hMaxBack {
			return fmt.Sprintf("a %d-byte Location, a back URL of %d bytes", len(loc), len(back))
		}
		return ""
	}},
	{"a back URL over 2 KiB keeps its query", func(loc, orig string) string {
		// The original URL alone is over hMaxBack: the back URL loses
		// its query (an escaped '?'), then itself.
		if _, back, _ := strings.Cut(loc, "?back="); len(orig) > hMaxBack && strings.Contains(strings.ToLower(back), "%3f") {
			return fmt.Sprintf("back URL %.80q... with a query", back)
		}
		return ""
	}},
	{"request header bytes reach Location unescaped", func(loc, _ string) string {
		// A tab from X-Forwarded-Host/Proto or X-Original-URL's
		// scheme or host, say, when login_url is relative.
		for i := 0; i < len(loc); i++ {
			if c := loc[i]; c <= ' ' || c >= 0x7f {
				return fmt.Sprintf("byte %#x at %d", c, i)
			}
		}
		return ""
	}},
	{"the Location scheme comes unchecked from the request", func(loc, _ string) string {
		// Only http and https with a plausible host reach Location;
		// anything else makes it relative (login_url = "/login").
		lower := strings.ToLower(loc)
		rest, ok := strings.CutPrefix(lower, "https://")
		if !ok {
			rest, ok = strings.CutPrefix(lower, "http://")
		}
		if !ok {
			if !strings.HasPrefix(lower, "/") || strings.HasPrefix(lower, "//") {
				return "neither http(s):// nor a path"
			}
			return ""
		}
		host, _, _ := strings.Cut(rest, "/")
		if host == "" || strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-:_[]") != "" {
			return fmt.Sprintf("host %q", host)
		}
		return ""
	}},
}

// hMaxBack is the longest back URL, escaped, the README promises in
// Location ("A back URL longer than 2 KiB escaped loses its query, then
// itself"); the test's own, so that raising maxBack fails it.
const hMaxBack = 2 << 10

// hCheckLocation holds loc to every row of hLocationRows.
func hCheckLocation(t *testing.T, what, loc, orig string) {
	t.Helper()
	for _, row := range hLocationRows {
		if why := row.bad(loc, orig); why != "" {
			t.Errorf("%s: %s: %s: Location %.120q", what, row.name, why, loc)
		}
	}
}

// Signed tickets whose uid, tokens or data carry CR, LF, NUL or other
// control bytes: 401 (malformed) in every encoding and from the URL,
// never echoed.
func hTicketInjection(t *testing.T, s *hSuite, g *hGate) {
	now := time.Now()
	// The forger and encodings are right: clean tickets pass.
	clean := s.forge("mallory", "admin", "data", hLocalhost, now)
	for _, v := range []string{hB64(clean), hEscape(clean)} {
		if r := g.get(t, "clean forged ticket", "/auth/admin", "Cookie: auth_tkt="+v); r.status != 200 || r.hdr.Get("X-Remote-User") != "mallory" {
			t.Fatalf("a clean forged ticket %q: %d %q; the forger is broken", v, r.status, r.hdr.Get("X-Remote-User"))
		}
	}
	if r := g.get(t, "clean URL ticket", "/auth", "X-Original-URL: https://app.example.com/p?auth_tkt="+hEscape(clean)); r.status != 200 || r.hdr.Get("X-Remote-User") != "mallory" {
		t.Fatalf("a clean forged URL ticket: %d %q", r.status, r.hdr.Get("X-Remote-User"))
	}
	// Non-ASCII is not a control byte: passed through raw.
	if r := g.get(t, "UTF-8 uid", "/auth", "Cookie: auth_tkt="+hB64(s.forge("jürgen", "", "", hLocalhost, now))); r.status != 200 || r.hdr.Get("X-Remote-User") != "jürgen" {
		t.Errorf("UTF-8 uid: %d %q, want 200 jürgen", r.status, r.hdr.Get("X-Remote-User"))
	}
	evil := []string{
		"\r\nSet-Cookie: injected=1", "\r\nX-Injected: 1", "\n", "\r", "\x00", "\x00\r\nSet-Cookie: injected=1",
		"\t", "\x01", "\x1b[31m", "\x7f", "\x0b", "\x0c", "\r\n\r\nHTTP/1.1 200 OK\r\nX-Remote-User: admin",
	}
	for i, e := range evil {
		for field := 0; field < 3; field++ {
			f := [3]string{"mallory", "admin", "data"}
			f[field] = f[field][:2] + e + f[field][2:]
			raw := s.forge(f[0], f[1], f[2], hLocalhost, now)
			what := fmt.Sprintf("control %q in field %d", e, field)
			forms := []string{"Cookie: auth_tkt=" + hB64(raw), "Cookie: auth_tkt=" + hEscape(raw),
				"X-Original-URL: https://app.example.com/p?auth_tkt=" + hEscape(raw)}
			if !strings.ContainsAny(e, "\r\n\x00\x7f\x01\x0b\x0c\x1b") {
				forms = append(forms, "Cookie: auth_tkt="+raw) // a tab passes fasthttp as is
			}
			for j, h := range forms {
				for _, p := range []string{"/auth", "/auth/admin"} {
					r := g.get(t, fmt.Sprintf("#%d %s form %d on %s", i, what, j, p), p, h)
					if r.status != 401 {
						t.Errorf("#%d %s, form %d (%.40q) on %s: %d, want 401:\n%s", i, what, j, h, p, r.status, r.raw)
					}
					if strings.Contains(r.raw, "mallory") || strings.Contains(strings.ToLower(r.raw), "inject") {
						t.Errorf("#%d %s: the ticket's content is echoed:\n%s", i, what, r.raw)
					}
				}
			}
		}
	}
}

// Tickets dated in the future beyond max_future (5m), or long expired:
// 401, in every dialect; from the URL too where the dialect reads it.
func hFuture(t *testing.T, s *hSuite, g *hGate) {
	now := time.Now()
	for _, c := range []struct {
		name string
		ts   uint32
		want int
	}{
		{"30s ahead", uint32(now.Unix() + 30), 200},
		{"6m ahead", uint32(now.Unix() + 6*60), 401},
		{"1h ahead", uint32(now.Unix() + 3600), 401},
		{"1y ahead", uint32(now.Unix() + 365*86400), 401},
		{"0xffffffff", 0xffffffff, 401},
		{"0x7fffffff", 0x7fffffff, 401},
		{"0", 0, 401},
	} {
		value, raw := s.ticketTS(g.d(), "alice", "admin", "", hLocalhost, c.ts)
		r := g.get(t, c.name, "/auth", g.ck(value))
		if r.status != c.want {
			t.Errorf("ticket dated %s: %d, want %d", c.name, r.status, c.want)
		}
		if !g.d().d.URLTickets() {
			continue
		}
		r = g.get(t, c.name+" from the URL", "/auth", "X-Original-URL: https://app.example.com/?auth_tkt="+hEscape(raw))
		if r.status != c.want {
			t.Errorf("URL ticket dated %s: %d, want %d", c.name, r.status, c.want)
		}
	}
}

// From a peer that is not a trusted proxy, X-Real-IP (the configured
// header) is ignored, however it is written: the ticket stays bound to
// the peer's own address.
func hSpoofedIP(t *testing.T, s *hSuite, g *hGate) {
	mine := s.validOn(g, "alice")
	spoofed := s.ticket(g, "alice", "", "", [4]byte{192, 0, 2, 7}, time.Now())
	proxy := s.ticket(g, "alice", "", "", [4]byte{10, 0, 0, 1}, time.Now())
	for _, v := range []string{
		"X-Real-IP: 192.0.2.7", "X-Real-IP: 10.0.0.1", "X-Real-IP:", "X-Real-IP: not-an-ip", "X-Real-IP: 999.1.1.1",
		"X-Real-IP: 1.2.3.4.5", "X-Real-IP: 192.0.2.7, 10.0.0.1", "X-Real-IP: ::1", "X-Real-IP: [::1]", "X-Real-IP: [::1]:80",
		"X-Real-IP: fe80::1%eth0", "X-Real-IP: fe80::1%25eth0", "X-Real-IP: 2001:db8::1", "X-Real-IP: ::ffff:192.0.2.7",
		"X-Real-IP: 0x7f.1", "X-Real-IP: 0177.0.0.1", "X-Real-IP: 127.1", "X-Real-IP: " + strings.Repeat("1.", 4<<10),
		"X-Real-IP:\t192.0.2.7\t", "X-Real-Ip: 192.0.2.7", "x-real-ip: 192.0.2.7", "X-Forwarded-For: 192.0.2.7",
		"X-Real-IP: \xff\xfe", "X-Real-IP: 192.0.2.7%",
	} {
		for _, two := range []bool{false, true} {
			h := []string{v}
			if two {
				h = append(h, "X-Real-IP: 192.0.2.8")
			}
			r := g.get(t, "spoof "+v, "/auth", append(h, "Cookie: "+g.cookie()+"="+mine)...)
			if r.status != 200 || r.hdr.Get("X-Remote-User") != "alice" {
				t.Errorf("untrusted peer, %q (twice: %v), ticket for the peer: %d, want 200", v, two, r.status)
			}
		}
	}
	// A ticket for the claimed address fails, as it is not the peer's;
	// unless the dialect leaves the address out of the digest (then it
	// is the very same ticket).
	want := 401
	if g.d().ignoreIP {
		want = 200
	}
	for _, c := range []struct{ header, ticket string }{
		{"X-Real-IP: 192.0.2.7", spoofed}, {"X-Real-IP: 10.0.0.1", proxy}, {"X-Real-IP: ::ffff:192.0.2.7", spoofed},
	} {
		if r := g.get(t, "spoof "+c.header, "/auth", c.header, g.ck(c.ticket)); r.status != want {
			t.Errorf("untrusted peer claiming %q with a ticket for that address: %d, want %d", c.header, r.status, want)
		}
	}
}

// The same with X-Forwarded-For as the configured header.
func hSpoofedXFF(t *testing.T, s *hSuite) {
	g := s.start(t, "xff-untrusted", baseConfig+"[client_ip]\nheader = \"X-Forwarded-For\"\ntrusted_proxies = [\"10.0.0.0/8\", \"::1/128\"]\n", "127.0.0.1:0")
	mine := s.valid("alice")
	spoofed := hB64(s.forge("alice", "", "", [4]byte{192, 0, 2, 7}, time.Now()))
	for _, v := range []string{
		"192.0.2.7", "192.0.2.7, 10.0.0.1", "10.0.0.1", "garbage", ", , ,", "", strings.Repeat("1.1.1.1, ", 900),
		"2001:db8::1", "[::1]:80", "unknown", "192.0.2.7,", ",192.0.2.7", "::1", "fe80::1%eth0", "192.0.2.7\t,\t10.0.0.1",
	} {
		r := g.get(t, "spoofed XFF", "/auth", "X-Forwarded-For: "+v, "Cookie: auth_tkt="+mine)
		if r.status != 200 {
			t.Errorf("untrusted peer, X-Forwarded-For %.60q: %d, want 200 (header ignored)", v, r.status)
		}
		if r := g.get(t, "spoofed XFF", "/auth", "X-Forwarded-For: "+v, "Cookie: auth_tkt="+spoofed); r.status != 401 {
			t.Errorf("untrusted peer, X-Forwarded-For %.60q with a ticket for 192.0.2.7: %d, want 401", v, r.status)
		}
	}
	s.alive(t, g, "spoofed X-Forwarded-For")
}

// From a trusted proxy the header is believed; malformed values bind the
// ticket to nothing (401, not 5xx); IPv6 values parse, and an IPv4-mapped
// one counts as IPv4.
func hTrustedClientIP(t *testing.T, s *hSuite) {
	now := time.Now()
	at := func(a, b, c, d byte) string { return hB64(s.forge("alice", "", "", [4]byte{a, b, c, d}, now)) }
	real := s.start(t, "real-ip-trusted", baseConfig, "127.0.0.1:0")
	for _, c := range []struct {
		value, ticket string
		want          int
	}{
		{"192.0.2.7", at(192, 0, 2, 7), 200},
		{" 192.0.2.7 ", at(192, 0, 2, 7), 200},
		{"::ffff:192.0.2.7", at(192, 0, 2, 7), 200},
		{"::ffff:c000:207", at(192, 0, 2, 7), 200},
		{"2001:db8::1", at(127, 0, 0, 1), 401},
		{"::1", at(127, 0, 0, 1), 401},
		{"::", at(0, 0, 0, 0), 401},
		{"255.255.255.255", at(255, 255, 255, 255), 401},
		{"[2001:db8::1]", at(127, 0, 0, 1), 401},
		{"fe80::1%eth0", at(127, 0, 0, 1), 401},
		{"fe80::1%25eth0", at(127, 0, 0, 1), 401},
		{"192.0.2.7:443", at(192, 0, 2, 7), 401},
		{"192.0.2.7, 10.0.0.1", at(192, 0, 2, 7), 401},
		{"not-an-ip", at(127, 0, 0, 1), 401},
		{"0", at(0, 0, 0, 0), 401},
		{"", at(127, 0, 0, 1), 200}, // empty: the peer's own
		{strings.Repeat("f", 8<<10), at(127, 0, 0, 1), 401},
		{"1:2:3:4:5:6:7:8:9", at(127, 0, 0, 1), 401},
		{"::ffff:256.0.0.1", at(127, 0, 0, 1), 401},
	} {
		r := real.get(t, "X-Real-IP "+c.value, "/auth", "X-Real-IP: "+c.value, "Cookie: auth_tkt="+c.ticket)
		if r.status != c.want {
			t.Errorf("trusted peer, X-Real-IP %.40q: %d, want %d", c.value, r.status, c.want)
		}
	}
	s.alive(t, real, "malformed X-Real-IP from a trusted peer")

	xff := s.start(t, "xff-trusted", baseConfig+"[client_ip]\nheader = \"X-Forwarded-For\"\n", "127.0.0.1:0")
	for _, c := range []struct {
		value, ticket string
		want          int
	}{
		{"198.51.100.1, 192.0.2.7, 127.0.0.1", at(192, 0, 2, 7), 200},
		{"192.0.2.7, ::1", at(192, 0, 2, 7), 200},
		{"192.0.2.7, ::ffff:127.0.0.1", at(192, 0, 2, 7), 200},
		{"2001:db8::1, 127.0.0.1", at(127, 0, 0, 1), 401},
		{"192.0.2.7, 2001:db8::1", at(192, 0, 2, 7), 401},
		{"[::1]:80", at(127, 0, 0, 1), 401},
		{"192.0.2.7, garbage, 127.0.0.1", at(192, 0, 2, 7), 401},
		{",,,", at(127, 0, 0, 1), 401},
		{strings.Repeat("127.0.0.1,", 2<<10) + "127.0.0.1", at(127, 0, 0, 1), 200}, // all trusted: the leftmost
		{strings.Repeat(",", 8<<10), at(127, 0, 0, 1), 401},
	} {
		r := xff.get(t, "X-Forwarded-For "+c.value, "/auth", "X-Forwarded-For: "+c.value, "Cookie: auth_tkt="+c.ticket)
		if r.status != c.want {
			t.Errorf("trusted peer, X-Forwarded-For %.60q: %d, want %d", c.value, r.status, c.want)
		}
	}
	s.alive(t, xff, "malformed X-Forwarded-For from a trusted peer")
}

// An IPv6 peer: tickets bind to IPv4 only, so without a header from a
// trusted proxy nothing passes (unless ignore_ip); with one, it does.
func hIPv6Peer(t *testing.T, s *hSuite) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	now := time.Now()
	g := s.start(t, "ipv6", baseConfig, "[::1]:0") // ::1/128 is trusted by default
	tk := s.valid("alice")
	if r := g.get(t, "IPv6 peer without a header", "/auth", "Cookie: auth_tkt="+tk); r.status != 401 {
		t.Errorf("IPv6 peer, no header: %d, want 401", r.status)
	}
	if r := g.get(t, "IPv6 peer with X-Real-IP", "/auth", "X-Real-IP: 127.0.0.1", "Cookie: auth_tkt="+tk); r.status != 200 {
		t.Errorf("IPv6 trusted peer, X-Real-IP 127.0.0.1: %d, want 200", r.status)
	}
	if r := g.get(t, "IPv6 peer with an IPv6 X-Real-IP", "/auth", "X-Real-IP: ::1", "Cookie: auth_tkt="+tk); r.status != 401 {
		t.Errorf("IPv6 trusted peer, X-Real-IP ::1: %d, want 401", r.status)
	}
	untrusted := s.start(t, "ipv6-untrusted", baseConfig+"[client_ip]\ntrusted_proxies = [\"10.0.0.0/8\"]\n", "[::1]:0")
	if r := untrusted.get(t, "untrusted IPv6 peer spoofing", "/auth", "X-Real-IP: 127.0.0.1", "Cookie: auth_tkt="+tk); r.status != 401 {
		t.Errorf("untrusted IPv6 peer claiming 127.0.0.1: %d, want 401", r.status)
	}
	ignore := s.start(t, "ipv6-ignore-ip", strings.Replace(baseConfig, "[ticket]", "[ticket]\nignore_ip = true", 1), "[::1]:0")
	if r := ignore.get(t, "IPv6 peer, ignore_ip", "/auth", "Cookie: auth_tkt="+hB64(s.forge("alice", "", "", [4]byte{}, now))); r.status != 200 {
		t.Errorf("IPv6 peer with ignore_ip: %d, want 200", r.status)
	}
	g.extra = []string{"X-Real-IP: 127.0.0.1"}
	s.alive(t, g, "IPv6")
}

// Several requests in one write: answered in order, each correctly, also
// beyond the read buffer and with a failing request in the middle.
func hPipelining(t *testing.T, s *hSuite, g *hGate) {
	type req struct {
		raw    string
		head   bool
		status int
		user   string
	}
	var reqs []req
	for i := 0; i < 12; i++ {
		u := fmt.Sprintf("user%d", i)
		tk := s.ticket(g, u, "editor", "", hLocalhost, time.Now())
		switch i % 6 {
		case 0:
			reqs = append(reqs, req{g.request("GET", "/auth", "Cookie: "+g.cookie()+"="+tk), false, 200, u})
		case 1:
			reqs = append(reqs, req{g.request("GET", "/auth", "X-Original-URL: https://app.example.com/"+u), false, 401, ""})
		case 2:
			reqs = append(reqs, req{g.request("GET", "/auth/admin", "Cookie: "+g.cookie()+"="+tk), false, 403, ""})
		case 3:
			reqs = append(reqs, req{g.request("HEAD", "/auth", "Cookie: "+g.cookie()+"="+tk), true, 200, u})
		case 4:
			reqs = append(reqs, req{"POST /auth HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + tk + "\r\nContent-Length: 5\r\n\r\nhello", false, 200, u})
		case 5:
			reqs = append(reqs, req{g.request("GET", "/auth/nosuch", "Cookie: "+g.cookie()+"="+tk), false, 500, ""})
		}
	}
	// Like nginx: no half-close; after the answers, the connection is
	// still good for another request.
	run := func(name string, reqs []req) {
		t.Helper()
		var payload strings.Builder
		for _, r := range reqs {
			payload.WriteString(r.raw)
		}
		c := g.dial(t)
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		wrote := make(chan error, 1)
		go func() { _, err := io.WriteString(c, payload.String()); wrote <- err }()
		for i, q := range reqs {
			r, err := hRead(c, q.head)
			if err != nil {
				t.Errorf("%s: answer #%d of %d: %v", name, i, len(reqs), err)
				return
			}
			hCheck(t, fmt.Sprintf("%s #%d", name, i), r, q.status == 500)
			if r.status != q.status || r.hdr.Get("X-Remote-User") != q.user {
				t.Errorf("%s #%d: %d %q, want %d %q", name, i, r.status, r.hdr.Get("X-Remote-User"), q.status, q.user)
			}
		}
		if err := <-wrote; err != nil {
			t.Errorf("%s: write: %v", name, err)
		}
		io.WriteString(c, reqs[0].raw)
		if r, err := hRead(c, reqs[0].head); err != nil || r.status != reqs[0].status {
			t.Errorf("%s: the connection is not usable after the pipeline: %v", name, err)
		}
	}
	run("mixed", reqs)
	// Beyond the read buffer: 400 requests, about 170 KB, in one write.
	var many []req
	for i := 0; i < 400; i++ {
		u := fmt.Sprintf("p%d", i)
		many = append(many, req{g.request("GET", "/auth", "Cookie: "+g.cookie()+"="+s.ticket(g, u, "", strings.Repeat("d", 200), hLocalhost, time.Now())), false, 200, u})
	}
	run("400 at once", many)
	// A broken request in the middle: the ones before it are answered,
	// then a 400 and the connection closes; nothing after it is served.
	broken := []req{reqs[0], reqs[1], {"GARBAGE\r\n\r\n", false, 400, ""}}
	var payload strings.Builder
	for _, r := range broken {
		payload.WriteString(r.raw)
	}
	rs, err := g.exchange(t, payload.String()+reqs[6].raw, false)
	if len(rs) != 3 || !rawhttp.Closed(err) {
		t.Errorf("pipeline with a broken request: %d answers (%v), want 3 then close", len(rs), err)
	}
	for i, r := range rs {
		hCheck(t, fmt.Sprintf("broken pipeline #%d", i), r, false)
		if i < len(broken) && r.status != broken[i].status {
			t.Errorf("broken pipeline #%d: %d, want %d", i, r.status, broken[i].status)
		}
	}
	// A client that pipelines and goes away without reading.
	for i := 0; i < 5; i++ {
		c := g.dial(t)
		io.WriteString(c, many[0].raw+many[1].raw+many[2].raw+"GET /auth HTTP/1.1\r\nHost: ga")
		c.Conn.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
}

// Paths and methods nobody should send: 4xx (or the documented 500 for
// an unknown policy name), and unknown-policy logging stays bounded.
func hPathsAndMethods(t *testing.T, s *hSuite, g *hGate) {
	tk := s.validOn(g, "alice")
	_, wholeTicket := s.ticketTS(g.d(), "al", "", "", hLocalhost, uint32(time.Now().Unix()))
	for _, c := range []struct {
		target string
		want   int // 0: any non-5xx
	}{
		{"/auth/nosuch", 500}, {"/auth/", 500}, {"/auth/admin/", 500}, {"/auth/%0d%0aSet-Cookie:%20injected=1", 500},
		{"/auth/%00", 500}, {"/auth/" + strings.Repeat("n", 4<<10), 500}, {"/auth/..", 0}, {"/auth/../healthz", 200},
		{"/AUTH", 404}, {"/auth?x=1", 200}, {"/auth#x", 0}, {"//auth", 0}, {"/./auth", 200}, {"/auth%2Fadmin", 0},
		{"/auth%00", 0}, {"*", 0}, {"/metrics?x=%zz", 200}, {"/healthz/../../../etc/passwd", 404}, {"/auth\xff", 0},
		{"/auth/admin?" + strings.Repeat("x", 8<<10), 200},
		{"/auth/" + wholeTicket, 500}, // a whole ticket as a policy name
	} {
		raw := "GET " + c.target + " HTTP/1.1\r\nHost: gate\r\nCookie: " + g.cookie() + "=" + tk + "\r\n\r\n"
		rs, err := g.exchange(t, raw, true)
		if len(rs) != 1 {
			t.Errorf("GET %.60q: %d answers (%v)", c.target, len(rs), err)
			continue
		}
		r := rs[0]
		hCheck(t, fmt.Sprintf("GET %.60q", c.target), r, c.want == 500)
		if c.want != 0 && r.status != c.want {
			t.Errorf("GET %.60q: %d, want %d", c.target, r.status, c.want)
		}
	}
	for _, m := range []string{"FOO", "CONNECT", "OPTIONS", "TRACE", "DELETE", "PUT", "PATCH", "G\x01T", strings.Repeat("M", 4<<10), "get"} {
		rs, err := g.exchange(t, m+" /auth HTTP/1.1\r\nHost: gate\r\nCookie: "+g.cookie()+"="+tk+"\r\n\r\n", true)
		for _, r := range rs {
			hCheck(t, fmt.Sprintf("method %.20q", m), r, false)
		}
		if len(rs) == 0 && !rawhttp.Closed(err) {
			t.Errorf("method %.20q: %v", m, err)
		}
	}
	for _, v := range []string{"HTTP/9.9", "HTTP/1.1 extra", "", "HTTP/1.", "http/1.1", "HTTP/01.1"} {
		rs, _ := g.exchange(t, "GET /auth "+v+"\r\nHost: gate\r\nCookie: "+g.cookie()+"="+tk+"\r\n\r\n", true)
		for _, r := range rs {
			hCheck(t, fmt.Sprintf("version %q", v), r, false)
		}
	}
	// 300 distinct unknown names: answered 500 each, logged a bounded
	// number of times.
	for i := 0; i < 300; i++ {
		g.one(t, "unknown policy", g.request("GET", fmt.Sprintf("/auth/flood%d", i)), true)
	}
}

// Slowloris: many connections trickling a request byte by byte (headers,
// or a body). The gate keeps answering everyone else, and read_timeout
// (1s here) ends the slow ones. Idle connections, new and kept alive, are
// closed too.
func hSlowloris(t *testing.T, s *hSuite) {
	g := s.start(t, "slowloris", hConfig, "127.0.0.1:0")
	const readTimeout = time.Second
	const slow = 150
	type result struct {
		closedAfter time.Duration
		rs          []*hResp
		err         error
		kind        string
	}
	results := make([]result, slow)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < slow; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Before the dial: the gate's clock starts when it accepts,
			// and on a loaded machine this goroutine may run again
			// long after that (closed "after 825ms" of a 1s timeout).
			start := time.Now()
			c, err := rawhttp.Dial("tcp", g.addr, 2*time.Second)
			if err != nil {
				results[i].err = err
				return
			}
			defer c.Close()
			c.SetDeadline(start.Add(6 * readTimeout))
			var trickle string
			switch i % 4 {
			case 0:
				results[i].kind = "headers"
				trickle = g.request("GET", "/auth", "Cookie: auth_tkt="+s.valid("alice"), "X-Pad: "+strings.Repeat("p", 500))
			case 1:
				results[i].kind = "body"
				io.WriteString(c, "POST /auth HTTP/1.1\r\nHost: gate\r\nContent-Length: 1000\r\n\r\n")
				trickle = strings.Repeat("b", 1000)
			case 2:
				results[i].kind = "idle"
			case 3:
				results[i].kind = "kept-alive idle"
				io.WriteString(c, g.request("GET", "/auth", "Cookie: auth_tkt="+s.valid("alice")))
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					r, err := hRead(c, false)
					if err != nil {
						results[i].err = err
						results[i].closedAfter = time.Since(start)
						return
					}
					results[i].rs = append(results[i].rs, r)
				}
			}()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for j := 0; ; j++ {
				select {
				case <-done:
					return
				case <-stop:
					c.Close()
					<-done
					return
				case <-tick.C:
				}
				if j < len(trickle) {
					c.Write([]byte{trickle[j]})
				}
			}
		}(i)
	}
	// Meanwhile everybody else is served, promptly.
	var worst time.Duration
	probes := 0
	for deadline := time.Now().Add(readTimeout + 500*time.Millisecond); time.Now().Before(deadline); probes++ {
		start := time.Now()
		r := g.get(t, "probe during slowloris", "/auth", "Cookie: auth_tkt="+s.valid("alice"))
		if r.status != 200 {
			t.Errorf("probe during slowloris: %d", r.status)
		}
		worst = max(worst, time.Since(start))
		time.Sleep(20 * time.Millisecond)
	}
	if worst > 500*time.Millisecond {
		t.Errorf("during slowloris, the slowest of %d probes took %v", probes, worst)
	}
	t.Logf("%d probes during slowloris, slowest %v", probes, worst)
	// Every slow connection has been closed by the gate, soon after
	// read_timeout (idle_timeout for the kept-alive one, also 1s).
	timer := time.AfterFunc(4*readTimeout, func() { close(stop) })
	wg.Wait()
	timer.Stop()
	counts := map[string]int{}
	for i, r := range results {
		what := fmt.Sprintf("slow connection #%d (%s)", i, r.kind)
		if !rawhttp.Closed(r.err) {
			t.Errorf("%s: not closed by the gate: %v", what, r.err)
			continue
		}
		if r.closedAfter < readTimeout-100*time.Millisecond || r.closedAfter > readTimeout+1500*time.Millisecond {
			t.Errorf("%s: closed after %v, want about %v", what, r.closedAfter, readTimeout)
		}
		for k, a := range r.rs {
			hCheck(t, what, a, false)
			ok := a.status == 408 || a.status == 400 || (r.kind == "kept-alive idle" && k == 0 && a.status == 200)
			if !ok {
				t.Errorf("%s: answered %d", what, a.status)
			}
			counts[fmt.Sprintf("%s:%d", r.kind, a.status)]++
		}
	}
	t.Logf("slow connections' answers: %v", counts)
	s.alive(t, g, "slowloris")
}

// max_conns reached (by idle connections): what newcomers get, and that
// the gate recovers once read_timeout has cleared the idle ones.
func hMaxConns(t *testing.T, s *hSuite) {
	g := s.start(t, "max-conns", hConfig+"max_conns = 10\n", "127.0.0.1:0")
	var conns []*rawhttp.Conn
	for i := 0; i < 10; i++ {
		c := g.dial(t)
		io.WriteString(c, "GET /auth HTTP/1.1\r\n")
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	rs, err := g.exchange(t, g.request("GET", "/auth", "Cookie: auth_tkt="+s.valid("alice")), false)
	for _, r := range rs {
		hCheck(t, "over max_conns", r, true)
	}
	// The row of the weakness "a 5xx for client behaviour": beyond
	// max_conns fasthttp answers 503 and closes, as the README's
	// Security notes say (overload, not a client error); nothing else.
	if len(rs) != 1 || rs[0].lines[0] != "HTTP/1.1 503 Service Unavailable\r\n" || !rawhttp.Closed(err) {
		var got []string
		for _, r := range rs {
			got = append(got, r.lines[0])
		}
		t.Errorf("over max_conns (here 10 idle connections), a new client gets %q, then %v; want one 503 Service Unavailable, then the end of the connection", got, err)
	}
	time.Sleep(1500 * time.Millisecond) // read_timeout closes the idle ones
	s.alive(t, g, "max_conns exhaustion")
}

// The real binary on a unix socket: the process stays up through the
// attacks (including clients that reset connections and never read), and
// a valid ticket passes after each.
func hProcess(t *testing.T, s *hSuite) {
	dir, err := os.MkdirTemp("", "hst") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := startProc(t, dir, "[ticket]\nsecret = \""+testSecret+"\"\n[redirect]\nlogin_url = \"/login\"\n[limits]\nread_timeout = \"1s\"\n[policy.admin]\ntokens = [\"admin\"]\n")
	s.mu.Lock()
	s.logs = append(s.logs, hLogSource{"process", p.stderr.String})
	s.mu.Unlock()
	g := &hGate{name: "process", network: "unix", addr: p.sock, extra: []string{"X-Real-IP: 127.0.0.1"}, logs: p.stderr.String, up: func() error {
		select {
		case <-p.done:
			return fmt.Errorf("the process exited: %v\n%s", p.err, p.stderr.String())
		default:
			return nil
		}
	}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	tk := s.valid("alice")
	for i := 0; i < 40; i++ {
		b := make([]byte, 1+rng.IntN(8192))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		rs, _ := g.exchange(t, []string{"", "GET /auth HTTP/1.1\r\n", g.request("GET", "/auth", "Cookie: auth_tkt="+tk)}[i%3]+string(b), true)
		for _, r := range rs {
			hCheck(t, "process: random bytes", r, false)
		}
	}
	s.alive(t, g, "random bytes")
	for _, payload := range []string{
		g.request("GET", "/auth", "X-Big: "+strings.Repeat("a", 64<<10)),
		"GET /auth HTTP/1.1\r\nHost: gate\r\nCookie: auth_tkt=" + tk + strings.Repeat("; c=1", 20<<10),
	} {
		rs, err := g.exchange(t, payload, false)
		if len(rs) != 1 || rs[0].status != 431 || !rawhttp.Closed(err) {
			t.Errorf("process: oversized: %d answers (%v), want one 431 and close", len(rs), err)
		}
	}
	s.alive(t, g, "oversized")
	// Injection tickets, 8 KB cookies, thousands of cookies.
	for _, v := range []string{
		hB64(s.forge("a\r\nSet-Cookie: injected=1", "", "", hLocalhost, time.Now())),
		hEscape(s.forge("a", "admin", "\x00\r\n", hLocalhost, time.Now())),
		strings.Repeat("%", 8<<10),
	} {
		if r := g.get(t, "process: bad ticket", "/auth/admin", "Cookie: auth_tkt="+v); r.status != 401 {
			t.Errorf("process: bad ticket %.40q: %d, want 401", v, r.status)
		}
	}
	var cookies strings.Builder
	for i := 0; i < 2500; i++ {
		fmt.Fprintf(&cookies, "c%d=v; ", i)
	}
	if r := g.get(t, "process: 2500 cookies", "/auth", "Cookie: "+cookies.String()+"auth_tkt="+tk); r.status != 200 {
		t.Errorf("process: 2500 cookies then a valid ticket: %d, want 200", r.status)
	}
	// Clients that pipeline, reset and never read; and one header that
	// fasthttp refuses, with a ticket in it.
	for i := 0; i < 20; i++ {
		c := g.dial(t)
		io.WriteString(c, strings.Repeat(g.request("GET", "/auth", "Cookie: auth_tkt="+tk), 50))
		c.Close()
	}
	g.exchange(t, "GET /auth HTTP/1.1\r\nHost: gate\r\nCookie: auth_tkt="+tk+"\x01\r\n\r\n", true)
	s.alive(t, g, "clients going away")
	// A short slowloris.
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", p.sock)
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(4 * time.Second))
			for _, b := range []byte("GET /auth HTTP/1.1\r\nHost: gate\r\nX-Slow: 1234567890") {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(60 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	s.alive(t, g, "slowloris (during)")
	wg.Wait()
	s.alive(t, g, "slowloris")
	if err := g.up(); err != nil {
		t.Fatal(err)
	}
	hNoPanics(t, g)
	if strings.Contains(p.stderr.String(), "panic") {
		t.Errorf("process: a panic in the log:\n%s", p.stderr.String())
	}
}

// A debug decision line names the uid of the ticket it is about, and only
// that: a request without a ticket must not be logged under the uid of
// whatever request the pooled per-request state served before.
func hLogAttribution(t *testing.T, s *hSuite) {
	g := s.start(t, "log-attribution", hConfig, "127.0.0.1:0")
	logs := g.logs
	c := g.dial(t)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// Five pairs: within the debug log's rate limit (10 a second).
	for i := 0; i < 5; i++ {
		for _, h := range []string{"Cookie: auth_tkt=" + hB64(s.forge("canary-uid", "", "", hLocalhost, time.Now())), "Cookie: other=1", "Cookie: auth_tkt=short"} {
			io.WriteString(c, g.request("GET", "/auth", h))
			r, err := hRead(c, false)
			if err != nil {
				t.Fatal(err)
			}
			hCheck(t, "log attribution", r, false)
		}
	}
	n := 0
	for _, line := range strings.Split(logs(), "\n") {
		if !strings.Contains(line, `"reason":"no_ticket"`) {
			continue
		}
		n++
		if strings.Contains(line, "canary-uid") {
			t.Errorf("a request without a ticket is logged with the uid of an earlier request:\n%s", line)
			break
		}
	}
	if n == 0 {
		t.Errorf("no no_ticket decision logged at debug level:\n%s", logs())
	}
}

// hHexRun finds something shaped like a digest: 32 or more hex digits.
var hHexRun = regexp.MustCompile(`[0-9a-fA-F]{32,}`)

// checkLogs: across every log the suite captured, no line holds the
// secret, a digest of a ticket the suite sent, or a whole ticket in any
// encoding; every line is JSON.
func (s *hSuite) checkLogs(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var needles []string
	for k := range s.secret {
		needles = append(needles, k)
	}
	for k := range s.digest {
		needles = append(needles, k)
	}
	sort.Strings(needles)
	total, unknown := 0, 0
	for _, src := range s.logs {
		unknownHere := 0
		text := src.text()
		for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if line == "" {
				continue
			}
			total++
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Errorf("%s log line %d is not JSON: %q", src.name, n+1, line)
				continue
			}
			if m["msg"] == "request for an unknown policy: check the nginx location's proxy_pass" {
				unknown++
				unknownHere++
			}
			// Look in the line as written and with JSON escapes undone.
			decoded := fmt.Sprint(m)
			for _, nd := range needles {
				if strings.Contains(line, nd) || strings.Contains(decoded, nd) {
					t.Errorf("%s log line %d shows a secret, digest or ticket %.50q…:\n%.600s", src.name, n+1, nd, line)
					break
				}
			}
			if h := hHexRun.FindString(decoded); h != "" {
				t.Errorf("%s log line %d holds a digest-like hex run %q:\n%.600s", src.name, n+1, h, line)
			}
		}
		// Each gate that saw 300+ distinct unknown names logged a bounded
		// number of lines.
		if unknownHere > 100 {
			t.Errorf("%s: %d unknown-policy log lines: not bounded", src.name, unknownHere)
		}
	}
	if total == 0 {
		t.Error("no log lines captured")
	}
	t.Logf("%d log lines from %d logs checked against %d secrets, digests and tickets; %d unknown-policy lines", total, len(s.logs), len(needles), unknown)
}
