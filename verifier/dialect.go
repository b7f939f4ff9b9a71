package verifier

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"
)

// A Dialect names the generator whose rules a ticket follows. The zero
// value is mod_auth_tkt itself; the others are generators whose tickets
// mod_auth_tkt rejects although they share its digest:
//
//   - Passport: the npm package passport-authtkt 0.0.2 (its
//     lib/passport-authtkt/authtkt.js validateTicket, behind Express's
//     cookie-parser). See passport.go.
//   - Pyramid: Pyramid 2.0's AuthTktCookieHelper.identify (module
//     pyramid.authentication) behind WebOb 1.8's cookie parser. See
//     pyramid.go.
//
// A dialect changes how a cookie is found in the Cookie header, how its
// value is decoded, what the digest covers, how the timeout is compared,
// and what a refreshed ticket looks like. The digest itself (two rounds
// of the hash over IP, time, secret, uid, tokens and data) is the same.
type Dialect uint8

// The dialects.
const (
	ModAuthTkt Dialect = iota // Apache mod_auth_tkt 2.x (the default)
	Passport                  // passport-authtkt 0.0.2 (Node.js)
	Pyramid                   // Pyramid 2.0 AuthTktCookieHelper (Python)
)

var dialectNames = [...]string{ModAuthTkt: "mod_auth_tkt", Passport: "passport", Pyramid: "pyramid"}

