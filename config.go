package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/tktgate/tktgate/verifier"
)

// Config is a loaded, validated configuration: the server uses it as is.
type Config struct {
	Path          string
	Listen        string // "host:port" or "unix:/path"
	LogLevel      slog.Level
	SocketMode    os.FileMode // permissions of a unix listen socket
	MetricsListen string      // separate listener for /metrics; "" = the main one
	Limits        Limits
	ClientIP      ClientIP
	Cache         Cache
	Default       *Policy            // served at /auth
	Policies      map[string]*Policy // served at /auth/NAME
}

// Limits bound what one connection may cost.
type Limits struct {
	ReadBufferSize  int // bytes; also the largest request header accepted
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	MaxConns        int
	ShutdownTimeout time.Duration
}

// ClientIP says where the client address comes from.
type ClientIP struct {
	Header  string // "X-Real-IP", "X-Forwarded-For", or "" to ignore headers
	Trusted []netip.Prefix
}

// Cache configures answer caching by nginx (X-Accel-Expires).
type Cache struct {
	MaxAge time.Duration // 0 = off
}

// Policy is what one auth endpoint checks: the settings that Apache sets
// per <Location>, plus the global ticket settings.
type Policy struct {
	Name           string // "" for the default policy
	Dialect        verifier.Dialect
	Options        verifier.Options
	DialectOptions verifier.DialectOptions
	Verifier       *verifier.DialectVerifier
	CookieName     string
	Domain         string
	CookieSecure   bool
	CookieExpires  time.Duration // 0 = session cookie
	Tokens         [][]byte      // any one of them grants access; empty = no requirement
	LoginURL       string
	TimeoutURL     string
	PostTimeoutURL string
	UnauthURL      string
	BackArgName    string // "" = no back argument
	BackCookieName string
	GuestLogin     bool
	GuestUser      string // may contain %U or %NU
	GuestFallback  bool
	GuestCookie    bool
	// UserDataHeaders copy fields of JSON user data (passport dialect
	// with passport_json_user_data) into response headers.
	UserDataHeaders []UserDataHeader
}

// UserDataHeader is one entry of user_data_headers.
type UserDataHeader struct {
	Header string // canonical form, e.g. "X-Remote-User-Email"
	Field  string // top-level member of the JSON user data
}

// Defaults of the keys that have one.
const (
	defaultListen         = "127.0.0.1:9180"
	defaultSocketMode     = 0o660
	defaultReadBufferSize = 32 << 10 // nginx sends up to 4 x 8 KB of headers
	defaultMaxConns       = 10000
	defaultTimeout        = 2 * time.Hour // mod_auth_tkt's; see dialectTimeout
	defaultRefresh        = 0.5           // mod_auth_tkt's; see dialectRefresh
	defaultMaxFuture      = 5 * time.Minute
	defaultBackArgName    = "back"
	defaultGuestUser      = "guest"

	minReadBufferSize = 1 << 10
	maxReadBufferSize = 16 << 20
)

var defaultTrusted = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
}

// ConfigError lists every problem found in a configuration, so that a
// single run of -check shows all of them.
type ConfigError struct {
	Path     string
	Problems []Problem
}

// Problem is one thing wrong with a configuration.
type Problem struct {
	Line int    // 1-based; 0 when no single line is to blame (a missing key)
	Key  string // full dotted key, "" when the file does not parse
	Msg  string
}

func (p Problem) format(path string) string {
	var b strings.Builder
	if path != "" {
		b.WriteString(path)
		b.WriteByte(':')
	}
	if p.Line > 0 {
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteByte(':')
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists the problems one per line.
func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.format(e.Path)
	}
	return strings.Join(lines, "\n")
}

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(data, path)
}

// ParseConfig validates a configuration. path names it in messages, and
// relative secret files are looked up in its directory. The error, if any,
// is a *ConfigError.
func ParseConfig(data []byte, path string) (*Config, error) {
	scan := scanKeys(data)
	c := &compiler{path: path, lines: scan.lines, reported: map[string]bool{}}
	var raw rawFile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		// A file that does not parse has no keys to check further. What
		// its error shows: see syntaxProblem.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			c.probs = append(c.probs, c.syntaxProblem(pe, scan))
		} else {
			// Not a syntax error: the decoder could not store a value.
			// Every leaf is an opt, whose UnmarshalTOML takes any value,
			// so this names Go and TOML types at most, never a value.
			c.probs = append(c.probs, Problem{Msg: strings.TrimPrefix(err.Error(), "toml: ")})
		}
		return nil, c.err()
	}
	c.md = &md
	c.checkKeyCase()

	var (
		rt   rawTicket
		rc   rawClientIP
		rr   rawRedirect
		rg   rawGuest
		rl   rawLimits
		rch  rawCache
		pols map[string]toml.Primitive
	)
	for _, s := range []struct {
		name string
		prim toml.Primitive
		dst  any
	}{
		{"ticket", raw.Ticket, &rt},
		{"client_ip", raw.ClientIP, &rc},
		{"redirect", raw.Redirect, &rr},
		{"guest", raw.Guest, &rg},
		{"limits", raw.Limits, &rl},
		{"cache", raw.Cache, &rch},
		{"policy", raw.Policy, &pols},
	} {
		if c.isTable(key(s.name)) {
			c.decode(key(s.name), s.prim, s.dst)
		}
	}
	names := make([]string, 0, len(pols))
	for name := range pols {
		names = append(names, name)
	}
	sort.Strings(names)
	rps := make([]*rawPolicy, 0, len(names))
	for _, name := range names {
		rp := &rawPolicy{}
		if k := key("policy", name); c.isTable(k) && c.decode(k, pols[name], rp) {
			rp.name = name
			rps = append(rps, rp)
		}
	}
	c.checkUnknownKeys()

	cfg := c.compile(&raw, &rt, &rc, &rr, &rg, &rl, &rch, rps)
	if err := c.err(); err != nil {
		return nil, err
	}
	cfg.Path = path
	return cfg, nil
}

// Raw, undecided values: every leaf is an opt so that a value of the wrong
// type is recorded instead of stopping the decoder, and every problem in the
// file can be reported at once. The toml tags are the documented spellings.

type rawFile struct {
	Listen        opt[string]    `toml:"listen"`
	LogLevel      opt[string]    `toml:"log_level"`
	SocketMode    opt[string]    `toml:"socket_mode"`
	MetricsListen opt[string]    `toml:"metrics_listen"`
	Ticket        toml.Primitive `toml:"ticket"`
	ClientIP      toml.Primitive `toml:"client_ip"`
	Redirect      toml.Primitive `toml:"redirect"`
	Guest         toml.Primitive `toml:"guest"`
	Limits        toml.Primitive `toml:"limits"`
	Cache         toml.Primitive `toml:"cache"`
	Policy        toml.Primitive `toml:"policy"`
}

type rawTicket struct {
	Secret         opt[string]   `toml:"secret"`
	SecretFile     opt[string]   `toml:"secret_file"`
	SecretOld      opt[string]   `toml:"secret_old"`
	SecretOldFile  opt[string]   `toml:"secret_old_file"`
	DigestType     opt[string]   `toml:"digest_type"`
	CookieName     opt[string]   `toml:"cookie_name"`
	IgnoreIP       opt[bool]     `toml:"ignore_ip"`
	Timeout        opt[duration] `toml:"timeout"`
	TimeoutRefresh opt[float64]  `toml:"timeout_refresh"`
	Domain         opt[string]   `toml:"domain"`
	CookieSecure   opt[bool]     `toml:"cookie_secure"`
	CookieExpires  opt[duration] `toml:"cookie_expires"`
	MaxFuture      opt[duration] `toml:"max_future"`
	Dialect        opt[string]   `toml:"dialect"`
	dialectKeys
}

