package verifier

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
)

// dialectDir holds the generator scripts (gen.js, gen.py), vectors.py and
// vectors.json; gen.sh there regenerates the vectors from the real
// libraries.
const dialectDir = "testdata/dialects"

var (
	dlo  = netip.MustParseAddr("127.0.0.1")
	dts0 = time.Unix(1700000000, 0)
)

func mustDialect(t testing.TB, d Dialect, o Options, do DialectOptions) *DialectVerifier {
	t.Helper()
	dv, err := NewDialect(d, o, do)
	if err != nil {
		t.Fatal(err)
	}
	return dv
}

// verifyCheck is a check of what a DialectVerifier makes of a cookie
// value at now: the error wanted and, without one, the fields.
func verifyCheck(t *testing.T) func(dv *DialectVerifier, value string, now time.Time, wantErr error, uid, tokens, data string) {
	return func(dv *DialectVerifier, value string, now time.Time, wantErr error, uid, tokens, data string) {
		t.Helper()
		var tk Ticket
		err := dv.Verify(&tk, []byte(value), dlo, now)
		if err != wantErr {
			t.Errorf("Verify(%q) = %v, want %v", value, err, wantErr)
			return
		}
		if err == nil && (string(tk.UID) != uid || string(tk.Tokens) != tokens || string(tk.Data) != data) {
			t.Errorf("Verify(%q) = %q %q %q, want %q %q %q", value, tk.UID, tk.Tokens, tk.Data, uid, tokens, data)
		}
	}
}

// verifyHeader is what dv makes of the cookie name in a Cookie header, at
// now from ip: ErrNoTicket when the header has none.
func verifyHeader(dv *DialectVerifier, header, name []byte, ip netip.Addr, now time.Time) (Ticket, error) {
	var tk Ticket
	c := dv.CookieTicket(header, name)
	if c == nil {
		return tk, ErrNoTicket
	}
	err := dv.Verify(&tk, c, ip, now)
	return tk, err
}

// libraryAgrees compares tktgate's verdict err on a ticket with a
// library's (ok, with what it raised when not; uid and tokens, the
// fields it read) and says whether both accepted it, so that the fields
// are to be compared. A disagreement is an error, except a refusal on
// purpose: a uid or token with white space at an end, which a proxy
// would trim, counted in trimmed. in describes the case.
func libraryAgrees(t *testing.T, lib string, err error, ok bool, raised string, uid []byte, tokens []string, trimmed *int, in string) bool {
	t.Helper()
	if ok && err == ErrMalformed && trimmable(uid, []byte(strings.Join(tokens, ","))) {
		*trimmed++
		return false
	}
	if (err == nil) != ok {
		t.Errorf("tktgate %v, %s ok=%v %s\n%s", err, lib, ok, raised, in)
		return false
	}
	return err == nil
}

func TestParseDialect(t *testing.T) {
	for _, d := range []Dialect{ModAuthTkt, Passport, Pyramid} {
		got, err := ParseDialect(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDialect(%q) = %v, %v", d.String(), got, err)
		}
	}
	for _, s := range []string{"", "Passport", "PYRAMID", "mod-auth-tkt", "modauthtkt", "passport ", "apache"} {
		if _, err := ParseDialect(s); err == nil {
			t.Errorf("ParseDialect(%q) accepted", s)
		}
	}
	if s := Dialect(9).String(); s != "Dialect(9)" {
		t.Errorf("String() = %q", s)
	}
}

func TestDialectDefaults(t *testing.T) {
	f := func(d Dialect, cookie string, digest Digest, ignoreIP, url bool) {
		t.Helper()
		if d.CookieName() != cookie || d.DefaultDigest() != digest || d.DefaultIgnoreIP() != ignoreIP || d.URLTickets() != url {
			t.Errorf("%v: %q %v %v %v", d, d.CookieName(), d.DefaultDigest(), d.DefaultIgnoreIP(), d.URLTickets())
		}
	}
	// strategy.js:35 key || 'authtkt'; authentication.py:989 cookie_name
	// 'auth_tkt', 998 hashalg 'sha512', 991 include_ip False; authtkt.js:36
	// ip '0.0.0.0'.
	f(ModAuthTkt, "auth_tkt", MD5, false, true)
	f(Passport, "authtkt", MD5, true, false)
	f(Pyramid, "auth_tkt", SHA512, true, false)
}

