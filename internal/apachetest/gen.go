package apachetest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Gen draws the random parts of the differential tests' ticket cases:
// field values, token lists, client addresses and the ways a ticket is
// written as a cookie value. The tests keep what is theirs (locations,
// dates, expected outcomes) and embed a Gen. All its randomness comes from
// Rand, so a seed (see [Seed]) replays the same cases.
type Gen struct {
	Rand *rand.Rand
	// Now is the clock the tickets are dated from, read once.
	Now time.Time
	// Words are the multi-byte pieces Field mixes in.
	Words []string
	// Encodings are what EncAny picks from (names as for Encode).
	Encodings []string
	// BothEnds keeps a space off the start of a Field value as well as
	// off its end (Field then puts an 'x' at both ends).
	BothEnds bool
}

// Safe are bytes a raw ticket can carry in a Cookie header and in any
// position: no '!', ';' or '"'.
const Safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_@+=,:/%#~*()[]{}<>?'&$^`|\\"

// Words is Gen's default Words: ASCII with the separators tickets and
// cookies care about, UTF-8 up to four bytes a character, and
// %-escapes.
var Words = []string{"alice", "jürgen", "Zoë", "日本語", "😀", "o'neil", "a b", "a,b", "user@example.com", "%41", "%21", "=="}

// Encodings is Gen's default Encodings: every cookie encoding Encode
// writes but "url-escaped".
var Encodings = []string{"raw", "base64", "base64-nopad", "base64-junk", "escaped", "quoted-raw", "quoted-base64"}

// NewGen is a Gen with the defaults, dated now, drawing from a PCG seeded
// with seed and stream.
func NewGen(seed, stream uint64) *Gen {
	return &Gen{Rand: rand.New(rand.NewPCG(seed, stream)), Now: time.Now(), Words: Words, Encodings: Encodings}
}

// TS is the ticket timestamp off from Now (negative: in the past).
func (g *Gen) TS(off time.Duration) uint32 { return uint32(g.Now.Add(off).Unix()) }

// Pick is one of xs.
func (g *Gen) Pick(xs ...string) string { return xs[g.Rand.IntN(len(xs))] }

// Field is a random uid, tokens or data value of up to max bytes: ASCII,
// UTF-8, and bytes that are not UTF-8; '!' only when bang is set. It
// never ends with a space (httpd would trim it from a raw cookie), nor,
// with BothEnds, starts with one.
func (g *Gen) Field(max int, bang bool) string {
	n := g.Rand.IntN(max + 1)
	var b []byte
	for len(b) < n {
		switch k := g.Rand.IntN(20); {
		case k == 0:
			b = append(b, g.Words[g.Rand.IntN(len(g.Words))]...)
		case k == 1:
			b = append(b, byte(0x80+g.Rand.IntN(0x80)))
		case k == 2 && bang:
			b = append(b, '!')
		default:
			b = append(b, Safe[g.Rand.IntN(len(Safe))])
		}
	}
	switch {
	case len(b) == 0:
	case g.BothEnds && (b[len(b)-1] == ' ' || b[0] == ' '):
		b = append(append([]byte{'x'}, b...), 'x')
	case b[len(b)-1] == ' ':
		b = append(b, 'x')
	}
	return string(b)
}

// Tokens is a comma-separated list of up to two tokens no location
// requires (one may be empty), with one of need put in anywhere when need
// is not empty.
func (g *Gen) Tokens(need []string) string {
	pool := []string{"user", "ops", "Admin", "admin2", "x y", "", "editors"}
	var ts []string
	for range g.Rand.IntN(3) {
		ts = append(ts, g.Pick(pool...))
	}
	if len(need) > 0 {
		ts = slices.Insert(ts, g.Rand.IntN(len(ts)+1), g.Pick(need...))
	}
	return strings.Join(ts, ",")
}

// IPv4 is a random IPv4 address outside 127/8 (mod_remoteip's trusted
// proxy range, tested on its own) and not 255.255.255.255.
func (g *Gen) IPv4() netip.Addr {
	for {
		var a [4]byte
		for i := range a {
			a[i] = byte(g.Rand.IntN(256))
		}
		if a[0] != 127 && a != [4]byte{255, 255, 255, 255} {
			return netip.AddrFrom4(a)
		}
	}
}