// String returns the name ParseDialect accepts.
func (d Dialect) String() string {
	if d.valid() {
		return dialectNames[d]
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

// ParseDialect returns the dialect named s: exactly "mod_auth_tkt",
// "passport" or "pyramid".
func ParseDialect(s string) (Dialect, error) {
	if i := slices.Index(dialectNames[:], s); i >= 0 {
		return Dialect(i), nil
	}
	return 0, fmt.Errorf("unknown dialect %q (want mod_auth_tkt, passport or pyramid)", s)
}

func (d Dialect) valid() bool { return d <= Pyramid }

// CookieName is the cookie the dialect's library reads unless configured
// otherwise: auth_tkt for mod_auth_tkt (TKTAuthCookieName) and Pyramid
// (AuthTktCookieHelper's cookie_name), authtkt for passport-authtkt (the
// Strategy's key option).
func (d Dialect) CookieName() string {
	if d == Passport {
		return "authtkt"
	}
	return "auth_tkt"
}

// DefaultDigest is the digest the dialect's library uses unless configured
// otherwise: MD5, except Pyramid 2.0, whose hashalg defaults to sha512.
// passport-authtkt only knows MD5.
func (d Dialect) DefaultDigest() Digest {
	if d == Pyramid {
		return SHA512
	}
	return MD5
}

// DefaultIgnoreIP says whether the dialect's library leaves the client
// address out of the digest by default (signs 0.0.0.0): passport-authtkt's
// ip option defaults to '0.0.0.0' and Pyramid's include_ip to False.
func (d Dialect) DefaultIgnoreIP() bool { return d != ModAuthTkt }

// URLTickets says whether the dialect's library also takes a ticket from
// a URL query parameter named like the cookie (only mod_auth_tkt does).
func (d Dialect) URLTickets() bool { return d == ModAuthTkt }

// FindCookie returns the cookie value called name in a Cookie header the
// way the dialect's cookie parser finds it, or nil when it finds none (or
// an empty one):
//
//   - ModAuthTkt: the package-level FindCookie (first non-empty value).
//     Join several Cookie headers with ", ", as httpd does.
//   - Passport: Express cookie-parser 1.4.7 (npm cookie 0.7.2): pairs
//     split on ';', names and values trimmed of spaces and tabs, the FIRST
//     pair with that name wins even when its value is empty. Join several
//     Cookie headers with "; ", as Node.js does.
//   - Pyramid: WebOb 1.8's RequestCookies: a regular-expression scan of
//     the whole header in which the LAST pair with that name wins. WebOb
//     fails the whole request (Pyramid answers 500) when any validly
//     named cookie's value is not UTF-8 after unquoting; FindCookie then
//     returns nil.
//
// The value is returned raw (quotes and escapes included):
// DialectVerifier.Verify undoes them.
func (d Dialect) FindCookie(header, name []byte) []byte {
	switch d {
	case Passport:
		return passportFindCookie(header, name)
	case Pyramid:
		return pyramidFindCookie(header, name)
	}
	return FindCookie(header, name)
}

// DialectOptions hold the settings of the dialect libraries that Options
// does not cover. The zero value is each library's default.
type DialectOptions struct {
	// PassportPlainUserData is passport-authtkt's encodeUserData: false.
	// By default (encodeUserData: true) the user data is base64 inside
	// the ticket while the digest covers the decoded text.
	PassportPlainUserData bool
	// PassportJSONUserData is passport-authtkt's jsonUserData: true. The
	// user data must then be JSON, and the digest covers
	// JSON.stringify(JSON.parse(data)): the data as V8 re-serialises it.
	// Ticket.Data holds that re-serialised text.
	PassportJSONUserData bool
	// PyramidReissue turns on Pyramid's reissue_time, with
	// PyramidReissueTime as its value (0 reissues on every request): a
	// ticket older than that is marked NeedsRefresh. Pyramid has no
	// other refresh, so Options.Refresh must be 0 for Pyramid.
	PyramidReissue     bool
	PyramidReissueTime time.Duration
}

// A DialectVerifier is a Verifier bound to a dialect. Its methods have the
// same names, signatures and zero-allocation discipline as the Verifier's,
// so that a gateway can hold one per policy whatever the dialect; for
// ModAuthTkt they are the Verifier's own.
type DialectVerifier struct {
	v  *Verifier
	d  Dialect
	do DialectOptions
}

// NewDialect checks o and do for dialect d and builds a DialectVerifier.
// Passport requires the MD5 digest (the library knows no other);
// dialect-specific options are refused for other dialects.
func NewDialect(d Dialect, o Options, do DialectOptions) (*DialectVerifier, error) {
	if !d.valid() {
		return nil, fmt.Errorf("verifier: unknown dialect %v", d)
	}
	v, err := New(o)
	if err != nil {
		return nil, err
	}
	if err := checkDialect(d, o, do); err != nil {
		return nil, err
	}
	return &DialectVerifier{v: v, d: d, do: do}, nil
}

func checkDialect(d Dialect, o Options, do DialectOptions) error {
	if d != Passport && (do.PassportPlainUserData || do.PassportJSONUserData) {
		return fmt.Errorf("verifier: passport options set for dialect %v", d)
	}
	if d != Pyramid && (do.PyramidReissue || do.PyramidReissueTime != 0) {
		return fmt.Errorf("verifier: pyramid options set for dialect %v", d)
	}
	switch d {
	case Passport:
		if o.Digest != MD5 {
			return fmt.Errorf("verifier: passport-authtkt only signs with MD5, not %v", o.Digest)
		}
	case Pyramid:
		switch {
		case o.Refresh != 0:
			return errors.New("verifier: pyramid has no refresh fraction; use PyramidReissue and PyramidReissueTime")
		case !do.PyramidReissue && do.PyramidReissueTime != 0:
			return errors.New("verifier: PyramidReissueTime set without PyramidReissue")
		case do.PyramidReissueTime < 0:
			return fmt.Errorf("verifier: negative PyramidReissueTime %v", do.PyramidReissueTime)
		case do.PyramidReissueTime%time.Second != 0:
			return fmt.Errorf("verifier: PyramidReissueTime %v is not a whole number of seconds", do.PyramidReissueTime)
		}
	}
	return nil
}

// Dialect returns the dialect dv verifies.
func (dv *DialectVerifier) Dialect() Dialect { return dv.d }

// Verifier returns the underlying Verifier (the mod_auth_tkt rules with
// the same Options).
func (dv *DialectVerifier) Verifier() *Verifier { return dv.v }

// Digest returns the digest type dv uses.
func (dv *DialectVerifier) Digest() Digest { return dv.v.digest }

// Verify checks a cookie value (as FindCookie returns it) in dv's dialect
// against the client address ip at time now and fills t. It returns nil
// or one of the Err values, like Verifier.Verify, and allocates nothing
// once t's scratch memory has grown (one exception: a JSON number longer
// than 32 bytes in Passport JSON user data).
func (dv *DialectVerifier) Verify(t *Ticket, value []byte, ip netip.Addr, now time.Time) error {
	switch dv.d {
	case Passport:
		return identity(t, dv.v.verifyPassport(t, &dv.do, value, ip, now))
	case Pyramid:
		return identity(t, dv.v.verifyPyramid(t, &dv.do, value, ip, now))
	}
	return dv.v.Verify(t, value, ip, now)
}

// CookieTicket returns the ticket cookie in a Cookie header, found by the
// dialect's rules (see Dialect.FindCookie). For ModAuthTkt it is
// Verifier.CookieTicket (a value too short to hold a ticket counts as
// none); the other libraries have no such rule.
func (dv *DialectVerifier) CookieTicket(header, name []byte) []byte {
	if dv.d == ModAuthTkt {
		return dv.v.CookieTicket(header, name)
	}
	return dv.d.FindCookie(header, name)
}

// AppendRefresh appends the cookie value the dialect's library sends when
// it refreshes t (see Verifier.AppendRefresh for mod_auth_tkt):
//
//   - Passport: what the Strategy sends (getCookie with the ticket's
//     userid, tokens and user data): dated Math.round(now), the user data
//     base64-encoded unless PassportPlainUserData, the whole ticket
//     base64-encoded. Express would percent-encode it in Set-Cookie;
//     passport accepts it either way. For user data beyond ASCII it
//     writes what passport reads back (latin-1 bytes, or \u escapes in
//     JSON) where passport's own refresh writes UTF-8, which its
//     validateTicket then misreads.
//   - Pyramid: what reissue (AuthTktCookieHelper.remember) sends: the
//     decoded user id re-encoded by its type (b64unicode, b64str or int),
//     user data "userid_type:<type>" (other user data is dropped, as
//     Pyramid drops it), empty tokens removed, dated int(now), quoted as
//     WebOb quotes cookie values. Nothing is appended when remember()
//     would raise (a token not matching ^[A-Za-z][A-Za-z0-9+_-]*$).
//
// t must come from a successful Verify by dv. Nothing is appended when ip
// or now cannot be signed.
func (dv *DialectVerifier) AppendRefresh(dst []byte, t *Ticket, ip netip.Addr, now time.Time) []byte {
	switch dv.d {
	case Passport:
		return dv.v.appendRefreshPassport(dst, &dv.do, t, ip, now)
	case Pyramid:
		return dv.v.appendRefreshPyramid(dst, t, ip, now)
	}
	return dv.v.AppendRefresh(dst, t, ip, now)
}

// Sign appends a cookie value for uid, tokens (comma-separated) and data
// as the dialect's generator writes it, dated ts and bound to ip (unless
// IgnoreIP):
//
//   - ModAuthTkt: Verifier.Sign, base64-encoded.
//   - Passport: AuthTkt.getCookie(uid, {tokens, userData: data}); with
//     PassportJSONUserData, data must be JSON text (it is re-serialised
//     as JSON.stringify would). User data beyond ASCII is written as
//     AppendRefresh writes it.
//   - Pyramid: AuthTicket(...).cookie_value() (the uid URL-quoted, data
//     as user_data, so no userid_type marker unless data has one), quoted
//     as WebOb quotes cookie values. When tokens are empty and data
//     contains '!', it writes "uid!!data" (AuthTicket would write
//     "uid!data", which Pyramid misreads).
//
// It appends nothing when the fields cannot make a ticket the dialect's
// verifier would give back unchanged: a control byte, a uid or token
// that begins or ends with a space or tab, a '!' in the uid
// (except Pyramid, which quotes it) or the tokens; for Passport also a
// uid or tokens outside ASCII, data beyond latin-1 (without
// PassportJSONUserData), and with PassportPlainUserData data beyond ASCII
// or with a '!'; for Pyramid text that is not UTF-8 or data ending in
// '"'.
//
// Sign allocates nothing when dst has room, except for Passport with
// PassportJSONUserData (the data is re-serialised in new memory).
func (dv *DialectVerifier) Sign(dst, uid, tokens, data []byte, ip netip.Addr, ts time.Time) []byte {
	switch dv.d {
	case Passport:
		return dv.v.signPassport(dst, &dv.do, uid, tokens, data, false, false, ip, ts)
	case Pyramid:
		return dv.v.signPyramid(dst, uid, tokens, data, ip, ts)
	}
	var stack [512]byte
	raw := dv.v.Sign(stack[:0], uid, tokens, data, ip, ts)
	if len(raw) == 0 {
		return dst
	}
	return AppendBase64(dst, raw)
}

// Deadlines returns when a ticket dated ts reaches its refresh point and
// when it stops being valid, by dv's dialect, timeout and refresh
// settings; zero times mean never. The dialect libraries compare with
// sub-second clocks: passport-authtkt accepts while ts+timeout > now,
// Pyramid while ts+timeout >= now, and reissues once now-ts >
// reissue_time. In the passport dialect a ticket needs a refresh once
// less than Refresh*timeout is left (at any time with Refresh 1, as the
// Strategy re-sends the cookie on every response when it has a timeout).
func (dv *DialectVerifier) Deadlines(ts time.Time) (refresh, expire time.Time) {
	switch dv.d {
	case Passport:
		if dv.v.timeout > 0 {
			expire = ts.Add(time.Duration(dv.v.timeout) * time.Second)
			switch {
			case dv.v.refresh >= 1:
				refresh = ts
			case dv.v.refresh > 0:
				refresh = passportRefreshPoint(ts.Unix(), dv.v.timeout, dv.v.refresh).Add(time.Nanosecond)
			}
		}
	case Pyramid:
		if dv.v.timeout > 0 {
			expire = ts.Add(time.Duration(dv.v.timeout)*time.Second + time.Nanosecond)
		}
		if dv.do.PyramidReissue {
			refresh = ts.Add(dv.do.PyramidReissueTime + time.Nanosecond)
		}
	default:
		refresh, expire = dv.v.Deadlines(ts)
	}
	return
}

// verifyDialect is Verify in dialect d with the dialect libraries' default
// settings (zero DialectOptions). For Passport the digest is MD5 whatever
// v's Options say.
func (v *Verifier) verifyDialect(t *Ticket, d Dialect, value []byte, ip netip.Addr, now time.Time) error {
	var do DialectOptions
	switch d {
	case Passport:
		return identity(t, v.verifyPassport(t, &do, value, ip, now))
	case Pyramid:
		return identity(t, v.verifyPyramid(t, &do, value, ip, now))
	}
	return v.Verify(t, value, ip, now)
}

// appendRefreshDialect is DialectVerifier.AppendRefresh in dialect d with
// default settings, for a t filled by verifyDialect.
func (v *Verifier) appendRefreshDialect(dst []byte, d Dialect, t *Ticket, ip netip.Addr, now time.Time) []byte {
	var do DialectOptions
	switch d {
	case Passport:
		return v.appendRefreshPassport(dst, &do, t, ip, now)
	case Pyramid:
		return v.appendRefreshPyramid(dst, t, ip, now)
	}
	return v.AppendRefresh(dst, t, ip, now)
}

// ---- shared machinery ----

// dialectDigest builds the round-one message prefix ‖ secret ‖ uid ‖ 0 ‖
// tokens ‖ 0 ‖ data in t.msg (prefix is the IP and time part, which the
// dialects encode differently), hashes it in two rounds as mod_auth_tkt
// does and compares the hex result with want in constant time. Like
// check, it leaves t.UID, t.Tokens and t.Data pointing into the message.
func dialectDigest(t *Ticket, d Digest, prefix, secret, uid, tokens, data, want []byte) bool {
	m := append(t.msg[:0], prefix...)
	m = append(m, secret...)
	u := len(m)
	m = append(m, uid...)
	m = append(m, 0)
	k := len(m)
	m = append(m, tokens...)
	m = append(m, 0)
	dd := len(m)
	m = append(m, data...)
	t.msg = m
	t.UID, t.Tokens, t.Data = m[u:u+len(uid):u+len(uid)], m[k:k+len(tokens):k+len(tokens)], m[dd:]

	r := d.hexSum(t.r2[:0], m)
	r = append(r, secret...)
	t.r2 = r
	return d.equalHex(r, want)
}

// dialectCheck runs dialectDigest with the secret, then the old secret,
// and records which one matched.
func (v *Verifier) dialectCheck(t *Ticket, d Digest, prefix, uid, tokens, data, want []byte) bool {
	if dialectDigest(t, d, prefix, v.secret, uid, tokens, data, want) {
		return true
	}
	if v.old != nil && dialectDigest(t, d, prefix, v.old, uid, tokens, data, want) {
		t.OldSecret = true
		t.NeedsRefresh = true
		return true
	}
	return false
}

// signDigest appends the hex digest for the given fields with the current
// secret: the first part of every ticket.
func (v *Verifier) signDigest(dst []byte, d Digest, prefix, uid, tokens, data []byte) []byte {
	var stack [512]byte
	m := append(stack[:0], prefix...)
	m = append(m, v.secret...)
	m = append(m, uid...)
	m = append(m, 0)
	m = append(m, tokens...)
	m = append(m, 0)
	m = append(m, data...)
	var r2 [128 + 256]byte
	r := d.hexSum(r2[:0], m)
	r = append(r, v.secret...)
	return d.hexSum(dst, r)
}

// appendBE32 appends x as 4 bytes, big endian.
func appendBE32(dst []byte, x uint32) []byte {
	return append(dst, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
}

// appendHex8 appends x as at least 8 lowercase hex digits, like
// printf("%08x").
func appendHex8(dst []byte, x uint64) []byte {
	n := 8
	for y := x >> 32; y > 0; y >>= 4 {
		n++
	}
	for shift := 4 * (n - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[x>>uint(shift)&15])
	}
	return dst
}

// future reports whether a ticket dated ts is further ahead of now than
// MaxFuture allows.
func (v *Verifier) future(ts int64, now time.Time) bool {
	return ts-now.Unix() > v.maxFuture
}

// validUnix reports whether ts can be signed (1970..2106, as a uint32).
func validUnix(ts int64) bool { return ts >= 0 && ts <= math.MaxUint32 }

// scratch is a growable byte buffer carved from the tail of t.text: the
// dialects need room for decoded fields beyond the ticket text. Slices
// taken from it stay valid until the next Verify with the same Ticket.
type scratch struct {
	buf []byte
}

func (s *scratch) mark() int { return len(s.buf) }

// since returns the bytes appended after mark m, capacity-capped.
func (s *scratch) since(m int) []byte { return s.buf[m:len(s.buf):len(s.buf)] }
