package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/verifier"
)

// auditGate is a Server whose log (audit lines included) goes to out.
type auditGate struct {
	s   *Server
	out *e2e.Buffer
}

func newAuditGate(t testing.TB, config string) *auditGate {
	t.Helper()
	cfg, err := ParseConfig([]byte(config), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := &e2e.Buffer{}
	s := newServer(newLogger(out, &slog.HandlerOptions{Level: slog.LevelDebug}), newMetrics())
	s.load(cfg)
	return &auditGate{s, out}
}

// ask sends one request (path and header lines) from peer and returns
// the status.
func (g *auditGate) ask(t testing.TB, path, peer string, headers ...string) int {
	t.Helper()
	raw := "GET " + path + " HTTP/1.1\r\nHost: gate\r\n" + strings.Join(headers, "\r\n")
	if len(headers) > 0 {
		raw += "\r\n"
	}
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(raw + "\r\n"))); err != nil {
		t.Fatal(err)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(peer), 40000)), nil)
	g.s.Handler(ctx)
	return ctx.Response.StatusCode()
}

// lines flushes the audit log and returns its lines, each decoded; every
// line of the output must be one JSON object.
func (g *auditGate) lines(t testing.TB) []map[string]any {
	t.Helper()
	g.s.audit.flush()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(g.out.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not one JSON object: %v\n%s", err, l)
		}
		if m["msg"] == "auth answer" {
			out = append(out, m)
		}
	}
	return out
}

// auditWith is baseConfig with log_requests at the top level (where
// TOML needs it: before the first table).
func auditWith(mode string) string { return "log_requests = \"" + mode + "\"\n" + baseConfig }

