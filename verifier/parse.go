package verifier

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/tktgate/tktgate/internal/httpd"
)

// decode turns a cookie or URL value into the ticket text in t.text,
// following mod_auth_tkt's parse_ticket: strip one trailing and one
// leading double quote; a value without '!' is URL-unescaped when it
// contains "%21" and base64-decoded otherwise. mod_auth_tkt then handles
// the text as a C string, ending at the first NUL: Verify's fast path
// leaves any text with a control byte to verifyText, which cuts it there.
func (t *Ticket) decode(v []byte) {
	if n := len(v); n > 0 && v[n-1] == '"' {
		v = v[:n-1]
	}
	if len(v) > 0 && v[0] == '"' {
		v = v[1:]
	}
	switch {
	case bytes.IndexByte(v, '!') >= 0:
		t.Encoding = Raw
		t.text = append(t.text[:0], v...)
	case hasEscapedBang(v):
		t.Encoding = Escaped
		t.text = httpd.AppendUnescape(t.text[:0], v)
	default:
		t.Encoding = Base64
		t.decodeBase64(v)
	}
}

// hasEscapedBang is bytes.Contains(v, "%21"), which a base64 ticket never
// holds: one IndexByte for '%' settles that case without bytes.Index's
// set-up.
func hasEscapedBang(v []byte) bool {
	i := bytes.IndexByte(v, '%')
	return i >= 0 && bytes.Contains(v[i:], []byte("%21"))
}

// decodeBase64 decodes like appendBase64Decode. Generators write padded
// standard base64, which the standard library decodes several times
// faster and, for such input, to the same bytes; anything else (no
// padding, junk after it) takes the lenient path. The standard decoder
// skips CR and LF where APR stops, so values holding them go lenient too.
func (t *Ticket) decodeBase64(v []byte) {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		n := base64.StdEncoding.DecodedLen(len(v))
		buf := slices.Grow(t.text[:0], n)[:n]
		if m, err := base64.StdEncoding.Decode(buf, v); err == nil {
			t.text = buf[:m]
			return
		}
		t.text = buf[:0]
	}
	t.text = appendBase64Decode(t.text[:0], v)
}

// b64 maps the standard base64 alphabet to its values and every other
// byte to 0xff.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return
}()

// appendBase64Decode decodes like APR's apr_base64_decode, which
// mod_auth_tkt uses: only the leading run of alphabet bytes counts (so
// padding, junk and a missing '=' are all fine), and a final lone
// character is ignored.
func appendBase64Decode(dst, s []byte) []byte {
	n := 0
	for n < len(s) && b64[s[n]] != 0xff {
		n++
	}
	s = s[:n]
	for len(s) > 4 {
		a, b, c, d := b64[s[0]], b64[s[1]], b64[s[2]], b64[s[3]]
		dst = append(dst, a<<2|b>>4, b<<4|c>>2, c<<6|d)
		s = s[4:]
	}
	if len(s) > 1 {
		dst = append(dst, b64[s[0]]<<2|b64[s[1]]>>4)
	}
	if len(s) > 2 {
		dst = append(dst, b64[s[1]]<<4|b64[s[2]]>>2)
	}
	if len(s) > 3 {
		dst = append(dst, b64[s[2]]<<6|b64[s[3]])
	}
	return dst
}

// AppendBase64 appends the standard base64 encoding of src, with padding,
// as mod_auth_tkt and Apache::AuthTkt write tickets.
func AppendBase64(dst, src []byte) []byte {
	return base64.StdEncoding.AppendEncode(dst, src)
}

