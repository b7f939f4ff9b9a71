package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/internal/httpd"
	"github.com/tktgate/tktgate/verifier"
)

// runtime is one loaded configuration with everything the hot path needs
// precomputed. A reload builds a new one and swaps the pointer, so a
// request runs start to end on one consistent config.
type runtime struct {
	cfg       *Config
	def       *policy
	policies  map[string]*policy
	header    string // client IP header, canonical; "" = ignore headers
	headerKey []byte // the same, for PeekCanonical
	xff       bool
}

type policy struct {
	*Policy
	v          *verifier.DialectVerifier
	cookieName []byte
	cookieSep  string // how several Cookie headers are joined
	userData   []userDataHeader
	stats      *policyStats
}

// userDataHeader is a UserDataHeader ready for the hot path.
type userDataHeader struct {
	header, field []byte
}

// Server answers auth_request subrequests.
type Server struct {
	rt      atomic.Pointer[runtime]
	log     *slog.Logger
	metrics *metrics
	ready   atomic.Bool
	// unknown remembers policy names already logged, so that a
	// misconfigured nginx location logs once, not on every request.
	unknownMu sync.Mutex
	unknown   map[string]bool
}

func newServer(log *slog.Logger, m *metrics) *Server {
	return &Server{log: log, metrics: m, unknown: map[string]bool{}}
}

// load installs cfg.
func (s *Server) load(cfg *Config) {
	rt := &runtime{cfg: cfg, policies: map[string]*policy{}}
	mk := func(p *Policy) *policy {
		pp := &policy{Policy: p, v: p.Verifier, cookieName: []byte(p.CookieName), cookieSep: ", ", stats: s.metrics.policy(p.Name)}
		if p.Dialect == verifier.Passport {
			pp.cookieSep = "; " // Node.js joins repeated Cookie headers so
		}
		for _, h := range p.UserDataHeaders {
			pp.userData = append(pp.userData, userDataHeader{[]byte(h.Header), []byte(h.Field)})
		}
		return pp
	}
	rt.def = mk(cfg.Default)
	for name, p := range cfg.Policies {
		rt.policies[name] = mk(p)
	}
	if h := cfg.ClientIP.Header; h != "" {
		rt.headerKey = fasthttp.AppendNormalizedHeaderKey(nil, h)
		rt.header = string(rt.headerKey)
		rt.xff = h == "X-Forwarded-For"
	}
	s.rt.Store(rt)
	s.ready.Store(true)
}

// state is the per-request scratch, pooled so the hot path allocates
// nothing once warm.
type state struct {
	tk     verifier.Ticket
	cookie []byte
	setc   []byte
	loc    []byte
	tmp    []byte
	guest  []byte
	field  []byte // one user_data_headers value
	// setCookie records that the answer carries a Set-Cookie, which makes
	// it uncacheable.
	setCookie bool
}

var statePool = sync.Pool{New: func() any { return new(state) }}

// Request header names are in fasthttp's canonical form ("X-Real-Ip"), as
// it stores them, so that look-ups use PeekCanonical: PeekBytes copies and
// normalises the name on every call.
var (
	hXRemoteUser       = []byte("X-Remote-User")
	hXRemoteUserTokens = []byte("X-Remote-User-Tokens")
	hXRemoteUserData   = []byte("X-Remote-User-Data")
	hSetCookie         = []byte("Set-Cookie")
	hLocation          = []byte("Location")
	hXBackCookie       = []byte("X-Back-Cookie")
	hXOriginalURL      = []byte("X-Original-Url")
	hXOriginalURI      = []byte("X-Original-Uri")
	hXForwardedURI     = []byte("X-Forwarded-Uri")
	hXForwardedProto   = []byte("X-Forwarded-Proto")
	hXForwardedHost    = []byte("X-Forwarded-Host")
	hXOriginalMethod   = []byte("X-Original-Method")
	hXForwardedMethod  = []byte("X-Forwarded-Method")
	hCacheControl      = []byte("Cache-Control")
	vNoStore           = []byte("no-store")
	hXAccelExpires     = []byte("X-Accel-Expires")
	vZero              = []byte("0")
)

