package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/tktgate/tktgate/verifier"
)

// handlerFixture builds a Server on baseConfig and a parsed request
// carrying a fresh ticket, for allocation tests and benchmarks.
func handlerFixture(tb testing.TB, config string, extraHeaders string) (*Server, *fasthttp.RequestCtx, func()) {
	tb.Helper()
	return policyFixture(tb, config, "", extraHeaders)
}

// policyFixture is handlerFixture for /auth/NAME, with a ticket signed
// with policy NAME's settings ("": /auth, the default policy).
func policyFixture(tb testing.TB, config, policy, extraHeaders string) (*Server, *fasthttp.RequestCtx, func()) {
	tb.Helper()
	cfg, err := ParseConfig([]byte(config), "test.toml")
	if err != nil {
		tb.Fatal(err)
	}
	s := newServer(newLogger(io.Discard, nil), newMetrics())
	s.load(cfg)
	p, path := cfg.Default, "/auth"
	if policy != "" {
		p, path = cfg.Policies[policy], path+"/"+policy
	}
	v := p.Verifier.Verifier() // the raw mod_auth_tkt ticket
	tkt := verifier.AppendBase64(nil, v.Sign(nil, []byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), netip.MustParseAddr("127.0.0.1"), time.Now()))
	raw := "GET " + path + " HTTP/1.1\r\nHost: gate\r\nX-Real-IP: 127.0.0.1\r\nX-Original-URL: https://app.example.com/docs/page?x=1\r\n" +
		"Cookie: _ga=GA1.2.1234567890.1234567890; theme=dark; auth_tkt=" + string(tkt) + "; lang=en\r\n" + extraHeaders + "\r\n"
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		tb.Fatal(err)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	run := func() {
		ctx.Response.Reset()
		s.Handler(ctx)
	}
	return s, ctx, run
}

func TestHandlerFixtureAnswers(t *testing.T) {
	_, ctx, run := handlerFixture(t, baseConfig, "")
	run()
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.Peek("X-Remote-User")) != "alice" {
		t.Fatalf("fixture answers %d %q, want 200 alice:\n%s", ctx.Response.StatusCode(), ctx.Response.Header.Peek("X-Remote-User"), &ctx.Response)
	}
}

func BenchmarkHandler(b *testing.B) {
	for _, c := range []struct{ name, config, headers string }{
		{"MD5/ok", baseConfig, ""},
		{"SHA256/ok", strings.Replace(baseConfig, "[ticket]", "[ticket]\ndigest_type = \"SHA256\"", 1), ""},
		{"MD5/no_ticket", baseConfig, "Cookie: other=1\r\n"},
		// The audit log's own cost: the line, into a buffer written to
		// io.Discard.
		{"MD5/audit", "log_requests = \"all\"\n" + baseConfig, ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			_, ctx, run := handlerFixture(b, c.config, "")
			if c.name == "MD5/audit" {
				ctx.Request.Header.Set("X-Request-ID", "0f3c9a1e2b4d5f60718293a4b5c6d7e8") // as nginx sends it
			}
			if c.name == "MD5/no_ticket" {
				ctx.Request.Header.Set("X-Real-IP", "10.9.9.9") // the ticket does not match: 401 with a back URL
			}
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
		})
	}
}

// BenchmarkServeConn is the whole request path inside fasthttp: request
// parsing, the handler and response writing, over an in-memory pipe with
// keep-alive, one request in flight, as nginx's upstream keepalive uses it.
func BenchmarkServeConn(b *testing.B) {
	cfg, err := ParseConfig([]byte(baseConfig), "test.toml")
	if err != nil {
		b.Fatal(err)
	}
	s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics())
	s.load(cfg)
	srv := &fasthttp.Server{Handler: s.Handler, NoDefaultServerHeader: true, NoDefaultContentType: true, NoDefaultDate: true}
	tkt := verifier.AppendBase64(nil, cfg.Default.Verifier.Verifier().Sign(nil, []byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), netip.MustParseAddr("127.0.0.1"), time.Now()))
	req := []byte("GET /auth HTTP/1.1\r\nHost: gate\r\nX-Real-IP: 127.0.0.1\r\nX-Original-URL: https://app.example.com/docs/page?x=1\r\n" +
		"Cookie: _ga=GA1.2.1234567890.1234567890; theme=dark; auth_tkt=" + string(tkt) + "; lang=en\r\n\r\n")
	pc := fasthttputil.NewPipeConns()
	go func() { _ = srv.ServeConn(loopbackConn{pc.Conn1()}) }()
	c := pc.Conn2()
	defer c.Close()
	br := bufio.NewReader(c)
	var resp fasthttp.Response
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := resp.Read(br); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 {
			b.Fatalf("status %d", resp.StatusCode())
		}
	}
}

// loopbackConn makes an in-memory pipe look like a TCP connection from
// 127.0.0.1, a trusted proxy, as nginx on the same host would be.
type loopbackConn struct{ net.Conn }

var loopbackAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

func (loopbackConn) RemoteAddr() net.Addr { return loopbackAddr }

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// indexSchemeSep must be bytes.Index(u, "://") exactly.
func TestIndexSchemeSep(t *testing.T) {
	for _, u := range []string{"", ":", "://", "a://", "http://h/", "a:b://c", "a:/b://c", "a:", "a:/", "x:y:z", "https://h:8080/p?q=a://b", ":://", "h:/:/"} {
		if got, want := indexSchemeSep([]byte(u)), bytes.Index([]byte(u), []byte("://")); got != want {
			t.Errorf("indexSchemeSep(%q) = %d; want %d", u, got, want)
		}
	}
}
