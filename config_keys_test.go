package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tktgate/tktgate/verifier"
)

// locSamples are valid values, other than the defaults, of the
// per-location keys: one per entry of locKeys.
var locSamples = map[string]string{
	"timeout":          `"3h"`,
	"timeout_refresh":  `0.25`,
	"ignore_ip":        `true`,
	"cookie_name":      `"c"`,
	"domain":           `"example.org"`,
	"cookie_secure":    `true`,
	"cookie_expires":   `"1h"`,
	"dialect":          `"pyramid"`,
	"digest_type":      `"SHA256"`,
	"login_url":        `"/login"`,
	"timeout_url":      `"/timeout"`,
	"post_timeout_url": `"/post-timeout"`,
	"unauth_url":       `"/unauth"`,
	"back_arg_name":    `"ret"`,
	"back_cookie_name": `"bc"`,
	"guest_login":      `true`,
	"guest_user":       `"visitor"`,
	"guest_empty":      `true`,
	"guest_fallback":   `true`,
	"guest_cookie":     `true`,

	"reissue_time":              `"1m"`,
	"passport_encode_user_data": `false`,
	"passport_json_user_data":   `true`,
	"user_data_headers":         `{ X-A = "a" }`,
	"url_ticket_redirect":       `true`,
}

// locNeeds is what [ticket] must also hold for a sample to be valid.
var locNeeds = map[string]string{
	"user_data_headers": "passport_json_user_data = true\n",
}

// dialects are the dialects, for the dialect-only keys.
var dialects = []verifier.Dialect{verifier.ModAuthTkt, verifier.Passport, verifier.Pyramid}

// TestLocKeysDriveEverything: every key declared in locKeys, and nothing
// else, is read from its global table, inherited by a policy, overridden
// by a policy, located by line, and suggested for a misspelling, in both
// places; a dialect-only key is so in its dialect, is not inherited by a
// policy of another dialect, and is refused for another dialect. A key
// missing from any derived behaviour fails here.
func TestLocKeysDriveEverything(t *testing.T) {
	if len(locSamples) != len(locKeys) {
		t.Errorf("%d samples for %d per-location keys", len(locSamples), len(locKeys))
	}
	for _, lk := range locKeys {
		t.Run(lk.name, func(t *testing.T) {
			v, ok := locSamples[lk.name]
			if !ok {
				t.Fatalf("no sample value for %s in locSamples", lk.name)
			}
			g := lk.globalName()
			ticket := locTicket(&lk)
			// in writes name = v in table, after ticket.
			in := func(table, name, v string) string {
				if table == "ticket" {
					return ticket + name + " = " + v + "\n"
				}
				return ticket + "[" + table + "]\n" + name + " = " + v + "\n"
			}
			base := parse(t, ticket+"[policy.a]\n")

			// Set globally: the default policy changes, a policy inherits it.
			global := parse(t, in(lk.table, g, v)+"[policy.a]\n")
			if reflect.DeepEqual(strip(global.Default), strip(base.Default)) {
				t.Errorf("%s.%s = %s changes nothing", lk.table, g, v)
			}
			if !reflect.DeepEqual(strip(global.Policies["a"]), strip(global.Default)) {
				t.Errorf("policy.a does not inherit %s.%s", lk.table, g)
			}

			// Set in a policy: that policy alone changes, as if set globally.
			own := parse(t, ticket+"[policy.a]\n[policy.b]\n"+lk.name+" = "+v+"\n")
			if !reflect.DeepEqual(strip(own.Policies["b"]), strip(global.Policies["a"])) {
				t.Errorf("policy.b.%s = %s does not override as %s.%s does", lk.name, v, lk.table, g)
			}
			if !reflect.DeepEqual(strip(own.Policies["a"]), strip(base.Policies["a"])) ||
				!reflect.DeepEqual(strip(own.Default), strip(base.Default)) {
				t.Errorf("policy.b.%s changes another policy", lk.name)
			}

			// A value of the wrong type is blamed on the key and its line.
			for _, c := range []struct{ conf, key string }{
				{in(lk.table, g, "[1]"), lk.table + "." + g},
				{ticket + "[policy.a]\n" + lk.name + " = [1]\n", "policy.a." + lk.name},
			} {
				ps := problems(t, c.conf)
				line := strings.Count(c.conf, "\n")
				if len(ps) != 1 || ps[0].Key != c.key || ps[0].Line != line || !strings.HasPrefix(ps[0].Msg, "want ") {
					t.Errorf("%q: problems %+v, want one \"want ...\" for %s on line %d", c.conf, ps, c.key, line)
				}
			}

			// A misspelling is unknown, with a hint naming the key.
			for _, c := range []struct{ table, name, key string }{
				{lk.table, g, lk.table + "." + misspell(g)},
				{"policy.a", lk.name, "policy.a." + misspell(lk.name)},
			} {
				conf := in(c.table, misspell(c.name), v)
				want := fmt.Sprintf("unknown key (did you mean %s?)", c.name)
				ps := problems(t, conf)
				if len(ps) != 1 || ps[0].Key != c.key || ps[0].Msg != want {
					t.Errorf("%q: problems %+v, want %s: %s", conf, ps, c.key, want)
				}
			}

			if lk.dialect != nil {
				checkDialectOnly(t, lk, ticket, in(lk.table, g, v), v)
			}
		})
	}
}

