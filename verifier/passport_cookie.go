package verifier

// npm cookie 0.7.2's parse, as Express's cookie-parser runs it for the
// passport dialect.

import "bytes"

// passportFindCookie finds name in a Cookie header as npm cookie 0.7.2's
// parse does, returning the value trimmed of spaces and tabs but with its
// quotes, or nil when the first pair with that name is empty or there is
// none.
func passportFindCookie(str, name []byte) []byte {
	n := len(str)
	if n < 2 {
		return nil
	}
	index := 0
	for {
		eq := indexFrom(str, '=', index)
		if eq < 0 {
			return nil
		}
		end := indexFrom(str, ';', index)
		if end < 0 {
			end = n
		} else if eq > end {
			// backtrack on prior semicolon
			index = bytes.LastIndexByte(str[:eq], ';') + 1
			continue
		}
		ks := jsStartIndex(str, index, eq)
		ke := jsEndIndex(str, eq, ks)
		if bytes.Equal(str[ks:ke], name) {
			vs := jsStartIndex(str, eq+1, end)
			ve := jsEndIndex(str, end, vs)
			if vs >= ve {
				return nil
			}
			return str[vs:ve:ve]
		}
		index = end + 1
		if index >= n {
			return nil
		}
	}
}

func indexFrom(s []byte, c byte, from int) int {
	if from >= len(s) {
		return -1
	}
	i := bytes.IndexByte(s[from:], c)
	if i < 0 {
		return -1
	}
	return from + i
}

// jsStartIndex and jsEndIndex are cookie 0.7.2's startIndex and endIndex.
func jsStartIndex(s []byte, index, max int) int {
	for {
		if index >= len(s) || s[index] != ' ' && s[index] != '\t' {
			return index
		}
		index++
		if index >= max {
			return max
		}
	}
}

func jsEndIndex(s []byte, index, min int) int {
	for index > min {
		index--
		if s[index] != ' ' && s[index] != '\t' {
			return index + 1
		}
	}
	return min
}
