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

// verifyPyramid is Verify in the pyramid dialect.
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
	want, ts, uid, tokens, data, ok := pyramidSplit(t.text, v.hexLen)
	if !ok {
		return ErrMalformed
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
	return v.pyramidIdentify(t, do, &s, n, ts, now)
}

// pyramidSplit is parse_ticket on the unquoted ticket text: strip('"'),
// the digest (ds characters, ASCII: strings_differ raises otherwise), the
// time by int(…, 16) over the next 8 characters, then uid, tokens and
// data. The uid is still URL-quoted.
func pyramidSplit(text []byte, ds int) (want []byte, ts int64, uid, tokens, data []byte, ok bool) {
	text = bytes.Trim(text, `"`)
	if len(text) < ds || hasControl(text) {
		return
	}
	want = text[:ds]
	if hasHigh(want) {
		return
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
		return
	}
	for _, c := range dg {
		ts = ts<<4 | int64(unhex(c))
	}
	if neg {
		ts = -ts
	}
	uid, data, found := bytes.Cut(w[end:], []byte{'!'})
	if !found {
		return want, ts, nil, nil, nil, false
	}
	if tk, rest, found := bytes.Cut(data, []byte{'!'}); found {
		tokens, data = tk, rest
	}
	return want, ts, uid, tokens, data, true
}

// pyramidIdentify is identify past a matching digest: MaxFuture, the
// timeout, the userid_type markers (their values appended to s), reissue.
func (v *Verifier) pyramidIdentify(t *Ticket, do *DialectOptions, s *scratch, n int, ts int64, now time.Time) error {
	if v.future(ts, now) {
		return ErrFuture
	}
	expired := v.timeout > 0 && time.Unix(ts+v.timeout, 0).Before(now)
	var decoded []byte
	var typ pyType
	var ok bool
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
		var tok []byte
		tok, tokens, _ = bytes.Cut(tokens, comma)
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
		var tok []byte
		tok, rest, _ = bytes.Cut(rest, comma)
		if len(tok) > 0 {
			if len(tokens) > 0 {
				tokens = append(tokens, ',')
			}
			tokens = append(tokens, tok...)
		}
	}
	return v.pyramidCookie(dst, ip, now.Unix(), uid, tokens, marker, false)
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
	return v.pyramidCookie(dst, ip, ts.Unix(), uid, tokens, data, len(tokens) == 0 && bytes.IndexByte(data, '!') >= 0)
}

// pyramidCookie writes digest, time, quote(uid), '!', tokens and '!' when
// there are tokens (or when alwaysTokens), data; then quotes it as WebOb's
// _value_quote does. It appends nothing when ip or sec cannot be signed.
func (v *Verifier) pyramidCookie(dst []byte, ip netip.Addr, sec int64, uid, tokens, data []byte, alwaysTokens bool) []byte {
	var pre [64]byte
	prefix, ok := pyramidPrefix(pre[:0], v.ignoreIP, ip, sec)
	if !ok || !validUnix(sec) {
		return dst
	}
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