func TestNewDialectErrors(t *testing.T) {
	s := []byte("s")
	bad := []struct {
		d  Dialect
		o  Options
		do DialectOptions
	}{
		{Dialect(3), Options{Secret: s}, DialectOptions{}},
		{Passport, Options{}, DialectOptions{}},
		{Passport, Options{Secret: s, Digest: SHA256}, DialectOptions{}},
		{Passport, Options{Secret: s}, DialectOptions{PyramidReissue: true}},
		{ModAuthTkt, Options{Secret: s}, DialectOptions{PassportJSONUserData: true}},
		{Pyramid, Options{Secret: s}, DialectOptions{PassportPlainUserData: true}},
		{Pyramid, Options{Secret: s, Refresh: 0.5}, DialectOptions{}},
		{Pyramid, Options{Secret: s}, DialectOptions{PyramidReissueTime: time.Minute}},
		{Pyramid, Options{Secret: s}, DialectOptions{PyramidReissue: true, PyramidReissueTime: -time.Second}},
		{Pyramid, Options{Secret: s}, DialectOptions{PyramidReissue: true, PyramidReissueTime: 1500 * time.Millisecond}},
		{ModAuthTkt, Options{Secret: s}, DialectOptions{PyramidReissue: true}},
	}
	for _, b := range bad {
		if _, err := NewDialect(b.d, b.o, b.do); err == nil {
			t.Errorf("NewDialect(%v, %+v, %+v) accepted", b.d, b.o, b.do)
		}
	}
	good := []struct {
		d  Dialect
		o  Options
		do DialectOptions
	}{
		{ModAuthTkt, Options{Secret: s, Digest: SHA512, Refresh: 0.5, Timeout: time.Hour}, DialectOptions{}},
		{Passport, Options{Secret: s, Refresh: 1, Timeout: time.Hour}, DialectOptions{PassportPlainUserData: true, PassportJSONUserData: true}},
		{Pyramid, Options{Secret: s, Digest: SHA256, Timeout: time.Hour}, DialectOptions{PyramidReissue: true}},
	}
	for _, g := range good {
		dv, err := NewDialect(g.d, g.o, g.do)
		if err != nil {
			t.Errorf("NewDialect(%v, %+v, %+v): %v", g.d, g.o, g.do, err)
			continue
		}
		if dv.Dialect() != g.d || dv.Digest() != g.o.Digest || dv.Verifier() == nil {
			t.Errorf("accessors: %v %v", dv.Dialect(), dv.Digest())
		}
	}
}

// The default dialect is the Verifier itself: same answers, same fields,
// same refresh and deadlines.
func TestModAuthTktDialectIsVerifier(t *testing.T) {
	o := Options{Secret: []byte("secret"), OldSecret: []byte("old"), Timeout: 2 * time.Hour, Refresh: 0.5}
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := New(Options{Secret: []byte("old")})
	dv := mustDialect(t, ModAuthTkt, o, DialectOptions{})
	good := v.Sign(nil, []byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), dlo, dts0)
	values := [][]byte{
		good, AppendBase64(nil, good), bytes.ReplaceAll(good, []byte("!"), []byte("%21")),
		[]byte(`"` + string(good) + `"`), []byte("0" + string(good[1:])), []byte("garbage"), nil,
		old.Sign(nil, []byte("bob"), nil, []byte("x"), dlo, dts0),
		v.Sign(nil, []byte("carol"), nil, nil, dlo, dts0.Add(-3*time.Hour)),
	}
	for _, val := range values {
		for _, now := range []time.Time{dts0, dts0.Add(90 * time.Minute)} {
			var a, b, c Ticket
			e1 := v.Verify(&a, val, dlo, now)
			e2 := dv.Verify(&b, val, dlo, now)
			e3 := v.verifyDialect(&c, ModAuthTkt, val, dlo, now)
			if e1 != e2 || e1 != e3 || !bytes.Equal(a.UID, b.UID) || !bytes.Equal(a.UID, c.UID) ||
				!bytes.Equal(a.Tokens, b.Tokens) || !bytes.Equal(a.Data, b.Data) || a.NeedsRefresh != b.NeedsRefresh || a.Encoding != b.Encoding {
				t.Errorf("%q: Verify %v, dialect %v / %v", val, e1, e2, e3)
			}
			if e1 == nil {
				r1 := v.AppendRefresh(nil, &a, dlo, now)
				if r2 := dv.AppendRefresh(nil, &b, dlo, now); !bytes.Equal(r1, r2) {
					t.Errorf("AppendRefresh %q != %q", r1, r2)
				}
				if r3 := v.appendRefreshDialect(nil, ModAuthTkt, &c, dlo, now); !bytes.Equal(r1, r3) {
					t.Errorf("appendRefreshDialect %q != %q", r1, r3)
				}
			}
		}
	}
	r1, x1 := v.Deadlines(dts0)
	r2, x2 := dv.Deadlines(dts0)
	if !r1.Equal(r2) || !x1.Equal(x2) {
		t.Errorf("Deadlines differ")
	}
	hdr := []byte("a=b; auth_tkt=" + string(AppendBase64(nil, good)))
	if !bytes.Equal(dv.CookieTicket(hdr, []byte("auth_tkt")), v.CookieTicket(hdr, []byte("auth_tkt"))) ||
		!bytes.Equal(ModAuthTkt.FindCookie(hdr, []byte("auth_tkt")), FindCookie(hdr, []byte("auth_tkt"))) {
		t.Error("CookieTicket differs")
	}
	if s := dv.Sign(nil, []byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), dlo, dts0); string(s) != string(AppendBase64(nil, good)) {
		t.Errorf("Sign = %q", s)
	}
}

