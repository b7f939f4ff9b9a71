package verifier_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/apachetest"
	"github.com/tktgate/tktgate/verifier"
)

// This file is a differential test against the real mod_auth_tkt: the same
// cookie goes to an Apache started by package apachetest and to the
// Verifier, and both must come to the same decision with the same uid,
// tokens and data, and the same refreshed cookie. Only the cases are
// random; both sides judge the same bytes, so a case needs no expected
// answer to be useful. Families of cases that are valid or invalid by
// construction also carry one, so that a mistake shared by both sides
// shows too.
//
// What is kept out of the comparison, and checked on its own in the
// "deliberate" subtests (Go must refuse; Apache's answer is logged):
//   - control bytes in the ticket, and tickets dated further ahead than
//     MaxFuture: the two refusals documented in doc.go (the differential
//     verifiers get a MaxFuture of a century);
//   - a timestamp field without a hex digit, for which mod_auth_tkt reads
//     uninitialised memory, so its answer changes from request to request;
//   - Cookie bytes httpd itself refuses (\v, \f: 400) or trims (white
//     space around the value): the Go side is given the header as httpd
//     hands it to the module.
//
// The random seed is logged; TKTGATE_APACHE_SEED=<n> replays it. Tickets
// are dated relative to the clock, so a replay is exact except for time,
// and no case is dated within apacheMargin of an expiry or refresh point,
// since the cases are made before they are sent and Apache reads its own
// clock.

const apacheSeedEnv = "TKTGATE_APACHE_SEED"

// Apache's (and our) outcomes, named after where mod_auth_tkt sends the
// client: each location has a distinct URL for each kind of refusal.
const (
	apacheOK      = "ok"      // 200, user set
	apacheLogin   = "login"   // no valid ticket
	apacheTimeout = "timeout" // valid but expired
	apacheUnauth  = "unauth"  // valid, without a required token
)

const (
	apacheTimeoutURL = "http://timeout.test/"
	apacheUnauthURL  = "http://unauth.test/"
	apacheCookie     = "auth_tkt"
	// apacheSkew bounds how far the date of a ticket Apache refreshed may
	// be from our clock.
	apacheSkew = 10 * time.Second
)

// apacheLoc is one protected location and the Verifier options that
// describe the same configuration.
type apacheLoc struct {
	path       string
	directives []string
	timeout    time.Duration
	refresh    float64
	ignoreIP   bool
	tokens     []string // TKTAuthToken
}

