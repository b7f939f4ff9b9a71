package main

// Compiling raw values into a Config and its policies.

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/tktgate/tktgate/verifier"
)

// compile turns the decoded sections into a Config, in named steps, each
// reporting its problems and going on so that all are reported at once.
func (c *compiler) compile(raw *rawFile, r *rawSections) *Config {
	cfg := defaultConfig()
	c.compileTop(raw, cfg)
	c.compileLimits(&r.limits, &cfg.Limits)
	c.compileClientIP(&r.clientIP, &cfg.ClientIP)
	setDuration(c, key("cache", "max_age"), &r.cache.MaxAge, &cfg.Cache.MaxAge, durRule{wholeSeconds: true})
	c.compileRevocation(&r.revoke, cfg)

	global := &scope{loc: r.global}
	def, secretOK := c.compileDefault(&r.ticket, global)
	cfg.Default = def
	for _, rp := range r.policies {
		cfg.Policies[rp.name] = c.compilePolicy(rp, def, global)
	}

	// Build the verifiers last: their checks repeat ours, so a failure here
	// would only restate a problem already reported.
	if len(c.probs) == 0 && secretOK {
		c.buildVerifier(key("ticket"), def)
		for _, rp := range r.policies {
			c.buildVerifier(key("policy", rp.name), cfg.Policies[rp.name])
		}
	}
	return cfg
}

