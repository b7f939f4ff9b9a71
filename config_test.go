package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

// sec is the smallest valid [ticket] table; tests append keys to it.
const sec = "[ticket]\nsecret = \"s\"\n"

// testPath puts relative secret files in testdata/config.
var testPath = filepath.Join("testdata", "config", "test.toml")

func parse(t *testing.T, conf string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(conf), testPath)
	if err != nil {
		t.Fatalf("ParseConfig(%q): unexpected error:\n%v", conf, err)
	}
	return c
}

// problems returns the problems ParseConfig finds in conf.
func problems(t *testing.T, conf string) []Problem {
	t.Helper()
	_, err := ParseConfig([]byte(conf), testPath)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("ParseConfig(%q): error %v (%T), want a *ConfigError", conf, err, err)
	}
	return ce.Problems
}

// TestConfigErrors: conf loads when want is "", and otherwise fails with an
// error containing want.
func TestConfigErrors(t *testing.T) {
	f := func(conf, want string) {
		t.Helper()
		c, err := ParseConfig([]byte(conf), testPath)
		switch {
		case want == "" && err != nil:
			t.Errorf("ParseConfig(%q): unexpected error:\n%v", conf, err)
		case want == "" && c == nil:
			t.Errorf("ParseConfig(%q): nil config and nil error", conf)
		case want != "" && err == nil:
			t.Errorf("ParseConfig(%q): no error, want one containing %q", conf, want)
		case want != "" && !strings.Contains(err.Error(), want):
			t.Errorf("ParseConfig(%q): error\n%v\nwant it to contain %q", conf, err, want)
		case want != "" && c != nil:
			t.Errorf("ParseConfig(%q): a config along with an error", conf)
		}
	}

	// The minimum.
	f(sec, "")
	f("", "ticket.secret: required (or ticket.secret_file)")
	f("[ticket]\n", "ticket.secret: required")

	// Syntax errors carry the parser's line and key, in words of our own
	// (configerr_test.go: never a value).
	f("listen = \n"+sec, "test.toml:1: syntax error in key listen: missing value")
	f("[ticket\nsecret = \"s\"\n", "test.toml:1: syntax error: invalid table header (want [name])")
	f(sec+"secret = \"again\"\n", "test.toml:3: syntax error in key ticket.secret: defined twice")
	f("listen = \"a\" \"b\"\n"+sec, "test.toml:1: syntax error in key listen: unexpected text after the value")
	f(sec+"[policy.x]\ntokens = [\n\"a\",\nb]\n", "test.toml:6: syntax error in key policy.x.tokens (line 4): invalid value")
	f(sec+"[ticket]\n", "test.toml:3: syntax error in table [ticket]: defined twice")

	// listen
	f(`listen = "127.0.0.1:9180"`+"\n"+sec, "")
	f(`listen = ":9180"`+"\n"+sec, "")
	f(`listen = "localhost:80"`+"\n"+sec, "")
	f(`listen = "[::1]:9180"`+"\n"+sec, "")
	f(`listen = "unix:/run/tktgate.sock"`+"\n"+sec, "")
	f(`listen = "unix:"`+"\n"+sec, `test.toml:1: listen: invalid unix socket path ""`)
	f(`listen = "unix:@tktgate"`+"\n"+sec, `test.toml:1: listen: abstract unix socket "@tktgate": any local user could connect`)
	f(`metrics_listen = "unix:@m"`+"\n"+sec, `test.toml:1: metrics_listen: abstract unix socket "@m"`)
	f(`listen = "9180"`+"\n"+sec, `test.toml:1: listen: invalid address "9180"`)
	f(`listen = "host:99999"`+"\n"+sec, `listen: invalid address "host:99999"`)
	f(`listen = "host:http"`+"\n"+sec, `listen: invalid address "host:http"`)
	f(`listen = ""`+"\n"+sec, `listen: invalid address ""`)
	f(`listen = 9180`+"\n"+sec, "test.toml:1: listen: want a string, not an integer")

	// log_level
	f(`log_level = "debug"`+"\n"+sec, "")
	f(`log_level = "ERROR"`+"\n"+sec, "")
	f(`log_level = "verbose"`+"\n"+sec, `log_level: unknown level "verbose" (want debug, info, warn or error)`)
	f(`log_level = "warning"`+"\n"+sec, `log_level: unknown level "warning"`)
	f(`log_level = 1`+"\n"+sec, "log_level: want a string, not an integer")

	// socket_mode
	f(`socket_mode = "0600"`+"\n"+sec, "")
	f(`socket_mode = "0o640"`+"\n"+sec, "")
	f(`socket_mode = "0999"`+"\n"+sec, `socket_mode: invalid mode "0999"`)
	f(`socket_mode = "01777"`+"\n"+sec, `socket_mode: invalid mode "01777"`)
	f(`socket_mode = ""`+"\n"+sec, `socket_mode: invalid mode ""`)
	f(`socket_mode = "rw-rw----"`+"\n"+sec, `socket_mode: invalid mode "rw-rw----"`)
	f(`socket_mode = 660`+"\n"+sec, `socket_mode: want a string such as "0660", not an integer`)
	f(`socket_mode = 0o660`+"\n"+sec, `socket_mode: want a string such as "0660"`)

	// metrics_listen
	f(`metrics_listen = "127.0.0.1:9181"`+"\n"+sec, "")
	f(`metrics_listen = "unix:/run/m.sock"`+"\n"+sec, "")
	f(`metrics_listen = ""`+"\n"+sec, "")
	f(`metrics_listen = "127.0.0.1:9180"`+"\n"+sec, "metrics_listen: same as listen")
	f("listen = \"unix:/a\"\nmetrics_listen = \"unix:/a\"\n"+sec, "test.toml:2: metrics_listen: same as listen")
	f(`metrics_listen = "nope"`+"\n"+sec, `metrics_listen: invalid address "nope"`)
	f(`metrics_listen = false`+"\n"+sec, "metrics_listen: want a string, not a boolean")

	// log_requests
	f(`log_requests = "denied"`+"\n"+sec, "")
	f(`log_requests = "ALL"`+"\n"+sec, `test.toml:1: log_requests: unknown value "ALL" (want "none", "denied" or "all")`)
	f(`log_requests = true`+"\n"+sec, `test.toml:1: log_requests: want a string, not a boolean`)
	f(sec+`log_requests = "all"`+"\n", `ticket.log_requests: unknown key`)

	// cpu_scheduling
	f(`cpu_scheduling = "batch"`+"\n"+sec, "")
	f(`cpu_scheduling = "idle"`+"\n"+sec, `test.toml:1: cpu_scheduling: unknown value "idle" (want "inherit", "batch" or "other")`)
	f(`cpu_scheduling = 3`+"\n"+sec, `test.toml:1: cpu_scheduling: want a string, not an integer`)

	// watch and watch_interval
	f(`watch = false`+"\n"+sec, "")
	f(`watch = "no"`+"\n"+sec, `test.toml:1: watch: want a boolean (true or false), not a string`)
	f(`watch = 0`+"\n"+sec, `test.toml:1: watch: want a boolean (true or false), not an integer`)
	f(`watch_interval = "100ms"`+"\n"+sec, "")
	f(`watch_interval = 2`+"\n"+sec, "")
	f(`watch_interval = "5ms"`+"\n"+sec, `test.toml:1: watch_interval: 5ms is too short (at least 10ms)`)
	f(`watch_interval = 0`+"\n"+sec, `test.toml:1: watch_interval: 0s is too short`)
	f(`watch_interval = "2h"`+"\n"+sec, `test.toml:1: watch_interval: 2h0m0s is too long (at most 1h0m0s)`)
	f(`watch_interval = "soon"`+"\n"+sec, `test.toml:1: watch_interval: `)
	f(`watch_interval = true`+"\n"+sec, `test.toml:1: watch_interval: want an integer number of seconds or a duration string such as "2h", not a boolean`)
	f(`Watch = true`+"\n"+sec, `test.toml:1: Watch: key must be spelled "watch"`)
	f(`watch_intervall = "1s"`+"\n"+sec, `test.toml:1: watch_intervall: unknown key`)
	f("[ticket]\nsecret = \"s\"\nwatch = true\n", `test.toml:3: ticket.watch: unknown key`)

	// [ticket] secret and secret_file
	f("[ticket]\nsecret = \"\"\n", "test.toml:2: ticket.secret: empty secret")
	f("[ticket]\nsecret = 42\n", "ticket.secret: want a string, not an integer")
	f("[ticket]\nsecret_file = \"secret.txt\"\n", "")
	f("[ticket]\nsecret = \"s\"\nsecret_file = \"secret.txt\"\n", "test.toml:3: ticket.secret_file: set only one of ticket.secret and ticket.secret_file")
	f("[ticket]\nsecret_file = \"nope.txt\"\n", "test.toml:2: ticket.secret_file: cannot read "+filepath.Join("testdata", "config", "nope.txt")+": no such file or directory")
	f("[ticket]\nsecret_file = \".\"\n", "ticket.secret_file: cannot read "+filepath.Join("testdata", "config")+": not a regular file")
	f("[ticket]\nsecret_file = \"/dev/zero\"\n", "ticket.secret_file: cannot read /dev/zero: not a regular file")
	f("[ticket]\nsecret_file = \"secret_empty.txt\"\n", "ticket.secret_file: "+filepath.Join("testdata", "config", "secret_empty.txt")+" is empty")
	f("[ticket]\nsecret_file = \"\"\n", "ticket.secret_file: empty file name")
	f("[ticket]\nsecret_file = [\"secret.txt\"]\n", "ticket.secret_file: want a string, not an array")

	// secret_old and secret_old_file
	f(sec+"secret_old = \"old\"\n", "")
	f(sec+"secret_old = \"\"\n", "")
	f(sec+"secret_old_file = \"secret_old.txt\"\n", "")
	f(sec+"secret_old_file = \"secret_empty.txt\"\n", "")
	f(sec+"secret_old = \"o\"\nsecret_old_file = \"secret_old.txt\"\n", "test.toml:4: ticket.secret_old_file: set only one of ticket.secret_old and ticket.secret_old_file")
	f(sec+"secret_old_file = \"missing-old\"\n", "test.toml:3: ticket.secret_old_file: cannot read "+filepath.Join("testdata", "config", "missing-old"))
	f(sec+"secret_old = true\n", "ticket.secret_old: want a string, not a boolean")

	// A policy's own secrets: the same rules, named in the policy.
	f(sec+"[policy.a]\nsecret = \"t\"\nsecret_old = \"u\"\n", "")
	f(sec+"[policy.a]\nsecret_file = \"secret.txt\"\nsecret_old_file = \"secret_old.txt\"\n", "")
	f(sec+"[policy.a]\nsecret_old = \"\"\n", "")
	f(sec+"[policy.a]\nsecret = \"\"\n", "test.toml:4: policy.a.secret: empty secret")
	f(sec+"[policy.a]\nsecret = 1\n", "test.toml:4: policy.a.secret: want a string, not an integer")
	f(sec+"[policy.a]\nsecret = \"t\"\nsecret_file = \"secret.txt\"\n", "test.toml:5: policy.a.secret_file: set only one of policy.a.secret and policy.a.secret_file")
	f(sec+"[policy.a]\nsecret_file = \"secret_empty.txt\"\n", "policy.a.secret_file: "+filepath.Join("testdata", "config", "secret_empty.txt")+" is empty")
	f(sec+"[policy.a]\nsecret_file = \"nope.txt\"\n", "test.toml:4: policy.a.secret_file: cannot read "+filepath.Join("testdata", "config", "nope.txt"))
	f(sec+"[policy.a]\nsecret_old = \"o\"\nsecret_old_file = \"secret_old.txt\"\n", "policy.a.secret_old_file: set only one of policy.a.secret_old and policy.a.secret_old_file")
	f(sec+"[policy.a]\nsecret_old_file = \"\"\n", "policy.a.secret_old_file: empty file name")
	f(sec+"[policy.a]\ndigest_type = \"MD4\"\n", `test.toml:4: policy.a.digest_type: unknown digest "MD4"`)
	f(sec+"[policy.a]\ndigest_type = \"SHA256\"\n", "")

	// digest_type
	f(sec+"digest_type = \"MD5\"\n", "")
	f(sec+"digest_type = \"sha256\"\n", "")
	f(sec+"digest_type = \"Sha512\"\n", "")
	f(sec+"digest_type = \"MD4\"\n", `test.toml:3: ticket.digest_type: unknown digest "MD4" (want MD5, SHA256 or SHA512)`)
	f(sec+"digest_type = \"SHA-256\"\n", `ticket.digest_type: unknown digest "SHA-256"`)
	f(sec+"digest_type = \"\"\n", `ticket.digest_type: unknown digest ""`)
	f(sec+"digest_type = 256\n", "ticket.digest_type: want a string, not an integer")

	// cookie_name
	f(sec+"cookie_name = \"my_tkt\"\n", "")
	f(sec+"cookie_name = \"a.b-c\"\n", "")
	f(sec+"cookie_name = \"\"\n", "ticket.cookie_name: empty cookie name")
	f(sec+"cookie_name = \"a b\"\n", `ticket.cookie_name: invalid cookie name "a b"`)
	f(sec+"cookie_name = \"a=b\"\n", `ticket.cookie_name: invalid cookie name "a=b"`)
	f(sec+"cookie_name = \"a;b\"\n", `ticket.cookie_name: invalid cookie name "a;b"`)
	f(sec+"cookie_name = \"a,b\"\n", `ticket.cookie_name: invalid cookie name "a,b"`)
	f(sec+"cookie_name = \"a\\tb\"\n", `ticket.cookie_name: invalid cookie name`)
	f(sec+"cookie_name = \"tkt\\u00e9\"\n", `ticket.cookie_name: invalid cookie name`)
	f(sec+"cookie_name = 1\n", "ticket.cookie_name: want a string, not an integer")

	// ignore_ip, cookie_secure
	f(sec+"ignore_ip = true\n", "")
	f(sec+"ignore_ip = \"yes\"\n", "test.toml:3: ticket.ignore_ip: want a boolean (true or false), not a string")
	f(sec+"ignore_ip = 1\n", "ticket.ignore_ip: want a boolean (true or false), not an integer")
	f(sec+"cookie_secure = true\n", "")
	f(sec+"cookie_secure = \"true\"\n", "ticket.cookie_secure: want a boolean (true or false), not a string")

	// timeout (more forms in TestConfigDurations)
	f(sec+"timeout = \"2h\"\n", "")
	f(sec+"timeout = 0\n", "")
	f(sec+"timeout = \"-5s\"\n", `test.toml:3: ticket.timeout: negative duration "-5s"`)
	f(sec+"timeout = -5\n", "ticket.timeout: negative duration -5")
	f(sec+"timeout = \"1.5s\"\n", "ticket.timeout: 1.5s is not a whole number of seconds")
	f(sec+"timeout = \"500ms\"\n", "ticket.timeout: 500ms is not a whole number of seconds")
	f(sec+"timeout = 1.5\n", `ticket.timeout: want an integer number of seconds or a duration string such as "2h", not a float`)
	f(sec+"timeout = \"200y\"\n", "ticket.timeout: 1752000h0m0s is too long")
	f(sec+"timeout = \"300y\"\n", `ticket.timeout: duration "300y" is too long`)
	f(sec+"timeout = 9223372036854775807\n", "ticket.timeout: duration 9223372036854775807 s is too long")
	f(sec+"timeout = \"\"\n", "ticket.timeout: empty duration")
	f(sec+"timeout = \"2 hours\"\n", `ticket.timeout: invalid duration "2 hours"`)
	f(sec+"timeout = \"2H\"\n", `ticket.timeout: invalid duration "2H": unknown unit "H"`)
	f(sec+"timeout = true\n", "ticket.timeout: want an integer number of seconds")

	// timeout_refresh
	f(sec+"timeout_refresh = 0\n", "")
	f(sec+"timeout_refresh = 1\n", "")
	f(sec+"timeout_refresh = 0.25\n", "")
	f(sec+"timeout_refresh = 1.0\n", "")
	f(sec+"timeout_refresh = 1.5\n", "test.toml:3: ticket.timeout_refresh: 1.5 is not within 0..1")
	f(sec+"timeout_refresh = 2\n", "ticket.timeout_refresh: 2 is not within 0..1")
	f(sec+"timeout_refresh = -0.1\n", "ticket.timeout_refresh: -0.1 is not within 0..1")
	f(sec+"timeout_refresh = nan\n", "ticket.timeout_refresh: NaN is not within 0..1")
	f(sec+"timeout_refresh = inf\n", "ticket.timeout_refresh: +Inf is not within 0..1")
	f(sec+"timeout_refresh = \"0.5\"\n", "ticket.timeout_refresh: want a number, not a string")

	// domain
	f(sec+"domain = \".example.com\"\n", "")
	f(sec+"domain = \"\"\n", "")
	f(sec+"domain = \"a b\"\n", `ticket.domain: invalid cookie domain "a b"`)
	f(sec+"domain = \"a;b\"\n", `ticket.domain: invalid cookie domain "a;b"`)
	f(sec+"domain = \"a,b\"\n", `ticket.domain: invalid cookie domain "a,b"`)
	f(sec+"domain = \"a\\nb\"\n", `ticket.domain: invalid cookie domain`)
	f(sec+"domain = 1\n", "ticket.domain: want a string, not an integer")

	// cookie_expires
	f(sec+"cookie_expires = \"\"\n", "")
	f(sec+"cookie_expires = \"1d\"\n", "")
	f(sec+"cookie_expires = 3600\n", "")
	f(sec+"cookie_expires = \"0.5s\"\n", "ticket.cookie_expires: 500ms is not a whole number of seconds")
	f(sec+"cookie_expires = \"-1d\"\n", `ticket.cookie_expires: negative duration "-1d"`)
	f(sec+"cookie_expires = false\n", "ticket.cookie_expires: want an integer number of seconds")

	// max_future
	f(sec+"max_future = \"0\"\n", "")
	f(sec+"max_future = \"10m\"\n", "")
	f(sec+"max_future = \"1.5s\"\n", "ticket.max_future: 1.5s is not a whole number of seconds")
	f(sec+"max_future = \"-1m\"\n", "ticket.max_future: negative duration")
	f(sec+"max_future = [1]\n", "ticket.max_future: want an integer number of seconds or a duration string such as \"2h\", not an array")

	// dialect
	f(sec+"dialect = \"mod_auth_tkt\"\n", "")
	f(sec+"dialect = \"passport\"\n", "")
	f(sec+"dialect = \"pyramid\"\n", "")
	f(sec+"dialect = \"apache\"\n", `test.toml:3: ticket.dialect: unknown dialect "apache" (want mod_auth_tkt, passport or pyramid)`)
	f(sec+"dialect = \"Passport\"\n", `ticket.dialect: unknown dialect "Passport"`)
	f(sec+"dialect = 1\n", "ticket.dialect: want a string, not an integer")
	f(sec+"dialect = \"MOD_AUTH_TKT\"\n", `ticket.dialect: unknown dialect "MOD_AUTH_TKT"`)

	// [client_ip]
	f(sec+"[client_ip]\nheader = \"X-Forwarded-For\"\n", "")
	f(sec+"[client_ip]\nheader = \"x-real-ip\"\n", "")
	f(sec+"[client_ip]\nheader = \"\"\n", "")
	f(sec+"[client_ip]\nheader = \"Forwarded\"\n", `test.toml:4: client_ip.header: unsupported header "Forwarded"`)
	f(sec+"[client_ip]\nheader = \"X-Real-IP \"\n", `client_ip.header: unsupported header "X-Real-IP "`)
	f(sec+"[client_ip]\nheader = [\"X-Real-IP\"]\n", "client_ip.header: want a string, not an array")
	f(sec+"[client_ip]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.168.1.1\", \"fd00::/8\", \"::1\"]\n", "")
	f(sec+"[client_ip]\ntrusted_proxies = []\n", "")
	f(sec+"[client_ip]\ntrusted_proxies = [\"nope\"]\n", `test.toml:4: client_ip.trusted_proxies: invalid address "nope"`)
	f(sec+"[client_ip]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", `client_ip.trusted_proxies: invalid CIDR "10.0.0.0/33"`)
	f(sec+"[client_ip]\ntrusted_proxies = [\"10.0.0.0/\"]\n", `client_ip.trusted_proxies: invalid CIDR "10.0.0.0/"`)
	f(sec+"[client_ip]\ntrusted_proxies = [\"fe80::1%eth0\"]\n", `client_ip.trusted_proxies: invalid address "fe80::1%eth0"`)
	f(sec+"[client_ip]\ntrusted_proxies = \"10.0.0.0/8\"\n", "client_ip.trusted_proxies: want an array of strings, not a string")
	f(sec+"[client_ip]\ntrusted_proxies = [\"10.0.0.1\", 1]\n", "client_ip.trusted_proxies: want an array of strings, not an array holding an integer")

	// [redirect] URLs
	for _, k := range []string{"login_url", "timeout_url", "post_timeout_url", "unauth_url"} {
		r := sec + "[redirect]\n" + k + " = "
		f(r+`"/login"`, "")
		f(r+`"/login?from=tktgate&x=1"`, "")
		f(r+`"https://login.example.com/in"`, "")
		f(r+`"HTTP://login.example.com"`, "")
		f(r+`""`, "")
		f(r+`"login"`, "") // "/login", as mod_auth_tkt reads it
		f(r+`"pub/login.cgi?x=1"`, "")
		f(r+`"a:b/login"`, `test.toml:4: redirect.`+k+`: URL "a:b/login" is neither an absolute http(s) URL nor a path (from the host's root: "/login" or "login")`)
		f(r+`"a b"`, `redirect.`+k+`: URL "a b" contains whitespace or a control character`)
		f(r+`"//evil.example"`, `redirect.`+k+`: URL "//evil.example" is scheme-relative`)
		f(r+`"/\\evil.example"`, `redirect.`+k+`: URL "/\\evil.example" contains a backslash`)
		f(r+`"ftp://example.com/"`, `redirect.`+k+`: URL "ftp://example.com/" is neither`)
		f(r+`"javascript:alert(1)"`, `redirect.`+k+`: URL "javascript:alert(1)" is neither`)
		f(r+`"http:///path"`, `redirect.`+k+`: URL "http:///path" is neither`)
		f(r+`"/a b"`, `redirect.`+k+`: URL "/a b" contains whitespace or a control character`)
		f(r+`"/a\r\nb"`, `redirect.`+k+`: URL "/a\r\nb" contains whitespace or a control character`)
		f(r+`"/a\u0000"`, `redirect.`+k+`: URL "/a\x00" contains whitespace or a control character`)
		f(r+`"/caf\u00e9"`, `redirect.`+k+`: URL "/café" contains non-ASCII bytes`)
		f(r+`"/login#top"`, `redirect.`+k+`: URL "/login#top" has a fragment`)
		f(r+`1`, `redirect.`+k+`: want a string, not an integer`)
	}

	// back_arg_name, back_cookie_name
	f(sec+"[redirect]\nback_arg_name = \"None\"\n", "")
	f(sec+"[redirect]\nback_arg_name = \"return_to\"\n", "")
	f(sec+"[redirect]\nback_arg_name = \"\"\n", `test.toml:4: redirect.back_arg_name: empty name (use "None" to send no back argument)`)
	f(sec+"[redirect]\nback_arg_name = \"a=b\"\n", `redirect.back_arg_name: invalid query parameter name "a=b"`)
	f(sec+"[redirect]\nback_arg_name = \"a&b\"\n", `redirect.back_arg_name: invalid query parameter name "a&b"`)
	f(sec+"[redirect]\nback_arg_name = \"a b\"\n", `redirect.back_arg_name: invalid query parameter name "a b"`)
	f(sec+"[redirect]\nback_arg_name = false\n", "redirect.back_arg_name: want a string, not a boolean")
	f(sec+"[redirect]\nback_cookie_name = \"back_to\"\n", "")
	f(sec+"[redirect]\nback_cookie_name = \"\"\n", "")
	f(sec+"[redirect]\nback_cookie_name = \"a;b\"\n", `test.toml:4: redirect.back_cookie_name: invalid cookie name "a;b"`)
	f(sec+"[redirect]\nback_cookie_name = \"a b\"\n", `redirect.back_cookie_name: invalid cookie name "a b"`)

	// [guest]
	f(sec+"[guest]\nlogin = true\nfallback = true\ncookie = true\n", "")
	f(sec+"[guest]\nuser = \"visitor\"\n", "")
	f(sec+"[guest]\nuser = \"guest-%U\"\n", "")
	f(sec+"[guest]\nuser = \"guest-%8U\"\n", "")
	f(sec+"[guest]\nuser = \"%36U\"\n", "")
	f(sec+"[guest]\nuser = \"100%\"\n", "")
	// %NU takes any N, as in mod_auth_tkt; an empty name is guest_empty.
	f(sec+"[guest]\nuser = \"%37U\"\n", "")
	f(sec+"[guest]\nuser = \"guest-%0U\"\n", "")
	f(sec+"[guest]\nuser = \"guest-%50U\"\n", "")
	f(sec+"[guest]\nuser = \"%99999999999999999999U\"\n", "")
	f(sec+"[guest]\nuser = \"\"\n", "test.toml:4: guest.user: empty guest user (for guests without a user name, set guest_empty = true, as TKTAuthGuestEmpty)")
	f(sec+"[guest]\nlogin = true\nempty = true\n", "")
	f(sec+"[guest]\nempty = \"on\"\n", "test.toml:4: guest.empty: want a boolean (true or false), not a string")
	f(sec+"[guest]\nuser = \"a!b\"\n", `guest.user: guest user "a!b" contains '!'`)
	f(sec+"[guest]\nuser = \"a\\nb\"\n", `guest.user: guest user "a\nb" contains a control character`)
	f(sec+"[guest]\nlogin = \"true\"\n", "guest.login: want a boolean (true or false), not a string")
	f(sec+"[guest]\nfallback = 0\n", "guest.fallback: want a boolean (true or false), not an integer")
	f(sec+"[guest]\ncookie = \"no\"\n", "guest.cookie: want a boolean (true or false), not a string")
	f(sec+"[guest]\nuser = 1\n", "guest.user: want a string, not an integer")

	// [limits]
	f(sec+"[limits]\nread_buffer_size = 65536\nmax_conns = 1\n", "")
	f(sec+"[limits]\nread_buffer_size = 1024\n", "")
	f(sec+"[limits]\nread_buffer_size = 1023\n", "test.toml:4: limits.read_buffer_size: 1023 bytes is out of range (want 1024..16777216)")
	f(sec+"[limits]\nread_buffer_size = 16777217\n", "limits.read_buffer_size: 16777217 bytes is out of range")
	f(sec+"[limits]\nread_buffer_size = \"32k\"\n", "limits.read_buffer_size: want an integer, not a string")
	f(sec+"[limits]\nread_buffer_size = 32768.0\n", "limits.read_buffer_size: want an integer, not a float")
	f(sec+"[limits]\nmax_conns = 0\n", "limits.max_conns: 0 is out of range (want 1..2147483647)")
	f(sec+"[limits]\nmax_conns = -1\n", "limits.max_conns: -1 is out of range")
	f(sec+"[limits]\nmax_conns = 2147483648\n", "limits.max_conns: 2147483648 is out of range")
	f(sec+"[limits]\nread_timeout = \"500ms\"\nwrite_timeout = 10\nidle_timeout = \"0\"\nshutdown_timeout = \"1m\"\n", "")
	f(sec+"[limits]\nread_timeout = \"-1s\"\n", `test.toml:4: limits.read_timeout: negative duration "-1s"`)
	f(sec+"[limits]\nwrite_timeout = \"fast\"\n", `limits.write_timeout: invalid duration "fast"`)
	f(sec+"[limits]\nidle_timeout = 1.5\n", "limits.idle_timeout: want an integer number of seconds")
	f(sec+"[limits]\nshutdown_timeout = -1\n", "limits.shutdown_timeout: negative duration -1")

	// [cache]
	f(sec+"[cache]\nmax_age = \"10s\"\n", "")
	f(sec+"[cache]\nmax_age = 0\n", "")
	f(sec+"[cache]\nmax_age = \"1.5s\"\n", "test.toml:4: cache.max_age: 1.5s is not a whole number of seconds")
	f(sec+"[cache]\nmax_age = \"-1s\"\n", "cache.max_age: negative duration")

	// Unknown keys: at the top, in sections, in policies, with hints.
	f("foo = 1\n"+sec, "test.toml:1: foo: unknown key")
	f("secret = \"s\"\n"+sec, "test.toml:1: secret: unknown key (secret belongs in [ticket] or [policy.NAME])")
	f("lissten = \"x\"\n"+sec, "lissten: unknown key (did you mean listen?)")
	f(sec+"secert = \"x\"\n", "test.toml:3: ticket.secert: unknown key (did you mean secret?)")
	f(sec+"login_url = \"/x\"\n", "ticket.login_url: unknown key (login_url belongs in [redirect] or [policy.NAME])")
	f(sec+"tokens = [\"admin\"]\n", "ticket.tokens: unknown key (tokens belongs in [policy.NAME])")
	f(sec+"[tikcet]\nfoo = 1\n", "test.toml:3: tikcet: unknown key (did you mean ticket?)")
	f(sec+"[foo.bar]\nx = 1\n", "test.toml:3: foo: unknown key")
	f(sec+"[client_ip]\nheaders = \"X-Real-IP\"\n", "client_ip.headers: unknown key (did you mean header?)")
	f(sec+"[redirect]\nlogin = \"/x\"\n", "redirect.login: unknown key")
	f(sec+"[guest]\nguest_login = true\n", "test.toml:4: guest.guest_login: unknown key (did you mean login?)")
	f(sec+"[limits]\nmax_connections = 5\n", "limits.max_connections: unknown key")
	f(sec+"[cache]\nsize = 5\n", "cache.size: unknown key")
	f(sec+"[policy.a]\nsecert = \"x\"\n", "test.toml:4: policy.a.secert: unknown key (did you mean secret?)")
	f(sec+"[policy.a]\nsecret_olf = \"x\"\n", "policy.a.secret_olf: unknown key (did you mean secret_old?)")
	f(sec+"[policy.a]\nmax_future = \"1m\"\n", "policy.a.max_future: unknown key (max_future is global only")
	f(sec+"[policy.a]\nlogin = true\n", "policy.a.login: unknown key (did you mean guest_login?)")
	f(sec+"[policy.a]\ntoken = [\"a\"]\n", "policy.a.token: unknown key (did you mean tokens?)")
	f(sec+"[policy.a.b]\nx = 1\n", "test.toml:3: policy.a.b: unknown key")
	f("ticket = { secret = \"s\", foo = 1 }\n", "test.toml:1: ticket.foo: unknown key")

	// Keys spelled with another case.
	f("LISTEN = \"127.0.0.1:1\"\n"+sec, `test.toml:1: LISTEN: key must be spelled "listen"`)
	f("[Ticket]\nsecret = \"s\"\n", `test.toml:1: Ticket: key must be spelled "ticket"`)
	f("[ticket]\nSecret = \"s\"\n", `test.toml:2: ticket.Secret: key must be spelled "secret"`)
	f(sec+"Digest_Type = \"MD5\"\n", `test.toml:3: ticket.Digest_Type: key must be spelled "digest_type"`)
	f(sec+"[Policy.a]\ntokens = [\"a\"]\n", `test.toml:3: Policy: key must be spelled "policy"`)
	f(sec+"[policy.a]\nTokens = [\"a\"]\n", `test.toml:4: policy.a.Tokens: key must be spelled "tokens"`)
	f(sec+"[policy.a]\nLogin_URL = \"/x\"\n", `policy.a.Login_URL: key must be spelled "login_url"`)
	f(sec+"[GUEST]\nlogin = true\n", `GUEST: key must be spelled "guest"`)

	// Tables of the wrong type.
	f("ticket = \"s\"\n", "test.toml:1: ticket: must be a table ([ticket]), not a string")
	f("[[ticket]]\nsecret = \"s\"\n", "test.toml:1: ticket: must be a table ([ticket]), not an array of tables")
	f("client_ip = 1\n"+sec, "client_ip: must be a table ([client_ip]), not an integer")
	f("redirect = []\n"+sec, "redirect: must be a table ([redirect]), not an array")
	f("guest = true\n"+sec, "guest: must be a table ([guest]), not a boolean")
	f("limits = 1.5\n"+sec, "limits: must be a table ([limits]), not a float")
	f("cache = 1979-05-27\n"+sec, "cache: must be a table ([cache]), not a date/time")
	f("policy = \"admin\"\n"+sec, "policy: must be a table ([policy]), not a string")
	f(sec+"[policy]\nadmin = [\"admin\"]\n", `test.toml:4: policy.admin: must be a table ([policy.admin]), not an array`)
	f(sec+"[ticket.timeout]\nx = 1\n", `test.toml:3: ticket.timeout: want an integer number of seconds or a duration string such as "2h", not a table`)

	// Policies.
	f(sec+"[policy.admin]\ntokens = [\"admin\"]\n", "")
	f(sec+"[policy.ok-Name_1]\n", "")
	f(sec+"[policy.\"bad name\"]\n", `test.toml:3: policy."bad name": invalid policy name "bad name"`)
	f(sec+"[policy.\"a/b\"]\n", `policy."a/b": invalid policy name "a/b"`)
	f(sec+"[policy.\"a.b\"]\n", `policy."a.b": invalid policy name "a.b"`)
	f(sec+"[policy.\"\"]\n", `policy."": invalid policy name ""`)
	f(sec+"[policy.\"jürgen\"]\n", `invalid policy name "jürgen"`)
	f(sec+"[policy.a]\ntokens = []\n", "")
	f(sec+"[policy.a]\ntokens = [\"NULL\"]\n", "")
	f(sec+"[policy.a]\ntokens = [\"NULL\", \"x\"]\n", `test.toml:4: policy.a.tokens: "NULL" (no token required) cannot be combined with other tokens`)
	f(sec+"[policy.a]\ntokens = [\"\"]\n", "policy.a.tokens: empty token")
	f(sec+"[policy.a]\ntokens = [\"a,b\"]\n", `policy.a.tokens: invalid token "a,b"`)
	f(sec+"[policy.a]\ntokens = [\"a!b\"]\n", `policy.a.tokens: invalid token "a!b"`)
	f(sec+"[policy.a]\ntokens = [\"a b\"]\n", "")
	f(sec+"[policy.a]\ntokens = [\"a \"]\n", `policy.a.tokens: invalid token "a "`)
	f(sec+"[policy.a]\ntokens = [\" a\"]\n", `policy.a.tokens: invalid token " a"`)
	f(sec+"[policy.a]\ntokens = [\"a\\tb\"]\n", `policy.a.tokens: invalid token "a\tb"`)
	f(sec+"[policy.a]\ntokens = \"admin\"\n", "policy.a.tokens: want an array of strings, not a string")
	f(sec+"[policy.a]\ntokens = [1]\n", "policy.a.tokens: want an array of strings, not an array holding an integer")
	// Policy overrides are checked like the global keys, under their own name.
	f(sec+"[policy.a]\ntimeout = \"-1s\"\n", `test.toml:4: policy.a.timeout: negative duration "-1s"`)
	f(sec+"[policy.a]\ntimeout = \"1.5s\"\n", "policy.a.timeout: 1.5s is not a whole number of seconds")
	f(sec+"[policy.a]\ntimeout_refresh = 2\n", "policy.a.timeout_refresh: 2 is not within 0..1")
	f(sec+"[policy.a]\nignore_ip = \"no\"\n", "policy.a.ignore_ip: want a boolean")
	f(sec+"[policy.a]\ncookie_name = \"a b\"\n", "policy.a.cookie_name: invalid cookie name")
	f(sec+"[policy.a]\ndomain = \"a;b\"\n", "policy.a.domain: invalid cookie domain")
	f(sec+"[policy.a]\ncookie_secure = 1\n", "policy.a.cookie_secure: want a boolean")
	f(sec+"[policy.a]\ncookie_expires = \"1.5s\"\n", "policy.a.cookie_expires: 1.5s is not a whole number of seconds")
	f(sec+"[policy.a]\ndialect = \"pyramide\"\n", `test.toml:4: policy.a.dialect: unknown dialect "pyramide"`)
	f(sec+"[policy.a]\nlogin_url = \"x:y\"\n", `policy.a.login_url: URL "x:y" is neither`)
	f(sec+"[policy.a]\ntimeout_url = \"x:y\"\n", `policy.a.timeout_url: URL "x:y" is neither`)
	f(sec+"[policy.a]\npost_timeout_url = \"x:y\"\n", `policy.a.post_timeout_url: URL "x:y" is neither`)
	f(sec+"[policy.a]\nunauth_url = \"x:y\"\n", `policy.a.unauth_url: URL "x:y" is neither`)
	f(sec+"[policy.a]\nback_arg_name = \"\"\n", "policy.a.back_arg_name: empty name")
	f(sec+"[policy.a]\nback_cookie_name = \"a=b\"\n", "policy.a.back_cookie_name: invalid cookie name")
	f(sec+"[policy.a]\nguest_login = \"yes\"\n", "policy.a.guest_login: want a boolean")
	f(sec+"[policy.a]\nguest_user = \"a!\"\n", "policy.a.guest_user: guest user \"a!\" contains '!'")
	f(sec+"[policy.a]\nguest_empty = 1\n", "policy.a.guest_empty: want a boolean")
	f(sec+"[policy.a]\nguest_fallback = 1\n", "policy.a.guest_fallback: want a boolean")
	f(sec+"[policy.a]\nguest_cookie = \"\"\n", "policy.a.guest_cookie: want a boolean")
}