// Handler serves every endpoint of the main listener.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	// fasthttp does not recover panics; one here would take the gate
	// down for every site behind it. The verifier is fuzzed not to panic,
	// this is the last line.
	defer func() {
		if r := recover(); r != nil {
			s.metrics.panics.Add(1)
			s.log.Error("panic in handler", "panic", r)
			ctx.Response.Reset()
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		}
	}()
	path := ctx.Path()
	switch {
	case string(path) == "/auth":
		rt := s.rt.Load()
		s.auth(ctx, rt, rt.def)
	case bytes.HasPrefix(path, []byte("/auth/")):
		rt := s.rt.Load()
		p := rt.policies[string(path[len("/auth/"):])]
		if p == nil {
			s.unknownPolicy(ctx, path[len("/auth/"):])
			return
		}
		s.auth(ctx, rt, p)
	case string(path) == "/metrics" && s.rt.Load().cfg.MetricsListen != "":
		// Kept off the address nginx (and whoever reaches it) talks to.
		ctx.SetStatusCode(fasthttp.StatusNotFound)
	default:
		s.ops(ctx)
	}
}

// ops serves the operational endpoints (also on metrics_listen).
func (s *Server) ops(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/healthz":
		ctx.SetBodyString("ok\n")
	case "/readyz":
		if s.ready.Load() && s.rt.Load() != nil {
			ctx.SetBodyString("ready\n")
		} else {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString("not ready\n")
		}
	case "/metrics":
		ctx.Response.Header.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		ctx.Response.SetBodyRaw(s.metrics.appendText(nil))
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
	}
}

func (s *Server) unknownPolicy(ctx *fasthttp.RequestCtx, name []byte) {
	s.metrics.unknownPolicy.Add(1)
	ctx.SetStatusCode(fasthttp.StatusInternalServerError)
	ctx.Response.Header.SetContentLength(0)
	ctx.Response.Header.SetCanonical(hXAccelExpires, vZero)
	s.unknownMu.Lock()
	// Bounded: the name comes from the request line.
	first := !s.unknown[string(name)] && len(s.unknown) < 100
	if first {
		s.unknown[string(name)] = true
	}
	s.unknownMu.Unlock()
	if first {
		s.log.Error("request for an unknown policy: check the nginx location's proxy_pass", "policy", policyForLog(name))
	}
}

// auth answers one auth_request subrequest, following mod_auth_tkt's
// auth_tkt_check: URL ticket, then cookie ticket, then guest, then the
// timeout, the tokens and the refresh.
func (s *Server) auth(ctx *fasthttp.RequestCtx, rt *runtime, p *policy) {
	// fasthttp read the clock as the request arrived: that is "now" for
	// the ticket, and the start of the latency measurement.
	start := ctx.Time()
	st := statePool.Get().(*state)
	st.setCookie = false
	r := s.decide(ctx, rt, p, st, start)
	s.cacheHeaders(ctx, rt, p, st, r, start)
	p.stats.count(r, start)
	if r.debug() && s.log.Enabled(context.Background(), slog.LevelDebug) && s.metrics.logLimiter.allow(start) {
		s.log.Debug("auth decision", "policy", p.Name, "reason", r.String(), "uid", sanitize(st.tk.UID))
	}
	statePool.Put(st)
}

