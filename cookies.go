package main

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/verifier"
)

// ticketCookie writes the Set-Cookie value for a ticket, as
// mod_auth_tkt's send_auth_cookie does.
func (s *Server) ticketCookie(dst []byte, p *policy, value []byte, now time.Time) []byte {
	dst = append(dst, p.CookieName...)
	dst = append(dst, '=')
	dst = append(dst, value...)
	dst = appendCookieScope(dst, p)
	if p.CookieExpires > 0 {
		dst = append(dst, "; expires="...)
		dst = now.Add(p.CookieExpires).UTC().AppendFormat(dst, cookieDate)
	}
	if p.CookieSecure {
		dst = append(dst, "; secure"...)
	}
	return dst
}

// appendCookieScope writes the path and p's domain that every cookie
// tktgate sets carries.
func appendCookieScope(dst []byte, p *policy) []byte {
	dst = append(dst, "; path=/"...)
	if p.Domain != "" {
		dst = append(dst, "; domain="...)
		dst = append(dst, p.Domain...)
	}
	return dst
}

// cookieDate is RFC 6265's (and net/http's) cookie date format.
const cookieDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// clearCookie expires the ticket cookie an hour ago, as mod_auth_tkt does
// for an expired ticket.
func (s *Server) clearCookie(dst []byte, p *policy, now time.Time) []byte {
	dst = append(dst, p.CookieName...)
	dst = append(dst, '=')
	dst = appendCookieScope(dst, p)
	dst = append(dst, "; expires="...)
	dst = now.Add(-time.Hour).UTC().AppendFormat(dst, cookieDate)
	if p.CookieSecure {
		dst = append(dst, "; secure"...)
	}
	return dst
}

// joinCookies joins every Cookie header's value with sep: ", " as httpd
// merges repeated headers, "; " as Node.js does (passport). The values are
// fasthttp's, trimmed as httpd trims them (its cookie parser would
// normalise them; the ticket libraries do not). A single header comes back
// as a view of the request: keep buf, not the view.
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

// A ticket cookie that tktgate sets can fail in the browser for reasons
// of configuration that no single answer shows; checkTicketCookie warns
// about them, each at most once a minute, since every refresh repeats
// them.
const cookieWarnEvery = time.Minute

const (
	warnSeveralTickets = iota
	warnSecureOverHTTP
	numCookieWarnings
)

// checkTicketCookie runs where tktgate sets or clears the ticket cookie
// (rare: a refresh, a URL ticket, an expired or revoked ticket) and warns
// when the browser will not use that cookie as meant:
//
//   - The request carried several ticket cookies. A browser keeps one
//     cookie per name, domain and path: a refreshed cookie whose domain
//     differs from the login service's cookie is a second cookie, and the
//     browser sends the older first. mod_auth_tkt and passport read the
//     first, so the login's ticket stays the one used until it expires.
//     (WebOb, for pyramid, reads the last, the newest; and Pyramid's own
//     remember() sets three cookies, so several are normal there.)
//   - cookie_secure on a page asked for over plain http: browsers drop a
//     Secure cookie set over http.
func (s *Server) checkTicketCookie(req *fasthttp.RequestHeader, p *policy, scheme []byte, now time.Time) {
	if p.CookieSecure && string(scheme) == "http" && s.cookieWarnAllow(warnSecureOverHTTP, now) {
		s.log.Warn("cookie_secure is on but the page was asked for over plain http: browsers drop a Secure cookie set over http, so refreshed and URL tickets are lost; serve the site over https (behind a TLS proxy, give nginx the https scheme for X-Original-URL)", "policy", p.Name)
	}
	if p.Dialect == verifier.Pyramid {
		return
	}
	n := 0
	for _, line := range req.PeekAll(fasthttp.HeaderCookie) {
		n += countCookies(line, p.cookieName)
	}
	if n > 1 && s.cookieWarnAllow(warnSeveralTickets, now) {
		s.log.Warn("several ticket cookies in one request: the login service's cookie and tktgate's have different domains, so the browser keeps both and sends the login's, set first, before tktgate's; the first is the one read (as by mod_auth_tkt), and users are logged out when the login's ticket expires; set domain to the Domain attribute of the login service's cookie, or leave it empty if that cookie has none", "policy", p.Name, "domain", p.Domain, "cookies", n)
	}
}

// cookieWarnAllow lets one warning of a kind through per cookieWarnEvery.
func (s *Server) cookieWarnAllow(kind int, now time.Time) bool {
	last := &s.cookieWarned[kind]
	t, n := last.Load(), now.UnixNano()
	return (t == 0 || n-t >= int64(cookieWarnEvery)) && last.CompareAndSwap(t, n)
}

// countCookies counts the cookies called name with a non-empty value in
// one Cookie header (pairs split on ';', and on ',' where a proxy joined
// several headers).
func countCookies(header, name []byte) int {
	n := 0
	for len(header) > 0 {
		pair := header
		if i := bytes.IndexAny(header, ";,"); i >= 0 {
			pair, header = header[:i], header[i+1:]
		} else {
			header = nil
		}
		pair = bytes.TrimLeft(pair, " \t")
		if len(pair) > len(name)+1 && pair[len(name)] == '=' && bytes.Equal(pair[:len(name)], name) {
			n++
		}
	}
	return n
}
