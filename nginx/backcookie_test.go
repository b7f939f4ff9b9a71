//go:build unix

package nginx_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// backCookie is the [redirect] part of a tktgate that hands the page to
// come back to in a cookie (TKTAuthBackCookieName) instead of ?back=.
const backCookie = "back_cookie_name = \"back\"\n"

// checkBackCookie: with back_cookie_name, every denial reaches the browser
// with exactly one back cookie for the page asked for, and an expired
// ticket's also with the cookie clearing it: two Set-Cookie lines, where
// nginx's $upstream_http_set_cookie holds one (tktgate sends the back
// cookie in X-Back-Cookie then).
func checkBackCookie(t *testing.T, s site) {
	now := time.Now()
	origin := s.b.origin()
	wantBack := func(t *testing.T, a *answer, target, page string, n int) {
		t.Helper()
		if a.status != 302 || a.header.Get("Location") != origin+target {
			t.Fatalf("status %d, Location %q; want 302 to %s%s", a.status, a.header.Get("Location"), origin, target)
		}
		lines := a.header.Values("Set-Cookie")
		if len(lines) != n {
			t.Errorf("Set-Cookie %q; want %d lines", lines, n)
		}
		var backs int
		for _, c := range (&answer{header: a.header}).cookies() {
			if c.Name == "back" {
				backs++
				if got, err := url.QueryUnescape(c.Value); err != nil || got != origin+page {
					t.Errorf("back cookie %q (%q); want %q", c.Value, got, origin+page)
				}
			}
		}
		if backs != 1 {
			t.Errorf("Set-Cookie %q: %d back cookies; want one", lines, backs)
		}
	}
	t.Run("expired ticket: the clearing and the back cookie", func(t *testing.T) {
		old := s.gate.ticket(t, "alice", "127.0.0.1", "", "", now.Add(-2*time.Hour), false)
		a := s.b.get(t, "/some/page?x=1", cookie(old))
		wantBack(t, a, "/timeout", "/some/page?x=1", 2)
		if c := a.cookie("auth_tkt"); c == nil || c.Value != "" || !(c.Expires.Before(now) || c.MaxAge < 0) {
			t.Errorf("Set-Cookie %q; want auth_tkt cleared", a.header.Values("Set-Cookie"))
		}
	})
	t.Run("no ticket: one back cookie", func(t *testing.T) {
		wantBack(t, s.b.get(t, "/other"), "/login", "/other", 1)
	})
	t.Run("missing token: one back cookie", func(t *testing.T) {
		alice := s.gate.ticket(t, "alice", "127.0.0.1", "", "", now, false)
		wantBack(t, s.b.get(t, "/admin/x", cookie(alice)), "/unauth", "/admin/x", 1)
	})
}

// cookies are every Set-Cookie of the answer.
func (a *answer) cookies() []*http.Cookie {
	return (&http.Response{Header: a.header}).Cookies()
}

// The nginx site, over TCP, a unix socket and cached, with a tktgate
// that sets back_cookie_name.
func TestNginxBackCookie(t *testing.T) {
	t.Parallel()
	for _, variant := range []string{"tktgate-upstream.conf", "tktgate-upstream-unix.conf", "tktgate-auth-cached.conf"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			listen := freeAddr(t)
			upstream, upRepl, cache := "tktgate-upstream.conf", []string{shippedGate, listen}, ""
			switch variant {
			case "tktgate-upstream-unix.conf":
				// A short path: unix socket paths are limited to 107 bytes.
				dir, err := os.MkdirTemp("", "tktgate-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				sock := filepath.Join(dir, "tktgate.sock")
				listen, upstream, upRepl = "unix:"+sock, variant, []string{"/run/tktgate/tktgate.sock", sock}
			case "tktgate-auth-cached.conf":
				cache = filepath.Join(t.TempDir(), "cache")
			}
			g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", backCookie))
			addr := startNginxFiles(t, shippedFiles(t, upstream, upRepl, cache, shippedApp, startApp(t)))
			checkBackCookie(t, site{b: newBrowser(addr, "", ""), gate: g})
		})
	}
}

// caddy/Caddyfile with a tktgate that sets back_cookie_name.
func TestCaddyBackCookie(t *testing.T) {
	t.Parallel()
	needBinary(t, "/usr/bin/caddy", "caddy")
	listen := freeAddr(t)
	g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", backCookie))
	addr := startCaddy(t, listen, startApp(t))
	checkBackCookie(t, site{b: newBrowser(addr, "", ""), gate: g})
}
