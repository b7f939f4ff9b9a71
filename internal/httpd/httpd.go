// Package httpd holds the few Apache httpd string routines that both the
// ticket parser (verifier) and the server must reproduce byte for byte.
package httpd

// AppendUnescape decodes %XX sequences like httpd's ap_unescape_url, which
// mod_auth_tkt uses on %21-escaped tickets and httpd on r->uri: every
// valid escape is decoded (even %00 and %2F, which httpd flags but still
// decodes), an invalid '%' is kept, and '+' stays '+'.
func AppendUnescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && IsHex(s[i+1]) && IsHex(s[i+2]) {
			c = Unhex(s[i+1])<<4 | Unhex(s[i+2])
			i += 2
		}
		dst = append(dst, c)
	}
	return dst
}

// IsHex reports whether c is a hex digit, in either case.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Unhex is the value of the hex digit c (which IsHex accepts).
func Unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
