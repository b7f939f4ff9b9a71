//go:build unix

// Package nginx_test proves the configurations shipped in nginx/: each
// test starts the real proxy (Debian's nginx, caddy) on the shipped file,
// rendered only by replacing the placeholders its header documents, with
// the real tktgate binary and a small application that echoes what it
// received, and drives it like a browser.
//
// The proxies are found at their Debian paths; a missing one skips its
// test, or fails it under TKTGATE_REQUIRE_E2E=1 (test.sh).
package nginx_test

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// denial is what tktgate says no with.
type denial int

const (
	toLogin   denial = iota // 401: no, bad or foreign ticket
	toTimeout               // 401: expired ticket
	toUnauth                // 403: a required token is missing
)

func (d denial) String() string { return [...]string{"login", "timeout", "unauth"}[d] }

// site is one proxy configuration under test.
type site struct {
	b    *browser
	gate *gate
	// denied checks how a denial reaches the browser; orig is the URL that
	// was asked for.
	denied func(t *testing.T, a *answer, d denial, orig string)
	// public: the site has a /public/ location without tickets.
	public bool
}

// redirects: 302 to the origin's /login, /timeout or /unauth with
// ?back=<orig>, as tktgate's Location says.
func redirects(origin string) func(*testing.T, *answer, denial, string) {
	return func(t *testing.T, a *answer, d denial, orig string) {
		t.Helper()
		target := origin + "/" + d.String()
		checkRedirect(t, a, target, orig)
	}
}

// checkRedirect wants a 302 to target?back=<orig escaped>.
func checkRedirect(t *testing.T, a *answer, target, orig string) {
	t.Helper()
	loc := a.header.Get("Location")
	if a.status != 302 {
		t.Fatalf("status %d (Location %q); want 302 to %s", a.status, loc, target)
	}
	back, ok := strings.CutPrefix(loc, target+"?back=")
	if !ok {
		t.Fatalf("Location %q; want %s?back=...", loc, target)
	}
	if got, err := url.QueryUnescape(back); err != nil || got != orig {
		t.Fatalf("Location %q: back is %q (%v); want %q", loc, got, err, orig)
	}
	if a.app != nil {
		t.Fatalf("the application was reached: %+v", a.app)
	}
}

// plain: no URL configured, a bare 401/403 without Location.
func plain(t *testing.T, a *answer, d denial, orig string) {
	t.Helper()
	want := 401
	if d == toUnauth {
		want = 403
	}
	if a.status != want || a.header.Get("Location") != "" || a.app != nil {
		t.Fatalf("status %d, Location %q, app reached %v; want a plain %d", a.status, a.header.Get("Location"), a.app != nil, want)
	}
}

// wantUser checks a 200 from the application, which must have received
// exactly these identity headers ("" = absent or empty).
func wantUser(t *testing.T, a *answer, user, tokens, data string) {
	t.Helper()
	if a.status != 200 || a.app == nil {
		t.Fatalf("status %d, body %q; want 200 from the application", a.status, a.body)
	}
	for name, want := range map[string]string{"X-Remote-User": user, "X-Remote-User-Tokens": tokens, "X-Remote-User-Data": data} {
		got, _ := a.appHeader(name)
		ok := reflect.DeepEqual(got, []string{want}) || want == "" && (len(got) == 0 || reflect.DeepEqual(got, []string{""}))
		if !ok {
			t.Errorf("the application got %s = %q; want %q", name, got, want)
		}
	}
}

// spoof is what a client sends to pose as someone else, from elsewhere.
var spoof = []string{
	"X-Remote-User: mallory",
	"X-Remote-User-Tokens: admin",
	"X-Remote-User-Data: forged",
	"X-Real-IP: 10.6.6.6",
	"X-Forwarded-For: 10.6.6.6",
}

func cookie(tkt string) string { return "Cookie: auth_tkt=" + tkt }