func (s *Server) decide(ctx *fasthttp.RequestCtx, rt *runtime, p *policy, st *state, now time.Time) reason {
	req := &ctx.Request.Header
	resp := &ctx.Response.Header
	// Explicit, so that HEAD answers carry it too: nginx keeps the
	// upstream connection alive only with a known length.
	resp.SetContentLength(0)
	ip := clientIP(ctx, rt)
	scheme, host, uri := originalURL(req)
	if ip.IsUnspecified() {
		// 0.0.0.0 is what tickets for ignore_ip are signed for: a proxy
		// that claims it for the client would let those tickets pass a
		// policy that checks the address. No client has it.
		if s.metrics.logLimiter.allow(now) {
			s.log.Warn("refused: the trusted proxy gave an unspecified client address; check its client address header", "policy", p.Name, "header", rt.cfg.ClientIP.Header)
		}
		s.redirect(ctx, st, p, p.LoginURL, scheme, host, uri, fasthttp.StatusUnauthorized)
		return rUnspecifiedIP
	}
	tk := &st.tk
	// The pooled Ticket still holds the last request's fields; when no
	// Verify runs (no ticket at all) they must not be logged for this one.
	tk.UID, tk.Tokens, tk.Data = nil, nil, nil

	fromURL := false
	err := verifier.ErrNoTicket
	if q := query(uri); q != nil && p.Dialect.URLTickets() {
		if val, ok := verifier.QueryTicket(q, p.cookieName); ok && len(val) > 0 {
			err = p.v.Verify(tk, val, ip, now)
			// Like mod_auth_tkt, a URL ticket with a good digest is used
			// even when expired; any other failure falls back to the cookie.
			fromURL = err == nil || err == verifier.ErrExpired
		}
	}
	if !fromURL {
		var cookies []byte
		cookies, st.cookie = joinCookies(st.cookie[:0], req.PeekAll(fasthttp.HeaderCookie), p.cookieSep)
		err = verifier.ErrNoTicket
		if c := p.v.CookieTicket(cookies, p.cookieName); c != nil {
			err = p.v.Verify(tk, c, ip, now)
		}
	}

	why := reasonOf(err)
	guest := false
	switch {
	case err == nil:
	case err == verifier.ErrExpired && !(p.GuestLogin && p.GuestFallback):
		// mod_auth_tkt clears the cookie and sends the user to the timeout
		// URL (the POST one for a POST), else the login URL.
		st.setc = s.clearCookie(st.setc[:0], p, now)
		resp.SetCanonical(hSetCookie, st.setc)
		st.setCookie = true
		target := p.TimeoutURL
		if p.PostTimeoutURL != "" && isPOST(req) {
			target = p.PostTimeoutURL
		}
		if target == "" {
			target = p.LoginURL
		}
		s.redirect(ctx, st, p, target, scheme, host, uri, fasthttp.StatusUnauthorized)
		return why
	case p.GuestLogin:
		if err == verifier.ErrExpired {
			// mod_auth_tkt's check_timeout has already cleared the cookie
			// when it falls back to the guest.
			st.setc = s.clearCookie(st.setc[:0], p, now)
			resp.SetCanonical(hSetCookie, st.setc)
			st.setCookie = true
		}
		guest = true
		tk.UID = guestUID(st.guest[:0], p.GuestUser)
		st.guest = tk.UID
		tk.Tokens, tk.Data = nil, nil
		tk.NeedsRefresh = p.GuestCookie
		why = rGuest
	default:
		s.redirect(ctx, st, p, p.LoginURL, scheme, host, uri, fasthttp.StatusUnauthorized)
		return why
	}

	if !verifier.HasToken(tk.Tokens, p.Tokens) {
		target := p.UnauthURL
		if target == "" {
			target = p.LoginURL
		}
		s.redirect(ctx, st, p, target, scheme, host, uri, fasthttp.StatusForbidden)
		return rTokenDenied
	}

	resp.SetCanonical(hXRemoteUser, tk.UID)
	resp.SetCanonical(hXRemoteUserTokens, tk.Tokens)
	resp.SetCanonical(hXRemoteUserData, tk.Data)
	for i := range p.userData {
		h := &p.userData[i]
		var ok bool
		// A missing field, null, or a value unfit for a header: no header.
		if st.field, ok = verifier.AppendJSONField(st.field[:0], tk.Data, h.field); ok {
			resp.SetCanonical(h.header, st.field)
		}
	}
	switch {
	case tk.NeedsRefresh:
		// The dialect's own refreshed cookie value, already in the form
		// its library writes (base64, or WebOb's quoting for pyramid).
		st.tmp = p.v.AppendRefresh(st.tmp[:0], tk, ip, now)
		if len(st.tmp) > 0 {
			st.setc = s.ticketCookie(st.setc[:0], p, st.tmp, now)
			resp.SetCanonical(hSetCookie, st.setc)
			st.setCookie = true
			if !guest {
				why = rRefreshed
			}
		}
		if tk.OldSecret && !guest {
			// Even when it could not be re-signed (Pyramid's remember()
			// refuses some tokens): an approval on the old secret must
			// not be cached past the moment secret_old is removed.
			why = rOldSecret
		}
	case fromURL:
		st.tmp = tk.AppendBase64(st.tmp[:0])
		st.setc = s.ticketCookie(st.setc[:0], p, st.tmp, now)
		resp.SetCanonical(hSetCookie, st.setc)
		st.setCookie = true
	}
	return why
}

