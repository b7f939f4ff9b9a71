//go:build unix

package nginx_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/pageview"
)

// pageCookies puts a ticket among the cookies of a page view.
func pageCookies(name, tkt string) string {
	return "_ga=GA1.1.1283746519.1733312345; _gid=GA1.2.918273645.1733312345; _pk_id.3.a1b2=5c8e1f0a9b2d4c7e.1733312345.; " +
		"SESSIONID=Zk3q9VbX2mP7tR1wY8nC4dL6hJ0sA5eG; " + name + "=" + tkt + "; cookieconsent_status=dismiss; theme=dark"
}

// subrequestHeaders are the header names (lower case) that nginx sends
// tktgate with the shipped tktgate-auth.conf: what tktgate reads, and
// Host (nginx's default, the upstream's name). Traceparent comes on top
// when the browser's request has one.
var subrequestHeaders = []string{"cookie", "host", "x-forwarded-for", "x-original-method", "x-original-url", "x-real-ip", "x-request-id"}

// subrequest is one request nginx sent tktgate.
type subrequest struct {
	line    string
	names   []string            // lower case, sorted, as many as lines
	headers map[string][]string // by lower-case name, in order
}

// subrequests parses what nginx sent tktgate through r (requests without
// bodies), from the from-th on.
func subrequests(t *testing.T, r *relay, from int) []subrequest {
	t.Helper()
	var out []subrequest
	blocks := strings.Split(r.sent.String(), "\r\n\r\n")
	for _, b := range blocks[:len(blocks)-1] {
		lines := strings.Split(b, "\r\n")
		s := subrequest{line: lines[0], headers: map[string][]string{}}
		for _, l := range lines[1:] {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				t.Fatalf("subrequest %q: bad header line %q", lines[0], l)
			}
			k = strings.ToLower(k)
			s.names = append(s.names, k)
			s.headers[k] = append(s.headers[k], strings.TrimSpace(v))
		}
		slices.Sort(s.names)
		out = append(out, s)
	}
	if len(out) < from {
		t.Fatalf("%d subrequests reached tktgate; want more than %d", len(out), from)
	}
	return out[from:]
}

// send is browser.get with any method.
func (b *browser) send(t *testing.T, method, uri string, headers ...string) *answer {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+b.addr+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ": ")
		if !ok {
			t.Fatalf("bad header %q", h)
		}
		req.Header.Add(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := &answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var s seen
		if json.Unmarshal(body, &s) == nil {
			a.app = &s
		}
	}
	return a
}

