package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tktgate/tktgate/internal/pageview"
)

const (
	secret = "bench-secret-not-for-production"
	uid    = "bench"
	tokens = "admin,editor"
	data   = "Bench User"
)

// browserCookie is a page view's Cookie header, about 400 bytes: Google
// Analytics and Ads (_ga, _ga_<id>, _gcl_au, _gid), Matomo (_pk_id, _pk_ses), the
// application's session id, the ticket, a consent banner's and a theme
// cookie. The ticket is in the middle, as it falls among the others.
func browserCookie(ticket string) string {
	return "_ga=GA1.1.1283746519.1733312345; _ga_Q8XK2M4TPB=GS1.1.1733312345.4.1.1733313901.0.0.0; _gcl_au=1.1.918273645.1733312345; " +
		"_gid=GA1.2.918273645.1733312345; _pk_id.3.a1b2=5c8e1f0a9b2d4c7e.1733312345.; _pk_ses.3.a1b2=1; " +
		"SESSIONID=Zk3q9VbX2mP7tR1wY8nC4dL6hJ0sA5eG; auth_tkt=" + ticket + "; cookieconsent_status=dismiss; theme=dark"
}

// shortHeaders and shortCookie are the request the benchmarks sent until
// 2026-12-04: three browser headers and four cookies, about 450 bytes.
// Comparison 3 keeps a row or two with them, for how much a real
// browser's headers cost each server.
var shortHeaders = []string{
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"Accept-Language: en-US,en;q=0.5",
}

func shortCookie(ticket string) string {
	return "_ga=GA1.2.1234567890.1234567890; theme=dark; auth_tkt=" + ticket + "; lang=en"
}

// requestID is what nginx's $request_id looks like: 32 hex digits.
const requestID = "5f0c6e1a9b2d4c7e8f1a3b5c7d9e0f12"

// subrequestHeaders are what nginx sends tktgate for a page view with the
// shipped nginx/tktgate-auth.conf (proxy_pass_request_headers off): the
// headers it sets and the Cookie header, nothing of the browser's own
// (wrk adds Host). nginx/wiring_test.go checks the shipped file sends
// these names and no others.
func subrequestHeaders(cookie string) []string {
	return append(subrequestSet(), "Cookie: "+cookie)
}

// subrequestSet is subrequestHeaders without the Cookie header.
func subrequestSet() []string {
	return []string{
		"X-Real-IP: 127.0.0.1",
		"X-Forwarded-For: 127.0.0.1",
		"X-Original-URL: http://127.0.0.1:8080/index.html",
		"X-Original-Method: GET",
		"X-Request-ID: " + requestID,
	}
}

// clientHeaders are a browser's page view with cookie as its Cookie
// header.
func clientHeaders(cookie string) []string {
	return append(append([]string(nil), pageview.ChromeHeaders...), "Cookie: "+cookie)
}

// shortClientHeaders are the short request of shortHeaders.
func shortClientHeaders(cookie string) []string {
	return append(append([]string(nil), shortHeaders...), "Cookie: "+cookie)
}

// gate is a running tktgate.
type gate struct {
	*proc
	addr   string
	ticket string // base64, bound to 127.0.0.1
	answer rawResp
}

func (h *harness) startTktgate(name, digest string) (*gate, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return h.startTktgateOn(name, digest, addr, "")
}

// startTktgateOn starts tktgate listening on addr, "host:port" or
// "unix:/path" (mode 0666, for nginx's unprivileged worker), with extra
// appended to its config.
func (h *harness) startTktgateOn(name, digest, addr, extra string) (*gate, error) {
	return h.startTktgateWith(name, digest, addr, "", extra)
}

