package apachetest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
	"github.com/tktgate/tktgate/internal/rawhttp"
)

// Where Debian's apache2 and libapache2-mod-auth-tkt packages install
// things. Variables so that a test on another layout can point elsewhere.
var (
	Binary     = "/usr/sbin/apache2"
	ModulesDir = "/usr/lib/apache2/modules"
)

// LoginURL is the TKTAuthLoginURL every protected Location gets unless its
// own directives set another one (the last directive wins in Apache).
// mod_auth_tkt does nothing at all in a location without a login URL or
// guest login.
const LoginURL = "http://login.test/login"

// Config is what a test controls of the server: mod_auth_tkt's server-wide
// directives and the protected locations.
type Config struct {
	Secret     string // TKTAuthSecret; required
	OldSecret  string // TKTAuthSecretOld; "" leaves it unset
	DigestType string // TKTAuthDigestType; "" leaves the module default (MD5)

	// Directives are extra server-level lines, written after the above.
	Directives []string

	Locations []Location

	// VirtualHosts are name-based virtual hosts on the same address,
	// chosen by the Host header (see [Server.GetHost]). A request for any
	// other host is served by the main server's settings, as without
	// virtual hosts; the main server's Locations apply in every virtual
	// host too, as they do in Apache.
	VirtualHosts []VirtualHost
}

// A VirtualHost is a <VirtualHost> section with a ServerName and, as
// mod_auth_tkt allows there, its own secrets and digest type.
type VirtualHost struct {
	ServerName string
	Secret     string // TKTAuthSecret; "" inherits the main server's
	OldSecret  string // TKTAuthSecretOld; "" inherits the main server's
	DigestType string // TKTAuthDigestType; "" inherits the main server's
	Locations  []Location
}

// A Location is a <Location> section protected by mod_auth_tkt.
type Location struct {
	Path string
	// Directives are raw lines, e.g. "TKTAuthTimeout 2h" or
	// "TKTAuthToken admin editor". They come after the defaults
	// ("AuthType None", "Require valid-user", "TKTAuthLoginURL "+LoginURL),
	// so a TKTAuthLoginURL here replaces the default one.
	Directives []string
	// NoDefaults leaves the defaults out, for tests of mod_auth_tkt's
	// behaviour without a login URL or without Require.
	NoDefaults bool
}

// modules are loaded in this order; all must exist. mod_authz_user provides
// "Require valid-user", without which mod_auth_tkt's authn hook never runs.
var modules = []struct{ name, file string }{
	{"mpm_event_module", "mod_mpm_event.so"},
	{"authn_core_module", "mod_authn_core.so"},
	{"authz_core_module", "mod_authz_core.so"},
	{"authz_user_module", "mod_authz_user.so"},
	{"remoteip_module", "mod_remoteip.so"},
	{"lua_module", "mod_lua.so"},
	{"auth_tkt_module", "mod_auth_tkt.so"},
}

// echoLua answers every request that reaches the handler phase with what
// authentication left behind, hex-encoded ("-" when unset), one key=value
// per line. Lua strings are byte strings, so nothing is lost or recoded.
const echoLua = `local function hex(s)
  if s == nil then return "-" end
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
function handle(r)
  r.content_type = "text/plain"
  r:puts("user=", hex(r.user), "\n")
  r:puts("tokens=", hex(r.subprocess_env["REMOTE_USER_TOKENS"]), "\n")
  r:puts("data=", hex(r.subprocess_env["REMOTE_USER_DATA"]), "\n")
  r:puts("ip=", r.useragent_ip, "\n")
  return apache2.OK
end
`

// selfCheckPath is an unprotected location Start uses to check that this
// Apache is the one answering and that X-Real-IP reaches r->useragent_ip.
const selfCheckPath = "/_apachetest/echo"

// A Server is a running Apache. Its methods may be called from several
// goroutines.
type Server struct {
	// Addr is host:port of the listener.
	Addr string
	dir  string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the apache2 parent has exited
	waitErr error         // set before exited is closed
	output  *e2e.Buffer   // apache2's stdout and stderr (errors before ErrorLog opens)

	mu   sync.Mutex
	idle []*rawhttp.Conn
}

