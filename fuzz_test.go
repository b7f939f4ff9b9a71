package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzHandler sends arbitrary cookies, URLs and client-IP headers through
// the whole auth handler: it must not panic, must answer only with the
// documented statuses, and must never put a control byte into a header.
func FuzzHandler(f *testing.F) {
	cfg, err := ParseConfig([]byte(baseConfig+"[client_ip]\nheader = \"X-Forwarded-For\"\n[guest]\nuser = \"g-%8U\"\n"), "fuzz.toml")
	if err != nil {
		f.Fatal(err)
	}
	s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics())
	s.load(cfg)
	good := "MzNjYmI5MDI4ZTVjZmVkYWMxYWY0ZTJjMmRiNTBiMjQ2NTUzZjEwMGFsaWNlIWFkbWluLGVkaXRvciFBbGljZSBTbWl0aA=="
	f.Add("/auth", "auth_tkt="+good, "https://app.test/a?x=1&auth_tkt="+good, "10.0.0.1, 127.0.0.1")
	f.Add("/auth/admin", "a=1; auth_tkt=; auth_tkt=\"x!y\"", "/rel?%zz;;==&", "::1")
	f.Add("/auth/nosuch", "", "http://h/%0d%0a", "garbage")
	f.Fuzz(func(t *testing.T, path, cookie, origURL, xff string) {
		var req fasthttp.Request
		raw := "GET " + sanitizeLine(path) + " HTTP/1.1\r\nHost: gate\r\nCookie: " + sanitizeLine(cookie) +
			"\r\nX-Original-URL: " + sanitizeLine(origURL) + "\r\nX-Forwarded-For: " + sanitizeLine(xff) + "\r\n\r\n"
		if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			return // fasthttp refuses it before we ever see it
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		s.Handler(&ctx)
		switch st := ctx.Response.StatusCode(); st {
		case 200, 401, 403, 404, 500:
			if st == 500 && !strings.HasPrefix(string(ctx.Path()), "/auth/") {
				t.Fatalf("500 for %q", ctx.Path())
			}
		default:
			t.Fatalf("status %d", st)
		}
		if s.metrics.panics.Load() != 0 {
			t.Fatal("the handler panicked (recovered)")
		}
		for k, v := range ctx.Response.Header.All() {
			if bytes.ContainsAny(k, "\r\n\x00") || bytes.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("header %q: %q", k, v)
			}
		}
	})
}

// sanitizeLine keeps fuzz input on one header line: the point is what
// tktgate does with a value, not fasthttp's request parser.
func sanitizeLine(s string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// FuzzConfig: no input makes the config loader panic, and whatever it
// accepts builds working verifiers for every policy.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(baseConfig))
	f.Add([]byte("[ticket]\nsecret = \"s\"\ntimeout = \"1d 12h\"\n[policy.a]\ntokens = [\"x\"]\ntimeout = 5\n"))
	f.Add([]byte("listen = \"unix:/x\"\n[ticket]\nsecret_file = \"/nonexistent\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "fuzz.toml")
		if err != nil {
			if _, ok := err.(*ConfigError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if cfg.Default == nil || cfg.Default.Verifier == nil {
			t.Fatal("accepted config without a default verifier")
		}
		for name, p := range cfg.Policies {
			if p.Verifier == nil || p.Name != name {
				t.Fatalf("policy %q: verifier %v, name %q", name, p.Verifier, p.Name)
			}
		}
	})
}
