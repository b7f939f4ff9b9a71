package verifier

// The pyramid dialect: tickets as Pyramid 2.0's AuthTktCookieHelper
// (pyramid/authentication.py) reads them behind WebOb 1.8 on Python 3.11
// (as packaged by Debian: python3-pyramid, python3-webob).
//
//  1. WebOb RequestCookies (webob/cookies.py:45-55, 203-213, 341-346):
//     the whole Cookie header is scanned with the regular expression
//     _rx_cookie (key, \s*=\s*, then a "quoted" string, an expires date or
//     an unquoted run with \ooo escapes); pairs with an invalid name are
//     dropped; the value loses one pair of surrounding quotes and its
//     backslash escapes (\ooo octal, or \c for c), and key and value are
//     decoded as UTF-8 (an error there fails the request). The pairs go
//     into a dict: the LAST one with the name wins.
//  2. identify (authentication.py:1048-1114): parse_ticket with
//     remote_addr '0.0.0.0' unless include_ip (IgnoreIP false: the client
//     address), then the timeout, then the userid_type markers, then
//     reissue.
//  3. parse_ticket (authentication.py:741-780): ticket.strip('"');
//     digest = the first digest_size characters (32, 64 or 128 by
//     hashalg); timestamp = int(next 8 characters, 16) (Python's int():
//     white space, a sign, 0x, underscores between digits and Unicode
//     digits all allowed); then userid up to the first '!' after that,
//     URL-unquoted (urllib.parse.unquote: %XX, UTF-8 with U+FFFD for bad
//     bytes); tokens and user_data split at the next '!' (none: no
//     tokens). calculate_digest (784-807) signs ip ‖ time ‖ secret ‖ uid ‖
//     0 ‖ tokens ‖ 0 ‖ user_data, all UTF-8, with the time as 4 bytes
//     (t & 0xFFFFFFFF) for an IPv4 address, or, for an IPv6 one, the
//     address text followed by the time in decimal in place of both.
//  4. The ticket expires when timestamp + timeout < now (a float).
//  5. user_data split at '|': every non-empty item "userid_type:<t>" with
//     t in int, unicode, b64unicode, b64str applies that decoder to the
//     user id in turn (authentication.py:973-978, 1078-1085); an unknown t
//     is ignored, a failing decoder raises (Pyramid answers 500).
//  6. Reissue (1087-1103) when reissue_time is set and now - timestamp >
//     reissue_time: remember() with the decoded user id and the non-empty
//     tokens, which raises for a token not matching
//     ^[A-Za-z][A-Za-z0-9+_-]*$.
//
// Every "raises" above is a refusal here (ErrMalformed). Deliberate
// differences (refusals): control characters in the ticket text or the
// decoded user id, and the MaxFuture bound. The 'unicode' marker always
// raises on Python 3 unless a b64str marker came before it.

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// ---- finding the cookie: WebOb's _rx_cookie ----

// webobKeyChar is _re_legal_char: \w (ASCII in a bytes pattern) and
// _legal_special_chars.
var webobKeyChar = byteSet(`abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~!@#$%^&*()+=-` + "`" + `.?|:/(){}<>'`)

// webobTokenChar is _valid_token_chars, what a valid cookie name is made of.
var webobTokenChar = byteSet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~")

// webobCookieChar is what WebOb writes unquoted (_allowed_cookie_chars)
// and also reads back unquoted: _allowed_cookie_chars less '[' and ']',
// which the unquoted-value pattern stops at. That is exactly
// webobKeyChar.
var webobCookieChar = webobKeyChar

func byteSet(s string) (t [256]bool) {
	for i := 0; i < len(s); i++ {
		t[s[i]] = true
	}
	return
}

// reSpace is \s in a bytes pattern.
func reSpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

func reWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// webobMatch tries _rx_cookie at p. It returns the key, the raw value and
// where the match ends; without a match, end is where the next one may
// start. A key runs over key characters to the first '=' or other byte:
// when no "\s*=" follows that byte, a match starting anywhere inside the
// run would read the same run to the same byte and fail the same way, so
// the search resumes after the run, not one byte on. Restarting one byte
// on (as the regular expression engine does) made a run of n key
// characters cost n²/2 steps.
func webobMatch(h []byte, p int) (key, val []byte, end int, ok bool) {
	if !webobKeyChar[h[p]] {
		return nil, nil, p + 1, false
	}
	// The key is non-greedy: the first q after p where \s*= follows.
	for q := p + 1; ; q++ {
		if q < len(h) && h[q] == '=' {
			return webobValue(h, p, q, q+1)
		}
		if q < len(h) && webobKeyChar[h[q]] {
			continue
		}
		// A space or another byte: only \s+= can follow the key now.
		r := q
		for r < len(h) && reSpace(h[r]) {
			r++
		}
		if r < len(h) && h[r] == '=' {
			return webobValue(h, p, q, r+1)
		}
		return nil, nil, q, false
	}
}

func webobValue(h []byte, p, q, r int) (key, val []byte, end int, ok bool) {
	for r < len(h) && reSpace(h[r]) {
		r++
	}
	e := webobValueEnd(h, r)
	return h[p:q], h[r:e], e, true
}

// webobValueEnd matches _re_cookie_str_val at i: a quoted string, an
// expires date, or an unquoted run (possibly empty).
func webobValueEnd(h []byte, i int) int {
	// "(?:\\"|.)*?" — lazy: the first '"'; an escaped quote is skipped,
	// but when no '"' follows before a newline or the end, backtracking
	// makes the last escaped quote's '"' the end.
	if i < len(h) && h[i] == '"' {
		choice := -1
		for j := i + 1; ; {
			if j >= len(h) || h[j] == '\n' {
				if choice >= 0 {
					return choice + 2
				}
				break
			}
			if h[j] == '"' {
				return j + 1
			}
			if h[j] == '\\' && j+1 < len(h) && h[j+1] == '"' {
				choice = j
				j += 2
				continue
			}
			j++
		}
	}
	if e, ok := expiresEnd(h, i); ok {
		return e
	}
	j := i
	for j < len(h) {
		switch {
		case webobKeyChar[h[j]]:
			j++
		case h[j] == '\\' && j+3 < len(h) && isOctal3(h[j+1:j+4]):
			j += 4
		case h[j] == '\\' && j+1 < len(h) && h[j+1] != '\n':
			j += 2
		default:
			return j
		}
	}
	return j
}

func isOctal3(s []byte) bool {
	return len(s) == 3 && '0' <= s[0] && s[0] <= '3' && '0' <= s[1] && s[1] <= '7' && '0' <= s[2] && s[2] <= '7'
}

// expiresEnd matches \w{3},\s[\w\d-]{9,11}\s[\d:]{8}\sGMT at i.
func expiresEnd(h []byte, i int) (int, bool) {
	if i+5 > len(h) || !reWord(h[i]) || !reWord(h[i+1]) || !reWord(h[i+2]) || h[i+3] != ',' || !reSpace(h[i+4]) {
		return 0, false
	}
	j := i + 5
	run := 0
	for run < 11 && j+run < len(h) && (reWord(h[j+run]) || h[j+run] == '-') {
		run++
	}
	for k := run; k >= 9; k-- {
		e := j + k
		if e+13 > len(h) || !reSpace(h[e]) {
			continue
		}
		ok := true
		for _, c := range h[e+1 : e+9] {
			ok = ok && ('0' <= c && c <= '9' || c == ':')
		}
		if ok && reSpace(h[e+9]) && string(h[e+10:e+13]) == "GMT" {
			return e + 13, true
		}
	}
	return 0, false
}

// webobValidName is _valid_cookie_name.
func webobValidName(k []byte) bool {
	for _, c := range k {
		if !webobTokenChar[c] {
			return false
		}
	}
	if len(k) == 0 || k[0] == '$' {
		return false
	}
	switch len(k) {
	case 4, 6, 7, 8:
	default:
		return true
	}
	var low [8]byte
	for i, c := range k {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(k)]) {
	case "path", "comment", "domain", "max-age", "expires", "secure", "httponly", "samesite":
		return false
	}
	return true
}