// Start writes a configuration for cfg, starts Apache on it and waits until
// it answers. The server is stopped when the test ends; if the test failed,
// the end of its error_log is logged.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		e2e.SkipOrFail(t, "apachetest: Apache httpd not found: %v", err)
	}
	for _, m := range modules {
		if _, err := os.Stat(filepath.Join(ModulesDir, m.file)); err != nil {
			e2e.SkipOrFail(t, "apachetest: Apache module missing: %v", err)
		}
	}
	if cfg.Secret == "" {
		t.Fatal("apachetest: Config.Secret is required")
	}

	// Not t.TempDir: when the test runs as root, Apache's workers run as
	// nobody and must read echo.lua, but t.TempDir's parents are 0700.
	dir, err := os.MkdirTemp("", "apachetest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "echo.lua"), []byte(echoLua), 0o644); err != nil {
		t.Fatal(err)
	}

	// The port is found by binding :0 and closing; another process may
	// take it before Apache binds it, so a bind failure is retried.
	const attempts = 3
	for i := 1; ; i++ {
		s, err := start(t, dir, cfg)
		if err == nil {
			return s
		}
		if i < attempts && errors.Is(err, errAddrInUse) {
			t.Logf("apachetest: %v; retrying on another port", err)
			continue
		}
		t.Fatalf("apachetest: %v", err)
	}
}

var errAddrInUse = errors.New("port taken before Apache could bind it")

func start(t testing.TB, dir string, cfg Config) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dir:    dir,
		exited: make(chan struct{}),
		output: &e2e.Buffer{},
	}
	conf, err := s.config(cfg)
	if err != nil {
		t.Fatalf("apachetest: %v", err)
	}
	confPath := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// Truncate the log of a failed earlier attempt so that its bind error
	// is not read as this attempt's.
	if err := os.WriteFile(s.errorLogPath(), nil, 0o644); err != nil {
		return nil, err
	}

	// FOREGROUND keeps the parent attached, so it can be waited for and
	// signalled; the Debian binary needs no envvars file with -f.
	s.cmd = exec.Command(Binary, "-d", dir, "-f", confPath, "-DFOREGROUND")
	s.cmd.Env = []string{"LANG=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	s.cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	if err := s.waitReady(); err != nil {
		s.stop()
		diag := s.diagnostics()
		if strings.Contains(diag, "Address already in use") {
			return nil, fmt.Errorf("%w (%s)", errAddrInUse, s.Addr)
		}
		return nil, fmt.Errorf("%v\n%s", err, diag)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("apachetest: Apache on %s, end of error_log:\n%s", s.Addr, lastLines(s.ErrorLog(), 40))
		}
		s.closeIdle()
		s.stop()
	})
	t.Logf("apachetest: Apache on %s ready in %v", s.Addr, time.Since(began).Round(time.Millisecond))
	return s, nil
}

// waitReady polls the port, then checks with one request that the
// answering server is this Apache with X-Real-IP honoured.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("apache2 exited during start-up: %v", s.waitErr)
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("apache2 not listening on %s after 10s", s.Addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	const probe = "192.0.2.55"
	r, err := s.do(selfCheckPath, http.Header{"X-Real-Ip": {probe}})
	if err != nil {
		return fmt.Errorf("self-check request: %v", err)
	}
	if r.Status != http.StatusOK || r.ClientIP != probe {
		return fmt.Errorf("self-check: status %d, client IP %q, want 200 and %s (mod_remoteip or mod_lua not working?)", r.Status, r.ClientIP, probe)
	}
	return nil
}

func (s *Server) config(cfg Config) (string, error) {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("ServerRoot %s", quote(s.dir))
	line("ServerName 127.0.0.1")
	line("Listen %s", s.Addr)
	line("PidFile %s", quote(filepath.Join(s.dir, "httpd.pid")))
	// Mutex and socket files, which default to /var/run/apache2.
	line("DefaultRuntimeDir %s", quote(s.dir))
	line("ErrorLog %s", quote(s.errorLogPath()))
	line("LogLevel warn")
	if os.Geteuid() == 0 {
		// httpd refuses to serve as root; 65534 is nobody/nogroup on
		// Debian. Numeric, so that no user database lookup is needed.
		line("User #65534")
		line("Group #65534")
	}
	for _, m := range modules {
		line("LoadModule %s %s", m.name, quote(filepath.Join(ModulesDir, m.file)))
	}
	// One process, a few threads: enough for parallel callers, quick to
	// start and stop.
	line("StartServers 1")
	line("ServerLimit 1")
	line("ThreadsPerChild 16")
	line("MaxRequestWorkers 16")
	line("KeepAlive On")
	line("MaxKeepAliveRequests 0")
	line("KeepAliveTimeout 300")
	// Let header bytes that the strict parser would answer with 400 reach
	// mod_auth_tkt, so tests can see what the module makes of them.
	line("HttpProtocolOptions Unsafe")
	line("RemoteIPHeader X-Real-IP")
	line("RemoteIPInternalProxy 127.0.0.0/8")
	line("DocumentRoot %s", quote(s.dir))
	line("LuaMapHandler ^/ %s handle", quote(filepath.Join(s.dir, "echo.lua")))

	if err := secretLines(line, "", cfg.Secret, cfg.OldSecret, cfg.DigestType); err != nil {
		return "", err
	}
	for _, d := range cfg.Directives {
		line("%s", d)
	}
	if err := locationLines(line, "", cfg.Locations); err != nil {
		return "", err
	}
	if len(cfg.VirtualHosts) > 0 {
		// The first virtual host of an address answers for every host
		// name none of them has: this one, with the main server's
		// settings, keeps the self-check and other hosts as they were.
		line("<VirtualHost %s>", s.Addr)
		line("  ServerName 127.0.0.1")
		line("</VirtualHost>")
	}
	for _, vh := range cfg.VirtualHosts {
		if vh.ServerName == "" || !confSafe(vh.ServerName) || strings.ContainsAny(vh.ServerName, " /") {
			return "", fmt.Errorf("virtual host name %q: must be a plain host name", vh.ServerName)
		}
		line("<VirtualHost %s>", s.Addr)
		line("  ServerName %s", vh.ServerName)
		if err := secretLines(line, "  ", vh.Secret, vh.OldSecret, vh.DigestType); err != nil {
			return "", err
		}
		if err := locationLines(line, "  ", vh.Locations); err != nil {
			return "", err
		}
		line("</VirtualHost>")
	}
	// Last, so that it overrides a protected <Location />.
	line("<Location %s>", selfCheckPath)
	line("  Require all granted")
	line("</Location>")
	return b.String(), nil
}

