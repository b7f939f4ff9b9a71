package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

func TestAppendPageWithout(t *testing.T) {
	f := func(scheme, host, uri, want string) {
		t.Helper()
		if got := string(appendPageWithout(nil, []byte(scheme), []byte(host), []byte(uri), []byte("auth_tkt"))); got != want {
			t.Errorf("%s %s %q: %q; want %q", scheme, host, uri, got, want)
		}
	}
	f("https", "app.test", "/p?auth_tkt=T", "https://app.test/p")
	f("https", "app.test", "/p?a=1&auth_tkt=T&b=2", "https://app.test/p?a=1&b=2")
	f("https", "app.test", "/p?auth_tkt=T&a=%41+b&auth_tkt==U", "https://app.test/p?a=%41+b")
	f("http", "app.test:8080", "/a%20b/?x&auth_tkt", "http://app.test:8080/a%20b/?x")
	f("https", "app.test", "/p?xauth_tkt=1&auth_tkt_x=2;auth_tkt=3", "https://app.test/p?xauth_tkt=1&auth_tkt_x=2;auth_tkt=3") // ';' does not split, as in get_url_ticket
	f("https", "app.test", "", "https://app.test/")
	f("https", "app.test", "?auth_tkt=T", "https://app.test/")
	// What the browser sent stays; what a header or URL cannot hold is escaped.
	f("https", "app.test", "/a\x01b\"c<d> é#f?q=\x7f", "https://app.test/a%01b%22c%3Cd%3E%20%C3%A9%23f?q=%7F")
	// Without a host the URL is relative, and never protocol-relative.
	f("http", "", "/p?auth_tkt=T&a=1", "/p?a=1")
	f("http", "", "//evil.test/p?auth_tkt=T", "/%2Fevil.test/p")
	f("http", "", "/\\evil.test/p", "/%5Cevil.test/p")
}

func TestDomainMatch(t *testing.T) {
	f := func(host, domain string, want bool) {
		t.Helper()
		if got := domainMatch([]byte(host), domain); got != want {
			t.Errorf("domainMatch(%q, %q) = %v; want %v", host, domain, got, want)
		}
	}
	f("example.com", "example.com", true)
	f("www.example.com", "example.com", true)
	f("www.example.com", ".example.com", true)
	f("WWW.Example.COM:8443", "example.com", true)
	f("badexample.com", "example.com", false)
	f("example.com.evil.test", "example.com", false)
	f("other.test", "example.com", false)
	f("com", "example.com", false)
	f("[::1]:80", "example.com", false)
}

// url_ticket_redirect: a GET with a URL ticket gets the ticket as a
// cookie and a redirect to the same page without it; where the browser
// would drop that cookie, or the request is no GET or HEAD, the page is
// served as mod_auth_tkt serves it.
func TestURLTicketRedirect(t *testing.T) {
	v, _ := verifier.New(verifier.Options{Secret: []byte(testSecret)})
	now := time.Now()
	tkt := func(uid string, age time.Duration) string {
		raw := v.Sign(nil, []byte(uid), nil, nil, netip.MustParseAddr("127.0.0.1"), now.Add(-age))
		return strings.ReplaceAll(string(raw), "!", "%21")
	}
	config := strings.Replace(baseConfig, `timeout = "2h"`, "timeout = \"2h\"\nurl_ticket_redirect = true", 1) +
		"[policy.secure]\ncookie_secure = true\n[policy.other]\ndomain = \"other.test\"\n[policy.off]\nurl_ticket_redirect = false\n"
	addr, _, _ := startServer(t, config)
	page := "https://app.example.com/docs/a%20b?x=1&auth_tkt="
	clean := "https://app.example.com/docs/a%20b?x=1&y=2"

	f := func(name, method, path, origURL string, wantStatus int, wantLocation string) {
		t.Helper()
		a := do(t, addr, method, path, "X-Original-URL: "+origURL, "X-Original-Method: "+method)
		if a.status != wantStatus || a.header.Get("Location") != wantLocation {
			t.Errorf("%s: status %d, Location %q; want %d, %q", name, a.status, a.header.Get("Location"), wantStatus, wantLocation)
		}
		c := a.header.Get("Set-Cookie")
		if val, _, _ := strings.Cut(strings.TrimPrefix(c, "auth_tkt="), ";"); !strings.HasPrefix(c, "auth_tkt=") || val == "" {
			t.Errorf("%s: Set-Cookie %q; want the ticket", name, c)
		}
		if u := a.header.Get("X-Remote-User"); (wantStatus == 200) != (u == "uma") {
			t.Errorf("%s: status %d with X-Remote-User %q", name, a.status, u)
		}
	}
	f("GET", "GET", "/auth", page+tkt("uma", 0)+"&y=2", 401, clean)
	f("HEAD", "HEAD", "/auth", page+tkt("uma", 0)+"&y=2", 401, clean)
	f("for Caddy and Traefik", "GET", "/auth?redirect=1", page+tkt("uma", 0)+"&y=2", 302, clean)
	f("past its refresh point", "GET", "/auth", page+tkt("uma", 90*time.Minute)+"&y=2", 401, clean)
	f("POST: the body would be lost", "POST", "/auth", page+tkt("uma", 0), 200, "")
	f("cookie_secure over http: the cookie would be dropped", "GET", "/auth/secure", "http://app.example.com/p?auth_tkt="+tkt("uma", 0), 200, "")
	f("cookie_secure over https", "GET", "/auth/secure", "https://app.example.com/p?auth_tkt="+tkt("uma", 0), 401, "https://app.example.com/p")
	f("a domain the host is not in: the cookie would be dropped", "GET", "/auth/other", page+tkt("uma", 0), 200, "")
	f("a host in the domain", "GET", "/auth/other", "https://www.other.test/p?auth_tkt="+tkt("uma", 0), 401, "https://www.other.test/p")
	f("off", "GET", "/auth/off", page+tkt("uma", 0), 200, "")

	m := do(t, addr, "GET", "/metrics")
	if want := `tktgate_auth_requests_total{policy="",status="401",reason="url_ticket"} 4`; !strings.Contains(m.body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	// A ticket too long for a cookie stays in the URL.
	long := v.Sign(nil, []byte("uma"), nil, []byte(strings.Repeat("d", 3500)), netip.MustParseAddr("127.0.0.1"), now)
	f("too long for a cookie", "GET", "/auth", "https://app.example.com/p?auth_tkt="+strings.ReplaceAll(string(long), "!", "%21"), 200, "")
}