// checkDialectOnly checks what follows for the dialect-only key lk, set to
// v in global (which is ticket and the key): a policy keeping [ticket]'s
// dialect inherits it, a policy of another dialect does not, and it is
// refused for another dialect, in [ticket] and in a policy.
func checkDialectOnly(t *testing.T, lk locKey, ticket, global, v string) {
	t.Helper()
	d := *lk.dialect
	same := parse(t, global+fmt.Sprintf("[policy.a]\ndialect = %q\n", d))
	if !reflect.DeepEqual(strip(same.Policies["a"]), strip(same.Default)) {
		t.Errorf("a policy with dialect %q does not inherit ticket.%s", d, lk.name)
	}
	for _, o := range dialects {
		if o == d {
			continue
		}
		pol := fmt.Sprintf("[policy.a]\ndialect = %q\n", o)
		got, want := parse(t, global+pol), parse(t, ticket+pol)
		if !reflect.DeepEqual(strip(got.Policies["a"]), strip(want.Policies["a"])) {
			t.Errorf("a policy with dialect %q inherits ticket.%s", o, lk.name)
		}
		msg := fmt.Sprintf("only for dialect %q, and the dialect here is %q", d, o)
		for _, c := range []struct{ conf, key string }{
			{sec + fmt.Sprintf("dialect = %q\n", o) + lk.name + " = " + v + "\n", "ticket." + lk.name},
			{sec + pol + lk.name + " = " + v + "\n", "policy.a." + lk.name},
			{ticket + pol + lk.name + " = " + v + "\n", "policy.a." + lk.name},
		} {
			ps := problems(t, c.conf)
			line := strings.Count(c.conf, "\n")
			if len(ps) != 1 || ps[0].Key != c.key || ps[0].Line != line || ps[0].Msg != msg {
				t.Errorf("%q: problems %+v, want %s: %s on line %d", c.conf, ps, c.key, msg, line)
			}
		}
	}
}

// strip leaves what a policy's settings are, not which policy it is.
func strip(p *Policy) Policy {
	q := *p
	q.Name, q.Verifier = "", nil
	return q
}

// locTicket is the minimal [ticket] for lk's sample: in the key's dialect
// for a dialect-only key, with what the sample needs.
func locTicket(lk *locKey) string {
	ticket := sec
	if lk.dialect != nil {
		ticket += fmt.Sprintf("dialect = %q\n", *lk.dialect)
	}
	return ticket + locNeeds[lk.name]
}

// misspell drops the middle byte of s.
func misspell(s string) string { return s[:len(s)/2] + s[len(s)/2+1:] }
