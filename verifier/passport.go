package verifier

// The passport dialect: tickets as the npm package passport-authtkt 0.0.2
// reads them (lib/passport-authtkt/authtkt.js and authtktutils.js), behind
// Express's cookie-parser 1.4.7 (npm cookie 0.7.2) on Node.js 20.
//
// How a request's cookie becomes a ticket there, and here:
//
//  1. cookie.parse (cookie 0.7.2 index.js parse): the header is split into
//     pairs at ';', the name and the value are trimmed of spaces and tabs,
//     the first pair with the name wins (even if empty), a value that
//     starts and ends with '"' loses both, and a value containing '%' goes
//     through decodeURIComponent (kept as is when that throws).
//     cookie-parser's JSONCookies then replaces a value starting with "j:"
//     by its JSON parse; tktgate refuses such values instead (passport
//     would base64-decode whatever JSON came out).
//  2. Strategy.authenticate (strategy.js:61-66): an empty value is no
//     ticket; otherwise validateCookie.
//  3. validateCookie (authtkt.js:143-145): new Buffer(value, 'base64')
//     .toString('ascii'): Node's lenient base64 (any character whose low
//     byte is outside the alphabet is skipped, '-' and '_' count as '+'
//     and '/', the first '=' ends the data), then every byte loses its
//     high bit.
//  4. splitTicket (authtktutils.js:33-71): digest = the first 32
//     characters, time = parseInt(next 8, 16), the rest split at every
//     '!' into exactly 2 (uid!data) or 3 (uid!tokens!data) parts. With
//     encodeUserData (the default) the data goes through the strict
//     base64 decoder of authtktutils.js:91-132 (length a multiple of 4,
//     only the standard alphabet, padding only at the end), each byte
//     becoming one character U+0000..U+00FF; with jsonUserData it is then
//     JSON.parse'd.
//  5. validateTicket (authtkt.js:95-122) rebuilds the ticket with
//     createTicket (authtkt.js:49-72) and compares the first 32
//     characters: the digest covers ip ‖ time ‖ secret ‖ uid ‖ 0 ‖ tokens ‖
//     0 ‖ data, where data is the decoded text (re-serialised by
//     JSON.stringify under jsonUserData) encoded as UTF-8 by new
//     Buffer(string), and time is the parsed number packed by jspack "!I"
//     (clamped to 0..2^32-1, so a negative time signs as 0). The ticket
//     is valid while ts + timeout > now (authtkt.js:117), or always
//     without a timeout.
//
// Deliberate differences (all refusals): control characters anywhere in
// the ticket text or the decoded data; a time field without any hex digit
// (parseInt gives NaN, which passport signs as 0 and, without a timeout,
// accepts); values starting with "j:"; JSON nested deeper than
// maxJSONDepth; and the MaxFuture bound.
//
// Findings about passport-authtkt 0.0.2 itself, which tktgate does not
// copy: splitTicket mutates the AuthTkt's options (authtkt.js:83), so the
// first validation's `now` sticks and the timeout is measured from the
// first request the process served; it never verifies its own tickets
// when the uid, tokens or user data are not ASCII (it signs UTF-8 but
// decodes with 'ascii' and latin-1); and a ticket whose data contains '!'
// is unreadable to it.

import (
	"bytes"
	"encoding/base64"
	"math"
	"net/netip"
	"time"
	"unicode/utf8"
)

// verifyPassport is Verify in the passport dialect.
func (v *Verifier) verifyPassport(t *Ticket, do *DialectOptions, value []byte, ip netip.Addr, now time.Time) error {
	t.reset()
	s := scratch{buf: t.text[:0]}
	err := passportDecode(&s, value)
	n := len(s.buf)
	text := s.buf[:n:n]
	t.text = s.buf[:n]
	if err != nil {
		return err
	}
	t.Encoding = Base64
	want, ts, uid, tokens, data, ok := passportSplit(text)
	if !ok {
		return ErrMalformed
	}
	data, ok = passportUserData(&s, t, do, data)
	t.text = s.buf[:n] // keep the grown buffer whatever happens next
	if !ok || hasControl(data) {
		return ErrMalformed
	}
	ip4, ok := passportIP(v.ignoreIP, ip)
	if !ok {
		return ErrBadIP
	}
	var pre [8]byte
	prefix := appendBE32(append(pre[:0], ip4[:]...), jspackUint32(ts))
	t.Time = time.Unix(ts, 0)
	if !v.dialectCheck(t, MD5, prefix, uid, tokens, data, want) {
		return ErrBadDigest
	}
	return v.passportExpiry(t, ts, now)
}

