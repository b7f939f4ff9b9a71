package main

import (
	"time"
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