// cacheHeaders says for how long nginx may reuse this answer
// (X-Accel-Expires, which nginx ranks above Cache-Control): a plain 200
// until the earliest of the configured cap, the ticket's refresh point and
// its expiry; nothing else at all. An answer must never be served from a
// cache after the moment tktgate itself would answer differently.
func (s *Server) cacheHeaders(ctx *fasthttp.RequestCtx, rt *runtime, p *policy, st *state, r reason, now time.Time) {
	resp := &ctx.Response.Header
	n := int64(0)
	// Guests, refreshes and re-signs carry a Set-Cookie or a per-request
	// name; every 4xx names a URL in Location: none may be reused.
	if rt.cfg.Cache.MaxAge > 0 && r == rOK && ctx.Response.StatusCode() == fasthttp.StatusOK && !st.setCookie {
		refresh, expire := p.v.Deadlines(st.tk.Time)
		n = accelExpires(now, rt.cfg.Cache.MaxAge, refresh, expire)
	}
	if n == 0 {
		resp.SetCanonical(hXAccelExpires, vZero)
		// And no other cache either.
		resp.SetCanonical(hCacheControl, vNoStore)
		return
	}
	st.tmp = strconv.AppendInt(st.tmp[:0], n, 10)
	resp.SetCanonical(hXAccelExpires, st.tmp)
}

// accelExpires is X-Accel-Expires for an approval given at now: max_age,
// but never so long that nginx could still serve it once refresh or
// expire (each zero when it does not apply) has come.
//
// nginx stores ngx_time() + N as the entry's last valid second and serves
// it while its clock, in whole seconds, has not passed that. Its clock is
// read when the answer arrives, which may already be the next second; so
// N stops one whole second before the deadline's, and the entry's last
// second is at the latest the one before the deadline, however the
// seconds fall (provided nginx reads the answer within a second of now).
func accelExpires(now time.Time, maxAge time.Duration, refresh, expire time.Time) int64 {
	// In nanoseconds since the epoch: time.Time's Add and Sub on a clock
	// reading with a monotonic part cost more than the rest.
	nowNs := now.UnixNano()
	d := int64(maxAge)
	for _, dl := range [2]time.Time{refresh, expire} {
		if !dl.IsZero() {
			d = min(d, dl.UnixNano()-nowNs-int64(time.Second))
		}
	}
	if d <= 0 {
		return 0
	}
	return d / int64(time.Second)
}

