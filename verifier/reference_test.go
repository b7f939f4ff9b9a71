package verifier

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/httpd"
)

// refVerify is Verify as it was before the fast path (straightforward
// decode, NUL cut, separator search, control check, scanHex8, message
// built with appends): the oracle FuzzVerifyReference holds the fast path
// to, field by field.
func (v *Verifier) refVerify(t *Ticket, value []byte, ip netip.Addr, now time.Time) error {
	t.reset()
	if len(value) == 0 {
		return ErrNoTicket
	}
	if !t.refDecode(value) {
		return ErrMalformed
	}
	text := t.text
	ds := v.hexLen
	sep := bytes.IndexByte(text, '!')
	if sep < ds+8 || hasControl(text) {
		return ErrMalformed
	}
	ts, ok := scanHex8(text[ds:])
	if !ok {
		return ErrMalformed
	}
	uid, rest := text[ds+8:sep], text[sep+1:]
	var tokens, data []byte
	if i := bytes.IndexByte(rest, '!'); i >= 0 {
		tokens, data = rest[:i], rest[i+1:]
	} else {
		data = rest
	}
	ip4, ok := v.ip4(ip)
	if !ok {
		return ErrBadIP
	}
	t.Time = time.Unix(int64(ts), 0)
	prefix := [8]byte{ip4[0], ip4[1], ip4[2], ip4[3], byte(ts >> 24), byte(ts >> 16), byte(ts >> 8), byte(ts)}
	if !dialectDigest(t, v.digest, prefix[:], v.secret, uid, tokens, data, text[:ds]) {
		if v.old == nil || !dialectDigest(t, v.digest, prefix[:], v.old, uid, tokens, data, text[:ds]) {
			return ErrBadDigest
		}
		t.OldSecret = true
		t.NeedsRefresh = true
	}
	// A signed uid or token that a proxy would trim.
	if len(uid) > 0 && (uid[0] == ' ' || uid[len(uid)-1] == ' ') {
		return ErrMalformed
	}
	for _, tok := range bytes.Split(tokens, []byte(",")) {
		if len(tok) > 0 && (tok[0] == ' ' || tok[len(tok)-1] == ' ') {
			return ErrMalformed
		}
	}
	n := now.Unix()
	if int64(ts)-n > v.maxFuture {
		return ErrFuture
	}
	if v.timeout > 0 {
		left := int64(ts) + v.timeout - n
		if left < 0 {
			return ErrExpired
		}
		if v.refresh > 0 && float64(left) < v.refresh*float64(v.timeout) {
			t.NeedsRefresh = true
		}
	}
	return nil
}

func (t *Ticket) refDecode(v []byte) bool {
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
	case bytes.Contains(v, []byte("%21")):
		t.Encoding = Escaped
		t.text = httpd.AppendUnescape(t.text[:0], v)
	default:
		t.Encoding = Base64
		t.text = appendBase64Decode(t.text[:0], v)
	}
	if i := bytes.IndexByte(t.text, 0); i >= 0 {
		t.text = t.text[:i]
	}
	return t.Encoding != Base64 || bytes.IndexByte(t.text, '!') >= 0
}

func sameTicket(a, b *Ticket) bool {
	eq := func(x, y []byte) bool { return bytes.Equal(x, y) && (x == nil) == (y == nil) }
	return eq(a.UID, b.UID) && eq(a.Tokens, b.Tokens) && eq(a.Data, b.Data) &&
		a.Time.Equal(b.Time) && a.Time.IsZero() == b.Time.IsZero() &&
		a.NeedsRefresh == b.NeedsRefresh && a.OldSecret == b.OldSecret &&
		a.Encoding == b.Encoding && bytes.Equal(a.text, b.text)
}