// startTktgateWith is startTktgateOn with top-level keys (top) too.
func (h *harness) startTktgateWith(name, digest, addr, top, extra string) (*gate, error) {
	cfg := filepath.Join(h.tmp, name+".toml")
	if strings.HasSuffix(name, "-batch") {
		// SCHED_BATCH, as config.toml ships it (cpu_scheduling): its
		// wake-ups do not preempt nginx.
		top += "\ncpu_scheduling = \"batch\"\n"
	} else {
		// The others under SCHED_OTHER whatever the harness was started
		// under: what tktgate costs without it.
		top += "\ncpu_scheduling = \"other\"\n"
	}
	conf := fmt.Sprintf("listen = %q\nsocket_mode = \"0666\"\nlog_level = \"warn\"\n%s\n[ticket]\nsecret = %q\ndigest_type = %q\n\n[redirect]\nlogin_url = \"/login\"\n", addr, top, secret, digest) + extra
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := h.start(name, h.binPath("tktgate"), "-config", cfg)
	if err != nil {
		return nil, err
	}
	if err := waitPort(p, addr); err != nil {
		return nil, err
	}
	out, err := exec.Command(h.binPath("tktgate"), "ticket", "-config", cfg, "-uid", uid, "-ip", "127.0.0.1", "-tokens", tokens, "-data", data).Output()
	if err != nil {
		return nil, fmt.Errorf("tktgate ticket: %v", err)
	}
	g := &gate{proc: p, addr: addr, ticket: string(bytes.TrimSpace(out))}
	g.answer, err = rawGet(addr, "/auth", subrequestHeaders(browserCookie(g.ticket)))
	if err != nil {
		return nil, err
	}
	if g.answer.status != 200 || g.answer.get("X-Remote-User") != uid || g.answer.get("Set-Cookie") != "" {
		return nil, fmt.Errorf("%s: a fresh ticket gets %d, X-Remote-User %q, Set-Cookie %q; want 200, %q and none", name, g.answer.status, g.answer.get("X-Remote-User"), g.answer.get("Set-Cookie"), uid)
	}
	r, err := rawGet(addr, "/auth", subrequestHeaders("auth_tkt=0"+g.ticket[1:]))
	if err != nil {
		return nil, err
	}
	if r.status != 401 {
		return nil, fmt.Errorf("%s: a forged ticket gets %d, want 401", name, r.status)
	}
	return g, nil
}

// answerHeaders are tktgate's answer headers in order, without
// Content-Length (both comparison servers write it themselves).
func (g *gate) answerHeaders() [][2]string {
	var out [][2]string
	for _, kv := range g.answer.headers {
		if !strings.EqualFold(kv[0], "Content-Length") && !strings.EqualFold(kv[0], "Connection") {
			out = append(out, kv)
		}
	}
	return out
}

type simple struct {
	*proc
	addr string
}

// startCeiling starts the bare fasthttp server, writing exactly the
// headers g answered with.
func (h *harness) startCeiling(g *gate) (*simple, error) {
	return h.startCeilingAs("ceiling", g)
}

// startCeilingAs starts a ceiling server named name; one whose name ends
// in -batch runs under SCHED_BATCH (chrt execs it: the pid is the
// ceiling's), like the tktgates of that name.
func (h *harness) startCeilingAs(name string, g *gate) (*simple, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{h.binPath("ceiling"), "-listen", addr}
	for _, kv := range g.answerHeaders() {
		args = append(args, "-header", kv[0]+": "+kv[1])
	}
	if strings.HasSuffix(name, "-batch") {
		args = append([]string{"-b", "0"}, args...)
		args = append([]string{"chrt"}, args...)
	}
	p, err := h.start(name, args[0], args[1:]...)
	if err != nil {
		return nil, err
	}
	if err := waitPort(p, addr); err != nil {
		return nil, err
	}
	return &simple{p, addr}, nil
}

// startNetHTTP starts the net/http version; headers tktgate writes that
// it does not compute (X-Accel-Expires) are passed as static ones.
func (h *harness) startNetHTTP(g *gate) (*simple, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"-listen", addr, "-secret", secret, "-digest", "MD5"}
	computed := map[string]bool{"cache-control": true, "x-remote-user": true, "x-remote-user-tokens": true, "x-remote-user-data": true}
	for _, kv := range g.answerHeaders() {
		if !computed[strings.ToLower(kv[0])] {
			args = append(args, "-header", kv[0]+": "+kv[1])
		}
	}
	p, err := h.start("nethttp", h.binPath("nethttp"), args...)
	if err != nil {
		return nil, err
	}
	if err := waitPort(p, addr); err != nil {
		return nil, err
	}
	r, err := rawGet(addr, "/auth", subrequestHeaders(browserCookie(g.ticket)))
	if err != nil {
		return nil, err
	}
	if r.status != 200 || r.get("X-Remote-User") != uid {
		return nil, fmt.Errorf("nethttp: a fresh ticket gets %d, X-Remote-User %q", r.status, r.get("X-Remote-User"))
	}
	return &simple{p, addr}, nil
}

