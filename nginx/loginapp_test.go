//go:build unix

package nginx_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// loginApp is the browser tests' application and login service in one
// HTTP server: the protected pages (behind nginx), the login page (behind
// nginx at /login, or reached directly under its own host name), and the
// timeout and unauth pages (/public/..., which the shipped configs leave
// unprotected).
//
// The login page signs tickets as the real login services do: Apache::
// AuthTkt's login CGI sets the base64 ticket in auth_tkt with
// "path=/" and the Domain it is configured with (TKTAuthDomain), other
// services leave the Domain out (a host-only cookie). Like that CGI, it
// sends a page on another domain its ticket in the URL (?auth_tkt=),
// since the cookie will not reach it.
type loginApp struct {
	addr   string
	v      *verifier.Verifier
	domain string // the ticket cookie's Domain attribute; "" = host-only
}

// The tktgate config's secret (tktgateConfig) and the address nginx
// connects from, which the tickets are bound to.
const (
	loginSecret = "nginx-test-secret"
	loginIP     = "127.0.0.1"
)

func startLoginApp(t *testing.T, domain string) *loginApp {
	t.Helper()
	v, err := verifier.New(verifier.Options{Secret: []byte(loginSecret), Timeout: time.Hour, Refresh: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &loginApp{addr: ln.Addr().String(), v: v, domain: domain}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

// port is the port the login service listens on, for its own host name.
func (a *loginApp) port() string {
	_, p, _ := net.SplitHostPort(a.addr)
	return p
}

func (a *loginApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == "/login" && r.Method == http.MethodPost:
		a.signIn(w, r)
	case r.URL.Path == "/login":
		page(w, "login", `<form method="post" action="/login">
<input type="hidden" name="back" value="`+html.EscapeString(r.FormValue("back"))+`">
<input name="uid" id="uid"> <input name="tokens" id="tokens">
<input name="age" id="age" value="0"> seconds ago
<button id="signin">Sign in</button>
</form>`)
	case strings.HasPrefix(r.URL.Path, "/public/"):
		// timeout_url and unauth_url: a page saying which, and where the
		// user was.
		page(w, strings.TrimPrefix(r.URL.Path, "/public/"), `<p id="back">`+html.EscapeString(r.FormValue("back"))+`</p>`)
	default:
		// A protected page: what the application received.
		b, _ := json.Marshal(seen{URI: r.URL.RequestURI(), Header: r.Header})
		page(w, "app", `<pre id="seen">`+html.EscapeString(string(b))+`</pre>`)
	}
}

func page(w http.ResponseWriter, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html>\n<title>%s</title>\n<h1>%s</h1>\n%s\n", title, title, body)
}

// signIn signs a ticket for the form's uid and tokens, dated age seconds
// ago, sets it as the cookie and sends the browser back, with the ticket
// in the URL when back is on a host the cookie does not reach.
func (a *loginApp) signIn(w http.ResponseWriter, r *http.Request) {
	age, _ := strconv.Atoi(r.FormValue("age"))
	raw := a.v.Sign(nil, []byte(r.FormValue("uid")), []byte(r.FormValue("tokens")), nil,
		netip.MustParseAddr(loginIP), time.Now().Add(-time.Duration(age)*time.Second))
	if len(raw) == 0 {
		http.Error(w, "cannot sign that", http.StatusBadRequest)
		return
	}
	tkt := base64.StdEncoding.EncodeToString(raw)
	c := "auth_tkt=" + tkt + "; path=/"
	if a.domain != "" {
		c += "; domain=" + a.domain
	}
	w.Header().Add("Set-Cookie", c)
	back, err := url.Parse(r.FormValue("back"))
	if err != nil || back.Host == "" {
		http.Error(w, "no back URL", http.StatusBadRequest)
		return
	}
	if !a.reaches(back.Hostname(), hostOnly(r.Host)) {
		sep := "?"
		if back.RawQuery != "" {
			sep = "&"
		}
		// Raw: a base64 ticket has no character a query needs escaped
		// but '+', which tktgate, like mod_auth_tkt, takes as it is.
		back, _ = url.Parse(back.String() + sep + "auth_tkt=" + tkt)
	}
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// reaches tells whether the cookie set on the login's host reaches host.
func (a *loginApp) reaches(host, loginHost string) bool {
	if a.domain == "" {
		return host == loginHost
	}
	return host == a.domain || strings.HasSuffix(host, "."+a.domain)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// ticketInfo shows a base64 ticket's user and date for a message (never
// the ticket: its digest is a secret's).
func ticketInfo(value string) string {
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(raw) < 40 {
		return fmt.Sprintf("not a ticket, %d bytes", len(value))
	}
	ts, err := strconv.ParseInt(string(raw[32:40]), 16, 64)
	if err != nil {
		return "not a ticket"
	}
	uid, _, _ := strings.Cut(string(raw[40:]), "!")
	return fmt.Sprintf("%s, issued %s", uid, time.Unix(ts, 0).Format(time.TimeOnly))
}

// ticketTime is a base64 ticket's date (zero if it is none).
func ticketTime(value string) time.Time {
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(raw) < 40 {
		return time.Time{}
	}
	ts, err := strconv.ParseInt(string(raw[32:40]), 16, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(ts, 0)
}
