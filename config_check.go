package main

// Checks of single values.

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

func checkListen(s string) error {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" || strings.ContainsRune(path, 0) {
			return fmt.Errorf("invalid unix socket path %q", path)
		}
		if strings.HasPrefix(path, "@") {
			// Linux's abstract sockets have no file, hence no
			// socket_mode, and unix-socket peers are trusted proxies.
			return fmt.Errorf("abstract unix socket %q: any local user could connect (want a path)", path)
		}
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("invalid address %q (want \"host:port\" or \"unix:/path\")", s)
	}
	return nil
}

func validPolicyName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// checkCookieName accepts an RFC 6265 cookie-name (an RFC 2616 token).
func checkCookieName(s string) error {
	if s == "" {
		return errors.New("empty cookie name")
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, b) >= 0 {
			return fmt.Errorf("invalid cookie name %q (no spaces, control characters or any of ()<>@,;:\\\"/[]?={})", s)
		}
	}
	return nil
}

func checkDomain(s string) error {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || b == ';' || b == ',' {
			return fmt.Errorf("invalid cookie domain %q", s)
		}
	}
	return nil
}

// parseUserDataHeaders checks user_data_headers: header name -> JSON
// field. The names become response headers that nginx copies with
// auth_request_set, so they must be tokens and must not be a header
// tktgate or nginx gives another meaning.
func parseUserDataHeaders(m map[string]string) ([]UserDataHeader, error) {
	if len(m) == 0 {
		return nil, errors.New(`empty table (want { "X-Remote-User-Email" = "email" })`)
	}
	hs := make([]UserDataHeader, 0, len(m))
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		field := m[name]
		if err := checkHeaderName(name); err != nil {
			return nil, err
		}
		canon := canonicalHeader(name)
		if prev, dup := seen[canon]; dup {
			return nil, fmt.Errorf("header %q is named twice (as %q and %q)", canon, prev, name)
		}
		seen[canon] = name
		if field == "" || !utf8.ValidString(field) || strings.ContainsFunc(field, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("header %q: invalid JSON field name %q", name, field)
		}
		hs = append(hs, UserDataHeader{Header: canon, Field: field})
	}
	return hs, nil
}

// reservedHeaders are response headers tktgate sets itself or that nginx
// or HTTP give a meaning of their own (lower case).
var reservedHeaders = []string{
	"x-remote-user", "x-remote-user-tokens", "x-remote-user-data",
	"set-cookie", "location", "cache-control", "expires", "date", "server",
	"connection", "keep-alive", "transfer-encoding", "trailer", "upgrade",
	"www-authenticate", "vary", "age", "etag", "last-modified",
}

func checkHeaderName(s string) error {
	if s == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0) {
			return fmt.Errorf("invalid header name %q (want letters, digits and -)", s)
		}
	}
	l := strings.ToLower(s)
	if slices.Contains(reservedHeaders, l) || strings.HasPrefix(l, "x-accel-") || strings.HasPrefix(l, "content-") || strings.HasPrefix(l, "proxy-") {
		return fmt.Errorf("header %q is reserved (tktgate or nginx give it a meaning of its own)", s)
	}
	return nil
}

// canonicalHeader writes a header name as fasthttp stores it: upper case
// at the start and after each '-', lower case elsewhere.
func canonicalHeader(s string) string {
	b := []byte(s)
	up := true
	for i, c := range b {
		switch {
		case up && c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !up && c >= 'A' && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		up = c == '-'
	}
	return string(b)
}

// parseRedirectURL checks a redirect URL (checkURL) and returns it as
// tktgate uses it. mod_auth_tkt takes a URL that does not start with
// "http" as relative to the host's root (scheme://host/ + URL), so a
// relative path without its leading "/" ("pub/login.cgi") gets one; one
// with a scheme of another kind stays refused.
func parseRedirectURL(s string) (string, error) {
	first := s
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		first = s[:i]
	}
	u := s
	if s != "" && s[0] != '/' && !strings.Contains(first, ":") {
		u = "/" + s
	}
	if err := checkURL(u); err != nil {
		if orig := checkURL(s); orig != nil {
			return "", orig // about the value as written
		}
		return "", err
	}
	return u, nil
}

// checkURL accepts "" (unset), an absolute http(s) URL or an absolute path.
// The value becomes a Location header, with back= appended.
func checkURL(s string) error {
	if s == "" {
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b <= ' ' || b == 0x7f:
			return fmt.Errorf("URL %q contains whitespace or a control character", s)
		case b >= 0x80:
			return fmt.Errorf("URL %q contains non-ASCII bytes (percent-encode them)", s)
		case b == '\\':
			// Browsers read "/\host" as "//host".
			return fmt.Errorf("URL %q contains a backslash", s)
		case b == '#':
			return fmt.Errorf("URL %q has a fragment: the back argument would land in it", s)
		}
	}
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") {
			return fmt.Errorf("URL %q is scheme-relative (want http(s)://host/... or a path with one leading /)", s)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "" {
		return fmt.Errorf("URL %q is neither an absolute http(s) URL nor a path (from the host's root: \"/login\" or \"login\")", s)
	}
	return nil
}

func checkBackArgName(s string) error {
	if s == "" {
		return errors.New(`empty name (use "None" to send no back argument)`)
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || strings.IndexByte("&=#?;+%", b) >= 0 {
			return fmt.Errorf("invalid query parameter name %q", s)
		}
	}
	return nil
}

// checkGuestUser accepts a user name for guests: any that mod_auth_tkt
// takes, %NU with any N included, but for control characters (it becomes
// a header value) and '!' (with guest_cookie, a ticket uid, which ends at
// the first '!'). Apache refuses TKTAuthGuestUser "" as well.
func checkGuestUser(s string) error {
	if s == "" {
		return errors.New("empty guest user (for guests without a user name, set guest_empty = true, as TKTAuthGuestEmpty)")
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b < ' ' || b == 0x7f:
			return fmt.Errorf("guest user %q contains a control character", s)
		case b == '!':
			return fmt.Errorf("guest user %q contains '!', which ends a ticket's uid", s)
		}
	}
	return nil
}

// parseTokens checks a policy's required tokens. ["NULL"] means none, as
// TKTAuthToken NULL does.
func parseTokens(v []string) ([][]byte, error) {
	if len(v) == 1 && v[0] == "NULL" {
		return nil, nil
	}
	toks := make([][]byte, 0, len(v))
	for _, t := range v {
		if t == "" {
			return nil, errors.New("empty token")
		}
		if t == "NULL" {
			return nil, errors.New(`"NULL" (no token required) cannot be combined with other tokens`)
		}
		// Such a token would match no ticket: tokens are split at ',' and
		// end at '!', and tickets with a token that a proxy would trim, or
		// with control bytes, are refused as malformed. A space inside is
		// fine, as in mod_auth_tkt.
		for i := 0; i < len(t); i++ {
			if b := t[i]; b < ' ' || b == 0x7f || b == ',' || b == '!' || b == ' ' && (i == 0 || i == len(t)-1) {
				return nil, fmt.Errorf("invalid token %q (tickets separate tokens with ',' and end them with '!'; no control characters, no space at either end)", t)
			}
		}
		toks = append(toks, []byte(t))
	}
	return toks, nil
}