// The static file both web servers protect: 612 bytes, like nginx's
// default index.html.
func staticFile() []byte {
	b := []byte("<!DOCTYPE html>\n<html>\n<head>\n<title>tktgate benchmark</title>\n</head>\n<body>\n<h1>Protected page</h1>\n<p>")
	tail := []byte("</p>\n</body>\n</html>\n")
	for len(b)+len(tail) < 612 {
		b = append(b, "lorem ipsum "[len(b)%12])
	}
	return append(b, tail...)
}

type webServer struct {
	*proc
	addr string // protected (Apache)
	// nginx only: the address of each of its sites, by setup name.
	sites map[string]string
}

// nginxSetup is one way comparison 3 protects the file with nginx: a
// server block on its own port.
type nginxSetup struct {
	name     string
	upstream string // the upstream's name; "" = no auth_request
	auth     string // the auth location's file, as included
	lua      bool   // the Lua check instead of auth_request
	denies   bool   // the auth endpoint refuses a bad ticket
}

// The nginx setups, by name (see main.go for what each measures).
var nginxSetups = []nginxSetup{
	{name: nameStatic},
	{name: nameNginx, upstream: "tkt_tcp", auth: "auth-tcp.conf", denies: true},
	{name: nameNginxAllHeaders, upstream: "tkt_tcp", auth: "auth-all-headers.conf", denies: true},
	{name: nameNginxUnix, upstream: "tkt_unix", auth: "auth-unix.conf", denies: true},
	{name: nameNginxBatch, upstream: "tkt_tcp_batch", auth: "auth-tcp-batch.conf", denies: true},
	{name: nameNginxUnixBatch, upstream: "tkt_unix_batch", auth: "auth-unix-batch.conf", denies: true},
	{name: nameNginxCeiling, upstream: "tkt_ceiling", auth: "auth-ceiling.conf"},
	{name: nameNginxCeilingBatch, upstream: "tkt_ceiling_batch", auth: "auth-ceiling-batch.conf"},
	{name: nameNginxCached, upstream: "tkt_cached", auth: "auth-cached.conf", denies: true},
	{name: nameNginxLua, lua: true, denies: true},
}

// shippedNginx reads nginx/NAME of the repository with the old/new
// pairs of repl replaced, each of which must be there: comparison 3
// measures the files users install, not a copy that could drift.
func (h *harness) shippedNginx(name string, repl ...string) (string, error) {
	b, err := os.ReadFile(filepath.Join(h.root, "nginx", name))
	if err != nil {
		return "", err
	}
	s := string(b)
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			return "", fmt.Errorf("nginx/%s: %q not found: the harness no longer matches the shipped file", name, repl[i])
		}
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	return s, nil
}

