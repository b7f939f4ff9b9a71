//go:build unix

package nginx_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The shipped site sends nginx's $request_id to tktgate as X-Request-ID
// and logs it: tktgate's audit line (log_requests) and nginx's access log
// line of the same request carry the same ID, approvals and denials alike.
func TestNginxRequestIDJoinsLogs(t *testing.T) {
	t.Parallel()
	listen := freeAddr(t)
	g := startTktgate(t, listen, "log_requests = \"all\"\n"+tktgateConfig(listen, true, "X-Real-IP", ""))
	app := startApp(t)
	addr, dir := startNginxFilesIn(t, shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, listen}, "", shippedApp, app))
	b := newBrowser(addr, "", "")
	now := time.Now()
	alice := g.ticket(t, "alice", "127.0.0.1", "editor", "", now, false)
	raw := g.ticket(t, "uma", "127.0.0.1", "", "", now, true)

	// Each request is told apart by its probe parameter.
	reqs := []struct {
		uri, cookie string
		status      int    // at the browser
		reason      string // in tktgate's line
	}{
		{"/some/page?probe=ok", alice, 200, "ok"},
		{"/some/page?probe=none", "", 302, "no_ticket"},
		{"/admin/x?probe=unauth", alice, 302, "token_denied"},
		{"/welcome?probe=url&auth_tkt=" + url.QueryEscape(raw), "", 200, "ok"},
	}
	probe := func(uri string) string {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("probe")
	}
	for _, r := range reqs {
		var h []string
		if r.cookie != "" {
			h = append(h, cookie(r.cookie))
		}
		if a := b.get(t, r.uri, h...); a.status != r.status {
			t.Fatalf("probe %s: status %d, want %d", probe(r.uri), a.status, r.status)
		}
	}

	// nginx's line: ... "GET /some/page?probe=ok HTTP/1.1" ... request_id=<32 hex>
	// nginx writes it after the answer is sent, and tktgate flushes its
	// lines within a second or so: both are read until complete.
	access := regexp.MustCompile(`"GET (\S+) HTTP/1\.1" .* request_id=(\S+)$`)
	type audit struct {
		RequestID string `json:"request_id"`
		URL       string `json:"url"`
		Reason    string `json:"reason"`
		ClientIP  string `json:"client_ip"`
	}
	nginxID := map[string]string{}
	gateID := map[string]audit{}
	var b1 []byte
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for (len(gateID) < len(reqs) || len(nginxID) < len(reqs)) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if b1, err = os.ReadFile(filepath.Join(dir, "access.log")); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b1)), "\n") {
			if m := access.FindStringSubmatch(line); m != nil {
				nginxID[probe(m[1])] = m[2]
			}
		}
		for _, line := range strings.Split(g.log.String(), "\n") {
			var a audit
			if !strings.Contains(line, `"msg":"auth answer"`) || json.Unmarshal([]byte(line), &a) != nil {
				continue
			}
			gateID[probe(strings.TrimPrefix(a.URL, "http://"+addr))] = a
		}
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for _, r := range reqs {
		p := probe(r.uri)
		n, a := nginxID[p], gateID[p]
		switch {
		case n == "":
			t.Errorf("probe %s: no line in nginx's access log:\n%s", p, b1)
		case a.URL == "":
			t.Errorf("probe %s: no audit line from tktgate:\n%s", p, g.log.String())
		case !hex32.MatchString(n) || a.RequestID != n:
			t.Errorf("probe %s: tktgate logged request_id %q, nginx %q", p, a.RequestID, n)
		case seen[n]:
			t.Errorf("probe %s: request_id %s used twice", p, n)
		}
		seen[n] = true
		if a.Reason != r.reason || a.ClientIP != "127.0.0.1" {
			t.Errorf("probe %s: tktgate logged reason %q, client_ip %q; want %s, 127.0.0.1", p, a.Reason, a.ClientIP, r.reason)
		}
	}
	if strings.Contains(g.log.String(), raw) || strings.Contains(g.log.String(), url.QueryEscape(raw)) || strings.Contains(g.log.String(), alice) {
		t.Errorf("a ticket reached tktgate's log:\n%s", g.log.String())
	}
}