// ---- vectors ----

// dialectVector is one entry of testdata/dialects/vectors.json (see
// vectors.py for the fields).
type dialectVector struct {
	Name             string  `json:"name"`
	Dialect          string  `json:"dialect"`
	Generator        string  `json:"generator"`
	Secret           string  `json:"secret"`
	Digest           string  `json:"digest"`
	IgnoreIP         bool    `json:"ignore_ip"`
	IP               string  `json:"ip"`
	Timeout          int64   `json:"timeout"`
	PassportPlain    bool    `json:"passport_plain"`
	PassportJSON     bool    `json:"passport_json"`
	ReissueTime      *int64  `json:"reissue_time"`
	CookieName       string  `json:"cookie_name"`
	Header           string  `json:"header"`
	Now              float64 `json:"now"`
	LibraryOK        bool    `json:"library_ok"`
	Accept           bool    `json:"accept"`
	Error            string  `json:"error"`
	UIDHex           string  `json:"uid_hex"`
	Tokens           string  `json:"tokens"`
	DataHex          string  `json:"data_hex"`
	TS               int64   `json:"ts"`
	Refresh          string  `json:"refresh"`
	RefreshTime      int64   `json:"refresh_time"`
	RefreshIdentical bool    `json:"refresh_identical"`
	Why              string  `json:"why"`
}

var dialectErrors = map[string]error{
	"ErrNoTicket":  ErrNoTicket,
	"ErrMalformed": ErrMalformed,
	"ErrBadIP":     ErrBadIP,
	"ErrBadDigest": ErrBadDigest,
	"ErrExpired":   ErrExpired,
	"ErrFuture":    ErrFuture,
}

func (vec *dialectVector) verifier(t testing.TB) *DialectVerifier {
	t.Helper()
	d, err := ParseDialect(vec.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := ParseDigest(vec.Digest)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Secret: []byte(vec.Secret), Digest: dg, IgnoreIP: vec.IgnoreIP, Timeout: time.Duration(vec.Timeout) * time.Second,
		MaxFuture: 200 * 365 * 24 * time.Hour}
	var do DialectOptions
	if d == Passport {
		do.PassportPlainUserData, do.PassportJSONUserData = vec.PassportPlain, vec.PassportJSON
		if vec.Timeout > 0 {
			o.Refresh = 1 // the Strategy refreshes on every request with a timeout
		}
	}
	if vec.ReissueTime != nil {
		do.PyramidReissue, do.PyramidReissueTime = true, time.Duration(*vec.ReissueTime)*time.Second
	}
	return mustDialect(t, d, o, do)
}

func floatTime(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9+0.5))
}