// nginxFiles renders comparison 3's nginx configuration into dir from
// the shipped files: the upstreams from tktgate-upstream.conf and
// tktgate-upstream-unix.conf (renamed, their addresses replaced),
// tktgate-cache.conf, and per setup its auth location (tktgate-auth.conf
// or tktgate-auth-cached.conf with proxy_pass to its upstream) and a
// server block whose location / has auth_request and
// tktgate-location.conf, as nginx/tktgate.conf's. upstreams maps an
// upstream name to its server address; listen a setup name to its port.
// It returns the http{} content.
func (h *harness) nginxFiles(dir, www string, upstreams, listen map[string]string, lua bool) (string, error) {
	var conf strings.Builder
	write := func(name, text string) error {
		return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
	}
	for _, up := range []string{"tkt_tcp", "tkt_unix", "tkt_tcp_batch", "tkt_unix_batch", "tkt_ceiling", "tkt_ceiling_batch", "tkt_cached"} {
		file, ph := "tktgate-upstream.conf", "127.0.0.1:9180"
		if strings.HasPrefix(up, "tkt_unix") {
			file, ph = "tktgate-upstream-unix.conf", "unix:/run/tktgate/tktgate.sock"
		}
		u, err := h.shippedNginx(file, "upstream tktgate {", "upstream "+up+" {", ph, upstreams[up])
		if err != nil {
			return "", err
		}
		conf.WriteString(u)
	}
	c, err := h.shippedNginx("tktgate-cache.conf", "/var/lib/nginx/tktgate-cache", filepath.Join(dir, "auth-cache"))
	if err != nil {
		return "", err
	}
	conf.WriteString(c)
	loc, err := h.shippedNginx("tktgate-location.conf")
	if err != nil {
		return "", err
	}
	if err := write("tktgate-location.conf", loc); err != nil {
		return "", err
	}
	for _, st := range nginxSetups {
		addr := listen[st.name]
		if addr == "" {
			continue
		}
		switch {
		case st.lua && !lua:
			continue
		case st.lua:
			conf.WriteString(strings.NewReplacer("LISTEN", addr, "ROOT", www, "SECRET", secret).Replace(nginxLua))
			continue
		case st.upstream == "":
			fmt.Fprintf(&conf, "\nserver {\n    listen %s;\n    root %s;\n}\n", addr, www)
			continue
		}
		file, repl := "tktgate-auth.conf", []string{"proxy_pass http://tktgate/;", "proxy_pass http://" + st.upstream + "/;"}
		switch st.name {
		case nameNginxCached:
			file = "tktgate-auth-cached.conf"
		case nameNginxAllHeaders:
			// As shipped until 2026-12-04: the browser's headers go
			// along in every subrequest.
			repl = append(repl, "proxy_pass_request_headers off;", "proxy_pass_request_headers on;")
		}
		a, err := h.shippedNginx(file, repl...)
		if err != nil {
			return "", err
		}
		if err := write(st.auth, a); err != nil {
			return "", err
		}
		fmt.Fprintf(&conf, `
server {
    listen %s;
    root %s;
    include %s;
    location / {
        auth_request /_tktgate/auth;
        include tktgate-location.conf;
    }
}
`, addr, www, filepath.Join(dir, st.auth))
	}
	return conf.String(), nil
}

// nginxLua checks the MD5 ticket inside nginx, in an access_by_lua_block:
// what a site would script instead of an auth service. It reads the
// cookie nginx picked, base64 or raw, checks IP, digest and a 2 h timeout,
// and passes the identity on; no refresh, no tokens policy, no quoting or
// %21 forms: less work than tktgate does, the in-process lower bound.
const nginxLua = `
    server {
        listen LISTEN;
        root ROOT;
        location / {
            access_by_lua_block {
                local secret = "SECRET"
                local function deny()
                    return ngx.redirect("/login?back=" .. ngx.escape_uri(ngx.var.scheme .. "://" .. ngx.var.http_host .. ngx.var.request_uri))
                end
                local t = ngx.var.cookie_auth_tkt
                if not t or t == "" then return deny() end
                if not t:find("!", 1, true) then
                    t = ngx.decode_base64(t)
                    if not t then return deny() end
                end
                if #t < 41 then return deny() end
                local ts = tonumber(t:sub(33, 40), 16)
                if not ts then return deny() end
                local rest = t:sub(41)
                local a = rest:find("!", 1, true)
                if not a then return deny() end
                local uid, tokens, data = rest:sub(1, a - 1), "", rest:sub(a + 1)
                local b = data:find("!", 1, true)
                if b then tokens, data = data:sub(1, b - 1), data:sub(b + 1) end
                local o1, o2, o3, o4 = ngx.var.remote_addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
                if not o1 then return deny() end
                local ipts = string.char(tonumber(o1), tonumber(o2), tonumber(o3), tonumber(o4),
                    math.floor(ts / 16777216) % 256, math.floor(ts / 65536) % 256, math.floor(ts / 256) % 256, ts % 256)
                local d1 = ngx.md5(ipts .. secret .. uid .. "\0" .. tokens .. "\0" .. data)
                if ngx.md5(d1 .. secret) ~= t:sub(1, 32) then return deny() end
                if ts + 7200 < ngx.time() then return deny() end
                ngx.req.set_header("X-Remote-User", uid)
                ngx.req.set_header("X-Remote-User-Tokens", tokens)
                ngx.req.set_header("X-Remote-User-Data", data)
            }
        }
    }
`

const luaModule = "/usr/lib/nginx/modules/ngx_http_lua_module.so"

