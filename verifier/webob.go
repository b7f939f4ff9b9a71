package verifier

// WebOb 1.8's cookie handling for the pyramid dialect: finding a cookie
// with _rx_cookie, _unquote and _value_quote.

import "bytes"

// webobKeyChar is _re_legal_char: \w (ASCII in a bytes pattern) and
// _legal_special_chars.
var webobKeyChar = byteSet(`abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~!@#$%^&*()+=-` + "`" + `.?|:/(){}<>'`)

// webobTokenChar is _valid_token_chars, what a valid cookie name is made of.
var webobTokenChar = byteSet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~")

// webobCookieChar is what WebOb writes unquoted (_allowed_cookie_chars)
// and also reads back unquoted: _allowed_cookie_chars less '[' and ']',
// which the unquoted-value pattern stops at. That is exactly
// webobKeyChar.
var webobCookieChar = webobKeyChar

func byteSet(s string) (t [256]bool) {
	for i := 0; i < len(s); i++ {
		t[s[i]] = true
	}
	return
}

// reSpace is \s in a bytes pattern.
func reSpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

func reWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// webobMatch tries _rx_cookie at p. It returns the key, the raw value and
// where the match ends; without a match, end is where the next one may
// start. A key runs over key characters to the first '=' or other byte:
// when no "\s*=" follows that byte, a match starting anywhere inside the
// run would read the same run to the same byte and fail the same way, so
// the search resumes after the run, not one byte on. Restarting one byte
// on (as the regular expression engine does) made a run of n key
// characters cost n²/2 steps.
func webobMatch(h []byte, p int) (key, val []byte, end int, ok bool) {
	if !webobKeyChar[h[p]] {
		return nil, nil, p + 1, false
	}
	// The key is non-greedy: the first q after p where \s*= follows.
	for q := p + 1; ; q++ {
		if q < len(h) && h[q] == '=' {
			return webobValue(h, p, q, q+1)
		}
		if q < len(h) && webobKeyChar[h[q]] {
			continue
		}
		// A space or another byte: only \s+= can follow the key now.
		r := q
		for r < len(h) && reSpace(h[r]) {
			r++
		}
		if r < len(h) && h[r] == '=' {
			return webobValue(h, p, q, r+1)
		}
		return nil, nil, q, false
	}
}

func webobValue(h []byte, p, q, r int) (key, val []byte, end int, ok bool) {
	for r < len(h) && reSpace(h[r]) {
		r++
	}
	e := webobValueEnd(h, r)
	return h[p:q], h[r:e], e, true
}

// webobValueEnd matches _re_cookie_str_val at i: a quoted string, an
// expires date, or an unquoted run (possibly empty).
func webobValueEnd(h []byte, i int) int {
	// "(?:\\"|.)*?" — lazy: the first '"'; an escaped quote is skipped,
	// but when no '"' follows before a newline or the end, backtracking
	// makes the last escaped quote's '"' the end.
	if i < len(h) && h[i] == '"' {
		choice := -1
		for j := i + 1; ; {
			if j >= len(h) || h[j] == '\n' {
				if choice >= 0 {
					return choice + 2
				}
				break
			}
			if h[j] == '"' {
				return j + 1
			}
			if h[j] == '\\' && j+1 < len(h) && h[j+1] == '"' {
				choice = j
				j += 2
				continue
			}
			j++
		}
	}
	if e, ok := expiresEnd(h, i); ok {
		return e
	}
	j := i
	for j < len(h) {
		switch {
		case webobKeyChar[h[j]]:
			j++
		case h[j] == '\\' && j+3 < len(h) && isOctal3(h[j+1:j+4]):
			j += 4
		case h[j] == '\\' && j+1 < len(h) && h[j+1] != '\n':
			j += 2
		default:
			return j
		}
	}
	return j
}

func isOctal3(s []byte) bool {
	return len(s) == 3 && '0' <= s[0] && s[0] <= '3' && '0' <= s[1] && s[1] <= '7' && '0' <= s[2] && s[2] <= '7'
}

