//go:build unix

package nginx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/e2e"
)

// tktgate is the binary under test, built once from the repository root.
var tktgate = e2e.Binary{Root: ".."}

func TestMain(m *testing.M) {
	code := m.Run()
	stopChromium()
	tktgate.Remove()
	os.Exit(code)
}

func tktgateBinary(t *testing.T) string { return tktgate.Path(t) }

// needBinary returns the path of an external program, or skips (fails
// under TKTGATE_REQUIRE_E2E=1) when it is not installed.
func needBinary(t *testing.T, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		if !strings.Contains(p, "/") {
			if lp, err := exec.LookPath(p); err == nil {
				return lp
			}
		}
	}
	e2e.SkipOrFail(t, "%s not installed", paths[0])
	return ""
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  *e2e.Buffer
	done chan struct{}
	logs []string // files to show when the test fails
}

// startProc runs a program in its own process group, killed with the
// whole group when the test ends.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &e2e.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s (pid %d) did not exit", name, p.cmd.Process.Pid)
		}
		if t.Failed() {
			p.dump(t)
		}
	})
	return p
}

func (p *proc) dump(t *testing.T) {
	t.Helper()
	t.Logf("--- %s output:\n%s", p.name, p.out.String())
	for _, f := range p.logs {
		b, _ := os.ReadFile(f)
		t.Logf("--- %s %s:\n%s", p.name, filepath.Base(f), b)
	}
}

// waitListening waits until network/addr accepts connections, failing
// early if the process exits.
func (p *proc) waitListening(t *testing.T, network, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			p.dump(t)
			t.Fatalf("%s exited before listening on %s", p.name, addr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.dump(t)
			t.Fatalf("%s not listening on %s after 10s: %v", p.name, addr, err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// render reads a shipped file and replaces the documented placeholders,
// failing if one of them is not there: the test must run what users copy.
func render(t *testing.T, path string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("%s: placeholder %q not found", path, repl[i])
		}
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	return s
}

// gate is a running tktgate.
type gate struct {
	bin, config string
	network     string // "tcp" or "unix"
	addr        string // host:port or socket path
	log         *e2e.Buffer
}

// tktgateConfig is the config the tests use; redirects false leaves out
// every redirect URL, extra is appended.
func tktgateConfig(listen string, redirects bool, header string, extra string) string {
	c := fmt.Sprintf(`listen = %q
socket_mode = "0666"

[ticket]
secret = "nginx-test-secret"
timeout = "1h"
timeout_refresh = 0.5

[client_ip]
header = %q
trusted_proxies = ["127.0.0.1/32"]
`, listen, header)
	if redirects {
		c += `
[redirect]
login_url = "/login"
timeout_url = "/timeout"
unauth_url = "/unauth"
`
	}
	return c + extra + `
[policy.admin]
tokens = ["admin"]
`
}

func startTktgate(t *testing.T, listen, config string) *gate {
	t.Helper()
	dir := t.TempDir()
	g := &gate{bin: tktgateBinary(t), config: filepath.Join(dir, "tktgate.toml"), network: "tcp", addr: listen}
	if a, ok := strings.CutPrefix(listen, "unix:"); ok {
		g.network, g.addr = "unix", a
	}
	if err := os.WriteFile(g.config, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "tktgate", nil, g.bin, "-config", g.config)
	p.waitListening(t, g.network, g.addr)
	g.log = p.out
	return g
}

// ticket mints a base64 ticket (raw: the plain ticket) with tktgate's CLI.
func (g *gate) ticket(t *testing.T, uid, ip, tokens, data string, ts time.Time, raw bool) string {
	t.Helper()
	args := []string{"ticket", "-config", g.config, "-uid", uid, "-ip", ip, "-ts", strconv.FormatInt(ts.Unix(), 10)}
	if tokens != "" {
		args = append(args, "-tokens", tokens)
	}
	if data != "" {
		args = append(args, "-data", data)
	}
	if raw {
		args = append(args, "-raw")
	}
	out, err := exec.Command(g.bin, args...).Output()
	if err != nil {
		t.Fatalf("tktgate %v: %v", args, err)
	}
	return strings.TrimRight(string(out), "\r\n")
}

// relay forwards TCP connections to tktgate, counting them (keep-alive)
// and the requests on them (cache), keeping what nginx sent, and able to
// cut tktgate off (cache).
type relay struct {
	ln       net.Listener
	target   string
	accepts  atomic.Int64
	requests atomic.Int64 // header blocks sent to tktgate
	sent     e2e.Buffer   // every byte sent to tktgate
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func startRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go r.serve()
	t.Cleanup(r.stop)
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.accepts.Add(1)
		u, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns[c], r.conns[u] = true, true
		r.mu.Unlock()
		go func() {
			io.Copy(io.MultiWriter(u, &requestCounter{n: &r.requests}, &r.sent), c)
			u.Close()
		}()
		go func() {
			io.Copy(c, u)
			c.Close()
		}()
	}
}

// requestCounter counts the ends of header blocks ("\r\n\r\n") in a
// stream of requests without bodies, as nginx sends auth subrequests.
type requestCounter struct {
	n    *atomic.Int64
	tail []byte // the last bytes of the previous write
}

func (c *requestCounter) Write(p []byte) (int, error) {
	b := append(c.tail, p...)
	c.n.Add(int64(bytes.Count(b, []byte("\r\n\r\n"))))
	c.tail = append(c.tail[:0], b[max(0, len(b)-3):]...)
	return len(p), nil
}

// stop makes tktgate unreachable: no new connections, open ones cut.
func (r *relay) stop() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
}

