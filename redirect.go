package main

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/internal/httpd"
)

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
	loc := appendLocation(st.loc[:0], target, scheme, host)
	if p.BackCookieName != "" || p.BackArgName != "" {
		loc = addBack(ctx, st, p, loc, scheme, host, uri, whole)
	}
	st.loc = loc
	ctx.Response.Header.SetCanonical(headerLocation, loc)
}

// appendLocation writes target made absolute with the original URL's
// scheme and host.
func appendLocation(loc []byte, target string, scheme, host []byte) []byte {
	if len(target) >= 4 && equalFold(target[:4], "http") || len(host) == 0 && len(target) > 0 && target[0] == '/' {
		// Absolute, or relative with no trustworthy host to make it
		// absolute: browsers resolve it against the page.
		return append(loc, target...)
	}
	loc = append(loc, scheme...)
	loc = append(loc, "://"...)
	loc = append(loc, host...)
	// mod_auth_tkt writes scheme://host/target even for "/login",
	// giving "//login"; we leave out the doubled slash.
	if len(target) == 0 || target[0] != '/' {
		loc = append(loc, '/')
	}
	return append(loc, target...)
}

// addBack adds the back URL to loc as p's back argument, or sends it as
// p's back cookie. whole is a redirect the browser follows itself.
func addBack(ctx *fasthttp.RequestCtx, st *state, p *policy, loc, scheme, host, uri []byte, whole bool) []byte {
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
		sendBackCookie(&ctx.Response.Header, st, p, back, whole)
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
	return loc
}

// sendBackCookie sends the back URL as p's back cookie, written after the
// ticket cookie in st.setc.
func sendBackCookie(resp *fasthttp.ResponseHeader, st *state, p *policy, back []byte, whole bool) {
	c := append(st.setc[len(st.setc):], p.BackCookieName...)
	c = append(c, '=')
	c = appendEscapeBack(c, back)
	c = appendCookieScope(c, p)
	if st.setCookie && !whole {
		// nginx's $upstream_http_set_cookie holds one line (the
		// first up to 1.22; from 1.23 all of them joined with ", ",
		// which no browser splits): the second cookie travels on
		// its own for the nginx configs to add.
		resp.SetCanonical(headerXBackCookie, c)
	} else {
		resp.AddBytesKV(headerSetCookie, c)
	}
	st.setCookie = true
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