// redirect answers status with a Location built like mod_auth_tkt's
// redirect(): target made absolute, plus a back URL (as an argument or
// a cookie). Without a target there is no Location and nginx shows the
// status as is.
func (s *Server) redirect(ctx *fasthttp.RequestCtx, st *state, p *policy, target string, scheme, host, uri []byte, status int) {
	ctx.SetStatusCode(status)
	if target == "" {
		return
	}
	// Traefik's ForwardAuth and Caddy's forward_auth hand a denial
	// straight to the browser, which follows no Location on a 4xx; they
	// ask for a 302 with ?redirect=1. nginx must get the 401/403 (it
	// treats a 3xx from auth_request as an error).
	whole := string(ctx.QueryArgs().Peek("redirect")) == "1"
	if whole {
		ctx.SetStatusCode(fasthttp.StatusFound)
	}
	loc := st.loc[:0]
	if len(target) >= 4 && equalFold(target[:4], "http") || len(host) == 0 && len(target) > 0 && target[0] == '/' {
		// Absolute, or relative with no trustworthy host to make it
		// absolute: browsers resolve it against the page.
		loc = append(loc, target...)
	} else {
		loc = append(loc, scheme...)
		loc = append(loc, "://"...)
		loc = append(loc, host...)
		// mod_auth_tkt writes scheme://host/target even for "/login",
		// giving "//login"; we leave out the doubled slash.
		if len(target) == 0 || target[0] != '/' {
			loc = append(loc, '/')
		}
		loc = append(loc, target...)
	}
	if p.BackCookieName != "" || p.BackArgName != "" {
		back := appendBackURL(st.tmp[:0], scheme, host, uri, p.cookieName, true)
		if escapedLen(back) > maxBack {
			// Headers this big break nginx (proxy_buffer_size is 4-8 KB:
			// "upstream sent too big header", a 502). The page without its
			// query is the next best place to come back to.
			back = appendBackURL(back[:0], scheme, host, uri, p.cookieName, false)
		}
		st.tmp = back
		switch {
		case escapedLen(back) > maxBack:
			// Still too long: no back URL at all.
		case p.BackCookieName != "":
			c := append(st.setc[len(st.setc):], p.BackCookieName...)
			c = append(c, '=')
			c = appendEscapeBack(c, back)
			c = append(c, "; path=/"...)
			if p.Domain != "" {
				c = append(c, "; domain="...)
				c = append(c, p.Domain...)
			}
			if st.setCookie && !whole {
				// nginx's $upstream_http_set_cookie holds one line (the
				// first up to 1.22; from 1.23 all of them joined with ", ",
				// which no browser splits): the second cookie travels on
				// its own for the nginx configs to add.
				ctx.Response.Header.SetCanonical(hXBackCookie, c)
			} else {
				ctx.Response.Header.AddBytesKV(hSetCookie, c)
			}
			st.setCookie = true
		default:
			if bytes.IndexByte(loc, '?') >= 0 {
				loc = append(loc, '&')
			} else {
				loc = append(loc, '?')
			}
			loc = append(loc, p.BackArgName...)
			loc = append(loc, '=')
			loc = appendEscapeBack(loc, back)
		}
	}
	st.loc = loc
	ctx.Response.Header.SetCanonical(hLocation, loc)
}

// ticketCookie writes the Set-Cookie value for a ticket, as
// mod_auth_tkt's send_auth_cookie does.
func (s *Server) ticketCookie(dst []byte, p *policy, value []byte, now time.Time) []byte {
	dst = append(dst, p.CookieName...)
	dst = append(dst, '=')
	dst = append(dst, value...)
	dst = append(dst, "; path=/"...)
	if p.Domain != "" {
		dst = append(dst, "; domain="...)
		dst = append(dst, p.Domain...)
	}
	if p.CookieExpires > 0 {
		dst = append(dst, "; expires="...)
		dst = now.Add(p.CookieExpires).UTC().AppendFormat(dst, cookieDate)
	}
	if p.CookieSecure {
		dst = append(dst, "; secure"...)
	}
	return dst
}

// cookieDate is RFC 6265's (and net/http's) cookie date format.
const cookieDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// clearCookie expires the ticket cookie an hour ago, as mod_auth_tkt does
// for an expired ticket.
func (s *Server) clearCookie(dst []byte, p *policy, now time.Time) []byte {
	dst = append(dst, p.CookieName...)
	dst = append(dst, "=; path=/"...)
	if p.Domain != "" {
		dst = append(dst, "; domain="...)
		dst = append(dst, p.Domain...)
	}
	dst = append(dst, "; expires="...)
	dst = now.Add(-time.Hour).UTC().AppendFormat(dst, cookieDate)
	if p.CookieSecure {
		dst = append(dst, "; secure"...)
	}
	return dst
}

// isPOST tells whether the user's request was a POST: from the proxy's
// header, else the subrequest's own method (nginx's auth_request and
// Envoy's ext_authz keep the original method).
func isPOST(h *fasthttp.RequestHeader) bool {
	m := h.PeekCanonical(hXOriginalMethod)
	if len(m) == 0 {
		m = h.PeekCanonical(hXForwardedMethod)
	}
	if len(m) == 0 {
		m = h.Method()
	}
	return string(m) == "POST"
}

