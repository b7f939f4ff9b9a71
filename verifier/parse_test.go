package verifier

import (
	"encoding/base64"
	"testing"

	"github.com/tktgate/tktgate/internal/httpd"
)

// The expectations were printed by glibc's sscanf(s, "%8x", &ts), the call
// mod_auth_tkt makes (gcc, glibc 2.36).
func TestScanHex8(t *testing.T) {
	f := func(s string, want uint32, wantOK bool) {
		t.Helper()
		got, ok := scanHex8([]byte(s))
		if got != want || ok != wantOK {
			t.Errorf("scanHex8(%q) = %#x, %v; glibc gives %#x, %v", s, got, ok, want, wantOK)
		}
	}
	f("6553f100", 0x6553f100, true)
	f("6553F100", 0x6553f100, true)
	f("  6553f100x", 0x6553f100, true)
	f("+6553f10", 0x6553f10, true)
	f("-0000001", 0xffffffff, true)
	f("0x6553f1", 0x6553f1, true)
	f("0X6553F1", 0x6553f1, true)
	f("0xg", 0, true)
	f("0x", 0, true)
	f("+", 0, false)
	f("-", 0, false)
	f("g", 0, false)
	f("00000000", 0, true)
	f("ffffffff123", 0xffffffff, true)
	f(" \t6553f100", 0x6553f100, true)
	f("+0x12345", 0x12345, true)
	f("-0x1", 0xffffffff, true)
	f("1", 1, true)
	f("  ", 0, false)
	f("6553f1!!", 0x6553f1, true)
	f("0", 0, true)
	f("+0", 0, true)
	f("x12", 0, false)
	f("", 0, false)
}

// hex8 must accept exactly eight hex digits, and then agree with
// scanHex8, for every byte value at every position.
func TestHex8(t *testing.T) {
	for _, base := range []string{"6553f100", "ABCDEF09", "00000000", "ffffffff", "9aF0b1C2"} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				s := []byte(base)
				s[pos] = byte(c)
				got, ok := hex8(s)
				wantOK := true
				for _, b := range s {
					wantOK = wantOK && httpd.IsHex(b)
				}
				if ok != wantOK {
					t.Fatalf("hex8(%q) ok = %v, want %v", s, ok, wantOK)
				}
				if want, _ := scanHex8(s); ok && got != want {
					t.Fatalf("hex8(%q) = %#x, scanHex8 gives %#x", s, got, want)
				}
			}
		}
	}
}

// APR's decoder decodes the leading run of alphabet bytes in groups of
// four, then 2 bytes for a 3-character tail and 1 for a 2-character tail;
// a lone last character yields nothing.
func TestBase64DecodeLenient(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(appendBase64Decode(nil, []byte(in))); got != want {
			t.Errorf("decode(%q) = %q, want %q", in, got, want)
		}
	}
	std := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	f(std("hello!"), "hello!")
	f(std("hello"), "hello")
	f(std("hell"), "hell")
	f("aGVsbG8", "hello")      // no padding
	f("aGVsbG8=junk", "hello") // stops at '='
	f("aGVsbG8h!x", "hello!")  // stops at '!'
	f("aGVsbG8hA", "hello!")   // lone trailing character ignored
	f("aGVs bG8h", "hel")      // stops at the space
	f("aGVsbG8h-_", "hello!")  // URL-safe alphabet is not base64 here
	f("", "")
	f("QQ", "A")
	f("QUI", "AB")
}

func TestUnescape(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(httpd.AppendUnescape(nil, []byte(in))); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
	f("a%21b", "a!b")
	f("a%2fb%2F", "a/b/")
	f("%00x", "\x00x")
	f("a+b", "a+b")
	f("%zz%2", "%zz%2")
	f("%", "%")
	f("%4a%4A", "JJ")
}

// The eight-at-a-time test must agree with the plain definition for every
// byte value at every position.
func TestHasControl(t *testing.T) {
	plain := func(s []byte) bool {
		for _, c := range s {
			if c < 0x20 || c == 0x7f {
				return true
			}
		}
		return false
	}
	base := []byte("abcdefghijklmnopqrstuvwxyz!~\x80\xff")
	for c := 0; c < 256; c++ {
		for pos := 0; pos < len(base); pos++ {
			s := append([]byte{}, base...)
			s[pos] = byte(c)
			if got, want := hasControl(s), plain(s); got != want {
				t.Fatalf("hasControl(%q) = %v, want %v", s, got, want)
			}
			if got, want := hasControl(s[pos:]), plain(s[pos:]); got != want {
				t.Fatalf("hasControl(%q) = %v, want %v", s[pos:], got, want)
			}
		}
	}
}

// FuzzBase64Paths: the fast standard-library path and APR's lenient
// decoder must agree on every input.
func FuzzBase64Paths(f *testing.F) {
	f.Add([]byte("aGVsbG8h"))
	f.Add([]byte("aGVsbG8=junk"))
	f.Add([]byte("aGVs\nbG8h"))
	f.Add([]byte("QQ=="))
	f.Add([]byte("QR=="))
	f.Fuzz(func(t *testing.T, v []byte) {
		var tk Ticket
		tk.decodeBase64(v)
		if want := appendBase64Decode(nil, v); string(tk.text) != string(want) {
			t.Fatalf("decodeBase64(%q) = %q, APR gives %q", v, tk.text, want)
		}
	})
}

// equalHexSum must look at every character: flip each one in turn.
func TestEqualHexSum(t *testing.T) {
	sum := []byte{0x00, 0x9f, 0xa5, 0xff}
	want := []byte("009fa5ff")
	if !equalHexSum(sum, want) {
		t.Fatal("equal digests compare unequal")
	}
	for i := range want {
		for _, c := range []byte("0123456789abcdefABCDEF!") {
			if c == want[i] {
				continue
			}
			w := append([]byte{}, want...)
			w[i] = c
			if equalHexSum(sum, w) {
				t.Fatalf("%q compares equal to %q", w, want)
			}
		}
	}
	if equalHexSum(sum, want[:7]) || equalHexSum(sum, append(want, '0')) {
		t.Error("a length difference compares equal")
	}
}
