package main

// The hostile-input suite against every ticket dialect (issue 16): the
// in-process attacks of hostile_test.go run against a passport gate and a
// pyramid gate as well as the mod_auth_tkt one. The generic attacks
// (random bytes, oversized, truncated, framing, pipelining, paths and
// methods, spoofed addresses, future tickets) only change the cookie they
// carry; the ticket attacks are written for each dialect's cookie rules
// and encodings: big cookies (passport: the FIRST cookie of the name
// wins, even empty; pyramid: the LAST), bad encodings (passport: base64
// with base64 user data inside, Express's quote and percent rules;
// pyramid: WebOb's quoted values with \ooo escapes, URL-quoted uids),
// signed tickets carrying control bytes, identities a proxy would trim,
// and hostile JSON user data. Every gate must answer each without a 5xx
// or a panic, and still accept a valid ticket afterwards; its log goes
// through the suite's checkLogs.

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/apachetest"
	"github.com/tktgate/tktgate/verifier"
)

// hDialect is how a gate reads tickets at /auth, and how the suite writes
// them.
type hDialect struct {
	name     string
	d        verifier.Dialect
	cookie   string // the dialect's default cookie name
	digest   string // apachetest's name of the digest
	hexLen   int
	ignoreIP bool
	config   string
	// The gate's own verifiers (from LoadConfig of config): the reference
	// signer for clean fields and the oracle for odd cookies.
	dv     *verifier.DialectVerifier // /auth
	jsonDV *verifier.DialectVerifier // passport: /auth/json (JSON user data)
}

var hModAuthTkt = &hDialect{name: "mod_auth_tkt", d: verifier.ModAuthTkt, cookie: "auth_tkt", digest: "MD5", hexLen: 32}

// hDialectGates are the gates besides hConfig's: like it, the loopback
// peer is not trusted. The passport gate binds tickets to the address
// (ignore_ip = false, so that spoofing is tested) and has a policy with
// JSON user data and a header copied out of it; the pyramid gate keeps
// its library's defaults (SHA512, no address).
var hDialectGates = []*hDialect{
	{name: "passport", d: verifier.Passport, cookie: "authtkt", digest: "MD5", hexLen: 32,
		config: strings.Replace(hConfig, "[ticket]", "[ticket]\ndialect = \"passport\"\nignore_ip = false", 1) +
			"[policy.json]\npassport_json_user_data = true\nuser_data_headers = { \"X-Remote-User-Email\" = \"email\" }\n"},
	{name: "pyramid", d: verifier.Pyramid, cookie: "auth_tkt", digest: "SHA512", hexLen: 128, ignoreIP: true,
		config: strings.Replace(strings.Replace(hConfig, "[ticket]", "[ticket]\ndialect = \"pyramid\"", 1), "timeout_refresh = 0.5\n", "", 1)},
}

func (g *hGate) d() *hDialect {
	if g.dl == nil {
		return hModAuthTkt
	}
	return g.dl
}

// cookie is the name of the gate's ticket cookie; ck a Cookie header
// carrying v under that name.
func (g *hGate) cookie() string     { return g.d().cookie }
func (g *hGate) ck(v string) string { return "Cookie: " + g.cookie() + "=" + v }

// validOn is a fresh ticket for uid from 127.0.0.1 in the gate's dialect,
// as a cookie value (for mod_auth_tkt the same as valid).
func (s *hSuite) validOn(g *hGate, uid string) string {
	return s.ticket(g, uid, "admin,editor", "data of "+uid, hLocalhost, time.Now())
}

// ticket signs a ticket in the gate's dialect; see ticketTS.
func (s *hSuite) ticket(g *hGate, uid, tokens, data string, ip [4]byte, ts time.Time) string {
	v, _ := s.ticketTS(g.d(), uid, tokens, data, ip, uint32(ts.Unix()))
	return v
}

// ticketTS writes a ticket the way dl's library does, by the reference
// recipe (apachetest.Ticket) rather than verifier.Sign, so that it also
// signs fields Sign refuses (control bytes, identities with spaces at
// their ends): passport base64 with the user data base64 inside;
// pyramid with the uid URL-quoted, then WebOb-quoted. It returns the
// cookie value and the ticket text inside it, and registers both, and
// the digest, as things no log may show.
func (s *hSuite) ticketTS(dl *hDialect, uid, tokens, data string, ip [4]byte, ts uint32) (value, text string) {
	switch dl.d {
	case verifier.Passport:
		text = hPassportText(dl, uid, tokens, data, hB64(data), ip, ts)
		value = hB64(text)
	case verifier.Pyramid:
		text = hPyramidText(dl, hPyQuote(uid), uid, tokens, data, ip, ts)
		value = hWebobQuote(text)
	default:
		text = s.forgeTS(uid, tokens, data, ip, ts)
		return hB64(text), text
	}
	s.register(text[:dl.hexLen], value, text)
	return value, text
}

// register notes a digest and tickets (in every form) for checkLogs.
func (s *hSuite) register(digest string, tickets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.digest[digest] = true
	for _, tk := range tickets {
		s.secret[tk] = true
		s.secret[hEscape(tk)] = true
	}
}

// hPassportText is a passport-authtkt ticket text: the digest covers
// signed (the user data as the library signs it), the ticket carries
// section (its base64, or JSON text, as written).
func hPassportText(dl *hDialect, uid, tokens, signed, section string, ip [4]byte, ts uint32) string {
	var addr netip.Addr // 0.0.0.0
	if !dl.ignoreIP {
		addr = netip.AddrFrom4(ip)
	}
	head := apachetest.Ticket{UID: uid, Tokens: tokens, Data: signed, TS: ts, IP: addr, Secret: testSecret}.Text("MD5")[:40]
	text := head + uid + "!"
	if tokens != "" {
		text += tokens + "!"
	}
	return text + section
}