// pyramidFindCookie finds name as WebOb's request.cookies does: the last
// validly named pair called name, nil if none or if any validly named
// pair's value is not UTF-8 once unquoted (WebOb raises).
func pyramidFindCookie(h, name []byte) []byte {
	var found []byte
	for p := 0; p < len(h); {
		key, val, end, ok := webobMatch(h, p)
		p = end
		if !ok {
			continue
		}
		if !webobValidName(key) {
			continue
		}
		if !webobUnquotedUTF8(val) {
			return nil
		}
		if bytes.Equal(key, name) {
			found = val[:len(val):len(val)]
		}
	}
	return found
}

// webobUnquoteEach hands yield each byte of WebOb's _unquote(v): one pair
// of surrounding quotes goes, then \ooo (000-377) becomes that byte and
// \c becomes c (not a newline). It stops early when yield returns false,
// and reports whether it got to the end.
func webobUnquoteEach(v []byte, yield func(byte) bool) bool {
	if len(v) > 0 && v[0] == '"' && v[len(v)-1] == '"' {
		if len(v) == 1 {
			return true
		}
		v = v[1 : len(v)-1]
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			switch {
			case i+3 < len(v) && isOctal3(v[i+1:i+4]):
				c = (v[i+1]-'0')<<6 | (v[i+2]-'0')<<3 | (v[i+3] - '0')
				i += 3
			case i+1 < len(v) && v[i+1] != '\n':
				c = v[i+1]
				i++
			}
		}
		if !yield(c) {
			return false
		}
	}
	return true
}

// webobUnquote appends _unquote(v).
func webobUnquote(dst, v []byte) []byte {
	webobUnquoteEach(v, func(c byte) bool {
		dst = append(dst, c)
		return true
	})
	return dst
}

// webobUnquotedUTF8 reports whether _unquote(v) is valid UTF-8, without
// building it.
func webobUnquotedUTF8(v []byte) bool {
	var st utf8State
	return webobUnquoteEach(v, st.feed) && st.need == 0
}

// utf8State validates UTF-8 a byte at a time (strictly: no overlong
// forms, surrogates or values above U+10FFFF).
type utf8State struct {
	need   int
	lo, hi byte
}

func (st *utf8State) feed(c byte) bool {
	if st.need > 0 {
		if c < st.lo || c > st.hi {
			return false
		}
		st.need--
		st.lo, st.hi = 0x80, 0xbf
		return true
	}
	n, lo, hi := utf8Lead(c)
	if n < 0 {
		return false
	}
	st.need, st.lo, st.hi = n, lo, hi
	return true
}

// utf8Lead says how many continuation bytes follow lead byte c and the
// range allowed for the first of them; n is -1 for a byte that cannot
// start a character.
func utf8Lead(c byte) (n int, lo, hi byte) {
	switch {
	case c < 0x80:
		return 0, 0, 0
	case c < 0xc2:
		return -1, 0, 0
	case c < 0xe0:
		return 1, 0x80, 0xbf
	case c == 0xe0:
		return 2, 0xa0, 0xbf
	case c == 0xed:
		return 2, 0x80, 0x9f
	case c < 0xf0:
		return 2, 0x80, 0xbf
	case c == 0xf0:
		return 3, 0x90, 0xbf
	case c < 0xf4:
		return 3, 0x80, 0xbf
	case c == 0xf4:
		return 3, 0x80, 0x8f
	}
	return -1, 0, 0
}

// ---- verifying ----

