package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// The findings of the adversarial review (issue 16) that the server
// answers: each test here failed before its fix.

// An expired ticket with back_cookie_name: the clearing cookie and the
// back cookie. nginx's $upstream_http_set_cookie holds one Set-Cookie
// line, so for nginx the back cookie comes in X-Back-Cookie; with
// ?redirect=1 the answer goes to the browser whole, every cookie a
// Set-Cookie line.
func TestBackCookieBesideClearingCookie(t *testing.T) {
	sign := signer(t, verifier.Options{})
	addr, _, _ := startServer(t, baseConfig+"[policy.bk]\nback_cookie_name = \"bk\"\n")
	expired := "Cookie: auth_tkt=" + sign("alice", "", "", "127.0.0.1", time.Now().Add(-3*time.Hour))
	url := "X-Original-URL: https://app.test/p"
	const back = "bk=https%3a%2f%2fapp.test%2fp; path=/"

	a := do(t, addr, "GET", "/auth/bk", expired, url)
	sc := a.header.Values("Set-Cookie")
	if a.status != 401 || len(sc) != 1 || !strings.HasPrefix(sc[0], "auth_tkt=; ") || a.header.Get("X-Back-Cookie") != back {
		t.Errorf("expired, nginx mode: %d Set-Cookie %q X-Back-Cookie %q; want 401, the clearing cookie alone, X-Back-Cookie %q",
			a.status, sc, a.header.Get("X-Back-Cookie"), back)
	}

	a = do(t, addr, "GET", "/auth/bk?redirect=1", expired, url)
	sc = a.header.Values("Set-Cookie")
	if a.status != 302 || len(sc) != 2 || !strings.HasPrefix(sc[0], "auth_tkt=; ") || sc[1] != back || a.header.Get("X-Back-Cookie") != "" {
		t.Errorf("expired, ?redirect=1: %d Set-Cookie %q X-Back-Cookie %q; want 302 with both as Set-Cookie",
			a.status, sc, a.header.Get("X-Back-Cookie"))
	}

	// No ticket: the back cookie is the only cookie, in Set-Cookie as
	// before, and not twice.
	a = do(t, addr, "GET", "/auth/bk", url)
	if sc = a.header.Values("Set-Cookie"); a.status != 401 || len(sc) != 1 || sc[0] != back || a.header.Get("X-Back-Cookie") != "" {
		t.Errorf("no ticket: %d Set-Cookie %q X-Back-Cookie %q; want 401 Set-Cookie %q alone", a.status, sc, a.header.Get("X-Back-Cookie"), back)
	}
}

// Repeated X-Forwarded-For lines are one list (RFC 9110, 5.3): behind a
// proxy that appends its own line (HAProxy's option forwardfor), the
// rightmost untrusted address is on the last line, not the first.
func TestClientIPRepeatedLines(t *testing.T) {
	sign := signer(t, verifier.Options{})
	now := time.Now()
	xff := "[client_ip]\nheader = \"X-Forwarded-For\"\ntrusted_proxies = [\"127.0.0.0/8\", \"10.0.0.0/8\"]\n"
	addrXFF, _, _ := startServer(t, baseConfig+xff)
	addrReal, _, _ := startServer(t, baseConfig)
	f := func(addr string, headers []string, ticketIP string, want int) {
		t.Helper()
		a := do(t, addr, "GET", "/auth", append(headers, "Cookie: auth_tkt="+sign("u", "", "", ticketIP, now))...)
		if a.status != want {
			t.Errorf("%q, ticket for %s: %d, want %d", headers, ticketIP, a.status, want)
		}
	}
	stolen := []string{"X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: 198.51.100.6"}
	f(addrXFF, stolen, "192.0.2.1", 401) // the victim's address, from the client's own line
	f(addrXFF, stolen, "198.51.100.6", 200)
	f(addrXFF, []string{"X-Forwarded-For: 192.0.2.1, 198.51.100.6", "X-Forwarded-For: 10.0.0.5"}, "198.51.100.6", 200)
	f(addrXFF, []string{"X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: 10.0.0.5, 10.0.0.6"}, "192.0.2.1", 200)
	f(addrXFF, []string{"X-Forwarded-For: 10.0.0.9", "X-Forwarded-For: 10.0.0.5"}, "10.0.0.9", 200) // all trusted: the leftmost
	f(addrXFF, []string{"X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: junk"}, "192.0.2.1", 401)
	f(addrXFF, []string{"X-Forwarded-For: ", "X-Forwarded-For: 10.0.0.5"}, "10.0.0.5", 200)
	f(addrXFF, []string{"X-Forwarded-For: "}, "127.0.0.1", 200) // nothing: the peer
	// X-Real-IP is one address that the proxy sets: its first line.
	f(addrReal, []string{"X-Real-IP: 192.0.2.1", "X-Real-IP: 198.51.100.6"}, "192.0.2.1", 200)
	f(addrReal, []string{"X-Real-IP: 192.0.2.1", "X-Real-IP: 198.51.100.6"}, "198.51.100.6", 401)
}

