package main

// Raw values as decoded, their types, and the typed setters.

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Raw, undecided values: every leaf is an opt so that a value of the wrong
// type is recorded instead of stopping the decoder, and every problem in the
// file can be reported at once. The toml tags are the documented spellings.

type rawFile struct {
	Listen        opt[string]    `toml:"listen"`
	LogLevel      opt[string]    `toml:"log_level"`
	SocketMode    opt[string]    `toml:"socket_mode"`
	MetricsListen opt[string]    `toml:"metrics_listen"`
	Watch         opt[bool]      `toml:"watch"`
	WatchInterval opt[duration]  `toml:"watch_interval"`
	LogRequests   opt[string]    `toml:"log_requests"`
	CPUScheduling opt[string]    `toml:"cpu_scheduling"`
	Ticket        toml.Primitive `toml:"ticket"`
	ClientIP      toml.Primitive `toml:"client_ip"`
	Redirect      toml.Primitive `toml:"redirect"`
	Guest         toml.Primitive `toml:"guest"`
	Limits        toml.Primitive `toml:"limits"`
	Cache         toml.Primitive `toml:"cache"`
	Revocation    toml.Primitive `toml:"revocation"`
	Policy        toml.Primitive `toml:"policy"`
}

// rawTicket holds the secrets and the global-only keys of [ticket]; its
// per-location and dialect-only keys are declared in locKeys.
type rawTicket struct {
	rawSecrets
	MaxFuture opt[duration] `toml:"max_future"`
}

// rawClientIP is [client_ip]: where client addresses come from.
type rawClientIP struct {
	Header         opt[string]   `toml:"header"`
	TrustedProxies opt[[]string] `toml:"trusted_proxies"`
}

// rawLimits is [limits], read by compileLimits.
type rawLimits struct {
	ReadBufferSize  opt[int64]    `toml:"read_buffer_size"`
	ReadTimeout     opt[duration] `toml:"read_timeout"`
	WriteTimeout    opt[duration] `toml:"write_timeout"`
	IdleTimeout     opt[duration] `toml:"idle_timeout"`
	MaxConns        opt[int64]    `toml:"max_conns"`
	ShutdownTimeout opt[duration] `toml:"shutdown_timeout"`
}

// rawCache is [cache].
type rawCache struct {
	MaxAge opt[duration] `toml:"max_age"`
}

// rawPolicy is a [policy.NAME] table: its secrets (a site's own, as
// TKTAuthSecret in a <VirtualHost>), its tokens; its per-location keys
// are in loc.
type rawPolicy struct {
	rawSecrets
	Tokens opt[[]string] `toml:"tokens"`
	name   string
	loc    rawLoc
}

// rawSections are the tables of the file, decoded.
type rawSections struct {
	ticket   rawTicket
	clientIP rawClientIP
	limits   rawLimits
	cache    rawCache
	revoke   rawRevocation
	global   rawLoc // the per-location keys of [ticket], [redirect] and [guest]
	policies []*rawPolicy
}

// decode decodes the tables of raw that are tables, and the policies in
// name order. loc marks the global tables with per-location keys.
func (r *rawSections) decode(c *compiler, raw *rawFile) {
	r.global = newRawLoc()
	var pols map[string]toml.Primitive
	for _, s := range []struct {
		name string
		prim toml.Primitive
		dst  any
		loc  bool
	}{
		{"ticket", raw.Ticket, &r.ticket, true},
		{"client_ip", raw.ClientIP, &r.clientIP, false},
		{"redirect", raw.Redirect, nil, true},
		{"guest", raw.Guest, nil, true},
		{"limits", raw.Limits, &r.limits, false},
		{"cache", raw.Cache, &r.cache, false},
		{"revocation", raw.Revocation, &r.revoke, false},
		{"policy", raw.Policy, &pols, false},
	} {
		k := key(s.name)
		if !c.isTable(k) || s.dst != nil && !c.decode(k, s.prim, s.dst) {
			continue
		}
		if s.loc {
			c.decodeLoc(k, s.prim, s.name, r.global)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(pols)) {
		rp := &rawPolicy{name: name, loc: newRawLoc()}
		if k := key("policy", name); c.isTable(k) && c.decode(k, pols[name], rp) && c.decodeLoc(k, pols[name], "policy", rp.loc) {
			r.policies = append(r.policies, rp)
		}
	}
}

func key(parts ...string) toml.Key { return toml.Key(parts) }

// duration is a TOML integer (seconds) or string, parsed by parseDuration.
type duration struct {
	text  string
	secs  int64
	isInt bool
}

// opt is one leaf value of the file. UnmarshalTOML never fails: a value of
// the wrong type is remembered in wrong and reported with its key later.
type opt[T any] struct {
	Set   bool
	Val   T
	wrong string // the TOML type found, when it does not fit T
}

func (o *opt[T]) UnmarshalTOML(v any) error {
	o.Set = true
	ok := false
	switch p := any(&o.Val).(type) {
	case *string:
		*p, ok = v.(string)
	case *bool:
		*p, ok = v.(bool)
	case *int64:
		*p, ok = v.(int64)
	case *float64:
		switch x := v.(type) {
		case float64:
			*p, ok = x, true
		case int64:
			*p, ok = float64(x), true
		}
	case *[]string:
		if arr, isArr := v.([]any); isArr {
			ok = true
			*p = make([]string, 0, len(arr))
			for _, e := range arr {
				s, isStr := e.(string)
				if !isStr {
					ok = false
					break
				}
				*p = append(*p, s)
			}
		}
	case *duration:
		switch x := v.(type) {
		case string:
			*p, ok = duration{text: x}, true
		case int64:
			*p, ok = duration{secs: x, isInt: true}, true
		}
	case *map[string]string:
		if tbl, isTbl := v.(map[string]any); isTbl {
			ok = true
			*p = make(map[string]string, len(tbl))
			for _, k := range slices.Sorted(maps.Keys(tbl)) {
				s, isStr := tbl[k].(string)
				if !isStr {
					o.wrong = fmt.Sprintf("a table whose %q is %s", k, tomlTypeName(tbl[k]))
					return nil
				}
				(*p)[k] = s
			}
		}
	}
	if !ok {
		o.wrong = tomlTypeName(v)
	}
	return nil
}

func (o *opt[T]) isSet() bool { return o.Set }

func (o *opt[T]) want() string {
	switch any(o.Val).(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean (true or false)"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case []string:
		return "an array of strings"
	case duration:
		return `an integer number of seconds or a duration string such as "2h"`
	case map[string]string:
		return `a table of strings such as { "X-Remote-User-Email" = "email" }`
	}
	return "another type"
}

func tomlTypeName(v any) string {
	switch x := v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case []any:
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return "an array holding " + tomlTypeName(e)
			}
		}
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return "a date/time"
}