func (v *Verifier) verifyPyramid(t *Ticket, do *DialectOptions, value []byte, ip netip.Addr, now time.Time) error {
	t.reset()
	if len(value) == 0 {
		return ErrNoTicket
	}
	s := scratch{buf: webobUnquote(t.text[:0], value)}
	n := len(s.buf)
	t.text = s.buf[:n]
	if !utf8.Valid(s.buf) {
		return ErrMalformed // WebOb's d(v) raises
	}
	// parse_ticket: ticket.strip('"').
	text := t.text
	for len(text) > 0 && text[0] == '"' {
		text = text[1:]
	}
	for len(text) > 0 && text[len(text)-1] == '"' {
		text = text[:len(text)-1]
	}
	ds := v.hexLen
	if len(text) < ds || hasControl(text) {
		return ErrMalformed
	}
	want := text[:ds]
	if hasHigh(want) {
		return ErrMalformed // strings_differ raises TypeError
	}
	w := text[ds:]
	end := 0
	for range 8 {
		if end >= len(w) {
			break
		}
		_, size := utf8.DecodeRune(w[end:])
		end += size
	}
	var digits [16]byte
	dg, neg, ok := pyParseInt(digits[:0], w[:end], 16, true)
	if !ok {
		return ErrMalformed
	}
	var ts int64
	for _, c := range dg {
		ts = ts<<4 | int64(unhex(c))
	}
	if neg {
		ts = -ts
	}
	rest := w[end:]
	sep := bytes.IndexByte(rest, '!')
	if sep < 0 {
		return ErrMalformed
	}
	uid, data := rest[:sep], rest[sep+1:]
	var tokens []byte
	if i := bytes.IndexByte(data, '!'); i >= 0 {
		tokens, data = data[:i], data[i+1:]
	}
	if bytes.IndexByte(uid, '%') >= 0 {
		m := s.mark()
		s.buf = pyUnquote(s.buf, uid)
		uid = s.since(m)
		t.text = s.buf[:n] // keep the grown buffer whatever happens next
	}
	var pre [64]byte
	prefix, ok := pyramidPrefix(pre[:0], v.ignoreIP, ip, ts)
	if !ok {
		return ErrBadIP
	}
	t.Time = time.Unix(ts, 0)
	if !v.dialectCheck(t, v.digest, prefix, uid, tokens, data, want) {
		return ErrBadDigest
	}
	if v.future(ts, now) {
		return ErrFuture
	}
	expired := v.timeout > 0 && time.Unix(ts+v.timeout, 0).Before(now)
	var decoded []byte
	var typ pyType
	s.buf, decoded, typ, ok = pyramidDecodeUID(s.buf, t.UID, t.Data)
	if ok && typ != pyNone {
		t.UID = decoded
	}
	t.text = s.buf[:n]
	switch {
	case expired:
		return ErrExpired
	case !ok || hasControl(t.UID):
		return ErrMalformed
	}
	if do.PyramidReissue && now.Sub(t.Time) > do.PyramidReissueTime {
		if !pyramidTokensOK(t.Tokens) {
			return ErrMalformed // remember() raises ValueError
		}
		t.NeedsRefresh = true
	}
	return nil
}

// pyramidPrefix is what calculate_digest puts before the secret:
// encode_ip_timestamp for IPv4 (0.0.0.0 unless include_ip), else the IPv6
// address text followed by the time in decimal.
func pyramidPrefix(dst []byte, ignoreIP bool, ip netip.Addr, ts int64) ([]byte, bool) {
	switch {
	case ignoreIP:
		dst = append(dst, 0, 0, 0, 0)
	case ip.Unmap().Is4():
		a := ip.Unmap().As4()
		dst = append(dst, a[:]...)
	case ip.Is6():
		dst = ip.WithZone("").AppendTo(dst)
		return strconv.AppendInt(dst, ts, 10), true
	default:
		return dst, false
	}
	return appendBE32(dst, uint32(ts)), true
}