// TestConfigDurations: the duration forms, through ticket.timeout.
func TestConfigDurations(t *testing.T) {
	f := func(value string, want time.Duration) {
		t.Helper()
		c := parse(t, sec+"timeout = "+value+"\n")
		if got := c.Default.Options.Timeout; got != want {
			t.Errorf("timeout = %s: got %v, want %v", value, got, want)
		}
	}
	f(`7200`, 2*time.Hour)
	f(`"7200"`, 2*time.Hour)
	f(`"2h"`, 2*time.Hour)
	f(`"90m"`, 90*time.Minute)
	f(`"1h30m"`, 90*time.Minute)
	f(`"1.5h"`, 90*time.Minute)
	f(`"1d 12h"`, 36*time.Hour)
	f(`"1d12h"`, 36*time.Hour)
	f(`"2w"`, 14*24*time.Hour)
	f(`"1M"`, 30*24*time.Hour)
	f(`"1m"`, time.Minute)
	f(`"1y"`, 365*24*time.Hour)
	f(`"3600 60"`, 61*time.Minute)
	f(`"  45s  "`, 45*time.Second)
	f(`"0"`, 0)
	f(`0`, 0)
	f(`"0s"`, 0)
	f(`"1000ms"`, time.Second)
	f(`"4294967295"`, 4294967295*time.Second)
	f(`"136y"`, 136*365*24*time.Hour)
}

