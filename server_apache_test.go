package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/apachetest"
	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/internal/rawhttp"
	"github.com/tktgate/tktgate/verifier"
)

// This file is the HTTP-level differential test against the real
// mod_auth_tkt: the same request (Cookie lines, client IP, URL with or
// without a ticket in its query) goes to an Apache started by package
// apachetest, as the user's request, and to tktgate, as nginx's
// auth_request subrequest with X-Original-URL. Each Apache <Location /NAME>
// has a tktgate [policy.NAME] with the same settings. Both must give
//
//   - the same verdict: Apache 200 ↔ 200; Apache 307 to the login,
//     timeout or unauth URL ↔ 401, 401 or 403 with a Location to the same
//     URL, byte for byte (back= included);
//   - the same user, tokens and data (what Apache exports ↔ X-Remote-User*);
//   - the same cookie decision: a new ticket on both sides or neither, a
//     clearing cookie on both sides or neither; and each side must accept
//     the ticket the other sent.
//
// Known differences are either not generated (control bytes in tickets,
// tickets dated beyond max_future: the verifier's own Apache test checks
// those) or recognised, counted and logged rather than failed (the known*
// constants): deliberate ones (the cookie domain mod_auth_tkt falls back
// to, the URL ticket it copies into a cookie before validating it, no
// Set-Cookie on a 403) and mod_auth_tkt bugs tktgate does not copy. The
// back= URLs where the two differ on purpose or by an Apache bug are pinned
// by the "back-url" subtest, which names each difference.
//
// The seed is logged; TKTGATE_SERVER_APACHE_SEED=<n> replays the cases
// (tickets are dated relative to the clock, and kept adMargin away from
// every expiry and refresh point).

const adSeedEnv = "TKTGATE_SERVER_APACHE_SEED"

const (
	adLoginURL   = apachetest.LoginURL // "http://login.test/login"
	adTimeoutURL = "http://timeout.test/"
	adUnauthURL  = "http://unauth.test/"
	adCookie     = "auth_tkt"
	// adHost is the host of the user's URL: Apache gets it as
	// X-Forwarded-Host, tktgate inside X-Original-URL. Without a port, as
	// mod_auth_tkt drops the port from back= (see the back-url subtest).
	adHost   = "app.test"
	adMargin = time.Minute
	adSkew   = 10 * time.Second
)

// adLoc is one protected area: an Apache <Location /name> and a tktgate
// [policy.name] meaning the same.
type adLoc struct {
	name        string
	apache      []string // mod_auth_tkt directives
	policy      []string // TOML lines under [policy.name]
	timeout     time.Duration
	refresh     float64
	ignoreIP    bool
	tokens      []string
	guest       bool
	fallback    bool
	guestCookie bool
	// check is where the new ticket one side sent is tried on the other
	// side: a location without guest access, where a bad ticket shows.
	check string
	// domain is the cookie domain both sides are configured with; when
	// empty, mod_auth_tkt's fallback to the Host is a known difference.
	domain string
	// site, when set, is the <VirtualHost> (and the policy's own
	// secrets) the location belongs to: see adSites.
	site string
}

var adLocs = []adLoc{
	{name: "plain", apache: []string{"TKTAuthTimeout 0"}, policy: []string{"timeout = 0"}},
	{name: "timeout", apache: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 0"},
		policy: []string{`timeout = "1h"`, "timeout_refresh = 0"}, timeout: time.Hour},
	{name: "refresh", apache: []string{"TKTAuthTimeout 60m", "TKTAuthTimeoutRefresh 0.5"},
		policy: []string{"timeout = 3600", "timeout_refresh = 0.5"}, timeout: time.Hour, refresh: 0.5},
	// Several arguments add up in Apache.
	{name: "sum", apache: []string{"TKTAuthTimeout 1h 30m", "TKTAuthTimeoutRefresh 0.33"},
		policy: []string{`timeout = "1h30m"`, "timeout_refresh = 0.33"}, timeout: 90 * time.Minute, refresh: 0.33},
	{name: "always", apache: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 1"},
		policy: []string{`timeout = "1h"`, "timeout_refresh = 1"}, timeout: time.Hour, refresh: 1},
	// mod_auth_tkt's defaults (7200 s, 0.5) against tktgate's.
	{name: "default", timeout: 2 * time.Hour, refresh: 0.5},
	{name: "noip", apache: []string{"TKTAuthTimeout 1h", "TKTAuthIgnoreIP on"},
		policy: []string{`timeout = "1h"`, "ignore_ip = true"}, timeout: time.Hour, refresh: 0.5, ignoreIP: true},
	{name: "tokens", apache: []string{"TKTAuthTimeout 0", "TKTAuthToken admin editor"},
		policy: []string{"timeout = 0", `tokens = ["admin", "editor"]`}, tokens: []string{"admin", "editor"}},
	// A required token with a space inside, quoted in Apache.
	{name: "tokspace", apache: []string{"TKTAuthTimeout 0", `TKTAuthToken "x y" editor`},
		policy: []string{"timeout = 0", `tokens = ["x y", "editor"]`}, tokens: []string{"x y", "editor"}},
	{name: "tokrefresh", apache: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 0.5", "TKTAuthToken admin"},
		policy: []string{`timeout = "1h"`, "timeout_refresh = 0.5", `tokens = ["admin"]`}, timeout: time.Hour, refresh: 0.5, tokens: []string{"admin"}},
	{name: "guest", apache: []string{"TKTAuthTimeout 1h", "TKTAuthGuestLogin on"},
		policy: []string{`timeout = "1h"`, "guest_login = true"}, timeout: time.Hour, refresh: 0.5, guest: true, check: "refresh"},
	{name: "guestfb", apache: []string{"TKTAuthTimeout 1h", "TKTAuthGuestLogin on", "TKTAuthGuestFallback on", "TKTAuthGuestUser visitor"},
		policy:  []string{`timeout = "1h"`, "guest_login = true", "guest_fallback = true", `guest_user = "visitor"`},
		timeout: time.Hour, refresh: 0.5, guest: true, fallback: true, check: "refresh"},
	{name: "guestcookie", apache: []string{"TKTAuthTimeout 1h", "TKTAuthGuestLogin on", "TKTAuthGuestCookie on", "TKTAuthGuestUser g-%8U-x"},
		policy:  []string{`timeout = "1h"`, "guest_login = true", "guest_cookie = true", `guest_user = "g-%8U-x"`},
		timeout: time.Hour, refresh: 0.5, guest: true, guestCookie: true, check: "refresh"},
	// mod_auth_tkt keeps what precedes %U only when it is longer than one
	// character (regm[0].rm_so > 1).
	{name: "guestpre", apache: []string{"TKTAuthTimeout 0", "TKTAuthGuestLogin on", "TKTAuthGuestUser u%4U"},
		policy: []string{"timeout = 0", "guest_login = true", `guest_user = "u%4U"`}, guest: true, check: "plain"},
	// %NU with N of 0 or beyond 36 is the whole UUID; the first %NU is
	// found wherever it is.
	{name: "guest0", apache: []string{"TKTAuthTimeout 0", "TKTAuthGuestLogin on", "TKTAuthGuestUser g-%0U"},
		policy: []string{"timeout = 0", "guest_login = true", `guest_user = "g-%0U"`}, guest: true, check: "plain"},
	{name: "guest50", apache: []string{"TKTAuthTimeout 0", "TKTAuthGuestLogin on", "TKTAuthGuestUser g-%50U-x"},
		policy: []string{"timeout = 0", "guest_login = true", `guest_user = "g-%50U-x"`}, guest: true, check: "plain"},
	{name: "guestpct", apache: []string{"TKTAuthTimeout 0", "TKTAuthGuestLogin on", "TKTAuthGuestUser 50%-%4U%2U"},
		policy: []string{"timeout = 0", "guest_login = true", `guest_user = "50%-%4U%2U"`}, guest: true, check: "plain"},
	// TKTAuthGuestEmpty wins over TKTAuthGuestUser; the guest's ticket has
	// an empty uid. (TKTAuthGuestUser "" is a syntax error in Apache.)
	{name: "guestempty", apache: []string{"TKTAuthTimeout 1h", "TKTAuthGuestLogin on", "TKTAuthGuestUser visitor", "TKTAuthGuestEmpty on", "TKTAuthGuestCookie on"},
		policy:  []string{`timeout = "1h"`, "guest_login = true", `guest_user = "visitor"`, "guest_empty = true", "guest_cookie = true"},
		timeout: time.Hour, refresh: 0.5, guest: true, guestCookie: true, check: "refresh"},
	{name: "guesttokens", apache: []string{"TKTAuthTimeout 0", "TKTAuthGuestLogin on", "TKTAuthToken admin"},
		policy: []string{"timeout = 0", "guest_login = true", `tokens = ["admin"]`}, tokens: []string{"admin"}, guest: true, check: "tokens"},
	// Cookie attributes both sides are told, so they can be compared.
	{name: "attrs", apache: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 1", "TKTAuthDomain example.test", "TKTAuthCookieSecure on", "TKTAuthCookieExpires 2h"},
		policy:  []string{`timeout = "1h"`, "timeout_refresh = 1", `domain = "example.test"`, "cookie_secure = true", `cookie_expires = "2h"`},
		timeout: time.Hour, refresh: 1, domain: "example.test"},

	// For the back-url subtest only.
	{name: "rel", apache: []string{"TKTAuthLoginURL /login"}, policy: []string{`login_url = "/login"`}, timeout: 2 * time.Hour, refresh: 0.5},
	{name: "relpath", apache: []string{"TKTAuthLoginURL pub/login.cgi"}, policy: []string{`login_url = "pub/login.cgi"`}, timeout: 2 * time.Hour, refresh: 0.5},
	{name: "loginq", apache: []string{"TKTAuthLoginURL http://login.test/login?app=1"}, policy: []string{`login_url = "http://login.test/login?app=1"`}, timeout: 2 * time.Hour, refresh: 0.5},
	{name: "backarg", apache: []string{"TKTAuthBackArgName return"}, policy: []string{`back_arg_name = "return"`}, timeout: 2 * time.Hour, refresh: 0.5},
	{name: "noback", apache: []string{"TKTAuthBackArgName None"}, policy: []string{`back_arg_name = "None"`}, timeout: 2 * time.Hour, refresh: 0.5},
	{name: "backcookie", apache: []string{"TKTAuthBackCookieName bk"}, policy: []string{`back_cookie_name = "bk"`}, timeout: 2 * time.Hour, refresh: 0.5},
	{name: "dom", apache: []string{"TKTAuthDomain example.test"}, policy: []string{`domain = "example.test"`}, timeout: 2 * time.Hour, refresh: 0.5, domain: "example.test"},
}