// pyramidTokensOK: remember() accepts the non-empty tokens only if each
// matches VALID_TOKEN.
func pyramidTokensOK(tokens []byte) bool {
	for len(tokens) > 0 {
		tok := tokens
		if i := bytes.IndexByte(tokens, ','); i >= 0 {
			tok, tokens = tokens[:i], tokens[i+1:]
		} else {
			tokens = nil
		}
		if len(tok) == 0 {
			continue
		}
		c := tok[0]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
		for _, c := range tok[1:] {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// pyType is the Python type of the user id as the markers leave it.
type pyType uint8

const (
	pyNone  pyType = iota // no marker applied: str, the id as parsed
	pyStr                 // str (b64unicode, unicode)
	pyBytes               // bytes (b64str)
	pyInt                 // int
)

var (
	markerPrefix     = []byte("userid_type:")
	markerInt        = []byte("userid_type:int")
	markerB64Str     = []byte("userid_type:b64str")
	markerB64Unicode = []byte("userid_type:b64unicode")
)

// nextMarker splits the next '|'-separated item off Pyramid's user data
// and returns it when it is a userid_type marker (nil otherwise), with the
// rest of the data.
func nextMarker(data []byte) (marker, rest []byte) {
	item := data
	if i := bytes.IndexByte(data, '|'); i >= 0 {
		item, rest = data[:i], data[i+1:]
	}
	if !bytes.HasPrefix(item, markerPrefix) {
		return nil, rest
	}
	return item, rest
}

// pyramidDecodeUID applies the userid_type markers of user data to uid,
// appending each intermediate value to dst. It returns the final value
// (UTF-8 text for str, raw bytes, canonical decimal for int) and its type
// (pyNone when no marker applied: then the value is uid). ok is false
// where Pyramid raises.
func pyramidDecodeUID(dst, uid, data []byte) (out []byte, val []byte, typ pyType, ok bool) {
	typ = pyNone
	cur := uid
	for len(data) > 0 {
		var item []byte
		if item, data = nextMarker(data); item == nil {
			continue
		}
		isStr := typ == pyNone || typ == pyStr
		start := len(dst)
		switch string(item[len(markerPrefix):]) {
		case "int":
			if typ == pyInt {
				continue // int(int)
			}
			var neg bool
			if dst, neg, ok = pyParseInt(dst, cur, 10, isStr); !ok {
				return dst, nil, typ, false
			}
			if neg {
				dst = append(dst, 0)
				copy(dst[start+1:], dst[start:])
				dst[start] = '-'
			}
			typ = pyInt
		case "unicode":
			if typ != pyBytes {
				return dst, nil, typ, false // utf_8_decode(str or int): TypeError
			}
			if dst, ok = appendUTF8Prefix(dst, cur); !ok {
				return dst, nil, typ, false
			}
			typ = pyStr
		case "b64unicode", "b64str":
			if typ == pyInt || isStr && hasHigh(cur) {
				return dst, nil, typ, false // b64decode(int), b64decode(non-ASCII str)
			}
			if dst, ok = pyB64Decode(dst, cur); !ok {
				return dst, nil, typ, false
			}
			typ = pyBytes
			if item[len(markerPrefix)+3] == 'u' { // b64unicode
				raw := len(dst) - start
				if dst, ok = appendUTF8Prefix(dst, dst[start:]); !ok {
					return dst, nil, typ, false
				}
				dst = append(dst[:start], dst[start+raw:]...)
				typ = pyStr
			}
		default:
			continue
		}
		cur = dst[start:len(dst):len(dst)]
	}
	return dst, cur, typ, true
}

// appendUTF8Prefix is codecs.utf_8_decode(b) (strict, final=False): b
// must be UTF-8 except that an incomplete character at the very end is
// dropped; so is a final ED A0..BF, the start of a surrogate (CPython's
// "truncated surrogate" case).
func appendUTF8Prefix(dst, b []byte) ([]byte, bool) {
	for i := 0; i < len(b); {
		n, lo, hi := utf8Lead(b[i])
		if n < 0 {
			return dst, false
		}
		if b[i] == 0xed && len(b)-i == 2 && 0xa0 <= b[i+1] && b[i+1] <= 0xbf {
			return dst, true
		}
		j := i + 1
		for k := 0; k < n; k++ {
			if j >= len(b) {
				return dst, true // incomplete at the end
			}
			if b[j] < lo || b[j] > hi {
				return dst, false
			}
			lo, hi = 0x80, 0xbf
			j++
		}
		dst = append(dst, b[i:j]...)
		i = j
	}
	return dst, true
}

// pyB64Decode is base64.b64decode(s) (binascii.a2b_base64 with
// strict_mode off, Python 3.11): bytes outside the alphabet are skipped; a
// '=' after at least two characters of a quad completes it and ends the
// data once the quad is full; leftovers are an error.
func pyB64Decode(dst, s []byte) ([]byte, bool) {
	quad, pads := 0, 0
	var left byte
	for _, c := range s {
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return dst, true
				}
			}
			continue
		}
		x := b64[c]
		if x > 63 {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			quad, left = 1, x
		case 1:
			dst = append(dst, left<<2|x>>4)
			quad, left = 2, x&0x0f
		case 2:
			dst = append(dst, left<<4|x>>2)
			quad, left = 3, x&0x03
		case 3:
			dst = append(dst, left<<6|x)
			quad, left = 0, 0
		}
	}
	return dst, quad == 0
}

