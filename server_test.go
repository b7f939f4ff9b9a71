package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/internal/rawhttp"
	"github.com/tktgate/tktgate/verifier"
	"github.com/valyala/fasthttp"
)

const testSecret = "test-secret"

// startServer serves the given config on a free loopback port until the
// test ends, and returns its address.
func startServer(t *testing.T, toml string) (addr string, hup chan os.Signal, logs *e2e.Buffer) {
	addr, hup, logs, _ = startServer2(t, toml)
	return
}

// startServer2 is startServer that also returns the metrics_listen
// address, if the config has one.
func startServer2(t *testing.T, toml string) (addr string, hup chan os.Signal, logs *e2e.Buffer, metricsAddr string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServerAt(t, path)
}

// startServerAt serves the config at path, as tktgate -config path
// would, on free loopback ports until the test ends. The log can be read
// while the server writes it, and is shown when the test fails.
func startServerAt(t *testing.T, path string) (addr string, hup chan os.Signal, logs *e2e.Buffer, metricsAddr string) {
	t.Helper()
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Listen = "127.0.0.1:0"
	if cfg.MetricsListen != "" {
		cfg.MetricsListen = "127.0.0.1:0"
	}
	logs = &e2e.Buffer{}
	log := newLogger(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	// Registered first, so it runs last, after the server has stopped:
	// whatever a test did, no secret reaches the log.
	t.Cleanup(func() {
		if l := logs.String(); strings.Contains(l, testSecret) || strings.Contains(l, "older") {
			t.Errorf("a secret reached the log:\n%s", l)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	hup = make(chan os.Signal, 1)
	ready := make(chan []net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, path, log, new(slog.LevelVar), hup, ready) }()
	select {
	case addrs := <-ready:
		addr = addrs[0].String()
		if len(addrs) > 1 {
			metricsAddr = addrs[1].String()
		}
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	return addr, hup, logs, metricsAddr
}

type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a raw request, so that tests control every header byte (for
// instance several Cookie headers, which Go's client would merge). The
// answer's header is as net/http would give it: canonical names, values
// trimmed.
func do(t *testing.T, addr, method, path string, headers ...string) answer {
	t.Helper()
	c, err := rawhttp.Dial("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.RoundTrip(rawhttp.Request(method, path, "gate", headers...))
	if err != nil {
		t.Fatal(err)
	}
	return answer{r.Status, r.Header(), r.Body}
}

func signer(t *testing.T, o verifier.Options) func(uid, tokens, data, ip string, ts time.Time) string {
	if o.Secret == nil {
		o.Secret = []byte(testSecret)
	}
	v, err := verifier.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return func(uid, tokens, data, ip string, ts time.Time) string {
		raw := v.Sign(nil, []byte(uid), []byte(tokens), []byte(data), netip.MustParseAddr(ip), ts)
		if len(raw) == 0 {
			t.Fatalf("cannot sign %q %q %q %s", uid, tokens, data, ip)
		}
		return string(verifier.AppendBase64(nil, raw))
	}
}

const baseConfig = `
[ticket]
secret = "` + testSecret + `"
timeout = "2h"
timeout_refresh = 0.5
[redirect]
login_url = "https://login.example.com/login"
timeout_url = "https://login.example.com/timeout"
post_timeout_url = "https://login.example.com/post-timeout"
unauth_url = "https://login.example.com/unauth"
[policy.admin]
tokens = ["admin", "root"]
`

func TestAuthAnswers(t *testing.T) {
	addr, _, _ := startServer(t, baseConfig)
	sign := signer(t, verifier.Options{})
	now := time.Now()
	good := sign("alice", "admin,editor", "Alice Smith", "127.0.0.1", now)
	user := sign("bob", "editor", "", "127.0.0.1", now)
	old := sign("carol", "", "", "127.0.0.1", now.Add(-3*time.Hour))
	other := sign("alice", "", "", "10.1.2.3", now)
	origin := "X-Original-URL: https://app.example.com/docs/a%20b?x=1&auth_tkt=zzz;y=2"
	back := "https%3a%2f%2fapp.example.com%2fdocs%2fa%20b%3fx%3d1%26y%3d2"

	f := func(path string, headers []string, wantStatus int, wantHeaders map[string]string) {
		t.Helper()
		for _, method := range []string{"GET", "HEAD", "POST"} {
			a := do(t, addr, method, path, headers...)
			if a.status != wantStatus {
				t.Errorf("%s %s %q: status %d, want %d", method, path, headers, a.status, wantStatus)
				continue
			}
			if a.body != "" || a.header.Get("Content-Length") != "0" {
				t.Errorf("%s %s: body %q, Content-Length %q; want none and 0", method, path, a.body, a.header.Get("Content-Length"))
			}
			for k, want := range wantHeaders {
				got, present := a.header.Get(k), len(a.header.Values(k)) > 0
				if want == "-" {
					if present {
						t.Errorf("%s %s %q: %s = %q, want absent", method, path, headers, k, got)
					}
				} else if got != want && !(method == "POST" && k == "Location" && strings.Contains(want, "/timeout")) {
					t.Errorf("%s %s %q: %s = %q, want %q", method, path, headers, k, got, want)
				}
			}
		}
	}
	ok := map[string]string{"X-Remote-User": "alice", "X-Remote-User-Tokens": "admin,editor", "X-Remote-User-Data": "Alice Smith", "Set-Cookie": "-", "Location": "-"}
	f("/auth", []string{"Cookie: auth_tkt=" + good}, 200, ok)
	f("/auth/admin", []string{"Cookie: auth_tkt=" + good}, 200, ok)
	f("/auth", []string{"Cookie: a=1; auth_tkt=" + good + "; b=2"}, 200, ok)
	f("/auth", []string{"Cookie: a=1", "Cookie: auth_tkt=" + good}, 200, ok) // joined with ", " as httpd does
	f("/auth", []string{"Cookie: auth_tkt=; auth_tkt=" + good}, 200, ok)
	f("/auth", []string{"Cookie: auth_tkt=" + good, "X-Real-IP: 127.0.0.1"}, 200, ok)
	f("/auth", []string{"Cookie: auth_tkt=" + other, "X-Real-IP: 10.1.2.3"}, 200, map[string]string{"X-Remote-User": "alice"})

	login := "https://login.example.com/login?back=" + back
	f("/auth", []string{origin}, 401, map[string]string{"Location": login, "X-Remote-User": "-", "Set-Cookie": "-"})
	f("/auth", []string{origin, "Cookie: auth_tkt=garbage-that-is-long-enough-to-count-as-a-ticket"}, 401, map[string]string{"Location": login})
	f("/auth", []string{origin, "Cookie: auth_tkt=" + other}, 401, map[string]string{"Location": login}) // bound to another IP
	f("/auth", []string{origin, "Cookie: auth_tkt=" + good, "X-Real-IP: 10.1.2.3"}, 401, map[string]string{"Location": login})
	f("/auth", []string{origin, "Cookie: auth_tkt=" + good, "X-Real-IP: ::1"}, 401, map[string]string{"Location": login})
	f("/auth", []string{origin, `Cookie: auth_tkt=""; auth_tkt=` + good}, 401, nil) // the first non-empty value counts
	f("/auth", []string{origin, "Cookie: auth_tkt=" + old}, 401, map[string]string{
		"Location": "https://login.example.com/timeout?back=" + back, // POST: post-timeout, checked below
	})
	f("/auth/admin", []string{origin, "Cookie: auth_tkt=" + user}, 403, map[string]string{"Location": "https://login.example.com/unauth?back=" + back, "X-Remote-User": "-"})
	f("/auth/nosuch", []string{"Cookie: auth_tkt=" + good}, 500, map[string]string{"X-Remote-User": "-"})
	// For proxies that pass denials to the browser (Traefik, Caddy).
	f("/auth?redirect=1", []string{origin}, 302, map[string]string{"Location": login})
	f("/auth/admin?redirect=1", []string{origin, "Cookie: auth_tkt=" + user}, 302, map[string]string{"Location": "https://login.example.com/unauth?back=" + back})
	f("/auth?redirect=1", []string{"Cookie: auth_tkt=" + good}, 200, ok)

	// Expired: the cookie is cleared; POST goes to the POST timeout URL.
	a := do(t, addr, "POST", "/auth", origin, "X-Original-Method: POST", "Cookie: auth_tkt="+old)
	if got := a.header.Get("Location"); got != "https://login.example.com/post-timeout?back="+back {
		t.Errorf("expired POST: Location %q", got)
	}
	for _, m := range []string{"X-Forwarded-Method: POST", "x-original-method: POST", "X-Original-Method: GET"} {
		want, method := "https://login.example.com/timeout?back="+back, "POST"
		if strings.Contains(m, "POST") {
			want, method = "https://login.example.com/post-timeout?back="+back, "GET"
		}
		// The header wins over the subrequest's own method.
		if got := do(t, addr, method, "/auth", origin, m, "Cookie: auth_tkt="+old).header.Get("Location"); got != want {
			t.Errorf("expired with %q: Location %q, want %q", m, got, want)
		}
	}
	if got := do(t, addr, "GET", "/auth", origin, "Cookie: auth_tkt="+old).header.Get("Location"); got != "https://login.example.com/timeout?back="+back {
		t.Errorf("expired GET without a method header: Location %q", got)
	}
	if sc := a.header.Get("Set-Cookie"); !strings.HasPrefix(sc, "auth_tkt=; path=/; expires=") {
		t.Errorf("expired: Set-Cookie %q, want a clearing cookie", sc)
	} else if exp, err := time.Parse(time.RFC1123, strings.TrimPrefix(sc, "auth_tkt=; path=/; expires=")); err != nil || !exp.Before(time.Now()) {
		t.Errorf("expired: clearing cookie expires %q (%v), want a past date", sc, err)
	}
}

func TestRefreshURLTicketAndOldSecret(t *testing.T) {
	addr, _, _ := startServer(t, strings.Replace(baseConfig, `timeout = "2h"`, "timeout = \"2h\"\nsecret_old = \"older\"\ndomain = \".example.com\"\ncookie_secure = true", 1))
	v, _ := verifier.New(verifier.Options{Secret: []byte(testSecret)})
	now := time.Now()
	sign := signer(t, verifier.Options{})
	check := func(name string, a answer, wantUID, wantData string) {
		t.Helper()
		if a.status != 200 {
			t.Fatalf("%s: status %d", name, a.status)
		}
		sc := a.header.Get("Set-Cookie")
		val, attrs, _ := strings.Cut(strings.TrimPrefix(sc, "auth_tkt="), ";")
		if attrs != " path=/; domain=.example.com; secure" {
			t.Errorf("%s: Set-Cookie %q, want path, domain and secure", name, sc)
		}
		var tk verifier.Ticket
		if err := v.Verify(&tk, []byte(val), netip.MustParseAddr("127.0.0.1"), time.Now()); err != nil {
			t.Fatalf("%s: the cookie sent back does not verify with the current secret: %v (%q)", name, err, sc)
		}
		if string(tk.UID) != wantUID || string(tk.Data) != wantData {
			t.Errorf("%s: cookie carries %q %q", name, tk.UID, tk.Data)
		}
		if _, err := base64.StdEncoding.DecodeString(val); err != nil {
			t.Errorf("%s: cookie value %q is not base64", name, val)
		}
	}
	// Past the refresh point (half of 2h): a fresh ticket comes back.
	a := do(t, addr, "GET", "/auth", "Cookie: auth_tkt="+sign("alice", "t", "d!x", "127.0.0.1", now.Add(-90*time.Minute)))
	check("refresh", a, "alice", "d!x")
	// Signed with the old secret: re-signed.
	a = do(t, addr, "GET", "/auth", "Cookie: auth_tkt="+signer(t, verifier.Options{Secret: []byte("older")})("olga", "", "", "127.0.0.1", now))
	check("old secret", a, "olga", "")
	// From the URL: used and handed back as a cookie.
	raw := strings.ReplaceAll(string(v.Sign(nil, []byte("uma"), nil, []byte("u"), netip.MustParseAddr("127.0.0.1"), now)), "!", "%21")
	a = do(t, addr, "GET", "/auth", "X-Original-URL: https://app.example.com/p?auth_tkt="+raw, "Cookie: auth_tkt="+sign("alice", "", "", "127.0.0.1", now))
	check("url ticket", a, "uma", "u")
	// A bad URL ticket falls back to the cookie, and sets nothing.
	a = do(t, addr, "GET", "/auth", "X-Original-URL: https://app.example.com/p?auth_tkt=bad", "Cookie: auth_tkt="+sign("alice", "", "", "127.0.0.1", now))
	if a.status != 200 || a.header.Get("X-Remote-User") != "alice" || a.header.Get("Set-Cookie") != "" {
		t.Errorf("bad URL ticket, good cookie: %d %q %q", a.status, a.header.Get("X-Remote-User"), a.header.Get("Set-Cookie"))
	}
	// A fresh ticket sends no cookie.
	a = do(t, addr, "GET", "/auth", "Cookie: auth_tkt="+sign("alice", "", "", "127.0.0.1", now))
	if a.status != 200 || a.header.Get("Set-Cookie") != "" {
		t.Errorf("fresh ticket: %d Set-Cookie %q", a.status, a.header.Get("Set-Cookie"))
	}
}

func TestClientIP(t *testing.T) {
	sign := signer(t, verifier.Options{})
	now := time.Now()
	f := func(config string, headers []string, ticketIP string, want int) {
		t.Helper()
		addr, _, _ := startServer(t, baseConfig+config)
		a := do(t, addr, "GET", "/auth", append(headers, "Cookie: auth_tkt="+sign("u", "", "", ticketIP, now))...)
		if a.status != want {
			t.Errorf("%s %q, ticket for %s: %d, want %d", config, headers, ticketIP, a.status, want)
		}
	}
	f("", nil, "127.0.0.1", 200)
	f("", []string{"X-Real-IP: 192.0.2.7"}, "192.0.2.7", 200)
	f("", []string{"X-Real-IP: 192.0.2.7"}, "127.0.0.1", 401)
	f("", []string{"X-Real-IP: ::ffff:192.0.2.7"}, "192.0.2.7", 200)
	f("", []string{"X-Real-IP: not-an-ip"}, "127.0.0.1", 401)
	// The loopback peer is not trusted: its header is ignored.
	f("[client_ip]\ntrusted_proxies = [\"10.0.0.0/8\"]\n", []string{"X-Real-IP: 192.0.2.7"}, "192.0.2.7", 401)
	f("[client_ip]\ntrusted_proxies = [\"10.0.0.0/8\"]\n", []string{"X-Real-IP: 192.0.2.7"}, "127.0.0.1", 200)
	xff := "[client_ip]\nheader = \"X-Forwarded-For\"\ntrusted_proxies = [\"127.0.0.0/8\", \"10.0.0.0/8\"]\n"
	f(xff, []string{"X-Forwarded-For: 198.51.100.1, 192.0.2.7, 10.0.0.5"}, "192.0.2.7", 200)    // rightmost untrusted
	f(xff, []string{"X-Forwarded-For: 198.51.100.1, 192.0.2.7, 10.0.0.5"}, "198.51.100.1", 401) // the forgeable one
	f(xff, []string{"X-Forwarded-For: 10.0.0.9, 10.0.0.5"}, "10.0.0.9", 200)                    // all trusted: the leftmost
	f(xff, []string{"X-Forwarded-For: 192.0.2.7, junk"}, "192.0.2.7", 401)
	f(xff, []string{"X-Real-IP: 192.0.2.7"}, "127.0.0.1", 200) // the other header is not read
	f("[client_ip]\nheader = \"\"\n", []string{"X-Real-IP: 192.0.2.7"}, "127.0.0.1", 200)
	// Header names in any case: the handler looks them up by fasthttp's
	// canonical form.
	f("", []string{"x-real-ip: 192.0.2.7"}, "192.0.2.7", 200)
	f(xff, []string{"X-FORWARDED-FOR: 192.0.2.7"}, "192.0.2.7", 200)
}

// The handler's request header names must be the form fasthttp stores,
// or PeekCanonical never finds them.
func TestRequestHeaderNamesCanonical(t *testing.T) {
	for _, k := range [][]byte{headerXOriginalURL, headerXOriginalURI, headerXForwardedURI, headerXForwardedProto, headerXForwardedHost, headerXOriginalMethod, headerXForwardedMethod} {
		if c := fasthttp.AppendNormalizedHeaderKeyBytes(nil, k); string(c) != string(k) {
			t.Errorf("%q is not canonical: fasthttp stores %q", k, c)
		}
	}
	for _, h := range []string{"X-Real-IP", "X-Forwarded-For"} {
		cfg, err := ParseConfig([]byte(baseConfig+"[client_ip]\nheader = \""+h+"\"\n"), "t.toml")
		if err != nil {
			t.Fatal(err)
		}
		s := newServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics())
		s.load(cfg)
		if got, want := string(s.snap.Load().header), string(fasthttp.AppendNormalizedHeaderKey(nil, h)); got != want {
			t.Errorf("client IP header %s is looked up as %q, want %q", h, got, want)
		}
	}
}

func TestGuest(t *testing.T) {
	now := time.Now()
	sign := signer(t, verifier.Options{})
	f := func(guest string, headers []string, wantStatus int, wantUser string, wantCookie bool) {
		t.Helper()
		addr, _, _ := startServer(t, baseConfig+"[guest]\n"+guest)
		a := do(t, addr, "GET", "/auth", headers...)
		u := a.header.Get("X-Remote-User")
		match := u == wantUser
		if strings.Contains(wantUser, "*") {
			pre, post, _ := strings.Cut(wantUser, "*")
			match = strings.HasPrefix(u, pre) && strings.HasSuffix(u, post) && len(u) > len(pre)+len(post)
		}
		if a.status != wantStatus || !match || (a.header.Get("Set-Cookie") != "") != wantCookie {
			t.Errorf("guest %q %q: %d user %q cookie %q; want %d %q cookie %v", guest, headers, a.status, u, a.header.Get("Set-Cookie"), wantStatus, wantUser, wantCookie)
		}
	}
	expired := []string{"Cookie: auth_tkt=" + sign("alice", "", "", "127.0.0.1", now.Add(-3*time.Hour))}
	f("login = true\n", nil, 200, "guest", false)
	f("login = true\nuser = \"visitor\"\n", nil, 200, "visitor", false)
	f("login = true\nuser = \"g-%U\"\n", nil, 200, "g-*", false)
	f("login = true\nuser = \"g-%8U-x\"\n", nil, 200, "g-*-x", false)
	f("login = true\ncookie = true\n", nil, 200, "guest", true)
	f("login = true\n", expired, 401, "", true)                       // no fallback: expired is expired (cookie cleared)
	f("login = true\nfallback = true\n", expired, 200, "guest", true) // the expired cookie is cleared, as Apache does
	f("login = false\nfallback = true\n", nil, 401, "", false)
	// TKTAuthGuestEmpty: an empty user name, over guest_user; the header
	// is there, empty, as for a ticket with an empty uid.
	f("login = true\nempty = true\n", nil, 200, "", false)
	f("login = true\nuser = \"visitor\"\nempty = true\n", nil, 200, "", false)
	f("login = true\nfallback = true\nempty = true\n", expired, 200, "", true)
	f("login = true\nuser = \"g-%0U\"\n", nil, 200, "g-*", false)
	// An empty guest's ticket (guest_cookie), as Apache signs it: a ticket
	// with an empty uid, which is a valid ticket.
	eaddr, _, _ := startServer(t, baseConfig+"[guest]\nlogin = true\nempty = true\ncookie = true\n")
	ea := do(t, eaddr, "GET", "/auth")
	ev, _, _ := strings.Cut(strings.TrimPrefix(ea.header.Get("Set-Cookie"), "auth_tkt="), ";")
	var etk verifier.Ticket
	ever, _ := verifier.New(verifier.Options{Secret: []byte(testSecret)})
	if err := ever.Verify(&etk, []byte(ev), netip.MustParseAddr("127.0.0.1"), now); ea.status != 200 || err != nil || len(etk.UID) != 0 {
		t.Errorf("empty guest with guest_cookie: %d, Set-Cookie %q (%v, uid %q); want a ticket for an empty uid", ea.status, ea.header.Get("Set-Cookie"), err, etk.UID)
	}
	if ea := do(t, eaddr, "GET", "/auth/admin", "Cookie: auth_tkt="+ev); ea.status != 403 {
		t.Errorf("empty guest's ticket at a token policy: %d, want 403", ea.status)
	}
	// A guest has no tokens.
	addr, _, _ := startServer(t, baseConfig+"[guest]\nlogin = true\n")
	if a := do(t, addr, "GET", "/auth/admin"); a.status != 403 {
		t.Errorf("guest on a token policy: %d, want 403", a.status)
	}
	// %8U is eight characters of a UUID.
	a := do(t, addr, "GET", "/auth")
	_ = a
	if got := string(guestUID(nil, "g-%8U-x")); len(got) != len("g-12345678-x") {
		t.Errorf("guestUID(%%8U) = %q", got)
	}
	if got := string(guestUID(nil, "%U")); len(got) != 36 || got[14] != '4' {
		t.Errorf("guestUID(%%U) = %q, want a v4 UUID", got)
	}
	// As mod_auth_tkt: %0U and %NU beyond 36 are the whole UUID; the
	// first %NU found is replaced, wherever it is; anything else stays.
	for _, c := range []struct {
		user      string
		pre, post string
		n         int
	}{
		{"g-%0U", "g-", "", 36},
		{"g-%1U", "g-", "", 1},
		{"g-%36U", "g-", "", 36},
		{"g-%37U", "g-", "", 36},
		{"g-%50U-x", "g-", "-x", 36},
		{"g-%99999999999999999999U", "g-", "", 36},
		{"50%-%4U%2U", "50%-", "%2U", 4},
		{"%%8U", "%", "", 8},
		{"guest-12U", "guest-12U", "", 0},
		{"100%", "100%", "", 0},
		{"", "", "", 0},
	} {
		got := string(guestUID([]byte("x"), c.user))
		mid, ok := strings.CutPrefix(got, "x"+c.pre)
		if ok {
			mid, ok = strings.CutSuffix(mid, c.post)
		}
		if !ok || len(mid) != c.n || strings.Trim(mid, "0123456789abcdef-") != "" {
			t.Errorf("guestUID(%q) = %q, want %q, %d UUID characters, %q", c.user, got, c.pre, c.n, c.post)
		}
	}
}

func TestRedirectForms(t *testing.T) {
	f := func(redirect string, headers []string, want string) {
		t.Helper()
		addr, _, _ := startServer(t, "[ticket]\nsecret = \"s\"\n[redirect]\n"+redirect)
		a := do(t, addr, "GET", "/auth", headers...)
		got := a.header.Get("Location")
		if sc := a.header.Get("Set-Cookie"); sc != "" {
			got += " | " + sc
		}
		if a.status != 401 || got != want {
			t.Errorf("%q %q:\n got %d %q\nwant 401 %q", redirect, headers, a.status, got, want)
		}
	}
	u := "X-Original-URL: http://app.test:8080/a/b"
	f(`login_url = "https://l.test/in"`, []string{u}, "https://l.test/in?back=http%3a%2f%2fapp.test%3a8080%2fa%2fb")
	f(`login_url = "https://l.test/in?app=1"`, []string{u}, "https://l.test/in?app=1&back=http%3a%2f%2fapp.test%3a8080%2fa%2fb")
	f(`login_url = "/in"`, []string{u}, "http://app.test:8080/in?back=http%3a%2f%2fapp.test%3a8080%2fa%2fb")
	f("login_url = \"/in\"\nback_arg_name = \"return\"", []string{u}, "http://app.test:8080/in?return=http%3a%2f%2fapp.test%3a8080%2fa%2fb")
	f("login_url = \"/in\"\nback_arg_name = \"None\"", []string{u}, "http://app.test:8080/in")
	f("login_url = \"/in\"\nback_cookie_name = \"back\"", []string{u}, "http://app.test:8080/in | back=http%3a%2f%2fapp.test%3a8080%2fa%2fb; path=/")
	f("", []string{u}, "") // no login URL: a bare 401
	// Query stripping and escaping as query_strip + ap_escape_path_segment.
	f(`login_url = "https://l.test/in"`, []string{"X-Original-URL: https://app.test/%7Ex/p?a&b==c;auth_tkt=1&&d=%41#frag"},
		"https://l.test/in?back=https%3a%2f%2fapp.test%2f~x%2fp%3fa%3d%26b%3dc%26d%3d%2541")
	// A leading separator leaves one empty pair in Apache's query_strip.
	f(`login_url = "https://l.test/in"`, []string{"X-Original-URL: https://app.test/p?&a=1&&b"}, "https://l.test/in?back=https%3a%2f%2fapp.test%2fp%3f%3d%26a%3d1%26b%3d")
	f(`login_url = "https://l.test/in"`, []string{"X-Original-URL: https://app.test/p?;"}, "https://l.test/in?back=https%3a%2f%2fapp.test%2fp%3f%3d")
	// Without X-Original-URL: the X-Forwarded-* family.
	f(`login_url = "https://l.test/in"`, []string{"X-Forwarded-Proto: https", "X-Forwarded-Host: fw.test", "X-Forwarded-Uri: /q?z=1"},
		"https://l.test/in?back=https%3a%2f%2ffw.test%2fq%3fz%3d1")
	f(`login_url = "https://l.test/in"`, []string{"X-Original-URI: /q"}, "https://l.test/in?back=http%3a%2f%2fgate%2fq")
	f(`login_url = "https://l.test/in"`, []string{"x-forwarded-proto: https", "X-FORWARDED-HOST: fw.test", "x-Forwarded-uri: /q"},
		"https://l.test/in?back=https%3a%2f%2ffw.test%2fq")
	f(`login_url = "https://l.test/in"`, []string{"x-original-url: https://app.test/p"}, "https://l.test/in?back=https%3a%2f%2fapp.test%2fp")
	// Only http and https reach Location; a host that is no host is left out.
	f(`login_url = "/in"`, []string{"X-Forwarded-Proto: javascript", "X-Forwarded-Host: app.test", "X-Forwarded-Uri: /p"}, "http://app.test/in?back=http%3a%2f%2fapp.test%2fp")
	f(`login_url = "/in"`, []string{"X-Forwarded-Proto: HTTPS,http", "X-Forwarded-Host: app.test", "X-Forwarded-Uri: /p"}, "https://app.test/in?back=https%3a%2f%2fapp.test%2fp")
	f(`login_url = "/in"`, []string{"X-Original-URL: ht\ttp://a\tb/c"}, "/in?back=%2fc")
	f(`login_url = "/in"`, []string{"X-Original-URL: javascript://app.test/c"}, "http://app.test/in?back=http%3a%2f%2fapp.test%2fc")
	// A huge URL: the back URL loses its query, then itself.
	long := strings.Repeat("x", 3000)
	f(`login_url = "https://l.test/in"`, []string{"X-Original-URL: https://app.test/p?q=" + long}, "https://l.test/in?back=https%3a%2f%2fapp.test%2fp")
	f(`login_url = "https://l.test/in"`, []string{"X-Original-URL: https://app.test/" + long}, "https://l.test/in")
	// Header injection through the URL is escaped away.
	f(`login_url = "https://l.test/in"`, []string{"X-Original-URL: https://app.test/a%0d%0aSet-Cookie:%20x=1"},
		"https://l.test/in?back=https%3a%2f%2fapp.test%2fa%0d%0aSet-Cookie%3a%20x%3d1")
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[ticket]\nsecret = \"secret\"\n"), 0o600)
	runCLI := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := run(args, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, _ := runCLI("ticket", "-config", cfg, "-uid", "alice", "-tokens", "admin, editor", "-data", "Alice Smith", "-ts", "1700000000", "-raw")
	if code != 0 || out != "33cbb9028e5cfedac1af4e2c2db50b246553f100alice!admin,editor!Alice Smith\n" {
		t.Errorf("ticket -raw: %d %q", code, out)
	}
	cfg2 := filepath.Join(dir, "c2.toml")
	os.WriteFile(cfg2, []byte("[ticket]\nsecret = \"cb3e1d39-98eb-4161-8bbd-f4e706999b0e\"\n"), 0o600)
	code, out, _ = runCLI("ticket", "-config", cfg2, "-uid", "foobar", "-ip", "192.168.1.1", "-ts", "1108811260")
	if want := base64.StdEncoding.EncodeToString([]byte("b624ef86959b53bd80975dcc6d6a9b7f42171dfcfoobar!")) + "\n"; code != 0 || out != want {
		t.Errorf("ticket: %d %q, want %q", code, out, want)
	}
	for _, bad := range [][]string{
		{"ticket", "-config", cfg},
		{"ticket", "-config", cfg, "-uid", "a!b"},
		{"ticket", "-config", cfg, "-uid", "a", "-ip", "::1"},
		{"ticket", "-config", cfg, "-uid", "a", "-ts", "-5"},
		{"ticket", "-config", cfg, "-uid", "a", "-data", "x\ny"},
	} {
		if code, _, stderr := runCLI(bad...); code == 0 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want failure with a message", bad, code, stderr)
		}
	}
	if code, out, _ := runCLI("-check", "-config", cfg); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("-check on a good config: %d %q", code, out)
	}
	badCfg := filepath.Join(dir, "bad.toml")
	os.WriteFile(badCfg, []byte("[ticket]\nsecret = \"s\"\ndigest_type = \"MD4\"\ntimout = 5\n"), 0o600)
	if code, _, stderr := runCLI("-check", "-config", badCfg); code != 1 || !strings.Contains(stderr, "digest_type") || !strings.Contains(stderr, "timout") {
		t.Errorf("-check on a bad config: %d %q; want 1 and both problems named", code, stderr)
	}
	if code, out, _ := runCLI("-version"); code != 0 || !strings.HasPrefix(out, "tktgate ") {
		t.Errorf("-version: %d %q", code, out)
	}
	// The shipped demo config is valid.
	if code, out, stderr := runCLI("-check", "-config", "config.toml"); code != 0 {
		t.Errorf("shipped config.toml: %d %q %q", code, out, stderr)
	}
}

func TestOpsEndpoints(t *testing.T) {
	addr, _, _ := startServer(t, baseConfig)
	if a := do(t, addr, "GET", "/healthz"); a.status != 200 {
		t.Errorf("/healthz: %d", a.status)
	}
	if a := do(t, addr, "GET", "/readyz"); a.status != 200 {
		t.Errorf("/readyz: %d", a.status)
	}
	do(t, addr, "GET", "/auth")
	do(t, addr, "GET", "/auth/nosuch")
	a := do(t, addr, "GET", "/metrics")
	for _, want := range []string{
		`tktgate_auth_requests_total{policy="",status="401",reason="no_ticket"} 1`,
		`tktgate_unknown_policy_requests_total 1`,
		`tktgate_auth_duration_seconds_count{policy=""} 1`,
		`tktgate_build_info{`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, a.body)
		}
	}
	if a := do(t, addr, "GET", "/nothing"); a.status != 404 {
		t.Errorf("/nothing: %d", a.status)
	}
	// Every answer is counted; the 1st, 17th and 33rd are timed.
	for range 32 {
		do(t, addr, "GET", "/auth")
	}
	a = do(t, addr, "GET", "/metrics")
	for _, want := range []string{
		`tktgate_auth_requests_total{policy="",status="401",reason="no_ticket"} 33`,
		`tktgate_auth_duration_seconds_count{policy=""} 3`,
		`tktgate_auth_duration_seconds_bucket{policy="",le="+Inf"} 3`,
		"then every 16th.",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, a.body)
		}
	}
}

