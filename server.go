package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/verifier"
)

// snapshot is one loaded configuration with everything the hot path needs
// precomputed. A reload builds a new one and swaps the pointer, so a
// request runs start to end on one consistent config.
type snapshot struct {
	cfg       *Config
	def       *policy
	policies  map[string]*policy
	header    string // client IP header, canonical; "" = ignore headers
	headerKey []byte // the same, for PeekCanonical
	xff       bool
	// logRequests is cfg.LogRequests, one load away for the hot path.
	logRequests logRequests
	// revs is the revocation list in force; nil without [revocation].
	// A change of the file alone swaps in a copy of the snapshot with
	// another list (Server.reloadRevocations).
	revs *revocations
}

// policy is a Policy ready for the hot path.
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
	snap    atomic.Pointer[snapshot]
	log     *slog.Logger
	metrics *metrics
	audit   *auditLog
	ready   atomic.Bool
	// unknown remembers policy names already logged, so that a
	// misconfigured nginx location logs once, not on every request.
	unknownMu sync.Mutex
	unknown   map[string]bool
	// revMu orders the swaps of the snapshot: a config load, a reload of
	// the revocation file and a change from Redis each build on the one
	// in force, and must not lose another's.
	revMu sync.Mutex
	// fileRevs are the file's entries, kept while Redis' are in force too
	// (the list is their union, compiled again at each change of either);
	// redisRevs are Redis' as last loaded.
	fileRevs, redisRevs []revEntry
	// redis keeps redisRevs current ([revocation] redis; nil: none).
	// redisSynced: Redis was loaded once; redisWaiting: redis_required,
	// and not yet, so not ready.
	redis        *redisRunner
	redisSynced  atomic.Bool
	redisWaiting atomic.Bool
	// cookieWarned holds when each of checkTicketCookie's warnings was
	// last logged (unix nanoseconds).
	cookieWarned [numCookieWarnings]atomic.Int64
}

func newServer(log *slog.Logger, m *metrics) *Server {
	return &Server{log: log, metrics: m, audit: newAuditLog(logOutputOf(log)), unknown: map[string]bool{}}
}

// load installs cfg, and the revocation list read with it.
func (s *Server) load(cfg *Config) {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	snap := &snapshot{cfg: cfg, policies: map[string]*policy{}, logRequests: cfg.LogRequests}
	if cfg.Redis == nil {
		s.redisRevs = nil
	}
	if cfg.RevocationFile != "" || cfg.Redis != nil {
		var prev *revocations
		if old := s.snap.Load(); old != nil {
			prev = old.revs
		}
		s.fileRevs = cfg.revoked
		snap.revs = s.compileRevs(cfg, prev, time.Now())
		// In force now; the parsed entries would only hold memory (twice
		// the list's, for 100,000 entries) as long as cfg runs, unless
		// Redis' entries are to be joined to them again.
		cfg.revoked = nil
		if cfg.Redis == nil {
			s.fileRevs = nil
		}
	}
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
	snap.def = mk(cfg.Default)
	for name, p := range cfg.Policies {
		snap.policies[name] = mk(p)
	}
	if h := cfg.ClientIP.Header; h != "" {
		snap.headerKey = fasthttp.AppendNormalizedHeaderKey(nil, h)
		snap.header = string(snap.headerKey)
		snap.xff = h == "X-Forwarded-For"
	}
	s.snap.Store(snap)
	s.ready.Store(true)
	s.metrics.revocationsInForce(snap.revs) // after the swap: the old list is garbage
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
	line   []byte // the audit line (log_requests)
	clock  auditClock
	// The client address and the original URL as decide found them, for
	// the audit line.
	ip                netip.Addr
	scheme, host, uri []byte
	// setCookie records that the answer carries a Set-Cookie, which makes
	// it uncacheable.
	setCookie bool
}

var statePool = sync.Pool{New: func() any { return new(state) }}

// Request header names are in fasthttp's canonical form ("X-Real-Ip"), as
// it stores them, so that look-ups use PeekCanonical: PeekBytes copies and
// normalises the name on every call.
var (
	headerXRemoteUser       = []byte("X-Remote-User")
	headerXRemoteUserTokens = []byte("X-Remote-User-Tokens")
	headerXRemoteUserData   = []byte("X-Remote-User-Data")
	headerSetCookie         = []byte("Set-Cookie")
	headerLocation          = []byte("Location")
	headerXBackCookie       = []byte("X-Back-Cookie")
	headerXOriginalURL      = []byte("X-Original-Url")
	headerXOriginalURI      = []byte("X-Original-Uri")
	headerXForwardedURI     = []byte("X-Forwarded-Uri")
	headerXForwardedProto   = []byte("X-Forwarded-Proto")
	headerXForwardedHost    = []byte("X-Forwarded-Host")
	headerXOriginalMethod   = []byte("X-Original-Method")
	headerXForwardedMethod  = []byte("X-Forwarded-Method")
	headerCacheControl      = []byte("Cache-Control")
	valueNoStore            = []byte("no-store")
	headerXAccelExpires     = []byte("X-Accel-Expires")
	valueZero               = []byte("0")
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
		snap := s.snap.Load()
		s.auth(ctx, snap, snap.def)
	case bytes.HasPrefix(path, []byte("/auth/")):
		snap := s.snap.Load()
		p := snap.policies[string(path[len("/auth/"):])]
		if p == nil {
			s.unknownPolicy(ctx, snap, path[len("/auth/"):])
			return
		}
		s.auth(ctx, snap, p)
	case string(path) == "/metrics" && s.snap.Load().cfg.MetricsListen != "":
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
		if s.ready.Load() && s.snap.Load() != nil && !s.redisWaiting.Load() {
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

// unknownPolicy answers /auth/NAME for a NAME no policy has: a 500, since
// the nginx config is wrong, logged once per name.
func (s *Server) unknownPolicy(ctx *fasthttp.RequestCtx, snap *snapshot, name []byte) {
	s.metrics.unknownPolicy.Add(1)
	ctx.SetStatusCode(fasthttp.StatusInternalServerError)
	ctx.Response.Header.SetContentLength(0)
	ctx.Response.Header.SetCanonical(headerXAccelExpires, valueZero)
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
	if snap.logRequests != logNone {
		s.logUnknownPolicy(ctx, snap, name)
	}
}

// auth answers one auth_request subrequest, following mod_auth_tkt's
// auth_tkt_check: URL ticket, then cookie ticket, then guest, then the
// timeout, the tokens and the refresh.
func (s *Server) auth(ctx *fasthttp.RequestCtx, snap *snapshot, p *policy) {
	// fasthttp read the clock as the request arrived: that is "now" for
	// the ticket, and the start of the latency measurement.
	start := ctx.Time()
	st := statePool.Get().(*state)
	st.setCookie = false
	r := s.decide(ctx, snap, p, st, start)
	s.cacheHeaders(ctx, snap, p, st, r, start)
	p.stats.count(r, start)
	if snap.logRequests != logNone {
		s.logAnswer(ctx, snap, p, st, r, start)
	}
	if r.debug() && s.log.Enabled(context.Background(), slog.LevelDebug) && s.metrics.logLimiter.allow(start) {
		s.log.Debug("auth decision", "policy", p.Name, "reason", r.String(), "uid", uidForLog(r, st.tk.UID))
	}
	statePool.Put(st)
}