// seen is what the upstream application received.
type seen struct {
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
}

// startApp runs the protected application: it echoes the request URI and
// headers as JSON; /missing answers 404.
func startApp(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
		json.NewEncoder(w).Encode(seen{URI: r.URL.RequestURI(), Header: r.Header})
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// shippedAccessLog is the access log tktgate.conf names: startNginxFiles
// puts it in nginx's prefix.
const shippedAccessLog = "/var/log/nginx/access.log"

// nginxFiles is an nginx configuration laid out as Debian's: the *.conf
// of conf.d/ and of sites/ are included in http{}, and snippets/ holds
// what the shipped files include by relative path (which nginx reads from
// its configuration directory, here the prefix). Keys are paths under the
// prefix, values the files' text.
type nginxFiles map[string]string

// shippedFiles renders the shipped files of one site: upstream
// (tktgate-upstream.conf or an alternative to it) with the placeholder
// pairs upRepl, the snippets, and tktgate.conf with siteRepl. A cacheDir
// makes it the cached variant, as tktgate.conf's header says:
// tktgate-cache.conf with that directory, and tktgate-auth-cached.conf
// included instead of tktgate-auth.conf.
func shippedFiles(t *testing.T, upstream string, upRepl []string, cacheDir string, siteRepl ...string) nginxFiles {
	t.Helper()
	f := nginxFiles{
		"conf.d/" + upstream:             render(t, upstream, upRepl...),
		"snippets/tktgate-auth.conf":     render(t, "tktgate-auth.conf"),
		"snippets/tktgate-location.conf": render(t, "tktgate-location.conf"),
		"conf.d/tktgate-log.conf":        render(t, "tktgate-log.conf"),
	}
	if cacheDir != "" {
		f["conf.d/tktgate-cache.conf"] = render(t, "tktgate-cache.conf", "/var/lib/nginx/tktgate-cache", cacheDir)
		f["snippets/tktgate-auth-cached.conf"] = render(t, "tktgate-auth-cached.conf")
		siteRepl = append(siteRepl, "include snippets/tktgate-auth.conf;", "include snippets/tktgate-auth-cached.conf;")
	}
	f["sites/tktgate.conf"] = render(t, "tktgate.conf", siteRepl...)
	return f
}

// edit replaces the old/new pairs of repl in the file at path, failing if
// one is not there.
func (f nginxFiles) edit(t *testing.T, path string, repl ...string) {
	t.Helper()
	s, ok := f[path]
	if !ok {
		t.Fatalf("no %s among the nginx files", path)
	}
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("%s: %q not found", path, repl[i])
		}
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	f[path] = s
}

