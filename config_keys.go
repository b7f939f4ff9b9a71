package main

// The per-location keys, declared once, and what follows from them.

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tktgate/tktgate/verifier"
)

// locKey declares one per-location key: a setting Apache takes per
// <Location>, or one of a dialect's own settings. The default policy reads
// it from a global table, a policy overrides it with a flat key. locKeys is
// the only place such a key is named: decoding, the schema behind
// unknown-key errors and hints, inheritance, overrides and the dialect
// check all follow from it.
type locKey struct {
	name   string // in [policy.NAME]
	table  string // the global table: ticket, redirect or guest
	global string // the name in table, when it differs from name
	value  locValue
	// dflt sets p's default when the key is set neither in the policy nor
	// in an inherited global table. It runs once p.Dialect is known, as
	// some defaults follow the dialect (see applyDialect).
	dflt func(p *Policy)
	// dialect, for a dialect-only key, is the one dialect it is for: set
	// for another, it is refused; and a policy whose dialect differs from
	// [ticket]'s does not inherit it, but takes dflt (which a
	// dialect-only key needs).
	dialect *verifier.Dialect
}

// globalName is the key's name in its global table.
func (lk *locKey) globalName() string {
	if lk.global != "" {
		return lk.global
	}
	return lk.name
}

// locValue is how a key's value is typed, checked and stored in a Policy.
type locValue struct {
	typ   reflect.Type // the opt[T] the decoder fills
	apply func(c *compiler, k toml.Key, l leaf, p *Policy)
}

// leaf is an *opt[T] of any T.
type leaf interface{ isSet() bool }

