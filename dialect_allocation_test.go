//go:build !race

package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/verifier"
)

// The handler allocates nothing once warm in every dialect either: the
// plain answer, a refresh or reissue (Set-Cookie), JSON user data copied
// into headers, and a refusal.
func TestDialectHandlerAllocs(t *testing.T) {
	secret := "[redirect]\nlogin_url = \"/login\"\n[ticket]\nsecret = \"" + testSecret + "\"\n"
	for _, c := range []struct {
		name, conf string
		d          verifier.Dialect
		o          verifier.Options
		do         verifier.DialectOptions
		data       string
		ip         string // X-Real-IP
		age        time.Duration
		status     int
		setCookie  bool
	}{
		{name: "passport", conf: `dialect = "passport"`, d: verifier.Passport, data: "Alice Smith", status: 200},
		{name: "passport/refresh", conf: "dialect = \"passport\"\ntimeout = \"1h\"", d: verifier.Passport, data: "Alice Smith", status: 200, setCookie: true},
		{name: "passport/json+headers", conf: "dialect = \"passport\"\npassport_json_user_data = true\ntimeout = \"1h\"\nuser_data_headers = { X-Email = \"email\", X-Groups = \"groups\" }",
			d: verifier.Passport, do: verifier.DialectOptions{PassportJSONUserData: true}, data: `{"email":"alice@example.com","groups":["a","b"],"n":12.5}`,
			status: 200, setCookie: true},
		{name: "passport/refused", conf: "dialect = \"passport\"\nignore_ip = false", d: verifier.Passport, o: verifier.Options{Secret: []byte("other")}, data: "x", status: 401},
		{name: "pyramid", conf: `dialect = "pyramid"`, d: verifier.Pyramid, o: verifier.Options{Digest: verifier.SHA512}, data: "userid_type:b64unicode", status: 200},
		{name: "pyramid/reissue", conf: "dialect = \"pyramid\"\nreissue_time = \"1m\"", d: verifier.Pyramid, o: verifier.Options{Digest: verifier.SHA512},
			data: "userid_type:b64unicode", age: time.Hour, status: 200, setCookie: true},
		{name: "pyramid/ipv6", conf: "dialect = \"pyramid\"\nignore_ip = false", d: verifier.Pyramid, o: verifier.Options{Digest: verifier.SHA512}, ip: "2001:db8::1", status: 200},
	} {
		cfg, err := ParseConfig([]byte(secret+c.conf+"\n"), "test.toml")
		if err != nil {
			t.Fatal(err)
		}
		s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics())
		s.load(cfg)
		o := c.o
		if o.Secret == nil {
			o.Secret = []byte(testSecret)
		}
		o.IgnoreIP = cfg.Default.Options.IgnoreIP
		ip := c.ip
		if ip == "" {
			ip = "127.0.0.1"
		}
		dv, err := verifier.NewDialect(c.d, o, c.do)
		if err != nil {
			t.Fatal(err)
		}
		uid := "alice"
		if c.d == verifier.Pyramid && c.data != "" {
			uid = "YWxpY2U="
		}
		tkt := dv.Sign(nil, []byte(uid), []byte("admin,editor"), []byte(c.data), netip.MustParseAddr(ip), time.Now().Add(-c.age))
		if len(tkt) == 0 {
			t.Fatalf("%s: cannot sign", c.name)
		}
		raw := "GET /auth HTTP/1.1\r\nHost: gate\r\nX-Real-IP: " + ip + "\r\nX-Original-URL: https://app.example.com/docs/page?x=1\r\n" +
			"Cookie: _ga=GA1.2.1234567890.1234567890; theme=dark; " + c.d.CookieName() + "=" + string(tkt) + "; lang=en\r\n\r\n"
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			t.Fatal(err)
		}
		ctx := new(fasthttp.RequestCtx)
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
		run := func() {
			ctx.Response.Reset()
			s.Handler(ctx)
		}
		run()
		if got := ctx.Response.StatusCode(); got != c.status {
			t.Fatalf("%s: status %d, want %d:\n%s", c.name, got, c.status, &ctx.Response)
		}
		if got := len(ctx.Response.Header.PeekAll("Set-Cookie")) > 0; got != c.setCookie {
			t.Fatalf("%s: Set-Cookie %v, want %v:\n%s", c.name, got, c.setCookie, &ctx.Response)
		}
		if strings.Contains(c.conf, "user_data_headers") && string(ctx.Response.Header.Peek("X-Email")) != "alice@example.com" {
			t.Fatalf("%s: no X-Email:\n%s", c.name, &ctx.Response)
		}
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("%s: the handler allocates %v times per request", c.name, n)
		}
	}
}