// dialectKeys are the settings of one dialect only, in [ticket] and in
// policies. A policy inherits those of [ticket] only when it keeps the
// global dialect.
type dialectKeys struct {
	ReissueTime            opt[duration]          `toml:"reissue_time"`
	PassportEncodeUserData opt[bool]              `toml:"passport_encode_user_data"`
	PassportJSONUserData   opt[bool]              `toml:"passport_json_user_data"`
	UserDataHeaders        opt[map[string]string] `toml:"user_data_headers"`
}

type rawClientIP struct {
	Header         opt[string]   `toml:"header"`
	TrustedProxies opt[[]string] `toml:"trusted_proxies"`
}

type rawRedirect struct {
	LoginURL       opt[string] `toml:"login_url"`
	TimeoutURL     opt[string] `toml:"timeout_url"`
	PostTimeoutURL opt[string] `toml:"post_timeout_url"`
	UnauthURL      opt[string] `toml:"unauth_url"`
	BackArgName    opt[string] `toml:"back_arg_name"`
	BackCookieName opt[string] `toml:"back_cookie_name"`
}

type rawGuest struct {
	Login    opt[bool]   `toml:"login"`
	User     opt[string] `toml:"user"`
	Fallback opt[bool]   `toml:"fallback"`
	Cookie   opt[bool]   `toml:"cookie"`
}

type rawLimits struct {
	ReadBufferSize  opt[int64]    `toml:"read_buffer_size"`
	ReadTimeout     opt[duration] `toml:"read_timeout"`
	WriteTimeout    opt[duration] `toml:"write_timeout"`
	IdleTimeout     opt[duration] `toml:"idle_timeout"`
	MaxConns        opt[int64]    `toml:"max_conns"`
	ShutdownTimeout opt[duration] `toml:"shutdown_timeout"`
}

type rawCache struct {
	MaxAge opt[duration] `toml:"max_age"`
}

// rawLoc holds the settings Apache sets per <Location>: global values come
// from [ticket], [redirect] and [guest]; a policy overrides them with flat
// keys of the same meaning.
type rawLoc struct {
	Timeout        opt[duration] `toml:"timeout"`
	TimeoutRefresh opt[float64]  `toml:"timeout_refresh"`
	IgnoreIP       opt[bool]     `toml:"ignore_ip"`
	CookieName     opt[string]   `toml:"cookie_name"`
	Domain         opt[string]   `toml:"domain"`
	CookieSecure   opt[bool]     `toml:"cookie_secure"`
	CookieExpires  opt[duration] `toml:"cookie_expires"`
	Dialect        opt[string]   `toml:"dialect"`
	LoginURL       opt[string]   `toml:"login_url"`
	TimeoutURL     opt[string]   `toml:"timeout_url"`
	PostTimeoutURL opt[string]   `toml:"post_timeout_url"`
	UnauthURL      opt[string]   `toml:"unauth_url"`
	BackArgName    opt[string]   `toml:"back_arg_name"`
	BackCookieName opt[string]   `toml:"back_cookie_name"`
	GuestLogin     opt[bool]     `toml:"guest_login"`
	GuestUser      opt[string]   `toml:"guest_user"`
	GuestFallback  opt[bool]     `toml:"guest_fallback"`
	GuestCookie    opt[bool]     `toml:"guest_cookie"`
}

type rawPolicy struct {
	Tokens opt[[]string] `toml:"tokens"`
	rawLoc
	dialectKeys
	name string
}

// locKeys names the keys a rawLoc was read from.
type locKeys struct {
	Timeout, TimeoutRefresh, IgnoreIP, CookieName, Domain, CookieSecure,
	CookieExpires, Dialect, LoginURL, TimeoutURL, PostTimeoutURL, UnauthURL,
	BackArgName, BackCookieName, GuestLogin, GuestUser, GuestFallback,
	GuestCookie toml.Key
}

var globalLocKeys = locKeys{
	Timeout:        key("ticket", "timeout"),
	TimeoutRefresh: key("ticket", "timeout_refresh"),
	IgnoreIP:       key("ticket", "ignore_ip"),
	CookieName:     key("ticket", "cookie_name"),
	Domain:         key("ticket", "domain"),
	CookieSecure:   key("ticket", "cookie_secure"),
	CookieExpires:  key("ticket", "cookie_expires"),
	Dialect:        key("ticket", "dialect"),
	LoginURL:       key("redirect", "login_url"),
	TimeoutURL:     key("redirect", "timeout_url"),
	PostTimeoutURL: key("redirect", "post_timeout_url"),
	UnauthURL:      key("redirect", "unauth_url"),
	BackArgName:    key("redirect", "back_arg_name"),
	BackCookieName: key("redirect", "back_cookie_name"),
	GuestLogin:     key("guest", "login"),
	GuestUser:      key("guest", "user"),
	GuestFallback:  key("guest", "fallback"),
	GuestCookie:    key("guest", "cookie"),
}

func policyLocKeys(name string) locKeys {
	k := func(s string) toml.Key { return key("policy", name, s) }
	return locKeys{
		Timeout:        k("timeout"),
		TimeoutRefresh: k("timeout_refresh"),
		IgnoreIP:       k("ignore_ip"),
		CookieName:     k("cookie_name"),
		Domain:         k("domain"),
		CookieSecure:   k("cookie_secure"),
		CookieExpires:  k("cookie_expires"),
		Dialect:        k("dialect"),
		LoginURL:       k("login_url"),
		TimeoutURL:     k("timeout_url"),
		PostTimeoutURL: k("post_timeout_url"),
		UnauthURL:      k("unauth_url"),
		BackArgName:    k("back_arg_name"),
		BackCookieName: k("back_cookie_name"),
		GuestLogin:     k("guest_login"),
		GuestUser:      k("guest_user"),
		GuestFallback:  k("guest_fallback"),
		GuestCookie:    k("guest_cookie"),
	}
}

// dialectKeyNames names the keys a dialectKeys was read from.
type dialectKeyNames struct {
	ReissueTime, PassportEncodeUserData, PassportJSONUserData, UserDataHeaders toml.Key
}