var _ = fmt.Sprint

// A 200 carries the three identity headers even when empty, so proxies
// that copy them overwrite what the client sent.
func TestEmptyIdentityHeadersPresent(t *testing.T) {
	addr, _, _ := startServer(t, baseConfig)
	sign := signer(t, verifier.Options{})
	a := do(t, addr, "GET", "/auth", "Cookie: auth_tkt="+sign("alice", "", "", "127.0.0.1", time.Now()))
	for _, h := range []string{"X-Remote-User-Tokens", "X-Remote-User-Data"} {
		if v, ok := a.header[h]; a.status != 200 || !ok || len(v) != 1 || v[0] != "" {
			t.Errorf("%s: %d %q present=%v, want one empty value", h, a.status, v, ok)
		}
	}
}

func TestMetricsListen(t *testing.T) {
	addr, _, _, maddr := startServer2(t, baseConfig+"\n")
	if maddr != "" {
		t.Fatalf("metrics address %q without metrics_listen", maddr)
	}
	_ = addr
	addr, _, logs, maddr := startServer2(t, "metrics_listen = \"127.0.0.1:9999\"\n"+baseConfig)
	if maddr == "" {
		t.Fatal("no metrics listener")
	}
	do(t, addr, "GET", "/auth/admin")
	if a := do(t, addr, "GET", "/metrics"); a.status != 404 {
		t.Errorf("/metrics on the main listener with metrics_listen set: %d, want 404", a.status)
	}
	a := do(t, maddr, "GET", "/metrics")
	if a.status != 200 || !strings.Contains(a.body, `tktgate_auth_requests_total{policy="admin",status="401",reason="no_ticket"} 1`) {
		t.Errorf("/metrics on metrics_listen: %d\n%s", a.status, a.body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if a := do(t, maddr, "GET", p); a.status != 200 {
			t.Errorf("%s on metrics_listen: %d", p, a.status)
		}
	}
	if a := do(t, maddr, "GET", "/auth"); a.status != 404 {
		t.Errorf("/auth on metrics_listen: %d, want 404", a.status)
	}
	// Debug logging is on in tests: the decision is logged, with the
	// policy and reason, as JSON.
	if !strings.Contains(logs.String(), `"msg":"auth decision","policy":"admin","reason":"no_ticket"`) {
		t.Errorf("no debug decision line:\n%s", logs.String())
	}
}

func TestLogRedaction(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := redactQuoted(in); got != want {
			t.Errorf("redactQuoted(%q) = %q, want %q", in, got, want)
		}
	}
	f(`error when reading request headers: invalid header value "auth_tkt=MWU3\x01": buffer size=150`, `error when reading request headers: invalid header value "…": buffer size=150`)
	f(`a "b\"c" d "e"`, `a "…" d "…"`)
	f(`unterminated "abc`, `unterminated "…"`)
	f(`none`, `none`)
	g := func(in, want string) {
		t.Helper()
		if got := policyForLog([]byte(in)); got != want {
			t.Errorf("policyForLog(%q) = %q, want %q", in, got, want)
		}
	}
	g("admin", "admin")
	g("4f2a561d6d2d22da52488412a869eec66b0cd4dca", "4f2a561d6d2d22da52488412… (41 bytes)")
	g("x!y", "(not a policy name, 3 bytes)")
}