func TestParseDuration(t *testing.T) {
	f := func(s string, want time.Duration, wantErr string) {
		t.Helper()
		got, err := parseDuration(s)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("parseDuration(%q): unexpected error %v", s, err)
		case wantErr == "" && got != want:
			t.Errorf("parseDuration(%q) = %v, want %v", s, got, want)
		case wantErr != "" && err == nil:
			t.Errorf("parseDuration(%q) = %v, want an error containing %q", s, got, wantErr)
		case wantErr != "" && !strings.Contains(err.Error(), wantErr):
			t.Errorf("parseDuration(%q): error %q, want it to contain %q", s, err, wantErr)
		}
	}
	f("1", time.Second, "")
	f("1s", time.Second, "")
	f("1.5s", 1500*time.Millisecond, "")
	f("250ms", 250*time.Millisecond, "")
	f("3us", 3*time.Microsecond, "")
	f("3µs", 3*time.Microsecond, "")
	f("7ns", 7, "")
	f("1h 1m 1s", time.Hour+time.Minute+time.Second, "")
	f("1w 1d", 8*24*time.Hour, "")
	f("2M", 60*24*time.Hour, "")
	f(".5h", 30*time.Minute, "")
	f("292y", 292*365*24*time.Hour, "")
	f("", 0, "empty duration")
	f("   ", 0, "empty duration")
	f("-5s", 0, `negative duration "-5s"`)
	f("-0", 0, "negative duration")
	f("+5s", 0, `invalid duration "+5s"`)
	f("1h30", 0, `invalid duration "1h30": missing unit after 30`)
	f("5x", 0, `unknown unit "x"`)
	f("1H", 0, `unknown unit "H"`)
	f("1D", 0, `unknown unit "D"`)
	f("1 h", 0, `invalid duration "1 h"`)
	f("1..5s", 0, `invalid duration "1..5s"`)
	f(".", 0, `invalid duration "."`)
	f("abc", 0, `invalid duration "abc"`)
	f("1e3", 0, `unknown unit "e"`)
	f("300y", 0, `duration "300y" is too long`)
	f("9223372036s", 9223372036*time.Second, "")
	f("9223372037s", 0, "too long")
}