var apacheLocs = []apacheLoc{
	{path: "/plain", directives: []string{"TKTAuthTimeout 0"}},
	{path: "/timeout", directives: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 0"}, timeout: time.Hour},
	{path: "/refresh", directives: []string{"TKTAuthTimeout 60m", "TKTAuthTimeoutRefresh 0.5"}, timeout: time.Hour, refresh: 0.5},
	// The module's defaults: TKTAuthTimeout 7200, TKTAuthTimeoutRefresh 0.5.
	{path: "/default", timeout: 2 * time.Hour, refresh: 0.5},
	{path: "/noip", directives: []string{"TKTAuthTimeout 0", "TKTAuthIgnoreIP on"}, ignoreIP: true},
	{path: "/tokens", directives: []string{"TKTAuthTimeout 0", "TKTAuthToken admin editor"}, tokens: []string{"admin", "editor"}},
}

// apacheEnv is one Apache (one digest type: it is server-wide) and a
// Verifier per location.
type apacheEnv struct {
	digest      verifier.Digest
	secret, old string
	srv         *apachetest.Server
	locs        map[string]apacheLoc
	vs          map[string]*verifier.Verifier // MaxFuture: a century
	strict      map[string]*verifier.Verifier // default MaxFuture
}

func startApacheEnv(t *testing.T, d verifier.Digest) *apacheEnv {
	e := &apacheEnv{
		digest: d,
		locs:   map[string]apacheLoc{},
		vs:     map[string]*verifier.Verifier{},
		strict: map[string]*verifier.Verifier{},
	}
	e.secret, e.old = apachetest.Secrets(d.String())
	cfg := apachetest.Config{Secret: e.secret, OldSecret: e.old, DigestType: d.String()}
	for _, l := range apacheLocs {
		cfg.Locations = append(cfg.Locations, apachetest.Location{
			Path: l.path,
			Directives: append([]string{
				"TKTAuthTimeoutURL " + apacheTimeoutURL,
				"TKTAuthUnauthURL " + apacheUnauthURL,
			}, l.directives...),
		})
		o := verifier.Options{
			Secret: []byte(e.secret), OldSecret: []byte(e.old), Digest: d,
			IgnoreIP: l.ignoreIP, Timeout: l.timeout, Refresh: l.refresh,
		}
		e.strict[l.path] = apacheNew(t, o)
		o.MaxFuture = 100 * 365 * 24 * time.Hour
		e.vs[l.path] = apacheNew(t, o)
		e.locs[l.path] = l
	}
	e.srv = apachetest.Start(t, cfg)
	return e
}

func apacheNew(t testing.TB, o verifier.Options) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// apacheTkt describes a ticket to build with the reference signer below,
// which can also make tickets Sign refuses to (control bytes, '!' in a
// uid, odd timestamp spellings).
type apacheTkt struct {
	uid, tokens, data string
	ts                uint32
	ip                netip.Addr // the invalid zero Addr signs as 0.0.0.0
	old               bool       // sign with the old secret
	secret            string     // sign with this secret instead
	bang2             bool       // write "uid!!data" even without tokens
	tsText            string     // replaces the 8 hex digits of ts
}

// text is the raw ticket, signed by apachetest's reference signer
// rather than by the package under test.
func (e *apacheEnv) text(k apacheTkt) string {
	t := apachetest.Ticket{UID: k.uid, Tokens: k.tokens, Data: k.data, TS: k.ts, IP: k.ip, Secret: k.secret, Bang2: k.bang2, TSText: k.tsText}
	return apachetest.Signer{Digest: e.digest.String(), Secret: e.secret, Old: e.old}.Text(t, k.old)
}

// apacheCase is one request.
type apacheCase struct {
	family string
	note   string // what was done to the ticket, for the report
	loc    string
	cookie []string // Cookie header lines; httpd joins them with ", "
	ip     string   // X-Real-IP; "" leaves the client at 127.0.0.1
	// want, when set, is the outcome the case was built to have.
	want string
	// fields, when set with want == apacheOK, are the uid, tokens and
	// data Apache must export.
	fields *[3]string
}

// apacheRun is one case's answers from both sides.
type apacheRun struct {
	c        apacheCase
	apache   apachetest.Result
	aOut     string
	goOut    string
	goErr    error
	tk       verifier.Ticket
	ip       netip.Addr
	problems []string
}

func apacheOutcome(r apachetest.Result) string {
	switch {
	case r.Status == http.StatusOK && r.Authenticated:
		return apacheOK
	case r.Status == http.StatusTemporaryRedirect && strings.HasPrefix(r.Location, apachetest.LoginURL):
		return apacheLogin
	case r.Status == http.StatusTemporaryRedirect && strings.HasPrefix(r.Location, apacheTimeoutURL):
		return apacheTimeout
	case r.Status == http.StatusTemporaryRedirect && strings.HasPrefix(r.Location, apacheUnauthURL):
		return apacheUnauth
	}
	return fmt.Sprintf("HTTP %d (Location %q)", r.Status, r.Location)
}

func apacheGoOutcome(err error, tk *verifier.Ticket, required []string) string {
	switch {
	case err == nil:
		req := make([][]byte, len(required))
		for i, r := range required {
			req[i] = []byte(r)
		}
		if !verifier.HasToken(tk.Tokens, req) {
			return apacheUnauth
		}
		return apacheOK
	case errors.Is(err, verifier.ErrExpired):
		return apacheTimeout
	case errors.Is(err, verifier.ErrNoTicket), errors.Is(err, verifier.ErrMalformed),
		errors.Is(err, verifier.ErrBadIP), errors.Is(err, verifier.ErrBadDigest):
		return apacheLogin
	}
	return "error " + err.Error()
}

func (e *apacheEnv) clientIP(c apacheCase) netip.Addr {
	if c.ip == "" {
		return netip.MustParseAddr("127.0.0.1")
	}
	return netip.MustParseAddr(c.ip)
}

// run sends c to Apache and to v; compare judges the answers.
func (e *apacheEnv) run(t *testing.T, c apacheCase, v *verifier.Verifier) *apacheRun {
	t.Helper()
	h := http.Header{}
	if len(c.cookie) > 0 {
		h["Cookie"] = c.cookie
	}
	if c.ip != "" {
		h.Set("X-Real-IP", c.ip)
	}
	r := &apacheRun{c: c, ip: e.clientIP(c)}
	r.apache = e.srv.Get(t, c.loc, h)
	r.aOut = apacheOutcome(r.apache)

	// httpd hands mod_auth_tkt the Cookie lines without leading and
	// trailing white space (RFC 9110 field values exclude it), joined
	// with ", "; tktgate's HTTP server must do the same.
	lines := make([]string, len(c.cookie))
	for i, l := range c.cookie {
		lines[i] = strings.Trim(l, " \t")
	}
	value := v.CookieTicket([]byte(strings.Join(lines, ", ")), []byte(apacheCookie))
	r.goErr = v.Verify(&r.tk, value, r.ip, time.Now())
	r.goOut = apacheGoOutcome(r.goErr, &r.tk, e.locs[c.loc].tokens)
	return r
}

// compare records every way in which the two sides differ.
func (e *apacheEnv) compare(r *apacheRun, v *verifier.Verifier) {
	bad := func(format string, args ...any) { r.problems = append(r.problems, fmt.Sprintf(format, args...)) }
	if r.aOut != r.goOut {
		bad("outcome: Apache %s, Go %s", r.aOut, r.goOut)
	}
	if r.c.want != "" && r.goOut != r.c.want {
		bad("built to be %s, Go says %s", r.c.want, r.goOut)
	}
	if r.c.want != "" && r.aOut != r.c.want {
		bad("built to be %s, Apache says %s", r.c.want, r.aOut)
	}
	if r.aOut == apacheOK && r.goOut == apacheOK {
		a := r.apache
		if a.User != string(r.tk.UID) || a.Tokens != string(r.tk.Tokens) || a.Data != string(r.tk.Data) {
			bad("fields: Apache %q %q %q, Go %q %q %q", a.User, a.Tokens, a.Data, r.tk.UID, r.tk.Tokens, r.tk.Data)
		}
		e.compareRefresh(r, v, bad)
	}
	if f := r.c.fields; f != nil && r.aOut == apacheOK {
		if a := r.apache; a.User != f[0] || a.Tokens != f[1] || a.Data != f[2] {
			bad("fields: Apache %q %q %q, signed %q %q %q", a.User, a.Tokens, a.Data, f[0], f[1], f[2])
		}
	}
}

// compareRefresh checks that Apache sent a new ticket exactly when the
// Verifier says NeedsRefresh, and that it is byte for byte what
// AppendRefresh makes for the same second.
func (e *apacheEnv) compareRefresh(r *apacheRun, v *verifier.Verifier, bad func(string, ...any)) {
	sent := apacheSentTicket(r.apache.SetCookie)
	if (sent != "") != r.tk.NeedsRefresh {
		bad("refresh: Apache Set-Cookie %q, Go NeedsRefresh %v (OldSecret %v)", r.apache.SetCookie, r.tk.NeedsRefresh, r.tk.OldSecret)
		return
	}
	if sent == "" {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(sent)
	hl := e.digest.HexLen()
	if err != nil || len(raw) < hl+8 {
		bad("refresh: Apache sent %q, not a base64 ticket", sent)
		return
	}
	ts, err := strconv.ParseUint(string(raw[hl:hl+8]), 16, 32)
	if err != nil {
		bad("refresh: Apache sent %q with timestamp %q", raw, raw[hl:hl+8])
		return
	}
	if d := time.Since(time.Unix(int64(ts), 0)); d < -apacheSkew || d > apacheSkew {
		bad("refresh: Apache's new ticket is dated %v from now", -d)
	}
	want := string(v.AppendRefresh(nil, &r.tk, r.ip, time.Unix(int64(ts), 0)))
	if sent != want {
		bad("refresh: Apache sent %q (%q), AppendRefresh makes %q", sent, raw, want)
	}
	var tk verifier.Ticket
	if err := v.Verify(&tk, []byte(sent), r.ip, time.Now()); err != nil || tk.OldSecret || tk.NeedsRefresh ||
		!slices.Equal(tk.UID, r.tk.UID) || !slices.Equal(tk.Tokens, r.tk.Tokens) || !slices.Equal(tk.Data, r.tk.Data) {
		bad("refresh: Apache's new ticket %q verifies as %v %q %q %q (old secret %v, refresh %v)", raw, err, tk.UID, tk.Tokens, tk.Data, tk.OldSecret, tk.NeedsRefresh)
	}
}

// apacheSentTicket returns the non-empty auth_tkt value among Set-Cookie
// headers (an expired ticket gets an empty one, which is not a ticket).
func apacheSentTicket(setCookie []string) string {
	for _, sc := range setCookie {
		v, ok := strings.CutPrefix(sc, apacheCookie+"=")
		if !ok {
			continue
		}
		v, _, _ = strings.Cut(v, ";")
		if v != "" {
			return v
		}
	}
	return ""
}

func (r *apacheRun) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] GET %s", r.c.family, r.c.loc)
	if r.c.note != "" {
		fmt.Fprintf(&b, " (%s)", r.c.note)
	}
	for _, c := range r.c.cookie {
		fmt.Fprintf(&b, "\n\tCookie: %q", c)
	}
	fmt.Fprintf(&b, "\n\tclient IP: %s", r.ip)
	a := r.apache
	fmt.Fprintf(&b, "\n\tApache: %s", r.aOut)
	if a.Status == http.StatusOK {
		fmt.Fprintf(&b, " user=%q tokens=%q data=%q", a.User, a.Tokens, a.Data)
	}
	if len(a.SetCookie) > 0 {
		fmt.Fprintf(&b, " Set-Cookie=%q", a.SetCookie)
	}
	fmt.Fprintf(&b, "\n\tGo: %s (Verify: %v)", r.goOut, r.goErr)
	if r.goErr == nil || errors.Is(r.goErr, verifier.ErrExpired) {
		fmt.Fprintf(&b, " uid=%q tokens=%q data=%q time=%d refresh=%v", r.tk.UID, r.tk.Tokens, r.tk.Data, r.tk.Time.Unix(), r.tk.NeedsRefresh)
	}
	for _, p := range r.problems {
		fmt.Fprintf(&b, "\n\t=> %s", p)
	}
	return b.String()
}