// Client picks a client: the X-Real-IP to send ("" for the connection's
// 127.0.0.1) and the address to sign for. Three in ten are 127.0.0.1, one
// in ten an IPv4-mapped IPv6 address, the rest IPv4. With v6, one in
// twelve is an IPv6 address, signed for the zero Addr (a ticket valid only
// where the IP is ignored), and the others keep their shares but for IPv4
// (seven in twelve).
func (g *Gen) Client(v6 bool) (header string, sign netip.Addr) {
	n := 10
	if v6 {
		n = 12
	}
	switch g.Rand.IntN(n) {
	case 0, 1, 2:
		return "", netip.MustParseAddr("127.0.0.1")
	case 3:
		a := g.IPv4()
		return "::ffff:" + a.String(), a
	case 4:
		if v6 {
			return fmt.Sprintf("2001:db8::%x", 1+g.Rand.IntN(0xfffe)), netip.Addr{}
		}
	}
	a := g.IPv4()
	return a.String(), a
}

// Encode writes a ticket text as a cookie value in one of the ways
// generators and clients do:
//
//   - "raw", "quoted-raw": as it is, bare or in double quotes;
//   - "base64", "quoted-base64", "base64-nopad": base64, bare, quoted or
//     without its '=' padding;
//   - "base64-junk": base64 (padded or not) followed by bytes outside the
//     alphabet, where decoding stops;
//   - "escaped": %-escaped as [Gen.EscapeSome] does;
//   - "url-escaped": %-escaped as [Escape] does, all or only what must be,
//     fit for a query string too.
func (g *Gen) Encode(enc, text string) string {
	b64 := base64.StdEncoding.EncodeToString([]byte(text))
	switch enc {
	case "raw":
		return text
	case "base64":
		return b64
	case "base64-nopad":
		return strings.TrimRight(b64, "=")
	case "base64-junk":
		if g.Rand.IntN(2) == 0 {
			b64 = strings.TrimRight(b64, "=")
		}
		junk := []byte{g.Pick("=", "#", "-", "_", ".", " ", "~", "\"", "%", "\xff")[0]}
		for range g.Rand.IntN(6) {
			junk = append(junk, Safe[g.Rand.IntN(len(Safe))])
		}
		// "%21" anywhere makes the whole value an escaped ticket, not
		// base64 with junk (both sides agree; the case's expectation
		// would not).
		for strings.Contains(string(junk), "%21") {
			junk = junk[:len(junk)-1]
		}
		return b64 + string(junk)
	case "escaped":
		return g.EscapeSome(text)
	case "url-escaped":
		return Escape(text, g.Rand.IntN(2) == 0)
	case "quoted-raw":
		return `"` + text + `"`
	case "quoted-base64":
		return `"` + b64 + `"`
	}
	panic("apachetest: unknown encoding " + enc)
}

// EncAny encodes text in one of Encodings, even one that does not carry
// it intact in a Cookie header (see EncIntact).
func (g *Gen) EncAny(text string) string {
	return g.Encode(g.Encodings[g.Rand.IntN(len(g.Encodings))], text)
}

// EncIntact encodes text in one of Encodings that carries it intact in a
// Cookie header: a raw ticket cannot hold ';' and loses a trailing '"'.
func (g *Gen) EncIntact(text string) string {
	for {
		enc := g.Encodings[g.Rand.IntN(len(g.Encodings))]
		if strings.HasSuffix(enc, "raw") && (strings.Contains(text, ";") || strings.HasSuffix(text, `"`)) {
			continue
		}
		return g.Encode(enc, text)
	}
}