func latin1Bytes(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

func TestDialectVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dialectDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var vs []dialectVector
	if err := dec.Decode(&vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 150 {
		t.Fatalf("only %d vectors", len(vs))
	}
	counts := map[string]int{}
	for _, vec := range vs {
		t.Run(vec.Name, func(t *testing.T) {
			counts[vec.Dialect]++
			if vec.Accept != vec.LibraryOK && vec.Why == "" {
				t.Fatal("accept differs from the library's verdict without a why")
			}
			dv := vec.verifier(t)
			ip := netip.MustParseAddr(vec.IP)
			now := floatTime(vec.Now)
			header := latin1Bytes(vec.Header)
			tk, err := verifyHeader(dv, header, []byte(vec.CookieName), ip, now)
			if !vec.Accept {
				if want := dialectErrors[vec.Error]; err != want {
					t.Fatalf("Verify: %v, want %s (library: %v; %s)\nheader %q", err, vec.Error, vec.LibraryOK, vec.Why, vec.Header)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v, want acceptance\nheader %q", err, vec.Header)
			}
			uid, _ := hex.DecodeString(vec.UIDHex)
			data, _ := hex.DecodeString(vec.DataHex)
			if !bytes.Equal(tk.UID, uid) || string(tk.Tokens) != vec.Tokens || !bytes.Equal(tk.Data, data) || tk.Time.Unix() != vec.TS {
				t.Errorf("got uid %q tokens %q data %q ts %d, want %q %q %q %d", tk.UID, tk.Tokens, tk.Data, tk.Time.Unix(), uid, vec.Tokens, data, vec.TS)
			}
			if vec.Refresh != "" && !tk.NeedsRefresh {
				t.Errorf("the library refreshed, NeedsRefresh is false")
			}
			if vec.Refresh == "" && tk.NeedsRefresh && dv.Dialect() == Pyramid {
				t.Errorf("NeedsRefresh, but Pyramid did not reissue")
			}
			if vec.Refresh != "" {
				got := dv.AppendRefresh(nil, &tk, ip, time.Unix(vec.RefreshTime, 0))
				if vec.RefreshIdentical && string(got) != vec.Refresh {
					t.Errorf("AppendRefresh:\n got  %q\n want %q", got, vec.Refresh)
				}
				// Whatever it wrote verifies with the same fields.
				var again Ticket
				c := dv.CookieTicket(append([]byte(vec.CookieName+"="), got...), []byte(vec.CookieName))
				if err := dv.Verify(&again, c, ip, time.Unix(vec.RefreshTime, 0)); err != nil {
					t.Fatalf("Verify(AppendRefresh) = %v", err)
				}
				if !bytes.Equal(again.UID, tk.UID) {
					t.Errorf("refresh changed uid %q -> %q", tk.UID, again.UID)
				}
			}
		})
	}
	if counts["passport"] < 50 || counts["pyramid"] < 40 {
		t.Errorf("vector counts %v", counts)
	}
}

// ---- running the real libraries ----

// runGen feeds jobs (JSON) to a generator script in dialectDir and decodes
// its answer into out (a pointer to a slice of len(jobs) results).
func runGen(t testing.TB, ctx context.Context, env []string, jobs, out any, name string, args ...string) {
	t.Helper()
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dialectDir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("%s %s: bad output: %v\n%.2000s", name, strings.Join(args, " "), err, res)
	}
}

const python3 = "/usr/bin/python3"

// requirePyramid skips (or fails) unless /usr/bin/python3 imports pyramid.
func requirePyramid(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := os.Stat(python3); err != nil {
		e2e.SkipOrFail(t, "%s not installed", python3)
	}
	if out, err := exec.CommandContext(ctx, python3, "-c", "import pyramid.authentication, webob").CombinedOutput(); err != nil {
		e2e.SkipOrFail(t, "%s cannot import pyramid (apt-get install python3-pyramid): %v\n%s", python3, err, out)
	}
}

func liveSeed(t *testing.T) uint64 {
	seed := uint64(20240917)
	if s := os.Getenv("TKTGATE_INTEROP_SEED"); s != "" {
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("TKTGATE_INTEROP_SEED: %v", err)
		}
	}
	t.Logf("seed %d (set TKTGATE_INTEROP_SEED to replay)", seed)
	return seed
}

// ---- fuzzing ----

var dialectErrs = []error{ErrNoTicket, ErrMalformed, ErrBadIP, ErrBadDigest, ErrExpired, ErrFuture}

