//go:build !race

package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/verifier"
)

// TestLinearCost: no part of a request can make tktgate work harder than
// in proportion to its size. Every parser that reads request bytes (the
// cookie finders of each dialect, the ticket decoders, passport's JSON
// user data, the URL query, the back URL, the address headers) is fed
// hostile shapes at 1 KB and at 30 KB, and the cost ratio must stay
// near 30. A quadratic scan gives hundreds; a linear one at most about
// 30 (less, as the fixed cost of an answer weighs more at 1 KB). The
// bound is a ratio of two measurements on the same machine a moment
// apart, never a wall-clock limit, and each is the fastest of three
// rounds, which rules out most noise.
func TestLinearCost(t *testing.T) {
	const small, large = 1 << 10, 30 << 10
	// The cost of a linear scan grows 30-fold; allow 2.5 times that for
	// cache effects at 30 KB and noise.
	const limit = 75.0
	// Each shape repeats its unit to n bytes; the ticket-shaped ones
	// build a whole cookie value around a payload of n bytes.
	units := []string{
		"a", "=", ";", " ", "\t", `"`, `\`, "%", "!", ",", "&", "?", "/",
		"a=", "a;", "a=;", "; a", `a="`, `a=\"`, `"\"`, `\"`, `\054`, `%21`, "%2", "%e2%9c", "a,", "a, ",
		"auth_tkt", "auth_tkt=", "auth_tkt=;", "auth_tkt=x; ", "authtkt=", "authtkt=;", " authtkt=x;",
		"Mon, 01-Jan-2024 00:00:00 GMT", "a=Mon, ", "1.2.3.4,", "127.0.0.1, ", "::1,", "&auth_tkt", "auth_tkt&", "a=b&",
	}
	// Ticket-shaped cookie values: a plausible digest and timestamp, then
	// a long uid, token list or user data, raw, base64 or escaped.
	tickets := map[string]func(n int) string{
		"uid":          func(n int) string { return strings.Repeat("a", 40) + strings.Repeat("u", n) + "!" },
		"tokens":       func(n int) string { return strings.Repeat("a", 40) + "u!" + strings.Repeat("t,", n/2) + "!d" },
		"data-bangs":   func(n int) string { return strings.Repeat("a", 40) + "u!t!" + strings.Repeat("!", n) },
		"base64":       func(n int) string { return b64(strings.Repeat("a", 40) + "u!t!" + strings.Repeat("d", n)) },
		"base64-junk":  func(n int) string { return b64(strings.Repeat("a", 40)+"u!t!d") + strings.Repeat("*", n) },
		"escaped":      func(n int) string { return strings.Repeat("a", 40) + "u%21t%21" + strings.Repeat("%41", n/3) },
		"quoted":       func(n int) string { return `"` + strings.Repeat(`\"`, n/2) + `"` },
		"passport-b64": func(n int) string { return b64(strings.Repeat("a", 40) + "u!t!" + b64(strings.Repeat("x", n))) },
	}
	// passport's JSON user data (base64 inside the base64 ticket).
	for name, doc := range map[string]func(n int) string{
		"index-keys": func(n int) string {
			return jsonObject(n, func(i int) string { return fmt.Sprintf("%q:0", fmt.Sprint(n-i)) })
		},
		"distinct-keys": func(n int) string { return jsonObject(n, func(i int) string { return fmt.Sprintf(`"k%d":0`, i) }) },
		"same-key":      func(n int) string { return jsonObject(n, func(int) string { return `"a":0` }) },
		"escaped-keys": func(n int) string {
			return jsonObject(n, func(i int) string { return fmt.Sprintf(`"\u0061%d":0`, i%50) })
		},
		"nested-arrays": func(n int) string {
			d := min(n/2, 900)
			return strings.Repeat("[", d) + strings.Repeat("]", d) + strings.Repeat(" ", n-2*d)
		},
		"nested-objects": func(n int) string {
			d := min(n/6, 900)
			return strings.Repeat(`{"a":`, d) + "0" + strings.Repeat("}", d) + strings.Repeat(" ", max(0, n-6*d))
		},
		"wide-arrays": func(n int) string { return "[" + strings.Repeat("[],", n/3) + "0]" },
		"long-number": func(n int) string { return "1" + strings.Repeat("0", n) },
		"long-string": func(n int) string { return `"` + strings.Repeat(`\ud83d\ude00`, n/12) + `"` },
	} {
		tickets["json-"+name] = func(n int) string {
			return b64(strings.Repeat("a", 40) + "u!t!" + b64(doc(n)))
		}
	}

	dialects := []struct{ name, config string }{
		{"mod_auth_tkt", strings.Replace(baseConfig, "[ticket]", "[ticket]\nurl_ticket_redirect = true", 1) + "[policy.bk]\nback_cookie_name = \"bk\"\n"},
		{"passport", strings.Replace(baseConfig, "[ticket]", "[ticket]\ndialect = \"passport\"\npassport_json_user_data = true", 1)},
		{"pyramid", strings.Replace(strings.Replace(baseConfig, "[ticket]", "[ticket]\ndialect = \"pyramid\"", 1), "timeout_refresh = 0.5", "", 1)},
	}
	xff := "[client_ip]\nheader = \"X-Forwarded-For\"\ntrusted_proxies = [\"127.0.0.0/8\", \"1.2.3.4/32\"]\n"

	sign := signer(t, verifier.Options{})
	urlTicket := sign("uma", "", "", "127.0.0.1", time.Now())

	type place struct {
		name    string
		dialect bool                        // read by the dialect's own parsers
		req     func(name, v string) string // the request's header lines
	}
	places := []place{
		{"cookie", true, func(_, v string) string { return "Cookie: " + v + "\r\n" }},
		{"cookie-value", true, func(name, v string) string { return "Cookie: " + name + "=" + v + "\r\n" }},
		{"cookie-lines", true, func(_, v string) string {
			var b strings.Builder
			for len(v) > 0 {
				n := min(len(v), 256)
				b.WriteString("Cookie: " + v[:n] + "\r\n")
				v = v[n:]
			}
			return b.String()
		}},
		{"query", false, func(_, v string) string { return "X-Original-URL: https://app.test/p?" + v + "\r\n" }},
		{"url-ticket", true, func(name, v string) string { return "X-Original-URL: https://app.test/p?" + name + "=" + v + "\r\n" }},
		{"path", false, func(_, v string) string { return "X-Original-URL: https://app.test/" + v + "\r\n" }},
		// A valid URL ticket: url_ticket_redirect writes the page without it.
		{"url-ticket-redirect", false, func(name, v string) string {
			return "X-Original-URL: https://app.test/" + v + "?" + v + "&" + name + "=" + urlTicket + "&" + v + "\r\n"
		}},
		{"forwarded-uri", false, func(_, v string) string {
			return "X-Forwarded-Proto: " + v + "\r\nX-Forwarded-Host: " + v + "\r\nX-Forwarded-Uri: /" + v + "\r\n"
		}},
		{"x-real-ip", false, func(_, v string) string { return "X-Real-IP: " + v + "\r\n" }},
		{"x-forwarded-for", false, func(_, v string) string { return "X-Forwarded-For: " + v + "\r\n" }},
	}

	for _, d := range dialects {
		for _, p := range places {
			if !p.dialect && d.name != "mod_auth_tkt" {
				continue // the dialect does not read it
			}
			config := d.config
			if p.name == "x-forwarded-for" {
				config += xff
			}
			s, ctx := linearServer(t, config)
			cookieName := string(s.snap.Load().def.cookieName)
			if p.name == "url-ticket-redirect" {
				// The place is what it says: the redirect's answer.
				costPerRequest(t, s, ctx, p.req(cookieName, "a"))
				if ctx.Response.StatusCode() != 401 || len(ctx.Response.Header.Peek("Location")) == 0 {
					t.Fatalf("url-ticket-redirect: status %d, Location %q; want the redirect", ctx.Response.StatusCode(), ctx.Response.Header.Peek("Location"))
				}
			}
			shapes := map[string]func(int) string{}
			for _, u := range units {
				shapes[fmt.Sprintf("%q", u)] = func(n int) string { return strings.Repeat(u, n/len(u)+1)[:n] }
			}
			if strings.HasPrefix(p.name, "cookie") || p.name == "url-ticket" {
				for k, f := range tickets {
					shapes[k] = f
				}
			}
			for shape, f := range shapes {
				cost := func(n int) time.Duration {
					return costPerRequest(t, s, ctx, p.req(cookieName, f(n)))
				}
				c1, c30 := cost(small), cost(large)
				if r := float64(c30) / float64(c1); r > limit {
					// Once more, in case the machine was busy.
					c1, c30 = cost(small), cost(large)
					if r = float64(c30) / float64(c1); r > limit {
						t.Errorf("%s, %s, shape %s: %v at 1 KB, %v at 30 KB: %.0f times (linear: at most 30)", d.name, p.name, shape, c1, c30, r)
					}
				}
			}
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// jsonObject is a JSON object of about n bytes of members member(i).
func jsonObject(n int, member func(i int) string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(member(i))
	}
	b.WriteByte('}')
	return b.String()
}

func linearServer(t *testing.T, config string) (*Server, *fasthttp.RequestCtx) {
	t.Helper()
	cfg, err := ParseConfig([]byte(config), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics())
	s.load(cfg)
	ctx := new(fasthttp.RequestCtx)
	return s, ctx
}

// costPerRequest is the fastest time per answer, over three rounds, of
// the handler on a request with these header lines.
func costPerRequest(t *testing.T, s *Server, ctx *fasthttp.RequestCtx, headers string) time.Duration {
	t.Helper()
	raw := "GET /auth HTTP/1.1\r\nHost: gate\r\n" + headers + "\r\n"
	var req fasthttp.Request
	if err := req.Read(bufio.NewReaderSize(strings.NewReader(raw), len(raw)+64)); err != nil {
		t.Fatalf("request %.80q...: %v", raw, err)
	}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	run := func(n int) time.Duration {
		start := time.Now()
		for range n {
			ctx.Response.Reset()
			s.Handler(ctx)
		}
		return time.Since(start)
	}
	// Rounds of at least a millisecond, so that the clock's resolution
	// does not count.
	n := 1
	for run(n) < time.Millisecond {
		n *= 2
	}
	best := time.Duration(1<<63 - 1)
	for range 3 {
		best = min(best, run(n)/time.Duration(n))
	}
	return best
}