// FuzzVerifyReference: Verify must agree with refVerify on every input,
// in the error and in every field of the Ticket (including the text
// AppendBase64 reads), for a fresh and for a reused Ticket, whatever the
// digest, secrets, address and clock.
func FuzzVerifyReference(f *testing.F) {
	ts0 := time.Unix(0x6553f100, 0)
	lo := netip.MustParseAddr("127.0.0.1")
	type conf struct {
		v    *Verifier
		name string
	}
	var confs []conf
	for _, d := range []Digest{MD5, SHA256, SHA512} {
		for _, o := range []Options{
			{Secret: []byte("secret"), Digest: d, Timeout: time.Hour, Refresh: 0.5},
			{Secret: []byte("secret"), OldSecret: []byte("older"), Digest: d, IgnoreIP: true},
			{Secret: []byte(strings.Repeat("long secret ", 10)), OldSecret: []byte(strings.Repeat("x", 70)), Digest: d, Timeout: 2 * time.Hour, MaxFuture: -1},
		} {
			v, err := New(o)
			if err != nil {
				f.Fatal(err)
			}
			confs = append(confs, conf{v, d.String()})
		}
	}
	for _, c := range confs {
		for _, s := range []struct{ uid, tokens, data string }{
			{"alice", "admin,editor", "Alice Smith"},
			{"alice", "", "Alice Smith"},
			{"alice", "", "a!b"},
			{"", "", ""},
			{"u", "t", ""},
			{"a b", "x y,z", " d "},
			{"bob the builder with a long name", "a,b,c,d,e,f,g,h", strings.Repeat("data ", 30)},
		} {
			for _, ts := range []time.Time{ts0, ts0.Add(-3 * time.Hour), ts0.Add(time.Hour)} {
				good := c.v.Sign(nil, []byte(s.uid), []byte(s.tokens), []byte(s.data), lo, ts)
				f.Add(good, uint8(0), uint8(0))
				// Signed, but with a uid or token a proxy would trim
				// (Sign refuses those).
				for _, uid := range []string{" " + s.uid, s.uid + " "} {
					ip4, _ := c.v.ip4(lo)
					u := uint32(ts.Unix())
					pre := []byte{ip4[0], ip4[1], ip4[2], ip4[3], byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
					tk := c.v.signDigest(nil, c.v.digest, pre, []byte(uid), []byte(s.tokens+", x"), []byte(s.data))
					f.Add(fmt.Appendf(tk, "%08x%s!%s, x!%s", u, uid, s.tokens, s.data), uint8(0), uint8(0))
				}
				f.Add(AppendBase64(nil, good), uint8(0), uint8(1))
				f.Add(bytes.ReplaceAll(good, []byte("!"), []byte("%21")), uint8(0), uint8(2))
				f.Add([]byte(`"`+string(good)+`"`), uint8(1), uint8(3))
				bad := bytes.Clone(good)
				bad[0] ^= 1
				f.Add(bad, uint8(0), uint8(0))
				for _, pos := range []int{0, 5, 31, 32, 35, 39, 40, 41, len(good) - 1} {
					for _, b := range []byte{0, 1, '\n', 0x7f, '!', ' ', '"', 0xff} {
						if pos < len(good) {
							m := bytes.Clone(good)
							m[pos] = b
							f.Add(m, uint8(pos), uint8(b))
						}
					}
				}
			}
		}
	}
	f.Add([]byte("33cbb9028e5cfedac1af4e2c2db50b24 +0x53f100!!"), uint8(4), uint8(0))
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte("x\x00y!"))), uint8(0), uint8(0))
	f.Add([]byte("!"), uint8(0), uint8(0))
	f.Add([]byte("\"\""), uint8(0), uint8(0))
	ips := []netip.Addr{lo, netip.MustParseAddr("::1"), netip.MustParseAddr("::ffff:127.0.0.1"), {}, netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("10.1.2.3")}
	nows := []time.Time{ts0, ts0.Add(50 * time.Minute), ts0.Add(-time.Hour), ts0.Add(3 * time.Hour), time.Unix(0, 0)}
	var reused, refReused Ticket
	f.Fuzz(func(t *testing.T, value []byte, sel, sel2 uint8) {
		c := confs[int(sel)%len(confs)]
		ip := ips[int(sel2)%len(ips)]
		now := nows[int(sel^sel2)%len(nows)]
		var got, want Ticket
		err := c.v.Verify(&got, value, ip, now)
		wantErr := c.v.refVerify(&want, value, ip, now)
		if err != wantErr || !sameTicket(&got, &want) {
			t.Fatalf("%s %q ip %v: Verify = %v, %+v; reference = %v, %+v", c.name, value, ip, err, got, wantErr, want)
		}
		err = c.v.Verify(&reused, value, ip, now)
		wantErr = c.v.refVerify(&refReused, value, ip, now)
		if err != wantErr || !sameTicket(&reused, &refReused) || !sameTicket(&reused, &want) {
			t.Fatalf("%s %q ip %v: reused Ticket: Verify = %v, %+v; reference = %v, %+v", c.name, value, ip, err, reused, wantErr, refReused)
		}
	})
}