// adMain are the locations the random cases use.
var adMain = []string{"plain", "timeout", "refresh", "sum", "always", "default", "noip", "tokens", "tokspace", "tokrefresh", "guest", "guestfb", "guestcookie", "guestpre", "guest0", "guest50", "guestpct", "guestempty", "guesttokens", "attrs"}

// adEnv is one Apache and one tktgate configured alike, for one digest
// type (it is server-wide in Apache).
type adEnv struct {
	digest      verifier.Digest
	secret, old string
	apache      *apachetest.Server
	gate        *adClient
	locs        map[string]adLoc
	vs          map[string]*verifier.Verifier
	sites       map[string]adSite // the virtual hosts, by adLoc.site
}

func adStart(t *testing.T, d verifier.Digest) *adEnv {
	e := &adEnv{digest: d, locs: map[string]adLoc{}, vs: map[string]*verifier.Verifier{}}
	e.secret, e.old = apachetest.Secrets(d.String())
	cfg := apachetest.Config{Secret: e.secret, OldSecret: e.old, DigestType: d.String()}
	var toml strings.Builder
	fmt.Fprintf(&toml, "[ticket]\nsecret = %q\nsecret_old = %q\ndigest_type = %q\n", e.secret, e.old, d.String())
	fmt.Fprintf(&toml, "[redirect]\nlogin_url = %q\ntimeout_url = %q\nunauth_url = %q\n", adLoginURL, adTimeoutURL, adUnauthURL)
	for _, l := range adLocs {
		cfg.Locations = append(cfg.Locations, apachetest.Location{
			Path:       "/" + l.name,
			Directives: append([]string{"TKTAuthTimeoutURL " + adTimeoutURL, "TKTAuthUnauthURL " + adUnauthURL}, l.apache...),
		})
		fmt.Fprintf(&toml, "[policy.%s]\n%s\n", l.name, strings.Join(l.policy, "\n"))
		v, err := verifier.New(verifier.Options{
			Secret: []byte(e.secret), OldSecret: []byte(e.old), Digest: d,
			IgnoreIP: l.ignoreIP, Timeout: l.timeout, Refresh: l.refresh,
		})
		if err != nil {
			t.Fatal(err)
		}
		e.vs[l.name] = v
		e.locs[l.name] = l
	}
	e.apache = apachetest.Start(t, cfg)
	addr, _, _ := startServer(t, toml.String())
	e.gate = &adClient{addr: addr}
	t.Cleanup(e.gate.close)
	return e
}

// ---- tickets ----

// adTkt is a ticket built from the formula in docs/auth_tkt.md, so that
// tampered and old-secret tickets can be made too.
type adTkt struct {
	uid, tokens, data string
	ts                uint32
	ip                netip.Addr // zero: 0.0.0.0
	old               bool
	secret            string // overrides the secret
	bang2             bool   // "uid!!data" without tokens
}

func (e *adEnv) text(k adTkt) string {
	t := apachetest.Ticket{UID: k.uid, Tokens: k.tokens, Data: k.data, TS: k.ts, IP: k.ip, Secret: k.secret, Bang2: k.bang2}
	return apachetest.Signer{Digest: e.digest.String(), Secret: e.secret, Old: e.old}.Text(t, k.old)
}

func (k adTkt) fields() *[3]string { return &[3]string{k.uid, k.tokens, k.data} }

// ---- cases ----

// adCase is one request.
type adCase struct {
	family, note string
	loc          string
	// suffix follows "/loc" in the user's URL: a sub-path and/or query.
	suffix string
	cookie []string // Cookie lines, in order
	ip     string   // X-Real-IP; "" leaves the client at 127.0.0.1
	// urlTkt is the auth_tkt query value, when the suffix has one.
	url    bool       // the query has an auth_tkt parameter
	urlTkt string     // its value
	want   string     // the outcome the case was built to have, if known
	fields *[3]string // with want == adOK: the uid, tokens and data
}

// Outcomes, named after where the user is sent.
const (
	adOK      = "ok"
	adLogin   = "login"
	adTimeout = "timeout"
	adUnauth  = "unauth"
)

func (c adCase) clientIP() netip.Addr {
	if c.ip == "" {
		return netip.MustParseAddr("127.0.0.1")
	}
	return netip.MustParseAddr(c.ip)
}

