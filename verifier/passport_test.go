package verifier

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tktgate/tktgate/internal/e2e"
)

// A cookie minted by passport-authtkt 0.0.2 (gen.js sign): secret s3cret,
// uid alice, tokens admin,editor, data "Alice Smith", ts 1700000000,
// default options (encodeUserData, ip 0.0.0.0).
const passportAlice = "NzRmMjIzMmEyM2YyZWRlZGY2YzAxNTliOGQ3MjZkODg2NTUzZjEwMGFsaWNlIWFkbWluLGVkaXRvciFRV3hwWTJVZ1UyMXBkR2c9"

// The same library with jsonUserData, uid bob, no tokens, data {b:1,a:"x"}.
const passportBobJSON = "MGEzY2VhYjEyMTdkZGNjMDljYzg4ZWE5YTMxZGE4MzM2NTUzZjEwMGJvYiFleUppSWpveExDSmhJam9pZUNKOQ=="

func TestPassportVerify(t *testing.T) {
	o := Options{Secret: []byte("s3cret"), IgnoreIP: true, Timeout: time.Hour}
	dv := mustDialect(t, Passport, o, DialectOptions{})
	dj := mustDialect(t, Passport, o, DialectOptions{PassportJSONUserData: true})
	f := verifyCheck(t)
	now := dts0.Add(time.Second)
	f(dv, passportAlice, now, nil, "alice", "admin,editor", "Alice Smith")
	// cookie-parser: quotes, surrounding blanks, percent-encoding (what
	// Express's res.cookie writes).
	f(dv, `"`+passportAlice+`"`, now, nil, "alice", "admin,editor", "Alice Smith")
	f(dv, " \t"+passportAlice+" ", now, nil, "alice", "admin,editor", "Alice Smith")
	f(dv, url.QueryEscape(passportAlice), now, nil, "alice", "admin,editor", "Alice Smith")
	f(dv, strings.ReplaceAll(passportAlice, "=", "%3D"), now, nil, "alice", "admin,editor", "Alice Smith")
	// A bad escape: decodeURIComponent throws and the raw value is used;
	// '%' is not base64 and is skipped.
	f(dv, passportAlice[:20]+"%"+passportAlice[20:], now, nil, "alice", "admin,editor", "Alice Smith")
	f(dv, passportAlice[:20]+"%E2%28"+passportAlice[20:], now, ErrMalformed, "", "", "")
	// Node's lenient base64: URL-safe alphabet, junk skipped, no padding,
	// the first '=' ends it.
	f(dv, strings.TrimRight(passportAlice, "="), now, nil, "alice", "admin,editor", "Alice Smith")
	f(dv, passportAlice[:8]+" *\n"+passportAlice[8:], now, nil, "alice", "admin,editor", "Alice Smith")
	f(dv, passportAlice[:8]+"="+passportAlice[8:], now, ErrMalformed, "", "", "")
	f(dv, passportAlice+"=AAAA", now, nil, "alice", "admin,editor", "Alice Smith")
	// The expiry is strict: ts + timeout > now.
	f(dv, passportAlice, dts0.Add(time.Hour-time.Millisecond), nil, "alice", "admin,editor", "Alice Smith")
	f(dv, passportAlice, dts0.Add(time.Hour), ErrExpired, "", "", "")
	// Not the cookie of a JSON strategy, and vice versa.
	f(dj, passportAlice, now, ErrMalformed, "", "", "")
	f(dj, passportBobJSON, now, nil, "bob", "", `{"b":1,"a":"x"}`)
	// Without jsonUserData the digest covers the decoded text as is,
	// which is the same here.
	f(dv, passportBobJSON, now, nil, "bob", "", `{"b":1,"a":"x"}`)
	// The digest covers the decoded data: the ticket as mod_auth_tkt
	// reads it does not verify.
	v := mustDialect(t, ModAuthTkt, Options{Secret: o.Secret, IgnoreIP: true}, DialectOptions{})
	var tk Ticket
	if err := v.Verify(&tk, []byte(passportAlice), dlo, now); err != ErrBadDigest {
		t.Errorf("mod_auth_tkt: %v", err)
	}
	// Refusals.
	f(dv, "", now, ErrNoTicket, "", "", "")
	f(dv, `""`, now, ErrNoTicket, "", "", "")
	f(dv, `"`, now, ErrNoTicket, "", "", "")
	f(dv, "j:"+passportAlice, now, ErrMalformed, "", "", "")
	f(dv, "j%3A"+passportAlice, now, ErrMalformed, "", "", "")
	tkt, _ := base64.StdEncoding.DecodeString(passportAlice)
	bad := bytes.Clone(tkt)
	bad[0] ^= 1
	f(dv, base64.StdEncoding.EncodeToString(bad), now, ErrBadDigest, "", "", "")
	// A '!' in the data (3 separators) is unreadable to splitTicket.
	f(dv, base64.StdEncoding.EncodeToString(append(bytes.Clone(tkt), '!')), now, ErrMalformed, "", "", "")
	// No hex digit in the time: NaN (deliberately refused).
	nan := bytes.Clone(tkt)
	copy(nan[32:40], "zzzzzzzz")
	f(dv, base64.StdEncoding.EncodeToString(nan), now, ErrMalformed, "", "", "")
	// A control byte: the high bit is stripped ('ascii'), so 0x8a is "\n".
	ctl := bytes.Clone(tkt)
	ctl[42] = 0x8a
	f(dv, base64.StdEncoding.EncodeToString(ctl), now, ErrMalformed, "", "", "")
	// IPv6 clients cannot be signed for unless the IP is ignored.
	bound := mustDialect(t, Passport, Options{Secret: o.Secret}, DialectOptions{})
	if err := bound.Verify(&tk, []byte(passportAlice), netip.MustParseAddr("::1"), now); err != ErrBadIP {
		t.Errorf("IPv6: %v", err)
	}
	if err := bound.Verify(&tk, []byte(passportAlice), dlo, now); err != ErrBadDigest {
		t.Errorf("bound to 127.0.0.1: %v", err)
	}
}

