//go:build unix

package nginx_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The revocation delay of the cached files (tktgate-auth-cached.conf and
// tktgate-cache.conf): nginx may serve an
// approval it cached before a revocation for up to [cache] max_age, and
// not one second more: after max_age the revoked ticket reaches tktgate
// and is refused, while another user's cached approval is unaffected.
func TestNginxCachedRevocation(t *testing.T) {
	t.Parallel()
	rev := filepath.Join(t.TempDir(), "revocations")
	if err := os.WriteFile(rev, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const maxAge = 3 * time.Second
	s, _, _ := startCachedSite(t, "\n[cache]\nmax_age = \"3s\"\n[revocation]\nfile = \""+rev+"\"\n",
		"socket_mode = \"0666\"\n", "socket_mode = \"0666\"\nwatch_interval = \"100ms\"\n")
	g := s.gate
	rita := g.ticket(t, "rita", "127.0.0.1", "", "", time.Now(), false)
	sam := g.ticket(t, "sam", "127.0.0.1", "", "", time.Now(), false)
	for _, want := range []string{"MISS", "HIT"} {
		a := s.b.get(t, "/", cookie(rita))
		wantUser(t, a, "rita", "", "")
		wantCache(t, a, want)
	}
	cached := time.Now() // the approval was cached a moment ago (the MISS)
	wantUser(t, s.b.get(t, "/", cookie(sam)), "sam", "", "")

	if out, err := exec.Command(g.bin, "revoke", "-config", g.config, "-uid", "rita").CombinedOutput(); err != nil {
		t.Fatalf("tktgate revoke: %v: %s", err, out)
	}
	// tktgate itself refuses rita within 2 seconds...
	deadline := time.Now().Add(2 * time.Second)
	for askGate(t, g, rita) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("tktgate still approves rita's ticket 2 s after tktgate revoke")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// ...while nginx may still answer from its cache (the delay the
	// README documents next to max_age),
	if time.Since(cached) < maxAge-time.Second {
		a := s.b.get(t, "/", cookie(rita))
		wantUser(t, a, "rita", "", "")
		wantCache(t, a, "HIT")
	}
	// but not after max_age.
	time.Sleep(time.Until(cached.Add(maxAge + 1500*time.Millisecond)))
	a := s.b.get(t, "/", cookie(rita))
	if a.header.Get("X-Auth-Cache") == "HIT" {
		t.Errorf("%v after the approval was cached, nginx still serves it from its cache", time.Since(cached))
	}
	s.denied(t, a, toLogin, s.b.origin()+"/")
	if c := a.cookie("auth_tkt"); c == nil || c.Value != "" {
		t.Errorf("the revoked ticket's Set-Cookie %v; want it cleared", c)
	}
	wantUser(t, s.b.get(t, "/", cookie(sam)), "sam", "", "")
}

// askGate asks tktgate's /auth directly, as nginx would, and returns
// the status.
func askGate(t *testing.T, g *gate, ticket string) int {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+g.addr+"/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "auth_tkt="+ticket)
	req.Header.Set("X-Real-IP", "127.0.0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