// hPyramidText is a Pyramid ticket text with uidText written where the
// uid goes and uidSigned (what Pyramid's unquote makes of it) signed.
func hPyramidText(dl *hDialect, uidText, uidSigned, tokens, data string, ip [4]byte, ts uint32) string {
	var addr netip.Addr
	if !dl.ignoreIP {
		addr = netip.AddrFrom4(ip)
	}
	head := apachetest.Ticket{UID: uidSigned, Tokens: tokens, Data: data, TS: ts, IP: addr, Secret: testSecret}.Text(dl.digest)[:dl.hexLen+8]
	text := head + uidText + "!"
	if tokens != "" || strings.Contains(data, "!") {
		text += tokens + "!"
	}
	return text + data
}

// hPyQuote is Python's urllib.parse.quote(s) (safe '/').
func hPyQuote(s string) string { return hPercent(s, "_.-~/") }

// hWebobChars are the bytes WebOb writes in a cookie value unquoted.
const hWebobChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~!@#$%^&*()+=-`.?|:/(){}<>'"

// hWebobQuote is WebOb's _value_quote: as is when every byte is a cookie
// character, else in double quotes with the other bytes (space, '[' and
// ']' aside) as \ooo.
func hWebobQuote(v string) string {
	plain := true
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(hWebobChars, v[i]) < 0 {
			plain = false
		}
	}
	if plain {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if c := v[i]; strings.IndexByte(hWebobChars+" []", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\%03o`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hOctal writes every byte of v as \ooo, in quotes: what WebOb reads as v.
func hOctal(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&b, `\%03o`, v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// verdict is what the gate's own verifier makes of Cookie headers at
// /auth (which requires no token): 200 or 401. Several headers are joined
// as the server joins them for the dialect.
func (dl *hDialect) verdict(dv *verifier.DialectVerifier, cookies []string) int {
	sep := ", "
	if dl.d == verifier.Passport {
		sep = "; "
	}
	var vals []string
	for _, h := range cookies {
		if v, ok := strings.CutPrefix(h, "Cookie: "); ok {
			vals = append(vals, v)
		}
	}
	c := dv.CookieTicket([]byte(strings.Join(vals, sep)), []byte(dl.cookie))
	if c == nil {
		return 401
	}
	var tk verifier.Ticket
	if err := dv.Verify(&tk, c, netip.AddrFrom4(hLocalhost), time.Now()); err != nil {
		return 401
	}
	return 200
}

// counters reads the gate's answer counters by policy, status and reason.
func (g *hGate) counters(t *testing.T) map[string]uint64 {
	t.Helper()
	r := g.get(t, "/metrics", "/metrics")
	m := map[string]uint64{}
	for _, line := range strings.Split(r.body, "\n") {
		if k, v, ok := strings.Cut(line, "} "); ok && strings.HasPrefix(k, "tktgate_auth_requests_total{") {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: /metrics line %q", g.name, line)
			}
			m[k] = n
		}
	}
	return m
}

// getReason is get, and the reason the gate counted for the answer.
func (g *hGate) getReason(t *testing.T, what, path string, headers ...string) (*hResp, string) {
	t.Helper()
	before := g.counters(t)
	r := g.get(t, what, path, headers...)
	var reasons []string
	for k, n := range g.counters(t) {
		if n != before[k] {
			_, rs, _ := strings.Cut(k, `reason="`)
			reasons = append(reasons, strings.TrimSuffix(rs, `"`))
		}
	}
	if len(reasons) != 1 {
		t.Errorf("%s: %s: counted under %q, want one reason", g.name, what, reasons)
		return r, ""
	}
	return r, reasons[0]
}

// timed is get, with an error when the answer takes over a second.
func (g *hGate) timed(t *testing.T, what, path string, headers ...string) *hResp {
	t.Helper()
	start := time.Now()
	r := g.get(t, what, path, headers...)
	if d := time.Since(start); d > time.Second {
		t.Errorf("%s: %s: took %v", g.name, what, d)
	}
	return r
}

// hDialectGate starts a gate for dialect tmpl and runs the attacks on it.
func hDialectGate(t *testing.T, s *hSuite, tmpl *hDialect) {
	dl := *tmpl
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(dl.config), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("%s config: %v", dl.name, err)
	}
	if cfg.Default.Dialect != dl.d || cfg.Default.CookieName != dl.cookie || cfg.Default.Options.IgnoreIP != dl.ignoreIP ||
		cfg.Default.Verifier.Digest().HexLen() != dl.hexLen {
		t.Fatalf("%s config: dialect %v, cookie %q, ignore_ip %v, digest %v: not what the suite assumes",
			dl.name, cfg.Default.Dialect, cfg.Default.CookieName, cfg.Default.Options.IgnoreIP, cfg.Default.Verifier.Digest())
	}
	dl.dv = cfg.Default.Verifier
	if p := cfg.Policies["json"]; p != nil {
		dl.jsonDV = p.Verifier
	}
	g := s.start(t, dl.name, dl.config, "127.0.0.1:0")
	g.dl = &dl
	hCheckForger(t, s, g)
	attacks := []struct {
		name string
		f    func(*testing.T, *hSuite, *hGate)
	}{
		{"random-bytes", hRandomBytes},
		{"oversized", hOversized},
		{"truncated", hTruncated},
		{"framing", hFraming},
		{"big-cookies", hDialectBigCookies},
		{"bad-encodings", hDialectBadEncodings},
		{"ticket-injection", hDialectInjection},
		{"whitespace-identities", hWhitespaceIdentities},
		{"future", hFuture},
		{"spoofed-ip", hSpoofedIP},
		{"pipelining", hPipelining},
		{"paths-and-methods", hPathsAndMethods},
	}
	if dl.jsonDV != nil {
		attacks = append(attacks, struct {
			name string
			f    func(*testing.T, *hSuite, *hGate)
		}{"hostile-json", hHostileJSON})
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			a.f(t, s, g)
			s.alive(t, g, a.name)
		})
	}
}