func TestAuditLine(t *testing.T) {
	g := newAuditGate(t, auditWith("all"))
	sign := signer(t, verifier.Options{})
	now := time.Now()
	alice := sign("alice", "editor", "Alice Smith", "203.0.113.7", now)
	// A URL ticket for another address: refused, so the cookie counts;
	// stripped from the logged URL all the same.
	urlTicket := sign("uma", "", "", "198.51.100.1", now)
	status := g.ask(t, "/auth/admin", "127.0.0.1",
		"X-Real-IP: 203.0.113.7",
		"X-Original-URL: https://app.example.com/docs/a%20b?x=1&auth_tkt="+urlTicket+";y=2&auth_tkt=again#top",
		"X-Original-Method: POST",
		"X-Request-ID: 0f3c9a1e2b4d5f60718293a4b5c6d7e8",
		"Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"Cookie: theme=dark; auth_tkt="+alice)
	if status != 403 {
		t.Fatalf("status %d, want 403 (alice lacks the admin token)", status)
	}
	ls := g.lines(t)
	if len(ls) != 1 {
		t.Fatalf("%d audit lines, want 1:\n%s", len(ls), g.out.String())
	}
	got := ls[0]
	for k, v := range map[string]any{
		"level":       "INFO",
		"request_id":  "0f3c9a1e2b4d5f60718293a4b5c6d7e8",
		"client_ip":   "203.0.113.7",
		"method":      "POST",
		"url":         "https://app.example.com/docs/a%20b?x=1;y=2#top",
		"policy":      "admin",
		"status":      float64(403),
		"reason":      "token_denied",
		"uid":         "alice",
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if _, ok := got["claimed_uid"]; ok {
		t.Errorf("claimed_uid beside a verified uid: %v", got)
	}
	ts, err := time.Parse(time.RFC3339, got["time"].(string))
	if err != nil || ts.Before(now.Add(-time.Second)) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("time %v (%v); want about now", got["time"], err)
	}
	noSecrets(t, g.out.String(), alice, urlTicket, "theme=dark", "Alice Smith", "editor")
}

// noSecrets fails if out holds the secret, any of more, or the digest of
// any base64 ticket among them.
func noSecrets(t testing.TB, out string, more ...string) {
	t.Helper()
	for _, m := range append(more, testSecret) {
		if strings.Contains(out, m) {
			t.Errorf("the output holds %q:\n%s", m, out)
		}
		if raw, err := base64.StdEncoding.DecodeString(m); err == nil && len(raw) > 32 {
			if d := string(raw[:32]); strings.Contains(out, d) {
				t.Errorf("the output holds the digest %s:\n%s", d, out)
			}
		}
	}
}

func TestAuditModes(t *testing.T) {
	sign := signer(t, verifier.Options{})
	good := "Cookie: auth_tkt=" + sign("alice", "", "", "127.0.0.1", time.Now())
	for _, c := range []struct {
		mode    string
		reasons []string // of the lines, in order
	}{
		{"none", nil},
		{"denied", []string{"no_ticket", "unknown_policy"}},
		{"all", []string{"ok", "no_ticket", "unknown_policy"}},
	} {
		g := newAuditGate(t, auditWith(c.mode))
		g.ask(t, "/auth", "127.0.0.1", good)
		g.ask(t, "/auth", "127.0.0.1")
		g.ask(t, "/auth/nosuch", "127.0.0.1")
		var got []string
		for _, l := range g.lines(t) {
			got = append(got, l["reason"].(string))
		}
		if strings.Join(got, " ") != strings.Join(c.reasons, " ") {
			t.Errorf("log_requests = %q: lines %q, want %q", c.mode, got, c.reasons)
		}
	}
	// The default is none.
	g := newAuditGate(t, baseConfig)
	g.ask(t, "/auth", "127.0.0.1")
	if ls := g.lines(t); len(ls) != 0 {
		t.Errorf("no log_requests: %d audit lines", len(ls))
	}
}

// uid is the user a valid signature names; a ticket refused for its
// digest or form only claims one; no ticket read, no uid at all.
func TestAuditUID(t *testing.T) {
	g := newAuditGate(t, auditWith("all"))
	sign := signer(t, verifier.Options{})
	now := time.Now()
	forged := sign("mallory", "", "", "10.1.1.1", now) // for another address: a bad digest here
	for _, c := range []struct {
		name, peer, header   string
		reason, uid, claimed string
	}{
		{"valid", "127.0.0.1", "Cookie: auth_tkt=" + sign("alice", "", "", "127.0.0.1", now), "ok", "alice", ""},
		{"expired", "127.0.0.1", "Cookie: auth_tkt=" + sign("bob", "", "", "127.0.0.1", now.Add(-3*time.Hour)), "expired", "bob", ""},
		{"bad digest", "127.0.0.1", "Cookie: auth_tkt=" + forged, "bad_digest", "", "mallory"},
		{"malformed", "127.0.0.1", "Cookie: auth_tkt=" + strings.Repeat("0", 40) + "eve", "malformed", "", ""},
		// After a valid ticket on the same pooled state: nothing stale.
		{"valid again", "127.0.0.1", "Cookie: auth_tkt=" + sign("alice", "", "", "127.0.0.1", now), "ok", "alice", ""},
		{"unspecified address", "127.0.0.1", "X-Real-IP: 0.0.0.0", "unspecified_ip", "", ""},
		{"no ticket", "127.0.0.1", "Cookie: x=1", "no_ticket", "", ""},
	} {
		n := len(g.lines(t))
		g.ask(t, "/auth", c.peer, c.header)
		ls := g.lines(t)
		if len(ls) != n+1 {
			t.Fatalf("%s: %d new lines", c.name, len(ls)-n)
		}
		l := ls[n]
		if l["reason"] != c.reason || str(l["uid"]) != c.uid || str(l["claimed_uid"]) != c.claimed {
			t.Errorf("%s: reason %v uid %q claimed_uid %q; want %s %q %q", c.name, l["reason"], str(l["uid"]), str(l["claimed_uid"]), c.reason, c.uid, c.claimed)
		}
		if c.uid == "" {
			if _, ok := l["uid"]; ok {
				t.Errorf("%s: uid %v in the line", c.name, l["uid"])
			}
		}
	}
	noSecrets(t, g.out.String(), forged)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Whatever the request holds, each line is one JSON object, bounded.
func TestAuditHostileValues(t *testing.T) {
	g := newAuditGate(t, auditWith("all"))
	long := "/" + strings.Repeat("a", 5000) + "?auth_tkt=" + strings.Repeat("T", 100)
	check := map[string]func(l map[string]any){
		"X-Request-ID: a\\b\"c\x01\x7f\xff\xfe": func(l map[string]any) {
			if id := str(l["request_id"]); id != "a\\b\"c\x01\x7f\ufffd\ufffd" {
				t.Errorf("request_id %q", id)
			}
		},
		"X-Request-ID: \u2028\u2029 ünïcode": func(l map[string]any) {
			if id := str(l["request_id"]); id != "\u2028\u2029 ünïcode" {
				t.Errorf("request_id %q", id)
			}
		},
		"X-Original-URL: https://app.example.com" + long: func(l map[string]any) {
			if u := str(l["url"]); !strings.HasSuffix(u, "…") || len(u) > maxLogURL+3 || !strings.HasPrefix(u, "https://app.example.com/aaaa") {
				t.Errorf("long url: %d bytes, %.40q…%q", len(u), u, u[max(0, len(u)-10):])
			}
		},
		"X-Original-URI: " + long:                          nil,
		"X-Original-Method: G\"ET\x00":                     nil,
		"Traceparent: " + strings.Repeat("x", 1000):        nil,
		"X-Request-ID: \"}\n{\"forged\":1":                 nil, // refused by fasthttp, or escaped
		"X-Original-URL: https://h/p?auth_tkt=\"}{\"a\":1": nil,
	}
	for h, f := range check {
		raw := "GET /auth HTTP/1.1\r\nHost: gate\r\n" + h + "\r\n\r\n"
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			continue // fasthttp refuses it: nothing to log
		}
		ctx := new(fasthttp.RequestCtx)
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		n := len(g.lines(t))
		g.s.Handler(ctx)
		ls := g.lines(t)
		if len(ls) != n+1 {
			t.Fatalf("%.40q: %d lines", h, len(ls)-n)
		}
		if f != nil {
			f(ls[n])
		}
	}
	out := g.out.String()
	if strings.Contains(out, "TTTT") {
		t.Errorf("a URL ticket reached the log")
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !json.Valid([]byte(l)) || len(l) > 4000 {
			t.Errorf("line of %d bytes, valid JSON %v: %.300q", len(l), json.Valid([]byte(l)), l)
		}
		if strings.Contains(l, "forged") && !strings.Contains(l, `\"forged\"`) {
			t.Errorf("a header broke out of its string: %q", l)
		}
	}
}

func TestAppendWithoutTicket(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/p", "/p"},
		{"/p?", "/p?"},
		{"/p?auth_tkt=X", "/p"},
		{"/p?auth_tkt", "/p"},
		{"/p?auth_tkt=X&a=1", "/p?a=1"},
		{"/p?a=1&auth_tkt=X&b=2", "/p?a=1&b=2"},
		{"/p?a=1;auth_tkt=X;b=2", "/p?a=1;b=2"},
		{"/p?a=1&auth_tkt==X&auth_tkt=Y", "/p?a=1"},
		{"/p?a=1&&b", "/p?a=1&&b"},
		{"/p?ck=X&a=1#f?auth_tkt=z", "/p?a=1#f?auth_tkt=z"},
		{"/p?auth_tktx=1&xauth_tkt=2", "/p?auth_tktx=1&xauth_tkt=2"},
		{"/p#x", "/p#x"},
	} {
		got, whole := appendWithoutTicket(make([]byte, 0, 64), []byte(c.in), []byte("auth_tkt"), []byte("ck"))
		if string(got) != c.want || !whole {
			t.Errorf("%q: %q %v, want %q", c.in, got, whole, c.want)
		}
	}
	got, whole := appendWithoutTicket(make([]byte, 0, 8), []byte("/abc?d=1&auth_tkt=XYZ&e=2"), []byte("auth_tkt"), nil)
	if whole || string(got) != "/abc?d=1" {
		t.Errorf("cut: %q %v", got, whole)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s", "\x00\x01\n\r\t\x1f\x7f", "ü€𝄞", "\xff\xc3", "a\u2028b\u2029", strings.Repeat("é", 10)} {
		b := appendJSONString(nil, []byte(s), 1000)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q: %s: %v", s, b, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want && s != "\xff\xc3" {
			t.Errorf("%q: round trip %q", s, got)
		}
		if bytes.ContainsAny(b, "\n\r\u2028\u2029") || bytes.ContainsFunc(b, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("%q: raw control or line end in %q", s, b)
		}
	}
	// Cut inside a rune: still valid.
	if b := appendJSONString(nil, []byte("aé"), 2); !json.Valid(b) {
		t.Errorf("cut rune: %q", b)
	}
}