func dialectKeysIn(table ...string) dialectKeyNames {
	k := func(s string) toml.Key { return key(append(slices.Clone(table), s)...) }
	return dialectKeyNames{
		ReissueTime:            k("reissue_time"),
		PassportEncodeUserData: k("passport_encode_user_data"),
		PassportJSONUserData:   k("passport_json_user_data"),
		UserDataHeaders:        k("user_data_headers"),
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

// compiler collects the problems found while turning raw values into a Config.
type compiler struct {
	path     string
	md       *toml.MetaData
	lines    map[string]int  // lower-cased key -> line of first appearance
	probs    []Problem       // in order found; sorted by line in err
	reported map[string]bool // keys already blamed; their sub-keys are not
}

func (c *compiler) problem(k toml.Key, format string, args ...any) {
	c.probs = append(c.probs, Problem{Line: c.lineOf(k), Key: k.String(), Msg: fmt.Sprintf(format, args...)})
}

// lineOf finds the line of k, or of its nearest parent for keys written in
// inline tables or not written at all.
func (c *compiler) lineOf(k toml.Key) int {
	for n := len(k); n > 0; n-- {
		if l, ok := c.lines[strings.ToLower(k[:n].String())]; ok {
			return l
		}
	}
	return 0
}

func (c *compiler) err() error {
	if len(c.probs) == 0 {
		return nil
	}
	// Read like the file: by line, problems without a line last.
	sort.SliceStable(c.probs, func(i, j int) bool {
		li, lj := c.probs[i].Line, c.probs[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
	return &ConfigError{Path: c.path, Problems: c.probs}
}

// ---- structure: key spelling, tables, unknown keys ----

// schema lists the known keys of each table; "policy.*" is any policy.
var schema = map[string][]string{
	"":          tomlTags(reflect.TypeFor[rawFile]()),
	"ticket":    tomlTags(reflect.TypeFor[rawTicket]()),
	"client_ip": tomlTags(reflect.TypeFor[rawClientIP]()),
	"redirect":  tomlTags(reflect.TypeFor[rawRedirect]()),
	"guest":     tomlTags(reflect.TypeFor[rawGuest]()),
	"limits":    tomlTags(reflect.TypeFor[rawLimits]()),
	"cache":     tomlTags(reflect.TypeFor[rawCache]()),
	"policy.*":  tomlTags(reflect.TypeFor[rawPolicy]()),
}

func tomlTags(t reflect.Type) []string {
	var tags []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			tags = append(tags, tomlTags(f.Type)...)
		} else if tag := f.Tag.Get("toml"); tag != "" {
			tags = append(tags, tag)
		}
	}
	return tags
}

// schemaTable returns the schema entry for the table holding key k[n].
func schemaTable(k toml.Key, n int) (string, bool) {
	switch {
	case n == 0:
		return "", true
	case n == 1 && k[0] == "policy":
		return "", false // policy names are free
	case n == 1:
		_, ok := schema[k[0]]
		return k[0], ok
	case n == 2 && k[0] == "policy":
		return "policy.*", true
	}
	return "", false
}

// checkKeyCase reports keys spelled with another case than documented:
// the decoder matches struct fields case-insensitively, so it would accept
// them silently.
func (c *compiler) checkKeyCase() {
	for _, k := range c.md.Keys() {
		for n := range k {
			table, ok := schemaTable(k, n)
			if !ok && n == 1 && k[0] == "policy" {
				continue // policy names are free
			}
			if !ok {
				break
			}
			known := schema[table]
			if slices.Contains(known, k[n]) {
				continue
			}
			for _, want := range known {
				if strings.EqualFold(want, k[n]) {
					if bad := k[:n+1]; !c.reported[bad.String()] {
						c.reported[bad.String()] = true
						c.problem(bad, "key must be spelled %q", want)
					}
					break
				}
			}
			break
		}
	}
}

// keysLike returns the keys in the file that match k case-insensitively.
func (c *compiler) keysLike(k toml.Key) []toml.Key {
	var ks []toml.Key
	for _, mk := range c.md.Keys() {
		if len(mk) == len(k) && slices.EqualFunc(mk, k, strings.EqualFold) {
			ks = append(ks, mk)
		}
	}
	return ks
}

// isTable reports whether k, if present, is a table, and blames it if not.
func (c *compiler) isTable(k toml.Key) bool {
	for _, mk := range c.keysLike(k) {
		if t := c.md.Type(mk...); t != "Hash" {
			c.reported[mk.String()] = true
			found := map[string]string{
				"String": "a string", "Integer": "an integer", "Float": "a float",
				"Bool": "a boolean", "Array": "an array", "ArrayHash": "an array of tables",
			}[t]
			if found == "" {
				found = "a date/time"
			}
			c.problem(mk, "must be a table ([%s]), not %s", k, found)
			return false
		}
	}
	return true
}

func (c *compiler) decode(k toml.Key, p toml.Primitive, dst any) bool {
	if err := c.md.PrimitiveDecode(p, dst); err != nil {
		c.reported[k.String()] = true
		// As in ParseConfig: type names at most. Should the decoder ever
		// report a value it could not read, its message is not shown.
		msg := strings.TrimPrefix(err.Error(), "toml: ")
		if pe := (toml.ParseError{}); errors.As(err, &pe) {
			msg, _ = syntaxWording(pe.Message)
		}
		c.problem(k, "%s", msg)
		return false
	}
	return true
}

// checkUnknownKeys reports keys no field took, once per unknown table.
func (c *compiler) checkUnknownKeys() {
	for _, k := range c.md.Undecoded() {
		// Blame the outermost unknown part: an unknown [foo.bar] has no
		// key "foo" of its own in the metadata.
		n := 0
		for ; n < len(k)-1; n++ {
			table, ok := schemaTable(k, n)
			if !ok && n == 1 && k[0] == "policy" {
				continue // a policy name
			}
			if !ok || !slices.Contains(schema[table], k[n]) {
				break
			}
		}
		bad := k[:n+1]
		skip := false
		for i := 1; i <= len(bad); i++ {
			if c.reported[bad[:i].String()] {
				skip = true
				break
			}
		}
		if skip {
			continue
		}
		c.reported[bad.String()] = true
		c.problem(bad, "unknown key%s", hint(bad))
	}
}

// globalOnly are [ticket] keys that Apache sets server-wide.
var globalOnly = []string{"secret", "secret_file", "secret_old", "secret_old_file", "digest_type", "max_future"}

// hint suggests what an unknown key k was meant to be.
func hint(k toml.Key) string {
	name := k[len(k)-1]
	table, ok := schemaTable(k, len(k)-1)
	if ok && table == "policy.*" && slices.Contains(globalOnly, name) {
		return " (" + name + " is global only: set it in [ticket])"
	}
	// [guest] login is guest_login in a policy, and the other way round.
	if ok && table == "policy.*" && slices.Contains(schema[table], "guest_"+name) {
		return " (did you mean guest_" + name + "?)"
	}
	if short, cut := strings.CutPrefix(name, "guest_"); ok && cut && table == "guest" && slices.Contains(schema[table], short) {
		return " (did you mean " + short + "?)"
	}
	if ok {
		if best := closest(name, schema[table]); best != "" {
			return fmt.Sprintf(" (did you mean %s?)", best)
		}
	}
	// A key that belongs in another table.
	var homes []string
	for _, t := range slices.Sorted(maps.Keys(schema)) {
		if t != table && t != "policy.*" && slices.Contains(schema[t], name) {
			if t == "" {
				homes = append(homes, "the top level")
			} else {
				homes = append(homes, "["+t+"]")
			}
		}
	}
	if table != "policy.*" && slices.Contains(schema["policy.*"], name) {
		homes = append(homes, "[policy.NAME]")
	}
	if len(homes) > 0 {
		return " (" + name + " belongs in " + strings.Join(homes, " or ") + ")"
	}
	return ""
}

// closest returns the candidate within a small edit distance of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	if len(s) < 5 {
		bestD = 2
	}
	for _, cand := range candidates {
		if d := editDistance(s, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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

// ---- compiling ----

func (c *compiler) compile(raw *rawFile, rt *rawTicket, rc *rawClientIP, rr *rawRedirect, rg *rawGuest, rl *rawLimits, rch *rawCache, rps []*rawPolicy) *Config {
	cfg := &Config{
		Listen:     defaultListen,
		LogLevel:   slog.LevelInfo,
		SocketMode: defaultSocketMode,
		Limits: Limits{
			ReadBufferSize:  defaultReadBufferSize,
			ReadTimeout:     5 * time.Second,
			WriteTimeout:    5 * time.Second,
			IdleTimeout:     60 * time.Second,
			MaxConns:        defaultMaxConns,
			ShutdownTimeout: 10 * time.Second,
		},
		ClientIP: ClientIP{Header: "X-Real-IP", Trusted: slices.Clone(defaultTrusted)},
		Policies: map[string]*Policy{},
	}

	setString(c, key("listen"), &raw.Listen, &cfg.Listen, checkListen)
	if v, ok := get(c, key("log_level"), &raw.LogLevel); ok {
		switch strings.ToLower(v) {
		case "debug":
			cfg.LogLevel = slog.LevelDebug
		case "info":
			cfg.LogLevel = slog.LevelInfo
		case "warn":
			cfg.LogLevel = slog.LevelWarn
		case "error":
			cfg.LogLevel = slog.LevelError
		default:
			c.problem(key("log_level"), "unknown level %q (want debug, info, warn or error)", v)
		}
	}
	if raw.SocketMode.wrong == "an integer" {
		// TOML reads 660 as decimal; only a string keeps the octal digits.
		c.problem(key("socket_mode"), `want a string such as "0660", not an integer`)
	} else if v, ok := get(c, key("socket_mode"), &raw.SocketMode); ok {
		digits := strings.TrimPrefix(strings.TrimPrefix(v, "0o"), "0O")
		m, err := strconv.ParseUint(digits, 8, 32)
		if err != nil || digits == "" || m > 0o777 {
			c.problem(key("socket_mode"), "invalid mode %q (want octal permissions such as \"0660\")", v)
		} else {
			cfg.SocketMode = os.FileMode(m)
		}
	}
	setString(c, key("metrics_listen"), &raw.MetricsListen, &cfg.MetricsListen, func(s string) error {
		if s == "" {
			return nil
		}
		if err := checkListen(s); err != nil {
			return err
		}
		if s == cfg.Listen {
			return errors.New(`same as listen (leave it "" to serve /metrics on the main listener)`)
		}
		return nil
	})

	c.compileLimits(rl, &cfg.Limits)
	c.compileClientIP(rc, &cfg.ClientIP)
	setDuration(c, key("cache", "max_age"), &rch.MaxAge, &cfg.Cache.MaxAge, durRule{wholeSeconds: true})

	// The default policy: global ticket settings plus [redirect] and [guest].
	// cookie_name, digest_type, ignore_ip, timeout and timeout_refresh
	// follow the dialect when they are set nowhere: applyDialect.
	def := &Policy{
		Options:     verifier.Options{MaxFuture: defaultMaxFuture},
		BackArgName: defaultBackArgName,
		GuestUser:   defaultGuestUser,
	}
	secretOK := c.compileSecrets(rt, &def.Options)
	if v, ok := get(c, key("ticket", "digest_type"), &rt.DigestType); ok {
		if d, err := verifier.ParseDigest(v); err != nil {
			c.problem(key("ticket", "digest_type"), "unknown digest %q (want MD5, SHA256 or SHA512)", v)
		} else {
			def.Options.Digest = d
		}
	}
	if setDuration(c, key("ticket", "max_future"), &rt.MaxFuture, &def.Options.MaxFuture, durRule{wholeSeconds: true}) &&
		def.Options.MaxFuture == 0 {
		def.Options.MaxFuture = -1 // verifier: 0 would mean its default; negative means none
	}
	global := rawLoc{
		Timeout:        rt.Timeout,
		TimeoutRefresh: rt.TimeoutRefresh,
		IgnoreIP:       rt.IgnoreIP,
		CookieName:     rt.CookieName,
		Domain:         rt.Domain,
		CookieSecure:   rt.CookieSecure,
		CookieExpires:  rt.CookieExpires,
		Dialect:        rt.Dialect,
		LoginURL:       rr.LoginURL,
		TimeoutURL:     rr.TimeoutURL,
		PostTimeoutURL: rr.PostTimeoutURL,
		UnauthURL:      rr.UnauthURL,
		BackArgName:    rr.BackArgName,
		BackCookieName: rr.BackCookieName,
		GuestLogin:     rg.Login,
		GuestUser:      rg.User,
		GuestFallback:  rg.Fallback,
		GuestCookie:    rg.Cookie,
	}
	c.applyLoc(def, &global, &globalLocKeys)
	globalScope := scope{loc: &global, keys: &globalLocKeys, dk: &rt.dialectKeys, dkeys: dialectKeysIn("ticket")}
	c.applyDialect(def, nil, globalScope, globalScope, rt.DigestType.Set)
	cfg.Default = def

	for _, rp := range rps {
		if !validPolicyName(rp.name) {
			c.problem(key("policy", rp.name), "invalid policy name %q (want letters, digits, _ and -, as it is served at /auth/NAME)", rp.name)
		}
		p := *def
		p.Name = rp.name
		pk := policyLocKeys(rp.name)
		c.applyLoc(&p, &rp.rawLoc, &pk)
		own := scope{loc: &rp.rawLoc, keys: &pk, dk: &rp.dialectKeys, dkeys: dialectKeysIn("policy", rp.name), policy: rp.name}
		c.applyDialect(&p, def, own, globalScope, rt.DigestType.Set)
		tk := key("policy", rp.name, "tokens")
		if v, ok := get(c, tk, &rp.Tokens); ok {
			if toks, err := parseTokens(v); err != nil {
				c.problem(tk, "%v", err)
			} else {
				p.Tokens = toks
			}
		}
		cfg.Policies[rp.name] = &p
	}

	// Build the verifiers last: their checks repeat ours, so a failure here
	// would only restate a problem already reported.
	if len(c.probs) == 0 && secretOK {
		c.buildVerifier(key("ticket"), def)
		for _, rp := range rps {
			c.buildVerifier(key("policy", rp.name), cfg.Policies[rp.name])
		}
	}
	return cfg
}

func (c *compiler) buildVerifier(k toml.Key, p *Policy) {
	v, err := verifier.NewDialect(p.Dialect, p.Options, p.DialectOptions)
	if err != nil {
		if p.Dialect != verifier.ModAuthTkt {
			k = append(slices.Clone(k), "dialect") // only a dialect's own rules can fail here
		}
		c.problem(k, "%v", err)
		return
	}
	p.Verifier = v
}

// scope is where a policy's settings are read from: [ticket] (with
// [redirect] and [guest]) for the default policy, [policy.NAME] for the
// others.
type scope struct {
	loc    *rawLoc
	keys   *locKeys
	dk     *dialectKeys
	dkeys  dialectKeyNames
	policy string // "" for [ticket]
}

// The dialect libraries' own defaults where mod_auth_tkt's differ:
// passport-authtkt and Pyramid have no timeout unless given one;
// passport-authtkt re-sends the cookie on every response when it has a
// timeout (refresh 1); Pyramid has no refresh fraction, only reissue_time.
func dialectTimeout(d verifier.Dialect) time.Duration {
	if d == verifier.ModAuthTkt {
		return defaultTimeout
	}
	return 0
}

func dialectRefresh(d verifier.Dialect) float64 {
	switch d {
	case verifier.Passport:
		return 1
	case verifier.Pyramid:
		return 0
	}
	return defaultRefresh
}

// applyDialect completes p once applyLoc has read own (and, for a policy,
// p was copied from parent, the default policy): the settings whose
// default follows the dialect and that are set neither in own nor in
// [ticket] (global) take the dialect's default; the dialect-only keys are
// read and checked against p's dialect; and the combinations the dialect's
// library cannot have are refused.
//
// digest_type is global only. When it is not set, every policy signs with
// its own dialect's default digest (MD5, or SHA512 for pyramid); when it
// is, every policy uses it, and a passport policy then needs "MD5".
//
// The dialect-only keys of [ticket] belong to the global dialect: a policy
// of another dialect does not inherit them.
func (c *compiler) applyDialect(p, parent *Policy, own, global scope, digestSet bool) {
	d := p.Dialect
	set := func(f func(l *rawLoc) bool) bool { return f(own.loc) || f(global.loc) }
	if !set(func(l *rawLoc) bool { return l.CookieName.Set }) {
		p.CookieName = d.CookieName()
	}
	if !set(func(l *rawLoc) bool { return l.IgnoreIP.Set }) {
		p.Options.IgnoreIP = d.DefaultIgnoreIP()
	}
	if !set(func(l *rawLoc) bool { return l.Timeout.Set }) {
		p.Options.Timeout = dialectTimeout(d)
	}
	if !set(func(l *rawLoc) bool { return l.TimeoutRefresh.Set }) {
		p.Options.Refresh = dialectRefresh(d)
	}
	if !digestSet {
		p.Options.Digest = d.DefaultDigest()
	}

	// Settings of [ticket] that this policy inherits although its dialect
	// differs are blamed on the policy (the key to set is named); those of
	// a policy keeping the global dialect were blamed in [ticket] already.
	switched := parent != nil && parent.Dialect != d
	if switched {
		p.DialectOptions = verifier.DialectOptions{}
		p.UserDataHeaders = nil
	}
	c.readDialectKeys(p, own)

	here := "[ticket]"
	if own.policy != "" {
		here = "[policy." + own.policy + "]"
	}
	if d == verifier.Passport && p.Options.Digest != verifier.MD5 {
		switch {
		case parent == nil:
			c.problem(key("ticket", "digest_type"), `passport-authtkt only signs with MD5: leave digest_type out or set it to "MD5" (ticket.dialect is "passport")`)
		case switched:
			c.problem(own.keys.Dialect, "passport-authtkt only signs with MD5, but ticket.digest_type, which every policy uses, is %v", p.Options.Digest)
		}
	}
	if d == verifier.Pyramid && p.Options.Refresh != 0 {
		switch {
		case own.loc.TimeoutRefresh.Set:
			c.problem(own.keys.TimeoutRefresh, "%v: pyramid has no refresh fraction (want 0 or no timeout_refresh; pyramid re-issues tickets after reissue_time)", p.Options.Refresh)
		case switched:
			c.problem(own.keys.TimeoutRefresh, "inherits ticket.timeout_refresh = %v, but pyramid has no refresh fraction: set timeout_refresh = 0 in %s (pyramid re-issues tickets after reissue_time)", p.Options.Refresh, here)
		}
	}
	if d != verifier.ModAuthTkt && p.GuestCookie {
		switch {
		case own.loc.GuestCookie.Set:
			c.problem(own.keys.GuestCookie, "guest tickets are mod_auth_tkt's: not available with dialect %q", d)
		case switched:
			c.problem(own.keys.GuestCookie, "inherits guest.cookie = true, but guest tickets are mod_auth_tkt's: set guest_cookie = false in %s (dialect %q)", here, d)
		}
	}
}

// readDialectKeys reads the dialect-only keys of s into p, refusing those
// that are not for p's dialect.
func (c *compiler) readDialectKeys(p *Policy, s scope) {
	d := p.Dialect
	k := s.dkeys
	only := func(k toml.Key, want verifier.Dialect) bool {
		if d != want {
			c.problem(k, "only for dialect %q, and the dialect here is %q", want, d)
			return false
		}
		return true
	}
	if s.dk.ReissueTime.Set && only(k.ReissueTime, verifier.Pyramid) {
		var r time.Duration
		if setDuration(c, k.ReissueTime, &s.dk.ReissueTime, &r, durRule{wholeSeconds: true, max: math.MaxUint32 * time.Second}) {
			p.DialectOptions.PyramidReissue = true
			p.DialectOptions.PyramidReissueTime = r
		}
	}
	if s.dk.PassportEncodeUserData.Set && only(k.PassportEncodeUserData, verifier.Passport) {
		if v, ok := get(c, k.PassportEncodeUserData, &s.dk.PassportEncodeUserData); ok {
			p.DialectOptions.PassportPlainUserData = !v
		}
	}
	if s.dk.PassportJSONUserData.Set && only(k.PassportJSONUserData, verifier.Passport) {
		if v, ok := get(c, k.PassportJSONUserData, &s.dk.PassportJSONUserData); ok {
			p.DialectOptions.PassportJSONUserData = v
		}
	}
	if s.dk.UserDataHeaders.Set && only(k.UserDataHeaders, verifier.Passport) {
		if v, ok := get(c, k.UserDataHeaders, &s.dk.UserDataHeaders); ok {
			if hs, err := parseUserDataHeaders(v); err != nil {
				c.problem(k.UserDataHeaders, "%v", err)
			} else {
				p.UserDataHeaders = hs
			}
		}
	}
	if len(p.UserDataHeaders) > 0 && !p.DialectOptions.PassportJSONUserData {
		// Blamed where the headers were set, or where a policy turns off
		// the JSON its inherited headers need.
		switch {
		case s.dk.UserDataHeaders.Set:
			c.problem(k.UserDataHeaders, "needs JSON user data (passport_json_user_data = true)")
		case s.dk.PassportJSONUserData.Set:
			c.problem(k.PassportJSONUserData, "user_data_headers (inherited from [ticket]) needs JSON user data")
		}
	}
}

func (c *compiler) compileLimits(rl *rawLimits, l *Limits) {
	if v, ok := get(c, key("limits", "read_buffer_size"), &rl.ReadBufferSize); ok {
		if v < minReadBufferSize || v > maxReadBufferSize {
			c.problem(key("limits", "read_buffer_size"), "%d bytes is out of range (want %d..%d)", v, minReadBufferSize, maxReadBufferSize)
		} else {
			l.ReadBufferSize = int(v)
		}
	}
	if v, ok := get(c, key("limits", "max_conns"), &rl.MaxConns); ok {
		if v < 1 || v > math.MaxInt32 {
			c.problem(key("limits", "max_conns"), "%d is out of range (want 1..%d)", v, math.MaxInt32)
		} else {
			l.MaxConns = int(v)
		}
	}
	setDuration(c, key("limits", "read_timeout"), &rl.ReadTimeout, &l.ReadTimeout, durRule{})
	setDuration(c, key("limits", "write_timeout"), &rl.WriteTimeout, &l.WriteTimeout, durRule{})
	setDuration(c, key("limits", "idle_timeout"), &rl.IdleTimeout, &l.IdleTimeout, durRule{})
	setDuration(c, key("limits", "shutdown_timeout"), &rl.ShutdownTimeout, &l.ShutdownTimeout, durRule{})
}

func (c *compiler) compileClientIP(rc *rawClientIP, ci *ClientIP) {
	if v, ok := get(c, key("client_ip", "header"), &rc.Header); ok {
		switch {
		case v == "":
			ci.Header = ""
		case strings.EqualFold(v, "X-Real-IP"):
			ci.Header = "X-Real-IP"
		case strings.EqualFold(v, "X-Forwarded-For"):
			ci.Header = "X-Forwarded-For"
		default:
			c.problem(key("client_ip", "header"), `unsupported header %q (want "X-Real-IP", "X-Forwarded-For", or "" to ignore headers)`, v)
		}
	}
	k := key("client_ip", "trusted_proxies")
	if v, ok := get(c, k, &rc.TrustedProxies); ok {
		trusted := make([]netip.Prefix, 0, len(v))
		for _, s := range v {
			p, err := parseTrusted(s)
			if err != nil {
				c.problem(k, "%v", err)
				continue
			}
			trusted = append(trusted, p)
		}
		ci.Trusted = trusted
	}
}

// parseTrusted reads a CIDR or a bare address. Host bits of a CIDR are
// cleared; an IPv4-mapped IPv6 address counts as IPv4, as client addresses do.
func parseTrusted(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid address %q (want an IP address or a CIDR such as 10.0.0.0/8)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// compileSecrets reads secret / secret_file and secret_old / secret_old_file.
func (c *compiler) compileSecrets(rt *rawTicket, o *verifier.Options) bool {
	secret, ok := c.secret(key("ticket", "secret"), &rt.Secret, key("ticket", "secret_file"), &rt.SecretFile, true)
	switch {
	case ok && len(secret) == 0:
		c.problem(key("ticket", "secret"), "empty secret")
		ok = false
	case ok:
		o.Secret = secret
	}
	if old, oldOK := c.secret(key("ticket", "secret_old"), &rt.SecretOld, key("ticket", "secret_old_file"), &rt.SecretOldFile, false); oldOK && len(old) > 0 {
		o.OldSecret = old
	}
	return ok
}

// secret returns the inline value or the file content (one trailing
// newline removed), and false if neither is usable. Unless required, a
// missing value or an empty file means none.
func (c *compiler) secret(inlineKey toml.Key, inline *opt[string], fileKey toml.Key, file *opt[string], required bool) ([]byte, bool) {
	if inline.Set && file.Set {
		c.problem(fileKey, "set only one of %s and %s", inlineKey, fileKey)
		return nil, false
	}
	if inline.Set {
		v, ok := get(c, inlineKey, inline)
		return []byte(v), ok
	}
	if !file.Set {
		if required && !c.reported["ticket"] { // a broken [ticket] is blamed already
			c.problem(inlineKey, "required (or %s)", fileKey)
		}
		return nil, false
	}
	name, ok := get(c, fileKey, file)
	if !ok {
		return nil, false
	}
	if name == "" {
		c.problem(fileKey, "empty file name")
		return nil, false
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(c.path), name)
	}
	data, err := readSecretFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		c.problem(fileKey, "cannot read %s: %v", name, err)
		return nil, false
	}
	if bytes.HasSuffix(data, []byte("\r\n")) {
		data = data[:len(data)-2]
	} else if bytes.HasSuffix(data, []byte("\n")) {
		data = data[:len(data)-1]
	}
	if len(data) == 0 && required {
		c.problem(fileKey, "%s is empty", name)
		return nil, false
	}
	return data, true
}

const maxSecretFile = 64 << 10

// readSecretFile reads a regular file of at most maxSecretFile bytes, so
// that a slip like /dev/zero or a FIFO cannot hang a reload.
func readSecretFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("larger than %d bytes", maxSecretFile)
	}
	return data, nil
}

// applyLoc overrides p's per-location settings with those set in l.
func (c *compiler) applyLoc(p *Policy, l *rawLoc, k *locKeys) {
	setDuration(c, k.Timeout, &l.Timeout, &p.Options.Timeout, durRule{wholeSeconds: true, max: math.MaxUint32 * time.Second})
	if v, ok := get(c, k.TimeoutRefresh, &l.TimeoutRefresh); ok {
		if !(v >= 0 && v <= 1) {
			c.problem(k.TimeoutRefresh, "%v is not within 0..1", v)
		} else {
			p.Options.Refresh = v
		}
	}
	setBool(c, k.IgnoreIP, &l.IgnoreIP, &p.Options.IgnoreIP)
	setString(c, k.CookieName, &l.CookieName, &p.CookieName, checkCookieName)
	setString(c, k.Domain, &l.Domain, &p.Domain, checkDomain)
	setBool(c, k.CookieSecure, &l.CookieSecure, &p.CookieSecure)
	setDuration(c, k.CookieExpires, &l.CookieExpires, &p.CookieExpires, durRule{wholeSeconds: true, emptyIsZero: true})
	if v, ok := get(c, k.Dialect, &l.Dialect); ok {
		if d, err := verifier.ParseDialect(v); err != nil {
			c.problem(k.Dialect, "%v", err)
		} else {
			p.Dialect = d
		}
	}
	setString(c, k.LoginURL, &l.LoginURL, &p.LoginURL, checkURL)
	setString(c, k.TimeoutURL, &l.TimeoutURL, &p.TimeoutURL, checkURL)
	setString(c, k.PostTimeoutURL, &l.PostTimeoutURL, &p.PostTimeoutURL, checkURL)
	setString(c, k.UnauthURL, &l.UnauthURL, &p.UnauthURL, checkURL)
	if v, ok := get(c, k.BackArgName, &l.BackArgName); ok {
		if v == "None" {
			p.BackArgName = "" // as TKTAuthBackArgName None
		} else if err := checkBackArgName(v); err != nil {
			c.problem(k.BackArgName, "%v", err)
		} else {
			p.BackArgName = v
		}
	}
	setString(c, k.BackCookieName, &l.BackCookieName, &p.BackCookieName, func(s string) error {
		if s == "" {
			return nil
		}
		return checkCookieName(s)
	})
	setBool(c, k.GuestLogin, &l.GuestLogin, &p.GuestLogin)
	setString(c, k.GuestUser, &l.GuestUser, &p.GuestUser, checkGuestUser)
	setBool(c, k.GuestFallback, &l.GuestFallback, &p.GuestFallback)
	setBool(c, k.GuestCookie, &l.GuestCookie, &p.GuestCookie)
}

// ---- value checks ----

func checkListen(s string) error {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" || strings.ContainsRune(path, 0) {
			return fmt.Errorf("invalid unix socket path %q", path)
		}
		if strings.HasPrefix(path, "@") {
			// Linux's abstract sockets have no file, hence no
			// socket_mode, and unix-socket peers are trusted proxies.
			return fmt.Errorf("abstract unix socket %q: any local user could connect (want a path)", path)
		}
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("invalid address %q (want \"host:port\" or \"unix:/path\")", s)
	}
	return nil
}

