//go:build unix

package nginx_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminPaths are what Apache's <Location /admin> covers: a plain string
// prefix of the decoded path, so also /admin.php and /adminfoo, and
// /%61dmin/ once decoded. Every shipped example must put all of them
// under the admin policy, whatever serves the content.
var adminPaths = []string{"/admin", "/admin/", "/admin/x", "/admin?x=1", "/admin.php", "/adminfoo", "/%61dmin/"}

// checkAdminPrefix: each of adminPaths is refused to a valid ticket
// without the admin token and served to one with it; served checks what
// was served for uri.
func checkAdminPrefix(t *testing.T, s site, served func(t *testing.T, a *answer, uri string)) {
	now := time.Now()
	alice := s.gate.ticket(t, "alice", "127.0.0.1", "editor", "", now, false)
	root := s.gate.ticket(t, "root", "127.0.0.1", "editor,admin", "", now, false)
	for _, uri := range adminPaths {
		t.Run("admin prefix "+uri, func(t *testing.T) {
			a := s.b.get(t, uri, cookie(alice))
			// back= holds the decoded path, as mod_auth_tkt's (r->uri).
			dec, err := url.PathUnescape(uri)
			if err != nil {
				t.Fatal(err)
			}
			s.denied(t, a, toUnauth, s.b.origin()+dec)
			if strings.Contains(a.body, staticSecret) {
				t.Fatalf("%s without the admin token served the admin file: %q", uri, a.body)
			}
			served(t, s.b.get(t, uri, cookie(root)), uri)
		})
	}
}

// proxiedAdmin: the application answered root's request for uri.
func proxiedAdmin(t *testing.T, a *answer, uri string) {
	t.Helper()
	wantUser(t, a, "root", "editor,admin", "")
	if a.app.URI != uri {
		t.Errorf("the application got %q; want %q", a.app.URI, uri)
	}
}

// staticSecret marks the files only admins may read in staticRoot.
const staticSecret = "ADMIN ONLY"

// staticFiles are the files of the static site, and which file each of
// adminPaths serves (try_files $uri $uri/index.html, or the index).
var staticFiles = map[string]string{
	"admin/index.html": "/admin /admin/ /admin?x=1 /%61dmin/",
	"admin/x":          "/admin/x",
	"admin.php":        "/admin.php",
	"adminfoo":         "/adminfoo",
}

func staticRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for f := range staticFiles {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(staticSecret+" "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// staticAdmin: the file behind uri was served to root.
func staticAdmin(t *testing.T, a *answer, uri string) {
	t.Helper()
	var want string
	for f, uris := range staticFiles {
		for _, u := range strings.Fields(uris) {
			if u == uri {
				want = staticSecret + " " + f + "\n"
			}
		}
	}
	if a.status != 200 || a.body != want {
		t.Fatalf("status %d, body %q; want 200 and %q", a.status, a.body, want)
	}
}

// staticSite is the one change the static tests make to tktgate.conf
// beyond its placeholders: the application is a directory of files
// instead of a proxied server, as for a site nginx serves itself.
func staticSite(root string) []string {
	return []string{"proxy_pass http://app;", "root " + root + ";\n        try_files $uri $uri/index.html =404;"}
}

// The admin prefix holds when nginx serves the files itself: with a
// location that proxies, nginx answers /admin with its own 301 to
// /admin/, with root and try_files nothing does.
func TestNginxSiteStaticAdmin(t *testing.T) {
	t.Parallel()
	for _, cached := range []bool{false, true} {
		t.Run(map[bool]string{false: "tktgate-auth.conf", true: "tktgate-auth-cached.conf"}[cached], func(t *testing.T) {
			t.Parallel()
			listen := freeAddr(t)
			g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", "\n[cache]\nmax_age = \"30s\"\n"))
			var cache string
			if cached {
				cache = filepath.Join(t.TempDir(), "cache")
			}
			addr := startNginxFiles(t, shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, listen}, cache, staticSite(staticRoot(t))...))
			s := site{b: newBrowser(addr, "", ""), gate: g}
			s.denied = redirects(s.b.origin())
			checkAdminPrefix(t, s, staticAdmin)
		})
	}
}
