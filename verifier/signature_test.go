package verifier

import (
	"bytes"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Parse reads, without the secret or the client address, the uid, time
// and signature that Verify reads with them, in every dialect and
// encoding; and the signature tells two tickets of the same user and
// second apart.
func TestParseMatchesVerify(t *testing.T) {
	other := netip.MustParseAddr("10.1.2.3") // the address the ticket is bound to: Parse does not need it
	f := func(name string, d Dialect, o Options, uid, tokens, data string, wantUID string, encode func(string) string) {
		t.Helper()
		o.Secret = []byte("sig-secret")
		dv := mustDialect(t, d, o, DialectOptions{})
		ts := time.Unix(1700000000, 0)
		value := string(dv.Sign(nil, []byte(uid), []byte(tokens), []byte(data), other, ts))
		if value == "" {
			t.Fatalf("%s: cannot sign", name)
		}
		if encode != nil {
			value = encode(value)
		}
		var v, p Ticket
		if err := dv.Verify(&v, []byte(value), other, ts); err != nil {
			t.Fatalf("%s: Verify: %v", name, err)
		}
		if err := dv.Parse(&p, []byte(value)); err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		vs, ps := dv.Signature(&v), dv.Signature(&p)
		if len(vs) != o.Digest.HexLen() && d != Passport || !bytes.Equal(vs, ps) {
			t.Errorf("%s: signatures: Verify's %d bytes, Parse's %d bytes, equal %v", name, len(vs), len(ps), bytes.Equal(vs, ps))
		}
		if string(p.UID) != wantUID || string(v.UID) != wantUID || !p.Time.Equal(ts) {
			t.Errorf("%s: Parse gives uid %q at %v; Verify %q; want %q at %v", name, p.UID, p.Time, v.UID, wantUID, ts)
		}
		// Another ticket of the same user in the same second: another
		// signature.
		value2 := dv.Sign(nil, []byte(uid), []byte(tokens), []byte(data+"x"), other, ts)
		var p2 Ticket
		if err := dv.Parse(&p2, value2); err != nil || bytes.Equal(dv.Signature(&p2), ps) {
			t.Errorf("%s: a second ticket: %v, same signature %v", name, err, bytes.Equal(dv.Signature(&p2), ps))
		}
	}
	raw := func(v string) string { // the plain ticket, as a raw cookie
		var tk Ticket
		tk.decode([]byte(v))
		return string(tk.text)
	}
	escaped := func(v string) string { return strings.ReplaceAll(url.QueryEscape(raw(v)), "!", "%21") }
	f("mod_auth_tkt base64", ModAuthTkt, Options{}, "alice", "a,b", "data", "alice", nil)
	f("mod_auth_tkt raw", ModAuthTkt, Options{}, "alice", "", "data", "alice", raw)
	f("mod_auth_tkt escaped", ModAuthTkt, Options{}, "alice", "a", "d", "alice", escaped)
	f("mod_auth_tkt quoted", ModAuthTkt, Options{}, "alice", "a", "d", "alice", func(v string) string { return `"` + v + `"` })
	f("mod_auth_tkt SHA512", ModAuthTkt, Options{Digest: SHA512}, "bob", "", "", "bob", nil)
	f("passport", Passport, Options{IgnoreIP: true}, "carol", "t", "hello", "carol", nil)
	f("pyramid", Pyramid, Options{IgnoreIP: true, Digest: SHA512}, "dave smith", "t", "", "dave smith", nil)
	f("pyramid int user id", Pyramid, Options{IgnoreIP: true, Digest: SHA512}, "42", "", "userid_type:int", "42", nil)
	f("pyramid b64unicode user id", Pyramid, Options{IgnoreIP: true, Digest: SHA512}, "YWxpY2U=", "", "userid_type:b64unicode", "alice", nil)
	f("pyramid quoted", Pyramid, Options{IgnoreIP: true}, "erin", "", "", "erin", func(v string) string { return `"\"` + v + `"` })
}

// Parse refuses what is no ticket of its dialect and digest, and leaves
// no fields behind.
func TestParseRefuses(t *testing.T) {
	dv := mustDialect(t, ModAuthTkt, Options{Secret: []byte("s")}, DialectOptions{})
	good := string(dv.Verifier().Sign(nil, []byte("alice"), nil, nil, dlo, dts0))
	sha := mustDialect(t, ModAuthTkt, Options{Secret: []byte("s"), Digest: SHA256}, DialectOptions{})
	f := func(value string, want error) {
		t.Helper()
		var tk Ticket
		if err := dv.Parse(&tk, []byte(value)); err != want || err != nil && (tk.UID != nil || !tk.Time.IsZero()) {
			t.Errorf("Parse(%q) = %v (uid %q, time %v), want %v and no fields", value, err, tk.UID, tk.Time, want)
		}
	}
	f(good, nil)
	f("", ErrNoTicket)
	f("not a ticket", ErrMalformed)
	f(strings.ToUpper(good[:32])+good[32:], ErrMalformed)        // no generator writes uppercase digests
	f(good[:31]+"g"+good[32:], ErrMalformed)                     // not hex
	f(good[:40]+" alice "+good[45:], ErrMalformed)               // a uid Verify refuses
	f(good[:40]+"al\x01ce"+good[45:], ErrMalformed)              // a control byte
	f(strings.Replace(good, "!", "", -1), ErrMalformed)          // no fields
	if err := sha.Parse(new(Ticket), []byte(good)); err == nil { // an MD5 ticket is no SHA256 one
		t.Error("an SHA256 verifier parses an MD5 ticket")
	}
}

// FuzzParse: Parse never panics, and reads every ticket Verify accepts,
// in every dialect, with Verify's uid, time and signature.
func FuzzParse(f *testing.F) {
	o := Options{Secret: []byte("secret"), OldSecret: []byte("old")}
	dvs := []*DialectVerifier{
		mustDialect(f, ModAuthTkt, o, DialectOptions{}),
		mustDialect(f, ModAuthTkt, Options{Secret: o.Secret, Digest: SHA256, IgnoreIP: true}, DialectOptions{}),
		mustDialect(f, Passport, Options{Secret: o.Secret, IgnoreIP: true}, DialectOptions{}),
		mustDialect(f, Passport, Options{Secret: o.Secret, IgnoreIP: true}, DialectOptions{PassportJSONUserData: true}),
		mustDialect(f, Pyramid, Options{Secret: o.Secret, IgnoreIP: true}, DialectOptions{}),
	}
	f.Add([]byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), uint32(1700000000), uint8(0))
	f.Add([]byte("jürgen"), []byte(""), []byte("a!b"), uint32(0), uint8(4))
	f.Add([]byte("42"), []byte(""), []byte("userid_type:int"), uint32(5), uint8(4))
	f.Add([]byte("bob"), []byte("t"), []byte(`{"a":[1,2]}`), uint32(5), uint8(3))
	f.Fuzz(func(t *testing.T, uid, tokens, data []byte, ts uint32, sel uint8) {
		dv := dvs[int(sel)%len(dvs)]
		var p Ticket
		_ = dv.Parse(&p, uid) // any bytes as a cookie value: no panic
		value := dv.Sign(nil, uid, tokens, data, dlo, time.Unix(int64(ts), 0))
		if len(value) == 0 {
			return
		}
		var v Ticket
		if err := dv.Verify(&v, value, dlo, time.Unix(int64(ts), 0)); err != nil {
			return
		}
		if err := dv.Parse(&p, value); err != nil {
			t.Fatalf("Verify accepts %q, Parse says %v", value, err)
		}
		if !bytes.Equal(p.UID, v.UID) || !p.Time.Equal(v.Time) || !bytes.Equal(dv.Signature(&p), dv.Signature(&v)) {
			t.Fatalf("%q: Parse reads uid %q at %v, Verify %q at %v; signatures equal %v",
				value, p.UID, p.Time, v.UID, v.Time, bytes.Equal(dv.Signature(&p), dv.Signature(&v)))
		}
	})
}