func validPolicyName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// checkCookieName accepts an RFC 6265 cookie-name (an RFC 2616 token).
func checkCookieName(s string) error {
	if s == "" {
		return errors.New("empty cookie name")
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, b) >= 0 {
			return fmt.Errorf("invalid cookie name %q (no spaces, control characters or any of ()<>@,;:\\\"/[]?={})", s)
		}
	}
	return nil
}

func checkDomain(s string) error {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || b == ';' || b == ',' {
			return fmt.Errorf("invalid cookie domain %q", s)
		}
	}
	return nil
}

// parseUserDataHeaders checks user_data_headers: header name -> JSON
// field. The names become response headers that nginx copies with
// auth_request_set, so they must be tokens and must not be a header
// tktgate or nginx gives another meaning.
func parseUserDataHeaders(m map[string]string) ([]UserDataHeader, error) {
	if len(m) == 0 {
		return nil, errors.New(`empty table (want { "X-Remote-User-Email" = "email" })`)
	}
	hs := make([]UserDataHeader, 0, len(m))
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		field := m[name]
		if err := checkHeaderName(name); err != nil {
			return nil, err
		}
		canon := canonicalHeader(name)
		if prev, dup := seen[canon]; dup {
			return nil, fmt.Errorf("header %q is named twice (as %q and %q)", canon, prev, name)
		}
		seen[canon] = name
		if field == "" || !utf8.ValidString(field) || strings.ContainsFunc(field, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("header %q: invalid JSON field name %q", name, field)
		}
		hs = append(hs, UserDataHeader{Header: canon, Field: field})
	}
	return hs, nil
}

