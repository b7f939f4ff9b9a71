package main

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// originalURL finds the URL the user asked for: X-Original-URL, else
// X-Forwarded-Proto + X-Forwarded-Host (or Host) + X-Original-URI or
// X-Forwarded-Uri.
func originalURL(h *fasthttp.RequestHeader) (scheme, host, uri []byte) {
	if u := h.PeekCanonical(headerXOriginalURL); len(u) > 0 {
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
	scheme = h.PeekCanonical(headerXForwardedProto)
	host = h.PeekCanonical(headerXForwardedHost)
	if len(host) == 0 {
		host = h.Host()
	}
	uri = h.PeekCanonical(headerXOriginalURI)
	if len(uri) == 0 {
		uri = h.PeekCanonical(headerXForwardedURI)
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

// equalFoldBytes is equalFold for a byte slice, without a copy.
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

// equalFold compares a with b ignoring ASCII case. b must be letters:
// |0x20 would also fold other pairs, such as '@' and '`'.
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