// pyUnquote appends urllib.parse.unquote(s) (UTF-8, errors='replace'):
// each maximal ASCII run is %XX-decoded and the bytes decoded as UTF-8
// with U+FFFD for every maximal invalid subsequence; other characters
// stay.
func pyUnquote(dst, s []byte) []byte {
	for len(s) > 0 {
		if s[0] >= 0x80 {
			i := 0
			for i < len(s) && s[i] >= 0x80 {
				i++
			}
			dst = append(dst, s[:i]...)
			s = s[i:]
			continue
		}
		i := 0
		for i < len(s) && s[i] < 0x80 {
			i++
		}
		run := s[:i]
		s = s[i:]
		// %XX-decode the run onto dst, then append its repaired UTF-8
		// and move that down over the raw bytes.
		a := len(dst)
		for j := 0; j < len(run); j++ {
			c := run[j]
			if c == '%' && j+2 < len(run) && isHex(run[j+1]) && isHex(run[j+2]) {
				c = unhex(run[j+1])<<4 | unhex(run[j+2])
				j += 2
			}
			dst = append(dst, c)
		}
		b := len(dst)
		dst = appendUTF8Replace(dst, dst[a:b])
		dst = append(dst[:a], dst[b:]...)
	}
	return dst
}

// appendUTF8Replace decodes b as Python's UTF-8 decoder with
// errors='replace' does: U+FFFD for each invalid start byte and for each
// maximal prefix of a character that breaks off.
func appendUTF8Replace(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		n, lo, hi := utf8Lead(b[i])
		if n < 0 {
			dst = append(dst, "\uFFFD"...)
			i++
			continue
		}
		j, bad := i+1, false
		for k := 0; k < n; k++ {
			if j >= len(b) || b[j] < lo || b[j] > hi {
				bad = true
				break
			}
			lo, hi = 0x80, 0xbf
			j++
		}
		if bad {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[i:j]...)
		}
		i = j
	}
	return dst
}

