package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

func TestCountCookies(t *testing.T) {
	f := func(header string, want int) {
		t.Helper()
		if got := countCookies([]byte(header), []byte("auth_tkt")); got != want {
			t.Errorf("countCookies(%q) = %d; want %d", header, got, want)
		}
	}
	f("", 0)
	f("auth_tkt=a", 1)
	f("auth_tkt=a; auth_tkt=b", 2)
	f("auth_tkt=a;auth_tkt=b", 2)
	f("auth_tkt=a, auth_tkt=b", 2) // headers httpd-joined
	f("auth_tkt=; auth_tkt=b", 1)  // an empty value is no ticket
	f("xauth_tkt=a; auth_tkt_x=b; auth_tkt=c", 1)
	f("theme=auth_tkt=a; auth_tkt=b", 1)
}

// A ticket cookie that the browser will not use as meant is worth a
// warning, once a minute: several ticket cookies (the refreshed or
// cleared one does not replace the login's: README, "Cookies in the
// browser"), and a Secure cookie on a page asked for over plain http.
func TestTicketCookieWarnings(t *testing.T) {
	config := strings.Replace(baseConfig, `timeout = "2h"`, "timeout = \"2h\"\ncookie_secure = true", 1)
	sign := signer(t, verifier.Options{})
	now := time.Now()
	aging := sign("alice", "", "", "127.0.0.1", now.Add(-90*time.Minute))
	fresh := sign("alice", "", "", "127.0.0.1", now)
	expired := sign("alice", "", "", "127.0.0.1", now.Add(-3*time.Hour))
	const https, http = "X-Original-URL: https://app.example.com/", "X-Original-URL: http://app.example.com/"
	const several, secure = "several ticket cookies", "cookie_secure is on but"
	count := func(logs, msg string) int { return strings.Count(logs, msg) }
	// bob's tickets of before an hour ago are revoked.
	list := filepath.Join(t.TempDir(), "revocations")
	writeFile(t, list, fmt.Sprintf("uid bob %d\n", now.Add(-time.Hour).Unix()))
	revoked := fmt.Sprintf("\n[revocation]\nfile = %q\n", list)
	bob := sign("bob", "", "", "127.0.0.1", now.Add(-90*time.Minute))

	f := func(name string, wantStatus, wantSeveral, wantSecure int, headers ...string) {
		t.Helper()
		addr, _, logs := startServer(t, config+revoked)
		for i := 0; i < 3; i++ { // once a minute, however many
			if a := do(t, addr, "GET", "/auth", headers...); a.status != wantStatus || a.header.Get("Set-Cookie") == "" {
				t.Fatalf("%s: status %d, Set-Cookie %q; want %d with a cookie", name, a.status, a.header.Get("Set-Cookie"), wantStatus)
			}
		}
		l := logs.String()
		if n := count(l, several); n != wantSeveral {
			t.Errorf("%s: %d warnings about several ticket cookies; want %d:\n%s", name, n, wantSeveral, l)
		}
		if n := count(l, secure); n != wantSecure {
			t.Errorf("%s: %d warnings about cookie_secure; want %d:\n%s", name, n, wantSecure, l)
		}
	}
	f("one ticket, refreshed, https", 200, 0, 0, https, "Cookie: auth_tkt="+aging)
	f("the login's old ticket first, refreshed", 200, 1, 0, https, "Cookie: theme=x; auth_tkt="+aging+"; auth_tkt="+fresh)
	f("the two in two Cookie headers", 200, 1, 0, https, "Cookie: auth_tkt="+aging, "Cookie: auth_tkt="+fresh)
	f("an expired ticket first, cleared", 401, 1, 0, https, "Cookie: auth_tkt="+expired+"; auth_tkt="+fresh)
	f("refreshed over plain http", 200, 0, 1, http, "Cookie: auth_tkt="+aging)
	f("cleared over plain http", 401, 0, 1, http, "Cookie: auth_tkt="+expired)
	f("a revoked ticket first, cleared", 401, 1, 0, https, "Cookie: auth_tkt="+bob+"; auth_tkt="+fresh)
	f("revoked, cleared over plain http", 401, 0, 1, http, "Cookie: auth_tkt="+bob)
}
