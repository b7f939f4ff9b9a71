package main

import (
	"crypto/rand"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/verifier"
)

// decide answers one request and says why, step by step as
// mod_auth_tkt's auth_tkt_check: the address, the ticket, the refusal or
// the guest, the tokens, then the approval and its refresh.
func (s *Server) decide(ctx *fasthttp.RequestCtx, snap *snapshot, p *policy, st *state, now time.Time) reason {
	req := &ctx.Request.Header
	// Explicit, so that HEAD answers carry it too: nginx keeps the
	// upstream connection alive only with a known length.
	ctx.Response.Header.SetContentLength(0)
	ip := clientIP(ctx, snap)
	scheme, host, uri := originalURL(req)
	st.ip, st.scheme, st.host, st.uri = ip, scheme, host, uri // for the audit line
	tk := &st.tk
	// The pooled Ticket still holds the last request's fields; when no
	// Verify runs (no ticket at all, or an unspecified address) they must
	// not be logged for this one.
	tk.UID, tk.Tokens, tk.Data = nil, nil, nil
	if ip.IsUnspecified() {
		s.refuseUnspecified(ctx, snap, p, st, now, scheme, host, uri)
		return reasonUnspecifiedIP
	}
	fromURL, err := findTicket(req, st, p, uri, &ip, &now)
	if err == nil && snap.revs != nil {
		// Before any refresh: a revoked ticket is never re-signed.
		if k := snap.revs.check(p.v, tk); k != revNone {
			s.logRevoked(p, tk, k, now)
			err = errRevoked
		}
	}
	why := reasonOf(err)
	guest := err != nil
	if guest {
		if s.refuse(ctx, st, p, err, now, scheme, host, uri) {
			return why
		}
		s.admitGuest(&ctx.Response.Header, st, p, err, now)
		if err == verifier.ErrExpired || err == errRevoked { // cleared
			s.checkTicketCookie(req, p, scheme, now)
		}
		why = reasonGuest
	}
	if !verifier.HasToken(tk.Tokens, p.Tokens) {
		target := p.UnauthURL
		if target == "" {
			target = p.LoginURL
		}
		s.redirect(ctx, st, p, target, scheme, host, uri, fasthttp.StatusForbidden)
		return reasonTokenDenied
	}
	if !tk.NeedsRefresh && !fromURL { // the usual approval
		approve(&ctx.Response.Header, st, p)
		return why
	}
	why = s.refresh(&ctx.Response.Header, st, p, ip, now, fromURL, guest, why)
	if st.setCookie {
		s.checkTicketCookie(req, p, scheme, now)
	}
	if fromURL && p.URLTicketRedirect && !guest && urlTicketSticks(req, p, scheme, host, len(st.tmp)) {
		s.dropURLTicket(ctx, st, p, scheme, host, uri)
		return reasonURLTicket
	}
	approve(&ctx.Response.Header, st, p)
	return why
}

// logRevoked says, at most logLimiter's rate, that a revoked ticket was
// shown: someone kept a cookie that was meant to be dead.
func (s *Server) logRevoked(p *policy, tk *verifier.Ticket, k revKind, now time.Time) {
	if s.metrics.logLimiter.allow(now) {
		s.log.Info("refused a revoked ticket", "policy", p.Name, "uid", sanitize(tk.UID), "entry", k.String(),
			"ticket_time", tk.Time.UTC().Format(time.RFC3339))
	}
}

// refuseUnspecified sends the user to log in when the trusted proxy gave
// 0.0.0.0: tickets for ignore_ip are signed for it, so a proxy that
// claims it for the client would let those tickets pass a policy that
// checks the address. No client has it.
func (s *Server) refuseUnspecified(ctx *fasthttp.RequestCtx, snap *snapshot, p *policy, st *state, now time.Time, scheme, host, uri []byte) {
	if s.metrics.logLimiter.allow(now) {
		s.log.Warn("refused: the trusted proxy gave an unspecified client address; check its client address header", "policy", p.Name, "header", snap.cfg.ClientIP.Header)
	}
	s.redirect(ctx, st, p, p.LoginURL, scheme, host, uri, fasthttp.StatusUnauthorized)
}