// EscapeSome URL-escapes '!' (which is what makes mod_auth_tkt unescape),
// the bytes a cookie cannot hold as they are, and a random sample of the
// rest, in either hex case.
func (g *Gen) EscapeSome(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		must := c == '!' || c == '%' || c == ';' || c == '"'
		maybe := (c >= 0x80 || c == ' ' || c == ',') && g.Rand.IntN(2) == 0
		if must || maybe || g.Rand.IntN(30) == 0 {
			if g.Rand.IntN(2) == 0 {
				fmt.Fprintf(&b, "%%%02x", c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Escape %-escapes every byte but letters and digits (all when all is set,
// else only what must be: '!', '%', ';', '"', '&', '#', '+', space and
// what is below it, and non-ASCII), in upper-case hex: a value for a Cookie or
// a query string.
func Escape(s string, all bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || !all && c < 0x80 && c > ' ' && !strings.ContainsRune("!%;\"&#+", rune(c)) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// FlipDigit is text with one of its first n bytes, hex digits (the
// digest), changed to another hex digit.
func (g *Gen) FlipDigit(text string, n int) string {
	j := g.Rand.IntN(n)
	d := "0123456789abcdef"[g.Rand.IntN(16)]
	for d == text[j] {
		d = "0123456789abcdef"[g.Rand.IntN(16)]
	}
	return text[:j] + string(d) + text[j+1:]
}

// AddrCase is a ticket signed for Signed (the zero Addr signs as 0.0.0.0)
// sent from From, an X-Real-IP ("" for 127.0.0.1), and whether the two
// go together.
type AddrCase struct {
	Signed netip.Addr
	From   string
	Match  bool
}

// AddrCases draws two IPv4 addresses and an IPv6 one and pairs them into
// tickets and clients: checked for a location that checks the IP, in
// this order: the same address, another one, none (127.0.0.1), the same
// IPv4-mapped, IPv6, and IPv6 with a 0.0.0.0 ticket; ignored for one with
// TKTAuthIgnoreIP, where only 0.0.0.0 tickets go: from IPv6, from another
// address, and a ticket signed for its client.
func (g *Gen) AddrCases() (checked, ignored []AddrCase) {
	a, b := g.IPv4(), g.IPv4()
	v6 := fmt.Sprintf("2001:db8::%x", g.Rand.IntN(0xffff)+1)
	zero := netip.Addr{}
	checked = []AddrCase{
		{a, a.String(), true},
		{a, b.String(), false},
		{a, "", false},
		{a, "::ffff:" + a.String(), true},
		{a, v6, false},
		{zero, v6, false}, // IPv6 is not 0.0.0.0 without TKTAuthIgnoreIP
	}
	ignored = []AddrCase{
		{zero, v6, true},
		{zero, b.String(), true},
		{a, a.String(), false}, // ignore-IP tickets are signed with 0.0.0.0
	}
	return checked, ignored
}

// CookieCase is a Cookie header around one good ticket.
type CookieCase struct {
	Lines []string // the Cookie lines, in order; none: no Cookie header
	// Accept: mod_auth_tkt reads the good ticket; else it finds no valid
	// one, unless Open: the two sides are compared without an
	// expectation.
	Accept, Open bool
}

// CookieCases are the Cookie headers both differential tests send (each
// adds its own) around good, a valid ticket as an auth_tkt value, and
// bad, one for a wrong secret.
func CookieCases(good, bad string) []CookieCase {
	ok := func(lines ...string) CookieCase { return CookieCase{Lines: lines, Accept: true} }
	no := func(lines ...string) CookieCase { return CookieCase{Lines: lines} }
	open := func(lines ...string) CookieCase { return CookieCase{Lines: lines, Open: true} }
	return []CookieCase{
		ok("auth_tkt=" + good),
		ok("a=1; auth_tkt=" + good),
		ok("a=1;auth_tkt=" + good),
		ok("auth_tkt=" + good + "; a=1"),
		ok("auth_tkt=" + good + ";auth_tkt=" + bad),
		no("xauth_tkt=" + good),
		ok("xauth_tkt=1; auth_tkt=" + good),
		ok("auth_tkt=; auth_tkt=" + good),            // empty values are skipped
		no(`auth_tkt=""; auth_tkt=` + good),          // "" is not empty
		no("auth_tkt=garbage; auth_tkt=" + good),     // only the first counts
		no("auth_tkt=" + bad + "; auth_tkt=" + good), // even if too old to matter
		ok("a=1", "auth_tkt="+good),                  // joined with ", "
		no("auth_tkt=x", "auth_tkt="+good),
		open("auth_tkt=", "auth_tkt="+good), // value ", auth_tkt=..."
		no("a=1;\tauth_tkt=" + good),        // a tab is no separator
		no("AUTH_TKT=" + good),
		open("auth_tkt=" + good + " "), // untrimmed
		no(),                           // no Cookie header
		no("auth_tkt"),
		no("auth_tkt=" + good[:len(good)/2]),
	}
}

// Want is the outcome to expect, in the caller's words for an accepted
// ticket and for none; "" when Open.
func (c CookieCase) Want(ok, none string) string {
	switch {
	case c.Open:
		return ""
	case c.Accept:
		return ok
	}
	return none
}