// startNginx starts nginx with a private prefix and one worker, serving
// the site in each of nginxSetups' ways: gate behind the shipped files
// over TCP, and with every header forwarded; unixGate over its unix
// socket; batchGate and unixBatchGate, the same two under SCHED_BATCH; ceil, the cheapest possible auth endpoint; cachedGate with
// tktgate-auth-cached.conf; with no auth; and with the check in Lua, if
// libnginx-mod-http-lua is installed.
func (h *harness) startNginx(gate, unixGate, batchGate, unixBatchGate, cachedGate *gate, ceil, ceilBatch *simple) (*webServer, error) {
	if _, err := exec.LookPath("nginx"); err != nil {
		return nil, h.skipOrFail("nginx not installed")
	}
	dir := filepath.Join(h.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lua := true
	if _, err := os.Stat(luaModule); err != nil {
		if err := h.skipOrFail("libnginx-mod-http-lua not installed"); err != errSkip {
			return nil, err
		}
		lua = false
	}
	listen := map[string]string{}
	for _, st := range nginxSetups {
		if st.lua && !lua {
			continue
		}
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		listen[st.name] = a
	}
	user, modules := "", ""
	if os.Geteuid() == 0 {
		user = "user nobody nogroup;"
	}
	if lua {
		modules = "load_module /usr/lib/nginx/modules/ndk_http_module.so;\nload_module " + luaModule + ";"
	}
	www := filepath.Join(dir, "www")
	sites, err := h.nginxFiles(dir, www, map[string]string{"tkt_tcp": gate.addr, "tkt_unix": unixGate.addr, "tkt_tcp_batch": batchGate.addr, "tkt_unix_batch": unixBatchGate.addr, "tkt_ceiling": ceil.addr, "tkt_ceiling_batch": ceilBatch.addr, "tkt_cached": cachedGate.addr}, listen, lua)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`# Written by benchmarks/harness.
%[1]s
%[3]s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type text/html;
    keepalive_timeout 65;
    # As Apache's MaxKeepAliveRequests 0: the client never has to reconnect.
    keepalive_requests 1000000;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[4]s}
`, user, dir, modules, sites)
	if err := h.writeSite(dir, "nginx.conf", conf); err != nil {
		return nil, err
	}
	p, err := h.start("nginx", "nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	p.log = filepath.Join(dir, "error.log")
	for _, a := range listen {
		if err := waitPort(p, a); err != nil {
			return nil, err
		}
	}
	for _, st := range nginxSetups {
		a := listen[st.name]
		if a == "" || st.upstream == "" && !st.lua {
			continue
		}
		// The ceiling approves everything: only the valid-ticket answer
		// is checked.
		if err := h.checkProtected("nginx "+st.name, a, gate.ticket, st.denies); err != nil {
			return nil, err
		}
	}
	return &webServer{proc: p, sites: listen}, nil
}

// startApache starts Apache 2.4 with mpm_event and mod_auth_tkt guarding
// the same file, the recipe of internal/apachetest: a private ServerRoot,
// numeric User/Group when root.
func (h *harness) startApache(ticket string) (*webServer, error) {
	const bin, mods = "/usr/sbin/apache2", "/usr/lib/apache2/modules"
	if _, err := os.Stat(filepath.Join(mods, "mod_auth_tkt.so")); err != nil {
		return nil, h.skipOrFail("Apache or mod_auth_tkt not installed")
	}
	dir := filepath.Join(h.tmp, "apache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	line := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	line("# Written by benchmarks/harness.")
	line("ServerRoot %q", dir)
	line("ServerName 127.0.0.1")
	line("Listen %s", addr)
	line("PidFile %q", filepath.Join(dir, "httpd.pid"))
	line("DefaultRuntimeDir %q", dir)
	line("ErrorLog %q", filepath.Join(dir, "error.log"))
	line("LogLevel warn")
	if os.Geteuid() == 0 {
		line("User #65534")
		line("Group #65534")
	}
	for _, m := range [][2]string{
		{"mpm_event_module", "mod_mpm_event.so"},
		{"authn_core_module", "mod_authn_core.so"},
		{"authz_core_module", "mod_authz_core.so"},
		{"authz_user_module", "mod_authz_user.so"},
		{"mime_module", "mod_mime.so"},
		{"auth_tkt_module", "mod_auth_tkt.so"},
	} {
		line("LoadModule %s %q", m[0], filepath.Join(mods, m[1]))
	}
	// One process, pinned with the rest to the server CPU: more processes
	// would only contend for the same core. 128 threads for wrk's 64
	// connections: with no idle worker, mpm_event closes keep-alive
	// connections (Apache 2.4.71, measured: about one request in a
	// hundred saw its connection closed with 64 threads, none with 128,
	// at the same rate).
	line("StartServers 1")
	line("ServerLimit 1")
	line("ThreadLimit 128")
	line("ThreadsPerChild 128")
	line("MaxRequestWorkers 128")
	line("MinSpareThreads 1")
	line("MaxSpareThreads 128")
	line("KeepAlive On")
	line("MaxKeepAliveRequests 0")
	line("KeepAliveTimeout 65")
	line("EnableSendfile On")
	line("TypesConfig /etc/mime.types")
	line("DocumentRoot %q", filepath.Join(dir, "www"))
	line("TKTAuthSecret %q", secret)
	line("<Location />")
	line("  AuthType None")
	line("  Require valid-user")
	line("  TKTAuthLoginURL http://127.0.0.1/login")
	line("  TKTAuthTimeout 2h")
	line("  TKTAuthTimeoutRefresh 0.5")
	line("</Location>")
	if err := h.writeSite(dir, "httpd.conf", b.String()); err != nil {
		return nil, err
	}
	if _, err := os.Stat("/etc/mime.types"); err != nil {
		// mod_mime only needs the file to exist.
		if err := os.WriteFile(filepath.Join(dir, "mime.types"), []byte("text/html html\n"), 0o644); err != nil {
			return nil, err
		}
		conf := strings.Replace(b.String(), "TypesConfig /etc/mime.types", "TypesConfig "+filepath.Join(dir, "mime.types"), 1)
		if err := os.WriteFile(filepath.Join(dir, "httpd.conf"), []byte(conf), 0o644); err != nil {
			return nil, err
		}
	}
	// FOREGROUND keeps the parent attached; the Debian binary needs no
	// envvars file with -f.
	env := []string{"LANG=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	p, err := h.startEnv("apache", env, bin, "-d", dir, "-f", filepath.Join(dir, "httpd.conf"), "-DFOREGROUND")
	if err != nil {
		return nil, err
	}
	if err := waitPort(p, addr); err != nil {
		p.log = filepath.Join(dir, "error.log")
		return nil, err
	}
	p.log = filepath.Join(dir, "error.log")
	if err := h.checkProtected("apache", addr, ticket, true); err != nil {
		return nil, err
	}
	return &webServer{proc: p, addr: addr}, nil
}

// writeSite writes the config and www/index.html readable by the
// unprivileged workers.
func (h *harness) writeSite(dir, confName, conf string) error {
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), staticFile(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, confName), []byte(conf), 0o644)
}

// checkProtected makes sure that addr serves the file with the ticket and,
// if denies, redirects to the login page without it, or with a forged one.
func (h *harness) checkProtected(name, addr, ticket string, denies bool) error {
	r, err := rawGet(addr, "/index.html", clientHeaders(browserCookie(ticket)))
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if r.status != 200 || !bytes.Equal(r.body, staticFile()) {
		return fmt.Errorf("%s: with a valid ticket: status %d, %d-byte body; want 200 and the %d-byte file", name, r.status, len(r.body), len(staticFile()))
	}
	if !denies {
		return nil
	}
	for _, c := range []string{"theme=dark", browserCookie("0" + ticket[1:])} {
		r, err = rawGet(addr, "/index.html", clientHeaders(c))
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if r.status/100 != 3 || !strings.Contains(r.get("Location"), "/login") {
			return fmt.Errorf("%s: without a valid ticket (Cookie: %.40s...): status %d, Location %q; want a redirect to /login", name, c, r.status, r.get("Location"))
		}
	}
	return nil
}

func (h *harness) skipOrFail(msg string) error {
	if os.Getenv("TKTGATE_REQUIRE_E2E") == "1" {
		return fmt.Errorf("%s (TKTGATE_REQUIRE_E2E=1)", msg)
	}
	fmt.Fprintf(os.Stderr, "!! %s: skipping its rows\n", msg)
	return errSkip
}