func TestApache(t *testing.T) {
	seed := apachetest.Seed(t, apacheSeedEnv)
	for _, d := range []verifier.Digest{verifier.MD5, verifier.SHA256, verifier.SHA512} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			e := startApacheEnv(t, d)
			g := &apacheGen{Gen: apachetest.NewGen(seed, uint64(d)), e: e}
			t.Run("differential", func(t *testing.T) { e.differential(t, g.cases()) })
			t.Run("signed", func(t *testing.T) { e.differential(t, g.signed(150)) })
			t.Run("deliberate", func(t *testing.T) { e.deliberate(t, g) })
		})
	}
}

// differential runs the cases through both sides and reports every
// disagreement, a few per family in full.
func (e *apacheEnv) differential(t *testing.T, cases []apacheCase) {
	var fams apachetest.Families
	for _, c := range cases {
		v := e.vs[c.loc]
		r := e.run(t, c, v)
		e.compare(r, v)
		keys := []string{r.aOut}
		if apacheSentTicket(r.apache.SetCookie) != "" {
			keys = append(keys, "refreshed")
		}
		fams.Add(t, c.family, len(r.problems) > 0, r, keys...)
	}
	fams.Done(t)
}

// deliberate checks what the differential leaves out: Go must refuse,
// whatever Apache does; what Apache does is logged.
func (e *apacheEnv) deliberate(t *testing.T, g *apacheGen) {
	// (a) Control bytes anywhere in the decoded ticket.
	accepted, n := 0, 0
	for _, c := range g.controlBytes(40) {
		r := e.run(t, c, e.vs[c.loc])
		n++
		if r.aOut == apacheOK {
			accepted++
			if accepted <= 3 {
				t.Logf("control bytes, accepted by Apache only (deliberate):\n%v", r)
			}
		}
		if !errors.Is(r.goErr, verifier.ErrMalformed) {
			t.Errorf("control bytes: Go must refuse as malformed:\n%v", r)
		}
	}
	t.Logf("control bytes: Apache accepted %d of %d, Go none", accepted, n)

	// A timestamp without a hex digit: sscanf fails and mod_auth_tkt goes
	// on with whatever the pool memory held, so Apache's answer varies
	// from request to request. We refuse (see scanHex8).
	accepted, n = 0, 0
	for _, ts := range []string{"zzzzzzzz", "        ", "+-------", "x0000000"} {
		for _, enc := range []string{"raw", "base64", "escaped"} {
			text := e.text(apacheTkt{uid: "zed", data: "ts", ip: netip.MustParseAddr("127.0.0.1"), tsText: ts})
			c := apacheCase{family: "no-digit", loc: "/plain", cookie: apacheCookieOf(g.Encode(enc, text))}
			r := e.run(t, c, e.vs[c.loc])
			n++
			if r.aOut == apacheOK {
				accepted++
			}
			if !errors.Is(r.goErr, verifier.ErrMalformed) {
				t.Errorf("timestamp %q: Go must refuse as malformed:\n%v", ts, r)
			}
		}
	}
	t.Logf("timestamp without digits, signed as 0: Apache accepted %d of %d this time, Go none", accepted, n)

	// (c) A uid or token that begins or ends with a space: a proxy trims
	// it from the header value, so "admin " would reach the application
	// as "admin". Apache exports it as is.
	accepted, n = 0, 0
	for _, f := range [][2]string{{"admin ", ""}, {" admin", ""}, {"   ", ""}, {"alice", "admin "}, {"alice", " admin"}, {"alice", "user, admin"}, {"alice", "admin ,user"}, {"alice", " "}} {
		for _, loc := range []string{"/plain", "/tokens"} {
			k, ip := g.tkt(loc)
			k.uid, k.tokens = f[0], f[1]
			for _, enc := range []string{"base64", "escaped"} {
				r := e.run(t, apacheCase{family: "trimmable", loc: loc, ip: ip, cookie: apacheCookieOf(g.Encode(enc, e.text(k)))}, e.vs[loc])
				n++
				if r.aOut == apacheOK {
					accepted++
				}
				if !errors.Is(r.goErr, verifier.ErrMalformed) {
					t.Errorf("uid %q tokens %q: Go must refuse as malformed:\n%v", f[0], f[1], r)
				}
			}
		}
	}
	t.Logf("uid or token with a space at an end: Apache accepted %d of %d, Go none", accepted, n)

	// (b) Tickets dated beyond MaxFuture, with the default MaxFuture.
	// Apache takes them all, except where ts+timeout wraps around 2^32.
	for _, loc := range []string{"/plain", "/timeout", "/default"} {
		for _, ts := range []uint32{g.TS(10 * time.Minute), g.TS(24 * time.Hour), g.TS(10 * 365 * 24 * time.Hour), 0xffffff00} {
			c := apacheCase{family: "future", loc: loc,
				cookie: []string{apacheCookie + "=" + e.text(apacheTkt{uid: "future", ts: ts, ip: netip.MustParseAddr("127.0.0.1")})}}
			r := e.run(t, c, e.strict[loc])
			if !errors.Is(r.goErr, verifier.ErrFuture) {
				t.Errorf("future: Go must refuse with ErrFuture:\n%v", r)
			}
			t.Logf("future: %s ts %#x (now+%v): Apache %s", loc, ts, time.Unix(int64(ts), 0).Sub(g.Now).Round(time.Second), r.aOut)
		}
	}
}