// TestConfigValues: what a config compiles to.
func TestConfigValues(t *testing.T) {
	f := func(conf string, get func(*Config) any, want any) {
		t.Helper()
		got := get(parse(t, conf))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseConfig(%q): got %#v, want %#v", conf, got, want)
		}
	}
	def := func(c *Config) *Policy { return c.Default }
	pol := func(name string) func(*Config) *Policy {
		return func(c *Config) *Policy { return c.Policies[name] }
	}
	opts := func(c *Config) verifier.Options { return c.Default.Options }

	// Defaults.
	f(sec, func(c *Config) any { return c.Path }, testPath)
	f(sec, func(c *Config) any { return c.Listen }, "127.0.0.1:9180")
	f(sec, func(c *Config) any { return c.LogLevel }, slog.LevelInfo)
	f(sec, func(c *Config) any { return c.SocketMode }, os.FileMode(0o660))
	f(sec, func(c *Config) any { return c.MetricsListen }, "")
	f(sec, func(c *Config) any { return c.LogRequests }, logNone)
	f(`log_requests = "all"`+"\n"+sec, func(c *Config) any { return c.LogRequests }, logAll)
	f(`log_requests = "denied"`+"\n"+sec, func(c *Config) any { return c.LogRequests }, logDenied)
	f(sec, func(c *Config) any { return c.CPUScheduling }, schedInherit)
	f(`cpu_scheduling = "batch"`+"\n"+sec, func(c *Config) any { return c.CPUScheduling }, schedBatch)
	f(`cpu_scheduling = "Other"`+"\n"+sec, func(c *Config) any { return c.CPUScheduling }, schedOther)
	f(sec, func(c *Config) any { return c.Limits }, Limits{
		ReadBufferSize:  32768,
		ReadTimeout:     5 * time.Second,
		WriteTimeout:    5 * time.Second,
		IdleTimeout:     60 * time.Second,
		MaxConns:        10000,
		ShutdownTimeout: 10 * time.Second,
	})
	f(sec, func(c *Config) any { return c.ClientIP }, ClientIP{
		Header:  "X-Real-IP",
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	})
	f(sec, func(c *Config) any { return c.Cache.MaxAge }, time.Duration(0))
	f(sec, func(c *Config) any { return len(c.Policies) }, 0)
	f(sec, func(c *Config) any { return c.Policies != nil }, true)
	f(sec, func(c *Config) any { return opts(c) }, verifier.Options{
		Secret:    []byte("s"),
		Digest:    verifier.MD5,
		Timeout:   2 * time.Hour,
		Refresh:   0.5,
		MaxFuture: 5 * time.Minute,
	})
	f(sec, func(c *Config) any { p := *def(c); p.Options = verifier.Options{}; p.Verifier = nil; return p }, Policy{
		CookieName:  "auth_tkt",
		BackArgName: "back",
		GuestUser:   "guest",
	})
	f(sec, func(c *Config) any { return def(c).Verifier != nil && def(c).Verifier.Digest() == verifier.MD5 }, true)

	// Top level.
	f(`listen = "unix:/run/t.sock"`+"\n"+sec, func(c *Config) any { return c.Listen }, "unix:/run/t.sock")
	f(`log_level = "debug"`+"\n"+sec, func(c *Config) any { return c.LogLevel }, slog.LevelDebug)
	f(`log_level = "Warn"`+"\n"+sec, func(c *Config) any { return c.LogLevel }, slog.LevelWarn)
	f(`log_level = "error"`+"\n"+sec, func(c *Config) any { return c.LogLevel }, slog.LevelError)
	f(`socket_mode = "0600"`+"\n"+sec, func(c *Config) any { return c.SocketMode }, os.FileMode(0o600))
	f(`socket_mode = "755"`+"\n"+sec, func(c *Config) any { return c.SocketMode }, os.FileMode(0o755))
	f(`socket_mode = "0o640"`+"\n"+sec, func(c *Config) any { return c.SocketMode }, os.FileMode(0o640))
	f(`metrics_listen = "127.0.0.1:9181"`+"\n"+sec, func(c *Config) any { return c.MetricsListen }, "127.0.0.1:9181")
	f(sec, func(c *Config) any { return c.Watch }, true)
	f(`watch = false`+"\n"+sec, func(c *Config) any { return c.Watch }, false)
	f(sec, func(c *Config) any { return c.WatchInterval }, time.Second)
	f(`watch_interval = "250ms"`+"\n"+sec, func(c *Config) any { return c.WatchInterval }, 250*time.Millisecond)
	f(`watch_interval = 3`+"\n"+sec, func(c *Config) any { return c.WatchInterval }, 3*time.Second)
	f(sec, func(c *Config) any { return c.SecretFiles }, []string(nil))
	f("[ticket]\nsecret_file = \"secret.txt\"\nsecret_old_file = \"secret_old.txt\"\n", func(c *Config) any { return c.SecretFiles },
		[]string{filepath.Join("testdata", "config", "secret.txt"), filepath.Join("testdata", "config", "secret_old.txt")})

	// [ticket]
	secretOf := func(c *Config) any { return string(c.Default.Options.Secret) }
	oldOf := func(c *Config) any { return c.Default.Options.OldSecret }
	f("[ticket]\nsecret = \" spaced \\n\"\n", secretOf, " spaced \n")
	f("[ticket]\nsecret_file = \"secret.txt\"\n", secretOf, "s3cret")
	f("[ticket]\nsecret_file = \"secret_crlf.txt\"\n", secretOf, "s3cret")
	f("[ticket]\nsecret_file = \"secret_nonl.txt\"\n", secretOf, "s3cret")
	f("[ticket]\nsecret_file = \"secret_2nl.txt\"\n", secretOf, "s3cret\n") // one newline only
	abs, err := filepath.Abs(filepath.Join("testdata", "config", "secret_old.txt"))
	if err != nil {
		t.Fatal(err)
	}
	f(fmt.Sprintf("[ticket]\nsecret_file = %q\n", abs), secretOf, "0ld")
	f(sec, oldOf, []byte(nil))
	f(sec+"secret_old = \"\"\n", oldOf, []byte(nil))
	f(sec+"secret_old = \"old\"\n", oldOf, []byte("old"))
	f(sec+"secret_old_file = \"secret_old.txt\"\n", oldOf, []byte("0ld"))
	f(sec+"secret_old_file = \"secret_empty.txt\"\n", oldOf, []byte(nil))
	// Policies' secrets: their own, else [ticket]'s; every file once.
	polSecret := func(name string) func(c *Config) any {
		return func(c *Config) any {
			return [2]string{string(pol(name)(c).Options.Secret), string(pol(name)(c).Options.OldSecret)}
		}
	}
	f(sec+"secret_old = \"o\"\n[policy.a]\n", polSecret("a"), [2]string{"s", "o"})
	f(sec+"secret_old = \"o\"\n[policy.a]\nsecret = \"t\"\n", polSecret("a"), [2]string{"t", ""})
	f(sec+"secret_old = \"o\"\n[policy.a]\nsecret_file = \"secret.txt\"\n", polSecret("a"), [2]string{"s3cret", ""})
	f(sec+"secret_old = \"o\"\n[policy.a]\nsecret = \"t\"\nsecret_old = \"u\"\n", polSecret("a"), [2]string{"t", "u"})
	f(sec+"secret_old = \"o\"\n[policy.a]\nsecret_old = \"u\"\n", polSecret("a"), [2]string{"s", "u"})
	f(sec+"secret_old = \"o\"\n[policy.a]\nsecret_old = \"\"\n", polSecret("a"), [2]string{"s", ""})
	f(sec+"secret_old = \"o\"\n[policy.a]\nsecret_old_file = \"secret_old.txt\"\n[policy.b]\nsecret = \"t\"\n", func(c *Config) any {
		return [3]any{polSecret("a")(c), polSecret("b")(c), [2]string{string(opts(c).Secret), string(opts(c).OldSecret)}}
	}, [3]any{[2]string{"s", "0ld"}, [2]string{"t", ""}, [2]string{"s", "o"}})
	f("[ticket]\nsecret_file = \"secret.txt\"\n[policy.a]\nsecret_file = \"secret_old.txt\"\nsecret_old_file = \"secret.txt\"\n[policy.b]\nsecret_old_file = \"secret_old.txt\"\n",
		func(c *Config) any { return c.SecretFiles },
		[]string{filepath.Join("testdata", "config", "secret.txt"), filepath.Join("testdata", "config", "secret_old.txt")})
	f(sec+"[policy.a]\nsecret = \"t\"\ndigest_type = \"SHA512\"\n", func(c *Config) any {
		return [2]any{pol("a")(c).Verifier.Digest(), def(c).Verifier.Digest()}
	}, [2]any{verifier.SHA512, verifier.MD5})
	f(sec+"digest_type = \"sha256\"\n", func(c *Config) any { return opts(c).Digest }, verifier.SHA256)
	f(sec+"digest_type = \"SHA512\"\n", func(c *Config) any { return opts(c).Digest }, verifier.SHA512)
	f(sec+"digest_type = \"SHA512\"\n", func(c *Config) any { return def(c).Verifier.Digest() }, verifier.SHA512)
	f(sec+"cookie_name = \"my_tkt\"\n", func(c *Config) any { return def(c).CookieName }, "my_tkt")
	f(sec+"ignore_ip = true\n", func(c *Config) any { return opts(c).IgnoreIP }, true)
	f(sec+"timeout_refresh = 0\n", func(c *Config) any { return opts(c).Refresh }, 0.0)
	f(sec+"timeout_refresh = 1\n", func(c *Config) any { return opts(c).Refresh }, 1.0)
	f(sec+"timeout_refresh = 0.25\n", func(c *Config) any { return opts(c).Refresh }, 0.25)
	f(sec+"domain = \".example.com\"\n", func(c *Config) any { return def(c).Domain }, ".example.com")
	f(sec+"cookie_secure = true\n", func(c *Config) any { return def(c).CookieSecure }, true)
	f(sec+"cookie_expires = \"\"\n", func(c *Config) any { return def(c).CookieExpires }, time.Duration(0))
	f(sec+"cookie_expires = \"1d\"\n", func(c *Config) any { return def(c).CookieExpires }, 24*time.Hour)
	f(sec+"cookie_expires = 600\n", func(c *Config) any { return def(c).CookieExpires }, 10*time.Minute)
	f(sec+"max_future = \"0\"\n", func(c *Config) any { return opts(c).MaxFuture < 0 }, true)
	f(sec+"max_future = 0\n", func(c *Config) any { return opts(c).MaxFuture < 0 }, true)
	f(sec+"max_future = \"0m\"\n", func(c *Config) any { return opts(c).MaxFuture < 0 }, true)
	f(sec+"max_future = \"10m\"\n", func(c *Config) any { return opts(c).MaxFuture }, 10*time.Minute)
	f(sec+"max_future = 30\n", func(c *Config) any { return opts(c).MaxFuture }, 30*time.Second)
	f(sec+"dialect = \"mod_auth_tkt\"\n", func(c *Config) any { return def(c).Dialect }, verifier.ModAuthTkt)

	// [client_ip]
	header := func(c *Config) any { return c.ClientIP.Header }
	trusted := func(c *Config) any { return fmt.Sprint(c.ClientIP.Trusted) }
	f(sec+"[client_ip]\nheader = \"x-forwarded-for\"\n", header, "X-Forwarded-For")
	f(sec+"[client_ip]\nheader = \"X-REAL-IP\"\n", header, "X-Real-IP")
	f(sec+"[client_ip]\nheader = \"\"\n", header, "")
	f(sec+"[client_ip]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.168.1.1\", \"::ffff:10.1.2.3\", \"10.1.2.3/8\", \"2001:db8::1\"]\n",
		trusted, "[10.0.0.0/8 192.168.1.1/32 10.1.2.3/32 10.0.0.0/8 2001:db8::1/128]")
	f(sec+"[client_ip]\ntrusted_proxies = []\n", trusted, "[]")

	// [redirect]
	f(sec+"[redirect]\nlogin_url = \"/login\"\n", func(c *Config) any { return def(c).LoginURL }, "/login")
	f(sec+"[redirect]\nlogin_url = \"pub/login.cgi\"\n", func(c *Config) any { return def(c).LoginURL }, "/pub/login.cgi")
	f(sec+"[redirect]\nunauth_url = \"?why=unauth\"\n", func(c *Config) any { return def(c).UnauthURL }, "/?why=unauth")
	f(sec+"[policy.a]\ntimeout_url = \"t.html\"\n", func(c *Config) any { return pol("a")(c).TimeoutURL }, "/t.html")
	f(sec+"[redirect]\ntimeout_url = \"https://a.example/t\"\n", func(c *Config) any { return def(c).TimeoutURL }, "https://a.example/t")
	f(sec+"[redirect]\npost_timeout_url = \"/post\"\n", func(c *Config) any { return def(c).PostTimeoutURL }, "/post")
	f(sec+"[redirect]\nunauth_url = \"/denied\"\n", func(c *Config) any { return def(c).UnauthURL }, "/denied")
	f(sec+"[redirect]\nback_arg_name = \"None\"\n", func(c *Config) any { return def(c).BackArgName }, "")
	f(sec+"[redirect]\nback_arg_name = \"return_to\"\n", func(c *Config) any { return def(c).BackArgName }, "return_to")
	f(sec+"[redirect]\nback_cookie_name = \"back_to\"\n", func(c *Config) any { return def(c).BackCookieName }, "back_to")

	// [guest]
	f(sec+"[guest]\nlogin = true\n", func(c *Config) any { return def(c).GuestLogin }, true)
	f(sec+"[guest]\nuser = \"g-%8U\"\n", func(c *Config) any { return def(c).GuestUser }, "g-%8U")
	f(sec+"[guest]\nfallback = true\n", func(c *Config) any { return def(c).GuestFallback }, true)
	f(sec+"[guest]\ncookie = true\n", func(c *Config) any { return def(c).GuestCookie }, true)

	// [limits], [cache]
	f(sec+"[limits]\nread_buffer_size = 65536\nread_timeout = \"500ms\"\nwrite_timeout = 10\nidle_timeout = \"0\"\nmax_conns = 7\nshutdown_timeout = \"1m\"\n",
		func(c *Config) any { return c.Limits }, Limits{
			ReadBufferSize:  65536,
			ReadTimeout:     500 * time.Millisecond,
			WriteTimeout:    10 * time.Second,
			IdleTimeout:     0,
			MaxConns:        7,
			ShutdownTimeout: time.Minute,
		})
	f(sec+"[cache]\nmax_age = \"1m\"\n", func(c *Config) any { return c.Cache.MaxAge }, time.Minute)

	// Policies: names, tokens.
	admin := pol("admin")
	f(sec+"[policy.admin]\ntokens = [\"admin\", \"editor\"]\n", func(c *Config) any { return admin(c).Tokens }, [][]byte{[]byte("admin"), []byte("editor")})
	f(sec+"[policy.admin]\ntokens = [\"NULL\"]\n", func(c *Config) any { return admin(c).Tokens }, [][]byte(nil))
	f(sec+"[policy.admin]\n", func(c *Config) any { return admin(c).Tokens }, [][]byte(nil))
	f(sec+"[policy.admin]\ntokens = []\n", func(c *Config) any { return len(admin(c).Tokens) }, 0)
	f(sec+"[policy.admin]\n", func(c *Config) any { return admin(c).Name }, "admin")
	f(sec+"[policy.Admin]\n[policy.admin]\n", func(c *Config) any { return pol("Admin")(c).Name + "," + admin(c).Name }, "Admin,admin")
	f(sec+"[policy.a]\n[policy.b-2]\n[policy.c_3]\n", func(c *Config) any { return len(c.Policies) }, 3)
	f(sec+"[policy.admin]\n", func(c *Config) any { return admin(c).Verifier != nil && admin(c).Verifier != def(c).Verifier }, true)
	f(sec+"[policy.admin]\n", func(c *Config) any { return def(c).Tokens }, [][]byte(nil))
}

