//go:build !race

package verifier_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// The hot path must not allocate once a Ticket's scratch has grown: a
// gateway verifies a ticket on every request.
func TestVerifyAllocs(t *testing.T) {
	for _, d := range []verifier.Digest{verifier.MD5, verifier.SHA256, verifier.SHA512} {
		v := mustNew(t, verifier.Options{Secret: []byte("secret"), OldSecret: []byte("older"), Digest: d, Timeout: time.Hour, Refresh: 0.5})
		old := mustNew(t, verifier.Options{Secret: []byte("older"), Digest: d})
		good := string(v.Sign(nil, []byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), lo, ts0))
		values := map[string]string{
			"raw":        good,
			"base64":     base64.StdEncoding.EncodeToString([]byte(good)),
			"escaped":    strings.ReplaceAll(good, "!", "%21"),
			"quoted":     `"` + good + `"`,
			"bad digest": "0" + good[1:],
			"malformed":  "garbage",
			"old secret": string(old.Sign(nil, []byte("alice"), nil, nil, lo, ts0)),
			"expired":    string(v.Sign(nil, []byte("alice"), nil, nil, lo, ts0.Add(-2*time.Hour))),
			"empty":      "",
		}
		for name, val := range values {
			var tk verifier.Ticket
			b := []byte(val)
			if n := testing.AllocsPerRun(100, func() { _ = v.Verify(&tk, b, lo, ts0) }); n != 0 {
				t.Errorf("%v %s: Verify allocates %v times per call", d, name, n)
			}
		}
		var tk verifier.Ticket
		_ = v.Verify(&tk, []byte(good), lo, ts0.Add(50*time.Minute))
		buf := make([]byte, 0, 1024)
		uid, tokens, data := []byte("alice"), []byte("admin"), []byte("Alice Smith")
		if n := testing.AllocsPerRun(100, func() { buf = v.Sign(buf[:0], uid, tokens, data, lo, ts0) }); n != 0 {
			t.Errorf("%v: Sign allocates %v times per call", d, n)
		}
		if n := testing.AllocsPerRun(100, func() { buf = v.AppendRefresh(buf[:0], &tk, lo, ts0) }); n != 0 {
			t.Errorf("%v: AppendRefresh allocates %v times per call", d, n)
		}
		header := []byte("a=b; auth_tkt=" + values["base64"] + "; c=d")
		name := []byte("auth_tkt")
		if n := testing.AllocsPerRun(100, func() { _ = v.CookieTicket(header, name) }); n != 0 {
			t.Errorf("%v: CookieTicket allocates %v times per call", d, n)
		}
	}
}