// hasControl reports whether s holds a byte below 0x20 or 0x7f. It runs
// on every ticket, so it tests eight bytes at a time (the "hasless" and
// "haszero" tricks from Bit Twiddling Hacks, exact for detection).
func hasControl(s []byte) bool {
	for len(s) >= 8 {
		if ctrlBits(binary.LittleEndian.Uint64(s)) != 0 {
			return true
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// The constants of the eight-at-a-time scans.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

// ctrlBits has the high bit of each byte of x that is a control byte
// (below 0x20, or 0x7f) set, and maybe others above such a byte (a
// borrow): exact for "is there one", which is all it is used for.
func ctrlBits(x uint64) uint64 {
	del := x ^ (0x7f * ones)
	return ((x-0x20*ones)&^x | (del-ones)&^del) & highs
}

// bangBits has exactly the high bit of each '!' byte of x set. It needs
// exact positions, so it uses the carry-free test: ((y&0x7f)+0x7f)|y has
// a byte's high bit set unless that byte of y is zero.
func bangBits(x uint64) uint64 {
	y := x ^ ('!' * ones)
	return ^((y&lows + lows) | y | lows)
}

// scanTicket returns the positions of the first two '!' in s (-1 for
// each that is missing) and whether s holds a control byte (below 0x20,
// or 0x7f). It is hasControl and two IndexByte calls fused into a single
// eight-at-a-time pass.
func scanTicket(s []byte) (sep, sep2 int, ctrl bool) {
	sep, sep2, ctrl, _ = scanCopy(nil, s)
	return sep, sep2, ctrl
}

// scanCopy is scanTicket that also copies s to dst, when dst is not nil
// (it must then be at least as long as s): Verify's fast path reads each
// byte of the ticket's fields once, to scan it and put it in the
// round-one message. space says whether a ' ' may come before the second
// '!' (in the uid or tokens, which must not begin or end with one): when
// false, there is none; when true, maybe (the word holding the second '!'
// counts whole).
func scanCopy(dst, s []byte) (sep, sep2 int, ctrl, space bool) {
	sep, sep2 = -1, -1
	n := len(s)
	if n < 8 {
		if dst != nil {
			copy(dst, s)
		}
		for i, c := range s {
			switch {
			case c < 0x20 || c == 0x7f:
				ctrl = true
			case c == ' ' && sep2 < 0:
				space = true
			case c == '!' && sep < 0:
				sep = i
			case c == '!' && sep2 < 0:
				sep2 = i
			}
		}
		return sep, sep2, ctrl, space
	}
	if dst != nil {
		dst = dst[:n]
	}
	var c, sp uint64
	for i := 0; i < n; i += 8 {
		if i > n-8 {
			// The last, partial word: take the final eight bytes again.
			// Their control bits may count twice (harmless), and '!'
			// already seen are skipped below.
			i = n - 8
		}
		x := binary.LittleEndian.Uint64(s[i:])
		if dst != nil {
			binary.LittleEndian.PutUint64(dst[i:], x)
		}
		c |= ctrlBits(x)
		if sep2 < 0 {
			y := x ^ (' ' * ones)
			sp |= (y - ones) &^ y & highs
		}
		if b := bangBits(x); b != 0 && sep2 < 0 {
		bangs:
			for ; b != 0; b &= b - 1 {
				p := i + bits.TrailingZeros64(b)>>3
				switch {
				case p <= sep: // seen in the previous, overlapping word
				case sep < 0:
					sep = p
				default:
					sep2 = p
					break bangs
				}
			}
		}
	}
	return sep, sep2, c != 0, sp != 0
}

// plain reports whether s holds neither a control byte nor '!': a digest
// part that cannot change how mod_auth_tkt splits the ticket.
func plain(s []byte) bool {
	sep, _, ctrl := scanTicket(s)
	return sep < 0 && !ctrl
}

func isHex(c byte) bool { return httpd.IsHex(c) }
func unhex(c byte) byte { return httpd.Unhex(c) }

// hex8 reads s, eight bytes, as eight hex digits (either case): the
// timestamp as generators write it. For such input it gives what
// scanHex8 gives (no white space, sign or "0x" to handle, and exactly
// eight digits); ok is false for anything else, which Verify leaves to
// scanHex8. It works on all eight bytes at once: with every byte below
// 0x80 nothing carries between bytes, so adding 0x80-lo to each byte
// sets its high bit exactly when it is >= lo.
func hex8(s []byte) (n uint32, ok bool) {
	x := binary.LittleEndian.Uint64(s[:8])
	if x&highs != 0 {
		return 0, false
	}
	digit := (x + (0x80-'0')*ones) &^ (x + (0x80-'9'-1)*ones) & highs
	l := x | 0x20*ones // 'A'..'F' to 'a'..'f'
	letter := (l + (0x80-'a')*ones) &^ (l + (0x80-'f'-1)*ones) & highs
	if digit|letter != highs {
		return 0, false
	}
	v := x&(0x0f*ones) + letter>>7*9 // each byte its digit's value
	// The first digit is the most significant: reverse, then pack the
	// nibbles pairwise into bytes, bytes into halves, halves into words.
	v = bits.ReverseBytes64(v)
	v = (v | v>>4) & 0x00ff00ff00ff00ff
	v = (v | v>>8) & 0x0000ffff0000ffff
	v = v | v>>16
	return uint32(v), true
}

// scanHex8 reads the timestamp the way mod_auth_tkt's sscanf(s, "%8x")
// does with glibc: leading white space is skipped and not counted; then up
// to 8 characters of an optional sign, an optional "0x" after a leading 0,
// and hex digits. A '-' negates modulo 2^32. No digit at all is a failure
// (mod_auth_tkt would go on with an unset timestamp; we refuse).
func scanHex8(s []byte) (uint32, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || '\t' <= s[i] && s[i] <= '\r') {
		i++
	}
	width := 8
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
		width--
	}
	var n uint32
	digits := 0
	if width > 0 && i < len(s) && s[i] == '0' {
		i++
		width--
		digits++
		if width > 0 && i < len(s) && s[i]|0x20 == 'x' {
			i++
			width--
		}
	}
	for width > 0 && i < len(s) && isHex(s[i]) {
		n = n<<4 | uint32(unhex(s[i]))
		i++
		width--
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// FindCookie returns the value of the first cookie called name in a Cookie
// header, matched as mod_auth_tkt's cookie_match does rather than by a
// generic cookie parser: the name must start the header or follow a space
// or ';', the value runs untrimmed to the next ';', and empty values are
// skipped. Several Cookie headers should be joined with ", " first, as
// httpd does. It returns nil when there is none.
func FindCookie(header, name []byte) []byte {
	if len(name) == 0 {
		return nil
	}
	pos := 0
	for pos < len(header) {
		i := bytes.Index(header[pos:], name)
		if i < 0 {
			return nil
		}
		i += pos
		end := i + len(name)
		if end >= len(header) || header[end] != '=' {
			pos = i + 1
			continue
		}
		if i > 0 && header[i-1] != ' ' && header[i-1] != ';' {
			pos = i + 1
			continue
		}
		start := end + 1
		v := header[start:]
		if j := bytes.IndexByte(v, ';'); j >= 0 {
			v = v[:j]
		}
		if len(v) > 0 {
			return v[:len(v):len(v)]
		}
		pos = start
	}
	return nil
}

// CookieTicket is FindCookie followed by mod_auth_tkt's length check: a
// value shorter than a digest and a timestamp counts as no ticket at all.
func (v *Verifier) CookieTicket(header, name []byte) []byte {
	c := FindCookie(header, name)
	if len(c) < v.hexLen+8 {
		return nil
	}
	return c
}

// QueryTicket returns the value of the first parameter called name in a
// URL query string (without the '?'), as mod_auth_tkt's get_url_ticket
// finds it: pairs split on '&', the key ends at the first '=', the '='
// run after it is skipped, and the value is taken raw (not unescaped).
// ok is false when there is no such parameter.
func QueryTicket(query, name []byte) (value []byte, ok bool) {
	for len(query) > 0 {
		var pair []byte
		if i := bytes.IndexByte(query, '&'); i >= 0 {
			pair, query = query[:i], query[i:]
			for len(query) > 0 && query[0] == '&' {
				query = query[1:]
			}
		} else {
			pair, query = query, nil
		}
		key, val := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			key, val = pair[:i], pair[i:]
			for len(val) > 0 && val[0] == '=' {
				val = val[1:]
			}
		}
		if bytes.Equal(key, name) {
			return val[:len(val):len(val)], true
		}
	}
	return nil, false
}