// apacheGen makes the cases for one env.
type apacheGen struct {
	*apachetest.Gen
	e *apacheEnv
}

// apacheMargin keeps generated dates this far from any expiry or refresh
// boundary: the cases are made before they are sent, and Apache reads its
// own clock.
const apacheMargin = time.Minute

// fresh is a date no location expires or refreshes (the shortest refresh
// point is 30 minutes).
func (g *apacheGen) fresh() uint32 {
	return g.TS(-time.Duration(g.Rand.Int64N(int64(20 * time.Minute))))
}

func (g *apacheGen) loc(paths ...string) string {
	if len(paths) == 0 {
		return apacheLocs[g.Rand.IntN(len(apacheLocs))].path
	}
	return g.Pick(paths...)
}

func apacheCookieOf(value string) []string { return []string{apacheCookie + "=" + value} }

// tkt is a random valid ticket for loc and a client for it.
func (g *apacheGen) tkt(loc string) (apacheTkt, string) {
	l := g.e.locs[loc]
	hdr, ip := g.Client(false)
	k := apacheTkt{
		uid:    g.Field(12, false),
		tokens: g.Tokens(l.tokens),
		data:   g.Field(24, true),
		ts:     g.fresh(),
		ip:     ip,
	}
	k.uid, k.tokens = apachetest.Untrimmed(k.uid, k.tokens)
	if l.ignoreIP {
		k.ip = netip.Addr{}
	}
	// A '!' in data needs the tokens field, as Sign writes it.
	k.bang2 = strings.Contains(k.data, "!") || g.Rand.IntN(8) == 0
	return k, hdr
}

func (k apacheTkt) fields() *[3]string { return &[3]string{k.uid, k.tokens, k.data} }