// findTicket verifies the ticket where mod_auth_tkt looks: in the URL
// (for dialects that take one there), else in the cookies. fromURL says
// the URL's is the one used. ip and now are pointers: by value they would
// not all fit in registers.
func findTicket(req *fasthttp.RequestHeader, st *state, p *policy, uri []byte, ip *netip.Addr, now *time.Time) (fromURL bool, err error) {
	if q := query(uri); q != nil && p.Dialect.URLTickets() {
		if val, ok := verifier.QueryTicket(q, p.cookieName); ok && len(val) > 0 {
			err = p.v.Verify(&st.tk, val, *ip, *now)
			// Like mod_auth_tkt, a URL ticket with a good digest is used
			// even when expired; any other failure falls back to the cookie.
			if err == nil || err == verifier.ErrExpired {
				return true, err
			}
		}
	}
	var cookies []byte
	cookies, st.cookie = joinCookies(st.cookie[:0], req.PeekAll(fasthttp.HeaderCookie), p.cookieSep)
	if c := p.v.CookieTicket(cookies, p.cookieName); c != nil {
		return false, p.v.Verify(&st.tk, c, *ip, *now)
	}
	return false, verifier.ErrNoTicket
}

// refuse answers a request without a valid ticket, unless the policy lets
// it in as a guest (then it answers nothing and says false). An expired
// ticket clears the cookie and goes to the timeout URL (the POST one for
// a POST), else the login URL, as mod_auth_tkt does.
//
// A revoked ticket is treated as an expired one (the cookie cleared, a
// guest only with guest fallback), but sent to the login URL: the user
// must sign in again, the timeout page would tell them their session ran
// out, and sites often point timeout_url at a silent renewal, which must
// not hand a revoked user a new ticket. mod_auth_tkt has no revocation.
func (s *Server) refuse(ctx *fasthttp.RequestCtx, st *state, p *policy, err error, now time.Time, scheme, host, uri []byte) bool {
	switch {
	case err == errRevoked && !(p.GuestLogin && p.GuestFallback):
		setCookie(&ctx.Response.Header, st, s.clearCookie(st.setc[:0], p, now))
		s.checkTicketCookie(&ctx.Request.Header, p, scheme, now)
		s.redirect(ctx, st, p, p.LoginURL, scheme, host, uri, fasthttp.StatusUnauthorized)
		return true
	case err == verifier.ErrExpired && !(p.GuestLogin && p.GuestFallback):
		setCookie(&ctx.Response.Header, st, s.clearCookie(st.setc[:0], p, now))
		s.checkTicketCookie(&ctx.Request.Header, p, scheme, now)
		target := p.TimeoutURL
		if p.PostTimeoutURL != "" && isPOST(&ctx.Request.Header) {
			target = p.PostTimeoutURL
		}
		if target == "" {
			target = p.LoginURL
		}
		s.redirect(ctx, st, p, target, scheme, host, uri, fasthttp.StatusUnauthorized)
		return true
	case p.GuestLogin:
		return false
	}
	s.redirect(ctx, st, p, p.LoginURL, scheme, host, uri, fasthttp.StatusUnauthorized)
	return true
}

// admitGuest makes the ticket the guest's. mod_auth_tkt's check_timeout
// has already cleared an expired ticket's cookie when it falls back to
// the guest; a revoked one's goes the same way.
func (s *Server) admitGuest(resp *fasthttp.ResponseHeader, st *state, p *policy, err error, now time.Time) {
	if err == verifier.ErrExpired || err == errRevoked {
		setCookie(resp, st, s.clearCookie(st.setc[:0], p, now))
	}
	tk := &st.tk
	user := p.GuestUser
	if p.GuestEmpty {
		user = "" // mod_auth_tkt's get_guest_uid looks at nothing else
	}
	tk.UID = guestUID(st.guest[:0], user)
	st.guest = tk.UID
	tk.Tokens, tk.Data = nil, nil
	tk.NeedsRefresh = p.GuestCookie
}