// passportSplit is splitTicket (authtktutils.js:36-57) on the decoded
// ticket text, refusing control characters and a time without a digit.
func passportSplit(text []byte) (want []byte, ts int64, uid, tokens, data []byte, ok bool) {
	n := len(text)
	if n <= 32 || hasControl(text) {
		return
	}
	want = text[:32]
	if ts, ok = jsParseIntHex(text[32:min(n, 40)]); !ok {
		return
	}
	var rem []byte
	if n > 40 {
		rem = text[40:]
	}
	uid, rest, found := bytes.Cut(rem, []byte{'!'})
	if !found {
		return want, ts, nil, nil, nil, false
	}
	if tokens, data, found = bytes.Cut(rest, []byte{'!'}); !found {
		tokens, data = nil, rest
	} else if bytes.IndexByte(data, '!') >= 0 {
		return want, ts, nil, nil, nil, false
	}
	return want, ts, uid, tokens, data, true
}

// passportUserData turns the data field into the JavaScript string
// createTicket signs (base64-decoded unless PassportPlainUserData,
// re-serialised under PassportJSONUserData), as UTF-8 in s.
func passportUserData(s *scratch, t *Ticket, do *DialectOptions, data []byte) ([]byte, bool) {
	var ok bool
	if !do.PassportPlainUserData {
		m := s.mark()
		if s.buf, ok = galbreathDecode(s.buf, data); !ok {
			return nil, false
		}
		data = s.since(m)
	}
	if do.PassportJSONUserData {
		m := s.mark()
		var js jsonScratch
		js.tape, js.stack = t.msg[:0], t.r2[:0]
		s.buf, ok = jsonCanon(s.buf, data, false, &js)
		t.msg, t.r2 = js.tape[:0], js.stack[:0]
		if !ok {
			return nil, false
		}
		data = s.since(m)
	} else if hasHigh(data) {
		m := s.mark()
		s.buf = appendLatin1(s.buf, data)
		data = s.since(m)
	}
	return data, true
}

// passportExpiry applies MaxFuture and authtkt.js's timeout, and marks
// the refresh the Strategy would send.
func (v *Verifier) passportExpiry(t *Ticket, ts int64, now time.Time) error {
	if v.future(ts, now) {
		return ErrFuture
	}
	if v.timeout > 0 {
		if !time.Unix(ts+v.timeout, 0).After(now) {
			return ErrExpired
		}
		// The Strategy re-sends the cookie on every response when there
		// is a timeout (strategy.js:84): Refresh 1. A smaller Refresh
		// refreshes once less than Refresh*timeout is left.
		if v.refresh >= 1 || v.refresh > 0 && now.After(passportRefreshPoint(ts, v.timeout, v.refresh)) {
			t.NeedsRefresh = true
		}
	}
	return nil
}

// passportRefreshPoint is the moment after which less than
// refresh*timeout of a ticket's life is left.
func passportRefreshPoint(ts, timeout int64, refresh float64) time.Time {
	keep := time.Duration((1 - refresh) * float64(timeout) * float64(time.Second))
	return time.Unix(ts, 0).Add(keep)
}

// passportIP is the address passport-authtkt signs: its ip option, which
// defaults to 0.0.0.0 (IgnoreIP), or the client's IPv4 address.
func passportIP(ignoreIP bool, ip netip.Addr) ([4]byte, bool) {
	if ignoreIP {
		return [4]byte{}, true
	}
	ip = ip.Unmap()
	if !ip.Is4() {
		return [4]byte{}, false
	}
	return ip.As4(), true
}