// ---- typed values ----

// get returns o's value, or false when unset or of the wrong type (which
// is reported).
func get[T any](c *compiler, k toml.Key, o *opt[T]) (T, bool) {
	if !o.Set {
		var zero T
		return zero, false
	}
	if o.wrong != "" {
		c.problem(k, "want %s, not %s", o.want(), o.wrong)
		var zero T
		return zero, false
	}
	return o.Val, true
}

func setString(c *compiler, k toml.Key, o *opt[string], dst *string, check func(string) error) {
	if v, ok := get(c, k, o); ok {
		if err := check(v); err != nil {
			c.problem(k, "%v", err)
			return
		}
		*dst = v
	}
}

func setBool(c *compiler, k toml.Key, o *opt[bool], dst *bool) {
	if v, ok := get(c, k, o); ok {
		*dst = v
	}
}

type durRule struct {
	wholeSeconds bool // a ticket or cookie time: mod_auth_tkt counts seconds
	emptyIsZero  bool // "" means unset (cookie_expires = "")
	max          time.Duration
}

func setDuration(c *compiler, k toml.Key, o *opt[duration], dst *time.Duration, r durRule) bool {
	v, ok := get(c, k, o)
	if !ok {
		return false
	}
	var d time.Duration
	switch {
	case v.isInt && v.secs < 0:
		c.problem(k, "negative duration %d", v.secs)
		return false
	case v.isInt && v.secs > math.MaxInt64/int64(time.Second):
		c.problem(k, "duration %d s is too long", v.secs)
		return false
	case v.isInt:
		d = time.Duration(v.secs) * time.Second
	case strings.TrimSpace(v.text) == "" && r.emptyIsZero:
		d = 0
	default:
		var err error
		if d, err = parseDuration(v.text); err != nil {
			c.problem(k, "%v", err)
			return false
		}
	}
	if r.wholeSeconds && d%time.Second != 0 {
		c.problem(k, "%v is not a whole number of seconds", d)
		return false
	}
	if r.max > 0 && d > r.max {
		c.problem(k, "%v is too long (at most %v)", d, r.max)
		return false
	}
	*dst = d
	return true
}

// durationUnits are Go's duration units plus mod_auth_tkt's (TKTAuthTimeout):
// d, w, M (30 days) and y (365 days). Units are case-sensitive: M is a
// month, m a minute.
var durationUnits = map[string]int64{
	"ns": 1,
	"us": int64(time.Microsecond), "µs": int64(time.Microsecond), "μs": int64(time.Microsecond),
	"ms": int64(time.Millisecond),
	"s":  int64(time.Second),
	"m":  int64(time.Minute),
	"h":  int64(time.Hour),
	"d":  int64(24 * time.Hour),
	"w":  int64(7 * 24 * time.Hour),
	"M":  int64(30 * 24 * time.Hour),
	"y":  int64(365 * 24 * time.Hour),
}

// parseDuration reads the duration forms people write in mod_auth_tkt and
// Go: "7200" (seconds), "90m", "1h30m", "1.5h", "2w", "1M", and several
// space-separated parts that add up, like TKTAuthTimeout's arguments
// ("1d 12h"). A part without a unit is in seconds.
func parseDuration(s string) (time.Duration, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, errors.New("empty duration")
	}
	if strings.HasPrefix(fields[0], "-") {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	total := new(big.Rat)
	for _, f := range fields {
		first := true
		for rest := f; rest != ""; first = false {
			i := 0
			for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
				i++
			}
			num := rest[:i]
			if num == "" || num == "." || strings.Count(num, ".") > 1 {
				return 0, fmt.Errorf("invalid duration %q (want seconds, or numbers with units s, m, h, d, w, M, y as in \"1h30m\" or \"1d 12h\")", s)
			}
			rest = rest[i:]
			j := 0
			for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
				j++
			}
			unit := rest[:j]
			rest = rest[j:]
			var mult int64
			if unit == "" {
				if !first {
					return 0, fmt.Errorf("invalid duration %q: missing unit after %s", s, num)
				}
				mult = int64(time.Second)
			} else if mult = durationUnits[unit]; mult == 0 {
				return 0, fmt.Errorf("invalid duration %q: unknown unit %q (want s, m, h, d, w, M or y)", s, unit)
			}
			r, ok := new(big.Rat).SetString(num)
			if !ok {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			total.Add(total, r.Mul(r, new(big.Rat).SetInt64(mult)))
		}
	}
	ns := new(big.Int).Quo(total.Num(), total.Denom())
	if !ns.IsInt64() {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return time.Duration(ns.Int64()), nil
}