// hCheckForger: the suite's forger writes exactly what verifier.Sign
// writes for clean fields, and the gate accepts it. Otherwise every
// verdict below would be about the forger.
func hCheckForger(t *testing.T, s *hSuite, g *hGate) {
	dl := g.d()
	now := time.Now()
	ip := netip.AddrFrom4(hLocalhost)
	for _, c := range [][3]string{{"alice", "admin,editor", "data of alice"}, {"", "", ""}, {"al", "", "x!y"}, {"ad min", "x,y", "d"}, {"a/b.c", "t", ""}} {
		want := string(dl.dv.Sign(nil, []byte(c[0]), []byte(c[1]), []byte(c[2]), ip, now))
		got, _ := s.ticketTS(dl, c[0], c[1], c[2], hLocalhost, uint32(now.Unix()))
		if got != want {
			t.Fatalf("%s: the suite's forger writes %q for %q where verifier.Sign writes %q", g.name, got, c, want)
		}
		r := g.get(t, "clean forged ticket", "/auth", g.ck(got))
		if r.status != 200 || r.hdr.Get("X-Remote-User") != c[0] || r.hdr.Get("X-Remote-User-Tokens") != c[1] || r.hdr.Get("X-Remote-User-Data") != c[2] {
			t.Fatalf("%s: a clean forged ticket for %q: %d:\n%s", g.name, c, r.status, r.raw)
		}
	}
	if dl.jsonDV != nil {
		doc := `{"email":"a@b.example","n":[1,{"x":null}]}`
		want := string(dl.jsonDV.Sign(nil, []byte("alice"), []byte("admin"), []byte(doc), ip, now))
		got := s.passportJSON(dl, "alice", "admin", doc, doc, uint32(now.Unix()))
		if got != want {
			t.Fatalf("%s: the suite's JSON forger writes %q where verifier.Sign writes %q", g.name, got, want)
		}
		r := g.get(t, "clean forged JSON ticket", "/auth/json", g.ck(got))
		if r.status != 200 || r.hdr.Get("X-Remote-User-Data") != doc || r.hdr.Get("X-Remote-User-Email") != "a@b.example" {
			t.Fatalf("%s: a clean forged JSON ticket: %d:\n%s", g.name, r.status, r.raw)
		}
	}
}

// passportJSON is a passport ticket whose digest covers signed (what
// JSON.stringify(JSON.parse(doc)) gives) and whose text carries doc.
func (s *hSuite) passportJSON(dl *hDialect, uid, tokens, signed, doc string, ts uint32) string {
	text := hPassportText(dl, uid, tokens, signed, hB64(doc), hLocalhost, ts)
	value := hB64(text)
	s.register(text[:32], value, text)
	return value
}

// ---- big cookies ----

