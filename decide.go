package main

import (
	"crypto/rand"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/verifier"
)

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