// FuzzDialectVerify feeds arbitrary values to both dialects: no panic,
// only documented errors, no control byte handed out, the same answer for
// a reused Ticket as for a fresh one, and an accepted ticket's refresh
// verifies with the same user id.
func FuzzDialectVerify(f *testing.F) {
	o := Options{Secret: []byte("secret"), OldSecret: []byte("old"), Timeout: time.Hour, IgnoreIP: true}
	pp := mustDialect(f, Passport, Options{Secret: o.Secret, OldSecret: o.OldSecret, Timeout: time.Hour, Refresh: 0.5, IgnoreIP: true}, DialectOptions{})
	pj := mustDialect(f, Passport, Options{Secret: o.Secret, Timeout: time.Hour}, DialectOptions{PassportJSONUserData: true})
	py := mustDialect(f, Pyramid, o, DialectOptions{PyramidReissue: true, PyramidReissueTime: time.Minute})
	py4 := mustDialect(f, Pyramid, Options{Secret: o.Secret, Digest: MD5}, DialectOptions{})
	dvs := []*DialectVerifier{pp, pj, py, py4}
	for _, dv := range dvs {
		f.Add(dv.Sign(nil, []byte("alice"), []byte("admin,editor"), []byte(`{"a":1}`), dlo, dts0), uint8(0))
	}
	f.Add([]byte(`"`+string(py.Sign(nil, []byte("ü!x"), nil, []byte("userid_type:b64unicode|a!b"), dlo, dts0))+`"`), uint8(2))
	f.Add([]byte("j:abc"), uint8(1))
	f.Add([]byte("%E2%9C%93%zz"), uint8(0))
	var reused Ticket
	f.Fuzz(func(t *testing.T, value []byte, sel uint8) {
		dv := dvs[int(sel)%len(dvs)]
		ip := []netip.Addr{dlo, netip.MustParseAddr("2001:db8::1"), {}}[int(sel>>2)%3]
		var fresh Ticket
		err := dv.Verify(&fresh, value, ip, dts0)
		err2 := dv.Verify(&reused, value, ip, dts0)
		if err != err2 || !bytes.Equal(fresh.UID, reused.UID) || !bytes.Equal(fresh.Tokens, reused.Tokens) || !bytes.Equal(fresh.Data, reused.Data) {
			t.Fatalf("fresh and reused Ticket disagree: %v/%v", err, err2)
		}
		// The cookie finders never panic either.
		_ = dv.CookieTicket(value, []byte("auth_tkt"))
		if err != nil {
			known := false
			for _, e := range dialectErrs {
				known = known || errors.Is(err, e)
			}
			if !known {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		for _, b := range [][]byte{fresh.UID, fresh.Tokens, fresh.Data} {
			if hasControl(b) {
				t.Fatalf("accepted a control byte in %q", b)
			}
		}
		ref := dv.AppendRefresh(nil, &fresh, ip, dts0)
		if len(ref) == 0 {
			return // e.g. Pyramid tokens remember() refuses
		}
		var again Ticket
		if err := dv.Verify(&again, ref, ip, dts0); err != nil {
			t.Fatalf("refresh %q of an accepted ticket is refused: %v", ref, err)
		}
		if !bytes.Equal(again.UID, fresh.UID) {
			t.Fatalf("refresh changed the uid %q -> %q", fresh.UID, again.UID)
		}
	})
}

// FuzzDialectSignVerify: whatever Sign agrees to mint in a dialect, Verify
// accepts with the same fields.
func FuzzDialectSignVerify(f *testing.F) {
	f.Add([]byte("alice"), []byte("admin,editor"), []byte("Alice Smith"), uint32(1700000000), uint8(0))
	f.Add([]byte("jürgen"), []byte(""), []byte("a!b"), uint32(0), uint8(3))
	f.Add([]byte("x"), []byte("a"), []byte(`{"2":1,"1":[1e2,"\u00e9"],"b":{}}`), uint32(1), uint8(2))
	o := Options{Secret: []byte("secret"), MaxFuture: 200 * 365 * 24 * time.Hour}
	dvs := []*DialectVerifier{
		mustDialect(f, Passport, o, DialectOptions{}),
		mustDialect(f, Passport, o, DialectOptions{PassportPlainUserData: true}),
		mustDialect(f, Passport, o, DialectOptions{PassportJSONUserData: true}),
		mustDialect(f, Pyramid, Options{Secret: o.Secret, MaxFuture: o.MaxFuture, Digest: SHA512}, DialectOptions{}),
		mustDialect(f, Pyramid, Options{Secret: o.Secret, MaxFuture: o.MaxFuture, IgnoreIP: true}, DialectOptions{}),
		mustDialect(f, ModAuthTkt, o, DialectOptions{}),
	}
	f.Fuzz(func(t *testing.T, uid, tokens, data []byte, ts uint32, sel uint8) {
		dv := dvs[int(sel)%len(dvs)]
		when := time.Unix(int64(ts), 0)
		c := dv.Sign(nil, uid, tokens, data, dlo, when)
		if len(c) == 0 {
			return
		}
		var tk Ticket
		if err := dv.Verify(&tk, c, dlo, when); err != nil {
			t.Fatalf("%v: Verify(Sign(%q, %q, %q)) = %v (%q)", dv.Dialect(), uid, tokens, data, err, c)
		}
		wantUID, wantData := uid, data
		if dv.Dialect() == Passport && dv.do.PassportJSONUserData {
			var js jsonScratch
			wantData, _ = jsonCanon(nil, data, true, &js)
		}
		if dv.Dialect() == Pyramid && bytes.Contains(data, markerPrefix) {
			return // the markers decode the uid
		}
		if !bytes.Equal(tk.UID, wantUID) || !bytes.Equal(tk.Tokens, tokens) || !bytes.Equal(tk.Data, wantData) {
			t.Fatalf("%v: %q %q %q -> %q %q %q", dv.Dialect(), uid, tokens, data, tk.UID, tk.Tokens, tk.Data)
		}
	})
}

// FuzzJSONCanon: jsonCanon never panics, its output is a fixed point (in
// either reading), and AppendJSONField copes with anything.
func FuzzJSONCanon(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,false,null],"1":"x","0":-0.0}`, `[1e21,1e-7,123456789012345680000]`, `"\ud800\udc00\ud800"`, `{"a":1,"a":2}`, `{`} {
		f.Add([]byte(s), []byte("a"))
	}
	f.Fuzz(func(t *testing.T, s, key []byte) {
		var js jsonScratch
		out, ok := jsonCanon(nil, s, false, &js)
		if ok {
			again, ok2 := jsonCanon(nil, out, true, &js)
			if !ok2 || !bytes.Equal(again, out) {
				t.Fatalf("canonical form %q is not a fixed point: %q %v", out, again, ok2)
			}
			if !utf8Valid(out) {
				t.Fatalf("invalid UTF-8 %q", out)
			}
		}
		if v, ok := AppendJSONField(nil, s, key); ok && hasControl(v) {
			t.Fatalf("AppendJSONField gave a control byte: %q", v)
		}
	})
}

func utf8Valid(b []byte) bool {
	var st utf8State
	for _, c := range b {
		if !st.feed(c) {
			return false
		}
	}
	return st.need == 0
}

// ---- benchmarks ----

func BenchmarkVerifyDialect(b *testing.B) {
	for _, c := range []struct {
		name string
		d    Dialect
		o    Options
		do   DialectOptions
		data string
	}{
		{"mod_auth_tkt", ModAuthTkt, Options{Secret: []byte("secret"), Timeout: time.Hour}, DialectOptions{}, "Alice Smith"},
		{"passport", Passport, Options{Secret: []byte("secret"), IgnoreIP: true, Timeout: time.Hour}, DialectOptions{}, "Alice Smith"},
		{"passport-json", Passport, Options{Secret: []byte("secret"), IgnoreIP: true, Timeout: time.Hour}, DialectOptions{PassportJSONUserData: true}, `{"name":"Alice Smith","id":7,"roles":["a","b"]}`},
		{"pyramid", Pyramid, Options{Secret: []byte("secret"), Digest: SHA512, IgnoreIP: true, Timeout: time.Hour}, DialectOptions{}, "userid_type:b64unicode"},
	} {
		b.Run(c.name, func(b *testing.B) {
			dv := mustDialect(b, c.d, c.o, c.do)
			uid := []byte("alice")
			if c.d == Pyramid {
				uid = []byte("YWxpY2U=")
			}
			val := dv.Sign(nil, uid, []byte("admin,editor"), []byte(c.data), dlo, dts0)
			var tk Ticket
			b.ReportAllocs()
			for b.Loop() {
				if err := dv.Verify(&tk, val, dlo, dts0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