// adGen makes the cases for one env.
type adGen struct {
	*apachetest.Gen
	e *adEnv
}

func newADGen(e *adEnv, seed uint64) *adGen {
	g := &adGen{Gen: apachetest.NewGen(seed, uint64(e.digest)), e: e}
	// White space at the ends of a raw value is trimmed by both servers.
	g.Words, g.Encodings, g.BothEnds = adWords, adEncodings, true
	return g
}

// ts is the timestamp of a ticket age old.
func (g *adGen) ts(age time.Duration) uint32 { return g.TS(-age) }

// freshAge is an age past no boundary but "always"'s (which is 0).
func (g *adGen) freshAge() time.Duration {
	return 2*time.Minute + time.Duration(g.Rand.Int64N(int64(18*time.Minute)))
}

// adWords are Field's words here: apachetest.Words but "😀".
var adWords = []string{"alice", "jürgen", "Zoë", "日本語", "o'neil", "a b", "a,b", "user@example.com", "%41", "%21", "=="}

// adEncodings are the cookie encodings the random cases use.
var adEncodings = []string{"raw", "base64", "base64-nopad", "url-escaped", "quoted-raw", "quoted-base64"}

// tkt is a random ticket for loc, valid for the client returned.
func (g *adGen) tkt(loc string, age time.Duration) (adTkt, string) {
	l := g.e.locs[loc]
	hdr, ip := g.Client(true)
	need := l.tokens
	if len(need) > 0 && g.Rand.IntN(5) == 0 {
		need = nil // a ticket without the token
	}
	k := adTkt{uid: g.Field(12, false), tokens: g.Tokens(need), data: g.Field(24, true), ts: g.ts(age), ip: ip}
	k.uid, k.tokens = apachetest.Untrimmed(k.uid, k.tokens)
	if l.ignoreIP {
		k.ip = netip.Addr{}
	}
	k.bang2 = strings.Contains(k.data, "!") || g.Rand.IntN(8) == 0
	return k, hdr
}

// wantFor is the outcome of a ticket, valid but for its age and
// client, at loc, and the fields to expect: nil when a guest takes its
// place.
func (g *adGen) wantFor(loc string, k adTkt, hdr string) (string, *[3]string) {
	l := g.e.locs[loc]
	ip := (adCase{ip: hdr}).clientIP()
	if !l.ignoreIP && !ip.Unmap().Is4() {
		if l.guest {
			return g.guestWant(l), nil
		}
		return adLogin, nil
	}
	if l.timeout > 0 && g.Now.Sub(time.Unix(int64(k.ts), 0)) > l.timeout {
		if l.guest && l.fallback {
			return g.guestWant(l), nil
		}
		return adTimeout, nil
	}
	return g.tokenWant(l, k.tokens), k.fields()
}

// valid is a case for a ticket that is valid but for its age and client.
func (g *adGen) valid(family, note, loc, suffix string, k adTkt, hdr string, cookie []string) adCase {
	want, fields := g.wantFor(loc, k, hdr)
	return adCase{family: family, note: note, loc: loc, suffix: suffix, ip: hdr, cookie: cookie, want: want, fields: fields}
}

func (g *adGen) guestWant(l adLoc) string { return g.tokenWant(l, "") }

func (g *adGen) tokenWant(l adLoc, tokens string) string {
	if len(l.tokens) == 0 {
		return adOK
	}
	for _, t := range strings.Split(tokens, ",") {
		if slices.Contains(l.tokens, t) {
			return adOK
		}
	}
	return adUnauth
}

func adCookieOf(v string) []string { return []string{adCookie + "=" + v} }

// suffix is a random sub-path and query without a ticket.
func (g *adGen) suffix() string {
	return g.Pick("", "", "/", "/a/b.html", "/caf%C3%A9", "/x%20y/", "/~u/%7Ev", "?q=1", "?a=1&b==2;c&&d", "/p?x=a%20b&y", "?auth=1&auth_tkt2=3", "/s?=1&;")
}

func (g *adGen) cases() []adCase {
	var cs []adCase
	add := func(c adCase) { cs = append(cs, c) }
	nonGuest := []string{"plain", "timeout", "refresh", "sum", "always", "default", "noip", "tokens", "tokrefresh", "attrs"}

	// Valid tickets, every encoding, every location.
	for range 80 {
		loc := g.Pick(adMain...)
		k, hdr := g.tkt(loc, g.freshAge())
		add(g.valid("valid", "", loc, g.suffix(), k, hdr, adCookieOf(g.EncIntact(g.e.text(k)))))
	}

	// One change to a valid ticket.
	hl := g.e.digest.HexLen()
	for i := range 40 {
		loc := g.Pick(nonGuest...)
		k, hdr := g.tkt(loc, g.freshAge())
		text := g.e.text(k)
		var note string
		switch i % 6 {
		case 0:
			note = "digest digit"
			text = g.FlipDigit(text, hl)
		case 1:
			note = "timestamp+1"
			text = text[:hl] + fmt.Sprintf("%08x", k.ts+1) + text[hl+8:]
		case 2:
			note = "uid"
			text = text[:hl+8] + "Z" + text[hl+8:]
		case 3:
			note = "data"
			text += "x"
		case 4:
			note = "wrong secret"
			k.secret = g.e.secret + "x"
			text = g.e.text(k)
		case 5:
			note = "other IP"
			if g.e.locs[loc].ignoreIP {
				k.ip = g.IPv4() // ignore-IP tickets must be signed for 0.0.0.0
			} else {
				k.ip = k.ip.Next()
			}
			text = g.e.text(k)
		}
		add(adCase{family: "tampered", note: note, loc: loc, suffix: g.suffix(), ip: hdr, cookie: adCookieOf(g.EncIntact(text)), want: adLogin})
	}

	cs = append(cs, g.ipCases()...)
	cs = append(cs, g.timeCases(70)...)
	cs = append(cs, g.tokenCases()...)
	cs = append(cs, g.cookieCases()...)
	cs = append(cs, g.urlCases()...)
	cs = append(cs, g.guestCases()...)
	return cs
}

func (g *adGen) ipCases() []adCase {
	var cs []adCase
	add := func(loc string, signed netip.Addr, from, want string) {
		k, _ := g.tkt(loc, g.freshAge())
		k.ip = signed
		cs = append(cs, adCase{family: "ip", loc: loc, suffix: g.suffix(), ip: from, cookie: adCookieOf(g.EncIntact(g.e.text(k))), want: want})
	}
	want := func(c apachetest.AddrCase) string {
		if c.Match {
			return adOK
		}
		return adLogin
	}
	// Where each of AddrCases' checked cases is tried.
	at := []string{"plain", "refresh", "plain", "always", "plain", "plain"}
	zero := netip.Addr{}
	lo := netip.MustParseAddr("127.0.0.1")
	for range 3 {
		checked, ignored := g.AddrCases()
		for i, c := range checked {
			add(at[i], c.Signed, c.From, want(c))
		}
		for _, c := range ignored {
			add("noip", c.Signed, c.From, want(c))
		}
		other := checked[1]                          // signed for one address, sent from another
		add("guest", other.Signed, other.From, adOK) // a guest
		add("noip", zero, "::1", adOK)
		add("plain", lo, "::1", adLogin)
	}
	// An IPv6 client whose ticket needs a new one.
	for range 2 {
		k, _ := g.tkt("noip", 40*time.Minute)
		k.ip = zero
		cs = append(cs, adCase{family: "ip", note: "v6 refresh", loc: "noip", ip: "2001:db8::77", cookie: adCookieOf(g.EncIntact(g.e.text(k))), want: adOK, fields: k.fields()})
	}
	return cs
}

