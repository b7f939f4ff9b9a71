package main

// The [revocation] table: where the revocation list comes from.

import (
	"errors"
	"io/fs"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// rawRevocation is [revocation].
type rawRevocation struct {
	File              opt[string]   `toml:"file"`
	Redis             opt[string]   `toml:"redis"`
	RedisPasswordFile opt[string]   `toml:"redis_password_file"`
	RedisResync       opt[duration] `toml:"redis_resync"`
	RedisRequired     opt[bool]     `toml:"redis_required"`
}

// compileRevocation reads [revocation] file and, unless the compiler is
// told not to (tktgate revoke, which must work on a missing or broken
// file), the file itself: at start-up and on reload, a file that cannot
// be read or parsed is a problem of the key, naming the file's line.
func (c *compiler) compileRevocation(rr *rawRevocation, cfg *Config) {
	c.compileRedis(rr, cfg)
	k := key("revocation", "file")
	name, ok := get(c, k, &rr.File)
	if !ok {
		return
	}
	if name == "" {
		c.problem(k, "empty file name")
		return
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(c.path), name)
	}
	cfg.RevocationFile = name
	if c.noRevocationFile {
		return
	}
	cfg.revState = statFile(name)
	entries, err := readRevocationFile(name)
	if err != nil {
		var pe *fs.PathError
		var fe *revFileError
		switch {
		case errors.As(err, &pe):
			c.problem(k, "cannot read %s: %v (create it empty to start with no revocations)", name, pe.Err)
		case errors.As(err, &fe):
			for _, p := range fe.probs {
				c.problem(k, "%s", p)
			}
		default:
			c.problem(k, "%v", err)
		}
		return
	}
	cfg.revoked = entries
}

// RedisSource is [revocation] redis and its companions: revocation
// entries shared by every replica through Redis (see redis.go).
// Comparable: a reload that changes none of it keeps the connection and
// the entries loaded.
type RedisSource struct {
	URL      string // redis://, rediss:// or unix://; never holds a password
	password string // from redis_password_file; "" = none
	Resync   time.Duration
	Required bool // not ready until the first full load has succeeded
}

const (
	defaultRedisResync = 30 * time.Second
	minRedisResync     = time.Second
)

// compileRedis reads the redis keys of [revocation]. The URL is checked
// here, with go-redis's own parser, so that a typo is a config error and
// not a replica that retries forever.
func (c *compiler) compileRedis(rr *rawRevocation, cfg *Config) {
	k := key("revocation", "redis")
	rawURL, ok := get(c, k, &rr.Redis)
	if !ok {
		for _, o := range []struct {
			name string
			set  bool
		}{{"redis_password_file", rr.RedisPasswordFile.Set}, {"redis_resync", rr.RedisResync.Set}, {"redis_required", rr.RedisRequired.Set}} {
			if o.set {
				c.problem(key("revocation", o.name), "set without [revocation] redis")
			}
		}
		return
	}
	src := &RedisSource{URL: rawURL, Resync: defaultRedisResync}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error quotes the URL, which may hold a password.
		c.problem(k, "not a URL (want redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH?db=DB)")
		return
	}
	if _, has := u.User.Password(); has {
		c.problem(k, "holds a password: put it in redis_password_file, which is never logged")
		return
	}
	if _, err := redis.ParseURL(rawURL); err != nil {
		c.problem(k, "%v (want redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH?db=DB)", err)
		return
	}
	if rr.RedisPasswordFile.Set {
		none := opt[string]{}
		pw, ok := c.secret(key("revocation", "redis_password"), &none, key("revocation", "redis_password_file"), &rr.RedisPasswordFile, true)
		if !ok {
			return
		}
		src.password = string(pw)
	}
	var d time.Duration
	if setDuration(c, key("revocation", "redis_resync"), &rr.RedisResync, &d, durRule{max: time.Hour}) {
		if d < minRedisResync {
			c.problem(key("revocation", "redis_resync"), "%v is too short (at least %v)", d, minRedisResync)
			return
		}
		src.Resync = d
	}
	setBool(c, key("revocation", "redis_required"), &rr.RedisRequired, &src.Required)
	cfg.Redis = src
}

// String is the source for messages: its URL, never the password (%v of
// a RedisSource would otherwise print it).
func (r RedisSource) String() string { return r.URL }

// GoString is String for %#v.
func (r RedisSource) GoString() string { return "RedisSource{URL: " + strconv.Quote(r.URL) + "}" }