func TestPassportOldSecretAndRefresh(t *testing.T) {
	old := mustDialect(t, Passport, Options{Secret: []byte("old"), IgnoreIP: true}, DialectOptions{})
	dv := mustDialect(t, Passport, Options{Secret: []byte("new"), OldSecret: []byte("old"), IgnoreIP: true, Timeout: time.Hour, Refresh: 0.5}, DialectOptions{})
	c := old.Sign(nil, []byte("alice"), nil, []byte("data"), dlo, dts0)
	var tk Ticket
	if err := dv.Verify(&tk, c, dlo, dts0); err != nil || !tk.OldSecret || !tk.NeedsRefresh {
		t.Fatalf("old secret: %v %v %v", err, tk.OldSecret, tk.NeedsRefresh)
	}
	// Refresh is dated Math.round(now).
	r := dv.AppendRefresh(nil, &tk, dlo, dts0.Add(10*time.Second+500*time.Millisecond))
	var again Ticket
	if err := dv.Verify(&again, r, dlo, dts0.Add(11*time.Second)); err != nil || again.OldSecret || again.Time.Unix() != dts0.Unix()+11 {
		t.Fatalf("refresh: %v %v %v", err, again.OldSecret, again.Time.Unix())
	}
	// "uid!data" stays "uid!data", "uid!!data" stays "uid!!data".
	raw, _ := base64.StdEncoding.DecodeString(string(r))
	if bytes.Count(raw[40:], []byte("!")) != 1 {
		t.Errorf("refresh %q gained a tokens part", raw)
	}
	// Refresh points: passport refuses at ts+timeout exactly.
	rf, ex := dv.Deadlines(dts0)
	if !ex.Equal(dts0.Add(time.Hour)) || !rf.Equal(dts0.Add(30*time.Minute+time.Nanosecond)) {
		t.Errorf("Deadlines = %v %v", rf, ex)
	}
	if err := dv.Verify(&tk, dv.Sign(nil, []byte("a"), nil, nil, dlo, dts0), dlo, ex.Add(-time.Nanosecond)); err != nil {
		t.Errorf("just before expiry: %v", err)
	}
	if err := dv.Verify(&tk, dv.Sign(nil, []byte("a"), nil, nil, dlo, dts0), dlo, ex); err != ErrExpired {
		t.Errorf("at expiry: %v", err)
	}
}

func TestPassportSignRefuses(t *testing.T) {
	dv := mustDialect(t, Passport, Options{Secret: []byte("s"), IgnoreIP: true}, DialectOptions{})
	plain := mustDialect(t, Passport, Options{Secret: []byte("s"), IgnoreIP: true}, DialectOptions{PassportPlainUserData: true})
	dj := mustDialect(t, Passport, Options{Secret: []byte("s"), IgnoreIP: true}, DialectOptions{PassportJSONUserData: true})
	for _, c := range []struct {
		dv                 *DialectVerifier
		uid, tokens, data  string
		ts                 int64
		wantEmpty, roundTo bool
	}{
		{dv, "a!b", "", "", 1, true, false},
		{dv, "jürgen", "", "", 1, true, false},
		{dv, "a", "x!y", "", 1, true, false},
		{dv, "a", "", "\n", 1, true, false},
		{dv, "a", "", "✓", 1, true, false},      // not latin-1
		{dv, "a", "", "Zürich", 1, false, true}, // latin-1: fine
		{dv, "a", "", "x", -1, true, false},
		{plain, "a", "", "a!b", 1, true, false},
		{plain, "a", "", "é", 1, true, false},
		{dj, "a", "", "{", 1, true, false},
		{dj, "a", "", `{"a":"\n✓"}`, 1, false, true},
		{dj, "a", "", `"\u0001"`, 1, false, true},
	} {
		got := c.dv.Sign(nil, []byte(c.uid), []byte(c.tokens), []byte(c.data), dlo, time.Unix(c.ts, 0))
		if (len(got) == 0) != c.wantEmpty {
			t.Errorf("Sign(%q, %q, %q) = %q", c.uid, c.tokens, c.data, got)
		}
		if c.roundTo {
			var tk Ticket
			if err := c.dv.Verify(&tk, got, dlo, time.Unix(c.ts, 0)); err != nil {
				t.Errorf("Verify(Sign(%q)) = %v", c.data, err)
			}
		}
	}
}