// timeCases date tickets around the expiry and refresh points, signed
// with the old secret one time in five.
func (g *adGen) timeCases(n int) []adCase {
	var cs []adCase
	for len(cs) < n {
		loc := g.Pick("timeout", "refresh", "sum", "always", "default", "noip", "tokrefresh", "attrs", "guestfb", "guest")
		l := g.e.locs[loc]
		// From 4 minutes ahead (within max_future) to an hour past expiry.
		age := time.Duration(g.Rand.Int64N(int64(l.timeout+64*time.Minute))) - 4*time.Minute
		near := func(b time.Duration) bool { return (age - b).Abs() < adMargin }
		if near(l.timeout) || near(time.Duration(float64(l.timeout)*(1-l.refresh))) {
			continue
		}
		k, hdr := g.tkt(loc, age)
		k.old = g.Rand.IntN(5) == 0
		note := fmt.Sprintf("age %v", age.Round(time.Second))
		if k.old {
			note += ", old secret"
		}
		cs = append(cs, g.valid("time", note, loc, g.suffix(), k, hdr, adCookieOf(g.EncIntact(g.e.text(k)))))
	}
	return cs
}

func (g *adGen) tokenCases() []adCase {
	var cs []adCase
	f := func(loc, tokens string, bang2 bool, age time.Duration) {
		k, hdr := g.tkt(loc, age)
		k.tokens, k.bang2 = tokens, bang2
		k.data = g.Field(12, false)
		cs = append(cs, g.valid("tokens", fmt.Sprintf("age %v", age.Round(time.Second)), loc, "", k, hdr, adCookieOf(g.EncIntact(g.e.text(k)))))
	}
	for _, tokens := range []string{"admin", "editor", "user,admin", "editor,user", ",admin", "user,,editor", "user", "Admin", "adminx", "ad min", ",", "", "ADMIN,EDITOR"} {
		f("tokens", tokens, g.Rand.IntN(2) == 0, g.freshAge())
		// Past the refresh point: does a refused ticket get a new one?
		f("tokrefresh", tokens, false, 40*time.Minute)
	}
	for _, tokens := range []string{"x y", "user,x y", "x  y", "xy", "x,y", "editor"} {
		f("tokspace", tokens, false, g.freshAge())
	}
	return cs
}

// cookieCases vary the Cookie lines around one good ticket.
func (g *adGen) cookieCases() []adCase {
	var cs []adCase
	lo := netip.MustParseAddr("127.0.0.1")
	for _, enc := range []string{"raw", "base64", "url-escaped"} {
		k := adTkt{uid: "carol", tokens: "t", data: "cookie test", ts: g.ts(g.freshAge()), ip: lo}
		good := g.Encode(enc, g.e.text(k))
		bad := g.Encode(enc, g.e.text(adTkt{uid: "carol", ts: g.ts(g.freshAge()), ip: lo, secret: "wrong"}))
		f := func(want string, lines ...string) {
			c := adCase{family: "cookie", note: enc, loc: g.Pick("plain", "refresh", "guest"), cookie: lines, want: want}
			if want == adOK {
				c.fields = k.fields()
			}
			if c.loc == "guest" && want == adLogin {
				c.want = adOK // as the guest
			}
			cs = append(cs, c)
		}
		for _, c := range apachetest.CookieCases(good, bad) {
			f(c.Want(adOK, adLogin), c.Lines...)
		}
		f("", "auth_tkt="+good, "auth_tkt="+bad) // value "<good>, auth_tkt=<bad>"
		f("", "  auth_tkt="+good)
		f(adLogin, "")
	}
	return cs
}

// urlCases put a ticket in the query string of the user's URL.
func (g *adGen) urlCases() []adCase {
	var cs []adCase
	lo := netip.MustParseAddr("127.0.0.1")
	// urlText is a ticket whose raw form is safe in a request line.
	urlTkt := func(loc string, age time.Duration) (adTkt, string) {
		k, hdr := g.tkt(loc, age)
		k.uid = g.Pick("alice", "bob.smith", "u-1", "x@y.test", "")
		k.data = g.Pick("", "d", "some,data", "a!b", "x=y")
		k.tokens = g.Pick("", "t1", "a,b", "admin", "user,editor")
		k.bang2 = strings.Contains(k.data, "!")
		return k, hdr
	}
	urlForm := func(text string) string {
		switch g.Rand.IntN(4) {
		case 0:
			if !strings.ContainsAny(text, " &#%;+") {
				return text // raw, with its '!'
			}
		case 1:
			return apachetest.Escape(text, g.Rand.IntN(2) == 0)
		}
		return base64.StdEncoding.EncodeToString([]byte(text))
	}
	query := func(v string) string {
		return g.Pick("?auth_tkt="+v, "?a=1&auth_tkt="+v, "?auth_tkt="+v+"&b=2;c", "?auth_tkt=="+v, "?&&auth_tkt="+v+"&&z")
	}
	f := func(note, loc, path, v string, cookie []string, hdr, want string, fields *[3]string) {
		cs = append(cs, adCase{family: "url", note: note, loc: loc, suffix: path + query(v), url: true, urlTkt: v, cookie: cookie, ip: hdr, want: want, fields: fields})
	}
	fv := func(note, loc, path string, k adTkt, cookie []string, hdr string) {
		c := g.valid("url", note, loc, path+query(urlForm(g.e.text(k))), k, hdr, cookie)
		c.url, c.urlTkt = true, c.suffix[strings.Index(c.suffix, "auth_tkt=")+len("auth_tkt="):]
		c.urlTkt = strings.TrimLeft(c.urlTkt, "=")
		if i := strings.IndexByte(c.urlTkt, '&'); i >= 0 {
			c.urlTkt = c.urlTkt[:i]
		}
		cs = append(cs, c)
	}
	path := func() string { return g.Pick("", "/", "/p/q.html", "/x%20y") }
	for range 8 {
		loc := g.Pick("plain", "refresh", "default", "noip", "tokens", "always", "guest", "attrs")
		k, hdr := urlTkt(loc, g.freshAge())
		fv("good", loc, path(), k, nil, hdr)
	}
	for range 3 {
		// The URL wins over a good cookie for someone else.
		k, hdr := urlTkt("plain", g.freshAge())
		other := adTkt{uid: "cookie-user", ts: g.ts(g.freshAge()), ip: k.ip}
		fv("url over cookie", "plain", path(), k, adCookieOf(g.EncIntact(g.e.text(other))), hdr)
	}
	for range 4 {
		loc := g.Pick("refresh", "default", "sum")
		k, hdr := urlTkt(loc, 40*time.Minute+time.Duration(g.Rand.IntN(10))*time.Minute)
		k.old = g.Rand.IntN(2) == 0
		fv("needs refresh", loc, path(), k, nil, hdr)
	}
	for range 2 {
		k, hdr := urlTkt("timeout", 2*time.Hour)
		fv("expired", "timeout", path(), k, nil, hdr)
		k, hdr = urlTkt("plain", g.freshAge())
		k.old = true
		fv("old secret", "plain", path(), k, nil, hdr)
	}
	// Bad URL tickets fall back to the cookie.
	for range 3 {
		loc := g.Pick("plain", "refresh", "guest")
		good := adTkt{uid: "cookie-user", tokens: "c", data: "from cookie", ts: g.ts(g.freshAge()), ip: lo}
		bad := adTkt{uid: "url-user", ts: g.ts(g.freshAge()), ip: lo, secret: "wrong"}
		f("bad url, good cookie", loc, path(), urlForm(g.e.text(bad)), adCookieOf(g.EncIntact(g.e.text(good))), "", adOK, good.fields())
		want := adLogin
		if loc == "guest" {
			want = adOK
		}
		f("bad url, no cookie", loc, path(), urlForm(g.e.text(bad)), nil, "", want, nil)
		f("bad url, no cookie", loc, path(), g.Pick("", "x", "garbage-garbage-garbage-garbage-garbage"), nil, "", want, nil)
		// A good ticket for another IP.
		k, _ := urlTkt("plain", g.freshAge())
		k.ip = netip.MustParseAddr("192.0.2.1")
		f("url for another IP", "plain", path(), urlForm(g.e.text(k)), adCookieOf(g.EncIntact(g.e.text(good))), "192.0.2.2", adLogin, nil)
	}
	// Only the first auth_tkt parameter, named exactly, counts.
	k := adTkt{uid: "first", ts: g.ts(g.freshAge()), ip: lo}
	second := adTkt{uid: "second", ts: g.ts(g.freshAge()), ip: lo}
	v1, v2 := base64.StdEncoding.EncodeToString([]byte(g.e.text(k))), base64.StdEncoding.EncodeToString([]byte(g.e.text(second)))
	for _, q := range []struct {
		suffix string
		url    bool
		v      string
		want   string
	}{
		{"?auth_tkt=" + v1 + "&auth_tkt=" + v2, true, v1, adOK},
		{"?auth_tkt=bad&auth_tkt=" + v2, true, "bad", adLogin},
		{"?Auth_tkt=" + v1, false, "", adLogin},
		{"?xauth_tkt=" + v1, false, "", adLogin},
		{"?auth_tkt", true, "", adLogin},
		{"?a=1;auth_tkt=" + v1, false, "", adLogin}, // ';' does not separate here
	} {
		cs = append(cs, adCase{family: "url", note: "parameter", loc: "plain", suffix: q.suffix, url: q.url, urlTkt: q.v, want: q.want})
	}
	return cs
}

