//go:build unix

package nginx_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Two sites made from tktgate.conf in one nginx, on one address, told
// apart by server_name, share the one upstream (tktgate-upstream.conf) and
// the snippets; the second names its own application upstream and protects
// /admin with another policy (staff). Each site answers as its own
// policies say: before the upstream had a file of its own, nginx refused
// the second site (duplicate upstream "tktgate"). The cached variant also
// shows that the shared cache keeps the policies apart.
func TestNginxTwoSites(t *testing.T) {
	t.Parallel()
	for _, cached := range []bool{false, true} {
		t.Run(map[bool]string{false: "tktgate-auth.conf", true: "tktgate-auth-cached.conf"}[cached], func(t *testing.T) {
			t.Parallel()
			listen := freeAddr(t)
			g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP",
				"\n[cache]\nmax_age = \"30s\"\n\n[policy.staff]\ntokens = [\"staff\"]\n"))
			r := startRelay(t, g.addr)
			var cache string
			if cached {
				cache = filepath.Join(t.TempDir(), "cache")
			}
			files := shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, r.addr()}, cache,
				shippedApp, startApp(t), "example.com", "a.example")
			b := shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, r.addr()}, cache,
				shippedApp, startApp(t), "example.com", "b.example",
				"upstream app {", "upstream app_b {", "proxy_pass http://app;", "proxy_pass http://app_b;",
				"auth_request /_tktgate/auth/admin;", "auth_request /_tktgate/auth/staff;")
			files["sites/b.conf"] = b["sites/tktgate.conf"]
			addr := startNginxFiles(t, files)

			now := time.Now()
			alice := g.ticket(t, "alice", "127.0.0.1", "editor", "Alice Smith", now, false)
			root := g.ticket(t, "root", "127.0.0.1", "admin", "", now, false)
			sam := g.ticket(t, "sam", "127.0.0.1", "staff", "", now, false)
			// The ticket /admin takes on each site, and the one it refuses.
			for _, c := range []struct {
				host             string
				admitted, denied string
				user, tokens     string
			}{
				{"a.example", root, sam, "root", "admin"},
				{"b.example", sam, root, "sam", "staff"},
			} {
				t.Run(c.host, func(t *testing.T) {
					br := newBrowser(addr, c.host, "")
					origin := br.origin()
					wantUser(t, br.get(t, "/page", cookie(alice)), "alice", "editor", "Alice Smith")
					checkRedirect(t, br.get(t, "/page?x=1"), origin+"/login", origin+"/page?x=1")
					checkRedirect(t, br.get(t, "/admin/x", cookie(alice)), origin+"/unauth", origin+"/admin/x")
					// Twice: the second may come from the cache, which must
					// keep each site's policy.
					for range 2 {
						a := br.get(t, "/admin/x", cookie(c.admitted))
						wantUser(t, a, c.user, c.tokens, "")
						checkRedirect(t, br.get(t, "/admin/x", cookie(c.denied)), origin+"/unauth", origin+"/admin/x")
					}
					if a := br.get(t, "/public/info"); a.status != 200 || a.app == nil {
						t.Errorf("public page: status %d", a.status)
					}
				})
			}

			// Every subrequest carried nginx's request id, one per page.
			ids := regexp.MustCompile(`(?i)\r\nX-Request-ID: ([^\r]*)\r\n`).FindAllStringSubmatch(r.sent.String(), -1)
			seen := map[string]bool{}
			for _, m := range ids {
				if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(m[1]) {
					t.Errorf("X-Request-ID %q; want nginx's $request_id, 32 hex digits", m[1])
				}
				seen[m[1]] = true
			}
			if n := r.requests.Load(); n == 0 || int64(len(ids)) != n || len(seen) != len(ids) {
				t.Errorf("%d subrequests reached tktgate with %d X-Request-ID headers, %d distinct; want one each, all distinct", n, len(ids), len(seen))
			}
		})
	}
}

// tktgate-auth-cached.conf is tktgate-auth.conf plus the cache lines: the
// two must not drift apart (a fix to one forgotten in the other).
func TestAuthSnippetsAgree(t *testing.T) {
	directives := func(file string, dropCache bool) []string {
		var out []string
		for _, line := range strings.Split(render(t, file), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if dropCache && (strings.HasPrefix(line, "proxy_cache") || strings.HasPrefix(line, "open_file_cache")) {
				continue
			}
			out = append(out, line)
		}
		return out
	}
	plain, cached := directives("tktgate-auth.conf", false), directives("tktgate-auth-cached.conf", true)
	if !slices.Equal(plain, cached) {
		t.Errorf("tktgate-auth-cached.conf without its cache lines differs from tktgate-auth.conf:\n%s\n---\n%s",
			strings.Join(cached, "\n"), strings.Join(plain, "\n"))
	}
	if n := len(directives("tktgate-auth-cached.conf", false)) - len(cached); n != 4 {
		t.Errorf("tktgate-auth-cached.conf has %d cache lines; want 4 (proxy_cache, proxy_cache_bypass, proxy_cache_key, open_file_cache)", n)
	}
}