func TestPassportFindCookie(t *testing.T) {
	f := func(header, want string) {
		t.Helper()
		got := passportFindCookie([]byte(header), []byte("authtkt"))
		if (got == nil) != (want == "<nil>") || got != nil && string(got) != want {
			t.Errorf("passportFindCookie(%q) = %q, want %q", header, got, want)
		}
	}
	f("authtkt=abc", "abc")
	f("a=1; authtkt=abc; b=2", "abc")
	f("a=1;authtkt = abc ;b", "abc")
	f(" authtkt\t=\t\"abc\" ", `"abc"`)
	f("authtkt=; authtkt=abc", "<nil>")   // the first one counts, even empty
	f("authtkt=abc; authtkt=def", "abc")  // first wins
	f("a=1, authtkt=abc", "<nil>")        // ',' is no separator for cookie.parse
	f("a; authtkt=abc", "abc")            // backtrack over a pair without '='
	f("xauthtkt=abc; authtkt=def", "def") // names compare whole
	f("authtkt=a=b", "a=b")
	f("x", "<nil>")
	f("", "<nil>")
	if got := Passport.FindCookie([]byte("authtkt=x"), []byte("authtkt")); string(got) != "x" {
		t.Errorf("Dialect.FindCookie = %q", got)
	}
}