// TestConfigInheritance: a policy takes every per-location setting it does
// not set from [ticket], [redirect] and [guest], and the global-only ones
// always.
func TestConfigInheritance(t *testing.T) {
	global := `[ticket]
secret = "s"
secret_old = "o"
digest_type = "SHA256"
max_future = "1m"
timeout = "1h"
timeout_refresh = 0.25
ignore_ip = true
cookie_name = "tkt"
domain = ".example.com"
cookie_secure = true
cookie_expires = "1d"
dialect = "mod_auth_tkt"
[redirect]
login_url = "/login"
timeout_url = "/timeout"
post_timeout_url = "/post"
unauth_url = "/unauth"
back_arg_name = "ret"
back_cookie_name = "bk"
[guest]
login = true
user = "visitor"
fallback = true
cookie = true
`
	inherited := Policy{
		Name: "a",
		Options: verifier.Options{
			Secret:    []byte("s"),
			OldSecret: []byte("o"),
			Digest:    verifier.SHA256,
			IgnoreIP:  true,
			Timeout:   time.Hour,
			Refresh:   0.25,
			MaxFuture: time.Minute,
		},
		CookieName:     "tkt",
		Domain:         ".example.com",
		CookieSecure:   true,
		CookieExpires:  24 * time.Hour,
		Tokens:         [][]byte{[]byte("x")},
		LoginURL:       "/login",
		TimeoutURL:     "/timeout",
		PostTimeoutURL: "/post",
		UnauthURL:      "/unauth",
		BackArgName:    "ret",
		BackCookieName: "bk",
		GuestLogin:     true,
		GuestUser:      "visitor",
		GuestFallback:  true,
		GuestCookie:    true,
	}
	f := func(overrides string, edit func(p *Policy)) {
		t.Helper()
		c := parse(t, global+"[policy.a]\ntokens = [\"x\"]\n"+overrides)
		want := inherited
		edit(&want)
		got := *c.Policies["a"]
		if got.Verifier == nil {
			t.Errorf("%q: policy has no verifier", overrides)
		}
		got.Verifier = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\ngot  %+v\nwant %+v", overrides, got, want)
		}
		// The default policy keeps the global values.
		d := *c.Default
		d.Verifier = nil
		wantDef := inherited
		wantDef.Name, wantDef.Tokens = "", nil
		if !reflect.DeepEqual(d, wantDef) {
			t.Errorf("%q: default policy\ngot  %+v\nwant %+v", overrides, d, wantDef)
		}
	}
	f("", func(p *Policy) {})
	f("timeout = \"10m\"\n", func(p *Policy) { p.Options.Timeout = 10 * time.Minute })
	f("timeout = 0\n", func(p *Policy) { p.Options.Timeout = 0 })
	f("timeout_refresh = 1\n", func(p *Policy) { p.Options.Refresh = 1 })
	f("ignore_ip = false\n", func(p *Policy) { p.Options.IgnoreIP = false })
	f("cookie_name = \"other\"\n", func(p *Policy) { p.CookieName = "other" })
	f("domain = \"\"\n", func(p *Policy) { p.Domain = "" })
	f("cookie_secure = false\n", func(p *Policy) { p.CookieSecure = false })
	f("cookie_expires = \"\"\n", func(p *Policy) { p.CookieExpires = 0 })
	f("dialect = \"mod_auth_tkt\"\n", func(p *Policy) {})
	f("login_url = \"https://sso.example/in\"\n", func(p *Policy) { p.LoginURL = "https://sso.example/in" })
	f("timeout_url = \"\"\n", func(p *Policy) { p.TimeoutURL = "" })
	f("post_timeout_url = \"/p2\"\n", func(p *Policy) { p.PostTimeoutURL = "/p2" })
	f("unauth_url = \"/u2\"\n", func(p *Policy) { p.UnauthURL = "/u2" })
	f("back_arg_name = \"None\"\n", func(p *Policy) { p.BackArgName = "" })
	f("back_cookie_name = \"\"\n", func(p *Policy) { p.BackCookieName = "" })
	f("guest_login = false\n", func(p *Policy) { p.GuestLogin = false })
	f("guest_user = \"g-%U\"\n", func(p *Policy) { p.GuestUser = "g-%U" })
	f("guest_fallback = false\n", func(p *Policy) { p.GuestFallback = false })
	f("guest_cookie = false\n", func(p *Policy) { p.GuestCookie = false })
	// A secret of its own drops [ticket]'s old secret: another site's.
	f("secret = \"t\"\n", func(p *Policy) { p.Options.Secret, p.Options.OldSecret = []byte("t"), nil })
	f("secret = \"t\"\nsecret_old = \"u\"\n", func(p *Policy) { p.Options.Secret, p.Options.OldSecret = []byte("t"), []byte("u") })
	f("secret_old = \"u\"\n", func(p *Policy) { p.Options.OldSecret = []byte("u") })
	f("secret_old = \"\"\n", func(p *Policy) { p.Options.OldSecret = nil })
	f("digest_type = \"SHA512\"\n", func(p *Policy) { p.Options.Digest = verifier.SHA512 })
	f("timeout = \"5m\"\nlogin_url = \"/l\"\nguest_login = false\n", func(p *Policy) {
		p.Options.Timeout = 5 * time.Minute
		p.LoginURL = "/l"
		p.GuestLogin = false
	})
}

