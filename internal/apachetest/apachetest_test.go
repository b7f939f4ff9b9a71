package apachetest_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/tktgate/tktgate/internal/apachetest"
)

// TestApacheHarness checks the harness against the published test vectors
// in docs/auth_tkt.md, independently of the verifier package: a ticket is
// accepted, its fields come back intact, and the client IP mod_auth_tkt
// hashes is the one given in X-Real-IP (mod_remoteip's useragent_ip), not
// the TCP peer 127.0.0.1.
func TestApacheHarness(t *testing.T) {
	t.Parallel()
	s := apachetest.Start(t, apachetest.Config{
		Secret: "cb3e1d39-98eb-4161-8bbd-f4e706999b0e",
		Locations: []apachetest.Location{
			{Path: "/p", Directives: []string{"TKTAuthTimeout 0"}},
		},
	})
	const tkt = "b624ef86959b53bd80975dcc6d6a9b7f42171dfcfoobar!" // ip 192.168.1.1
	get := func(ip string) apachetest.Result {
		h := http.Header{"Cookie": {"auth_tkt=" + tkt}}
		if ip != "" {
			h.Set("X-Real-IP", ip)
		}
		return s.Get(t, "/p", h)
	}

	r := get("192.168.1.1")
	if r.Status != 200 || !r.Authenticated || r.User != "foobar" || r.Tokens != "" || r.Data != "" || r.ClientIP != "192.168.1.1" {
		t.Errorf("right IP: got %+v, want 200 as foobar", r)
	}
	for _, ip := range []string{"", "192.168.1.2"} {
		r = get(ip)
		if r.Status != http.StatusTemporaryRedirect || !strings.HasPrefix(r.Location, apachetest.LoginURL+"?back=") || r.Authenticated {
			t.Errorf("IP %q: got %+v, want 307 to the login URL", ip, r)
		}
	}

	// Unprotected paths are answered too, without a user.
	r = s.Get(t, "/open", nil)
	if r.Status != 200 || r.Authenticated || r.ClientIP != "127.0.0.1" {
		t.Errorf("unprotected: got %+v", r)
	}
}

// TestApacheHarnessBytes checks that uid, tokens and data come back byte
// for byte, and that header bytes net/http would refuse are sent as is.
func TestApacheHarnessBytes(t *testing.T) {
	t.Parallel()
	s := apachetest.Start(t, apachetest.Config{
		Secret:     "secret",
		DigestType: "MD5",
		Locations: []apachetest.Location{
			{Path: "/", Directives: []string{"TKTAuthTimeout 0"}},
		},
	})
	const tkt = "33cbb9028e5cfedac1af4e2c2db50b246553f100alice!admin,editor!Alice Smith"
	r := s.Get(t, "/x", http.Header{"Cookie": {"a=\x01\xff; auth_tkt=" + tkt}})
	if !r.Authenticated || r.User != "alice" || r.Tokens != "admin,editor" || r.Data != "Alice Smith" {
		t.Errorf("got %+v, want alice/admin,editor/Alice Smith", r)
	}
}

// TestApacheHarnessVirtualHosts: each virtual host checks tickets with its
// own TKTAuthSecret and digest type, picked by the Host header; other
// hosts get the main server's; and a virtual host without its own
// TKTAuthSecretOld inherits the main server's (merge_auth_tkt_serv_config).
func TestApacheHarnessVirtualHosts(t *testing.T) {
	t.Parallel()
	loc := []apachetest.Location{{Path: "/p", Directives: []string{"TKTAuthTimeout 0"}}}
	s := apachetest.Start(t, apachetest.Config{
		Secret:    "main",
		OldSecret: "main-old",
		Locations: loc,
		VirtualHosts: []apachetest.VirtualHost{
			{ServerName: "one.test", Secret: "one", DigestType: "SHA256", Locations: loc},
			{ServerName: "two.test", Secret: "two"},
		},
	})
	tkt := func(secret, digest string) string {
		return apachetest.Ticket{UID: "u", TS: 1700000000, IP: netip.MustParseAddr("127.0.0.1"), Secret: secret}.Text(digest)
	}
	for _, c := range []struct {
		host, secret, digest string
		ok                   bool
	}{
		{s.Addr, "main", "MD5", true},
		{s.Addr, "main-old", "MD5", true},
		{s.Addr, "one", "SHA256", false},
		{"one.test", "one", "SHA256", true},
		{"one.test", "one", "MD5", false},
		{"one.test", "main", "MD5", false},
		{"one.test", "two", "SHA256", false},
		{"one.test", "main-old", "SHA256", true}, // inherited
		{"two.test", "two", "MD5", true},         // the main server's /p
		{"two.test", "one", "SHA256", false},
		{"two.test", "main", "MD5", false},
		{"elsewhere.test", "main", "MD5", true},
	} {
		r := s.GetHost(t, c.host, "/p", http.Header{"Cookie": {"auth_tkt=" + tkt(c.secret, c.digest)}})
		if r.Authenticated != c.ok {
			t.Errorf("Host %s, ticket signed with %q (%s): %d authenticated %v, want %v", c.host, c.secret, c.digest, r.Status, r.Authenticated, c.ok)
		}
	}
}