// locKeys are the per-location keys. Their order is the order of their
// problems on one line, and of "did you mean" candidates.
var locKeys = []locKey{
	{name: "timeout", table: "ticket",
		value: durationValue(func(p *Policy) *time.Duration { return &p.Options.Timeout }, durRule{wholeSeconds: true, max: math.MaxUint32 * time.Second}),
		dflt:  func(p *Policy) { p.Options.Timeout = dialectTimeout(p.Dialect) }},
	{name: "timeout_refresh", table: "ticket",
		value: typed(func(c *compiler, k toml.Key, o *opt[float64], p *Policy) {
			if v, ok := get(c, k, o); ok {
				if !(v >= 0 && v <= 1) {
					c.problem(k, "%v is not within 0..1", v)
				} else {
					p.Options.Refresh = v
				}
			}
		}),
		dflt: func(p *Policy) { p.Options.Refresh = dialectRefresh(p.Dialect) }},
	{name: "ignore_ip", table: "ticket",
		value: boolValue(func(p *Policy) *bool { return &p.Options.IgnoreIP }),
		dflt:  func(p *Policy) { p.Options.IgnoreIP = p.Dialect.DefaultIgnoreIP() }},
	{name: "cookie_name", table: "ticket",
		value: stringValue(func(p *Policy) *string { return &p.CookieName }, checkCookieName),
		dflt:  func(p *Policy) { p.CookieName = p.Dialect.CookieName() }},
	{name: "domain", table: "ticket",
		value: stringValue(func(p *Policy) *string { return &p.Domain }, checkDomain)},
	{name: "cookie_secure", table: "ticket",
		value: boolValue(func(p *Policy) *bool { return &p.CookieSecure })},
	{name: "cookie_expires", table: "ticket",
		value: durationValue(func(p *Policy) *time.Duration { return &p.CookieExpires }, durRule{wholeSeconds: true, emptyIsZero: true})},
	{name: "dialect", table: "ticket",
		value: typed(func(c *compiler, k toml.Key, o *opt[string], p *Policy) {
			if v, ok := get(c, k, o); ok {
				if d, err := verifier.ParseDialect(v); err != nil {
					c.problem(k, "%v", err)
				} else {
					p.Dialect = d
				}
			}
		})},
	// A policy may sign with another digest than [ticket]'s, as a
	// <VirtualHost> may have its own TKTAuthDigestType. Set nowhere, each
	// policy takes its own dialect's default (Pyramid's hashalg is SHA512).
	{name: "digest_type", table: "ticket",
		value: typed(func(c *compiler, k toml.Key, o *opt[string], p *Policy) {
			if v, ok := get(c, k, o); ok {
				if d, err := verifier.ParseDigest(v); err != nil {
					c.problem(k, "unknown digest %q (want MD5, SHA256 or SHA512)", v)
				} else {
					p.Options.Digest = d
				}
			}
		}),
		dflt: func(p *Policy) { p.Options.Digest = p.Dialect.DefaultDigest() }},
	{name: "login_url", table: "redirect",
		value: urlValue(func(p *Policy) *string { return &p.LoginURL })},
	{name: "timeout_url", table: "redirect",
		value: urlValue(func(p *Policy) *string { return &p.TimeoutURL })},
	{name: "post_timeout_url", table: "redirect",
		value: urlValue(func(p *Policy) *string { return &p.PostTimeoutURL })},
	{name: "unauth_url", table: "redirect",
		value: urlValue(func(p *Policy) *string { return &p.UnauthURL })},
	{name: "back_arg_name", table: "redirect",
		value: typed(func(c *compiler, k toml.Key, o *opt[string], p *Policy) {
			if v, ok := get(c, k, o); ok {
				if v == "None" {
					p.BackArgName = "" // as TKTAuthBackArgName None
				} else if err := checkBackArgName(v); err != nil {
					c.problem(k, "%v", err)
				} else {
					p.BackArgName = v
				}
			}
		}),
		dflt: func(p *Policy) { p.BackArgName = defaultBackArgName }},
	{name: "back_cookie_name", table: "redirect",
		value: stringValue(func(p *Policy) *string { return &p.BackCookieName }, func(s string) error {
			if s == "" {
				return nil
			}
			return checkCookieName(s)
		})},
	{name: "guest_login", table: "guest", global: "login",
		value: boolValue(func(p *Policy) *bool { return &p.GuestLogin })},
	{name: "guest_user", table: "guest", global: "user",
		value: stringValue(func(p *Policy) *string { return &p.GuestUser }, checkGuestUser),
		dflt:  func(p *Policy) { p.GuestUser = defaultGuestUser }},
	// TKTAuthGuestEmpty: guests have an empty user name, whatever
	// guest_user says.
	{name: "guest_empty", table: "guest", global: "empty",
		value: boolValue(func(p *Policy) *bool { return &p.GuestEmpty })},
	{name: "guest_fallback", table: "guest", global: "fallback",
		value: boolValue(func(p *Policy) *bool { return &p.GuestFallback })},
	{name: "guest_cookie", table: "guest", global: "cookie",
		value: boolValue(func(p *Policy) *bool { return &p.GuestCookie })},

	// The dialect-only keys, read once the dialect is known.
	{name: "reissue_time", table: "ticket", dialect: new(verifier.Pyramid),
		value: typed(func(c *compiler, k toml.Key, o *opt[duration], p *Policy) {
			var r time.Duration
			if setDuration(c, k, o, &r, durRule{wholeSeconds: true, max: math.MaxUint32 * time.Second}) {
				p.DialectOptions.PyramidReissue = true
				p.DialectOptions.PyramidReissueTime = r
			}
		}),
		dflt: func(p *Policy) { p.DialectOptions.PyramidReissue, p.DialectOptions.PyramidReissueTime = false, 0 }},
	{name: "passport_encode_user_data", table: "ticket", dialect: new(verifier.Passport),
		value: typed(func(c *compiler, k toml.Key, o *opt[bool], p *Policy) {
			if v, ok := get(c, k, o); ok {
				p.DialectOptions.PassportPlainUserData = !v
			}
		}),
		dflt: func(p *Policy) { p.DialectOptions.PassportPlainUserData = false }},
	{name: "passport_json_user_data", table: "ticket", dialect: new(verifier.Passport),
		value: boolValue(func(p *Policy) *bool { return &p.DialectOptions.PassportJSONUserData }),
		dflt:  func(p *Policy) { p.DialectOptions.PassportJSONUserData = false }},
	// No mod_auth_tkt equivalent: after a URL ticket, send the browser to
	// the same page without it (README, "URL tickets").
	{name: "url_ticket_redirect", table: "ticket", dialect: new(verifier.ModAuthTkt),
		value: boolValue(func(p *Policy) *bool { return &p.URLTicketRedirect }),
		dflt:  func(p *Policy) { p.URLTicketRedirect = false }},
	{name: "user_data_headers", table: "ticket", dialect: new(verifier.Passport),
		value: typed(func(c *compiler, k toml.Key, o *opt[map[string]string], p *Policy) {
			if v, ok := get(c, k, o); ok {
				if hs, err := parseUserDataHeaders(v); err != nil {
					c.problem(k, "%v", err)
				} else {
					p.UserDataHeaders = hs
				}
			}
		}),
		dflt: func(p *Policy) { p.UserDataHeaders = nil }},
}

// typed makes a locValue of an apply that reads an opt[T].
func typed[T any](apply func(c *compiler, k toml.Key, o *opt[T], p *Policy)) locValue {
	return locValue{
		typ:   reflect.TypeFor[opt[T]](),
		apply: func(c *compiler, k toml.Key, l leaf, p *Policy) { apply(c, k, l.(*opt[T]), p) },
	}
}

func stringValue(field func(*Policy) *string, check func(string) error) locValue {
	return typed(func(c *compiler, k toml.Key, o *opt[string], p *Policy) { setString(c, k, o, field(p), check) })
}

// urlValue is a redirect URL, as parseRedirectURL reads it.
func urlValue(field func(*Policy) *string) locValue {
	return typed(func(c *compiler, k toml.Key, o *opt[string], p *Policy) {
		if v, ok := get(c, k, o); ok {
			if u, err := parseRedirectURL(v); err != nil {
				c.problem(k, "%v", err)
			} else {
				*field(p) = u
			}
		}
	})
}