// guestCases: no ticket, bad tickets, expired tickets at guest locations.
func (g *adGen) guestCases() []adCase {
	var cs []adCase
	for _, loc := range []string{"guest", "guestfb", "guestcookie", "guestpre", "guest0", "guest50", "guestpct", "guestempty", "guesttokens"} {
		l := g.e.locs[loc]
		for range 3 {
			hdr, _ := g.Client(true)
			cs = append(cs, adCase{family: "guest", note: "no ticket", loc: loc, suffix: g.suffix(), ip: hdr, want: g.guestWant(l)})
			k, hdr := g.tkt(loc, g.freshAge())
			k.secret = "wrong"
			cs = append(cs, adCase{family: "guest", note: "bad ticket", loc: loc, ip: hdr, cookie: adCookieOf(g.EncIntact(g.e.text(k))), want: g.guestWant(l)})
			if l.timeout > 0 {
				k, hdr = g.tkt(loc, l.timeout+10*time.Minute)
				cs = append(cs, g.valid("guest", "expired", loc, "", k, hdr, adCookieOf(g.EncIntact(g.e.text(k)))))
			}
			k, hdr = g.tkt(loc, g.freshAge())
			cs = append(cs, g.valid("guest", "valid", loc, "", k, hdr, adCookieOf(g.EncIntact(g.e.text(k)))))
		}
		// A guest ticket for an IPv6 client cannot be signed.
		cs = append(cs, adCase{family: "guest", note: "IPv6 client", loc: loc, ip: "2001:db8::99", want: g.guestWant(l)})
	}
	return cs
}

// ---- running and comparing ----

// adSide is one server's answer, reduced to what is compared.
type adSide struct {
	status   int
	location string
	out      string
	user     string
	tokens   string
	data     string
	ok       bool     // authenticated
	cookies  []string // Set-Cookie values
	ticket   string   // the non-empty auth_tkt value sent, if any
	tktAttrs string   // its attributes, from the first ';'
	cleared  string   // the clearing auth_tkt cookie, if any
	empty    bool     // an auth_tkt cookie with an empty value, not expired
}

func adOutcome(status int, location string, codes [3]int) string {
	switch {
	case status == codes[0] && strings.HasPrefix(location, adLoginURL):
		return adLogin
	case status == codes[1] && strings.HasPrefix(location, adTimeoutURL):
		return adTimeout
	case status == codes[2] && strings.HasPrefix(location, adUnauthURL):
		return adUnauth
	}
	return fmt.Sprintf("HTTP %d (Location %q)", status, location)
}

func (s *adSide) cookieInfo() {
	for _, sc := range s.cookies {
		v, ok := strings.CutPrefix(sc, adCookie+"=")
		if !ok {
			continue
		}
		val, attrs, _ := strings.Cut(v, ";")
		switch {
		case val == "" && !strings.Contains(attrs, "expires="):
			s.empty = true // Apache's copy of an empty URL ticket
		case val == "":
			s.cleared = sc
		default:
			s.ticket, s.tktAttrs = val, attrs
		}
	}
}

func (e *adEnv) askApache(t *testing.T, loc, suffix string, cookie []string, ip string) adSide {
	t.Helper()
	h := http.Header{"X-Forwarded-Host": {adHost}}
	if len(cookie) > 0 {
		h["Cookie"] = cookie
	}
	if ip != "" {
		h.Set("X-Real-IP", ip)
	}
	host := e.apache.Addr
	if site := e.locs[loc].site; site != "" {
		host = e.sites[site].host // the <VirtualHost>'s ServerName
	}
	r := e.apache.GetHost(t, host, "/"+loc+suffix, h)
	s := adSide{status: r.Status, location: r.Location, cookies: r.SetCookie, user: r.User, tokens: r.Tokens, data: r.Data, ok: r.Status == 200 && r.Authenticated}
	if s.ok {
		s.out = adOK
	} else {
		s.out = adOutcome(r.Status, r.Location, [3]int{307, 307, 307})
	}
	s.cookieInfo()
	return s
}

func (e *adEnv) askGate(t *testing.T, loc, suffix string, cookie []string, ip string) adSide {
	t.Helper()
	hs := []string{"X-Original-URL: http://" + adHost + "/" + loc + suffix}
	for _, c := range cookie {
		hs = append(hs, "Cookie: "+c)
	}
	if ip != "" {
		hs = append(hs, "X-Real-IP: "+ip)
	}
	a := e.gate.do(t, "GET", "/auth/"+loc, hs)
	s := adSide{status: a.status, location: a.get("Location"), cookies: a.values("Set-Cookie")}
	var hasUser bool
	s.user, hasUser = a.lookup("X-Remote-User")
	s.tokens, _ = a.lookup("X-Remote-User-Tokens")
	s.data, _ = a.lookup("X-Remote-User-Data")
	s.ok = a.status == 200 && hasUser
	if s.ok {
		s.out = adOK
	} else {
		s.out = adOutcome(a.status, s.location, [3]int{401, 401, 403})
	}
	s.cookieInfo()
	return s
}

type adRun struct {
	c        adCase
	ap, gt   adSide
	problems []string
	known    []string
	swapped  bool // each side was given the other's new ticket
}