// The shipped tktgate-auth.conf sends tktgate only what it reads
// (proxy_pass_request_headers off): a browser's page view reaches tktgate
// as the Cookie header and the lines the file sets, and every answer
// that depends on the request is still right: the user, URL tickets,
// the timeout page of a POST (X-Original-Method), the denials' back=,
// the audit line's traceparent, and each dialect's reading of several
// Cookie headers, which nginx now joins into one with "; ".
func TestNginxSubrequestHeaders(t *testing.T) {
	t.Parallel()
	listen := freeAddr(t)
	extra := "post_timeout_url = \"/post-timeout\"\n\n[policy.pp]\ndialect = \"passport\"\n\n[policy.py]\ndialect = \"pyramid\"\ntimeout_refresh = 0\n"
	g := startTktgate(t, listen, "log_requests = \"all\"\n"+tktgateConfig(listen, true, "X-Real-IP", extra))
	r := startRelay(t, g.addr)
	app := startApp(t)
	f := shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, r.addr()}, "", shippedApp, app)
	// Two more protected locations, for the passport and pyramid
	// policies.
	f.edit(t, "sites/tktgate.conf", "    location /public/ {", `    location /pp/ {
        auth_request /_tktgate/auth/pp;
        include snippets/tktgate-location.conf;
        proxy_pass http://app;
    }
    location /py/ {
        auth_request /_tktgate/auth/py;
        include snippets/tktgate-location.conf;
        proxy_pass http://app;
    }

    location /public/ {`)
	addr := startNginxFiles(t, f)
	b := newBrowser(addr, "", "")
	now := time.Now()
	alice := g.ticket(t, "alice", "127.0.0.1", "editor", "Alice Smith", now, false)
	page := func(cookies ...string) []string {
		h := slices.Clone(pageview.ChromeHeaders)
		for _, c := range cookies {
			h = append(h, "Cookie: "+c)
		}
		return h
	}
	// last returns the one subrequest since n, after checking it carries
	// exactly the expected headers, once each.
	last := func(t *testing.T, n int, extra ...string) subrequest {
		t.Helper()
		subs := subrequests(t, r, n)
		if len(subs) != 1 {
			t.Fatalf("%d subrequests for one page view; want 1", len(subs))
		}
		s := subs[0]
		want := append(slices.Clone(subrequestHeaders), extra...)
		slices.Sort(want)
		if !slices.Equal(s.names, want) {
			t.Errorf("tktgate got the headers %q; want exactly %q", s.names, want)
		}
		return s
	}
	count := func() int { return len(subrequests(t, r, 0)) }

	t.Run("a page view: tktgate gets only what it reads", func(t *testing.T) {
		n := count()
		c := pageCookies("auth_tkt", alice)
		a := b.get(t, "/reports?q=1", page(c)...)
		wantUser(t, a, "alice", "editor", "Alice Smith")
		s := last(t, n)
		if got := s.headers["cookie"]; !slices.Equal(got, []string{c}) {
			t.Errorf("tktgate got Cookie %q; want the browser's %q", got, c)
		}
		for k, want := range map[string]string{"x-real-ip": "127.0.0.1", "x-forwarded-for": "127.0.0.1", "x-original-url": b.origin() + "/reports?q=1", "x-original-method": "GET"} {
			if got := s.headers[k]; !slices.Equal(got, []string{want}) {
				t.Errorf("tktgate got %s %q; want %q", k, got, want)
			}
		}
		// The application still gets the browser's headers.
		if got, _ := a.appHeader("User-Agent"); len(got) != 1 || !strings.Contains(got[0], "Chrome/131") {
			t.Errorf("the application got User-Agent %q", got)
		}
	})
	t.Run("a trace context reaches tktgate's audit line", func(t *testing.T) {
		n := count()
		const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		wantUser(t, b.get(t, "/traced", append(page(pageCookies("auth_tkt", alice)), "traceparent: "+tp)...), "alice", "editor", "Alice Smith")
		if got := last(t, n, "traceparent").headers["traceparent"]; !slices.Equal(got, []string{tp}) {
			t.Errorf("tktgate got traceparent %q; want %q", got, tp)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(g.log.String(), `"traceparent":"`+tp+`"`) {
			if time.Now().After(deadline) {
				t.Fatalf("no audit line with the traceparent in tktgate's log:\n%s", g.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("a URL ticket: access, and the ticket becomes a cookie", func(t *testing.T) {
		n := count()
		raw := g.ticket(t, "uma", "127.0.0.1", "", "", now, true)
		a := b.get(t, "/welcome?auth_tkt="+url.QueryEscape(raw)+"&y=2", page(pageCookies("other", "1"))...)
		wantUser(t, a, "uma", "", "")
		if c := a.cookie("auth_tkt"); c == nil || c.Value == "" {
			t.Errorf("Set-Cookie %q; want the URL ticket as auth_tkt", a.header.Values("Set-Cookie"))
		}
		last(t, n)
	})
	t.Run("an expired ticket: a POST goes to post_timeout_url, a GET to timeout_url", func(t *testing.T) {
		old := g.ticket(t, "alice", "127.0.0.1", "editor", "", now.Add(-2*time.Hour), false)
		for method, target := range map[string]string{"POST": "/post-timeout", "GET": "/timeout"} {
			n := count()
			a := b.send(t, method, "/form", page(pageCookies("auth_tkt", old))...)
			checkRedirect(t, a, b.origin()+target, b.origin()+"/form")
			if got := last(t, n).headers["x-original-method"]; !slices.Equal(got, []string{method}) {
				t.Errorf("tktgate got X-Original-Method %q; want %s", got, method)
			}
		}
	})
	t.Run("no ticket: login, with the page in back=", func(t *testing.T) {
		n := count()
		a := b.get(t, "/some/page?x=1", page(pageCookies("other", "1"))...)
		checkRedirect(t, a, b.origin()+"/login", b.origin()+"/some/page?x=1")
		last(t, n)
	})

	// Several Cookie headers (an HTTP/1.1 client may send them; HTTP/2
	// cookie crumbs reach nginx's $http_cookie the same way): nginx hands
	// tktgate one line, joined with "; ", and each dialect reads it as
	// its library reads such a request.
	pp := g.ticketFor(t, "pp", "alice", now)
	py := g.ticketFor(t, "py", "alice", now)
	for _, c := range []struct {
		name, path string
		lines      []string
		user       string // "" = denied: to the login page
	}{
		{"mod_auth_tkt, the ticket in the second header", "/x", []string{"a=1", "auth_tkt=" + alice}, "alice"},
		{"mod_auth_tkt, the ticket ends the first header", "/x", []string{"auth_tkt=" + alice, "b=2"}, "alice"},
		// The one answer that differs from forwarding the lines as they
		// are: joined with ", " (httpd's way over HTTP/1.1, which tktgate
		// follows for lines it gets apart) the empty auth_tkt= would have
		// ", auth_tkt=<ticket>" as its value and be refused, as Apache
		// refuses it. Joined with "; ", as nginx has always joined HTTP/2
		// cookie crumbs and as tktgate-auth-cached.conf's cache key holds
		// them, the empty one is skipped and the ticket read.
		{"mod_auth_tkt, an empty ticket first", "/x", []string{"auth_tkt=", "auth_tkt=" + alice}, "alice"},
		// Node.js joins them with "; " too.
		{"passport, the ticket in the second header", "/pp/x", []string{"a=1", "authtkt=" + pp}, "alice"},
		{"passport takes the first authtkt, even empty", "/pp/x", []string{"authtkt=", "authtkt=" + pp}, ""},
		// WebOb: the last one wins.
		{"pyramid, the ticket in the second header", "/py/x", []string{"a=1", "auth_tkt=" + py}, "alice"},
		{"pyramid, the last auth_tkt wins (a bad one)", "/py/x", []string{"auth_tkt=" + py, "auth_tkt=x"}, ""},
		{"pyramid, the last auth_tkt wins (the ticket)", "/py/x", []string{"auth_tkt=x", "auth_tkt=" + py}, "alice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := count()
			a := b.get(t, c.path, page(c.lines...)...)
			if c.user == "" {
				checkRedirect(t, a, b.origin()+"/login", b.origin()+c.path)
			} else if a.status != 200 || a.app == nil || a.app.Header.Get("X-Remote-User") != c.user {
				t.Errorf("status %d, application reached %v; want 200 for %s", a.status, a.app != nil, c.user)
			}
			if got, want := last(t, n).headers["cookie"], []string{strings.Join(c.lines, "; ")}; !slices.Equal(got, want) {
				t.Errorf("tktgate got Cookie %q; want %q", got, want)
			}
		})
	}
}

// ticketFor mints a base64 ticket with policy's settings (its dialect).
func (g *gate) ticketFor(t *testing.T, policy, uid string, ts time.Time) string {
	t.Helper()
	out, err := exec.Command(g.bin, "ticket", "-config", g.config, "-policy", policy, "-uid", uid, "-ts", strconv.FormatInt(ts.Unix(), 10)).Output()
	if err != nil {
		t.Fatalf("tktgate ticket -policy %s: %v", policy, err)
	}
	return strings.TrimRight(string(out), "\r\n")
}
