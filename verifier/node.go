package verifier

// Node.js 20 runtime behaviour the passport dialect depends on:
// decodeURIComponent, Buffer's base64 and latin-1 conversions, parseInt.

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsUnits iterates over the UTF-16 code units of a JavaScript string
// written as bytes: one unit per byte (latin-1, as Node reads headers), or
// UTF-8 when utf8 is set; decoded by decodeURIComponent when uri is set
// (the caller has checked that it does not throw); or the contents of a
// valid JSON string literal when json is set.
type jsUnits struct {
	s               []byte
	i               int
	uri, json, utf8 bool
	low             uint16 // a pair's low surrogate, still to come
	hasLow          bool
}

func (u *jsUnits) reset() { u.i, u.hasLow = 0, false }

func (u *jsUnits) next() (uint16, bool) {
	if u.hasLow {
		u.hasLow = false
		return u.low, true
	}
	if u.i >= len(u.s) {
		return 0, false
	}
	switch c := u.s[u.i]; {
	case c == '%' && u.uri:
		return u.unit(u.percent()), true
	case c == '\\' && u.json:
		return u.escape(), true
	case c >= 0x80 && u.utf8:
		r, n := utf8.DecodeRune(u.s[u.i:])
		u.i += n
		return u.unit(r), true
	default:
		u.i++
		return uint16(c), true
	}
}

// unit returns r's first code unit and keeps the second, if any, for next.
func (u *jsUnits) unit(r rune) uint16 {
	if r < 0x10000 {
		return uint16(r)
	}
	hi, lo := utf16.EncodeRune(r)
	u.low, u.hasLow = uint16(lo), true
	return uint16(hi)
}

// percent decodes the (valid) %XX escapes of one character at u.i.
func (u *jsUnits) percent() rune {
	b := unhex(u.s[u.i+1])<<4 | unhex(u.s[u.i+2])
	u.i += 3
	if b < 0x80 {
		return rune(b)
	}
	n := utf8SeqLen(b)
	cp := rune(b) & (0x7f >> n)
	for k := 1; k < n; k++ {
		x := unhex(u.s[u.i+1])<<4 | unhex(u.s[u.i+2])
		u.i += 3
		cp = cp<<6 | rune(x&0x3f)
	}
	return cp
}

// utf8SeqLen is the number of leading one bits of a UTF-8 lead byte.
func utf8SeqLen(b byte) int {
	switch {
	case b&0xe0 == 0xc0:
		return 2
	case b&0xf0 == 0xe0:
		return 3
	case b&0xf8 == 0xf0:
		return 4
	}
	return 0
}

// validURIComponent reports whether decodeURIComponent(s) succeeds
// (ECMA-262 Decode): every '%' starts %XX, and an escaped byte of 0x80 or
// more starts a run of escapes that is valid UTF-8 (no overlong form, no
// surrogate, nothing above U+10FFFF).
func validURIComponent(s []byte) bool {
	esc := func(i int) (byte, bool) {
		if i+2 >= len(s) || s[i] != '%' || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return 0, false
		}
		return unhex(s[i+1])<<4 | unhex(s[i+2]), true
	}
	for i := 0; i < len(s); {
		if s[i] != '%' {
			i++
			continue
		}
		b, ok := esc(i)
		if !ok {
			return false
		}
		i += 3
		if b < 0x80 {
			continue
		}
		n := utf8SeqLen(b)
		if n == 0 {
			return false
		}
		var seq [4]byte
		seq[0] = b
		for k := 1; k < n; k++ {
			x, ok := esc(i)
			if !ok || x&0xc0 != 0x80 {
				return false
			}
			seq[k] = x
			i += 3
		}
		if r, size := utf8.DecodeRune(seq[:n]); r == utf8.RuneError || size != n {
			return false
		}
	}
	return true
}

// nodeB64 maps bytes to base64 values as Node's unbase64 does: both the
// standard and the URL-safe alphabet; 0xff for anything else.
var nodeB64 = func() (t [256]byte) {
	t = b64
	t['-'], t['_'] = 62, 63
	return
}()

// nodeBase64 decodes like Node 20's Buffer.from(string, 'base64') (the
// legacy decoder in src/base64-inl.h, which simdutf falls back to): each
// code unit's low byte is looked up; bytes outside both alphabets are
// skipped, '=' ends the data, and a final group of n > 1 characters gives
// n-1 bytes.
func nodeBase64(dst []byte, u *jsUnits) []byte {
	var g [4]byte
	m := 0
	for {
		c, ok := u.next()
		if !ok {
			break
		}
		x := nodeB64[byte(c)]
		if x == 0xff {
			if byte(c) == '=' {
				break
			}
			continue
		}
		g[m] = x
		m++
		if m == 4 {
			dst = append(dst, g[0]<<2|g[1]>>4, g[1]<<4|g[2]>>2, g[2]<<6|g[3])
			m = 0
		}
	}
	if m > 1 {
		dst = append(dst, g[0]<<2|g[1]>>4)
	}
	if m > 2 {
		dst = append(dst, g[1]<<4|g[2]>>2)
	}
	return dst
}

// jsParseIntHex is parseInt(s, 16) for a string of ASCII characters:
// leading white space, a sign, an optional 0x, then the longest run of hex
// digits (the rest is ignored). ok is false for NaN (no digit). s holds
// at most 15 characters (the ticket's 8).
func jsParseIntHex(s []byte) (int64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || '\t' <= s[i] && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i+1 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' {
		i += 2
	}
	j := i
	for j < len(s) && isHex(s[j]) {
		j++
	}
	if j == i {
		return 0, false
	}
	// No error: the digits are checked and too few to overflow.
	n, _ := strconv.ParseInt(string(s[i:j]), 16, 64)
	if neg {
		n = -n
	}
	return n, true
}

func hasHigh(s []byte) bool {
	for _, c := range s {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// appendLatin1 appends the UTF-8 encoding of s read as latin-1 (what
// new Buffer(string) makes of a string of characters U+0000..U+00FF).
func appendLatin1(dst, s []byte) []byte {
	for _, c := range s {
		if c < 0x80 {
			dst = append(dst, c)
		} else {
			dst = append(dst, 0xc0|c>>6, 0x80|c&0x3f)
		}
	}
	return dst
}

// appendUTF8Latin1 turns UTF-8 text back into latin-1 bytes; ok is false
// when a character is above U+00FF.
func appendUTF8Latin1(dst, s []byte) ([]byte, bool) {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r > 0xff || r == utf8.RuneError && n == 1 {
			return dst, false
		}
		dst = append(dst, byte(r))
		s = s[n:]
	}
	return dst, true
}
