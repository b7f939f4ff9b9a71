//go:build unix

package nginx_test

import (
	"os"
	"path/filepath"
	"testing"
)

// startCaddy runs the real caddy on the shipped caddy/Caddyfile, pointed
// at tktgate and the application, and returns its address.
func startCaddy(t *testing.T, gateAddr, app string) string {
	t.Helper()
	bin := needBinary(t, "/usr/bin/caddy", "caddy")
	addr := freeAddr(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "Caddyfile")
	caddyfile := render(t, "caddy/Caddyfile", shippedGate, gateAddr, shippedApp, app,
		"\nexample.com {", "\nhttp://"+addr+" {", "admin localhost:2019", "admin off")
	if err := os.WriteFile(conf, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	// Caddy keeps its state under $HOME / XDG directories: the test's own.
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data")}
	p := startProc(t, "caddy", env, bin, "run", "--config", conf, "--adapter", "caddyfile")
	p.waitListening(t, "tcp", addr)
	return addr
}

// caddy/Caddyfile on the real Debian caddy: the same checks as nginx.
func TestCaddy(t *testing.T) {
	t.Parallel()
	needBinary(t, "/usr/bin/caddy", "caddy")
	listen := freeAddr(t)
	g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", ""))
	r := startRelay(t, g.addr)
	addr := startCaddy(t, r.addr(), startApp(t))
	s := site{b: newBrowser(addr, "", ""), gate: g, public: true}
	s.denied = redirects(s.b.origin())
	checkSite(t, s)
	checkKeepalive(t, s, r)
}

// Without redirect URLs Caddy passes tktgate's plain 401/403 through.
func TestCaddyWithoutLoginURL(t *testing.T) {
	t.Parallel()
	needBinary(t, "/usr/bin/caddy", "caddy")
	listen := freeAddr(t)
	g := startTktgate(t, listen, tktgateConfig(listen, false, "X-Real-IP", ""))
	addr := startCaddy(t, listen, startApp(t))
	checkSite(t, site{b: newBrowser(addr, "", ""), gate: g, public: true, denied: plain})
}