func (g *apacheGen) cases() []apacheCase {
	var cs []apacheCase
	add := func(c apacheCase) { cs = append(cs, c) }

	// Valid tickets in every encoding, at every location.
	for range 150 {
		loc := g.loc()
		k, ip := g.tkt(loc)
		add(apacheCase{family: "valid", loc: loc, ip: ip, cookie: apacheCookieOf(g.EncAny(g.e.text(k))), want: apacheOK, fields: k.fields()})
	}

	// One change to a valid ticket.
	for i := range 100 {
		loc := g.loc("/plain", "/default", "/noip", "/refresh")
		k, ip := g.tkt(loc)
		text := g.e.text(k)
		hl := g.e.digest.HexLen()
		want := apacheLogin
		var note string
		switch i % 10 {
		case 0: // one hex digit of the digest
			note = "digest digit"
			text = g.FlipDigit(text, hl)
		case 1: // upper-case digest: the comparison is case-sensitive
			note = "upper-case digest"
			text = strings.ToUpper(text[:hl]) + text[hl:]
			if text[:hl] == strings.ToLower(text[:hl]) {
				want = apacheOK // no letters: nothing changed
			}
		case 2: // upper-case timestamp: the value is the same
			note = "upper-case timestamp"
			k.tsText = strings.ToUpper(fmt.Sprintf("%08x", k.ts))
			text = g.e.text(k)
			want = apacheOK
		case 3:
			note = "timestamp+1"
			k.tsText = fmt.Sprintf("%08x", k.ts+1)
			text = g.e.text(k)
		case 4: // uid
			note = "uid"
			text = text[:hl+8] + "Z" + text[hl+8:]
		case 5: // data
			note = "data"
			text += "x"
		case 6: // tokens
			note = "tokens"
			j := strings.IndexByte(text[hl+8:], '!') + hl + 8
			text = text[:j+1] + "t," + text[j+1:]
		case 7:
			note = "last byte cut"
			text = text[:len(text)-1]
			if k.tokens == "" && k.data == "" && k.bang2 {
				want = apacheOK // "uid!!" and "uid!" are the same ticket
			}
		case 8: // a secret Apache does not know
			note = "wrong secret"
			k.secret = g.e.secret + "x"
			text = g.e.text(k)
		case 9: // a digest over tokens and data swapped
			note = "tokens/data swapped"
			s := k
			s.tokens, s.data = k.data, k.tokens
			text = g.e.text(s)[:hl] + text[hl:]
			if k.tokens == k.data {
				want = apacheOK
			}
		}
		add(apacheCase{family: "tampered", note: note, loc: loc, ip: ip, cookie: apacheCookieOf(g.EncAny(text)), want: want})
	}

	cs = append(cs, g.ipCases()...)
	cs = append(cs, g.timeCases(120)...)
	cs = append(cs, g.tokenCases()...)
	cs = append(cs, g.oldSecret(20)...)
	cs = append(cs, g.fieldCases()...)
	cs = append(cs, g.cookieCases()...)
	cs = append(cs, g.garbage(120)...)
	cs = append(cs, g.quirks()...)
	return cs
}

// ipCases bind tickets to one address and send them from another; the
// address reaches mod_auth_tkt through mod_remoteip.
func (g *apacheGen) ipCases() []apacheCase {
	var cs []apacheCase
	add := func(loc string, signed netip.Addr, from, want string) {
		k, _ := g.tkt(loc)
		k.ip = signed
		cs = append(cs, apacheCase{family: "ip", loc: loc, ip: from, cookie: apacheCookieOf(g.EncAny(g.e.text(k))), want: want})
	}
	want := func(c apachetest.AddrCase) string {
		if c.Match {
			return apacheOK
		}
		return apacheLogin
	}
	zero := netip.IPv4Unspecified()
	for range 6 {
		checked, ignored := g.AddrCases()
		for _, c := range checked {
			add("/plain", c.Signed, c.From, want(c))
		}
		for _, c := range ignored {
			add("/noip", c.Signed, c.From, want(c))
		}
		a, b := checked[0].Signed, netip.MustParseAddr(checked[1].From)
		add("/timeout", a, a.String(), apacheOK)
		add("/timeout", b, a.String(), apacheLogin)
	}
	add("/plain", netip.MustParseAddr("127.0.0.1"), "", apacheOK)
	add("/plain", zero, "0.0.0.0", apacheOK)
	add("/plain", zero, "::1", apacheLogin)
	add("/noip", zero, "::1", apacheOK)
	// Edge addresses, compared without an expectation: 127/8 is the
	// trusted proxy range, and 255.255.255.255 is INADDR_NONE, which
	// mod_auth_tkt's ticket_digest treats as a failed conversion.
	for _, a := range []string{"127.0.0.9", "127.255.255.254", "255.255.255.255", "255.255.255.254", "0.0.0.1"} {
		add("/plain", netip.MustParseAddr(a), a, "")
	}
	return cs
}

