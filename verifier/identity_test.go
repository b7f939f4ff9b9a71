package verifier_test

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/apachetest"
	"github.com/tktgate/tktgate/verifier"
)

// A uid or token that begins or ends with a space or tab is malformed in
// every dialect: nginx (like every HTTP parser) trims header values, so
// "admin " would reach the application as "admin" and "   " as no user.
// mod_auth_tkt accepts them (TestApache's deliberate subtest logs it).
func TestTrimmableIdentity(t *testing.T) {
	now := time.Unix(1700000000, 0)
	lo := netip.MustParseAddr("127.0.0.1")
	f := func(uid, tokens string, want error) {
		t.Helper()
		// mod_auth_tkt, through the reference signer (Sign refuses them).
		v, err := verifier.New(verifier.Options{Secret: []byte("s")})
		if err != nil {
			t.Fatal(err)
		}
		raw := apachetest.Ticket{UID: uid, Tokens: tokens, Data: "d", TS: uint32(now.Unix()), IP: lo, Secret: "s"}.Text("MD5")
		for _, value := range []string{raw, base64.StdEncoding.EncodeToString([]byte(raw))} {
			var tk verifier.Ticket
			if err := v.Verify(&tk, []byte(value), lo, now); !errors.Is(err, want) && err != want {
				t.Errorf("mod_auth_tkt, uid %q tokens %q: %v, want %v", uid, tokens, err, want)
			}
		}
		// An expired one is malformed too: the signature holds.
		var tk verifier.Ticket
		if err := v.Verify(&tk, []byte(raw), lo, now.Add(3*time.Hour)); want != nil && err != want {
			t.Errorf("mod_auth_tkt, uid %q tokens %q, expired: %v, want %v", uid, tokens, err, want)
		}
		if got := v.Sign(nil, []byte(uid), []byte(tokens), []byte("d"), lo, now); (len(got) == 0) != (want != nil) {
			t.Errorf("Sign(%q, %q) = %q; want a ticket only when Verify takes it", uid, tokens, got)
		}
		if (verifier.CheckFields([]byte(uid), []byte(tokens), nil) != nil) != (want != nil) {
			t.Errorf("CheckFields(%q, %q) disagrees with Verify", uid, tokens)
		}
		// The dialects: passport signs what it is given; pyramid's Sign
		// refuses, so a mod_auth_tkt-shaped ticket stands in for it (the
		// pyramid verifier reads those too).
		for _, d := range []verifier.Dialect{verifier.Passport, verifier.Pyramid} {
			dv, err := verifier.NewDialect(d, verifier.Options{Secret: []byte("s"), Digest: verifier.MD5}, verifier.DialectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := dv.Sign(nil, []byte(uid), []byte(tokens), []byte("d"), lo, now); (len(got) == 0) != (want != nil) {
				t.Errorf("%v: Sign(%q, %q) = %q; want a ticket only when Verify takes it", d, uid, tokens, got)
			}
			if d == verifier.Pyramid && tokens == "" {
				var tk verifier.Ticket
				if err := dv.Verify(&tk, []byte(raw), lo, now); err != want {
					t.Errorf("pyramid, uid %q: %v, want %v", uid, err, want)
				}
			}
		}
	}
	f("admin", "x,y", nil)
	f("ad min", "x y,z", nil) // inside is fine
	f("", "", nil)            // as mod_auth_tkt: an empty uid is a valid ticket
	f("alice", ",admin,", nil)
	f("admin ", "", verifier.ErrMalformed)
	f(" admin", "", verifier.ErrMalformed)
	f("   ", "", verifier.ErrMalformed)
	f(" ", "", verifier.ErrMalformed)
	f("alice", "admin ", verifier.ErrMalformed)
	f("alice", " admin", verifier.ErrMalformed)
	f("alice", "user, admin", verifier.ErrMalformed)
	f("alice", "admin ,user", verifier.ErrMalformed)
	f("alice", " ", verifier.ErrMalformed)
}