// reservedHeaders are response headers tktgate sets itself or that nginx
// or HTTP give a meaning of their own (lower case).
var reservedHeaders = []string{
	"x-remote-user", "x-remote-user-tokens", "x-remote-user-data",
	"set-cookie", "location", "cache-control", "expires", "date", "server",
	"connection", "keep-alive", "transfer-encoding", "trailer", "upgrade",
	"www-authenticate", "vary", "age", "etag", "last-modified",
}

func checkHeaderName(s string) error {
	if s == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0) {
			return fmt.Errorf("invalid header name %q (want letters, digits and -)", s)
		}
	}
	l := strings.ToLower(s)
	if slices.Contains(reservedHeaders, l) || strings.HasPrefix(l, "x-accel-") || strings.HasPrefix(l, "content-") || strings.HasPrefix(l, "proxy-") {
		return fmt.Errorf("header %q is reserved (tktgate or nginx give it a meaning of its own)", s)
	}
	return nil
}

// canonicalHeader writes a header name as fasthttp stores it: upper case
// at the start and after each '-', lower case elsewhere.
func canonicalHeader(s string) string {
	b := []byte(s)
	up := true
	for i, c := range b {
		switch {
		case up && c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !up && c >= 'A' && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		up = c == '-'
	}
	return string(b)
}

// checkURL accepts "" (unset), an absolute http(s) URL or an absolute path.
// The value becomes a Location header, with back= appended.
func checkURL(s string) error {
	if s == "" {
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b <= ' ' || b == 0x7f:
			return fmt.Errorf("URL %q contains whitespace or a control character", s)
		case b >= 0x80:
			return fmt.Errorf("URL %q contains non-ASCII bytes (percent-encode them)", s)
		case b == '\\':
			// Browsers read "/\host" as "//host".
			return fmt.Errorf("URL %q contains a backslash", s)
		case b == '#':
			return fmt.Errorf("URL %q has a fragment: the back argument would land in it", s)
		}
	}
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") {
			return fmt.Errorf("URL %q is scheme-relative (want http(s)://host/... or a path with one leading /)", s)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "" {
		return fmt.Errorf("URL %q is neither an absolute http(s) URL nor a path starting with /", s)
	}
	return nil
}