// checkSite runs the checks every configuration must pass.
func checkSite(t *testing.T, s site) {
	now := time.Now()
	g, b := s.gate, s.b
	alice := g.ticket(t, "alice", "127.0.0.1", "editor", "Alice Smith", now, false)

	t.Run("no ticket: login", func(t *testing.T) {
		a := b.get(t, "/some/page?x=1")
		s.denied(t, a, toLogin, b.origin()+"/some/page?x=1")
	})
	t.Run("valid ticket: the application gets the user, never the client's claims", func(t *testing.T) {
		a := b.get(t, "/some/page", append([]string{cookie(alice)}, spoof...)...)
		wantUser(t, a, "alice", "editor", "Alice Smith")
		if c := a.header.Get("Set-Cookie"); c != "" {
			t.Errorf("fresh ticket answered with Set-Cookie %q", c)
		}
	})
	t.Run("valid ticket without tokens or data: claimed ones do not pass", func(t *testing.T) {
		bob := g.ticket(t, "bob", "127.0.0.1", "", "", now, false)
		a := b.get(t, "/some/page", append([]string{cookie(bob)}, spoof...)...)
		wantUser(t, a, "bob", "", "")
	})
	t.Run("X-Real-IP and X-Forwarded-For from the client are not believed", func(t *testing.T) {
		far := g.ticket(t, "alice", "10.6.6.6", "editor", "", now, false)
		a := b.get(t, "/some/page", append([]string{cookie(far)}, spoof...)...)
		s.denied(t, a, toLogin, b.origin()+"/some/page")
	})
	t.Run("admin location without the admin token: unauth", func(t *testing.T) {
		a := b.get(t, "/admin/page", cookie(alice))
		s.denied(t, a, toUnauth, b.origin()+"/admin/page")
	})
	t.Run("admin location with the admin token", func(t *testing.T) {
		root := g.ticket(t, "root", "127.0.0.1", "editor,admin", "", now, false)
		a := b.get(t, "/admin/page", cookie(root))
		wantUser(t, a, "root", "editor,admin", "")
		if a.app.URI != "/admin/page" {
			t.Errorf("the application got %q", a.app.URI)
		}
	})
	checkAdminPrefix(t, s, proxiedAdmin)
	t.Run("expired ticket: timeout, and the cookie is cleared", func(t *testing.T) {
		old := g.ticket(t, "alice", "127.0.0.1", "editor", "", now.Add(-2*time.Hour), false)
		a := b.get(t, "/some/page", cookie(old))
		s.denied(t, a, toTimeout, b.origin()+"/some/page")
		c := a.cookie("auth_tkt")
		if c == nil || c.Value != "" || !(c.Expires.Before(now) || c.MaxAge < 0) {
			t.Errorf("Set-Cookie %q; want auth_tkt cleared", a.header.Values("Set-Cookie"))
		}
	})
	aging := g.ticket(t, "alice", "127.0.0.1", "editor", "Alice Smith", now.Add(-40*time.Minute), false)
	t.Run("ticket past its refresh point: the browser gets the new one", func(t *testing.T) {
		a := b.get(t, "/some/page", cookie(aging))
		wantUser(t, a, "alice", "editor", "Alice Smith")
		c := a.cookie("auth_tkt")
		if c == nil || c.Value == "" || c.Value == aging {
			t.Fatalf("Set-Cookie %q; want a refreshed auth_tkt", a.header.Values("Set-Cookie"))
		}
		// The refreshed ticket is fresh: accepted, and not refreshed again.
		a = b.get(t, "/some/page", cookie(c.Value))
		wantUser(t, a, "alice", "editor", "Alice Smith")
		if c := a.header.Get("Set-Cookie"); c != "" {
			t.Errorf("refreshed ticket answered with Set-Cookie %q", c)
		}
	})
	t.Run("refresh reaches the browser when the application answers 404", func(t *testing.T) {
		a := b.get(t, "/missing", cookie(aging))
		if a.status != 404 || a.app == nil {
			t.Fatalf("status %d; want the application's 404", a.status)
		}
		if c := a.cookie("auth_tkt"); c == nil || c.Value == "" {
			t.Errorf("Set-Cookie %q; want a refreshed auth_tkt", a.header.Values("Set-Cookie"))
		}
	})
	t.Run("URL ticket: access, and the ticket becomes a cookie", func(t *testing.T) {
		raw := g.ticket(t, "uma", "127.0.0.1", "", "", now, true)
		a := b.get(t, "/welcome?auth_tkt="+url.QueryEscape(raw)+"&y=2")
		wantUser(t, a, "uma", "", "")
		if c := a.cookie("auth_tkt"); c == nil || c.Value == "" {
			t.Errorf("Set-Cookie %q; want the ticket as auth_tkt", a.header.Values("Set-Cookie"))
		}
	})
	if s.public {
		t.Run("public location: no ticket needed, no identity passed", func(t *testing.T) {
			a := b.get(t, "/public/info", spoof...)
			wantUser(t, a, "", "", "")
		})
	}
}

