package main

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// A URL ticket (?auth_tkt=, which a login service adds to the page it
// sends the browser back to on another domain) stays in the address bar,
// the history, bookmarks and links the user shares, as mod_auth_tkt
// leaves it. With url_ticket_redirect, tktgate answers such a request
// with the ticket as a cookie and a redirect to the same page without it;
// the browser asks again with the cookie. The answer is a 401 with
// Location, which the shipped nginx configs turn into a 302 carrying the
// cookie (a 302 itself with ?redirect=1, for Caddy and Traefik).

// maxCookie is a little under the 4096 bytes of name and value that
// browsers keep at most (RFC 6265 6.1): a longer cookie is dropped.
const maxCookie = 4000

// urlTicketSticks says whether the redirect may be taken: a GET or HEAD
// (a POST's body would be lost), and a cookie, whose value is n bytes
// long, that the browser will keep. A cookie the browser drops would send
// it round in a loop (the page without the ticket, the login page, the
// page with a URL ticket again); mod_auth_tkt's way, serving the page
// with the ticket in the URL, is better then.
func urlTicketSticks(req *fasthttp.RequestHeader, p *policy, scheme, host []byte, n int) bool {
	switch string(userMethod(req)) {
	case "GET", "HEAD":
	default:
		return false
	}
	switch {
	case len(p.cookieName)+1+n > maxCookie:
		return false
	case p.CookieSecure && string(scheme) != "https":
		return false // browsers drop a Secure cookie set over http
	}
	return p.Domain == "" || domainMatch(host, p.Domain)
}

// domainMatch says whether a browser takes a cookie with Domain=domain
// from host (host[:port]): host is domain or one of its subdomains.
func domainMatch(host []byte, domain string) bool {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
		host = host[:i]
	}
	if len(domain) > 0 && domain[0] == '.' {
		domain = domain[1:]
	}
	if len(host) < len(domain) || !equalFold(string(host[len(host)-len(domain):]), domain) {
		return false
	}
	return len(host) == len(domain) || host[len(host)-len(domain)-1] == '.'
}

// dropURLTicket answers with a redirect to the page without its ticket,
// whose cookie the answer already sets.
func (s *Server) dropURLTicket(ctx *fasthttp.RequestCtx, st *state, p *policy, scheme, host, uri []byte) {
	status := fasthttp.StatusUnauthorized
	if string(ctx.QueryArgs().Peek("redirect")) == "1" {
		status = fasthttp.StatusFound
	}
	ctx.SetStatusCode(status)
	st.loc = appendPageWithout(st.loc[:0], scheme, host, uri, p.cookieName)
	ctx.Response.Header.SetCanonical(headerLocation, st.loc)
}

// appendPageWithout writes the page's URL without the query parameters
// called name (split on '&', as mod_auth_tkt's get_url_ticket splits):
// the path and the other parameters as the browser sent them, with any
// byte a header or a URL cannot hold escaped. Without a trustworthy host
// the URL is relative to it.
func appendPageWithout(dst, scheme, host, uri, name []byte) []byte {
	path, q := uri, []byte(nil)
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		path, q = uri[:i], uri[i+1:]
	}
	if len(host) > 0 {
		dst = append(dst, scheme...)
		dst = append(dst, "://"...)
		dst = append(dst, host...)
	}
	if len(path) == 0 || path[0] != '/' {
		dst = append(dst, '/')
	} else if len(host) == 0 && len(path) > 1 && path[1] == '/' {
		// "//x" alone would name the host x.
		dst, path = append(dst, "/%2F"...), path[2:]
	}
	dst = appendURLSafe(dst, path)
	sep := byte('?')
	for len(q) > 0 {
		pair := q
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			q = nil
		}
		key := pair
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			key = pair[:i]
		}
		if len(pair) == 0 || bytes.Equal(key, name) {
			continue
		}
		dst = append(dst, sep)
		dst = appendURLSafe(dst, pair)
		sep = '&'
	}
	return dst
}

// appendURLSafe escapes the bytes of s that may not stand in a URL or a
// header as they are (controls, space, '#', non-ASCII), keeping the rest,
// '%' escapes included, as the browser sent them.
func appendURLSafe(dst, s []byte) []byte {
	const hexd = "0123456789ABCDEF"
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || c == '#' || c == '"' || c == '<' || c == '>' || c == '\\' {
			dst = append(dst, '%', hexd[c>>4], hexd[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}