// TestConfigProblems: all problems come back together, one per line, in
// file order, each once.
func TestConfigProblems(t *testing.T) {
	f := func(conf string, want ...string) {
		t.Helper()
		probs := problems(t, conf)
		got := make([]string, len(probs))
		for i, p := range probs {
			got[i] = p.format("")
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseConfig(%q):\ngot  %q\nwant %q", conf, got, want)
		}
	}
	f("", "ticket.secret: required (or ticket.secret_file)")
	f("listen = 1\nlog_level = \"loud\"\n[ticket]\nsecret = \"s\"\ndigest_type = \"MD4\"\nfoo = 2\n[policy.x]\ntimeout = \"-1s\"\n",
		"1: listen: want a string, not an integer",
		`2: log_level: unknown level "loud" (want debug, info, warn or error)`,
		`5: ticket.digest_type: unknown digest "MD4" (want MD5, SHA256 or SHA512)`,
		"6: ticket.foo: unknown key",
		`8: policy.x.timeout: negative duration "-1s"`)
	// A missing secret has no line and comes last.
	f("[guest]\nlogin = 1\n",
		"2: guest.login: want a boolean (true or false), not an integer",
		"ticket.secret: required (or ticket.secret_file)")
	// An unknown table is blamed once, not once per key.
	f(sec+"[foo]\na = 1\nb = 2\n[foo.bar]\nc = 3\n", "3: foo: unknown key")
	// A table of the wrong type is blamed alone: not its keys, not "required".
	f("[[ticket]]\nsecret = \"s\"\n[[ticket]]\nsecret = \"t\"\n", "1: ticket: must be a table ([ticket]), not an array of tables")
	// A wrong-case table is blamed once.
	f("[Ticket]\nSecret = \"s\"\nDigest_Type = \"MD5\"\n", `1: Ticket: key must be spelled "ticket"`)
	// A bad global value is reported once, not again for every policy that inherits it.
	f(sec+"timeout = \"x\"\n[policy.a]\n[policy.b]\n", `3: ticket.timeout: invalid duration "x" (want seconds, or numbers with units s, m, h, d, w, M, y as in "1h30m" or "1d 12h")`)
	// A dotted key inside [ticket] defines ticket.policy, not a policy.
	f(sec+"policy.x = {}\n", "3: ticket.policy: unknown key (policy belongs in the top level)")
	// Keys in inline tables take their table's line.
	f("\n\nticket = { secret = \"s\", digest_type = \"X\" }\n", `3: ticket.digest_type: unknown digest "X" (want MD5, SHA256 or SHA512)`)
	// Keys in multi-line strings are not mistaken for keys.
	f(sec+"[redirect]\nlogin_url = \"\"\"\nunauth_url = 1\n\"\"\"\nunauth_url = 2\n",
		"4: redirect.login_url: URL \"unauth_url = 1\\n\" contains whitespace or a control character",
		"7: redirect.unauth_url: want a string, not an integer")
}