func checkBackArgName(s string) error {
	if s == "" {
		return errors.New(`empty name (use "None" to send no back argument)`)
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || strings.IndexByte("&=#?;+%", b) >= 0 {
			return fmt.Errorf("invalid query parameter name %q", s)
		}
	}
	return nil
}

// checkGuestUser accepts a user name for guests. It becomes a header value
// and, with guest_cookie, a ticket uid, which ends at the first '!'.
func checkGuestUser(s string) error {
	if s == "" {
		return errors.New("empty guest user")
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b < ' ' || b == 0x7f:
			return fmt.Errorf("guest user %q contains a control character", s)
		case b == '!':
			return fmt.Errorf("guest user %q contains '!', which ends a ticket's uid", s)
		case b == '%':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j > i+1 && j < len(s) && s[j] == 'U' {
				if n, err := strconv.Atoi(s[i+1 : j]); err != nil || n < 1 || n > 36 {
					return fmt.Errorf("guest user %q: %%NU takes N from 1 to 36 (a UUID has 36 characters)", s)
				}
			}
		}
	}
	return nil
}

// parseTokens checks a policy's required tokens. ["NULL"] means none, as
// TKTAuthToken NULL does.
func parseTokens(v []string) ([][]byte, error) {
	if len(v) == 1 && v[0] == "NULL" {
		return nil, nil
	}
	toks := make([][]byte, 0, len(v))
	for _, t := range v {
		if t == "" {
			return nil, errors.New("empty token")
		}
		if t == "NULL" {
			return nil, errors.New(`"NULL" (no token required) cannot be combined with other tokens`)
		}
		for i := 0; i < len(t); i++ {
			if b := t[i]; b <= ' ' || b == 0x7f || b == ',' || b == '!' {
				return nil, fmt.Errorf("invalid token %q (tickets separate tokens with ',' and end them with '!'; no spaces or control characters)", t)
			}
		}
		toks = append(toks, []byte(t))
	}
	return toks, nil
}