// timeCases date tickets around the expiry and refresh points (never
// within apacheMargin of one).
func (g *apacheGen) timeCases(n int) []apacheCase {
	var cs []apacheCase
	for len(cs) < n {
		loc := g.loc("/timeout", "/refresh", "/default")
		l := g.e.locs[loc]
		// From a day ahead to a day after expiry, with more near the
		// boundaries.
		var age time.Duration
		if g.Rand.IntN(2) == 0 {
			age = time.Duration(g.Rand.Int64N(int64(l.timeout+2*time.Hour))) - time.Hour
		} else {
			age = time.Duration(g.Rand.Int64N(int64(l.timeout+48*time.Hour))) - 24*time.Hour
		}
		near := func(b time.Duration) bool { return (age - b).Abs() < apacheMargin }
		if near(l.timeout) || l.refresh > 0 && near(time.Duration(float64(l.timeout)*(1-l.refresh))) {
			continue
		}
		k, ip := g.tkt(loc)
		k.ts = g.TS(-age)
		k.old = g.Rand.IntN(6) == 0
		want := apacheOK
		if age > l.timeout {
			want = apacheTimeout
		}
		cs = append(cs, apacheCase{family: "time", loc: loc, ip: ip, cookie: apacheCookieOf(g.EncAny(g.e.text(k))), want: want, fields: k.fields()})
	}
	return cs
}

// tokenCases try token lists against "TKTAuthToken admin editor".
func (g *apacheGen) tokenCases() []apacheCase {
	var cs []apacheCase
	f := func(tokens string, bang2 bool, want string) {
		k, ip := g.tkt("/tokens")
		k.tokens, k.bang2 = tokens, bang2
		k.data = g.Field(12, false) // a '!' would need bang2
		cs = append(cs, apacheCase{family: "tokens", loc: "/tokens", ip: ip, cookie: apacheCookieOf(g.EncAny(g.e.text(k))), want: want, fields: k.fields()})
	}
	for range 2 {
		f("admin", false, apacheOK)
		f("editor", false, apacheOK)
		f("user,admin", false, apacheOK)
		f("editor,user", false, apacheOK)
		f(",admin", false, apacheOK)
		f("user,,editor", false, apacheOK)
		f("x,admin,", false, apacheOK)
		f("user", false, apacheUnauth)
		f("Admin", false, apacheUnauth)
		f("adminx", false, apacheUnauth)
		f("ad min", false, apacheUnauth)
		f("admi", false, apacheUnauth)
		f("admin;", false, "") // ';' ends a raw cookie value
		f(",", false, apacheUnauth)
		f(",,", false, apacheUnauth)
		f("", false, apacheUnauth)
		f("", true, apacheUnauth)
		f("ADMIN,EDITOR", false, apacheUnauth)
	}
	return cs
}

// oldSecret: tickets signed with TKTAuthSecretOld are accepted and always
// re-signed with the current secret.
func (g *apacheGen) oldSecret(n int) []apacheCase {
	var cs []apacheCase
	for range n {
		loc := g.loc()
		k, ip := g.tkt(loc)
		k.old = true
		cs = append(cs, apacheCase{family: "old", loc: loc, ip: ip, cookie: apacheCookieOf(g.EncAny(g.e.text(k))), want: apacheOK, fields: k.fields()})
	}
	return cs
}

// fieldCases cover the shapes of uid!tokens!data.
func (g *apacheGen) fieldCases() []apacheCase {
	var cs []apacheCase
	f := func(uid, tokens, data string, bang2 bool, enc, want string) {
		k := apacheTkt{uid: uid, tokens: tokens, data: data, bang2: bang2, ts: g.fresh(), ip: netip.MustParseAddr("127.0.0.1")}
		c := apacheCase{family: "fields", loc: "/plain", cookie: apacheCookieOf(g.Encode(enc, g.e.text(k))), want: want}
		if want == apacheOK {
			c.fields = k.fields()
		}
		cs = append(cs, c)
	}
	for _, enc := range apachetest.Encodings {
		f("alice", "", "data", false, enc, apacheOK)
		f("alice", "", "da!ta", true, enc, apacheOK)                     // uid!!da!ta
		f("alice", "", "da!ta", false, enc, apacheLogin)                 // read as tokens "da", data "ta"
		f("alice", "a,b", "x!y!z", false, enc, apacheOK)                 // data keeps its '!'
		f("alice", "", "", false, enc, apacheOK)                         // uid!
		f("alice", "", "", true, enc, apacheOK)                          // uid!!
		f("", "", "", false, enc, apacheOK)                              // empty uid
		f("", "t", "", false, enc, apacheOK)                             // !t!
		f("jürgen", "", "Zoë", false, enc, apacheOK)                     // UTF-8
		f("\xff\xfe\x80", "\xe9", "\xc3\x28", false, enc, apacheOK)      // not UTF-8
		f("a b,c=d", "t 1,t=2", " lead and trail", false, enc, apacheOK) // spaces, '=' and ','
		f("bob", "", "100%21 %zz %", false, enc, apacheOK)               // '%' that is not an escape in raw
		f("bob", "", "q\"uo\"te", false, enc, apacheOK)                  // inner quotes
		f(strings.Repeat("u", 200), "", strings.Repeat("d", 1000), false, enc, apacheOK)
	}
	// A trailing '"' is stripped before parsing: a raw ticket whose data
	// ends with one fails, a base64 one does not.
	f("bob", "", `quote"`, false, "raw", "")
	f("bob", "", `quote"`, false, "base64", apacheOK)
	f("bob", "", `"`, false, "quoted-raw", "")
	// httpd trims the header value, and with it a raw ticket's trailing
	// space; quoted, the space survives.
	f("bob", "", "trail ", false, "raw", "")
	f("bob", "", "trail ", false, "base64", apacheOK)
	f("bob", "", "trail ", false, "quoted-raw", "")
	return cs
}