func TestJSONCanon(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		var js jsonScratch
		got, ok := jsonCanon(nil, []byte(in), true, &js)
		if want == "<error>" {
			if ok {
				t.Errorf("jsonCanon(%q) = %q, want an error", in, got)
			}
			return
		}
		if !ok || string(got) != want {
			t.Errorf("jsonCanon(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	// Duplicates, escaped spellings of one key and index keys, nested
	// (node: JSON.stringify(JSON.parse(in))); emitObject sorts members.
	f(`{"b":1,"a":2,"\u0062":3,"2":0,"1":1,"01":5,"\u0031":7,"a":{"z":1,"y":2,"z":3}}`, `{"1":7,"2":0,"b":3,"a":{"z":3,"y":2},"01":5}`)
	f(`{"c":1,"b":2,"a":3,"b":4,"c":5,"10":6,"9":7,"4294967294":8,"4294967295":9}`, `{"9":7,"10":6,"4294967294":8,"c":5,"b":4,"a":3,"4294967295":9}`)
	f(` { "b" : 1.0, "a":"\u0041", "2":0, "1":[1e2] , "b": 2 } `, `{"1":[100],"2":0,"b":2,"a":"A"}`)
	f(`{"10":1,"9":2,"a":3,"01":4,"-1":5,"4294967294":6,"4294967295":7}`, `{"9":2,"10":1,"4294967294":6,"a":3,"01":4,"-1":5,"4294967295":7}`)
	f(`{"a":1,"\u0061":2}`, `{"a":2}`)
	f(`[1e21,1e-7,1e-6,123456789012345680000,0.1,-0,-0.0e5,5e-324,1.7976931348623157e308,1e400,-1e400,0.000001234,12345678901234567890123]`,
		`[1e+21,1e-7,0.000001,123456789012345680000,0.1,0,0,5e-324,1.7976931348623157e+308,null,null,0.000001234,1.2345678901234568e+22]`)
	f(`"\ud83d\ude00 \ud83d x\ude00 \/\b\f\n\r\t\u0001\u007f\u2028é"`, "\"😀 \\ud83d x\\ude00 /\\b\\f\\n\\r\\t\\u0001\u007f\u2028é\"")
	f(`true`, `true`)
	f(` null `, `null`)
	f(`{"__proto__":1}`, `{"__proto__":1}`)
	for _, bad := range []string{``, ` `, `{`, `[1,]`, `{"a"}`, `{"a":1,}`, `01`, `1.`, `.1`, `+1`, `1e`, `"\x"`, "\"\x01\"", `'a'`, `tru`, `nul`, `[1] [2]`, `NaN`, `"\u12"`, "\ufeff1"} {
		f(bad, "<error>")
	}
	// Latin-1 reading: each byte is one character.
	var js jsonScratch
	if got, ok := jsonCanon(nil, []byte("\"\xe9\xff\""), false, &js); !ok || string(got) != `"éÿ"` {
		t.Errorf("latin-1: %q %v", got, ok)
	}
	// Deep nesting is refused past maxJSONDepth.
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	f(deep, "<error>")
	f(deep[1:len(deep)-1], deep[1:len(deep)-1])
}

func TestAppendJSONField(t *testing.T) {
	data := []byte(`{"name":"Alice \"A\" Smith","id":7,"ok":true,"none":null,"roles":["a","b"],"o":{"x":1},"nl":"a\nb","\u00e9":"é","d":1,"d":2}`)
	f := func(key, want string, wantOK bool) {
		t.Helper()
		got, ok := AppendJSONField([]byte("pre:"), data, []byte(key))
		if ok != wantOK || ok && string(got) != "pre:"+want || !ok && string(got) != "pre:" {
			t.Errorf("AppendJSONField(%q) = %q %v, want %q %v", key, got, ok, want, wantOK)
		}
	}
	f("name", `Alice "A" Smith`, true)
	f("id", "7", true)
	f("ok", "true", true)
	f("none", "", false)
	f("roles", `["a","b"]`, true)
	f("o", `{"x":1}`, true)
	f("nl", "", false) // a control character: unfit for a header
	f("é", "é", true)
	f("d", "2", true)
	f("missing", "", false)
	for _, bad := range []string{`[1]`, `{"a":1`, `{"a" 1}`, `"x"`, ``} {
		if _, ok := AppendJSONField(nil, []byte(bad), []byte("a")); ok {
			t.Errorf("AppendJSONField(%q) ok", bad)
		}
	}
}

func TestJSParseIntHex(t *testing.T) {
	for in, want := range map[string]int64{"6553f100": 0x6553f100, " 1f": 31, "-1": -1, "1fzz": 31, "0x1g": 1, "+0X10": 16, "ffffffff": 0xffffffff, "-0": 0} {
		if got, ok := jsParseIntHex([]byte(in)); !ok || got != want {
			t.Errorf("jsParseIntHex(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "0x", "-", "zz", " +0xg"} {
		if _, ok := jsParseIntHex([]byte(in)); ok {
			t.Errorf("jsParseIntHex(%q) ok", in)
		}
	}
}

// ---- differential tests against Node.js ----

type nodeResult struct {
	Generator string          `json:"generator"`
	Cookie    string          `json:"cookie"`
	Express   string          `json:"express"`
	OK        bool            `json:"ok"`
	Raised    string          `json:"raised"`
	UID       string          `json:"uid"`
	Tokens    []string        `json:"tokens"`
	Data      string          `json:"data"`
	TS        float64         `json:"ts"`
	Refresh   *string         `json:"refresh"`
	OutHex    string          `json:"out_hex"`
	Units     []uint16        `json:"units"`
	Value     json.RawMessage `json:"value"`
}

// jsString turns UTF-16 code units into a Go string for JSON transport
// (lone surrogates cannot travel; callers avoid them).
func jsString(units []uint16) string { return string(utf16.Decode(units)) }

// TestPassportInternalsLive compares the pieces of the passport dialect
// with the JavaScript they reproduce, on random inputs.
func TestPassportInternalsLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	env := e2e.NodeEnv(t, ctx, dialectDir)
	r := rand.New(rand.NewPCG(liveSeed(t), 11))
	node := func(jobs []map[string]any) []nodeResult {
		var out []nodeResult
		runGen(t, ctx, env, jobs, &out, "node", "gen.js")
		if len(out) != len(jobs) {
			t.Fatalf("%d results for %d jobs", len(out), len(jobs))
		}
		return out
	}

	t.Run("base64", func(t *testing.T) {
		// Strings of code points, percent-encoded on our side (through
		// decodeURIComponent) and sent as plain strings to Node.
		alpha := []rune("ABCxyz019+/-_=  *.\n%\u00e9\u00ff\u0141\u013d\u0100\u2028😀")
		var jobs []map[string]any
		var vals [][]byte
		for range 400 {
			var sb strings.Builder
			var val []byte
			for range r.IntN(24) {
				c := alpha[r.IntN(len(alpha))]
				sb.WriteRune(c)
				if c == '%' || c >= 0x80 {
					for _, b := range []byte(string(c)) {
						val = fmt.Appendf(val, "%%%02X", b)
					}
				} else {
					val = append(val, byte(c))
				}
			}
			jobs = append(jobs, map[string]any{"op": "b64", "s": sb.String()})
			vals = append(vals, val)
		}
		res := node(jobs)
		for i, v := range vals {
			u := jsUnits{s: v, uri: bytes.IndexByte(v, '%') >= 0}
			if u.uri && !validURIComponent(v) {
				t.Fatalf("%q does not decode", v)
			}
			if got := hex.EncodeToString(nodeBase64(nil, &u)); got != res[i].OutHex {
				t.Errorf("base64 of %q: got %s, node %s", jobs[i]["s"], got, res[i].OutHex)
			}
		}
	})

	t.Run("decodeURIComponent", func(t *testing.T) {
		parts := []string{"a", "%", "%4", "%41", "%zz", "%C3%A9", "%C3", "%A9", "%E2%9C%93", "%E2%9C", "%ED%A0%80", "%F0%9F%98%80", "%F4%90%80%80", "%C0%80", "%E0%80%80", "%F8%80%80%80%80", "%25", "\xe9", "+", "%2B"}
		var jobs []map[string]any
		for range 400 {
			var b []byte
			for range 1 + r.IntN(5) {
				b = append(b, parts[r.IntN(len(parts))]...)
			}
			jobs = append(jobs, map[string]any{"op": "uri", "s_hex": hex.EncodeToString(b)})
		}
		res := node(jobs)
		for i, j := range jobs {
			b, _ := hex.DecodeString(j["s_hex"].(string))
			ok := validURIComponent(b)
			if ok != res[i].OK {
				t.Errorf("decodeURIComponent(%q): ok %v, node %v", b, ok, res[i].OK)
				continue
			}
			if !ok {
				continue
			}
			u := jsUnits{s: b, uri: true}
			var units []uint16
			for c, ok := u.next(); ok; c, ok = u.next() {
				units = append(units, c)
			}
			if fmt.Sprint(units) != fmt.Sprint(res[i].Units) && !(len(units) == 0 && len(res[i].Units) == 0) {
				t.Errorf("decodeURIComponent(%q) = %v, node %v", b, units, res[i].Units)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		var jobs []map[string]any
		for range 600 {
			s := randJSON(r, 0)
			if r.IntN(4) == 0 {
				s = mutate(r, s)
			}
			utf := r.IntN(2) == 0 && utf8.ValidString(s)
			if !utf {
				s = toLatin1(s)
			}
			jobs = append(jobs, map[string]any{"op": "json", "s_hex": hex.EncodeToString([]byte(s)), "utf8": utf})
		}
		res := node(jobs)
		n := 0
		for i, j := range jobs {
			b, _ := hex.DecodeString(j["s_hex"].(string))
			var js jsonScratch
			got, ok := jsonCanon(nil, b, j["utf8"].(bool), &js)
			if ok != res[i].OK || ok && hex.EncodeToString(got) != res[i].OutHex {
				want, _ := hex.DecodeString(res[i].OutHex)
				t.Errorf("JSON %q (utf8 %v): got %q %v, node %q %v", b, j["utf8"], got, ok, want, res[i].OK)
			}
			if ok {
				n++
			}
		}
		t.Logf("%d of %d inputs were JSON", n, len(jobs))
	})

	t.Run("cookie", func(t *testing.T) {
		names := []string{"authtkt", "authtkt", "authtkt", " authtkt", "authtkt\t", "a", "xauthtkt", "auth tkt", ""}
		vals := []string{"v", "abc", "", " ", "\t", `"`, `"q"`, `"a`, "x%41", "%", "%E2%9C%93", "%C3", "é", "=", ",", "j:", "a,b"}
		seps := []string{"; ", ";", ", ", " ", "", "; ;"}
		var jobs []map[string]any
		for range 600 {
			var h []byte
			for range 1 + r.IntN(4) {
				h = append(h, seps[r.IntN(len(seps))]...)
				h = append(h, names[r.IntN(len(names))]...)
				if r.IntN(8) != 0 {
					h = append(h, '=')
				}
				h = append(h, randFrom(r, vals, r.IntN(3))...)
			}
			jobs = append(jobs, map[string]any{"op": "cookie", "header_hex": hex.EncodeToString(h), "name": "authtkt"})
		}
		found := 0
		res := node(jobs)
		for i, j := range jobs {
			h, _ := hex.DecodeString(j["header_hex"].(string))
			var want *string
			if err := json.Unmarshal(res[i].Value, &want); err != nil || want != nil && strings.HasPrefix(*want, "j:") {
				continue // cookie-parser's "j:" JSON cookies: refused by tktgate
			}
			raw := passportFindCookie(h, []byte("authtkt"))
			if bytes.HasPrefix(trimQuotes(raw), []byte("j:")) || bytes.HasPrefix(trimQuotes(raw), []byte("j%3A")) {
				continue // likewise
			}
			switch {
			case want == nil || *want == "":
				// Absent, or empty (passport: no cookie): we find nothing
				// or a value that decodes to nothing.
				if raw != nil && len(trimQuotes(raw)) != 0 {
					t.Errorf("cookie %q: got %q, cookie-parser %s", h, raw, deref(want))
				}
			case raw == nil:
				t.Errorf("cookie %q: got nothing, cookie-parser %q", h, *want)
			default:
				found++
				v := trimQuotes(raw)
				u := jsUnits{s: v, uri: bytes.IndexByte(v, '%') >= 0 && validURIComponent(v)}
				var units []uint16
				for c, ok := u.next(); ok; c, ok = u.next() {
					units = append(units, c)
				}
				if got := jsString(units); got != *want {
					t.Errorf("cookie %q: got %q, cookie-parser %q", h, got, *want)
				}
			}
		}
		t.Logf("%d of %d headers had a non-empty cookie", found, len(jobs))
	})

	t.Run("parseInt", func(t *testing.T) {
		alpha := "0123456789abcdefABCDEFxX+- zg!"
		var jobs []map[string]any
		for range 400 {
			var b []byte
			for range r.IntN(9) {
				b = append(b, alpha[r.IntN(len(alpha))])
			}
			jobs = append(jobs, map[string]any{"op": "parseint", "s": string(b)})
		}
		res := node(jobs)
		for i, j := range jobs {
			got, ok := jsParseIntHex([]byte(j["s"].(string)))
			want := string(res[i].Value)
			if !ok && want != "null" || ok && want != fmt.Sprint(got) && !(got == 0 && want == "-0") {
				t.Errorf("parseInt(%q, 16): got %d %v, node %s", j["s"], got, ok, want)
			}
		}
	})
}

func trimQuotes(v []byte) []byte {
	if len(v) > 0 && v[0] == '"' && v[len(v)-1] == '"' {
		if len(v) == 1 {
			return nil
		}
		return v[1 : len(v)-1]
	}
	return v
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *s)
}

// randJSON draws a JSON text with the features JSON.stringify normalises:
// white space, escapes, number forms, duplicate and array-index keys.
func randJSON(r *rand.Rand, depth int) string {
	ws := func() string { return []string{"", "", " ", "\n", "\t", "\r "}[r.IntN(6)] }
	str := func() string {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(5) {
			b.WriteString([]string{"a", "b", "\\u0061", "\\\"", "\\\\", "\\/", "\\n", "\\u0001", "é", "\u2028", "😀", "\\ud83d", "\\ude00", "\\ud83d\\ude00", "1", "0", "\x7f", "\\u00e9"}[r.IntN(18)])
		}
		b.WriteByte('"')
		return b.String()
	}
	key := func() string {
		return []string{`"a"`, `"b"`, `"\u0061"`, `"0"`, `"1"`, `"10"`, `"2"`, `"01"`, `"-1"`, `"4294967294"`, `"4294967295"`, `"__proto__"`, `""`}[r.IntN(13)]
	}
	num := func() string {
		return []string{"0", "-0", "1", "1.0", "1e2", "1E+2", "1e-7", "0.000001", "123456789012345678901234", "1e21", "1e400", "-1e400", "0.1", "5e-324", "2.5e-5", "-12.50", "100000000000000000000", "1e-6"}[r.IntN(18)]
	}
	if depth > 3 {
		return num()
	}
	switch r.IntN(7) {
	case 0:
		var parts []string
		for range r.IntN(5) {
			parts = append(parts, ws()+key()+ws()+":"+ws()+randJSON(r, depth+1)+ws())
		}
		return "{" + strings.Join(parts, ",") + ws() + "}"
	case 1:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, ws()+randJSON(r, depth+1)+ws())
		}
		return "[" + strings.Join(parts, ",") + "]"
	case 2, 3:
		return str()
	case 4:
		return num()
	}
	return []string{"true", "false", "null"}[r.IntN(3)]
}

func mutate(r *rand.Rand, s string) string {
	if len(s) == 0 {
		return "x"
	}
	i := r.IntN(len(s))
	switch r.IntN(3) {
	case 0:
		return s[:i] + s[i+1:]
	case 1:
		const ins = "{}[],:\"\\ e.-0"
		return s[:i] + string(ins[r.IntN(len(ins))]) + s[i:]
	}
	return s[:i] + s[i:] + s[:i]
}

// toLatin1 makes a byte string whose latin-1 reading is s where possible
// (characters above U+00FF become '?').
func toLatin1(s string) string {
	var b []byte
	for _, c := range s {
		if c > 0xff {
			c = '?'
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// ---- live interop with passport-authtkt ----

type passportJob struct {
	Op      string         `json:"op"`
	Secret  string         `json:"secret"`
	Options map[string]any `json:"options"`
	UID     string         `json:"uid"`
	Tokens  []string       `json:"tokens"`
	Data    any            `json:"data,omitempty"`
	TS      int64          `json:"ts"`
	Now     float64        `json:"now,omitempty"`
	Header  string         `json:"header_hex,omitempty"`
}

// TestPassportLive mints tickets with passport-authtkt (all four
// combinations of encodeUserData and jsonUserData, with and without
// tokens, IP and timeout), presents them through cookie-parser and the
// Strategy together with tampered and expired variants, and requires
// tktgate's verdict, fields and refresh to match; then it presents
// tktgate-minted and tktgate-refreshed tickets to the Strategy, which must
// accept them with the same fields.
func TestPassportLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	env := e2e.NodeEnv(t, ctx, dialectDir)
	r := rand.New(rand.NewPCG(liveSeed(t), 12))
	uidChars := []rune("abcdefghijklmnopqrstuvwxyzABC0123456789._-@+ =;,%\"/")
	dataChars := []rune("abc XYZ 0123456789 .,;:=&%\"'{}[]<>/\\?#+-_~é\u00ffü")
	pick := func(chars []rune, n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(chars[r.IntN(len(chars))])
		}
		return b.String()
	}
	type kase struct {
		job     passportJob
		do      DialectOptions
		o       Options
		ip      netip.Addr
		timeout int64
	}
	var cases []kase
	for mode := range 4 {
		for range 12 {
			do := DialectOptions{PassportPlainUserData: mode&1 != 0, PassportJSONUserData: mode&2 != 0}
			opts := map[string]any{"encodeUserData": !do.PassportPlainUserData, "jsonUserData": do.PassportJSONUserData}
			ip := netip.AddrFrom4([4]byte{byte(1 + r.IntN(200)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(250))})
			o := Options{Secret: []byte(pick(uidChars[:40], 1+r.IntN(20))), IgnoreIP: r.IntN(2) == 0, MaxFuture: 200 * 365 * 24 * time.Hour}
			if !o.IgnoreIP {
				opts["ip"] = ip.String()
			}
			var timeout int64
			if r.IntN(3) != 0 {
				timeout = int64(60 + r.IntN(7200))
				opts["timeout"] = timeout
				o.Timeout = time.Duration(timeout) * time.Second
				o.Refresh = 1
			}
			j := passportJob{Op: "sign", Secret: string(o.Secret), Options: opts, UID: pick(uidChars, r.IntN(12)), TS: 1_000_000_000 + r.Int64N(2_000_000_000)}
			for range r.IntN(3) {
				j.Tokens = append(j.Tokens, pick(uidChars[:36], 1+r.IntN(6)))
			}
			if do.PassportJSONUserData {
				var v any
				_ = json.Unmarshal([]byte(`{"name":`+fmt.Sprintf("%q", pick(dataChars, r.IntN(10)))+`,"id":`+fmt.Sprint(r.IntN(1000))+`,"r":[1.5,true,null]}`), &v)
				j.Data = v
			} else {
				j.Data = pick(dataChars, r.IntN(16))
			}
			cases = append(cases, kase{j, do, o, ip, timeout})
		}
	}
	jobs := make([]passportJob, len(cases))
	for i, c := range cases {
		jobs[i] = c.job
	}
	var signed []nodeResult
	runGen(t, ctx, env, jobs, &signed, "node", "gen.js")

	// Present each cookie in several ways and at several times.
	type check struct {
		c      int
		header string
		now    float64
	}
	var checks []check
	var ajobs []passportJob
	for i, c := range cases {
		cookie := signed[i].Cookie
		raw, _ := base64.StdEncoding.DecodeString(cookie)
		tampered := bytes.Clone(raw)
		tampered[r.IntN(32)] ^= 1
		headers := []string{
			"authtkt=" + signed[i].Express,
			"x=1; authtkt=" + cookie + "; y=2",
			`authtkt="` + cookie + `"`,
			"authtkt=" + base64.StdEncoding.EncodeToString(tampered),
			"authtkt=" + strings.NewReplacer("+", "-", "/", "_").Replace(cookie),
		}
		nows := []float64{float64(c.job.TS) + 0.5}
		if c.timeout > 0 {
			nows = append(nows, float64(c.job.TS+c.timeout)-0.001, float64(c.job.TS+c.timeout))
		}
		for _, h := range headers {
			for _, now := range nows {
				checks = append(checks, check{i, h, now})
				o := c.job.Options
				ajobs = append(ajobs, passportJob{Op: "authenticate", Secret: c.job.Secret, Options: o, Now: now, TS: int64(now + 0.5), Header: hex.EncodeToString([]byte(h))})
			}
		}
	}
	var auth []nodeResult
	runGen(t, ctx, env, ajobs, &auth, "node", "gen.js")
	accepted, trimmed := 0, 0
	var refreshJobs []passportJob
	var refreshWant []nodeResult
	for k, ch := range checks {
		c := cases[ch.c]
		dv := mustDialect(t, Passport, c.o, c.do)
		res := auth[k]
		now := floatTime(ch.now)
		tk, err := verifyHeader(dv, []byte(ch.header), []byte("authtkt"), c.ip, now)
		in := fmt.Sprintf("header %q now %.3f options %v", ch.header, ch.now, c.job.Options)
		if !libraryAgrees(t, "passport", err, res.OK, res.Raised, []byte(res.UID), res.Tokens, &trimmed, in) {
			continue
		}
		accepted++
		if string(tk.UID) != res.UID || string(tk.Tokens) != strings.Join(res.Tokens, ",") || string(tk.Data) != res.Data || tk.Time.Unix() != int64(res.TS) {
			t.Errorf("got %q %q %q %d, passport %q %q %q %v\n%s", tk.UID, tk.Tokens, tk.Data, tk.Time.Unix(), res.UID, res.Tokens, res.Data, res.TS, in)
		}
		if (res.Refresh != nil) != tk.NeedsRefresh {
			t.Errorf("NeedsRefresh %v, passport refresh %v\n%s", tk.NeedsRefresh, res.Refresh, in)
		}
		if res.Refresh != nil {
			ours := dv.AppendRefresh(nil, &tk, c.ip, time.Unix(int64(ch.now+0.5), 0))
			ascii := !hasHigh(tk.Data)
			if ascii && string(ours) != *res.Refresh {
				t.Errorf("AppendRefresh %q, passport %q\n%s", ours, *res.Refresh, in)
			}
			// Whatever we refresh to, passport must read back.
			refreshJobs = append(refreshJobs, passportJob{Op: "authenticate", Secret: c.job.Secret, Options: c.job.Options, Now: ch.now, TS: int64(ch.now),
				Header: hex.EncodeToString([]byte("authtkt=" + url.QueryEscape(string(ours))))})
			refreshWant = append(refreshWant, nodeResult{UID: string(tk.UID), Tokens: []string{string(tk.Tokens)}, Data: string(tk.Data)})
		}
	}
	t.Logf("%s: %d of %d presentations accepted, all verdicts equal but %d refused on purpose (a uid or token with a space at an end)", signed[0].Generator, accepted, len(checks), trimmed)
	if accepted < len(cases) {
		t.Errorf("only %d accepted", accepted)
	}

	// tktgate-minted tickets (Sign) for the same inputs.
	for i, c := range cases {
		dv := mustDialect(t, Passport, c.o, c.do)
		var data []byte
		if c.do.PassportJSONUserData {
			data, _ = json.Marshal(c.job.Data)
		} else {
			data = []byte(c.job.Data.(string))
		}
		mine := dv.Sign(nil, []byte(c.job.UID), []byte(strings.Join(c.job.Tokens, ",")), data, c.ip, time.Unix(c.job.TS, 0))
		if len(mine) == 0 {
			continue
		}
		var tk Ticket
		if err := dv.Verify(&tk, mine, c.ip, time.Unix(c.job.TS, 0)); err != nil {
			t.Fatalf("Verify(Sign) = %v", err)
		}
		if !hasHigh(tk.Data) && string(mine) != signed[i].Cookie {
			t.Errorf("Sign %q, passport %q", mine, signed[i].Cookie)
		}
		refreshJobs = append(refreshJobs, passportJob{Op: "authenticate", Secret: c.job.Secret, Options: c.job.Options, Now: float64(c.job.TS), TS: c.job.TS,
			Header: hex.EncodeToString([]byte("authtkt=" + string(mine)))})
		refreshWant = append(refreshWant, nodeResult{UID: string(tk.UID), Tokens: []string{string(tk.Tokens)}, Data: string(tk.Data)})
	}
	var back []nodeResult
	runGen(t, ctx, env, refreshJobs, &back, "node", "gen.js")
	for i, res := range back {
		w := refreshWant[i]
		h, _ := hex.DecodeString(refreshJobs[i].Header)
		if !res.OK {
			t.Errorf("passport refused tktgate's %q (%s)", h, res.Raised)
			continue
		}
		if res.UID != w.UID || strings.Join(res.Tokens, ",") != w.Tokens[0] || res.Data != w.Data {
			t.Errorf("passport read tktgate's %q as %q %q %q, want %q %q %q", h, res.UID, res.Tokens, res.Data, w.UID, w.Tokens[0], w.Data)
		}
	}
	t.Logf("passport accepted all %d tickets minted or refreshed by tktgate", len(back))
}