// ---- syntax errors ----

// What a configuration error may show. The file holds the ticket secrets
// (secret, secret_old), and an error message ends up in -check's output, in
// the log of a failed reload, in CI logs and in bug reports. So:
//
//   - A syntax error shows the file, the line, the key and words of our
//     own: "FILE:LINE: syntax error in key KEY: WHAT". The parser's message
//     quotes the token it stumbled on (for an unquoted secret = hunter2:
//     `expected value but found "hunter2"`), and the broken line may be any
//     line, so nothing of it is passed on: syntaxWording maps the parser's
//     message to a fixed phrase and drops the message. KEY is the key the
//     parser read last, or the longer key written at the start of the
//     broken line ("KEY =", outside multi-line strings); a line without one
//     (a secret pasted on a line of its own) names its table at most. Key
//     names are not secrets.
//   - A value of a secret-bearing key (secret, secret_old) is never shown,
//     whatever is wrong with it: its problems name the key and the type
//     found. The *_file keys are paths, and are shown.
//   - The values of other keys may be shown when they are refused (an
//     unknown digest, a bad URL): they are not secrets, and the message is
//     of little use without them.

// syntaxProblem turns a parse error into a Problem that shows nothing of
// the file but the line number and a key name.
func (c *compiler) syntaxProblem(pe toml.ParseError, scan keyScan) Problem {
	line := pe.Position.Line
	what, keyed := syntaxWording(pe.Message)
	if !keyed && line > 1 && strings.Contains(pe.Message, `'\n'`) {
		line-- // the parser counts a table header's missing ] on the next line
	}
	msg := "syntax error"
	if keyed {
		// The parser's last key, or the longer key written on the broken
		// line: after `secret = "x" garbage` the parser is back in [ticket],
		// and a table defined twice is no key of the parser's.
		k, own := pe.LastKey, false
		if onLine, ok := scan.keyOn[line]; ok && (k == "" || onLine == k || strings.HasPrefix(onLine, k+".")) {
			k, own = onLine, true
		}
		switch {
		case k == "":
		case scan.tables[strings.ToLower(k)]:
			msg += " in table [" + k + "]"
		default:
			msg += " in key " + k
			// The value began on an earlier line: a string or an array
			// left open.
			if kl := c.lineOfString(k); !own && kl > 0 && kl < line {
				msg += " (line " + strconv.Itoa(kl) + ")"
			}
		}
	}
	return Problem{Line: line, Msg: msg + ": " + what}
}