// secretLines writes mod_auth_tkt's per-server directives that are set,
// each line after indent.
func secretLines(line func(string, ...any), indent, secret, old, digest string) error {
	for _, kv := range []struct{ k, v string }{
		{"TKTAuthSecret", secret},
		{"TKTAuthSecretOld", old},
		{"TKTAuthDigestType", digest},
	} {
		if kv.v == "" {
			continue
		}
		if !confSafe(kv.v) {
			return fmt.Errorf("%s %q: quotes, backslashes, '$' and control bytes are not supported", kv.k, kv.v)
		}
		line("%s%s %s", indent, kv.k, quote(kv.v))
	}
	return nil
}

// locationLines writes the <Location> sections, each line after indent.
func locationLines(line func(string, ...any), indent string, locs []Location) error {
	for _, l := range locs {
		if !strings.HasPrefix(l.Path, "/") || !confSafe(l.Path) {
			return fmt.Errorf("location path %q: must start with / and be plain", l.Path)
		}
		line("%s<Location %s>", indent, quote(l.Path))
		if !l.NoDefaults {
			line("%s  AuthType None", indent)
			line("%s  Require valid-user", indent)
			line("%s  TKTAuthLoginURL %s", indent, LoginURL)
		}
		for _, d := range l.Directives {
			if strings.ContainsAny(d, "\r\n") {
				return fmt.Errorf("directive %q spans lines", d)
			}
			line("%s  %s", indent, d)
		}
		line("%s</Location>", indent)
	}
	return nil
}

// confSafe reports whether s can be written as a double-quoted httpd
// config argument verbatim: httpd would interpret a quote or a backslash
// before one, and expand ${VAR}.
func confSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '$' {
			return false
		}
	}
	return true
}

func quote(s string) string { return `"` + s + `"` }

func (s *Server) errorLogPath() string { return filepath.Join(s.dir, "error.log") }

// ErrorLog returns the server's error_log so far.
func (s *Server) ErrorLog() string {
	b, err := os.ReadFile(s.errorLogPath())
	if err != nil {
		return fmt.Sprintf("(cannot read error_log: %v)", err)
	}
	return string(b)
}

// lastLines returns the last n lines of s: a failing test should point at
// the log, not drown in it (mod_auth_tkt logs every bad ticket).
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

func (s *Server) diagnostics() string {
	return fmt.Sprintf("apache2 output:\n%s\nerror_log:\n%s", s.output.String(), s.ErrorLog())
}