func (r *adRun) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] GET /%s%s", r.c.family, r.c.loc, r.c.suffix)
	if r.c.note != "" {
		fmt.Fprintf(&b, " (%s)", r.c.note)
	}
	for _, c := range r.c.cookie {
		fmt.Fprintf(&b, "\n\tCookie: %q", c)
	}
	fmt.Fprintf(&b, "\n\tclient IP: %s", r.c.clientIP())
	for _, s := range []struct {
		name string
		a    adSide
	}{{"Apache ", r.ap}, {"tktgate", r.gt}} {
		fmt.Fprintf(&b, "\n\t%s: %d %s", s.name, s.a.status, s.a.out)
		if s.a.ok {
			fmt.Fprintf(&b, " user=%q tokens=%q data=%q", s.a.user, s.a.tokens, s.a.data)
		} else if s.a.location != "" {
			fmt.Fprintf(&b, " Location=%q", s.a.location)
		}
		if len(s.a.cookies) > 0 {
			fmt.Fprintf(&b, " Set-Cookie=%q", s.a.cookies)
		}
	}
	for _, p := range r.problems {
		fmt.Fprintf(&b, "\n\t=> %s", p)
	}
	for _, k := range r.known {
		fmt.Fprintf(&b, "\n\t(known: %s)", k)
	}
	return b.String()
}

// adShape hides the random part of a guest name (%U): hex digits.
func adShape(s string) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' || 'a' <= r && r <= 'f' {
			return 'h'
		}
		return r
	}, s)
}

// The known differences, which are counted and logged, not failed.
const (
	knownDomain  = "Apache adds a cookie domain from the Host when none is configured"
	knownURLCopy = "Apache copies an unusable URL ticket into a cookie before validating it; tktgate sets it only on success"
	knownExpires = "clearing cookie: Apache writes expires as \"%a %d %b %Y %T %Z\" (and in 1970: seconds passed as microseconds), tktgate as RFC 1123 (both in the past)"
	// Neither has a 200, where the contract promises a Set-Cookie.
	knownDeniedURL     = "a good URL ticket without a required token: Apache has copied it into a cookie before the token check; tktgate's 403 sets none"
	knownDeniedRefresh = "a ticket past its refresh point without a required token: Apache refreshes it (check_timeout runs before check_tokens) along with the 307; tktgate's 403 sets no cookie"
	knownOldGuest      = "an expired ticket signed with the old secret, at a guest fallback location: Apache sends the guest a ticket without TKTAuthGuestCookie (force_cookie_refresh outlives setup_guest); tktgate sends none"
	knownGuestPrefix   = "guest user \"u%4U\": Apache drops a one-character prefix before %U (it keeps it only when regm[0].rm_so > 1); tktgate keeps it"
	knownV6Guest       = "guest cookie for an IPv6 client: Apache sends a ticket whose digest is the text \"(null)\" (ticket_digest failed); tktgate sends none"
)

func (e *adEnv) run(t *testing.T, c adCase) *adRun {
	t.Helper()
	r := &adRun{c: c}
	r.ap = e.askApache(t, c.loc, c.suffix, c.cookie, c.ip)
	r.gt = e.askGate(t, c.loc, c.suffix, c.cookie, c.ip)
	e.compare(t, r)
	return r
}

func (e *adEnv) compare(t *testing.T, r *adRun) {
	t.Helper()
	bad := func(format string, args ...any) { r.problems = append(r.problems, fmt.Sprintf(format, args...)) }
	known := func(k string) {
		if !slices.Contains(r.known, k) {
			r.known = append(r.known, k)
		}
	}
	ap, gt, c := &r.ap, &r.gt, r.c
	l := e.locs[c.loc]
	if k := e.knownSiteVerdict(r); k != "" {
		known(k)
		return
	}
	if ap.out != gt.out {
		bad("verdict: Apache %s, tktgate %s", ap.out, gt.out)
	}
	if c.want != "" && ap.out != c.want {
		bad("built to be %s, Apache says %s", c.want, ap.out)
	}
	if c.want != "" && gt.out != c.want {
		bad("built to be %s, tktgate says %s", c.want, gt.out)
	}
	if !ap.ok && !gt.ok && ap.location != gt.location {
		bad("Location: Apache %q, tktgate %q", ap.location, gt.location)
	}
	if ap.ok && gt.ok {
		switch {
		case l.guest && ap.user != "" && adShape(ap.user) == adShape(gt.user) && ap.tokens == gt.tokens && ap.data == gt.data:
			// Guests with %U: the same shape will do.
		case l.name == "guestpre" && len(gt.user) > 1 && adShape(ap.user) == adShape(gt.user[1:]):
			known(knownGuestPrefix)
		case ap.user != gt.user || ap.tokens != gt.tokens || ap.data != gt.data:
			bad("fields: Apache %q %q %q, tktgate %q %q %q", ap.user, ap.tokens, ap.data, gt.user, gt.tokens, gt.data)
		}
		if f := c.fields; f != nil && (ap.user != f[0] || ap.tokens != f[1] || ap.data != f[2]) {
			bad("fields: Apache %q %q %q, signed %q %q %q", ap.user, ap.tokens, ap.data, f[0], f[1], f[2])
		}
	}

	// Apache's guest ticket for an expired old-secret ticket replaces its
	// clearing cookie (apr_table_setn).
	hl := e.digestOf(c.loc).HexLen()
	apRaw, _ := base64.StdEncoding.DecodeString(ap.ticket)
	oldGuest := l.fallback && !l.guestCookie && ap.ok && gt.ticket == "" && len(apRaw) > hl+8 && string(apRaw[hl+8:]) == ap.user+"!!"
	if oldGuest {
		known(knownOldGuest)
	}

	// The clearing cookie.
	if oldGuest && ap.cleared == "" {
		// Apache's guest ticket took the clearing cookie's place.
	} else if (ap.cleared != "") != (gt.cleared != "") {
		bad("clearing cookie: Apache %q, tktgate %q", ap.cleared, gt.cleared)
	} else if ap.cleared != "" {
		if !adPast(ap.cleared) || !adPast(gt.cleared) {
			bad("clearing cookie not in the past: Apache %q, tktgate %q", ap.cleared, gt.cleared)
		}
		known(knownExpires)
	}

	// The new ticket.
	apTicket := ap.ticket
	if ap.empty {
		if c.url && c.urlTkt == "" {
			known(knownURLCopy)
		} else {
			bad("Apache sent an empty cookie: %q", ap.cookies)
		}
	}
	if apTicket != "" && gt.ticket == "" {
		var tk verifier.Ticket
		err := e.vs[c.loc].Verify(&tk, []byte(c.urlTkt), c.clientIP(), time.Now())
		switch {
		case oldGuest:
			apTicket = ""
		case c.url && apTicket == c.urlTkt && err != nil && !errors.Is(err, verifier.ErrExpired):
			known(knownURLCopy)
			apTicket = ""
		case c.url && apTicket == c.urlTkt && ap.out == adUnauth && gt.out == adUnauth:
			known(knownDeniedURL)
			apTicket = ""
		case ap.out == adUnauth && gt.out == adUnauth:
			known(knownDeniedRefresh)
			apTicket = ""
		case l.guest && strings.HasPrefix(string(apRaw), "(null)") && !c.clientIP().Unmap().Is4():
			known(knownV6Guest)
			apTicket = ""
		}
	}
	if (apTicket != "") != (gt.ticket != "") {
		bad("new ticket: Apache %q, tktgate %q", ap.cookies, gt.cookies)
	}
	if apTicket != "" && gt.ticket != "" {
		e.compareTickets(t, r, l, bad, known)
	}
}