// clientIP returns the address the ticket must be bound to: the
// configured header's when the TCP peer is a trusted proxy (or a unix
// socket), else the peer's own.
func clientIP(ctx *fasthttp.RequestCtx, rt *runtime) netip.Addr {
	var peer netip.Addr
	trusted := false
	switch a := ctx.RemoteAddr().(type) {
	case *net.TCPAddr:
		peer = a.AddrPort().Addr().Unmap()
		trusted = isTrusted(rt, peer)
	case *net.UnixAddr:
		trusted = true
	}
	if !trusted || rt.header == "" {
		return peer
	}
	if !rt.xff {
		// X-Real-IP is one address, which the proxy sets (nginx's
		// proxy_set_header replaces the client's): its first line. Every
		// line would cost a PeekAll, 3% of an answer.
		v := ctx.Request.Header.PeekCanonical(rt.headerKey)
		if len(v) == 0 {
			return peer
		}
		ip, _ := parseAddr(bytes.TrimSpace(v))
		return ip
	}
	// Every line: PeekAll in fasthttp reuses one buffer, so this must be
	// done with before the Cookie lines are read.
	lines := ctx.Request.Header.PeekAll(rt.header)
	// X-Forwarded-For: several lines are one list, in order (RFC 9110,
	// 5.3). The rightmost hop that is not one of our proxies is the first
	// one nobody we trust could have forged; when all are ours, the
	// leftmost.
	hop0 := peer
	for l := len(lines) - 1; l >= 0; l-- {
		v := lines[l]
		for len(v) > 0 {
			hop := v
			if i := bytes.LastIndexByte(v, ','); i >= 0 {
				hop, v = v[i+1:], v[:i]
			} else {
				v = nil
			}
			ip, ok := parseAddr(bytes.TrimSpace(hop))
			if !ok {
				return netip.Addr{} // garbage in the chain: bind to nothing
			}
			if !isTrusted(rt, ip) {
				return ip
			}
			hop0 = ip
		}
	}
	return hop0
}

func isTrusted(rt *runtime, ip netip.Addr) bool {
	for _, p := range rt.cfg.ClientIP.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseAddr parses an IP address without copying b. Zones are refused:
// netip would keep the zone string, which here points into a recycled
// request buffer.
func parseAddr(b []byte) (netip.Addr, bool) {
	if ip, ok := parseIPv4(b); ok {
		return ip, true
	}
	if len(b) == 0 || bytes.IndexByte(b, '%') >= 0 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// parseIPv4 parses the dotted quad nginx's $remote_addr gives, as
// netip.ParseAddr would (four fields of 0-255, no leading zeros), in one
// pass; ok is false for anything else, which the caller hands to netip.
func parseIPv4(b []byte) (ip netip.Addr, ok bool) {
	var q [4]byte
	f, v, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || f == 4 {
				return netip.Addr{}, false
			}
			q[f] = byte(v)
			f, v, digits = f+1, 0, 0
			continue
		}
		c := b[i] - '0'
		if c > 9 || digits > 0 && v == 0 {
			return netip.Addr{}, false // not a digit, or a leading zero
		}
		if v = v*10 + int(c); v > 255 {
			return netip.Addr{}, false
		}
		digits++
	}
	if f != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(q), true
}

// originalURL finds the URL the user asked for: X-Original-URL, else
// X-Forwarded-Proto + X-Forwarded-Host (or Host) + X-Original-URI or
// X-Forwarded-Uri.
func originalURL(h *fasthttp.RequestHeader) (scheme, host, uri []byte) {
	if u := h.PeekCanonical(hXOriginalURL); len(u) > 0 {
		if i := indexSchemeSep(u); i > 0 {
			scheme, u = u[:i], u[i+3:]
			// The authority ends at the first '/', '?' or '#'.
			j := 0
			for j < len(u) && urlByte[u[j]] != authorityEnd {
				j++
			}
			host, uri = u[:j], u[j:]
			if len(uri) == 0 || uri[0] != '/' {
				uri = nil // "/" is implied
			}
			return cleanScheme(scheme), cleanHost(host), uri
		}
	}
	scheme = h.PeekCanonical(hXForwardedProto)
	host = h.PeekCanonical(hXForwardedHost)
	if len(host) == 0 {
		host = h.Host()
	}
	uri = h.PeekCanonical(hXOriginalURI)
	if len(uri) == 0 {
		uri = h.PeekCanonical(hXForwardedURI)
	}
	return cleanScheme(scheme), cleanHost(host), uri
}