// pyParseInt parses s as Python's int(s, base) for base 10 or 16. For a
// str (isStr) every non-ASCII Unicode white space counts as a space and
// every Unicode decimal digit as its ASCII digit; for bytes only ASCII
// counts. White space proper is ' ' and \t..\r either way.
// It appends the digits without leading zeros ("0" for zero) to dst.
// Python also allows a sign, surrounding white space, a 0x prefix (base
// 16) optionally followed by '_', and single underscores between digits;
// base 10 is limited to 4300 digits.
func pyParseInt(dst, s []byte, base int, isStr bool) ([]byte, bool, bool) {
	i := 0
	// next returns the next character as Python's transformation makes it
	// ASCII: ' ' for white space, '0'..'9' for decimal digits, '?' for
	// anything else that is not ASCII; 0 at the end.
	next := func() byte {
		if i >= len(s) {
			return 0
		}
		c := s[i]
		if c < 0x7f || !isStr {
			// _PyUnicode_TransformDecimalAndSpaceToASCII keeps ASCII
			// below 127 as it is (so 0x1c-0x1f are no spaces to int()).
			i++
			if c == 0 || c >= 0x80 {
				return '?'
			}
			return c
		}
		r, n := utf8.DecodeRune(s[i:])
		i += n
		if pyIsSpace(r) {
			return ' '
		}
		if d, ok := pyDecimal(r); ok {
			return '0' + d
		}
		return '?'
	}
	c := next()
	for c == ' ' || '\t' <= c && c <= '\r' {
		c = next()
	}
	neg := false
	if c == '+' || c == '-' {
		neg = c == '-'
		c = next()
	}
	if base == 16 && c == '0' {
		save := i
		if x := next(); x == 'x' || x == 'X' {
			c = next()
			if c == '_' {
				c = next()
			}
		} else {
			i = save
		}
	}
	if c == '_' {
		return dst, false, false
	}
	start := len(dst)
	digits, prev := 0, byte(0)
	for {
		var d int
		switch {
		case '0' <= c && c <= '9':
			d = int(c - '0')
		case base == 16 && 'a' <= c|0x20 && c|0x20 <= 'f':
			d = int(c|0x20-'a') + 10
		case c == '_':
			if prev == '_' {
				return dst[:start], false, false
			}
			prev = c
			c = next()
			continue
		default:
			d = -1
		}
		if d < 0 {
			break
		}
		digits++
		if len(dst) > start || d != 0 {
			dst = append(dst, hexDigits[d])
		}
		prev = c
		c = next()
	}
	if prev == '_' || digits == 0 || base == 10 && digits > 4300 {
		return dst[:start], false, false
	}
	for c == ' ' || '\t' <= c && c <= '\r' {
		c = next()
	}
	if c != 0 || i < len(s) {
		return dst[:start], false, false
	}
	if len(dst) == start {
		dst = append(dst, '0')
		neg = false
	}
	return dst, neg, true
}