// defaultConfig holds the defaults of the keys outside policies.
func defaultConfig() *Config {
	return &Config{
		Listen:        defaultListen,
		LogLevel:      slog.LevelInfo,
		SocketMode:    defaultSocketMode,
		Watch:         true,
		WatchInterval: defaultWatchInterval,
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
}

// compileTop reads the top-level keys: the listeners, logging and
// watching.
func (c *compiler) compileTop(raw *rawFile, cfg *Config) {
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
	if v, ok := get(c, key("log_requests"), &raw.LogRequests); ok {
		if m, found := parseLogRequests(v); found {
			cfg.LogRequests = m
		} else {
			c.problem(key("log_requests"), "unknown value %q (want \"none\", \"denied\" or \"all\")", v)
		}
	}
	if v, ok := get(c, key("cpu_scheduling"), &raw.CPUScheduling); ok {
		if p, found := parseCPUScheduling(v); found {
			cfg.CPUScheduling = p
		} else {
			c.problem(key("cpu_scheduling"), "unknown value %q (want \"inherit\", \"batch\" or \"other\")", v)
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
	setBool(c, key("watch"), &raw.Watch, &cfg.Watch)
	var iv time.Duration
	if setDuration(c, key("watch_interval"), &raw.WatchInterval, &iv, durRule{max: maxWatchInterval}) {
		if iv < minWatchInterval {
			c.problem(key("watch_interval"), "%v is too short (at least %v)", iv, minWatchInterval)
		} else {
			cfg.WatchInterval = iv
		}
	}
}

// compileDefault makes the default policy of the global tables: the
// global-only [ticket] keys, then the per-location keys (locKeys), then
// what follows the dialect. secretOK is false when no secret is usable.
func (c *compiler) compileDefault(rt *rawTicket, global *scope) (def *Policy, secretOK bool) {
	def = &Policy{Options: verifier.Options{MaxFuture: defaultMaxFuture}}
	secretOK = c.compileSecrets(key("ticket"), &rt.rawSecrets, &def.Options)
	if setDuration(c, key("ticket", "max_future"), &rt.MaxFuture, &def.Options.MaxFuture, durRule{wholeSeconds: true}) &&
		def.Options.MaxFuture == 0 {
		def.Options.MaxFuture = -1 // verifier: 0 would mean its default; negative means none
	}
	c.applyLoc(def, global)
	c.applyDialect(def, nil, global, global)
	return def, secretOK
}

// compilePolicy makes [policy.NAME]: a copy of the default policy that
// its own keys override.
func (c *compiler) compilePolicy(rp *rawPolicy, def *Policy, global *scope) *Policy {
	if !validPolicyName(rp.name) {
		c.problem(key("policy", rp.name), "invalid policy name %q (want letters, digits, _ and -, as it is served at /auth/NAME)", rp.name)
	}
	p := *def
	p.Name = rp.name
	own := &scope{loc: rp.loc, policy: rp.name}
	c.compileSecrets(key("policy", rp.name), &rp.rawSecrets, &p.Options)
	c.applyLoc(&p, own)
	c.applyDialect(&p, def, own, global)
	tk := key("policy", rp.name, "tokens")
	if v, ok := get(c, tk, &rp.Tokens); ok {
		if toks, err := parseTokens(v); err != nil {
			c.problem(tk, "%v", err)
		} else {
			p.Tokens = toks
		}
	}
	return &p
}

// buildVerifier gives p the verifier its settings make.
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
// p was copied from parent, the default policy): the per-location keys
// set neither in own nor in the global tables take their defaults, some
// of which follow the dialect (locKeys' dflt); the dialect-only keys are
// read and checked against p's dialect; and the combinations the dialect's
// library cannot have are refused.
//
// digest_type set neither in the policy nor in [ticket] is the policy's
// dialect's default digest (MD5, or SHA512 for pyramid); a passport
// policy needs "MD5".
//
// The dialect-only keys of [ticket] belong to the global dialect: a policy
// of another dialect does not inherit them.
func (c *compiler) applyDialect(p, parent *Policy, own, global *scope) {
	d := p.Dialect
	// Settings of [ticket] that this policy inherits although its dialect
	// differs are blamed on the policy (the key to set is named); those of
	// a policy keeping the global dialect were blamed in [ticket] already.
	switched := parent != nil && parent.Dialect != d
	applyDefaults(p, own, global, switched)
	c.applyDialectOnly(p, own)
	if len(p.UserDataHeaders) > 0 && !p.DialectOptions.PassportJSONUserData {
		// Blamed where the headers were set, or where a policy turns off
		// the JSON its inherited headers need.
		switch {
		case own.loc[locUserDataHeader].isSet():
			c.problem(own.key(locUserDataHeader), "needs JSON user data (passport_json_user_data = true)")
		case own.loc[locJSONUserData].isSet():
			c.problem(own.key(locJSONUserData), "user_data_headers (inherited from [ticket]) needs JSON user data")
		}
	}

	here := "[ticket]"
	if own.policy != "" {
		here = "[policy." + own.policy + "]"
	}
	if d == verifier.Passport && p.Options.Digest != verifier.MD5 {
		switch {
		case parent == nil || own.loc[locDigestType].isSet():
			c.problem(own.key(locDigestType), `passport-authtkt only signs with MD5: leave digest_type out or set it to "MD5" (the dialect here is "passport")`)
		case switched:
			c.problem(own.key(locDialect), "passport-authtkt only signs with MD5, but this policy inherits ticket.digest_type = %v: set digest_type = \"MD5\" in %s", p.Options.Digest, here)
		}
	}
	if d == verifier.Pyramid && p.Options.Refresh != 0 {
		switch {
		case own.loc[locTimeoutRefresh].isSet():
			c.problem(own.key(locTimeoutRefresh), "%v: pyramid has no refresh fraction (want 0 or no timeout_refresh; pyramid re-issues tickets after reissue_time)", p.Options.Refresh)
		case switched:
			c.problem(own.key(locTimeoutRefresh), "inherits ticket.timeout_refresh = %v, but pyramid has no refresh fraction: set timeout_refresh = 0 in %s (pyramid re-issues tickets after reissue_time)", p.Options.Refresh, here)
		}
	}
	if d != verifier.ModAuthTkt && p.GuestCookie {
		switch {
		case own.loc[locGuestCookie].isSet():
			c.problem(own.key(locGuestCookie), "guest tickets are mod_auth_tkt's: not available with dialect %q", d)
		case switched:
			c.problem(own.key(locGuestCookie), "inherits guest.cookie = true, but guest tickets are mod_auth_tkt's: set guest_cookie = false in %s (dialect %q)", here, d)
		}
	}
}

// compileLimits reads [limits]: what one connection may cost.
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

// compileClientIP reads [client_ip]: whom to believe about client addresses.
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
