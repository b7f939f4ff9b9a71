package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	secret = "bench-secret-not-for-production"
	uid    = "bench"
	tokens = "admin,editor"
	data   = "Bench User"
)

// Headers a browser sends; nginx's auth subrequest passes them on.
var browserHeaders = []string{
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"Accept-Language: en-US,en;q=0.5",
}

// standardCookie is the Cookie header of every comparison that does not
// vary it: a few everyday cookies around the ticket.
func standardCookie(ticket string) string {
	return "_ga=GA1.2.1234567890.1234567890; theme=dark; auth_tkt=" + ticket + "; lang=en"
}

// subrequestHeaders are what nginx sends tktgate with the contract's
// wiring: the browser's headers plus X-Real-IP, X-Original-URL and
// X-Original-Method (wrk adds Host).
func subrequestHeaders(cookie string) []string {
	return append(clientHeaders(cookie),
		"X-Real-IP: 127.0.0.1",
		"X-Original-URL: http://127.0.0.1:8080/index.html",
		"X-Original-Method: GET")
}

func clientHeaders(cookie string) []string {
	return append(append([]string(nil), browserHeaders...), "Cookie: "+cookie)
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
	g.answer, err = rawGet(addr, "/auth", subrequestHeaders(standardCookie(g.ticket)))
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
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"-listen", addr}
	for _, kv := range g.answerHeaders() {
		args = append(args, "-header", kv[0]+": "+kv[1])
	}
	p, err := h.start("ceiling", h.binPath("ceiling"), args...)
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
	r, err := rawGet(addr, "/auth", subrequestHeaders(standardCookie(g.ticket)))
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
	addr string // protected
	// nginx only: the same file without auth, with the tuned wirings, with
	// auth_request to the fasthttp ceiling, with tktgate's answers cached,
	// and with the check in Lua ("" when the Lua module is missing).
	staticAddr, keepaliveAddr, unixAddr, ceilingAddr, cachedAddr, luaAddr string
}

// nginxProtected is a server block guarding the site with the contract's
// auth_request wiring (docs/contract.md, "nginx wiring") to upstream, and
// authExtra in the auth location.
func nginxProtected(listen, upstream, root, authExtra string) string {
	return fmt.Sprintf(`
    server {
        listen %[1]s;
        root %[3]s;

        location = /_auth {
            internal;%[4]s
            proxy_pass http://%[2]s/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
        }

        location / {
            auth_request /_auth;
            auth_request_set $auth_user $upstream_http_x_remote_user;
            auth_request_set $auth_cookie $upstream_http_set_cookie;
            auth_request_set $auth_location $upstream_http_location;
            add_header Set-Cookie $auth_cookie;
            error_page 401 403 = @login;
        }

        location @login { add_header Set-Cookie $auth_cookie; return 302 $auth_location; }
    }
`, listen, upstream, root, authExtra)
}

// nginxCacheMap is nginx/tktgate-cache.conf's map of URL tickets, which
// tktgate-auth-cached.conf's auth location bypasses the cache for.
const nginxCacheMap = `    map $request_uri $tktgate_url_ticket {
        default           "";
        "~[?&]auth_tkt="  1;
    }`

// nginxCache is what nginx/tktgate-auth-cached.conf adds to the auth
// location.
const nginxCache = `
            proxy_cache tktgate_auth;
            proxy_cache_bypass $tktgate_url_ticket;
            proxy_cache_key "$proxy_host$uri|$remote_addr|$http_cookie";
            open_file_cache max=1000 inactive=60s;`

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
// the site seven ways: with no auth; through the contract's wiring to
// gate (TCP, keepalive 32); the same with keepalive 256; with keepalive
// 256 to unixGate over its unix socket; with keepalive 256 to ceil (the
// cheapest possible auth endpoint); with keepalive 256 to cachedGate and
// nginx/tktgate-auth-cached.conf's cache; and with the check in Lua, if
// libnginx-mod-http-lua is installed.
func (h *harness) startNginx(gate, unixGate, cachedGate *gate, ceil *simple) (*webServer, error) {
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
	var addrs [7]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	if !lua {
		addrs[6] = ""
	}
	user, modules := "", ""
	if os.Geteuid() == 0 {
		user = "user nobody nogroup;"
	}
	if lua {
		modules = "load_module /usr/lib/nginx/modules/ndk_http_module.so;\nload_module " + luaModule + ";"
	}
	www := filepath.Join(dir, "www")
	conf := fmt.Sprintf(`# Written by benchmarks/harness.
%[1]s
%[7]s
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

    # The contract's upstream, and the tuned ones.
    upstream authtkt { server %[3]s; keepalive 32; }
    upstream authtkt_keepalive { server %[3]s; keepalive 256; }
    upstream authtkt_unix { server %[4]s; keepalive 256; }
    upstream authtkt_ceiling { server %[8]s; keepalive 256; }
    upstream authtkt_cached { server %[9]s; keepalive 256; }

    # As nginx/tktgate-cache.conf.
    proxy_cache_path %[2]s/auth-cache levels=1:2 keys_zone=tktgate_auth:1m max_size=64m inactive=2m use_temp_path=off;
%[10]s

    server {
        listen %[5]s;
        root %[6]s;
    }
`, user, dir, gate.addr, unixGate.addr, addrs[0], www, modules, ceil.addr, cachedGate.addr, nginxCacheMap)
	conf += nginxProtected(addrs[1], "authtkt", www, "")
	conf += nginxProtected(addrs[2], "authtkt_keepalive", www, "")
	conf += nginxProtected(addrs[3], "authtkt_unix", www, "")
	conf += nginxProtected(addrs[4], "authtkt_ceiling", www, "")
	conf += nginxProtected(addrs[5], "authtkt_cached", www, nginxCache)
	if lua {
		conf += strings.NewReplacer("LISTEN", addrs[6], "ROOT", www, "SECRET", secret).Replace(nginxLua)
	}
	conf += "}\n"
	if err := h.writeSite(dir, "nginx.conf", conf); err != nil {
		return nil, err
	}
	p, err := h.start("nginx", "nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	p.log = filepath.Join(dir, "error.log")
	for _, a := range addrs {
		if a == "" {
			continue
		}
		if err := waitPort(p, a); err != nil {
			return nil, err
		}
	}
	w := &webServer{proc: p, staticAddr: addrs[0], addr: addrs[1], keepaliveAddr: addrs[2], unixAddr: addrs[3],
		ceilingAddr: addrs[4], cachedAddr: addrs[5], luaAddr: addrs[6]}
	for _, a := range []string{w.addr, w.keepaliveAddr, w.unixAddr, w.cachedAddr, w.luaAddr} {
		if a == "" {
			continue
		}
		if err := h.checkProtected("nginx", a, gate.ticket, true); err != nil {
			return nil, err
		}
	}
	// The ceiling approves everything: only the valid-ticket answer is
	// checked.
	if err := h.checkProtected("nginx", w.ceilingAddr, gate.ticket, false); err != nil {
		return nil, err
	}
	return w, nil
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
	r, err := rawGet(addr, "/index.html", clientHeaders(standardCookie(ticket)))
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if r.status != 200 || !bytes.Equal(r.body, staticFile()) {
		return fmt.Errorf("%s: with a valid ticket: status %d, %d-byte body; want 200 and the %d-byte file", name, r.status, len(r.body), len(staticFile()))
	}
	if !denies {
		return nil
	}
	for _, c := range []string{"theme=dark", standardCookie("0" + ticket[1:])} {
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
