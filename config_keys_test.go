package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
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
	"login_url":        `"/login"`,
	"timeout_url":      `"/timeout"`,
	"post_timeout_url": `"/post-timeout"`,
	"unauth_url":       `"/unauth"`,
	"back_arg_name":    `"ret"`,
	"back_cookie_name": `"bc"`,
	"guest_login":      `true`,
	"guest_user":       `"visitor"`,
	"guest_fallback":   `true`,
	"guest_cookie":     `true`,
}

// TestLocKeysDriveEverything: every key declared in locKeys, and nothing
// else, is read from its global table, inherited by a policy, overridden
// by a policy, located by line, and suggested for a misspelling, in both
// places. A key missing from any derived behaviour fails here.
func TestLocKeysDriveEverything(t *testing.T) {
	if len(locSamples) != len(locKeys) {
		t.Errorf("%d samples for %d per-location keys", len(locSamples), len(locKeys))
	}
	// strip leaves what a policy's settings are, not which policy it is.
	strip := func(p *Policy) Policy {
		q := *p
		q.Name, q.Verifier = "", nil
		return q
	}
	// in writes name = v in table, after the minimal [ticket].
	in := func(table, name, v string) string {
		if table == "ticket" {
			return sec + name + " = " + v + "\n"
		}
		return sec + "[" + table + "]\n" + name + " = " + v + "\n"
	}
	base := parse(t, sec+"[policy.a]\n")
	for _, lk := range locKeys {
		t.Run(lk.name, func(t *testing.T) {
			v, ok := locSamples[lk.name]
			if !ok {
				t.Fatalf("no sample value for %s in locSamples", lk.name)
			}
			g := lk.globalName()

			// Set globally: the default policy changes, a policy inherits it.
			global := parse(t, in(lk.table, g, v)+"[policy.a]\n")
			if reflect.DeepEqual(strip(global.Default), strip(base.Default)) {
				t.Errorf("%s.%s = %s changes nothing", lk.table, g, v)
			}
			if !reflect.DeepEqual(strip(global.Policies["a"]), strip(global.Default)) {
				t.Errorf("policy.a does not inherit %s.%s", lk.table, g)
			}

			// Set in a policy: that policy alone changes, as if set globally.
			own := parse(t, sec+"[policy.a]\n[policy.b]\n"+lk.name+" = "+v+"\n")
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
				{sec + "[policy.a]\n" + lk.name + " = [1]\n", "policy.a." + lk.name},
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
		})
	}
}

// misspell drops the middle byte of s.
func misspell(s string) string { return s[:len(s)/2] + s[len(s)/2+1:] }
