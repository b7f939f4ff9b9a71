package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// X-Accel-Expires must let nginx reuse a 200 exactly as long as tktgate
// would answer the same, and nothing else at all.
func TestAccelExpires(t *testing.T) {
	sign := signer(t, verifier.Options{})
	f := func(config string, age time.Duration, extra []string, wantStatus int, wantMin, wantMax int) {
		t.Helper()
		addr, _, _ := startServer(t, config)
		now := time.Now()
		ts := now.Add(-age)
		headers := append([]string{"X-Original-URL: https://app.test/p", "Cookie: auth_tkt=" + sign("alice", "admin", "", "127.0.0.1", ts)}, extra...)
		a := do(t, addr, "GET", "/auth", headers...)
		got, err := strconv.Atoi(a.header.Get("X-Accel-Expires"))
		if a.status != wantStatus || err != nil || got < wantMin || got > wantMax {
			t.Errorf("%q, ticket %v old: %d X-Accel-Expires %q; want %d and %d..%d", config, age, a.status, a.header.Get("X-Accel-Expires"), wantStatus, wantMin, wantMax)
		}
		if got == 0 && a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%q: an answer that must not be reused has Cache-Control %q", config, a.header.Get("Cache-Control"))
		}
	}
	conf := func(timeout string, refresh string, maxAge string) string {
		return "[ticket]\nsecret = \"" + testSecret + "\"\ntimeout = " + timeout + "\ntimeout_refresh = " + refresh +
			"\n[redirect]\nlogin_url = \"/login\"\n[cache]\nmax_age = " + maxAge + "\n[policy.root]\ntokens = [\"root\"]\n"
	}
	// The cap.
	f(conf(`"2h"`, "0.5", `"10s"`), 0, nil, 200, 9, 10)
	f(conf(`"0"`, "0.5", `"30s"`), 0, nil, 200, 29, 30)
	// The refresh point: 2h with 0.5 refreshes from 1h00m01s after ts,
	// 11 s after now, less the second nginx's clock may be ahead
	// (TestAccelExpiresDeadline).
	f(conf(`"2h"`, "0.5", `"1h"`), time.Hour-10*time.Second, nil, 200, 9, 10)
	// The expiry: fresh up to ts+60s inclusive, so until ts+61s.
	f(conf(`"60s"`, "0", `"1h"`), 50*time.Second, nil, 200, 9, 10)
	// Past the refresh point: a Set-Cookie, so not cacheable.
	f(conf(`"2h"`, "0.5", `"10s"`), 90*time.Minute, nil, 200, 0, 0)
	// The cap of 0 turns caching off.
	f(conf(`"2h"`, "0.5", `"0"`), 0, nil, 200, 0, 0)
	// Denials are never cacheable: expired, bad IP.
	f(conf(`"60s"`, "0", `"10s"`), 2*time.Minute, nil, 401, 0, 0)
	f(conf(`"2h"`, "0.5", `"10s"`), 0, []string{"X-Real-IP: 10.0.0.1"}, 401, 0, 0)
	// Guests neither.
	f(conf(`"2h"`, "0.5", `"10s"`)+"[guest]\nlogin = true\n", 0, []string{"X-Real-IP: 10.0.0.1"}, 200, 0, 0)

	// 403 and 500.
	addr, _, _ := startServer(t, conf(`"2h"`, "0.5", `"10s"`))
	c := "Cookie: auth_tkt=" + sign("alice", "admin", "", "127.0.0.1", time.Now())
	for path, want := range map[string]int{"/auth/root": 403, "/auth/nosuch": 500} {
		a := do(t, addr, "GET", path, c)
		if a.status != want || a.header.Get("X-Accel-Expires") != "0" {
			t.Errorf("%s: %d X-Accel-Expires %q; want %d and 0", path, a.status, a.header.Get("X-Accel-Expires"), want)
		}
	}
	// A URL ticket comes back as a cookie: not cacheable.
	raw := strings.TrimSpace(sign("uma", "", "", "127.0.0.1", time.Now()))
	a := do(t, addr, "GET", "/auth", "X-Original-URL: https://app.test/p?auth_tkt="+raw)
	if a.status != 200 || a.header.Get("Set-Cookie") == "" || a.header.Get("X-Accel-Expires") != "0" {
		t.Errorf("URL ticket: %d Set-Cookie %q X-Accel-Expires %q", a.status, a.header.Get("Set-Cookie"), a.header.Get("X-Accel-Expires"))
	}
}

// nginx keeps an entry until the end of second ngx_time()+N, its clock
// read in whole seconds when the answer arrives: now's second or, when
// now is not a whole second, possibly the next. However the seconds
// fall, the last second served must come before the deadline (the first
// second in which tktgate answers differently), and N must be no shorter
// than that requires.
func TestAccelExpiresDeadline(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	for _, frac := range []time.Duration{0, 1, 250 * time.Millisecond, time.Second - 1} {
		now := base.Add(frac)
		latest := now.Unix() // the latest second nginx may store the answer in
		if frac > 0 {
			latest++
		}
		for _, left := range []int64{-1, 0, 1, 2, 3, 10, 100} {
			deadline := time.Unix(base.Unix()+left, 0)
			want := max(0, deadline.Unix()-1-latest)
			for _, which := range []string{"refresh", "expire"} {
				var r, e time.Time
				if which == "refresh" {
					r = deadline
				} else {
					e = deadline
				}
				if n := accelExpires(now, time.Hour, r, e); n != want {
					t.Errorf("now %v, %s at %v: X-Accel-Expires %d; want %d (nginx storing in second %d would serve until the end of second %d)",
						now.Sub(base), which, deadline.Sub(base), n, want, latest, latest+n)
				}
			}
		}
	}
	// The cap alone, and with deadlines further away.
	if n := accelExpires(base.Add(time.Millisecond), 10*time.Second, time.Time{}, time.Time{}); n != 10 {
		t.Errorf("cap 10s, no deadline: %d; want 10", n)
	}
	if n := accelExpires(base, 10*time.Second, base.Add(time.Hour), base.Add(2*time.Hour)); n != 10 {
		t.Errorf("cap 10s, deadlines an hour away: %d; want 10", n)
	}
	if n := accelExpires(base, 0, time.Time{}, time.Time{}); n != 0 {
		t.Errorf("cap 0: %d; want 0", n)
	}
}