// lineOfString is lineOf for a key as the parser prints it; 0 when it is
// not found.
func (c *compiler) lineOfString(k string) int {
	for {
		if l, ok := c.lines[strings.ToLower(k)]; ok {
			return l
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			return 0
		}
		k = k[:i]
	}
}

// syntaxWordings map the messages of BurntSushi/toml's lexer and parser, by
// a part of them that quotes nothing from the file, to words of our own;
// the first match wins. A message not listed becomes "invalid TOML". keyed
// is false for errors in a table header, where the parser's last key is not
// the culprit.
var syntaxWordings = []struct {
	part  string
	what  string
	keyed bool
}{
	{`expected value but found '\n'`, "missing value", true},
	{"expected value but found", `invalid value (strings must be quoted: key = "...")`, true},
	{"unexpected EOF; expected value", "missing value", true},
	{`unexpected EOF; expected '"""'`, `unterminated multi-line string (no closing """)`, true},
	{`unexpected EOF; expected "'''"`, "unterminated multi-line string (no closing ''')", true},
	{`unexpected EOF; expected '"'`, `unterminated string (no closing ")`, true},
	{`unexpected EOF; expected "'"`, "unterminated string (no closing ')", true},
	{"strings cannot contain newlines", `unterminated string (a string ends on its line; use """ for several lines)`, true},
	{"unexpected EOF; expected key separator", "missing = after the key", true},
	{"expected a top-level item to end with", "unexpected text after the value (want a newline or a # comment)", true},
	{"expected end of table array name delimiter", "invalid table header (want [[name]])", false},
	{"unexpected end of table name", "invalid table header (empty name)", false},
	{"unexpected table separator", "invalid table header (empty name)", false},
	{"to end table name", "invalid table header (want [name])", false},
	{"key name appears blank", "missing key name before =", true},
	{"keys cannot start with a '.'", "invalid key name", true},
	{`unexpected '""""""'`, "too many quotes at the end of a multi-line string", true},
	{`unexpected "''''''"`, "too many quotes at the end of a multi-line string", true},
	{"expected '.' or '='", "want key = value", true},
	{"expected a comma (',') or array terminator", "invalid array (want values separated by commas, and a closing ])", true},
	{"expected a comma or an inline table terminator", "invalid inline table (want key = value pairs separated by commas, and a closing } on the same line)", true},
	{"newlines not allowed within inline tables", "an inline table must be on one line", true},
	{"unexpected comma", "unexpected comma", true},
	{" is out of range for ", "number out of range", true},
	{" is out of the safe ", "number out of range", true},
	{"floats must start with a digit", "invalid number", true},
	{"invalid float", "invalid number", true},
	{"Invalid float", "invalid number", true},
	{"Invalid integer", "invalid number", true},
	{"expected a digit", "invalid number", true},
	{"cannot use sign with non-decimal numbers", "invalid number", true},
	{"not a binary number", "invalid number", true},
	{"not an octal number", "invalid number", true},
	{"not a hexadecimal number", "invalid number", true},
	{"invalid datetime", "invalid date/time", true},
	{"invalid escape", `invalid escape sequence (in "..." write \\ for a backslash, or use '...')`, true},
	{"hexadecimal digits after", `invalid escape sequence (in "..." write \\ for a backslash, or use '...')`, true},
	{"is not valid UTF-8", "invalid escape sequence (not a Unicode character)", true},
	{"cannot contain control characters", `control character (write it as an escape such as \t, or remove it)`, true},
	{"invalid UTF-8", "invalid UTF-8 (the file must be UTF-8)", true},
	{"cannot contain NULL bytes", "NUL byte (the file must be UTF-8, not UTF-16)", false},
	{"has already been defined", "defined twice", true},
	{"was already created as a hash", "already defined as a table", true},
	{"cannot be used as an array", "already defined, so it cannot be an array of tables", true},
	{"is not a table", "not a table", true},
	{"unexpected '='", "invalid key name", true},
	{"unexpected '.'", "invalid key name", true},
	{"unexpected EOF", "unexpected end of file", true},
}

// syntaxWording returns our words for the parser's message msg, which is
// dropped.
func syntaxWording(msg string) (what string, keyed bool) {
	for _, w := range syntaxWordings {
		if strings.Contains(msg, w.part) {
			return w.what, w.keyed
		}
	}
	return "invalid TOML", true
}

// ---- finding lines ----

// keyScan is what scanKeys finds.
type keyScan struct {
	lines  map[string]int  // lower-cased key, with all its parents -> first line
	keyOn  map[int]string  // line -> the full key of its "key =" or [table], as toml.Key prints it
	tables map[string]bool // lower-cased keys written as [table] or [[table]]
}

// scanKeys maps every key written in data (lower-cased, with all its
// parent tables) to the line it first appears on. The TOML decoder knows
// positions but does not expose them for keys it decoded fine, so this
// reads table headers and "key =" lines; keys inside inline tables or
// multi-line values are found through their parent. Of a "key =" line it
// reads only the key.
func scanKeys(data []byte) keyScan {
	lines := map[string]int{}
	scan := keyScan{lines: lines, keyOn: map[int]string{}, tables: map[string]bool{}}
	record := func(full []string, n int) {
		for i := 1; i <= len(full); i++ {
			k := strings.ToLower(toml.Key(full[:i]).String())
			if _, ok := lines[k]; !ok {
				lines[k] = n
			}
		}
	}
	var table []string
	inString := "" // the closing delimiter of a multi-line string we are in
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		s := strings.TrimSpace(line)
		if inString != "" {
			if strings.Contains(s, inString) {
				inString = ""
			}
			continue
		}
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			parts, rest, ok := parseKeyPath(strings.TrimPrefix(s[1:], "["))
			if ok && strings.HasPrefix(rest, "]") {
				table = parts
				record(parts, n)
				scan.tables[strings.ToLower(toml.Key(parts).String())] = true
				scan.keyOn[n] = toml.Key(parts).String()
			}
			continue
		}
		parts, rest, ok := parseKeyPath(s)
		if !ok || !strings.HasPrefix(rest, "=") {
			continue
		}
		full := append(slices.Clone(table), parts...)
		record(full, n)
		scan.keyOn[n] = toml.Key(full).String()
		v := strings.TrimSpace(rest[1:])
		for _, d := range []string{`"""`, `'''`} {
			if strings.HasPrefix(v, d) && !strings.Contains(v[3:], d) {
				inString = d
			}
		}
	}
	return scan
}

// parseKeyPath reads a dotted TOML key at the start of s and returns its
// parts and what follows it.
func parseKeyPath(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			p, err := strconv.Unquote(s[:end+1])
			if err != nil {
				p = s[1:end]
			}
			parts = append(parts, p)
			s = s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			parts = append(parts, s[1:end+1])
			s = s[end+2:]
		default:
			end := 0
			for end < len(s) && (s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z' ||
				s[end] >= '0' && s[end] <= '9' || s[end] == '_' || s[end] == '-') {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			parts = append(parts, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}
