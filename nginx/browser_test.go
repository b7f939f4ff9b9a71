//go:build unix

package nginx_test

import (
	"encoding/json"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The sign-in flow in a real browser (chromium, see chromium_test.go):
// nginx on the shipped site files, tktgate, and a login service that
// signs tickets as the real ones do (loginapp_test.go). The curl-level
// tests (nginx_test.go) check each answer; these check what a browser
// makes of them: which cookies it keeps under which Domain and Secure
// rules, which one it sends first, where the redirects leave it.
//
// The TestBrowser functions are not parallel: they run before the
// parallel tests of the package, whose timing checks (cache entries that
// last a second) the browser's load would upset. Their cases run at once
// (concurrently).

// The host names (all 127.0.0.1, chromiumHostRules): the site and the
// login service share the parent domain site.test; www.other.test is
// another site on the same single sign-on, outside that domain.
const (
	siteHost   = "www.site.test"
	loginHost  = "login.site.test"
	otherHost  = "www.other.test"
	siteDomain = "site.test"
)

// loginShape is where the login page is and the cookie it sets.
type loginShape struct {
	name   string
	domain string // the cookie's Domain attribute; "" = host-only
	onSite bool   // the site's own /login (nginx's public location), else login.site.test
}

var (
	// Apache::AuthTkt's login CGI on login.site.test with TKTAuthDomain
	// site.test: the cookie reaches every host under site.test.
	domainLogin = loginShape{"Domain=site.test from login.site.test", siteDomain, false}
	// A login page on the site that sets a host-only cookie.
	hostLogin = loginShape{"host-only from the site's /login", "", true}
	// Apache::AuthTkt's login CGI on the site without TKTAuthDomain: it
	// falls back to its own host name, a Domain cookie all the same.
	selfLogin = loginShape{"Domain=www.site.test from the site's /login", siteHost, true}
)

// The shipped nginx sites the browser tests run on: tktgate.conf with the
// auth snippet tktgate-auth.conf, and with tktgate-auth-cached.conf (nginx
// caches tktgate's approvals).
var siteFiles = []string{"tktgate-auth.conf", "tktgate-auth-cached.conf"}

// browserSite is a chromium tab, the login service, and a site: nginx on
// a shipped site file in front of tktgate. More sites on the same login
// service and tab come from addSite.
type browserSite struct {
	*tab
	login *loginApp
	shape loginShape
	gate  *gate
	port  string // nginx's
}

// startBrowserSite starts a tab, the login service of shape, and a site
// with the auth snippet file, whose tktgate has keys added to its
// [ticket] table and the old/new pairs of edit replaced in its config
// (tktgateConfig's).
func startBrowserSite(t *testing.T, file string, shape loginShape, keys string, edit ...string) *browserSite {
	t.Helper()
	// The tab first: without chromium the test skips before starting
	// anything else.
	s := &browserSite{tab: newTab(t), shape: shape, login: startLoginApp(t, shape.domain)}
	s.gate, s.port = s.addSite(t, file, keys, edit...)
	return s
}

// addSite starts another nginx and tktgate on the same login service,
// and returns the tktgate and nginx's port.
func (s *browserSite) addSite(t *testing.T, file, keys string, edit ...string) (*gate, string) {
	t.Helper()
	// Where tktgate sends the browser: the login page, and the timeout
	// and unauth pages beside it (public locations on the site, or the
	// login service under its own name).
	base := ""
	if !s.shape.onSite {
		base = "http://" + loginHost + ":" + s.login.port()
	}
	redirects := "\n[redirect]\nlogin_url = \"" + base + "/login\"\ntimeout_url = \"" + base + "/public/timeout\"\nunauth_url = \"" + base + "/public/unauth\"\n"
	listen := freeAddr(t)
	conf := tktgateConfig(listen, false, "X-Real-IP", redirects)
	edit = append([]string{"[ticket]\n", "[ticket]\n" + keys}, edit...)
	for i := 0; i+1 < len(edit); i += 2 {
		if !strings.Contains(conf, edit[i]) {
			t.Fatalf("tktgate config lacks %q", edit[i])
		}
		conf = strings.Replace(conf, edit[i], edit[i+1], 1)
	}
	g := startTktgate(t, listen, conf)
	_, port, err := net.SplitHostPort(startShippedSite(t, file, listen, s.login.addr))
	if err != nil {
		t.Fatal(err)
	}
	return g, port
}

// startShippedSite runs nginx on the shipped files with the auth snippet
// auth, tktgate at gate and the application at app, as nginx_test.go
// renders them, and returns its address.
func startShippedSite(t *testing.T, auth, gate, app string) string {
	t.Helper()
	cache := ""
	if auth == "tktgate-auth-cached.conf" {
		cache = filepath.Join(t.TempDir(), "cache")
	}
	return startNginxFiles(t, shippedFiles(t, "tktgate-upstream.conf", []string{shippedGate, gate}, cache, shippedApp, app))
}

// page is the address of path on the first site.
func (s *browserSite) page(path string) string {
	return "http://" + siteHost + ":" + s.port + path
}

// loginURL is where tktgate sends the browser to sign in, for a site at
// siteOrigin.
func (s *browserSite) loginURL(siteOrigin string) string {
	if s.shape.onSite {
		return siteOrigin + "/login"
	}
	return "http://" + loginHost + ":" + s.login.port() + "/login"
}

// pageURL is the timeout or unauth page (name) beside the login page,
// under /public/.
func (s *browserSite) pageURL(siteOrigin, name string) string {
	return strings.TrimSuffix(s.loginURL(siteOrigin), "/login") + "/public/" + name
}

// signIn fills the login form the tab shows and submits it, for uid with
// tokens and a ticket dated age ago, and waits for the page it leads to,
// whose address starts with next.
func (s *browserSite) signIn(uid, tokens string, age time.Duration, next string) {
	s.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.ID("uid"), uid),
		chromedp.SetValue(chromedp.ID("age"), strconv.Itoa(int(age/time.Second))),
	}
	if tokens != "" { // the field is empty; chromedp refuses to set ""
		steps = append(steps, chromedp.SetValue(chromedp.ID("tokens"), tokens))
	}
	s.do("sign in", append(steps, chromedp.Click(chromedp.ID("signin")))...)
	s.waitURL(next)
}