// jspackUint32 is what jspack.Pack("!I", [ts]) packs: ts clamped to
// 0..2^32-1.
func jspackUint32(ts int64) uint32 {
	switch {
	case ts < 0:
		return 0
	case ts > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(ts)
}

// passportDecode turns a cookie value into the ticket text passport's
// validateTicket sees, appending it to s.buf: cookie 0.7.2's trimming,
// quote stripping and decodeURIComponent, then Node's Buffer base64
// decoding and toString('ascii').
func passportDecode(s *scratch, value []byte) error {
	v := value
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if len(v) > 0 && v[0] == '"' && v[len(v)-1] == '"' {
		if len(v) == 1 {
			v = nil
		} else {
			v = v[1 : len(v)-1]
		}
	}
	if len(v) == 0 {
		return ErrNoTicket
	}
	u := jsUnits{s: v, uri: bytes.IndexByte(v, '%') >= 0 && validURIComponent(v)}
	// cookie-parser's JSONCookies: "j:..." values.
	a, _ := u.next()
	b, _ := u.next()
	if a == 'j' && b == ':' {
		return ErrMalformed
	}
	u.reset()
	start := len(s.buf)
	s.buf = nodeBase64(s.buf, &u)
	for i := start; i < len(s.buf); i++ {
		s.buf[i] &= 0x7f
	}
	return nil
}

// galbreathDecode is authtktutils.js base64Decode: empty stays empty; the
// length must be a multiple of 4; one or two '=' may end the text; every
// other character must be in the standard alphabet. Each decoded byte is
// one character U+0000..U+00FF. The shape is checked first: then
// AppendDecode cannot fail (its error allocates) nor skip CR or LF.
func galbreathDecode(dst, s []byte) ([]byte, bool) {
	body := bytes.TrimRight(s, "=")
	if len(s)%4 != 0 || len(s)-len(body) > 2 || !isBase64(body) {
		return dst, false
	}
	dst, _ = base64.StdEncoding.AppendDecode(dst, s)
	return dst, true
}

// isBase64 reports whether s is made only of the standard alphabet.
func isBase64(s []byte) bool {
	for _, c := range s {
		if b64[c] == 0xff {
			return false
		}
	}
	return true
}

// ---- minting ----

// appendRefreshPassport: what the Strategy's refresh sends (strategy.js
// 75-97: getCookie with the authInfo's userid, userData and tokens).
func (v *Verifier) appendRefreshPassport(dst []byte, do *DialectOptions, t *Ticket, ip netip.Addr, now time.Time) []byte {
	// splitTicket gave tokens = parts[1].split(','), which createTicket
	// writes back with its '!' even when empty: keep the original form.
	hasTokens := false
	if len(t.text) > 40 {
		hasTokens = bytes.Count(t.text[40:], []byte{'!'}) == 2
	}
	// createTicket's timestamp: Math.round(Date.now() / 1000).
	ts := (now.UnixMilli() + 500) / 1000
	if now.UnixMilli() < 0 {
		ts = int64(math.Floor(float64(now.UnixMilli())/1000 + 0.5))
	}
	return v.signPassport(dst, do, t.UID, t.Tokens, t.Data, true, hasTokens, ip, time.Unix(ts, 0))
}

// signPassport mints a passport cookie value (getCookie): the ticket
// createTicket writes, base64-encoded. data is the user data as the
// JavaScript string it stands for, in UTF-8 (JSON text with
// PassportJSONUserData). The digest covers it as UTF-8, as createTicket
// signs; inside the ticket it is written so that validateTicket decodes
// it back to the same string: for ASCII data that is exactly what
// createTicket writes; other characters, which createTicket writes in a
// form its own validateTicket misreads, are written as latin-1 bytes
// (encodeUserData) or as JSON \u escapes (jsonUserData).
//
// canonical says data is already JSON.stringify's output (Ticket.Data of a
// JSON dialect); otherwise, with PassportJSONUserData, it is re-serialised
// first, which allocates.
func (v *Verifier) signPassport(dst []byte, do *DialectOptions, uid, tokens, data []byte, canonical, hasTokens bool, ip netip.Addr, ts time.Time) []byte {
	if !passportField(uid) || !passportField(tokens) || trimmable(uid, tokens) {
		return dst // Verify would refuse it
	}
	ip4, ok := passportIP(v.ignoreIP, ip)
	if !ok {
		return dst
	}
	sec := ts.Unix()
	if !validUnix(sec) {
		return dst
	}
	hasTokens = hasTokens || len(tokens) > 0

	var sectionBuf [512]byte
	signed := data
	switch {
	case do.PassportJSONUserData && !canonical:
		if signed, ok = canonJSON(data); !ok {
			return dst
		}
	case !utf8.Valid(data):
		return dst
	}
	if hasControl(signed) {
		return dst
	}
	// The text inside the ticket.
	var section []byte
	switch {
	case do.PassportJSONUserData:
		section = appendJSONASCII(sectionBuf[:0], signed)
	case do.PassportPlainUserData:
		if hasHigh(signed) {
			return dst
		}
		section = signed
	default:
		section, ok = appendUTF8Latin1(sectionBuf[:0], signed)
		if !ok {
			return dst
		}
	}
	if do.PassportPlainUserData && bytes.IndexByte(section, '!') >= 0 {
		return dst
	}
	var pre [8]byte
	prefix := appendBE32(append(pre[:0], ip4[:]...), uint32(sec))
	var stack [1024]byte
	tk := v.signDigest(stack[:0], MD5, prefix, uid, tokens, signed)
	tk = appendHex8(tk, uint64(sec))
	tk = append(tk, uid...)
	tk = append(tk, '!')
	if hasTokens {
		tk = append(tk, tokens...)
		tk = append(tk, '!')
	}
	if do.PassportPlainUserData {
		tk = append(tk, section...)
	} else {
		tk = AppendBase64(tk, section)
	}
	return AppendBase64(dst, tk)
}

// passportField: uid and tokens must be printable ASCII without '!' to
// come back unchanged from validateTicket.
func passportField(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '!' {
			return false
		}
	}
	return true
}