// stop ends Apache: SIGTERM makes the parent stop its workers; whatever is
// left after a few seconds is killed.
func (s *Server) stop() {
	signalGroup(s.cmd, false)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		signalGroup(s.cmd, true)
		<-s.exited
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Result is Apache's answer to one request.
type Result struct {
	Status int
	// Location is the redirect target, e.g. LoginURL with a back= argument.
	Location string
	// SetCookie holds every Set-Cookie header, in order.
	SetCookie []string
	Header    http.Header

	// Authenticated is true when the request reached the handler with a
	// user set: mod_auth_tkt accepted a ticket (or a guest).
	Authenticated bool
	// User is r->user (REMOTE_USER); Tokens and Data are the
	// REMOTE_USER_TOKENS and REMOTE_USER_DATA variables. Raw bytes.
	User, Tokens, Data string
	// ClientIP is r->useragent_ip as the handler saw it ("" unless the
	// handler ran).
	ClientIP string
}

// Get sends GET path with the given headers (Cookie, X-Real-IP, ...) and
// returns the answer. Header values are sent byte for byte; CR, LF and NUL
// are refused because they would corrupt the request. Several values of
// one header become several header lines, in order.
//
// What httpd does with the bytes is httpd's business: it trims leading
// and trailing spaces and tabs from a value, joins repeated headers with
// ", ", and answers 400 to a value containing \v or \f (even with
// "HttpProtocolOptions Unsafe", which this server uses so that other
// control bytes reach mod_auth_tkt).
func (s *Server) Get(t testing.TB, path string, header http.Header) Result {
	t.Helper()
	return s.GetHost(t, s.Addr, path, header)
}

// GetHost is Get with host as the Host header, which selects one of the
// VirtualHosts by its ServerName.
func (s *Server) GetHost(t testing.TB, host, path string, header http.Header) Result {
	t.Helper()
	r, err := s.doHost(host, path, header)
	if err != nil {
		t.Fatalf("apachetest: GET %s from %s: %v", path, host, err)
	}
	return r
}

func (s *Server) do(path string, header http.Header) (Result, error) {
	return s.doHost(s.Addr, path, header)
}

func (s *Server) doHost(host, path string, header http.Header) (Result, error) {
	if host == "" || strings.ContainsAny(host, " \r\n\x00") {
		return Result{}, fmt.Errorf("bad host %q", host)
	}
	if path == "" || path[0] != '/' || strings.ContainsAny(path, " \r\n\x00") {
		return Result{}, fmt.Errorf("bad path %q", path)
	}
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(header)) {
		for _, v := range header[k] {
			if strings.ContainsAny(k, " :\r\n\x00") || strings.ContainsAny(v, "\r\n\x00") {
				return Result{}, fmt.Errorf("header %q: %q cannot be sent", k, v)
			}
			lines = append(lines, k+": "+v)
		}
	}
	req := rawhttp.Request("GET", path, host, lines...)

	// A reused connection may have been closed by the server in the
	// meantime; then the request is sent once more on a new one.
	for fresh := false; ; fresh = true {
		c, reused, err := s.getConn(fresh)
		if err != nil {
			return Result{}, err
		}
		res, keep, err := roundTrip(c, req)
		if err != nil {
			c.Close()
			if reused {
				continue
			}
			return Result{}, err
		}
		if keep {
			s.putConn(c)
		} else {
			c.Close()
		}
		return res, nil
	}
}

func roundTrip(c *rawhttp.Conn, req string) (res Result, keep bool, err error) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	resp, err := c.RoundTrip(req)
	if err != nil {
		return res, false, err
	}
	h := resp.Header()
	res = Result{
		Status:    resp.Status,
		Location:  h.Get("Location"),
		SetCookie: h.Values("Set-Cookie"),
		Header:    h,
	}
	if resp.Status == http.StatusOK {
		if err := res.parseEcho([]byte(resp.Body)); err != nil {
			return res, false, err
		}
	}
	return res, !resp.Close, nil
}

// parseEcho reads echo.lua's output.
func (r *Result) parseEcho(body []byte) error {
	for _, ln := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		k, v, ok := strings.Cut(ln, "=")
		if !ok {
			return fmt.Errorf("unexpected handler output %q", body)
		}
		if k == "ip" {
			r.ClientIP = v
			continue
		}
		var dst *string
		switch k {
		case "user":
			dst = &r.User
			r.Authenticated = v != "-"
		case "tokens":
			dst = &r.Tokens
		case "data":
			dst = &r.Data
		default:
			return fmt.Errorf("unexpected handler output %q", body)
		}
		if v == "-" {
			continue
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			return fmt.Errorf("handler output %q: %v", ln, err)
		}
		*dst = string(b)
	}
	return nil
}

func (s *Server) getConn(fresh bool) (c *rawhttp.Conn, reused bool, err error) {
	if !fresh {
		s.mu.Lock()
		if n := len(s.idle); n > 0 {
			c = s.idle[n-1]
			s.idle = s.idle[:n-1]
		}
		s.mu.Unlock()
		if c != nil {
			return c, true, nil
		}
	}
	c, err = rawhttp.Dial("tcp", s.Addr, 5*time.Second)
	return c, false, err
}

func (s *Server) putConn(c *rawhttp.Conn) {
	s.mu.Lock()
	s.idle = append(s.idle, c)
	s.mu.Unlock()
}

func (s *Server) closeIdle() {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}
