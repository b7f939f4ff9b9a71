package main

import (
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