// adPast tells whether a Set-Cookie's expires is in the past, in either
// side's date format.
func adPast(sc string) bool {
	_, v, ok := strings.Cut(sc, "expires=")
	if !ok {
		return false
	}
	v, _, _ = strings.Cut(v, ";")
	for _, layout := range []string{time.RFC1123, "Mon 02 Jan 2006 15:04:05 MST", "Mon, 02-Jan-06 15:04:05 MST"} {
		if ts, err := time.Parse(layout, v); err == nil {
			return ts.Before(time.Now())
		}
	}
	return false
}

// adExpires parses the expires attribute of a Set-Cookie in either side's
// format; zero when there is none.
func adExpires(attrs string) (time.Time, string) {
	var rest []string
	var ts time.Time
	for _, a := range strings.Split(attrs, ";") {
		a = strings.TrimSpace(a)
		if v, ok := strings.CutPrefix(a, "expires="); ok {
			for _, layout := range []string{time.RFC1123, "Mon, 02-Jan-06 15:04:05 MST"} {
				if x, err := time.Parse(layout, v); err == nil {
					ts = x
				}
			}
			if ts.IsZero() {
				rest = append(rest, a)
			}
			continue
		}
		if a != "" {
			rest = append(rest, a)
		}
	}
	return ts, strings.Join(rest, "; ")
}

// compareTickets: the two new tickets carry the same fields, each side
// accepts the other's, and the cookie attributes agree.
func (e *adEnv) compareTickets(t *testing.T, r *adRun, l adLoc, bad func(string, ...any), known func(string)) {
	t.Helper()
	ap, gt, c := &r.ap, &r.gt, r.c
	// Attributes: mod_auth_tkt falls back to the Host for the domain.
	apAttrs := ap.tktAttrs
	if l.domain == "" {
		if a, ok := strings.CutSuffix(apAttrs, "; domain="+adHost); ok {
			apAttrs = a
			known(knownDomain)
		}
	}
	apExp, apRest := adExpires(apAttrs)
	gtExp, gtRest := adExpires(gt.tktAttrs)
	if apRest != gtRest || apExp.IsZero() != gtExp.IsZero() || (apExp.Sub(gtExp)).Abs() > adSkew {
		bad("cookie attributes: Apache %q, tktgate %q", ap.tktAttrs, gt.tktAttrs)
	}

	// tktgate sends base64; the payload after digest and timestamp is the
	// same as Apache's (not for Apache's verbatim copy of a URL ticket).
	hl := e.digestOf(c.loc).HexLen()
	gtRaw, err := base64.StdEncoding.DecodeString(gt.ticket)
	if err != nil || len(gtRaw) < hl+8 {
		bad("tktgate's new ticket %q is not base64", gt.ticket)
	} else if ap.ticket != c.urlTkt {
		apRaw, err := base64.StdEncoding.DecodeString(ap.ticket)
		if err != nil || len(apRaw) < hl+8 {
			bad("Apache's new ticket %q is not base64", ap.ticket)
		} else if p, q := string(apRaw[hl+8:]), string(gtRaw[hl+8:]); p != q && !(l.guest && adShape(p) == adShape(q)) {
			bad("new ticket payload: Apache %q, tktgate %q", p, q)
		}
	}

	// Each side accepts the other's ticket with the fields it exported.
	r.swapped = true
	check := c.loc
	if l.check != "" {
		check = l.check
	}
	back := e.askApache(t, check, "", adCookieOf(gt.ticket), c.ip)
	if !back.ok || back.user != gt.user || back.tokens != gt.tokens || back.data != gt.data {
		bad("Apache given tktgate's new ticket at /%s: %s %q %q %q, want ok %q %q %q", check, back.out, back.user, back.tokens, back.data, gt.user, gt.tokens, gt.data)
	}
	there := e.askGate(t, check, "", adCookieOf(ap.ticket), c.ip)
	if !there.ok || there.user != ap.user || there.tokens != ap.tokens || there.data != ap.data {
		bad("tktgate given Apache's new ticket at /auth/%s: %s %q %q %q, want ok %q %q %q", check, there.out, there.user, there.tokens, there.data, ap.user, ap.tokens, ap.data)
	}
}

// TestServerApacheDifferential compares tktgate's answers with Apache
// mod_auth_tkt's for the same requests, at the HTTP level.
func TestServerApacheDifferential(t *testing.T) {
	if _, err := os.Stat(apachetest.Binary); err != nil {
		e2e.SkipOrFail(t, "Apache httpd not found: %v", err)
	}
	seed := apachetest.Seed(t, adSeedEnv)
	for _, d := range []verifier.Digest{verifier.MD5, verifier.SHA256, verifier.SHA512} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			e := adStart(t, d)
			g := newADGen(e, seed)
			t.Run("cases", func(t *testing.T) { e.differential(t, g.cases()) })
			if d == verifier.MD5 {
				// Not per digest: each site has its own.
				t.Run("vhosts", func(t *testing.T) {
					e := adStartSites(t)
					e.differential(t, newADGen(e, seed).siteCases())
				})
			}
			if d == verifier.MD5 {
				t.Run("back-url", func(t *testing.T) { e.backURL(t) })
			}
		})
	}
}

func (e *adEnv) differential(t *testing.T, cases []adCase) {
	var fams apachetest.Families
	knownN := map[string]int{}
	for _, c := range cases {
		r := e.run(t, c)
		keys := []string{r.ap.out}
		if r.gt.ticket != "" {
			keys = append(keys, "new ticket")
		}
		if r.swapped {
			keys = append(keys, "swapped")
		}
		for _, k := range r.known {
			knownN[k]++
		}
		fams.Add(t, c.family, len(r.problems) > 0, r, keys...)
	}
	total := fams.Done(t)
	t.Logf("%d cases", total)
	for _, k := range slices.Sorted(maps.Keys(knownN)) {
		t.Logf("known difference, %d cases: %s", knownN[k], k)
	}
}

// adRewrite turns tktgate's Location (or back cookie) into Apache's, for
// one known difference.
type adRewrite struct {
	why   string
	apply func(string) string
}

var (
	// mod_auth_tkt's get_domain cuts the Host (or X-Forwarded-Host) header
	// at ':' in place when no TKTAuthDomain is set, before redirect()
	// reads it for the back URL and a relative login URL.
	adDropPort = adRewrite{"Apache drops the port from the host when TKTAuthDomain is unset (get_domain truncates the Host header in place)",
		func(s string) string {
			return strings.ReplaceAll(strings.ReplaceAll(s, "%3a8080", ""), "app.test:8080/", "app.test/")
		}}
	adRelLogin = adRewrite{`relative login URL "/login": Apache writes scheme://host + "/" + "/login"`,
		func(s string) string { return strings.Replace(s, "/login?", "//login?", 1) }}
	adSemicolon = adRewrite{"login URL with a query: Apache 2.3.99 appends back= after ';' (its default TKTAuthQuerySeparator), tktgate (and the contract) after '&'",
		func(s string) string { return strings.Replace(s, "&back=", ";back=", 1) }}
)