// The README's quick start: a ticket minted by the ticket subcommand with
// a config is accepted by /auth served from the same config.
func TestTicketCommandRoundTrip(t *testing.T) {
	addr, _, _ := startServer(t, baseConfig)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(baseConfig), 0o600)
	var out, errb strings.Builder
	if code := run([]string{"ticket", "-config", cfg, "-uid", "alice", "-tokens", "admin , editor", "-data", "Alice Smith"}, &out, &errb); code != 0 {
		t.Fatalf("ticket: %d %s", code, errb.String())
	}
	a := do(t, addr, "GET", "/auth/admin", "Cookie: auth_tkt="+strings.TrimSpace(out.String()))
	if a.status != 200 || a.header.Get("X-Remote-User") != "alice" || a.header.Get("X-Remote-User-Tokens") != "admin,editor" || a.header.Get("X-Remote-User-Data") != "Alice Smith" {
		t.Errorf("minted ticket at /auth/admin: %d %q %q %q", a.status, a.header.Get("X-Remote-User"), a.header.Get("X-Remote-User-Tokens"), a.header.Get("X-Remote-User-Data"))
	}
}

// TestRouting: /auth and /auth/NAME are routed on the normalised path, so
// a query, escapes, dot segments or an absolute URL reach the same policy.
func TestRouting(t *testing.T) {
	addr, _, _ := startServer(t, baseConfig)
	sign := signer(t, verifier.Options{})
	bob := "Cookie: auth_tkt=" + sign("bob", "editor", "", "127.0.0.1", time.Now()) // not an admin
	for _, c := range []struct {
		target string
		want   int
	}{
		{"/auth", 200},
		{"/auth/admin", 403},
		{"/auth/nosuch", 500},
		{"/auth/", 500},
		{"/auth?x=1", 200},
		{"/%61uth", 200},
		{"//auth", 200},
		{"/auth/adm%69n", 403},
		{"/auth/x/../admin", 403},
		{"/auth/admin?x", 403},
		{"http://gate/auth/admin", 403},
		{"/auth/admin/", 500},
		{"/authx", 404},
	} {
		if a := do(t, addr, "GET", c.target, bob); a.status != c.want {
			t.Errorf("GET %s: %d, want %d", c.target, a.status, c.want)
		}
	}
}