// expiresEnd matches \w{3},\s[\w\d-]{9,11}\s[\d:]{8}\sGMT at i.
func expiresEnd(h []byte, i int) (int, bool) {
	if i+5 > len(h) || !reWord(h[i]) || !reWord(h[i+1]) || !reWord(h[i+2]) || h[i+3] != ',' || !reSpace(h[i+4]) {
		return 0, false
	}
	j := i + 5
	run := 0
	for run < 11 && j+run < len(h) && (reWord(h[j+run]) || h[j+run] == '-') {
		run++
	}
	for k := run; k >= 9; k-- {
		e := j + k
		if e+13 > len(h) || !reSpace(h[e]) {
			continue
		}
		ok := true
		for _, c := range h[e+1 : e+9] {
			ok = ok && ('0' <= c && c <= '9' || c == ':')
		}
		if ok && reSpace(h[e+9]) && string(h[e+10:e+13]) == "GMT" {
			return e + 13, true
		}
	}
	return 0, false
}

// webobValidName is _valid_cookie_name.
func webobValidName(k []byte) bool {
	for _, c := range k {
		if !webobTokenChar[c] {
			return false
		}
	}
	if len(k) == 0 || k[0] == '$' {
		return false
	}
	switch len(k) {
	case 4, 6, 7, 8:
	default:
		return true
	}
	var low [8]byte
	for i, c := range k {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(k)]) {
	case "path", "comment", "domain", "max-age", "expires", "secure", "httponly", "samesite":
		return false
	}
	return true
}

// pyramidFindCookie finds name as WebOb's request.cookies does: the last
// validly named pair called name, nil if none or if any validly named
// pair's value is not UTF-8 once unquoted (WebOb raises).
func pyramidFindCookie(h, name []byte) []byte {
	var found []byte
	for p := 0; p < len(h); {
		key, val, end, ok := webobMatch(h, p)
		p = end
		if !ok {
			continue
		}
		if !webobValidName(key) {
			continue
		}
		if !webobUnquotedUTF8(val) {
			return nil
		}
		if bytes.Equal(key, name) {
			found = val[:len(val):len(val)]
		}
	}
	return found
}

// webobUnquoteEach hands yield each byte of WebOb's _unquote(v): one pair
// of surrounding quotes goes, then \ooo (000-377) becomes that byte and
// \c becomes c (not a newline). It stops early when yield returns false,
// and reports whether it got to the end.
func webobUnquoteEach(v []byte, yield func(byte) bool) bool {
	if len(v) > 0 && v[0] == '"' && v[len(v)-1] == '"' {
		if len(v) == 1 {
			return true
		}
		v = v[1 : len(v)-1]
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' {
			switch {
			case i+3 < len(v) && isOctal3(v[i+1:i+4]):
				c = (v[i+1]-'0')<<6 | (v[i+2]-'0')<<3 | (v[i+3] - '0')
				i += 3
			case i+1 < len(v) && v[i+1] != '\n':
				c = v[i+1]
				i++
			}
		}
		if !yield(c) {
			return false
		}
	}
	return true
}

// webobUnquote appends _unquote(v).
func webobUnquote(dst, v []byte) []byte {
	webobUnquoteEach(v, func(c byte) bool {
		dst = append(dst, c)
		return true
	})
	return dst
}

// webobUnquotedUTF8 reports whether _unquote(v) is valid UTF-8, without
// building it.
func webobUnquotedUTF8(v []byte) bool {
	var st utf8State
	return webobUnquoteEach(v, st.feed) && st.need == 0
}

// appendWebobQuote is WebOb's _value_quote: a value made only of cookie
// characters is written as is, anything else in double quotes with every
// byte but the cookie characters and space written as \ooo. It also
// quotes a value with '[' or ']', which WebOb writes bare but cannot read
// back.
func appendWebobQuote(dst, v []byte) []byte {
	plain := true
	for _, c := range v {
		if !webobCookieChar[c] {
			plain = false
			break
		}
	}
	if plain {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for _, c := range v {
		if webobCookieChar[c] || c == ' ' || c == '[' || c == ']' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
		}
	}
	return append(dst, '"')
}
