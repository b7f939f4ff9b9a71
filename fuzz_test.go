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

	"github.com/valyala/fasthttp"
)

// FuzzHandler sends arbitrary cookies, URLs and client-IP headers through
// the whole auth handler: it must not panic, must answer only with the
// documented statuses, and must never put a control byte into a header.
func FuzzHandler(f *testing.F) {
	cfg, err := ParseConfig([]byte(baseConfig+"[policy.strip]\nurl_ticket_redirect = true\n[client_ip]\nheader = \"X-Forwarded-For\"\n[guest]\nuser = \"g-%8U\"\n"), "fuzz.toml")
	if err != nil {
		f.Fatal(err)
	}
	s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics())
	s.load(cfg)
	good := "MzNjYmI5MDI4ZTVjZmVkYWMxYWY0ZTJjMmRiNTBiMjQ2NTUzZjEwMGFsaWNlIWFkbWluLGVkaXRvciFBbGljZSBTbWl0aA=="
	f.Add("/auth", "auth_tkt="+good, "https://app.test/a?x=1&auth_tkt="+good, "10.0.0.1, 127.0.0.1")
	f.Add("/auth/admin", "a=1; auth_tkt=; auth_tkt=\"x!y\"", "/rel?%zz;;==&", "::1")
	f.Add("/auth/nosuch", "", "http://h/%0d%0a", "garbage")
	f.Add("/auth/strip?redirect=1", "", "https://app.test//a\\b?x=1&auth_tkt="+good+"&y", "127.0.0.1")
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
		case 302: // a denial, or a URL ticket's redirect, for Caddy and Traefik
			if string(ctx.QueryArgs().Peek("redirect")) != "1" {
				t.Fatalf("302 without ?redirect=1")
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

// FuzzJoinCookies: the Cookie headers tktgate joins (fasthttp's parsed
// values) are exactly what a walk over the raw header lines gives, as
// tktgate did before: every line named Cookie in any case, the value
// trimmed of spaces and tabs, joined with the separator. Only obs-folded
// lines differ on purpose: fasthttp joins a fold with one space, as httpd
// does, where the raw walk stopped at the line end.
func FuzzJoinCookies(f *testing.F) {
	f.Add("Cookie: a=1\r\n", "cookie:b=2 \t\r\n", "X-Cookie: c=3\r\n")
	f.Add("COOKIE: \r\n", "Cookie: auth_tkt=x\r\n", "Cookie:\t\"q\"\r\n")
	f.Add("Cookies: a\r\n", "Cookie : b\r\n", "Coo kie: c\r\n")
	f.Add("Cookie: a\r\n", " b\r\n", "Cookie: c\r\n")
	f.Fuzz(func(t *testing.T, h1, h2, h3 string) {
		raw := "GET /auth HTTP/1.1\r\nHost: gate\r\n" + h1 + h2 + h3 + "\r\n"
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			return
		}
		if bytes.Contains(req.Header.RawHeaders(), []byte("\n ")) || bytes.Contains(req.Header.RawHeaders(), []byte("\n\t")) {
			// A fold: each value must still be one clean line.
			for _, v := range req.Header.PeekAll(fasthttp.HeaderCookie) {
				if bytes.ContainsAny(v, "\r\n") {
					t.Fatalf("folded value %q", v)
				}
			}
			return
		}
		for _, sep := range []string{", ", "; "} {
			got, _ := joinCookies(nil, req.Header.PeekAll(fasthttp.HeaderCookie), sep)
			want := rawJoinCookies(req.Header.RawHeaders(), sep)
			if string(got) != string(want) || (got == nil) != (want == nil) {
				t.Fatalf("headers %q, sep %q: joined %q, the raw lines give %q", req.Header.RawHeaders(), sep, got, want)
			}
		}
	})
}

// rawJoinCookies is tktgate's former joinCookies, kept as FuzzJoinCookies'
// oracle: a walk over the raw header lines.
func rawJoinCookies(raw []byte, sep string) []byte {
	var out []byte
	n := 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		name, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || !equalFold(string(name), "cookie") {
			continue
		}
		v = bytes.Trim(bytes.TrimSuffix(v, []byte("\r")), " \t")
		if n > 0 {
			out = append(out, sep...)
		}
		out = append(out, v...)
		if out == nil {
			out = []byte{}
		}
		n++
	}
	return out
}

// FuzzOriginalURL: originalURL splits X-Original-URL as the plain
// reading below does (the authority ends at the first '/', '?' or '#'; a
// host with any byte outside letters, digits and ".-:_[]", or longer than
// 255 bytes, is no host).
func FuzzOriginalURL(f *testing.F) {
	for _, s := range []string{"https://app.test:8443/a?b#c", "http://[::1]:80?x", "HTTP://a b/c", "x://h#/", "http://" + strings.Repeat("h", 256) + "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		var h fasthttp.RequestHeader
		h.Set("X-Original-URL", u)
		v := string(h.Peek("X-Original-URL")) // as fasthttp stores it
		i := strings.Index(v, "://")
		if i <= 0 {
			return
		}
		_, host, uri := originalURL(&h)
		rest := v[i+3:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 {
			j = len(rest)
		}
		wantHost, wantURI := rest[:j], rest[j:]
		if len(wantHost) == 0 || len(wantHost) > 255 || strings.ContainsFunc(wantHost, func(r rune) bool {
			return !(r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:_[]", r)))
		}) {
			wantHost = ""
		}
		if !strings.HasPrefix(wantURI, "/") {
			wantURI = ""
		}
		if string(host) != wantHost || (host == nil) != (wantHost == "") || string(uri) != wantURI {
			t.Fatalf("%q: host %q uri %q, want %q %q", v, host, uri, wantHost, wantURI)
		}
	})
}

// FuzzParseIPv4: the fast IPv4 parser accepts exactly what netip accepts
// as IPv4, with the same address; everything else is left to netip.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "::1", "1.2.3.4%x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseIPv4([]byte(s))
		want, err := netip.ParseAddr(s)
		if ok != (err == nil && want.Is4()) || ok && got != want {
			t.Fatalf("%q: parseIPv4 %v %v, netip %v %v", s, got, ok, want, err)
		}
	})
}
