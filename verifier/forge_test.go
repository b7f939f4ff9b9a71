package verifier_test

import (
	"net/netip"

	"github.com/tktgate/tktgate/internal/apachetest"
)

// forge writes an MD5 ticket by the recipe in auth_tkt.md, independently
// of the package (apachetest.Ticket, the differential tests' reference
// signer), so tests can build tickets Sign refuses to make.
func forge(secret, uid, tokens, data string, ip [4]byte, ts uint32) string {
	return apachetest.Ticket{UID: uid, Tokens: tokens, Data: data, TS: ts, IP: netip.AddrFrom4(ip), Secret: secret}.Text("MD5")
}
