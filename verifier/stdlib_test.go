package verifier

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf16"
)

// The standard library replaced hand-written code; the old versions stay
// here as references that the replacements must match byte for byte.

// galbreathDecodeRef is the hand-written authtktutils.js base64Decode that
// galbreathDecode (now base64.StdEncoding.AppendDecode) replaced.
func galbreathDecodeRef(dst, s []byte) ([]byte, bool) {
	if len(s) == 0 {
		return dst, true
	}
	if len(s)%4 != 0 {
		return dst, false
	}
	imax, pads := len(s), 0
	if s[imax-1] == '=' {
		pads = 1
		if s[imax-2] == '=' {
			pads = 2
		}
		imax -= 4
	}
	for i := 0; i < imax; i += 4 {
		a, b, c, d := b64[s[i]], b64[s[i+1]], b64[s[i+2]], b64[s[i+3]]
		if a > 63 || b > 63 || c > 63 || d > 63 {
			return dst, false
		}
		dst = append(dst, a<<2|b>>4, b<<4|c>>2, c<<6|d)
	}
	switch pads {
	case 1:
		a, b, c := b64[s[imax]], b64[s[imax+1]], b64[s[imax+2]]
		if a > 63 || b > 63 || c > 63 {
			return dst, false
		}
		dst = append(dst, a<<2|b>>4, b<<4|c>>2)
	case 2:
		a, b := b64[s[imax]], b64[s[imax+1]]
		if a > 63 || b > 63 {
			return dst, false
		}
		dst = append(dst, a<<2|b>>4)
	}
	return dst, true
}

// appendBase64Ref is the hand-written encoder AppendBase64 (now
// base64.StdEncoding.AppendEncode) replaced.
func appendBase64Ref(dst, src []byte) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for len(src) >= 3 {
		dst = append(dst, alphabet[src[0]>>2], alphabet[(src[0]&3)<<4|src[1]>>4],
			alphabet[(src[1]&15)<<2|src[2]>>6], alphabet[src[2]&63])
		src = src[3:]
	}
	switch len(src) {
	case 1:
		dst = append(dst, alphabet[src[0]>>2], alphabet[(src[0]&3)<<4], '=', '=')
	case 2:
		dst = append(dst, alphabet[src[0]>>2], alphabet[(src[0]&3)<<4|src[1]>>4], alphabet[(src[1]&15)<<2], '=')
	}
	return dst
}

func checkGalbreath(t *testing.T, s []byte) {
	t.Helper()
	pre := []byte("pre")
	got, gok := galbreathDecode(append([]byte(nil), pre...), s)
	want, wok := galbreathDecodeRef(append([]byte(nil), pre...), s)
	if gok != wok || gok && !bytes.Equal(got, want) {
		t.Fatalf("galbreathDecode(%q) = %q, %v; the old decoder gives %q, %v", s, got, gok, want, wok)
	}
}

// base64Bytes draws characters where the decoders' cases lie.
const base64Bytes = "AQgw+/=-_ \r\n\x00\x80\xffz9"

// TestGalbreathDecodeExhaustive tries every string of up to 5 characters
// over base64Bytes, then random longer ones.
func TestGalbreathDecodeExhaustive(t *testing.T) {
	var s []byte
	var rec func(n int)
	rec = func(n int) {
		checkGalbreath(t, s)
		if n == 0 {
			return
		}
		for i := 0; i < len(base64Bytes); i++ {
			s = append(s, base64Bytes[i])
			rec(n - 1)
			s = s[:len(s)-1]
		}
	}
	rec(5)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		s = s[:0]
		n := 4 * r.IntN(8)
		for range n {
			if r.IntN(8) == 0 {
				s = append(s, base64Bytes[r.IntN(len(base64Bytes))])
			} else {
				s = append(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[r.IntN(64)])
			}
		}
		if n > 0 && r.IntN(2) == 0 {
			s[n-1] = '='
			if r.IntN(2) == 0 {
				s[n-2] = '='
			}
		}
		checkGalbreath(t, s)
	}
}

func FuzzGalbreathDecode(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QUI=", "QUJD", "QR==", "Q===", "QQ=A", "QU\nJD", "QUJDQQ=="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) { checkGalbreath(t, s) })
}

func TestAppendBase64Stdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]byte, 0, 300)
	for range 100000 {
		src = src[:r.IntN(300)]
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		if got, want := AppendBase64([]byte("x"), src), appendBase64Ref([]byte("x"), src); !bytes.Equal(got, want) {
			t.Fatalf("AppendBase64(%q) = %q, want %q", src, got, want)
		}
	}
}

// TestSurrogatesStdlib checks unicode/utf16 against the formulas it
// replaced, for every character above U+FFFF and every pair of code units
// around the surrogate range.
func TestSurrogatesStdlib(t *testing.T) {
	for r := rune(0x10000); r <= 0x10ffff; r++ {
		hi, lo := utf16.EncodeRune(r)
		c := r - 0x10000
		if hi != 0xd800+c>>10 || lo != 0xdc00+c&0x3ff {
			t.Fatalf("EncodeRune(%U) = %x %x", r, hi, lo)
		}
	}
	units := []rune{0, 0x41, 0xd7ff, 0xfffd, 0xe000, 0xffff}
	for u := rune(0xd800); u < 0xe000; u++ {
		units = append(units, u)
	}
	for _, a := range units {
		isPairA := a >= 0xd800 && a < 0xdc00
		if utf16.IsSurrogate(a) != (a >= 0xd800 && a < 0xe000) {
			t.Fatalf("IsSurrogate(%x)", a)
		}
		for _, b := range units {
			pair := isPairA && b >= 0xdc00 && b < 0xe000
			got := utf16.DecodeRune(a, b)
			if pair && got != 0x10000+(a-0xd800)<<10+b-0xdc00 || !pair && got != 0xfffd {
				t.Fatalf("DecodeRune(%x, %x) = %x", a, b, got)
			}
		}
	}
}

// jsParseIntHexRef is jsParseIntHex before strconv.ParseInt read its
// digits.
func jsParseIntHexRef(s []byte) (int64, bool) {
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
	var n int64
	digits := 0
	for ; i < len(s) && isHex(s[i]); i++ {
		n = n<<4 | int64(unhex(s[i]))
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

// TestJSParseIntHexStdlib: every string of up to 5 characters over the
// bytes that matter, then random ones of up to 8 (the time field).
func TestJSParseIntHexStdlib(t *testing.T) {
	const chars = " \t+-0xX9aFg"
	check := func(s []byte) {
		gn, gok := jsParseIntHex(s)
		wn, wok := jsParseIntHexRef(s)
		if gn != wn || gok != wok {
			t.Fatalf("jsParseIntHex(%q) = %d, %v; the old parser gives %d, %v", s, gn, gok, wn, wok)
		}
	}
	var s []byte
	var rec func(n int)
	rec = func(n int) {
		check(s)
		if n == 0 {
			return
		}
		for i := 0; i < len(chars); i++ {
			s = append(s, chars[i])
			rec(n - 1)
			s = s[:len(s)-1]
		}
	}
	rec(5)
	r := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		s = s[:r.IntN(9)]
		for i := range s {
			if r.IntN(4) == 0 {
				s[i] = chars[r.IntN(len(chars))]
			} else {
				s[i] = "0123456789abcdefABCDEF"[r.IntN(22)]
			}
		}
		check(s)
	}
	if n := testing.AllocsPerRun(100, func() { jsParseIntHex([]byte("-0x7fffffff")) }); n != 0 {
		t.Fatalf("jsParseIntHex allocates %v times", n)
	}
}