// An unspecified client address from a trusted proxy is refused: tickets
// for ignore_ip are signed for 0.0.0.0, so taking it at face value would
// let them pass a policy that checks the address.
func TestUnspecifiedClientIP(t *testing.T) {
	signAny := signer(t, verifier.Options{IgnoreIP: true})
	sign := signer(t, verifier.Options{})
	now := time.Now()
	addr, _, logs := startServer(t, baseConfig)
	for _, ip := range []string{"0.0.0.0", "::", "::ffff:0.0.0.0", "0:0:0:0:0:0:0:0"} {
		for _, tkt := range []string{signAny("u", "", "", "0.0.0.0", now), sign("u", "", "", "127.0.0.1", now)} {
			a := do(t, addr, "GET", "/auth", "X-Real-IP: "+ip, "Cookie: auth_tkt="+tkt, "X-Original-URL: https://app.test/p")
			if a.status != 401 || !strings.HasPrefix(a.header.Get("Location"), "https://login.example.com/login?back=") {
				t.Errorf("X-Real-IP %s: %d Location %q; want 401 to the login URL", ip, a.status, a.header.Get("Location"))
			}
		}
	}
	if !strings.Contains(logs.String(), "unspecified client address") {
		t.Errorf("no log line for the unspecified address:\n%s", logs)
	}
	m := do(t, addr, "GET", "/metrics")
	if want := `tktgate_auth_requests_total{policy="",status="401",reason="unspecified_ip"} 8`; !strings.Contains(m.body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	// A real address still works, and so does the ignore_ip ticket there.
	if a := do(t, addr, "GET", "/auth", "X-Real-IP: 192.0.2.7", "Cookie: auth_tkt="+sign("u", "", "", "192.0.2.7", now)); a.status != 200 {
		t.Errorf("X-Real-IP 192.0.2.7: %d, want 200", a.status)
	}
}

// A ticket signed with secret_old is accepted and re-signed; when it
// cannot be re-signed (Pyramid's remember() refuses a token such as
// "1x"), the 200 goes without Set-Cookie. It must still never be cached:
// once secret_old is removed, the next request must be refused, not a
// cached approval.
func TestOldSecretNeverCached(t *testing.T) {
	const cfg = `
[ticket]
dialect = "pyramid"
secret = "new-secret"
secret_old = "old-secret"
[cache]
max_age = "60s"
`
	addr, _, _ := startServer(t, cfg)
	sign := func(secret, tokens string) string {
		dv, err := verifier.NewDialect(verifier.Pyramid, verifier.Options{Secret: []byte(secret), Digest: verifier.SHA512, IgnoreIP: true}, verifier.DialectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return string(dv.Sign(nil, []byte("alice"), []byte(tokens), nil, netip.Addr{}, time.Now()))
	}
	f := func(name, tkt string, wantCookie bool, wantAccel string) {
		t.Helper()
		a := do(t, addr, "GET", "/auth", "Cookie: auth_tkt="+tkt)
		if a.status != 200 || (a.header.Get("Set-Cookie") != "") != wantCookie || a.header.Get("X-Accel-Expires") != wantAccel {
			t.Errorf("%s: %d Set-Cookie %q X-Accel-Expires %q Cache-Control %q; want 200, cookie %v, X-Accel-Expires %s",
				name, a.status, a.header.Get("Set-Cookie"), a.header.Get("X-Accel-Expires"), a.header.Get("Cache-Control"), wantCookie, wantAccel)
		}
		if wantAccel == "0" && a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, a.header.Get("Cache-Control"))
		}
	}
	f("current secret", sign("new-secret", "ok"), false, "60")
	f("old secret, re-signed", sign("old-secret", "ok"), true, "0")
	f("old secret, cannot be re-signed", sign("old-secret", "1x"), false, "0")
	m := do(t, addr, "GET", "/metrics")
	if want := `tktgate_auth_requests_total{policy="",status="200",reason="old_secret"} 2`; !strings.Contains(m.body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
}