// app is what the application received for the page the tab shows; it
// fails the test when the tab shows another page.
func (s *browserSite) app() *seen {
	s.t.Helper()
	text := run(s.tab, "read the page", chromedp.Evaluate[string](`(function(){var e=document.getElementById("seen");return e?e.textContent:""})()`))
	var v seen
	if text == "" || json.Unmarshal([]byte(text), &v) != nil {
		s.t.Fatalf("the tab shows %s: %q; want the application's page", s.location(), s.text())
	}
	v.URI = hideTicket(v.URI)
	return &v
}

// wantUser checks that the application's page is on and that it got user.
func (s *browserSite) wantUser(user string) *seen {
	s.t.Helper()
	app := s.app()
	if got := app.header("X-Remote-User"); got != user {
		s.t.Fatalf("the application at %s got X-Remote-User %q; want %q", s.location(), got, user)
	}
	return app
}

// header is the first value of what the application received in name.
func (v *seen) header(name string) string {
	if vs := v.Header[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// sentTickets are the auth_tkt values of the Cookie header the
// application received, in the order the browser sent them.
func (v *seen) sentTickets() []string {
	var out []string
	for _, line := range v.Header["Cookie"] {
		for _, c := range strings.Split(line, ";") {
			if val, ok := strings.CutPrefix(strings.TrimSpace(c), "auth_tkt="); ok {
				out = append(out, val)
			}
		}
	}
	return out
}

// describeSent shows tickets for a message.
func describeSent(tickets []string) string {
	var out []string
	for _, v := range tickets {
		out = append(out, "<"+ticketInfo(v)+">")
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// wantBack checks that the tab shows target?back=<page>.
func (s *browserSite) wantBack(target, page string) {
	s.t.Helper()
	got := s.location()
	back, ok := strings.CutPrefix(got, target+"?back=")
	if !ok {
		s.t.Fatalf("the tab shows %s; want %s?back=...", got, target)
	}
	if b, err := url.QueryUnescape(back); err != nil || b != page {
		s.t.Fatalf("the tab shows %s: back=%q; want %q", got, b, page)
	}
}

// concurrent runs subtests at once, each in a goroutine of its own.
// Unlike t.Parallel they do not queue for go test's -parallel slots (as
// many as CPUs): a browser test mostly waits, for the browser or for a
// ticket to expire.
type concurrent struct {
	t  *testing.T
	wg sync.WaitGroup
}

func concurrently(t *testing.T) *concurrent { return &concurrent{t: t} }

func (c *concurrent) run(name string, f func(t *testing.T)) {
	c.wg.Go(func() { c.t.Run(name, f) })
}

// wait waits for every case run started.
func (c *concurrent) wait() { c.wg.Wait() }

// tickets are the auth_tkt cookies the browser would send to url.
func (s *browserSite) tickets(url string) []*network.Cookie {
	return named(s.cookies(url), "auth_tkt")
}

// wantScope checks that c has the scope of the login's cookie: its
// Domain, or host-only on the site.
func wantScope(t *testing.T, c *network.Cookie, shape loginShape) {
	t.Helper()
	want := siteHost
	if shape.domain != "" {
		want = "." + shape.domain // Chromium's mark of a Domain cookie
	}
	if c.Domain != want || c.Path != "/" {
		t.Errorf("the jar holds %s; want it with domain %q, path /", describe([]*network.Cookie{c}), want)
	}
}

// domainKey is the [ticket] line that gives tktgate's cookies the scope
// of shape's.
func domainKey(shape loginShape) string {
	if shape.domain == "" {
		return ""
	}
	return "domain = \"" + shape.domain + "\"\n"
}

// 1. A protected page without a ticket: to the login page with back=,
// signed in, back on the very page, query string and all; the
// application knows the user.
func TestBrowserSignIn(t *testing.T) {
	c := concurrently(t)
	defer c.wait()
	for _, file := range siteFiles {
		for _, shape := range []loginShape{domainLogin, hostLogin} {
			c.run(file+", "+shape.name, func(t *testing.T) {
				s := startBrowserSite(t, file, shape, domainKey(shape))
				page := s.page("/some/page?x=1&y=a%20b&z=%C3%A9")
				s.open(page)
				s.wantBack(s.loginURL(s.page("")), page)
				s.signIn("alice", "editor", 0, s.page("/some/"))
				if got := s.location(); got != page {
					t.Fatalf("after signing in the tab shows %s; want %s", got, page)
				}
				app := s.wantUser("alice")
				if app.URI != "/some/page?x=1&y=a%20b&z=%C3%A9" {
					t.Errorf("the application got %q", app.URI)
				}
				if got := app.header("X-Remote-User-Tokens"); got != "editor" {
					t.Errorf("the application got X-Remote-User-Tokens %q; want editor", got)
				}
				tickets := s.tickets(page)
				if len(tickets) != 1 {
					t.Fatalf("the jar holds %s for the page; want one auth_tkt", describe(tickets))
				}
				wantScope(t, tickets[0], shape)
			})
		}
	}
}

// 2. A ticket past its refresh point (1h timeout, refresh 0.5: signed
// 40 minutes ago) comes back refreshed, and the browser keeps and sends
// the new one: when tktgate's domain is the login cookie's, the refreshed
// cookie replaces the login's, whatever its shape. When they differ the
// browser keeps both and sends the login's, older, first; mod_auth_tkt
// and tktgate read the first: README's "Cookies in the browser" says so,
// and tktgate warns.
func TestBrowserRefresh(t *testing.T) {
	c := concurrently(t)
	defer c.wait()
	shapes := []loginShape{domainLogin, hostLogin, selfLogin}
	for _, file := range siteFiles {
		for _, shape := range shapes {
			c.run(file+", "+shape.name+", the same domain", func(t *testing.T) {
				checkRefreshReplaces(t, startBrowserSite(t, file, shape, domainKey(shape)))
			})
		}
	}
	mismatch := map[loginShape]string{domainLogin: "", hostLogin: domainKey(domainLogin), selfLogin: ""}
	for _, shape := range shapes {
		c.run(siteFiles[0]+", "+shape.name+", tktgate's "+strings.TrimSpace(mismatch[shape]), func(t *testing.T) {
			checkRefreshMismatch(t, startBrowserSite(t, siteFiles[0], shape, mismatch[shape]))
		})
	}
}

// refreshAge is how old the login's ticket is: past its refresh point.
const refreshAge = 40 * time.Minute

// checkRefreshReplaces signs in with a ticket past its refresh point: the
// page that follows gets the refreshed ticket, which replaces the login's
// in the jar, and the next page is asked for with it alone.
func checkRefreshReplaces(t *testing.T, s *browserSite) {
	page := s.page("/work?doc=1")
	s.open(page)
	signed := time.Now().Truncate(time.Second)
	s.signIn("alice", "editor", refreshAge, page)
	s.wantUser("alice")
	tickets := s.tickets(page)
	if len(tickets) != 1 {
		t.Fatalf("after the refresh the jar holds %s for the page; want one auth_tkt", describe(tickets))
	}
	wantScope(t, tickets[0], s.shape)
	if ticketTime(tickets[0].Value).Before(signed) {
		t.Fatalf("after the refresh the jar holds %s; want the ticket refreshed at %s", describe(tickets), signed.Format(time.TimeOnly))
	}
	s.open(s.page("/next"))
	sent := s.wantUser("alice").sentTickets()
	if len(sent) != 1 || ticketTime(sent[0]).Before(signed) {
		t.Fatalf("the next page was asked for with auth_tkt %s; want only the refreshed ticket", describeSent(sent))
	}
}

// checkRefreshMismatch signs in with a ticket past its refresh point to a
// tktgate whose cookie domain is not the login's: the browser holds both
// cookies and sends the login's first, and tktgate says so in its log.
func checkRefreshMismatch(t *testing.T, s *browserSite) {
	page := s.page("/work")
	s.open(page)
	signed := time.Now().Truncate(time.Second)
	s.signIn("alice", "editor", refreshAge, page)
	s.open(s.page("/next"))
	sent := s.wantUser("alice").sentTickets()
	if len(sent) != 2 || !ticketTime(sent[0]).Before(signed) || ticketTime(sent[1]).Before(signed) {
		t.Fatalf("the next page was asked for with auth_tkt %s; want the login's old ticket, then the refreshed one", describeSent(sent))
	}
	if !strings.Contains(s.gate.log.String(), "several ticket cookies") {
		t.Errorf("tktgate did not warn about the two ticket cookies:\n%s", s.gate.log.String())
	}
}

// 3. Single sign-on across domains: a site outside the login's cookie
// domain gets the ticket in its URL (?auth_tkt=, as Apache::AuthTkt's
// login CGI sends it), tktgate lets it in and hands the ticket back as
// that site's own cookie, which the next pages use. As with mod_auth_tkt
// the ticket stays in the address bar, unless url_ticket_redirect sends
// the browser on to the same page without it.
func TestBrowserURLTicket(t *testing.T) {
	c := concurrently(t)
	defer c.wait()
	for _, file := range siteFiles {
		for _, redirect := range []bool{false, true} {
			c.run(file+", url_ticket_redirect "+strconv.FormatBool(redirect), func(t *testing.T) {
				checkURLTicket(t, file, redirect)
			})
		}
	}
}

// checkURLTicket signs in on login.site.test from a page of a second
// site, www.other.test, whose tktgate has url_ticket_redirect as redirect
// says.
func checkURLTicket(t *testing.T, file string, redirect bool) {
	s := startBrowserSite(t, file, domainLogin, domainKey(domainLogin))
	_, port := s.addSite(t, file, "url_ticket_redirect = "+strconv.FormatBool(redirect)+"\n")
	other := "http://" + otherHost + ":" + port
	page := other + "/shop?item=1"
	s.open(page)
	s.wantBack(s.loginURL(""), page)
	s.signIn("alice", "editor", 0, other+"/shop")
	app := s.wantUser("alice")
	if redirect {
		if got := s.location(); got != page {
			t.Errorf("signed in, the tab shows %s; want %s, without the ticket", got, page)
		}
		if app.URI != "/shop?item=1" {
			t.Errorf("the application got %q; want the page without the ticket", app.URI)
		}
	} else {
		if got := s.location(); got != page+"&auth_tkt=TICKET" {
			t.Errorf("signed in, the tab shows %s; want %s&auth_tkt=TICKET", got, page)
		}
		if app.URI != "/shop?item=1&auth_tkt=TICKET" {
			t.Errorf("the application got %q; want the page with the URL ticket", app.URI)
		}
	}
	// Redirects leave no entry in the history: with url_ticket_redirect,
	// no page the user can go back to holds the ticket.
	var inHistory []string
	for _, e := range run(s.tab, "read the history", chromedp.NavigationEntries()).Entries {
		if strings.Contains(e.URL, "auth_tkt=") {
			inHistory = append(inHistory, e.URL)
		}
	}
	if redirect && len(inHistory) > 0 {
		t.Errorf("the history holds %d pages with a ticket in the URL; want none", len(inHistory))
	} else if !redirect && len(inHistory) == 0 {
		t.Errorf("the history holds no page with a ticket in the URL; want the one signed in to, as mod_auth_tkt leaves it")
	}
	tickets := s.tickets(page)
	if len(tickets) != 1 || tickets[0].Domain != otherHost {
		t.Fatalf("the jar holds %s for %s; want one host-only auth_tkt", describe(tickets), otherHost)
	}
	if got := s.tickets(s.page("/")); len(got) != 1 || got[0].Domain != "."+siteDomain {
		t.Errorf("the jar holds %s for %s; want the login's Domain cookie", describe(got), siteHost)
	}
	s.open(other + "/cart")
	if sent := s.wantUser("alice").sentTickets(); len(sent) != 1 {
		t.Errorf("the next page was asked for with auth_tkt %s; want the URL ticket's cookie", describeSent(sent))
	}
}

// 4. A ticket that expires while the user works (timeout 1h, refresh
// off: signed 3594 s before): the next page sends the browser to the
// timeout page, with back=, and the cookie is gone from the jar.
func TestBrowserExpiry(t *testing.T) {
	c := concurrently(t)
	defer c.wait()
	for _, file := range siteFiles {
		for _, shape := range []loginShape{domainLogin, hostLogin} {
			c.run(file+", "+shape.name, func(t *testing.T) {
				s := startBrowserSite(t, file, shape, domainKey(shape), "timeout_refresh = 0.5", "timeout_refresh = 0")
				s.open(s.page("/work"))
				// Six seconds to live: time for the page after the
				// sign-in on a busy machine.
				s.signIn("alice", "editor", time.Hour-6*time.Second, s.page("/work"))
				s.wantUser("alice")
				got := s.tickets(s.page("/"))
				if len(got) != 1 {
					t.Fatalf("signed in, the jar holds %s; want one auth_tkt", describe(got))
				}
				// Expired once a whole second past its hour, as in
				// mod_auth_tkt.
				time.Sleep(time.Until(ticketTime(got[0].Value).Add(time.Hour + 1100*time.Millisecond)))
				later := s.page("/later?x=1")
				s.open(later)
				s.wantBack(s.pageURL(s.page(""), "timeout"), later)
				if got := s.tickets(s.page("/")); len(got) != 0 {
					t.Errorf("after the timeout the jar holds %s; want no auth_tkt", describe(got))
				}
			})
		}
	}
}

// 5. A valid ticket without the admin token, at the admin location: the
// unauth page, with back=; the ticket stays, and serves elsewhere.
func TestBrowserForbidden(t *testing.T) {
	c := concurrently(t)
	defer c.wait()
	for _, file := range siteFiles {
		for _, shape := range []loginShape{domainLogin, hostLogin} {
			c.run(file+", "+shape.name, func(t *testing.T) {
				s := startBrowserSite(t, file, shape, domainKey(shape))
				admin := s.page("/admin/users?sort=name")
				s.open(admin)
				s.wantBack(s.loginURL(s.page("")), admin)
				unauth := s.pageURL(s.page(""), "unauth")
				s.signIn("alice", "editor", 0, unauth)
				s.wantBack(unauth, admin)
				if got := s.tickets(admin); len(got) != 1 {
					t.Fatalf("the jar holds %s; want alice's ticket kept", describe(got))
				}
				s.open(s.page("/docs"))
				s.wantUser("alice")
			})
		}
	}
}

// 6. cookie_secure on a site served over plain http, as README's "Cookies
// in the browser" says: the browser drops the refreshed ticket's Secure
// cookie and keeps sending the login's, until it expires; tktgate warns.
// On http://localhost the same cookie is kept (chromium treats loopback
// addresses as secure), which is why a test there shows nothing.
func TestBrowserSecureCookieOverHTTP(t *testing.T) {
	s := startBrowserSite(t, siteFiles[0], hostLogin, "cookie_secure = true\n")
	page := s.page("/work")
	s.open(page)
	s.signIn("alice", "editor", refreshAge, page)
	s.wantUser("alice")
	s.open(s.page("/next"))
	sent := s.wantUser("alice").sentTickets()
	if len(sent) != 1 || time.Since(ticketTime(sent[0])) < refreshAge-time.Minute {
		t.Errorf("the next page was asked for with auth_tkt %s; want the login's ticket only", describeSent(sent))
	}
	for _, c := range s.tickets(page) {
		if c.Secure {
			t.Errorf("the jar holds a Secure cookie set over http: %s", describe([]*network.Cookie{c}))
		}
	}
	if !strings.Contains(s.gate.log.String(), "cookie_secure is on but") {
		t.Errorf("tktgate did not warn about cookie_secure over http:\n%s", s.gate.log.String())
	}

	local := "http://localhost:" + s.port + "/work"
	s.open(local)
	s.signIn("alice", "editor", refreshAge, local)
	if got := s.tickets(local); len(got) != 1 || !got[0].Secure {
		t.Errorf("on localhost the jar holds %s; want the refreshed Secure cookie", describe(got))
	}
}