// pyIsSpace is str.isspace() beyond ASCII (Python 3.11, Unicode 14).
func pyIsSpace(r rune) bool {
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

// pyDigitZeros are the code points of the Unicode 14 decimal digit zeros
// (each starts a run of ten, 0-9), as Python 3.11's int() knows them.
// TestPyramidInternalsLive checks this table and pyIsSpace against the
// installed Python (gen.py's "unicode" job).
var pyDigitZeros = [...]rune{
	0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6,
	0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0,
	0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620,
	0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066,
	0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0,
	0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2,
	0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
}

// pyDecimal is unicodedata.decimal for r.
func pyDecimal(r rune) (byte, bool) {
	lo, hi := 0, len(pyDigitZeros)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pyDigitZeros[m] <= r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 || r-pyDigitZeros[lo-1] >= 10 {
		return 0, false
	}
	return byte(r - pyDigitZeros[lo-1]), true
}

// ---- minting ----

// pyramidUIDType is the type the markers in user data leave the user id
// in (the last recognised marker decides; a ticket that verified cannot
// have a failing chain).
func pyramidUIDType(data []byte) pyType {
	typ := pyStr
	for len(data) > 0 {
		var item []byte
		if item, data = nextMarker(data); item == nil {
			continue
		}
		switch string(item[len(markerPrefix):]) {
		case "int":
			typ = pyInt
		case "unicode", "b64unicode":
			typ = pyStr
		case "b64str":
			typ = pyBytes
		}
	}
	return typ
}

// appendRefreshPyramid is AuthTktCookieHelper.remember(request, userid,
// tokens=...) as identify's reissue calls it.
func (v *Verifier) appendRefreshPyramid(dst []byte, t *Ticket, ip netip.Addr, now time.Time) []byte {
	if !pyramidTokensOK(t.Tokens) {
		return dst
	}
	sec := now.Unix()
	if !validUnix(sec) {
		return dst
	}
	var pre [64]byte
	prefix, ok := pyramidPrefix(pre[:0], v.ignoreIP, ip, sec)
	if !ok {
		return dst
	}
	var ub [512]byte
	var marker []byte
	uid := ub[:0]
	switch pyramidUIDType(t.Data) {
	case pyInt:
		marker = markerInt
		uid = append(uid, t.UID...)
	case pyBytes:
		marker = markerB64Str
		uid = AppendBase64(uid, t.UID)
	default:
		marker = markerB64Unicode
		uid = AppendBase64(uid, t.UID)
	}
	// tokens = list(filter(None, tokens)), joined by ','.
	var tb [256]byte
	tokens := tb[:0]
	for rest := t.Tokens; len(rest) > 0; {
		tok := rest
		if i := bytes.IndexByte(rest, ','); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if len(tok) > 0 {
			if len(tokens) > 0 {
				tokens = append(tokens, ',')
			}
			tokens = append(tokens, tok...)
		}
	}
	return v.pyramidCookie(dst, prefix, sec, uid, tokens, marker, false)
}

// signPyramid is AuthTicket(...).cookie_value(), WebOb-quoted.
func (v *Verifier) signPyramid(dst, uid, tokens, data []byte, ip netip.Addr, ts time.Time) []byte {
	switch {
	case !utf8.Valid(uid) || !utf8.Valid(tokens) || !utf8.Valid(data),
		hasControl(uid) || hasControl(tokens) || hasControl(data),
		bytes.IndexByte(tokens, '!') >= 0,
		len(data) > 0 && data[len(data)-1] == '"':
		return dst
	}
	// Verify refuses a uid (once decoded by its userid_type) or token
	// with white space at an end.
	var buf [256]byte
	delivered := uid
	if _, decoded, typ, ok := pyramidDecodeUID(buf[:0], uid, data); ok && typ != pyNone {
		delivered = decoded
	}
	if trimmable(delivered, tokens) {
		return dst
	}
	sec := ts.Unix()
	if !validUnix(sec) {
		return dst
	}
	var pre [64]byte
	prefix, ok := pyramidPrefix(pre[:0], v.ignoreIP, ip, sec)
	if !ok {
		return dst
	}
	return v.pyramidCookie(dst, prefix, sec, uid, tokens, data, len(tokens) == 0 && bytes.IndexByte(data, '!') >= 0)
}

// pyramidCookie writes digest, time, quote(uid), '!', tokens and '!' when
// there are tokens (or when alwaysTokens), data; then quotes it as WebOb's
// _value_quote does.
func (v *Verifier) pyramidCookie(dst, prefix []byte, sec int64, uid, tokens, data []byte, alwaysTokens bool) []byte {
	var stack [1024]byte
	tk := v.signDigest(stack[:0], v.digest, prefix, uid, tokens, data)
	tk = appendHex8(tk, uint64(sec))
	tk = appendPyQuote(tk, uid)
	tk = append(tk, '!')
	if len(tokens) > 0 || alwaysTokens {
		tk = append(tk, tokens...)
		tk = append(tk, '!')
	}
	tk = append(tk, data...)
	return appendWebobQuote(dst, tk)
}

// appendPyQuote is urllib.parse.quote(s) (safe='/'): ASCII letters,
// digits, "_.-~/" stay, every other byte becomes %XX.
func appendPyQuote(dst, s []byte) []byte {
	for _, c := range s {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '~' || c == '/' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		}
	}
	return dst
}

// appendWebobQuote is WebOb's _value_quote: a value made only of cookie
// characters is written as is, anything else in double quotes with every
// byte but the cookie characters and space written as \ooo. It also
// quotes a value with '[' or ']', which WebOb writes bare but cannot read
// back.
func appendWebobQuote(dst, v []byte) []byte {
	plain := true
	for _, c := range v {
		if !webobCookieChar[c] {
			plain = false
			break
		}
	}
	if plain {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for _, c := range v {
		if webobCookieChar[c] || c == ' ' || c == '[' || c == ']' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
		}
	}
	return append(dst, '"')
}