// checkKeepalive: the proxy reuses its connections to tktgate.
func checkKeepalive(t *testing.T, s site, r *relay) {
	t.Run("keep-alive to tktgate", func(t *testing.T) {
		tkt := s.gate.ticket(t, "alice", "127.0.0.1", "", "", time.Now(), false)
		before := r.accepts.Load()
		for i := 0; i < 20; i++ {
			if a := s.b.get(t, "/some/page", cookie(tkt)); a.status != 200 {
				t.Fatalf("request %d: status %d", i, a.status)
			}
		}
		if n := r.accepts.Load() - before; n > 1 {
			t.Errorf("20 requests opened %d connections to tktgate; want at most 1", n)
		}
	})
}

const (
	shippedGate  = "127.0.0.1:9180"
	shippedGate2 = "127.0.0.1:9182" // tktgate-upstream-replicas.conf's second
	shippedApp   = "127.0.0.1:8080"
)

func TestNginxSite(t *testing.T) {
	t.Parallel()
	listen := freeAddr(t)
	g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", ""))
	r := startRelay(t, g.addr)
	app := startApp(t)
	addr := startNginxFiles(t, shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, r.addr()}, "", shippedApp, app))
	s := site{b: newBrowser(addr, "", ""), gate: g, public: true}
	s.denied = redirects(s.b.origin())
	checkSite(t, s)
	checkKeepalive(t, s, r)
}

func TestNginxSiteUnixSocket(t *testing.T) {
	t.Parallel()
	// A short path: unix socket paths are limited to 107 bytes.
	sockDir, err := os.MkdirTemp("", "tktgate-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "tktgate.sock")
	g := startTktgate(t, "unix:"+sock, tktgateConfig("unix:"+sock, true, "X-Real-IP", ""))
	app := startApp(t)
	addr := startNginxFiles(t, shippedFiles(t, "tktgate-upstream-unix.conf", []string{"/run/tktgate/tktgate.sock", sock}, "", shippedApp, app))
	s := site{b: newBrowser(addr, "", ""), gate: g, public: true}
	s.denied = redirects(s.b.origin())
	checkSite(t, s)
}

// tktgate-upstream-replicas.conf with two tktgates: the whole site works
// with requests spread over both (the restarts are
// benchmarks/restarts.sh's, run by TestRestartsUnderLoad).
func TestNginxSiteReplicas(t *testing.T) {
	t.Parallel()
	var gates [2]*gate
	var counts [2]*relay
	for i := range gates {
		listen := freeAddr(t)
		gates[i] = startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", ""))
		counts[i] = startRelay(t, listen)
	}
	app := startApp(t)
	addr := startNginxFiles(t, shippedFiles(t, "tktgate-upstream-replicas.conf",
		[]string{shippedGate, counts[0].addr(), shippedGate2, counts[1].addr()}, "", shippedApp, app))
	s := site{b: newBrowser(addr, "", ""), gate: gates[0], public: true}
	s.denied = redirects(s.b.origin())
	checkSite(t, s)
	for i, r := range counts {
		if r.requests.Load() == 0 {
			t.Errorf("tktgate %d got no subrequest", i)
		}
	}
}

// Without login_url (nor timeout_url, unauth_url) nginx answers a plain
// 401 or 403, never a redirect to an empty URL. This tktgate also takes
// the client address from X-Forwarded-For, which nginx sets too.
func TestNginxSiteWithoutLoginURL(t *testing.T) {
	t.Parallel()
	listen := freeAddr(t)
	g := startTktgate(t, listen, tktgateConfig(listen, false, "X-Forwarded-For", ""))
	app := startApp(t)
	addr := startNginxFiles(t, shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, listen}, "", shippedApp, app))
	checkSite(t, site{b: newBrowser(addr, "", ""), gate: g, public: true, denied: plain})
}