func boolValue(field func(*Policy) *bool) locValue {
	return typed(func(c *compiler, k toml.Key, o *opt[bool], p *Policy) { setBool(c, k, o, field(p)) })
}

func durationValue(field func(*Policy) *time.Duration, r durRule) locValue {
	return typed(func(c *compiler, k toml.Key, o *opt[duration], p *Policy) { setDuration(c, k, o, field(p), r) })
}

// locIndex is the index in locKeys of the key named name in a policy.
func locIndex(name string) int {
	for i := range locKeys {
		if locKeys[i].name == name {
			return i
		}
	}
	panic("no per-location key " + name)
}

// The keys applyDialect checks by name.
var (
	locDialect        = locIndex("dialect")
	locDigestType     = locIndex("digest_type")
	locTimeoutRefresh = locIndex("timeout_refresh")
	locGuestCookie    = locIndex("guest_cookie")
	locJSONUserData   = locIndex("passport_json_user_data")
	locUserDataHeader = locIndex("user_data_headers")
)

// rawLoc holds the per-location values of one scope, aligned with locKeys;
// a key not written is an unset opt.
type rawLoc []leaf

func newRawLoc() rawLoc {
	l := make(rawLoc, len(locKeys))
	for i := range locKeys {
		l[i] = reflect.New(locKeys[i].value.typ).Interface().(leaf)
	}
	return l
}

// locStruct is a struct type, made from locKeys, that the TOML decoder fills
// with the per-location keys of one table: decoding into a struct keeps the
// decoder's case-insensitive matching and its list of undecoded (unknown)
// keys. index maps its fields to locKeys.
type locStruct struct {
	typ   reflect.Type
	index []int
}

// locStructs are the locStructs of the global tables and of "policy".
var locStructs = map[string]locStruct{
	"ticket":   makeLocStruct("ticket"),
	"redirect": makeLocStruct("redirect"),
	"guest":    makeLocStruct("guest"),
	"policy":   makeLocStruct("policy"),
}

func makeLocStruct(table string) locStruct {
	var s locStruct
	var fields []reflect.StructField
	for i := range locKeys {
		lk := &locKeys[i]
		name := lk.name
		if table != "policy" {
			if lk.table != table {
				continue
			}
			name = lk.globalName()
		}
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("K%d", i),
			Type: lk.value.typ,
			Tag:  reflect.StructTag(`toml:"` + name + `"`),
		})
		s.index = append(s.index, i)
	}
	s.typ = reflect.StructOf(fields)
	return s
}

// decodeLoc decodes the per-location keys of the table at k (a global
// table, or "policy" for a policy) into l.
func (c *compiler) decodeLoc(k toml.Key, p toml.Primitive, table string, l rawLoc) bool {
	s := locStructs[table]
	v := reflect.New(s.typ)
	if !c.decode(k, p, v.Interface()) {
		return false
	}
	for f, i := range s.index {
		l[i] = v.Elem().Field(f).Addr().Interface().(leaf)
	}
	return true
}

// scope is where a policy's settings are read from: [ticket], [redirect]
// and [guest] for the default policy, [policy.NAME] for the others.
type scope struct {
	loc    rawLoc
	policy string // "" for the global tables
}

// key is the full key of locKeys[i] in s.
func (s *scope) key(i int) toml.Key {
	lk := &locKeys[i]
	if s.policy == "" {
		return key(lk.table, lk.globalName())
	}
	return key("policy", s.policy, lk.name)
}

// applyLoc overrides p's per-location settings with those set in s; the
// dialect-only keys wait for p's dialect (applyDialectOnly).
func (c *compiler) applyLoc(p *Policy, s *scope) {
	for i := range locKeys {
		if locKeys[i].dialect == nil {
			locKeys[i].value.apply(c, s.key(i), s.loc[i], p)
		}
	}
}

// applyDefaults gives p the defaults of the keys set neither in own nor in
// global, once p's dialect is known. A policy that switched to another
// dialect than [ticket]'s does not inherit [ticket]'s dialect-only keys.
func applyDefaults(p *Policy, own, global *scope, switched bool) {
	for i := range locKeys {
		lk := &locKeys[i]
		inherited := global.loc[i].isSet() && !(switched && lk.dialect != nil)
		if lk.dflt != nil && !own.loc[i].isSet() && !inherited {
			lk.dflt(p)
		}
	}
}

// applyDialectOnly reads the dialect-only keys of s into p, refusing those
// that are not for p's dialect.
func (c *compiler) applyDialectOnly(p *Policy, s *scope) {
	for i := range locKeys {
		lk := &locKeys[i]
		if lk.dialect == nil || !s.loc[i].isSet() {
			continue
		}
		if *lk.dialect != p.Dialect {
			c.problem(s.key(i), "only for dialect %q, and the dialect here is %q", *lk.dialect, p.Dialect)
			continue
		}
		lk.value.apply(c, s.key(i), s.loc[i], p)
	}
}
