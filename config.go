package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tktgate/tktgate/verifier"
)

// Config is a loaded, validated configuration: the server uses it as is.
type Config struct {
	Path          string
	Listen        string // "host:port" or "unix:/path"
	LogLevel      slog.Level
	LogRequests   logRequests   // which auth answers get an audit line (see audit.go)
	SocketMode    os.FileMode   // permissions of a unix listen socket
	CPUScheduling cpuScheduling // the scheduling policy set at start-up (see sched.go)
	MetricsListen string        // separate listener for /metrics; "" = the main one
	Watch         bool          // reload when a watched file changes (see watch.go)
	WatchInterval time.Duration // how often the watched files are looked at
	SecretFiles   []string      // every policy's secret files, as opened, each once; watched with the config file
	Limits        Limits
	ClientIP      ClientIP
	Cache         Cache
	// RevocationFile is [revocation] file, as opened ("" = none); watched
	// with the config file, and reloaded alone when it alone changes.
	RevocationFile string
	// Redis is [revocation] redis (nil = none): entries shared through
	// Redis, in force with the file's.
	Redis    *RedisSource
	revoked  []revEntry         // its entries when the config was loaded
	revState fileState          // the file as it was just before it was read
	Default  *Policy            // served at /auth
	Policies map[string]*Policy // served at /auth/NAME
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
	// URLTicketRedirect: a GET or HEAD with a URL ticket is answered with
	// its cookie and a redirect to the same page without the ticket.
	URLTicketRedirect bool
	CookieExpires     time.Duration // 0 = session cookie
	Tokens            [][]byte      // any one of them grants access; empty = no requirement
	LoginURL          string
	TimeoutURL        string
	PostTimeoutURL    string
	UnauthURL         string
	BackArgName       string // "" = no back argument
	BackCookieName    string
	GuestLogin        bool
	GuestUser         string // may contain %U or %NU
	GuestEmpty        bool   // guests are "", as with TKTAuthGuestEmpty
	GuestFallback     bool
	GuestCookie       bool
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
	defaultWatchInterval  = time.Second
	minWatchInterval      = 10 * time.Millisecond
	maxWatchInterval      = time.Hour
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
	return loadConfig(path, true)
}

// loadConfig is LoadConfig, reading the revocation file or not (tktgate
// revoke reads and repairs it itself).
func loadConfig(path string, revocations bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(data, path, revocations)
}

// ParseConfig validates a configuration. path names it in messages, and
// relative secret files are looked up in its directory. The error, if any,
// is a *ConfigError.
func ParseConfig(data []byte, path string) (*Config, error) {
	return parseConfig(data, path, true)
}

func parseConfig(data []byte, path string, revocations bool) (*Config, error) {
	scan := scanKeys(data)
	c := &compiler{path: path, lines: scan.lines, reported: map[string]bool{}, noRevocationFile: !revocations}
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

	var r rawSections
	r.decode(c, &raw)
	c.checkUnknownKeys()

	cfg := c.compile(&raw, &r)
	if err := c.err(); err != nil {
		return nil, err
	}
	cfg.Path = path
	cfg.SecretFiles = c.files
	return cfg, nil
}

// compiler collects the problems found while turning raw values into a Config.
type compiler struct {
	path     string
	md       *toml.MetaData
	lines    map[string]int  // lower-cased key -> line of first appearance
	probs    []Problem       // in order found; sorted by line in err
	reported map[string]bool // keys already blamed; their sub-keys are not
	files    []string        // secret files read, for Config.SecretFiles
	read     map[string]fileRead
	// noRevocationFile: [revocation] file is named, not read.
	noRevocationFile bool
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
