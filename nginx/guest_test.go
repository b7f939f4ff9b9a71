//go:build unix

package nginx_test

import (
	"testing"
)

// TestNginxGuestEmpty: with guest_empty (TKTAuthGuestEmpty) a guest's
// X-Remote-User is empty, and what the shipped site then passes to the
// application: no X-Remote-User at all (proxy_set_header with an empty
// value drops the header), never one a client sent. Apache would set an
// empty REMOTE_USER; an application reading the header sees nobody.
func TestNginxGuestEmpty(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ guest, user string }{
		{"[guest]\nlogin = true\nuser = \"visitor\"\n", "visitor"},
		{"[guest]\nlogin = true\nuser = \"visitor\"\nempty = true\n", ""},
	} {
		listen := freeAddr(t)
		g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", c.guest))
		app := startApp(t)
		addr := startNginxFiles(t, shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, g.addr}, "", shippedApp, app))
		a := newBrowser(addr, "", "").get(t, "/some/page", spoof...)
		if a.status != 200 || a.app == nil {
			t.Fatalf("%q: a guest got %d; want the application", c.guest, a.status)
		}
		for name, want := range map[string]string{"X-Remote-User": c.user, "X-Remote-User-Tokens": "", "X-Remote-User-Data": ""} {
			got, _ := a.appHeader(name)
			if want == "" && len(got) != 0 || want != "" && (len(got) != 1 || got[0] != want) {
				t.Errorf("%q: the application got %s = %q; want %q", c.guest, name, got, want)
			}
		}
	}
}