// cookieCases vary the Cookie header around one good ticket.
func (g *apacheGen) cookieCases() []apacheCase {
	var cs []apacheCase
	for _, enc := range []string{"raw", "base64"} {
		k := apacheTkt{uid: "carol", tokens: "t", data: "cookie test", ts: g.fresh(), ip: netip.MustParseAddr("127.0.0.1")}
		good := g.Encode(enc, g.e.text(k))
		bad := g.Encode(enc, g.e.text(apacheTkt{uid: "carol", ts: g.fresh(), ip: netip.MustParseAddr("127.0.0.1"), secret: "wrong"}))
		f := func(want string, lines ...string) {
			cs = append(cs, apacheCase{family: "cookie", loc: "/plain", cookie: lines, want: want})
		}
		for _, c := range apachetest.CookieCases(good, bad) {
			f(c.Want(apacheOK, apacheLogin), c.Lines...)
		}
		f(apacheLogin, "auth_tkt ="+good)
		f("", "auth_tkt= "+good)
	}
	return cs
}

const apacheB64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// garbage is anything but a ticket; none may pass.
func (g *apacheGen) garbage(n int) []apacheCase {
	var cs []apacheCase
	hl := g.e.digest.HexLen()
	f := func(v string) {
		cs = append(cs, apacheCase{family: "garbage", loc: g.loc("/plain", "/noip", "/timeout"), cookie: apacheCookieOf(v), want: apacheLogin})
	}
	// Bytes a header can carry to mod_auth_tkt (not CR, LF, NUL, and not
	// \v or \f, which httpd answers with 400); no ';'.
	anyByte := func() byte {
		for {
			if c := byte(g.Rand.IntN(256)); !strings.ContainsRune("\r\n\x00\v\f;", rune(c)) {
				return c
			}
		}
	}
	randHex := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789abcdef"[g.Rand.IntN(16)]
		}
		return string(b)
	}
	for i := range n {
		switch i % 7 {
		case 0: // random bytes
			b := make([]byte, g.Rand.IntN(300))
			for j := range b {
				b[j] = anyByte()
			}
			f(string(b))
		case 1: // lengths around digest+timestamp, with the '!' around its offset
			l := hl + 6 + g.Rand.IntN(6)
			b := []byte(randHex(l))
			b[hl+5+g.Rand.IntN(l-hl-5)] = '!'
			f(string(b))
		case 2: // well-formed, random digest
			f(g.EncAny(randHex(hl) + fmt.Sprintf("%08x", g.fresh()) + g.Field(10, false) + "!" + g.Field(10, true)))
		case 3: // base64 of random bytes
			b := make([]byte, g.Rand.IntN(200))
			for j := range b {
				b[j] = byte(g.Rand.IntN(256))
			}
			f(base64.StdEncoding.EncodeToString(b))
		case 4: // escapes without a ticket inside
			f(strings.Repeat("%21", g.Rand.IntN(60)) + g.Field(20, false))
		case 5: // base64 alphabet only
			b := make([]byte, g.Rand.IntN(300))
			for j := range b {
				b[j] = apacheB64Alphabet[g.Rand.IntN(64)]
			}
			f(string(b))
		case 6: // a valid ticket for a wrong secret, mangled
			k, _ := g.tkt("/plain")
			k.secret = "not " + g.e.secret
			f(g.EncAny(g.e.text(k)))
		}
	}
	f("")
	f(`""`)
	f(`"`)
	f("!")
	f(strings.Repeat("!", hl+9))
	f(strings.Repeat("0", hl+8) + "!")
	return cs
}

// quirks are mod_auth_tkt's parsing corners: how sscanf("%8x") reads the
// timestamp, what URL unescaping and lenient base64 do. They are compared
// without expectations: Apache is the reference.
func (g *apacheGen) quirks() []apacheCase {
	var cs []apacheCase
	lo := netip.MustParseAddr("127.0.0.1")
	f := func(value string) {
		cs = append(cs, apacheCase{family: "quirks", loc: "/plain", cookie: apacheCookieOf(value)})
	}
	// Timestamp spellings; the uid starts with a non-hex letter, which
	// stops the scan. /plain has no timeout, so old dates pass.
	v7 := uint32(0x1000000 + g.Rand.IntN(0xf000000))
	v6 := uint32(0x100000 + g.Rand.IntN(0xf00000))
	for _, sp := range []struct {
		ts   uint32
		text string
	}{
		{v7, fmt.Sprintf("%08x", v7)},
		{v7, fmt.Sprintf("%08X", v7)},
		{v7, fmt.Sprintf(" %07x", v7)},
		{v7, fmt.Sprintf("+%07x", v7)},
		{-v7, fmt.Sprintf("-%07x", v7)},
		{v7, fmt.Sprintf("%07xg", v7)},
		{v6, fmt.Sprintf("0x%06x", v6)},
		{v6, fmt.Sprintf("0X%06x", v6)},
		{v6, fmt.Sprintf("  %06x", v6)},
		{v6 >> 4, fmt.Sprintf("+0x%05x", v6>>4)},
		{0, "00000000"},
		{0, "0x      "},                                     // "0" is a digit; glibc takes the 'x' too
		{uint32(g.fresh()), fmt.Sprintf("%08x", g.fresh())}, // wrong value
	} {
		k := apacheTkt{uid: "zed", data: "ts", ts: sp.ts, ip: lo, tsText: sp.text}
		for _, enc := range []string{"raw", "base64", "escaped"} {
			f(g.Encode(enc, g.e.text(k)))
		}
	}
	good := g.e.text(apacheTkt{uid: "quinn", tokens: "a", data: "b", ts: g.fresh(), ip: lo})
	b64 := base64.StdEncoding.EncodeToString([]byte(good))
	nopad := strings.TrimRight(b64, "=")
	// A NUL ends the ticket (it is a C string).
	f(g.EscapeSome(good) + "%00junk")
	f(base64.StdEncoding.EncodeToString([]byte(good + "\x00junk!x")))
	// Invalid escapes stay as they are; valid ones in data change it.
	for _, d := range []string{"a%zzb", "tail%4", "tail%", "%41", "%2F", "%2f%00"} {
		text := g.e.text(apacheTkt{uid: "pct", data: d, ts: g.fresh(), ip: lo})
		f(strings.ReplaceAll(text, "!", "%21"))
	}
	// '+' is not a space.
	text := g.e.text(apacheTkt{uid: "plus", data: "a+b", ts: g.fresh(), ip: lo})
	f(strings.ReplaceAll(text, "!", "%21"))
	// Raw tickets are not unescaped even when they hold "%21".
	f(g.e.text(apacheTkt{uid: "raw", data: "x%21y", ts: g.fresh(), ip: lo}))
	// Lenient base64.
	for _, v := range []string{
		nopad, nopad + "=", nopad + "==", nopad + "===", b64 + "=", b64 + "A", b64 + "AA", nopad + "A", nopad + "AA",
		nopad + "AAA", nopad + "AAAA", b64 + "==AAAA", b64 + "\xff", nopad[:len(nopad)-1], nopad[:len(nopad)-2],
		" " + b64, b64[:4] + " " + b64[4:], b64 + `"`, `"` + b64, `""` + b64 + `""`,
	} {
		f(v)
	}
	// Quotes around raw tickets.
	f(`"` + good)
	f(good + `"`)
	f(`""` + good + `""`)
	return cs
}

