package verifier

// CPython 3.11 behaviour the pyramid dialect depends on: int(),
// base64.b64decode, urllib.parse.quote/unquote and the UTF-8 codec.

import "unicode/utf8"

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
	p := pyChars{s: s, isStr: isStr}
	c, neg, ok := p.prefix(base)
	if !ok {
		return dst, false, false
	}
	start := len(dst)
	if dst, c, ok = p.digits(dst, c, base); !ok {
		return dst[:start], false, false
	}
	for c == ' ' || '\t' <= c && c <= '\r' {
		c = p.next()
	}
	if c != 0 || p.i < len(s) {
		return dst[:start], false, false
	}
	if len(dst) == start {
		dst = append(dst, '0')
		neg = false
	}
	return dst, neg, true
}

// pyChars reads the characters of int()'s argument one at a time.
type pyChars struct {
	s     []byte
	i     int
	isStr bool
}

// next returns the next character as Python's transformation makes it
// ASCII: ' ' for white space, '0'..'9' for decimal digits, '?' for
// anything else that is not ASCII; 0 at the end.
func (p *pyChars) next() byte {
	if p.i >= len(p.s) {
		return 0
	}
	c := p.s[p.i]
	if c < 0x7f || !p.isStr {
		// _PyUnicode_TransformDecimalAndSpaceToASCII keeps ASCII
		// below 127 as it is (so 0x1c-0x1f are no spaces to int()).
		p.i++
		if c == 0 || c >= 0x80 {
			return '?'
		}
		return c
	}
	r, n := utf8.DecodeRune(p.s[p.i:])
	p.i += n
	if pyIsSpace(r) {
		return ' '
	}
	if d, ok := pyDecimal(r); ok {
		return '0' + d
	}
	return '?'
}

// prefix reads what may precede the digits (white space, a sign, 0x for
// base 16) and returns the first character after it; ok is false when
// that is '_', which int() refuses there.
func (p *pyChars) prefix(base int) (c byte, neg, ok bool) {
	c = p.next()
	for c == ' ' || '\t' <= c && c <= '\r' {
		c = p.next()
	}
	if c == '+' || c == '-' {
		neg = c == '-'
		c = p.next()
	}
	if base == 16 && c == '0' {
		save := p.i
		if x := p.next(); x == 'x' || x == 'X' {
			c = p.next()
			if c == '_' {
				c = p.next()
			}
		} else {
			p.i = save
		}
	}
	return c, neg, c != '_'
}

// digits appends the digits starting at c without leading zeros and
// returns the character after them; ok is false for no digit, a doubled
// or trailing '_', or more than 4300 decimal digits.
func (p *pyChars) digits(dst []byte, c byte, base int) ([]byte, byte, bool) {
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
				return dst, c, false
			}
			prev = c
			c = p.next()
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
		c = p.next()
	}
	return dst, c, prev != '_' && digits > 0 && !(base == 10 && digits > 4300)
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