func TestConfigErrorFormat(t *testing.T) {
	_, err := ParseConfig([]byte("listen = 1\n[ticket]\nsecret = \"\"\n"), "conf/x.toml")
	want := "conf/x.toml:1: listen: want a string, not an integer\nconf/x.toml:3: ticket.secret: empty secret"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	_, err = ParseConfig([]byte("listen = \n"), "")
	if err == nil || !regexp.MustCompile(`^1: \S`).MatchString(err.Error()) {
		t.Errorf("syntax error without a path: %q, want it to start with the line", err)
	}
	// The secret never appears in messages, even in a bad config.
	_, err = ParseConfig([]byte("[ticket]\nsecret = \"hunter2-secret\"\nsecret_file = \"secret.txt\"\n"), testPath)
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q: want one that does not show the secret", err)
	}
}

func TestLoadConfig(t *testing.T) {
	if _, err := LoadConfig(filepath.Join("testdata", "config", "does-not-exist.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadConfig(missing file): %v, want fs.ErrNotExist", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("[ticket]\nsecret_file = \"key\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.Default.Options.Secret); got != "from-file" || c.Path != path {
		t.Errorf("LoadConfig(%s): secret %q, path %q; want the secret file next to it and the path", path, got, c.Path)
	}

	// A secret file too large to be a secret is refused.
	if err := os.WriteFile(filepath.Join(dir, "key"), make([]byte, 64<<10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "ticket.secret_file: cannot read "+filepath.Join(dir, "key")+": larger than 65536 bytes") {
		t.Errorf("LoadConfig with a 64 KiB+1 secret file: %v, want it refused", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key"), append(make([]byte, 64<<10-1), 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(path); err != nil || len(c.Default.Options.Secret) != 64<<10 {
		t.Errorf("LoadConfig with a 64 KiB secret file: %v, want it accepted", err)
	}
}

// TestShippedConfig: the demo config.toml loads, and documents every key.
func TestShippedConfig(t *testing.T) {
	c, err := LoadConfig("config.toml")
	if err != nil {
		t.Fatalf("config.toml:\n%v", err)
	}
	if c.Listen != "127.0.0.1:9180" {
		t.Errorf("listen = %q, want 127.0.0.1:9180", c.Listen)
	}
	if s := string(c.Default.Options.Secret); !strings.Contains(s, "CHANGE-ME") {
		t.Errorf("the demo secret %q is not clearly marked", s)
	}
	admin := c.Policies["admin"]
	if admin == nil || !reflect.DeepEqual(admin.Tokens, [][]byte{[]byte("admin")}) {
		t.Errorf("policy admin = %+v, want tokens [admin]", admin)
	}

	data, err := os.ReadFile("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n[policy.")
	if i < 0 {
		t.Fatal("config.toml has no [policy.NAME] example")
	}
	global, policy := text[:i], text[i:]
	mentions := func(text, table, k string) bool {
		if table != "" && !strings.Contains(text, "\n["+table+"]\n") {
			return false
		}
		return regexp.MustCompile(`(?m)^(# )?` + k + ` = `).MatchString(text)
	}
	for table, keys := range schema {
		for _, k := range keys {
			switch {
			case table == "" && (k == "ticket" || k == "client_ip" || k == "redirect" || k == "guest" || k == "limits" || k == "cache" || k == "revocation" || k == "policy"):
				if !strings.Contains(text, "\n["+k) {
					t.Errorf("config.toml has no [%s] table", k)
				}
			case table == "policy.*":
				if !mentions(policy, "", k) {
					t.Errorf("config.toml: the policy example does not show %s", k)
				}
			case !mentions(global, table, k):
				t.Errorf("config.toml does not show %s in [%s]", k, table)
			}
		}
	}
	if !strings.Contains(text, "SIGHUP") {
		t.Error("config.toml does not say that SIGHUP reloads it")
	}
}