// indexSchemeSep is bytes.Index(u, "://") for a URL, where the first ':'
// is almost always the one: one IndexByte instead of Index's set-up.
func indexSchemeSep(u []byte) int {
	off := 0
	for {
		i := bytes.IndexByte(u[off:], ':')
		if i < 0 {
			return -1
		}
		i += off
		if len(u)-i >= 3 && u[i+1] == '/' && u[i+2] == '/' {
			return i
		}
		off = i + 1
	}
}

var (
	sHTTP  = []byte("http")
	sHTTPS = []byte("https")
)

// cleanScheme keeps only the two schemes a browser may be sent to: the
// scheme and host go into Location unescaped when login_url is relative.
// A proxy's list ("https,http") counts by its first entry.
func cleanScheme(s []byte) []byte {
	switch string(s) { // the usual case, as nginx's $scheme sends it
	case "https":
		return sHTTPS
	case "http":
		return sHTTP
	}
	if i := bytes.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	if equalFoldBytes(bytes.TrimSpace(s), "https") {
		return sHTTPS
	}
	return sHTTP
}

// cleanHost returns host when it is a plausible host[:port], else nil:
// anything else would reach Location unescaped.
func cleanHost(h []byte) []byte {
	if len(h) == 0 || len(h) > 255 {
		return nil
	}
	for _, c := range h {
		if urlByte[c] != hostByte {
			return nil
		}
	}
	return h
}

// The classes of urlByte.
const (
	otherByte    = iota
	hostByte     // may be in a host[:port]: letters, digits, . - : _ [ ]
	authorityEnd // ends the authority of a URL: / ? #
)

// urlByte classifies bytes for originalURL and cleanHost, one look-up
// instead of a dozen comparisons per byte.
var urlByte = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte(".-:_[]", byte(c)) >= 0:
			t[c] = hostByte
		case c == '/' || c == '?' || c == '#':
			t[c] = authorityEnd
		}
	}
	return
}()

func equalFoldBytes(b []byte, s string) bool {
	return len(b) == len(s) && (len(b) == 0 || equalFold(unsafe.String(&b[0], len(b)), s))
}

// query returns the query string of a request URI, or nil.
func query(uri []byte) []byte {
	i := bytes.IndexByte(uri, '?')
	if i < 0 {
		return nil
	}
	q := uri[i+1:]
	if j := bytes.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	return q
}

// joinCookies joins the values of every Cookie header with sep: ", " as
// httpd merges repeated headers, or "; " as Node.js does (passport). The
// values are fasthttp's parsed ones (PeekAll), which are the raw bytes
// trimmed of spaces and tabs at both ends, as httpd trims them; an
// obs-folded line is joined with one space, as httpd folds it. fasthttp's
// own cookie parser is never used (nothing here calls Cookie()): it would
// normalise values, and the ticket libraries do not. The usual single
// header is returned as a view of the request, without a copy; only
// several are joined in buf. The view must not outlive the request: keep
// buf, not the view.
func joinCookies(buf []byte, values [][]byte, sep string) (cookies, newBuf []byte) {
	switch len(values) {
	case 0:
		return nil, buf
	case 1:
		return values[0], buf
	}
	buf = append(buf, values[0]...)
	for _, v := range values[1:] {
		buf = append(buf, sep...)
		buf = append(buf, v...)
	}
	return buf, buf
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}

// appendBackURL writes the URL to come back to, as mod_auth_tkt builds
// it: scheme://host, the decoded path (httpd's r->uri), and the query
// without the ticket parameter.
func appendBackURL(dst, scheme, host, uri, cookieName []byte, withQuery bool) []byte {
	path, q := uri, []byte(nil)
	if i := bytes.IndexAny(uri, "?#"); i >= 0 {
		path = uri[:i]
		q = query(uri)
	}
	if len(path) == 0 {
		path = []byte("/")
	}
	if len(host) > 0 {
		dst = append(dst, scheme...)
		dst = append(dst, "://"...)
		dst = append(dst, host...)
	}
	dst = httpd.AppendUnescape(dst, path) // httpd decodes r->uri; appendEscapeBack escapes it again
	if !withQuery {
		return dst
	}
	return appendStripQuery(dst, q, cookieName)
}