// Big cookies and many cookies by the dialect's rules: the first (passport)
// or last (pyramid) cookie of the name is the ticket, whatever surrounds
// it. Each case also asks the gate's own verifier, so a disagreement
// between the server and its verifier shows as such.
func hDialectBigCookies(t *testing.T, s *hSuite, g *hGate) {
	dl := g.d()
	name := dl.cookie
	tk := s.validOn(g, "alice")
	firstWins := dl.d == verifier.Passport
	pick := func(first, last int) int {
		if firstWins {
			return first
		}
		return last
	}
	k8 := strings.Repeat("x", 8<<10)
	many, headers := hMany, hCookieLines(1500)
	bigUID := s.ticket(g, k8, "", "", hLocalhost, time.Now())
	bigData := s.ticket(g, "alice", "admin", strings.Repeat("d", 6<<10), hLocalhost, time.Now())
	for _, c := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"8 KB cookie before", []string{"Cookie: big=" + k8 + "; " + name + "=" + tk}, 200},
		{"8 KB cookie after", []string{"Cookie: " + name + "=" + tk + "; big=" + k8}, 200},
		{"three 8 KB Cookie headers, ticket in a fourth", []string{"Cookie: a=" + k8, "Cookie: b=" + k8, "Cookie: c=" + k8, "Cookie: " + name + "=" + tk}, 200},
		{"2500 cookies, ticket last", []string{"Cookie: " + many(2500, "c%d=v; ") + name + "=" + tk}, 200},
		{"2500 cookies, ticket first", []string{"Cookie: " + name + "=" + tk + many(2500, "; c%d=v")}, 200},
		{"1500 Cookie headers, ticket last", append(headers[:len(headers):len(headers)], "Cookie: "+name+"="+tk), 200},
		{"1500 Cookie headers, ticket first", append([]string{"Cookie: " + name + "=" + tk}, headers...), 200},
		{"2000 empty tickets first", []string{"Cookie: " + strings.Repeat(name+"=; ", 2000) + name + "=" + tk}, pick(401, 200)},
		{"2000 empty tickets last", []string{"Cookie: " + name + "=" + tk + strings.Repeat("; "+name+"=", 2000)}, pick(200, 401)},
		{"2000 look-alike names", []string{"Cookie: " + strings.Repeat("x"+name+"=a; "+name+"2=b; "+name+name+"=c; "+name[:len(name)-1]+"=d; ", 500) + name + "=" + tk}, 200},
		{"8 KB of name characters", []string{"Cookie: " + strings.Repeat(name, (8<<10)/len(name)) + "; " + name + "=" + tk}, 200},
		{"garbage first", []string{"Cookie: " + name + "=garbage-garbage-garbage-garbage-garbage-garbage; " + name + "=" + tk}, pick(401, 200)},
		{"garbage last", []string{"Cookie: " + name + "=" + tk + "; " + name + "=garbage-garbage-garbage-garbage-garbage-garbage"}, pick(200, 401)},
		{"garbage in a first Cookie header", []string{"Cookie: " + name + "=garbage", "Cookie: " + name + "=" + tk}, pick(401, 200)},
		{"garbage in a second Cookie header", []string{"Cookie: " + name + "=" + tk, "Cookie: " + name + "=garbage"}, pick(200, 401)},
		{"spaces and tabs around", []string{"Cookie: a=1;  \t" + name + " \t= \t" + tk + " \t; b=2"}, 0},
		{"a quoted value hiding a ticket, after", []string{"Cookie: " + name + "=" + tk + `; other="x; ` + name + `=garbage"`}, 200},
		{"a quoted value hiding a ticket, before", []string{`Cookie: other="x; ` + name + `=garbage"; ` + name + "=" + tk}, pick(401, 200)},
		{"8 KB of escapes in another cookie", []string{`Cookie: a="` + strings.Repeat(`\054`, 2<<10) + `"; ` + name + "=" + tk}, 200},
		{"8 KB of escaped quotes in another cookie", []string{`Cookie: a="` + strings.Repeat(`\"`, 4<<10) + "; " + name + "=" + tk}, 0},
		{"non-UTF-8 in another cookie", []string{"Cookie: a=\xff\xfe; " + name + "=" + tk}, 200},                       // not a value WebOb's pattern reads
		{"non-UTF-8 in another quoted cookie", []string{"Cookie: a=\"\xff\xfe\"; " + name + "=" + tk}, pick(200, 401)}, // WebOb fails the request
		{"non-UTF-8 escape in another cookie", []string{`Cookie: a="\377"; ` + name + "=" + tk}, pick(200, 401)},
		{"8 KB base64 ticket", []string{"Cookie: " + name + "=" + strings.Repeat("QUFB", 2<<10)}, 401},
		{"8 KB of bangs", []string{"Cookie: " + name + "=" + strings.Repeat("a", 40) + strings.Repeat("!", 8<<10)}, 401},
		{"8 KB of quoted escapes", []string{"Cookie: " + name + `="` + strings.Repeat(`\041`, 2<<10) + `"`}, 401},
		{"8 KB unterminated quote", []string{"Cookie: " + name + `="` + k8}, 401},
		{"8 KB of percent signs", []string{"Cookie: " + name + "=" + strings.Repeat("%", 8<<10)}, 401},
		{"an expires date as the ticket", []string{"Cookie: " + name + "=Mon, 01-Jan-2024 00:00:00 GMT"}, 401},
		{"an 8 KB uid, signed", []string{"Cookie: " + name + "=" + bigUID}, 200},
		{"6 KB of user data, signed", []string{"Cookie: " + name + "=" + bigData}, 200},
	} {
		r := g.timed(t, c.name, "/auth", c.headers...)
		oracle := dl.verdict(dl.dv, c.headers)
		want := c.want
		if want == 0 {
			want = oracle
		} else if oracle != want {
			t.Errorf("%s: the suite expects %d but the gate's verifier says %d", c.name, want, oracle)
		}
		if r.status != want {
			t.Errorf("%s: %d, want %d", c.name, r.status, want)
		}
		if u := r.hdr.Get("X-Remote-User"); r.status == 200 && u != "alice" && !strings.HasPrefix(u, "xxxx") {
			t.Errorf("%s: X-Remote-User %.20q", c.name, u)
		}
	}
}

// ---- bad encodings ----