// Audit lines and the other log lines share the destination, each line
// whole, under concurrent load.
func TestAuditLinesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte("log_level = \"debug\"\n"+auditWith("all")), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _, logs, _ := startServerAt(t, path)
	sign := signer(t, verifier.Options{})
	good := sign("alice", "", "", "127.0.0.1", time.Now())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				h := fmt.Sprintf("X-Request-ID: w%d-%d", w, i)
				if i%2 == 0 {
					do(t, addr, "GET", "/auth", h, "Cookie: auth_tkt="+good)
				} else {
					do(t, addr, "GET", "/auth", h) // a debug line too
				}
			}
		}()
	}
	wg.Wait()
	// Flushed on the timer, within a second or so.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), `"msg":"auth answer"`) < 400 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ids := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("a log line that is not one JSON object: %v\n%q", err, l)
		}
		if m["msg"] == "auth answer" {
			ids[str(m["request_id"])] = true
		}
	}
	if len(ids) != 400 {
		t.Errorf("%d distinct request IDs in the audit lines, want 400", len(ids))
	}
	noSecrets(t, logs.String(), good)
}

// The last lines are written when the server stops, before the timer.
func TestAuditFlushedAtShutdown(t *testing.T) {
	cfg, err := ParseConfig([]byte(auditWith("all")), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "127.0.0.1:0"
	lns, err := openListeners(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &e2e.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan []net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, cfg, "config.toml", newLogger(logs, nil), new(slog.LevelVar), nil, ready, lns)
	}()
	addr := (<-ready)[0].String()
	do(t, addr, "GET", "/auth", "X-Request-ID: last-one")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"request_id":"last-one"`) {
		t.Errorf("the audit line was lost at shutdown:\n%s", logs.String())
	}
}

// The debug line of a decision names no user when no ticket was read,
// although the pooled state last held someone else's.
func TestDebugLogNoStaleUID(t *testing.T) {
	g := newAuditGate(t, baseConfig)
	sign := signer(t, verifier.Options{})
	g.ask(t, "/auth", "127.0.0.1", "Cookie: auth_tkt="+sign("alice", "", "", "127.0.0.1", time.Now().Add(-3*time.Hour)))
	g.ask(t, "/auth", "127.0.0.1", "X-Real-IP: 0.0.0.0")
	var reasons []string
	for _, l := range strings.Split(strings.TrimSuffix(g.out.String(), "\n"), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != "auth decision" {
			continue
		}
		reasons = append(reasons, str(m["reason"]))
		if want := map[string]string{"expired": "alice"}[str(m["reason"])]; m["uid"] != want {
			t.Errorf("reason %v: uid %q, want %q", m["reason"], m["uid"], want)
		}
	}
	if strings.Join(reasons, " ") != "expired unspecified_ip" {
		t.Errorf("debug lines for %q", reasons)
	}
}

// Every byte, at every place of a word and across words, comes out as
// encoding/json reads back: the word-at-a-time pass misses none.
func TestAppendJSONStringEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			s := []byte(strings.Repeat("abcdefgh", 3))
			s[pos] = byte(c)
			b := appendJSONString(nil, s, 100)
			var got string
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("byte %#x at %d: %s: %v", c, pos, b, err)
			}
			if want := strings.ToValidUTF8(string(s), "\ufffd"); got != want {
				t.Errorf("byte %#x at %d: %q, want %q", c, pos, got, want)
			}
			if c < 0x20 || c == 0x7f {
				if bytes.IndexByte(b, byte(c)) >= 0 {
					t.Errorf("byte %#x at %d left raw: %q", c, pos, b)
				}
			}
		}
	}
}

// The audit clock writes what slog writes, whatever the second, the
// nanoseconds and the zone.
func TestAuditClock(t *testing.T) {
	var c auditClock
	base := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, tm := range []time.Time{
		base, base.Add(123456789), base.Add(100 * time.Millisecond), base.Add(time.Second + 1),
		base.Add(time.Second + 999999999), base.In(time.FixedZone("X", 3600+1800)).Add(5), time.Now(), time.Now().Local(),
	} {
		got := string(c.appendRFC3339Nano([]byte("x"), tm))
		if want := "x" + tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("%v: %q, want %q", tm, got, want)
		}
	}
}

func TestAuditClockDigits(t *testing.T) {
	var c auditClock
	base := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for ns := 1; ns < 1e9; ns = ns*7 + 3 {
		tm := base.Add(time.Duration(ns))
		if got, want := string(c.appendRFC3339Nano(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("%d ns: %q, want %q", ns, got, want)
		}
	}
}

// log_requests takes effect on reload, like the rest of the config.
func TestAuditModeReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("watch = false\n"+baseConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, hup, logs, _ := startServerAt(t, path)
	do(t, addr, "GET", "/auth", "X-Request-ID: before")
	if err := os.WriteFile(path, []byte("watch = false\n"+auditWith("denied")), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "config reloaded") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	do(t, addr, "GET", "/auth", "X-Request-ID: after")
	for !strings.Contains(logs.String(), `"request_id":"after"`) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if l := logs.String(); !strings.Contains(l, `"request_id":"after"`) || strings.Contains(l, `"request_id":"before"`) {
		t.Errorf("want an audit line for the request after the reload only:\n%s", l)
	}
}