// maxBack bounds the escaped back URL, so that Location stays well inside
// nginx's default 4 KB proxy buffer with a login URL beside it.
const maxBack = 2048

// escapedLen is the length appendEscapeBack would give s.
func escapedLen(s []byte) int {
	n := 0
	for _, c := range s {
		if pathSafe[c] {
			n++
		} else {
			n += 3
		}
	}
	return n
}

// appendStripQuery is mod_auth_tkt's query_strip: '&' and ';' both
// separate, empty pairs vanish except a leading one, each pair is rewritten "key=value" with
// the '=' run collapsed, pairs whose key is the cookie name are dropped,
// and the rest are joined with '&' after a '?'.
func appendStripQuery(dst, q, name []byte) []byte {
	first := true
	for start := true; len(q) > 0; start = false {
		i := bytes.IndexAny(q, "&;")
		pair := q
		if i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			q = nil
		}
		// ap_getword skips the run of separators after each word, so only
		// a leading separator yields an empty pair, which Apache keeps.
		if start {
			q = bytes.TrimLeft(q, "&;")
		} else if len(pair) == 0 {
			continue
		}
		key, val := pair, []byte(nil)
		if j := bytes.IndexByte(pair, '='); j >= 0 {
			key, val = pair[:j], bytes.TrimLeft(pair[j:], "=")
		}
		if bytes.Equal(key, name) {
			continue
		}
		if first {
			dst = append(dst, '?')
			first = false
		} else {
			dst = append(dst, '&')
		}
		dst = append(dst, key...)
		dst = append(dst, '=')
		dst = append(dst, val...)
	}
	return dst
}

// pathSafe is httpd's ap_escape_path_segment set, less the three that
// mod_auth_tkt's escape_extras escapes on top: '=', '&', ':'.
var pathSafe = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "$-_.+!*'(),@~" {
		t[c] = true
	}
	return
}()

// appendEscapeBack escapes the back URL as mod_auth_tkt does, with
// lower-case hex. Everything outside the safe set, controls included,
// comes out as %XX, so the result is header-safe.
func appendEscapeBack(dst, s []byte) []byte {
	const hexd = "0123456789abcdef"
	for _, c := range s {
		if pathSafe[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return dst
}

// guestUID expands mod_auth_tkt's %U (a random UUID) or %NU (its first N
// characters) in the guest user name.
func guestUID(dst []byte, user string) []byte {
	i := 0
	for i < len(user) && user[i] != '%' {
		i++
	}
	if i == len(user) {
		return append(dst, user...)
	}
	j := i + 1
	n := 0
	for j < len(user) && '0' <= user[j] && user[j] <= '9' {
		n = n*10 + int(user[j]-'0')
		if n > 1000 {
			n = 1000
		}
		j++
	}
	if j == len(user) || user[j] != 'U' {
		return append(dst, user...)
	}
	if n <= 0 || n > 36 {
		n = 36
	}
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var f [36]byte
	const hexd = "0123456789abcdef"
	k := 0
	for bi, b := range u {
		if bi == 4 || bi == 6 || bi == 8 || bi == 10 {
			f[k] = '-'
			k++
		}
		f[k], f[k+1] = hexd[b>>4], hexd[b&15]
		k += 2
	}
	dst = append(dst, user[:i]...)
	dst = append(dst, f[:n]...)
	return append(dst, user[j+1:]...)
}

// policyForLog shows an unknown policy name: the name comes from the
// request path, where a client may have put anything, a ticket included,
// so only a short prefix of a plausible name is shown.
func policyForLog(name []byte) string {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Sprintf("(not a policy name, %d bytes)", len(name))
		}
	}
	if len(name) > 24 {
		return fmt.Sprintf("%s… (%d bytes)", name[:24], len(name))
	}
	return string(name)
}

// sanitize makes request-derived bytes safe to log: bounded, and with
// control bytes replaced.
func sanitize(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