// Cookie values each dialect's library would decode differently, or not
// at all: 401 where the suite knows it must be, 200 for the encodings the
// library accepts, and whatever the gate's verifier says for the rest;
// never a 5xx.
func hDialectBadEncodings(t *testing.T, s *hSuite, g *hGate) {
	dl := g.d()
	now := uint32(time.Now().Unix())
	value, text := s.ticketTS(dl, "alice", "admin", "d", hLocalhost, now)
	var bad, good, other []string
	switch dl.d {
	case verifier.Passport:
		b64 := value
		head := text[:40]
		b := func(text string) string { s.register(text[:min(32, len(text))], hB64(text)); return hB64(text) }
		bad = []string{
			"!", strings.Repeat("!", 60), "====", strings.Repeat("=", 100), "A", "AAAA", "A===", `"`, `""`, `"""`, `" "`, "%", "%%", "%2",
			"j:" + b64, `j:{"a":1}`, "j%3A" + b64, `"j:` + b64 + `"`, // cookie-parser's JSON cookies
			hB64("hello world, no ticket here, just some text!!"), hB64(strings.Repeat("\x00", 60)), hB64(strings.Repeat("\xff", 60) + "!"),
			b64[:len(b64)/2], b(text[:35]), b(head + "alice"),
			b(head + "alice!admin!ZA"),            // user data not a multiple of 4
			b(head + "alice!admin!Z==="),          // padding in the wrong place
			b(head + "alice!admin!Z=Z="),          //
			b(head + "alice!admin!*ZZZ"),          // outside the alphabet
			b(head + "alice!admin!ZA==!ZA=="),     // a third '!'
			b(head + "alice!admin!ZA\x00="),       // NUL
			b(text[:32] + "zzzzzzzz" + text[40:]), // no hex digit in the time
			b(strings.Replace(text, "alice", "alicf", 1)),
		}
		good = []string{
			b64, strings.TrimRight(b64, "="), `"` + b64 + `"`, " " + b64, b64 + "\t", hEscape(b64),
			strings.NewReplacer("+", "-", "/", "_").Replace(b64), // Node's base64 reads the URL alphabet too
		}
		other = []string{
			"*" + b64, b64[:10] + "*" + b64[10:], "\xff\xfe\xfd" + b64, "ä" + b64, "%zz" + b64, b64 + "%", "%41" + b64, b64[:20] + "=" + b64[20:],
			hFlip(b64, 5), hFlip(b64, len(b64)/2), hFlip(b64, len(b64)-6), b(text + "\xff"), b("\xc3" + text), `"` + b64, b64 + `"`,
			"%22" + b64 + "%22", hEscape(hEscape(b64)), "%E2%82" + b64, "%C0%80" + b64,
		}
	case verifier.Pyramid:
		if value != text {
			t.Fatalf("the plain ticket %q was quoted %q", text, value)
		}
		ds := dl.hexLen
		reg := func(text string) string { s.register(text[:min(ds, len(text))], text); return text }
		bad = []string{
			"!", `"`, `""`, `"\"`, `\`, `"abc`, `"` + strings.Repeat(`\`, 100) + `"`, strings.Repeat("!", 200), text[:100], text[:ds+8],
			`"` + text + `\015"`, // a control byte, escaped
			`"` + text + `\377"`, // not UTF-8 once unescaped
			`"` + text[:10] + `\000` + text[10:] + `"`,
			`"` + text + `\342\202"`, // a cut UTF-8 sequence
			reg(strings.Replace(text, "alice", "alicf", 1)), reg(text[:ds] + "zzzzzzzz" + text[ds+8:]), reg(text[:ds] + "        " + text[ds+8:]),
			reg(text[:5] + "G" + text[6:]), "Mon, 01-Jan-2024 00:00:00 GMT",
		}
		good = []string{value, `"` + text + `"`, hOctal(text), `"` + hBackslashEach(text) + `"`}
		other = []string{
			"\xff" + text, text + "\xff", `"` + text, text + `"`, `""` + text + `""`, `"\"` + text + `\""`, " " + text, text + " x",
			reg(strings.Replace(text, "alice", "al%zzice", 1)), reg(strings.Replace(text, "alice", "al%ffice", 1)), reg(strings.Replace(text, "alice", "al%", 1)),
			hEscape(text), `"` + text + `\"`, `"` + text + `\0"`, `"` + text + `\8"`, text[:ds] + "0x" + text[ds+2:],
		}
	default:
		t.Fatalf("no bad encodings for %v", dl.d)
	}
	for _, list := range []struct {
		name   string
		values []string
		want   int
	}{{"bad", bad, 401}, {"accepted", good, 200}, {"odd", other, 0}} {
		for i, v := range list.values {
			what := fmt.Sprintf("%s cookie #%d %.80q", list.name, i, v)
			h := g.ck(v)
			r := g.timed(t, what, "/auth", h)
			oracle := dl.verdict(dl.dv, []string{h})
			want := list.want
			if want == 0 {
				want = oracle
			} else if oracle != want {
				t.Errorf("%s: the suite expects %d but the gate's verifier says %d", what, want, oracle)
			}
			if r.status != want {
				t.Errorf("%s: %d, want %d", what, r.status, want)
			}
		}
	}
	// Not a URL ticket in these dialects, however well encoded.
	for _, v := range []string{value, hEscape(value), hEscape(text)} {
		if r := g.get(t, "URL ticket", "/auth", "X-Original-URL: https://app.example.com/p?"+g.cookie()+"="+v); r.status != 401 {
			t.Errorf("%s takes a ticket from the URL: %d", g.name, r.status)
		}
	}
}