// startNginx runs the real nginx on one site file (http{}-level content),
// in a prefix of its own, and returns its address.
func startNginx(t *testing.T, site string, modules ...string) string {
	t.Helper()
	return startNginxFiles(t, nginxFiles{"sites/site.conf": site}, modules...)
}

// startNginxFiles runs the real nginx on files, in a prefix of its own,
// and returns its address, which replaces "listen 80;" in every site.
func startNginxFiles(t *testing.T, files nginxFiles, modules ...string) string {
	t.Helper()
	addr, _ := startNginxFilesIn(t, files, modules...)
	return addr
}

// startNginxFilesIn is startNginxFiles that also returns nginx's prefix,
// where its logs are (access.log, error.log).
func startNginxFilesIn(t *testing.T, files nginxFiles, modules ...string) (addr, dir string) {
	t.Helper()
	bin := needBinary(t, "/usr/sbin/nginx", "nginx")
	for _, m := range modules {
		if _, err := os.Stat(m); err != nil {
			e2e.SkipOrFail(t, "nginx module %s not installed", m)
		}
	}
	dir = t.TempDir()
	addr = freeAddr(t)
	for path, text := range files {
		if strings.HasPrefix(path, "sites/") {
			text = strings.ReplaceAll(text, "listen 80;", "listen "+addr+";")
			text = strings.ReplaceAll(text, shippedAccessLog, filepath.Join(dir, "access.log"))
		}
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mainConf strings.Builder
	if os.Geteuid() == 0 {
		// Workers as root: they must read the test's temp files.
		mainConf.WriteString("user root;\n")
	}
	for _, m := range modules {
		fmt.Fprintf(&mainConf, "load_module %s;\n", m)
	}
	fmt.Fprintf(&mainConf, `worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/conf.d/*.conf;
    include %[1]s/sites/*.conf;
}
`, dir)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(mainConf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "nginx", nil, bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf, "-g", "daemon off;")
	p.logs = []string{filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log")}
	p.waitListening(t, "tcp", addr)
	// nginx warns about what it had to work around (a bad upstream header,
	// a buffer too small): none of that is expected.
	t.Cleanup(func() {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		for _, line := range strings.Split(string(b), "\n") {
			for _, level := range []string{"[warn]", "[crit]", "[alert]", "[emerg]"} {
				if strings.Contains(line, level) {
					t.Errorf("nginx: %s", line)
				}
			}
		}
	})
	return addr, dir
}

// browser drives a proxy like a browser would, without following
// redirects.
type browser struct {
	addr   string // where to connect
	host   string // Host header ("" = addr)
	client *http.Client
}

func newBrowser(addr, host, localIP string) *browser {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	return &browser{addr: addr, host: host, client: &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// origin is scheme://host as the site sees it.
func (b *browser) origin() string {
	if b.host != "" {
		return "http://" + b.host
	}
	return "http://" + b.addr
}

type answer struct {
	status int
	header http.Header
	body   string
	app    *seen // what the application got, when it answered
}

// cookie returns the Set-Cookie for name, or nil.
func (a *answer) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// get sends GET uri with headers given as "Name: value".
func (b *browser) get(t *testing.T, uri string, headers ...string) *answer {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+b.addr+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.host != "" {
		req.Host = b.host
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ": ")
		if !ok {
			t.Fatalf("bad header %q", h)
		}
		req.Header.Add(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", uri, err)
	}
	a := &answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var s seen
		if err := json.Unmarshal(body, &s); err == nil {
			a.app = &s
		}
	}
	return a
}

var errNoApp = errors.New("the application did not answer")

// appHeader returns what the application received in header name: its
// values, errNoApp if the application was not reached.
func (a *answer) appHeader(name string) ([]string, error) {
	if a.app == nil {
		return nil, errNoApp
	}
	return a.app.Header[http.CanonicalHeaderKey(name)], nil
}