// signed makes tickets with Sign (and AppendBase64) from random fields,
// which Apache must accept with those fields.
func (g *apacheGen) signed(n int) []apacheCase {
	var cs []apacheCase
	// Any printable ASCII and non-ASCII bytes; Sign refuses only control
	// bytes and '!' in uid and tokens.
	field := func(max int, bang bool) string {
		b := make([]byte, g.Rand.IntN(max+1))
		for i := range b {
			for {
				c := byte(0x20 + g.Rand.IntN(0xe0))
				if c != 0x7f && (bang || c != '!') {
					b[i] = c
					break
				}
			}
		}
		return string(b)
	}
	for range n {
		loc := g.loc()
		l := g.e.locs[loc]
		v := g.e.vs[loc]
		hdr, ip := g.Client(false)
		uid, tokens, data := field(16, false), field(16, false), field(40, true)
		if g.Rand.IntN(3) == 0 {
			need := l.tokens
			if len(need) > 0 && g.Rand.IntN(4) == 0 {
				need = nil
			}
			tokens = g.Tokens(need)
		}
		uid, tokens = apachetest.Untrimmed(uid, tokens)
		raw := v.Sign(nil, []byte(uid), []byte(tokens), []byte(data), ip, time.Unix(int64(g.fresh()), 0))
		if len(raw) == 0 {
			panic(fmt.Sprintf("Sign refused %q %q %q", uid, tokens, data))
		}
		value := string(raw)
		// A raw value must survive the Cookie header: no ';', no
		// trailing space (httpd trims it) or '"' (mod_auth_tkt strips it).
		if g.Rand.IntN(2) == 0 || strings.ContainsRune(value, ';') || strings.HasSuffix(value, `"`) || strings.HasSuffix(value, " ") {
			value = string(verifier.AppendBase64(nil, raw))
		}
		want := apacheOK
		if len(l.tokens) > 0 && !slices.ContainsFunc(strings.Split(tokens, ","), func(s string) bool { return slices.Contains(l.tokens, s) }) {
			want = apacheUnauth
		}
		cs = append(cs, apacheCase{family: "signed", loc: loc, ip: hdr, cookie: apacheCookieOf(value), want: want, fields: &[3]string{uid, tokens, data}})
	}
	return cs
}

// controlBytes are tickets with a control byte in uid, tokens, data or
// the timestamp field, valid for the digest.
func (g *apacheGen) controlBytes(n int) []apacheCase {
	var cs []apacheCase
	for i := range n {
		k, ip := g.tkt("/plain")
		c := byte(1 + g.Rand.IntN(0x1f))
		if i%5 == 4 {
			c = 0x7f
		}
		ins := func(s string) string {
			j := g.Rand.IntN(len(s) + 1)
			return s[:j] + string(c) + s[j:]
		}
		switch i % 4 {
		case 0:
			k.uid = ins(k.uid)
		case 1:
			k.tokens = ins(k.tokens)
		case 2:
			k.data = ins(k.data)
		case 3: // white space before the timestamp, which sscanf skips
			if strings.IndexByte("\t\n\v\f\r", c) < 0 {
				c = '\t'
			}
			k.ts &= 0xfffffff
			k.tsText = string(c) + fmt.Sprintf("%07x", k.ts)
			k.uid = "z" + k.uid // not a hex digit: ends the scan
		}
		enc := "base64"
		if !strings.ContainsRune("\r\n\v\f", rune(c)) && g.Rand.IntN(2) == 0 {
			enc = "raw"
		}
		text := g.e.text(k)
		// httpd trims white space at the ends of a header value, so a raw
		// ticket ending in a tab would reach both sides without it.
		if enc == "raw" && strings.TrimRight(text, " \t") != text {
			enc = "base64"
		}
		cs = append(cs, apacheCase{family: "control", loc: "/plain", ip: ip, cookie: apacheCookieOf(g.Encode(enc, text))})
	}
	return cs
}
