//go:build !race

package verifier

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The dialects' hot paths must not allocate either, once a Ticket's
// scratch has grown: cookie finding, Verify on good, bad and odd values,
// AppendRefresh, Sign and AppendJSONField.
func TestDialectAllocs(t *testing.T) {
	type setup struct {
		name string
		d    Dialect
		o    Options
		do   DialectOptions
		uid  string
		data string
	}
	secret, old := []byte("secret"), []byte("older")
	for _, s := range []setup{
		{"passport", Passport, Options{Secret: secret, OldSecret: old, IgnoreIP: true, Timeout: time.Hour, Refresh: 1}, DialectOptions{}, "alice", "Zürich data"},
		{"passport-plain", Passport, Options{Secret: secret, Timeout: time.Hour, Refresh: 0.5}, DialectOptions{PassportPlainUserData: true}, "alice", "plain data"},
		{"passport-json", Passport, Options{Secret: secret, OldSecret: old, IgnoreIP: true, Timeout: time.Hour, Refresh: 1}, DialectOptions{PassportJSONUserData: true},
			"alice", `{"name":"Alice","id":7,"n":1.5e-7,"roles":["a","b"],"2":{"x":null},"1":"é\u2028😀"}`},
		{"pyramid-sha512", Pyramid, Options{Secret: secret, OldSecret: old, Digest: SHA512, IgnoreIP: true, Timeout: time.Hour}, DialectOptions{PyramidReissue: true, PyramidReissueTime: time.Minute},
			"YWxpY2U=", "userid_type:b64unicode"},
		{"pyramid-int-ip6", Pyramid, Options{Secret: secret, Digest: MD5, Timeout: time.Hour}, DialectOptions{}, "-0042", "x|userid_type:int"},
		{"pyramid-escaped", Pyramid, Options{Secret: secret, Digest: SHA256, IgnoreIP: true}, DialectOptions{}, "j%C3%BCrgen %ZZ", "data, with \"quotes\" inside"},
	} {
		dv := mustDialect(t, s.d, s.o, s.do)
		oldDV := mustDialect(t, s.d, Options{Secret: old, Digest: s.o.Digest, IgnoreIP: s.o.IgnoreIP}, s.do)
		ip := dlo
		if strings.Contains(s.name, "ip6") {
			ip = netip.MustParseAddr("2001:db8::7")
		}
		tokens := []byte("admin,editor")
		good := dv.Sign(nil, []byte(s.uid), tokens, []byte(s.data), ip, dts0)
		if len(good) == 0 {
			t.Fatalf("%s: Sign refused", s.name)
		}
		values := map[string][]byte{
			"good":       good,
			"quoted":     []byte(`"` + string(good) + `"`),
			"bad digest": append([]byte("0"), good[1:]...),
			"garbage":    []byte("garbage!!!"),
			"empty":      nil,
			"old secret": oldDV.Sign(nil, []byte(s.uid), nil, []byte(s.data), ip, dts0),
			"expired":    dv.Sign(nil, []byte(s.uid), nil, []byte(s.data), ip, dts0.Add(-2*time.Hour)),
		}
		if s.d == Passport {
			values["express"] = []byte(strings.NewReplacer("=", "%3D", "+", "%2B", "/", "%2F").Replace(string(good)))
		}
		for name, val := range values {
			var tk Ticket
			now := dts0.Add(2 * time.Minute)
			if n := testing.AllocsPerRun(100, func() { _ = dv.Verify(&tk, val, ip, now) }); n != 0 {
				t.Errorf("%s %s: Verify allocates %v times per call", s.name, name, n)
			}
		}
		// One Ticket for all of them in turn: the scratch must settle.
		var shared Ticket
		all := make([][]byte, 0, len(values))
		for _, val := range values {
			all = append(all, val)
		}
		if n := testing.AllocsPerRun(20, func() {
			for _, val := range all {
				_ = dv.Verify(&shared, val, ip, dts0)
			}
		}); n != 0 {
			t.Errorf("%s: Verify of all values in turn allocates %v times", s.name, n)
		}
		var tk Ticket
		if err := dv.Verify(&tk, good, ip, dts0.Add(2*time.Minute)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		buf := make([]byte, 0, 2048)
		if n := testing.AllocsPerRun(100, func() { buf = dv.AppendRefresh(buf[:0], &tk, ip, dts0) }); n != 0 {
			t.Errorf("%s: AppendRefresh allocates %v times per call", s.name, n)
		}
		if len(buf) == 0 {
			t.Errorf("%s: AppendRefresh wrote nothing", s.name)
		}
		uid, data := []byte(s.uid), []byte(s.data)
		if n := testing.AllocsPerRun(100, func() { buf = dv.Sign(buf[:0], uid, tokens, data, ip, dts0) }); n != 0 && !s.do.PassportJSONUserData {
			t.Errorf("%s: Sign allocates %v times per call", s.name, n)
		}
		header := []byte("a=1; " + s.d.CookieName() + "=" + string(good) + "; b=2")
		name := []byte(s.d.CookieName())
		if n := testing.AllocsPerRun(100, func() { _ = dv.CookieTicket(header, name) }); n != 0 {
			t.Errorf("%s: CookieTicket allocates %v times per call", s.name, n)
		}
		if s.do.PassportJSONUserData {
			key := []byte("name")
			if n := testing.AllocsPerRun(100, func() { buf, _ = AppendJSONField(buf[:0], tk.Data, key) }); n != 0 {
				t.Errorf("%s: AppendJSONField allocates %v times per call", s.name, n)
			}
		}
	}
}