func TestNginxSiteCached(t *testing.T) {
	t.Parallel()
	s, r, addr := startCachedSite(t, "\n[cache]\nmax_age = \"30s\"\n")
	checkSite(t, s)
	checkKeepalive(t, s, r)
	checkCache(t, s, r, addr, "BYPASS")
}

// checkCache proves a site that caches tktgate's answers: approvals are
// reused for the same policy, address and Cookie header only, denials
// never, and none outlives the ticket's refresh point. urlTicket is the
// cache status a URL ticket must get (a bypass, or a miss under its own
// key). It stops r: tktgate is unreachable afterwards.
func checkCache(t *testing.T, s site, r *relay, addr, urlTicket string) {
	g := s.gate
	now := time.Now()
	carol := g.ticket(t, "carol", "127.0.0.1", "", "", now, false)
	t.Run("a fresh ticket's second request is a cache hit", func(t *testing.T) {
		before := r.requests.Load()
		a := s.b.get(t, "/", cookie(carol))
		wantUser(t, a, "carol", "", "")
		wantCache(t, a, "MISS")
		for i := 0; i < 3; i++ {
			a = s.b.get(t, "/other/page", cookie(carol))
			wantUser(t, a, "carol", "", "")
			wantCache(t, a, "HIT")
		}
		if n := r.requests.Load() - before; n != 1 {
			t.Errorf("tktgate saw %d requests for 4 page views; want 1", n)
		}
	})
	t.Run("a URL ticket is not answered from the cache", func(t *testing.T) {
		raw := g.ticket(t, "uma", "127.0.0.1", "", "", now, true)
		a := s.b.get(t, "/?auth_tkt="+url.QueryEscape(raw), cookie(carol))
		wantUser(t, a, "uma", "", "")
		wantCache(t, a, urlTicket)
		if c := a.cookie("auth_tkt"); c == nil || c.Value == "" {
			t.Errorf("Set-Cookie %q; want the URL ticket as auth_tkt", a.header.Values("Set-Cookie"))
		}
	})
	t.Run("denials are never cached: each page gets its own back=", func(t *testing.T) {
		for _, page := range []string{"/a?x=1", "/b", "/a?x=1"} {
			a := s.b.get(t, page)
			s.denied(t, a, toLogin, s.b.origin()+page)
			wantCache(t, a, "MISS")
		}
		// The same for a 403: the admin policy without the token.
		for _, page := range []string{"/admin/a", "/admin/b"} {
			a := s.b.get(t, page, cookie(carol))
			s.denied(t, a, toUnauth, s.b.origin()+page)
			wantCache(t, a, "MISS")
		}
	})

	// A cached approval ends at the ticket's refresh point (1h timeout,
	// refresh 0.5: at ts+1801s), however long max_age is: the request after
	// it reaches tktgate and the browser gets the refreshed ticket.
	t.Run("a cached approval ends at the refresh point", func(t *testing.T) {
		frank := g.ticket(t, "frank", "127.0.0.1", "", "", now.Add(-1798*time.Second), false)
		for i, want := range []string{"MISS", "HIT"} {
			a := s.b.get(t, "/", cookie(frank))
			wantUser(t, a, "frank", "", "")
			if time.Now().Before(now.Add(2 * time.Second)) {
				wantCache(t, a, want)
				if c := a.cookie("auth_tkt"); c != nil {
					t.Errorf("request %d before the refresh point got Set-Cookie %q", i, c.Value)
				}
			}
		}
		time.Sleep(time.Until(now.Add(4 * time.Second)))
		a := s.b.get(t, "/", cookie(frank))
		wantUser(t, a, "frank", "", "")
		if c := a.cookie("auth_tkt"); c == nil || c.Value == "" {
			t.Errorf("past the refresh point: Set-Cookie %q; want the refreshed ticket (a stale cache entry answered?)", a.header.Values("Set-Cookie"))
		}
		if got := a.header.Get("X-Auth-Cache"); got == "HIT" {
			t.Errorf("past the refresh point the answer came from the cache")
		}
	})
	// The empty-duplicate trick: erin's approval, earned with
	// "auth_tkt=; auth_tkt=<erin>", must be keyed on that whole header, not
	// on the (empty) first auth_tkt value.
	erin := g.ticket(t, "erin", "127.0.0.1", "", "", now, false)
	wantUser(t, s.b.get(t, "/", "Cookie: auth_tkt=; auth_tkt="+erin), "erin", "", "")
	t.Run("the empty-duplicate-cookie trick is never served the cached approval", func(t *testing.T) {
		a := s.b.get(t, "/", "Cookie: auth_tkt=")
		s.denied(t, a, toLogin, s.b.origin()+"/")
		wantCache(t, a, "MISS")
	})

	// From here on tktgate is unreachable: whatever still works came from
	// the cache, and everything else must fail closed.
	r.stop()
	t.Run("tktgate down: the cached approval still serves the same cookie and address", func(t *testing.T) {
		a := s.b.get(t, "/", cookie(carol))
		wantUser(t, a, "carol", "", "")
		wantCache(t, a, "HIT")
	})
	t.Run("tktgate down: nothing else is approved", func(t *testing.T) {
		dave := g.ticket(t, "dave", "127.0.0.1", "", "", now, false)
		raw := g.ticket(t, "uma", "127.0.0.1", "", "", now, true)
		other := newBrowser(addr, s.b.host, "127.0.0.2")
		for name, a := range map[string]*answer{
			"another cookie":                                           s.b.get(t, "/", cookie(dave)),
			"the same cookie from another address":                     other.get(t, "/", cookie(carol)),
			"the same cookie on the admin policy":                      s.b.get(t, "/admin/", cookie(carol)),
			"no cookie (401s are not cached)":                          s.b.get(t, "/"),
			"an empty auth_tkt (erin's approval is not under its key)": s.b.get(t, "/", "Cookie: auth_tkt="),
			"erin's ticket alone (another Cookie header, another key)": s.b.get(t, "/", cookie(erin)),
			"a URL ticket": s.b.get(t, "/?auth_tkt="+url.QueryEscape(raw), cookie(carol)),
		} {
			if a.status != 500 || a.app != nil {
				t.Errorf("%s: status %d, application reached %v; want nginx's 500", name, a.status, a.app != nil)
			}
		}
	})
}