// approve sets the headers that tell the site who the user is.
func approve(resp *fasthttp.ResponseHeader, st *state, p *policy) {
	tk := &st.tk
	resp.SetCanonical(headerXRemoteUser, tk.UID)
	resp.SetCanonical(headerXRemoteUserTokens, tk.Tokens)
	resp.SetCanonical(headerXRemoteUserData, tk.Data)
	for i := range p.userData {
		h := &p.userData[i]
		var ok bool
		// A missing field, null, or a value unfit for a header: no header.
		if st.field, ok = verifier.AppendJSONField(st.field[:0], tk.Data, h.field); ok {
			resp.SetCanonical(h.header, st.field)
		}
	}
}

// refresh sets the cookie an approval renews: the refreshed ticket when
// it is due, else the URL's ticket as a cookie. It returns why, or the
// reason the refresh gives the answer.
func (s *Server) refresh(resp *fasthttp.ResponseHeader, st *state, p *policy, ip netip.Addr, now time.Time, fromURL, guest bool, why reason) reason {
	tk := &st.tk
	switch {
	case tk.NeedsRefresh:
		// The dialect's own refreshed cookie value, already in the form
		// its library writes (base64, or WebOb's quoting for pyramid).
		st.tmp = p.v.AppendRefresh(st.tmp[:0], tk, ip, now)
		if len(st.tmp) > 0 {
			setCookie(resp, st, s.ticketCookie(st.setc[:0], p, st.tmp, now))
			if !guest {
				why = reasonRefreshed
			}
		}
		if tk.OldSecret && !guest {
			// Even when it could not be re-signed (Pyramid's remember()
			// refuses some tokens): an approval on the old secret must
			// not be cached past the moment secret_old is removed.
			why = reasonOldSecret
		}
	case fromURL:
		st.tmp = tk.AppendBase64(st.tmp[:0])
		setCookie(resp, st, s.ticketCookie(st.setc[:0], p, st.tmp, now))
	}
	return why
}

// setCookie sends c, kept in st.setc, as the answer's Set-Cookie, which
// makes the answer uncacheable.
func setCookie(resp *fasthttp.ResponseHeader, st *state, c []byte) {
	st.setc = c
	resp.SetCanonical(headerSetCookie, c)
	st.setCookie = true
}

// isPOST tells whether the user's request was a POST.
func isPOST(h *fasthttp.RequestHeader) bool { return string(userMethod(h)) == "POST" }

// userMethod is the method of the user's request: from the proxy's
// header, else the subrequest's own (nginx's auth_request and Envoy's
// ext_authz keep the original method).
func userMethod(h *fasthttp.RequestHeader) []byte {
	m := h.PeekCanonical(headerXOriginalMethod)
	if len(m) == 0 {
		m = h.PeekCanonical(headerXForwardedMethod)
	}
	if len(m) == 0 {
		m = h.Method()
	}
	return m
}

// guestUID expands mod_auth_tkt's %U (a random UUID) or %NU (its first N
// characters; N of 0 or above 36 is the whole UUID) in the guest user
// name: the first one, wherever it is, as mod_auth_tkt's regular
// expression %([0-9]*)U finds it ("50%-%4U" has it after "50%-").
func guestUID(dst []byte, user string) []byte {
	i, j, n := -1, 0, 0
	for k := 0; k < len(user) && i < 0; k++ {
		if user[k] != '%' {
			continue
		}
		j, n = k+1, 0
		for j < len(user) && '0' <= user[j] && user[j] <= '9' {
			n = n*10 + int(user[j]-'0')
			if n > 1000 {
				n = 1000
			}
			j++
		}
		if j < len(user) && user[j] == 'U' {
			i = k
		}
	}
	if i < 0 {
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