// hBackslashEach writes \c for every byte c of v (WebOb reads \c as c),
// digits aside, which could join into an octal escape.
func hBackslashEach(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if c := v[i]; '0' <= c && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ---- injection ----

// hEvil are the control-byte payloads of the injection attacks.
var hEvil = []string{
	"\r\nSet-Cookie: injected=1", "\r\nX-Injected: 1", "\n", "\r", "\x00", "\x00\r\nSet-Cookie: injected=1",
	"\t", "\x01", "\x1b[31m", "\x7f", "\x0b", "\x0c", "\r\n\r\nHTTP/1.1 200 OK\r\nX-Remote-User: admin",
}

// Signed tickets whose uid, tokens or data carry control bytes, in every
// way the dialect can carry them: 401, reason malformed, never echoed.
func hDialectInjection(t *testing.T, s *hSuite, g *hGate) {
	dl := g.d()
	ts := uint32(time.Now().Unix())
	check := func(what string, headers ...string) {
		t.Helper()
		for _, p := range []string{"/auth", "/auth/admin"} {
			var r *hResp
			if p == "/auth" {
				var reason string
				r, reason = g.getReason(t, what, p, headers...)
				if r.status == 401 && reason != "malformed" {
					t.Errorf("%s on %s: reason %q, want malformed", what, p, reason)
				}
			} else {
				r = g.get(t, what, p, headers...)
			}
			if r.status != 401 {
				t.Errorf("%s on %s: %d, want 401:\n%s", what, p, r.status, r.raw)
			}
			if strings.Contains(r.raw, "mallory") || strings.Contains(strings.ToLower(r.raw), "inject") {
				t.Errorf("%s: the ticket's content is echoed:\n%s", what, r.raw)
			}
		}
	}
	for i, e := range hEvil {
		for field := 0; field < 3; field++ {
			f := [3]string{"mallory", "admin", "data"}
			f[field] = f[field][:2] + e + f[field][2:]
			what := fmt.Sprintf("#%d control %q in field %d", i, e, field)
			value, text := s.ticketTS(dl, f[0], f[1], f[2], hLocalhost, ts)
			switch dl.d {
			case verifier.Passport:
				check(what+" (base64)", g.ck(value))
				check(what+" (quoted)", g.ck(`"`+value+`"`))
				check(what+" (percent-encoded)", g.ck(hEscape(value)))
			case verifier.Pyramid:
				check(what, g.ck(value)) // uid URL-quoted; tokens, data as \ooo
				if e == "\t" {
					check(what+" (raw tab in quotes)", g.ck(`"`+text+`"`))
				}
				if field != 0 {
					continue
				}
				// The uid as is in the text, \ooo in the cookie; and
				// through the b64unicode marker.
				raw := hPyramidText(dl, f[0], f[0], f[1], f[2], hLocalhost, ts)
				marked := hPyramidText(dl, hB64(f[0]), hB64(f[0]), f[1], "userid_type:b64unicode", hLocalhost, ts)
				s.register(raw[:dl.hexLen], raw, hWebobQuote(raw))
				s.register(marked[:dl.hexLen], marked, hWebobQuote(marked))
				check(what+" (uid unquoted)", g.ck(hWebobQuote(raw)))
				check(what+" (b64unicode uid)", g.ck(hWebobQuote(marked)))
			}
		}
	}
	if dl.jsonDV == nil {
		return
	}
	// JSON user data: a raw control character is invalid JSON, and a DEL
	// (valid JSON) stays raw in JSON.stringify's output: both refused,
	// validly signed over that output.
	for i, e := range hEvil {
		doc := `{"email":"ma` + e + `llory"}`
		v := s.passportJSON(dl, "mallory", "admin", doc, doc, ts)
		r, reason := g.getReason(t, fmt.Sprintf("JSON #%d", i), "/auth/json", g.ck(v))
		if r.status != 401 || reason != "malformed" {
			t.Errorf("JSON user data with a raw %q: %d %s, want 401 malformed", e, r.status, reason)
		}
		if strings.Contains(r.raw, "mallory") || strings.Contains(strings.ToLower(r.raw), "inject") {
			t.Errorf("JSON user data with a raw %q: echoed:\n%s", e, r.raw)
		}
	}
}

// ---- identities a proxy would trim ----

// A validly signed ticket whose uid is white space, or whose uid or a
// token begins or ends with a space or tab, is refused (401, malformed)
// in every dialect and every form: nginx trims header values, so "admin "
// would reach the application as "admin". Inner spaces and an empty uid
// stay accepted, as the dialects accept them.
func hWhitespaceIdentities(t *testing.T, s *hSuite, g *hGate) {
	dl := g.d()
	ts := uint32(time.Now().Unix())
	// reason is what the gate counts for a refused form: malformed, but
	// a URL ticket that fails is passed over for the cookie, as
	// mod_auth_tkt does, and there is none here.
	type form struct{ name, path, header, reason string }
	forms := func(uid, tokens string) []form {
		value, text := s.ticketTS(dl, uid, tokens, "data", hLocalhost, ts)
		fs := []form{{"cookie", "/auth", g.ck(value), "malformed"}}
		switch dl.d {
		case verifier.ModAuthTkt:
			fs = append(fs, form{"escaped cookie", "/auth", g.ck(hEscape(text)), "malformed"},
				form{"URL", "/auth", "X-Original-URL: https://app.example.com/p?auth_tkt=" + hEscape(text), "no_ticket"})
		case verifier.Passport:
			v := s.passportJSON(dl, uid, tokens, `{"a":1}`, `{"a":1}`, ts)
			fs = append(fs, form{"JSON user data", "/auth/json", g.ck(v), "malformed"})
		case verifier.Pyramid:
			// The uid as is in the text (not URL-quoted), and base64
			// behind the b64unicode marker.
			raw := hPyramidText(dl, uid, uid, tokens, "data", hLocalhost, ts)
			marked := hPyramidText(dl, hB64(uid), hB64(uid), tokens, "userid_type:b64unicode", hLocalhost, ts)
			s.register(raw[:dl.hexLen], raw, hWebobQuote(raw))
			s.register(marked[:dl.hexLen], marked, hWebobQuote(marked))
			if !strings.Contains(uid, "%") && !strings.Contains(uid, "!") {
				fs = append(fs, form{"uid unquoted", "/auth", g.ck(hWebobQuote(raw)), "malformed"})
			}
			fs = append(fs, form{"b64unicode uid", "/auth", g.ck(hWebobQuote(marked)), "malformed"})
		}
		return fs
	}
	for _, c := range []struct{ uid, tokens string }{
		{"admin ", "x"}, {" admin", "x"}, {"\tadmin", "x"}, {"admin\t", "x"}, {"   ", "x"}, {" ", ""}, {"\t", ""}, {" \t ", ""}, {" admin ", "admin"},
		{"alice", "admin ,x"}, {"alice", "x, admin"}, {"alice", " admin"}, {"alice", "admin "}, {"alice", "x,\tadmin"}, {"alice", "x,admin\t"},
		{"alice", " "}, {"alice", "x, "}, {"alice", "x,admin, ,y"}, {"admin ", "admin "},
	} {
		for _, f := range forms(c.uid, c.tokens) {
			what := fmt.Sprintf("uid %q tokens %q (%s)", c.uid, c.tokens, f.name)
			r, reason := g.getReason(t, what, f.path, f.header)
			if r.status != 401 || reason != f.reason {
				t.Errorf("%s: %d %s, want 401 %s", what, r.status, reason, f.reason)
			}
			if strings.Contains(c.tokens, "admin") {
				if r := g.get(t, what, "/auth/admin", f.header); r.status != 401 {
					t.Errorf("%s on /auth/admin: %d, want 401", what, r.status)
				}
			}
		}
	}
	for _, c := range []struct{ uid, tokens string }{
		{"ad min", "x"}, {"alice", "ad min,x"}, {"", "x"}, {"", ""}, {"alice", ",admin,"}, {"alice", "x,,y"}, {"a  \t  b", "c \t d"},
	} {
		for _, f := range forms(c.uid, c.tokens) {
			what := fmt.Sprintf("uid %q tokens %q (%s)", c.uid, c.tokens, f.name)
			if strings.Contains(c.uid+c.tokens, "\t") {
				// A tab inside is still a control byte.
				if r, reason := g.getReason(t, what, f.path, f.header); r.status != 401 || reason != f.reason {
					t.Errorf("%s: %d %s, want 401 %s", what, r.status, reason, f.reason)
				}
				continue
			}
			r := g.get(t, what, f.path, f.header)
			if r.status != 200 || r.hdr.Get("X-Remote-User") != c.uid || r.hdr.Get("X-Remote-User-Tokens") != c.tokens {
				t.Errorf("%s: %d X-Remote-User %q X-Remote-User-Tokens %q, want 200 %q %q", what, r.status,
					r.hdr.Get("X-Remote-User"), r.hdr.Get("X-Remote-User-Tokens"), c.uid, c.tokens)
			}
		}
	}
	if dl.d != verifier.Pyramid {
		return
	}
	// Pyramid delivers the uid its markers decode: white space that
	// decoding removes is no matter (int(" 42") is 42), white space it
	// produces is.
	for _, c := range []struct {
		uid, data string
		want      string // "" : refused
	}{
		{" 42", "userid_type:int", "42"},
		{"42 ", "userid_type:int", "42"},
		{hB64("ad min"), "userid_type:b64unicode", "ad min"},
		{hB64(" admin"), "userid_type:b64unicode", ""},
		{hB64("admin "), "userid_type:b64unicode", ""},
		{hB64("   "), "userid_type:b64unicode", ""},
		{hB64("admin\t"), "userid_type:b64unicode", ""},
		{hB64(" admin"), "userid_type:b64str", ""},
		{hB64(hB64(" admin")), "userid_type:b64unicode|userid_type:b64unicode", ""},
		{hB64("admin%20"), "userid_type:b64unicode", "admin%20"},
	} {
		value, _ := s.ticketTS(dl, c.uid, "", c.data, hLocalhost, ts)
		what := fmt.Sprintf("uid %q with %s", c.uid, c.data)
		r, reason := g.getReason(t, what, "/auth", g.ck(value))
		switch {
		case c.want == "" && (r.status != 401 || reason != "malformed"):
			t.Errorf("%s: %d %s X-Remote-User %q, want 401 malformed", what, r.status, reason, r.hdr.Get("X-Remote-User"))
		case c.want != "" && (r.status != 200 || r.hdr.Get("X-Remote-User") != c.want):
			t.Errorf("%s: %d %s X-Remote-User %q, want 200 %q", what, r.status, reason, r.hdr.Get("X-Remote-User"), c.want)
		}
	}
}

// ---- hostile JSON user data ----

// JSON user data built to hurt a parser: nesting to the limit and beyond,
// many and duplicate keys, numbers out of range, lone surrogates, broken
// syntax. Each document goes in a ticket signed over the document itself
// (accepted only if it is already what JSON.stringify(JSON.parse(doc))
// gives) and, where the verifier can re-serialise it, in the ticket
// verifier.Sign writes (accepted). Never a 5xx, never over a second, and
// the header copied from the data never carries a control byte.
func hHostileJSON(t *testing.T, s *hSuite, g *hGate) {
	dl := g.d()
	now := time.Now()
	ts := uint32(now.Unix())
	nest := func(open, close string, n int, mid string) string {
		return strings.Repeat(open, n) + mid + strings.Repeat(close, n)
	}
	obj := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	docs := []string{
		// Nesting around maxJSONDepth (1000).
		nest("[", "]", 998, ""), nest("[", "]", 999, ""), nest("[", "]", 1000, ""), nest("[", "]", 1001, ""), nest("[", "]", 1002, ""),
		nest("[", "]", 5000, ""), strings.Repeat("[", 6000), strings.Repeat("]", 6000), strings.Repeat("[", 1000) + "1",
		nest(`{"a":`, "}", 999, "0"), nest(`{"a":`, "}", 1000, "0"), nest(`{"a":`, "}", 1001, "0"), nest(`{"a":`, "}", 1500, "0"),
		nest(`[{"a":`, "}]", 500, "0"), nest(`[{"a":`, "}]", 501, "0"), nest(`{"email":[`, "]}", 999, `"x"`),
		// Many keys, duplicate keys, keys V8 orders as array indices.
		obj(1200, func(i int) string { return fmt.Sprintf(`"k%d":0`, i) }),
		obj(1200, func(i int) string { return fmt.Sprintf(`"%d":0`, 1200-i) }),
		obj(2500, func(int) string { return `"a":0` }),
		obj(1000, func(i int) string { return fmt.Sprintf(`"%c":%d`, 'a'+i%26, i) }),
		obj(600, func(i int) string { return fmt.Sprintf(`"\u00%02x%d":0`, 0x41+i%26, i%7) }),
		`{"a":1,"a":2}`, `{"a":1,"b":2,"a":3}`, `{"email":"x","email":"y"}`, `{"email":"x","email":null}`,
		`{"__proto__":1}`, `{"__proto__":{"email":"x"}}`, `{"constructor":{"prototype":1}}`,
		`{"4294967295":0,"4294967294":0,"1":0,"01":0,"-1":0,"1.5":0}`,
		// Numbers.
		"[1e400]", "[-1e400]", "[1e-400]", "[-0]", "[0.0]", "[1E2]", "[0.1e1]", "[1e21]", "[1e20]", "[5e-324]", "[2e-324]",
		"[1.7976931348623157e308]", "[1.7976931348623159e308]", "[123456789012345678901234567890]", "[0.1]", "[9007199254740993]",
		"[1" + strings.Repeat("0", 5000) + "]", "[0." + strings.Repeat("0", 5000) + "1]", "[" + strings.Repeat("9", 400) + "e-400]",
		"[" + strings.Repeat("1e400,", 1500) + "0]", "[1e" + strings.Repeat("9", 400) + "]", "[-]", "[01]", "[1.]", "[.1]", "[1e]", "[+1]", "[0x10]",
		`{"email":1e400}`, `{"email":-0}`, `{"email":1e21}`,
		// Strings: lone and paired surrogates, escapes, controls.
		`["\ud800"]`, `["\udc00"]`, `["\ud800\ud800"]`, `["\udbff"]`, `["\uD800"]`, `["\ud83d\ude00"]`, `["\ude00\ud83d"]`, `["\ud800x"]`,
		`{"\ud800":1}`, `{"email":"\ud800"}`, `{"email":"\udfff\ud800"}`, `{"email":"\ud83d\ude00"}`,
		`["` + strings.Repeat(`\ud800`, 1000) + `"]`, `["` + strings.Repeat(`\u0000`, 1000) + `"]`,
		`["\u0000"]`, `["\u001f"]`, `["\u007f"]`, `["\u0085"]`, `["\u2028"]`, `["\\"]`, `["\/"]`, `["\x"]`, `["\u12"]`, `["\u"]`, `["a`,
		`{"email":"a\r\nSet-Cookie: injected=1"}`, `{"email":"a\u000d\u000aX-Injected: 1"}`, `{"email":"\u0000"}`, `{"email":"\u007f"}`,
		`{"email":" admin "}`, `{"email":"\u00e9"}`, `{"email":["a","\n"]}`, `{"email":{"x":"\r"}}`, `{"email":true}`,
		// Broken or odd syntax.
		"", " ", "{", "}", "[", "]", `{"a"}`, `{"a":}`, `{"a":1,}`, "[1,]", "[1 2]", "NaN", "Infinity", "undefined", "'a'",
		"{} x", "{}{}", " {} ", "null", "true", "1", `"s"`, "{\"a\":1}\x00", "\xef\xbb\xbf{}", "{\"a\":\"\xff\"}",
	}
	counts := map[string]int{}
	var slowest time.Duration
	for i, doc := range docs {
		want := "401"
		canon := dl.jsonDV.Sign(nil, []byte("alice"), []byte("admin"), []byte(doc), netip.AddrFrom4(hLocalhost), now)
		forged := s.passportJSON(dl, "alice", "admin", doc, doc, ts)
		if string(canon) == forged {
			want = "200"
		}
		tickets := []struct{ name, value, want string }{{"signed over the text", forged, want}}
		if len(canon) > 0 && string(canon) != forged {
			raw, err := base64.StdEncoding.DecodeString(string(canon))
			if err != nil {
				t.Fatal(err)
			}
			s.register(string(raw[:32]), string(canon), string(raw))
			tickets = append(tickets, struct{ name, value, want string }{"as verifier.Sign writes it", string(canon), "200"})
		}
		for _, tk := range tickets {
			what := fmt.Sprintf("JSON #%d %.60q (%s)", i, doc, tk.name)
			start := time.Now()
			r := g.timed(t, what, "/auth/json", g.ck(tk.value))
			slowest = max(slowest, time.Since(start))
			counts[fmt.Sprintf("%d", r.status)]++
			if r.hdr.Get("X-Remote-User-Email") != "" {
				counts["with X-Remote-User-Email"]++
			}
			if strconv.Itoa(r.status) != tk.want {
				t.Errorf("%s: %d, want %s", what, r.status, tk.want)
			}
			if _, ok := r.hdr["X-Remote-User-Email"]; ok && r.status != 200 {
				t.Errorf("%s: X-Remote-User-Email on a %d", what, r.status)
			}
			if e := r.hdr.Get("X-Remote-User-Email"); strings.ContainsAny(e, "\r\n\x00\x7f") || strings.Contains(e, "\\u") {
				t.Errorf("%s: X-Remote-User-Email %q", what, e)
			}
		}
	}
	t.Logf("%d JSON documents: answers %v; slowest %v", len(docs), counts, slowest)
}