// backURL pins the Location and back cookie both build for a few URLs,
// with no ticket. Where they differ on purpose, or by an Apache bug, the
// difference is named: Apache's answer must be tktgate's with those
// rewrites applied.
func (e *adEnv) backURL(t *testing.T) {
	f := func(loc, host, uri string, rw ...adRewrite) {
		t.Helper()
		// The harness sends its own Host; X-Forwarded-Host takes its place.
		ar := e.apache.Get(t, uri, http.Header{"X-Forwarded-Host": {host}})
		ga := e.gate.do(t, "GET", "/auth/"+loc, []string{"X-Original-URL: http://" + host + uri})
		gtLoc := ga.get("Location")
		// Back cookies, without the domain Apache adds (a known difference).
		var apBack, gtBack []string
		for _, sc := range ar.SetCookie {
			if !strings.HasPrefix(sc, adCookie+"=") { // a URL ticket copied (known)
				sc, _, _ = strings.Cut(sc, "; domain=")
				apBack = append(apBack, sc)
			}
		}
		gtBack = ga.values("Set-Cookie")
		want, wantBack := gtLoc, slices.Clone(gtBack)
		var whys []string
		for _, r := range rw {
			want = r.apply(want)
			for i := range wantBack {
				wantBack[i] = r.apply(wantBack[i])
			}
			whys = append(whys, r.why)
		}
		switch {
		case ar.Status != 307 || ga.status != 401 || ar.Location != want || !slices.Equal(apBack, wantBack):
			t.Errorf("GET %s, host %s, at /%s:\n\tApache  %d Location %q Set-Cookie %q\n\ttktgate %d Location %q Set-Cookie %q\n\texpected differences: %q",
				uri, host, loc, ar.Status, ar.Location, apBack, ga.status, gtLoc, gtBack, whys)
		case len(rw) > 0:
			t.Logf("GET %s, host %s: Apache %q, tktgate %q (known: %s)", uri, host, ar.Location, gtLoc, strings.Join(whys, "; "))
		}
	}
	f("plain", adHost, "/plain")
	f("plain", adHost, "/plain/")
	f("plain", adHost, "/plain/x%20y?z=1&auth_tkt=zz&w==3")
	f("plain", adHost, "/plain/%7e%41/caf%C3%A9/a+b/%25")
	f("plain", adHost, "/plain?a&b==c;d&&e=%26;auth_tkt=1&")
	f("plain", adHost, "/plain/p?back=1&x=http://a.test/?q")
	f("plain", adHost, "/plain?=1&=&auth_tkt&auth_tkt==x")
	f("plain", "APP.Test", "/plain/q")
	// A query that starts with a separator: mod_auth_tkt's query_strip
	// keeps one empty pair at the start ("="), tktgate drops it.
	f("plain", adHost, "/plain?&a=1")
	f("plain", adHost, "/plain?;a")
	f("plain", adHost, "/plain?&&auth_tkt=x&&z")
	f("plain", adHost, "/plain?&")
	f("plain", adHost, "/plain?")
	f("rel", adHost, "/rel/x?y=1", adRelLogin)
	f("relpath", adHost, "/relpath/x?y=1") // mod_auth_tkt adds the "/"
	f("loginq", adHost, "/loginq/x?y=1", adSemicolon)
	f("backarg", adHost, "/backarg/x?y=1")
	f("noback", adHost, "/noback/x?y=1")
	f("backcookie", adHost, "/backcookie/x?y=1")
	f("dom", adHost, "/dom/x")
	f("plain", "app.test:8080", "/plain/x?y=1", adDropPort)
	f("rel", "app.test:8080", "/rel/x", adDropPort, adRelLogin)
	f("relpath", "app.test:8080", "/relpath/x", adDropPort)
	f("backcookie", "app.test:8080", "/backcookie/x", adDropPort)
	f("dom", "app.test:8080", "/dom/x") // with TKTAuthDomain, Apache keeps it

	// Path normalisation: Apache builds back= from r->uri, in which "."
	// and ".." are resolved and slashes merged; nginx hands tktgate the
	// raw $request_uri. Logged, not compared.
	for _, uri := range []string{"/plain/./a/../b", "/plain//x"} {
		ar := e.apache.Get(t, uri, http.Header{"X-Forwarded-Host": {adHost}})
		ga := e.gate.do(t, "GET", "/auth/plain", []string{"X-Original-URL: http://" + adHost + uri})
		if ar.Location != ga.get("Location") {
			t.Logf("GET %s: Apache %q, tktgate %q (known: Apache normalises the path)", uri, ar.Location, ga.get("Location"))
		}
	}

	// An expired ticket where the back URL goes in a cookie: Apache's
	// back cookie replaces its clearing cookie (apr_table_setn); tktgate
	// sends both. Logged.
	lo := netip.MustParseAddr("127.0.0.1")
	old := adCookieOf(base64.StdEncoding.EncodeToString([]byte(e.text(adTkt{uid: "late", ts: uint32(time.Now().Add(-3 * time.Hour).Unix()), ip: lo}))))
	ar := e.apache.Get(t, "/backcookie/x", http.Header{"X-Forwarded-Host": {adHost}, "Cookie": old})
	ga := e.gate.do(t, "GET", "/auth/backcookie", []string{"X-Original-URL: http://" + adHost + "/backcookie/x", "Cookie: " + old[0]})
	t.Logf("expired ticket, back cookie: Apache %d %q Set-Cookie %q; tktgate %d %q Set-Cookie %q",
		ar.Status, ar.Location, ar.SetCookie, ga.status, ga.get("Location"), ga.values("Set-Cookie"))
}

// ---- a raw HTTP/1.1 client for tktgate ----

// adClient keeps one connection to tktgate and reads answers byte for
// byte: net/http would trim the white space at the ends of an
// X-Remote-User value, which mod_auth_tkt exports as is.
type adClient struct {
	addr string
	c    *rawhttp.Conn
}

type adAnswer struct {
	status int
	header [][2]string
}

func (a adAnswer) lookup(name string) (string, bool) {
	for _, kv := range a.header {
		if strings.EqualFold(kv[0], name) {
			return kv[1], true
		}
	}
	return "", false
}

func (a adAnswer) get(name string) string { v, _ := a.lookup(name); return v }

func (a adAnswer) values(name string) []string {
	var vs []string
	for _, kv := range a.header {
		if strings.EqualFold(kv[0], name) {
			vs = append(vs, kv[1])
		}
	}
	return vs
}

func (cl *adClient) close() {
	if cl.c != nil {
		cl.c.Close()
		cl.c = nil
	}
}

func (cl *adClient) do(t *testing.T, method, path string, headers []string) adAnswer {
	t.Helper()
	req := rawhttp.Request(method, path, "gate", headers...)
	for attempt := 0; ; attempt++ {
		a, err := cl.roundTrip(req)
		if err == nil {
			return a
		}
		cl.close()
		if attempt > 0 {
			t.Fatalf("tktgate: %s %s: %v", method, path, err)
		}
	}
}

func (cl *adClient) roundTrip(req string) (adAnswer, error) {
	var a adAnswer
	if cl.c == nil {
		c, err := rawhttp.Dial("tcp", cl.addr, 5*time.Second)
		if err != nil {
			return a, err
		}
		cl.c = c
	}
	cl.c.SetDeadline(time.Now().Add(10 * time.Second))
	r, err := cl.c.RoundTrip(req)
	if err != nil {
		return a, err
	}
	a.status = r.Status
	for _, f := range r.Fields {
		// fasthttp writes "Name: value"; one space is the separator.
		a.header = append(a.header, [2]string{f.Name, strings.TrimPrefix(f.Value, " ")})
	}
	if r.Close {
		cl.close()
	}
	return a, nil
}