// With refresh off, a cached approval ends when the ticket expires: the
// first request after that is denied (timeout), not served from the cache.
func TestNginxSiteCachedExpiry(t *testing.T) {
	t.Parallel()
	extra := "\n[cache]\nmax_age = \"30s\"\n"
	s, _, _ := startCachedSite(t, extra, "timeout_refresh = 0.5", "timeout_refresh = 0")
	now := time.Now()
	// Timeout 1h: expires at ts+3600s, 3 s from now.
	grace := s.gate.ticket(t, "grace", "127.0.0.1", "", "", now.Add(-3597*time.Second), false)
	for _, want := range []string{"MISS", "HIT"} {
		a := s.b.get(t, "/", cookie(grace))
		wantUser(t, a, "grace", "", "")
		if time.Now().Before(now.Add(2 * time.Second)) {
			wantCache(t, a, want)
		}
		if c := a.cookie("auth_tkt"); c != nil {
			t.Errorf("refresh is off, yet Set-Cookie %q", c.Value)
		}
	}
	time.Sleep(time.Until(now.Add(5 * time.Second)))
	a := s.b.get(t, "/", cookie(grace))
	s.denied(t, a, toTimeout, s.b.origin()+"/")
	if got := a.header.Get("X-Auth-Cache"); got == "HIT" {
		t.Errorf("the expired ticket was answered from the cache")
	}
}

