package verifier_test

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

func Example() {
	v, err := verifier.New(verifier.Options{
		Secret:  []byte("secret"),
		Timeout: 2 * time.Hour,
		Refresh: 0.5,
	})
	if err != nil {
		panic(err)
	}
	ip := netip.MustParseAddr("127.0.0.1")
	issued := time.Unix(1700000000, 0)

	// Mint a ticket, as a login page would, and base64 it for the cookie.
	raw := v.Sign(nil, []byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), ip, issued)
	cookie := verifier.AppendBase64(nil, raw)
	fmt.Printf("%s\n", raw)

	// Check it on a later request. One Ticket per goroutine, reused.
	var t verifier.Ticket
	err = v.Verify(&t, cookie, ip, issued.Add(90*time.Minute))
	fmt.Println(err, string(t.UID), string(t.Tokens), string(t.Data), t.NeedsRefresh)
	fmt.Println(verifier.HasToken(t.Tokens, [][]byte{[]byte("editor")}))

	// From another address the digest does not match.
	err = v.Verify(&t, cookie, netip.MustParseAddr("10.0.0.1"), issued)
	fmt.Println(errors.Is(err, verifier.ErrBadDigest))
	// Output:
	// 33cbb9028e5cfedac1af4e2c2db50b246553f100alice!admin,editor!Alice Smith
	// <nil> alice admin,editor Alice Smith true
	// true
	// true
}

func ExampleFindCookie() {
	header := []byte("theme=dark; auth_tkt=; auth_tkt=MzNjYmI5MDI4ZTVjZmVkYWMxYWY0ZTJjMmRiNTBiMjQ2NTUzZjEwMGFsaWNlIQ==")
	fmt.Printf("%s\n", verifier.FindCookie(header, []byte("auth_tkt")))
	// Output:
	// MzNjYmI5MDI4ZTVjZmVkYWMxYWY0ZTJjMmRiNTBiMjQ2NTUzZjEwMGFsaWNlIQ==
}

func ExampleVerifier_AppendRefresh() {
	v, _ := verifier.New(verifier.Options{Secret: []byte("secret"), Timeout: time.Hour, Refresh: 0.5})
	ip := netip.MustParseAddr("127.0.0.1")
	issued := time.Unix(1700000000, 0)
	var t verifier.Ticket
	_ = v.Verify(&t, v.Sign(nil, []byte("alice"), nil, nil, ip, issued), ip, issued.Add(45*time.Minute))
	if t.NeedsRefresh {
		cookie := v.AppendRefresh(nil, &t, ip, issued.Add(45*time.Minute))
		err := v.Verify(&t, cookie, ip, issued.Add(45*time.Minute))
		fmt.Println(err, t.Time.Unix()-issued.Unix(), t.NeedsRefresh)
	}
	// Output:
	// <nil> 2700 false
}

func ExampleNewDialect() {
	// A gateway in front of a Pyramid application: Pyramid's cookie name,
	// digest and IP rule unless the options say otherwise.
	d := verifier.Pyramid
	dv, err := verifier.NewDialect(d, verifier.Options{
		Secret:   []byte("secret"),
		Digest:   d.DefaultDigest(),
		IgnoreIP: d.DefaultIgnoreIP(),
		Timeout:  time.Hour,
	}, verifier.DialectOptions{PyramidReissue: true, PyramidReissueTime: 10 * time.Minute})
	if err != nil {
		panic(err)
	}
	ip := netip.MustParseAddr("127.0.0.1")
	issued := time.Unix(1700000000, 0)

	value := dv.Sign(nil, []byte("alice"), []byte("admin"), nil, ip, issued)
	header := append([]byte(d.CookieName()+"="), value...)

	var t verifier.Ticket
	err = dv.Verify(&t, dv.CookieTicket(header, []byte(d.CookieName())), ip, issued.Add(15*time.Minute))
	fmt.Println(dv.Dialect(), dv.Digest(), err, string(t.UID), string(t.Tokens), t.NeedsRefresh)
	// Output:
	// pyramid SHA512 <nil> alice admin true
}
