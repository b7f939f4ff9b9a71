package verifier_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// FuzzVerify feeds arbitrary values to Verify: it must never panic, must
// return one of the documented errors, must never hand out a control byte,
// and must give the same answer for a reused Ticket as for a fresh one.
func FuzzVerify(f *testing.F) {
	v := mustNew(f, verifier.Options{Secret: []byte("secret"), OldSecret: []byte("old"), Timeout: time.Hour, Refresh: 0.5})
	good := v.Sign(nil, []byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), lo, ts0)
	f.Add(good, uint8(0))
	f.Add(verifier.AppendBase64(nil, good), uint8(1))
	f.Add(bytes.ReplaceAll(good, []byte("!"), []byte("%21")), uint8(2))
	f.Add([]byte(`"`+string(good)+`"`), uint8(3))
	f.Add([]byte("33cbb9028e5cfedac1af4e2c2db50b24 +0x53f100!!"), uint8(4))
	var reused verifier.Ticket
	errs := []error{verifier.ErrNoTicket, verifier.ErrMalformed, verifier.ErrBadIP, verifier.ErrBadDigest, verifier.ErrExpired, verifier.ErrFuture}
	f.Fuzz(func(t *testing.T, value []byte, ipSel uint8) {
		ip := []netip.Addr{lo, netip.MustParseAddr("::1"), netip.MustParseAddr("::ffff:127.0.0.1"), {}}[ipSel%4]
		var fresh verifier.Ticket
		err := v.Verify(&fresh, value, ip, ts0)
		err2 := v.Verify(&reused, value, ip, ts0)
		if err != err2 || !bytes.Equal(fresh.UID, reused.UID) || !bytes.Equal(fresh.Data, reused.Data) || !bytes.Equal(fresh.Tokens, reused.Tokens) {
			t.Fatalf("fresh and reused Ticket disagree: %v/%v", err, err2)
		}
		if err != nil {
			known := false
			for _, e := range errs {
				known = known || errors.Is(err, e)
			}
			if !known {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		for _, b := range [][]byte{fresh.UID, fresh.Tokens, fresh.Data} {
			for _, c := range b {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("accepted a control byte in %q", b)
				}
			}
		}
		if bytes.IndexByte(fresh.UID, '!') >= 0 || bytes.IndexByte(fresh.Tokens, '!') >= 0 {
			t.Fatalf("separator inside uid %q or tokens %q", fresh.UID, fresh.Tokens)
		}
		// Whatever was accepted survives a refresh unchanged.
		ref := v.AppendRefresh(nil, &fresh, ip, ts0)
		var again verifier.Ticket
		if err := v.Verify(&again, ref, ip, ts0); err != nil {
			t.Fatalf("refresh of an accepted ticket is refused: %v", err)
		}
		if !bytes.Equal(again.UID, fresh.UID) || !bytes.Equal(again.Tokens, fresh.Tokens) || !bytes.Equal(again.Data, fresh.Data) {
			t.Fatalf("refresh changed the fields: %q %q %q -> %q %q %q", fresh.UID, fresh.Tokens, fresh.Data, again.UID, again.Tokens, again.Data)
		}
	})
}

// FuzzSignVerify: anything Sign agrees to mint, Verify accepts with the
// same fields, raw and base64.
func FuzzSignVerify(f *testing.F) {
	f.Add([]byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), uint32(1700000000), false)
	f.Add([]byte(""), []byte(""), []byte("a!b"), uint32(0), true)
	f.Add([]byte("jürgen"), []byte(",,"), []byte(""), uint32(0xffffffff), false)
	v := mustNew(f, verifier.Options{Secret: []byte("secret"), MaxFuture: 200 * 365 * 24 * time.Hour})
	f.Fuzz(func(t *testing.T, uid, tokens, data []byte, ts uint32, b64 bool) {
		when := time.Unix(int64(ts), 0)
		tkt := v.Sign(nil, uid, tokens, data, lo, when)
		if verifier.CheckFields(uid, tokens, data) != nil {
			if len(tkt) != 0 {
				t.Fatalf("Sign minted %q from fields CheckFields refuses", tkt)
			}
			return
		}
		// mod_auth_tkt strips a trailing '"' before parsing, so a raw
		// ticket whose last byte is '"' cannot survive; base64 can.
		if b64 || bytes.HasSuffix(tkt, []byte{'"'}) {
			tkt = []byte(base64.StdEncoding.EncodeToString(tkt))
		}
		var tk verifier.Ticket
		if err := v.Verify(&tk, tkt, lo, when); err != nil {
			t.Fatalf("Verify(Sign(%q, %q, %q)) = %v", uid, tokens, data, err)
		}
		if !bytes.Equal(tk.UID, uid) || !bytes.Equal(tk.Tokens, tokens) || !bytes.Equal(tk.Data, data) {
			t.Fatalf("round trip %q %q %q -> %q %q %q", uid, tokens, data, tk.UID, tk.Tokens, tk.Data)
		}
	})
}

// FuzzFindCookie: never panics, and what it returns is a slice of the
// header that starts right after "name=" and holds no ';'.
func FuzzFindCookie(f *testing.F) {
	f.Add([]byte("a=1; auth_tkt=; auth_tkt=x"), []byte("auth_tkt"))
	f.Add([]byte("auth_tkt=a, auth_tkt=b"), []byte("auth_tkt"))
	f.Add([]byte("x"), []byte(""))
	f.Fuzz(func(t *testing.T, header, name []byte) {
		got := verifier.FindCookie(header, name)
		if got == nil {
			return
		}
		if len(got) == 0 || bytes.IndexByte(got, ';') >= 0 || !bytes.Contains(header, append(append(append([]byte{}, name...), '='), got...)) {
			t.Fatalf("FindCookie(%q, %q) = %q", header, name, got)
		}
		if q, ok := verifier.QueryTicket(header, name); ok && bytes.IndexByte(q, '&') >= 0 {
			t.Fatalf("QueryTicket(%q) = %q contains '&'", header, q)
		}
	})
}