// withCacheStatus is the one change the cached tests make to the shipped
// files beyond their placeholders: the auth subrequest's
// $upstream_cache_status reaches the browser as X-Auth-Cache (HIT, MISS,
// BYPASS, EXPIRED), on answers and on denials alike.
func withCacheStatus(t *testing.T, f nginxFiles) nginxFiles {
	t.Helper()
	f.edit(t, "snippets/tktgate-location.conf",
		"auth_request_set $auth_location $upstream_http_location;\n",
		"auth_request_set $auth_location $upstream_http_location;\nauth_request_set $auth_cache $upstream_cache_status;\nadd_header X-Auth-Cache $auth_cache always;\n")
	f.edit(t, "snippets/tktgate-auth-cached.conf",
		"location @tkt_login {\n", "location @tkt_login {\n    add_header X-Auth-Cache $auth_cache always;\n",
		"location @tkt_forbidden {\n", "location @tkt_forbidden {\n    add_header X-Auth-Cache $auth_cache always;\n")
	return f
}

// startCachedSite starts tktgate with extra config (and the old/new pairs
// of edit replaced in it) behind a relay, and nginx on the shipped files'
// cached variant withCacheStatus.
func startCachedSite(t *testing.T, extra string, edit ...string) (site, *relay, string) {
	t.Helper()
	listen := freeAddr(t)
	conf := tktgateConfig(listen, true, "X-Real-IP", extra)
	for i := 0; i+1 < len(edit); i += 2 {
		if !strings.Contains(conf, edit[i]) {
			t.Fatalf("tktgate config lacks %q", edit[i])
		}
		conf = strings.ReplaceAll(conf, edit[i], edit[i+1])
	}
	g := startTktgate(t, listen, conf)
	r := startRelay(t, g.addr)
	app := startApp(t)
	cache := filepath.Join(t.TempDir(), "cache")
	addr := startNginxFiles(t, withCacheStatus(t, shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, r.addr()}, cache, shippedApp, app)))
	s := site{b: newBrowser(addr, "", ""), gate: g, public: true}
	s.denied = redirects(s.b.origin())
	return s, r, addr
}

// wantCache checks the X-Auth-Cache the test config adds.
func wantCache(t *testing.T, a *answer, want string) {
	t.Helper()
	if got := a.header.Get("X-Auth-Cache"); got != want {
		t.Errorf("auth subrequest cache status %q; want %q", got, want)
	}
}

// The site files must name their placeholders in their header, as the
// test renders them.
func TestShippedFilesDocumentPlaceholders(t *testing.T) {
	for file, placeholders := range map[string][]string{
		"tktgate.conf":                   {shippedApp, "listen 80;", "example.com", shippedAccessLog, "snippets/tktgate-auth.conf"},
		"tktgate-upstream.conf":          {shippedGate},
		"tktgate-upstream-unix.conf":     {"/run/tktgate/tktgate.sock"},
		"tktgate-upstream-replicas.conf": {shippedGate, shippedGate2},
		"tktgate-cache.conf":             {"/var/lib/nginx/tktgate-cache"},
		"caddy/Caddyfile":                {shippedGate, shippedApp, "example.com", "admin localhost:2019"},
		"k8s/ingress-nginx.conf":         {"tktgate.tktgate.svc.cluster.local:9180", shippedApp, "listen 80;"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// The leading comment block.
		var header strings.Builder
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, "#") {
				break
			}
			header.WriteString(line + "\n")
		}
		for _, p := range placeholders {
			if !strings.Contains(header.String(), "#   "+p) {
				t.Errorf("%s: placeholder %q not documented in the header", file, p)
			}
		}
	}
}
