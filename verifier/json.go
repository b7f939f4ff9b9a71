package verifier

// V8's JSON.stringify(JSON.parse(s)), for passport's JSON user data.

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of JSON user data (V8's own bound is its
// stack; cookies are far too small to reach this one honestly).
const maxJSONDepth = 1000

// canonJSON is JSON.stringify(JSON.parse(data)) for UTF-8 data, in new
// memory.
func canonJSON(data []byte) ([]byte, bool) {
	var js jsonScratch
	return jsonCanon(nil, data, true, &js)
}

// appendJSONASCII rewrites canonical JSON with every non-ASCII character
// (all inside strings) as \u escapes, which JSON.parse reads back to the
// same value.
func appendJSONASCII(dst, s []byte) []byte {
	for len(s) > 0 {
		if s[0] < 0x80 {
			dst = append(dst, s[0])
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		if r >= 0x10000 {
			var hi rune
			hi, r = utf16.EncodeRune(r)
			dst = appendU4(dst, uint16(hi))
		}
		dst = appendU4(dst, uint16(r))
	}
	return dst
}

func appendU4(dst []byte, u uint16) []byte {
	return append(dst, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&15], hexDigits[u>>4&15], hexDigits[u&15])
}

// jsonScratch is the working memory of jsonCanon: tape records, for every
// array and object in document order, its start and end offsets (so that
// a value is skipped in O(log n)); stack holds the member table of the
// objects being emitted.
type jsonScratch struct {
	tape, stack []byte
	src         []byte
	utf8        bool
	noTape      bool // validate only: record nothing
	depth       int
}

// jsonCanon appends JSON.stringify(JSON.parse(s)) as V8 computes it, in
// UTF-8: s is read as latin-1 characters (one per byte) or, with isUTF8,
// as UTF-8. ok is false when JSON.parse would throw (or the nesting
// exceeds maxJSONDepth). Objects come out with array-index keys first in
// ascending order, then the other keys in the order they first appear,
// each with its last value; numbers in JavaScript's shortest form;
// strings with JSON.stringify's escapes.
func jsonCanon(dst, s []byte, isUTF8 bool, js *jsonScratch) ([]byte, bool) {
	js.src, js.utf8, js.depth = s, isUTF8, 0
	js.tape = js.tape[:0]
	js.stack = js.stack[:0]
	i := jsonWS(s, 0)
	end, ok := js.validate(i)
	if !ok || jsonWS(s, end) != len(s) {
		return dst, false
	}
	dst, _ = js.emit(dst, i)
	return dst, true
}

func jsonWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func putU32(b []byte, x uint32) []byte {
	return append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
}

func getU32(b []byte, i int) uint32 {
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
}

// validate checks the value at i (no leading white space) and returns
// where it ends, recording containers in the tape.
func (js *jsonScratch) validate(i int) (int, bool) {
	s := js.src
	if i >= len(s) {
		return i, false
	}
	switch c := s[i]; {
	case c == '{' || c == '[':
		js.depth++
		if js.depth > maxJSONDepth {
			return i, false
		}
		slot := len(js.tape)
		if !js.noTape {
			js.tape = putU32(putU32(js.tape, uint32(i)), 0)
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		j := jsonWS(s, i+1)
		if j < len(s) && s[j] == closer {
			j++
		} else {
			for {
				var ok bool
				if c == '{' {
					if j >= len(s) || s[j] != '"' {
						return j, false
					}
					if j, ok = js.validString(j); !ok {
						return j, false
					}
					j = jsonWS(s, j)
					if j >= len(s) || s[j] != ':' {
						return j, false
					}
					j = jsonWS(s, j+1)
				}
				if j, ok = js.validate(j); !ok {
					return j, false
				}
				j = jsonWS(s, j)
				if j < len(s) && s[j] == ',' {
					j = jsonWS(s, j+1)
					continue
				}
				if j < len(s) && s[j] == closer {
					j++
					break
				}
				return j, false
			}
		}
		js.depth--
		if js.noTape {
			return j, true
		}
		end := uint32(j)
		js.tape[slot+4], js.tape[slot+5], js.tape[slot+6], js.tape[slot+7] = byte(end), byte(end>>8), byte(end>>16), byte(end>>24)
		return j, true
	case c == '"':
		return js.validString(i)
	case c == '-' || '0' <= c && c <= '9':
		return jsonNumberEnd(s, i)
	case c == 't':
		return i + 4, bytes.HasPrefix(s[i:], []byte("true"))
	case c == 'f':
		return i + 5, bytes.HasPrefix(s[i:], []byte("false"))
	case c == 'n':
		return i + 4, bytes.HasPrefix(s[i:], []byte("null"))
	}
	return i, false
}

// jsonNumberEnd checks a JSON number at i and returns its end.
func jsonNumberEnd(s []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i
	}
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(i)
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

// validString checks a JSON string literal at i and returns its end.
func (js *jsonScratch) validString(i int) (int, bool) {
	s := js.src
	i++
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			if i+1 >= len(s) {
				return i, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c >= 0x80 && js.utf8:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				return i, false
			}
			i += n
		default:
			i++
		}
	}
	return i, false
}

// skip returns the end of the (valid) value at i.
func (js *jsonScratch) skip(i int) int {
	s := js.src
	switch c := s[i]; {
	case c == '{' || c == '[':
		// Binary search the tape, sorted by start offset.
		lo, hi := 0, len(js.tape)/8
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if int(getU32(js.tape, 8*m)) < i {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return int(getU32(js.tape, 8*lo+4))
	case c == '"':
		i++
		for s[i] != '"' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		return i + 1
	case c == 't' || c == 'n':
		return i + 4
	case c == 'f':
		return i + 5
	}
	j, _ := jsonNumberEnd(s, i)
	return j
}

// A member entry on js.stack: key offset, value offset, key hash, and the
// key's array index (noIndex when it is not one).
const (
	memberSize = 16
	noIndex    = math.MaxUint32
)

// emit appends the canonical form of the (valid) value at i and returns
// its end.
func (js *jsonScratch) emit(dst []byte, i int) ([]byte, int) {
	s := js.src
	switch c := s[i]; {
	case c == '[':
		dst = append(dst, '[')
		j := jsonWS(s, i+1)
		if s[j] == ']' {
			return append(dst, ']'), j + 1
		}
		for {
			dst, j = js.emit(dst, j)
			j = jsonWS(s, j)
			if s[j] == ']' {
				return append(dst, ']'), j + 1
			}
			dst = append(dst, ',')
			j = jsonWS(s, j+1)
		}
	case c == '{':
		return js.emitObject(dst, i)
	case c == '"':
		end := js.skip(i)
		return js.emitString(dst, s[i+1:end-1]), end
	case c == 't':
		return append(dst, "true"...), i + 4
	case c == 'f':
		return append(dst, "false"...), i + 5
	case c == 'n':
		return append(dst, "null"...), i + 4
	}
	end, _ := jsonNumberEnd(s, i)
	return appendJSNumber(dst, s[i:end]), end
}

// emitObject appends the canonical form of the object at i: its array
// index keys in ascending order, then its other keys in the order they
// first appear, each key once with its last value. The members are
// sorted (heapsort: n log n at worst, whatever the input, and no memory
// beyond js.stack), so that a cookie full of keys costs what it weighs;
// picking them by scanning the member list once per key made tens of
// milliseconds of a 38 KB cookie.
func (js *jsonScratch) emitObject(dst []byte, i int) ([]byte, int) {
	s := js.src
	end := js.skip(i)
	base := len(js.stack)
	// Collect the members: key offset, value offset, key hash, index.
	j := jsonWS(s, i+1)
	for s[j] != '}' {
		k := j
		kend := js.skip(k)
		h, idx := js.keyInfo(s[k+1 : kend-1])
		j = jsonWS(s, kend)
		j = jsonWS(s, j+1) // ':'
		js.stack = putU32(putU32(putU32(putU32(js.stack, uint32(k)), uint32(j)), h), idx)
		j = jsonWS(s, js.skip(j))
		if s[j] == ',' {
			j = jsonWS(s, j+1)
		}
	}
	n := (len(js.stack) - base) / memberSize
	// Index keys first, by index; the others grouped by key. Ties go by
	// key offset, which is document order.
	js.sortMembers(base, n, js.memberLess)

	dst = append(dst, '{')
	first := true
	member := func(key, val uint32) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = js.emitString(dst, js.key(key))
		dst = append(dst, ':')
		dst, _ = js.emit(dst, int(val))
	}
	// Array-index keys: the last member of each run of one index.
	m := 0
	for ; m < n && js.member(base, m, 3) != noIndex; m++ {
		if m+1 == n || js.member(base, m+1, 3) != js.member(base, m, 3) {
			member(js.member(base, m, 0), js.member(base, m, 1))
		}
	}
	// The other keys: each run of one key becomes one entry with the
	// first key offset and the last value, then the entries are put back
	// in order of first appearance.
	w := m
	for r := m; r < n; {
		e := r + 1
		for e < n && js.sameKey(base, r, e) {
			e++
		}
		js.setMember(base, w, js.member(base, r, 0), js.member(base, e-1, 1), js.member(base, r, 2))
		w++
		r = e
	}
	js.sortMembers(base+m*memberSize, w-m, func(b, x, y int) bool { return js.member(b, x, 0) < js.member(b, y, 0) })
	for ; m < w; m++ {
		member(js.member(base, m, 0), js.member(base, m, 1))
	}
	js.stack = js.stack[:base]
	return append(dst, '}'), end
}

// member returns field f (0 key offset, 1 value offset, 2 hash, 3 index)
// of member m of the table at base. js.stack may grow (and move) while
// values are emitted, so members are always read through it.
func (js *jsonScratch) member(base, m, f int) uint32 {
	return getU32(js.stack, base+m*memberSize+4*f)
}

func (js *jsonScratch) setMember(base, m int, key, val, hash uint32) {
	b := js.stack[base+m*memberSize:]
	for f, x := range [4]uint32{key, val, hash, noIndex} {
		b[4*f], b[4*f+1], b[4*f+2], b[4*f+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	}
}

// key returns the literal (between the quotes) of the key at offset k.
func (js *jsonScratch) key(k uint32) []byte {
	return js.src[k+1 : js.skip(int(k))-1]
}

// memberLess orders members: index keys first, by index; then the other
// keys by hash, then by their UTF-16 code units; ties by key offset.
func (js *jsonScratch) memberLess(base, a, b int) bool {
	ia, ib := js.member(base, a, 3), js.member(base, b, 3)
	if ia != ib {
		return ia < ib // noIndex is the largest
	}
	if ia == noIndex {
		if ha, hb := js.member(base, a, 2), js.member(base, b, 2); ha != hb {
			return ha < hb
		}
		if c := js.keyCompare(js.key(js.member(base, a, 0)), js.key(js.member(base, b, 0))); c != 0 {
			return c < 0
		}
	}
	return js.member(base, a, 0) < js.member(base, b, 0)
}

// sameKey tells whether members a and b (not index keys) have one key.
func (js *jsonScratch) sameKey(base, a, b int) bool {
	return js.member(base, a, 2) == js.member(base, b, 2) &&
		js.keyCompare(js.key(js.member(base, a, 0)), js.key(js.member(base, b, 0))) == 0
}

// sortMembers heapsorts the n members of the table at base by less.
func (js *jsonScratch) sortMembers(base, n int, less func(base, a, b int) bool) {
	swap := func(a, b int) {
		x := js.stack[base+a*memberSize : base+(a+1)*memberSize]
		y := js.stack[base+b*memberSize : base+(b+1)*memberSize]
		var t [memberSize]byte
		copy(t[:], x)
		copy(x, y)
		copy(y, t[:])
	}
	down := func(root, n int) {
		for {
			c := 2*root + 1
			if c >= n {
				return
			}
			if c+1 < n && less(base, c, c+1) {
				c++
			}
			if !less(base, root, c) {
				return
			}
			swap(root, c)
			root = c
		}
	}
	for r := n/2 - 1; r >= 0; r-- {
		down(r, n)
	}
	for e := n - 1; e > 0; e-- {
		swap(0, e)
		down(0, e)
	}
}

// escape decodes the (valid) JSON escape at u.i.
func (u *jsUnits) escape() uint16 {
	e := u.s[u.i+1]
	u.i += 2
	switch e {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'u':
		x := uint16(unhex(u.s[u.i]))<<12 | uint16(unhex(u.s[u.i+1]))<<8 | uint16(unhex(u.s[u.i+2]))<<4 | uint16(unhex(u.s[u.i+3]))
		u.i += 4
		return x
	}
	return uint16(e)
}

// nextRune returns the next character, joining a surrogate pair; lone is
// set (and r is U+FFFD) for a surrogate that is not half of a pair.
func (u *jsUnits) nextRune() (r rune, ok, lone bool) {
	c, ok := u.next()
	if !ok || !utf16.IsSurrogate(rune(c)) {
		return rune(c), ok, false
	}
	lo, _ := u.next()
	r = utf16.DecodeRune(rune(c), rune(lo))
	return r, true, r == utf8.RuneError
}

// keyInfo returns a hash of a key's code units and its array index.
func (js *jsonScratch) keyInfo(k []byte) (hash, idx uint32) {
	u := jsUnits{s: k, json: true, utf8: js.utf8}
	h := uint32(2166136261)
	var n uint64
	digits := 0
	isIndex := true
	for {
		c, ok := u.next()
		if !ok {
			break
		}
		h = (h ^ uint32(c)) * 16777619
		if isIndex {
			switch {
			case c < '0' || c > '9', digits == 1 && n == 0, digits == 10:
				isIndex = false
			default:
				n = n*10 + uint64(c-'0')
				digits++
			}
		}
	}
	if !isIndex || digits == 0 || n > math.MaxUint32-1 {
		return h, noIndex
	}
	return h, uint32(n)
}

// keyCompare compares two key literals by their UTF-16 code units (the
// key JSON.parse makes of them): "a" and "\u0061" are one key.
func (js *jsonScratch) keyCompare(a, b []byte) int {
	if bytes.Equal(a, b) {
		return 0
	}
	ua, ub := jsUnits{s: a, json: true, utf8: js.utf8}, jsUnits{s: b, json: true, utf8: js.utf8}
	for {
		x, okx := ua.next()
		y, oky := ub.next()
		switch {
		case !okx && !oky:
			return 0
		case !okx:
			return -1
		case !oky:
			return 1
		case x != y:
			return int(x) - int(y)
		}
	}
}

// emitString appends JSON.stringify of the string whose literal contents
// are lit: '"', '\\' and \b \f \n \r \t escaped, other controls and lone
// surrogates as \u00xx / \udxxx (lower case), everything else as UTF-8.
func (js *jsonScratch) emitString(dst, lit []byte) []byte {
	dst = append(dst, '"')
	u := jsUnits{s: lit, json: true, utf8: js.utf8}
	c, ok := u.next()
	for ok {
		next, nok := u.next()
		pair := utf16.DecodeRune(rune(c), rune(next)) // U+FFFD unless c, next is a pair
		switch {
		case nok && pair != utf8.RuneError:
			dst = utf8.AppendRune(dst, pair)
			next, nok = u.next()
		case utf16.IsSurrogate(rune(c)):
			dst = appendU4(dst, c)
		case c == '"' || c == '\\':
			dst = append(dst, '\\', byte(c))
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = appendU4(dst, c)
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
		c, ok = next, nok
	}
	return append(dst, '"')
}

// appendJSNumber appends JSON.stringify of the number literal num:
// JavaScript's Number::toString of the nearest double (shortest digits,
// plain notation for exponents -7 < e < 21), "null" for infinities, "0"
// for -0.
func appendJSNumber(dst, num []byte) []byte {
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil && !math.IsInf(f, 0) {
		return append(dst, "null"...) // cannot happen for a valid literal
	}
	if math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d[.ddd]e±xx
	e := bytes.IndexByte(b, 'e')
	exp, _ := strconv.Atoi(string(b[e+1:]))
	var dg [24]byte
	digits := append(dg[:0], b[0])
	if e > 1 {
		digits = append(digits, b[2:e]...)
	}
	k, n := len(digits), exp+1
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 < 0 {
			dst = append(dst, '-')
		} else {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(abs(n-1)), 10)
	}
	return dst
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// AppendJSONField appends the value of the top-level member key of a JSON
// object (such as Ticket.Data from a passport dialect with
// PassportJSONUserData): a string decoded to UTF-8, a number, true or
// false as written, an array or object as JSON text. ok is false when
// data is not a JSON object, has no such member, the value is null, or
// it is a string holding a control character or a lone surrogate (it
// must be fit for an HTTP header). With duplicate keys the last one
// counts, as in JSON.parse.
func AppendJSONField(dst, data, key []byte) ([]byte, bool) {
	js := jsonScratch{src: data, utf8: true, noTape: true}
	i := jsonWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return dst, false
	}
	// A plain linear walk (no tape): validate each member as we go.
	found, fs, fe := false, 0, 0
	j := jsonWS(data, i+1)
	if j < len(data) && data[j] == '}' {
		j++
	} else {
		for {
			if j >= len(data) || data[j] != '"' {
				return dst, false
			}
			kend, ok := js.validString(j)
			if !ok {
				return dst, false
			}
			k := data[j+1 : kend-1]
			j = jsonWS(data, kend)
			if j >= len(data) || data[j] != ':' {
				return dst, false
			}
			j = jsonWS(data, j+1)
			vend, ok := js.validate(j)
			if !ok {
				return dst, false
			}
			if keyMatches(k, key) {
				found, fs, fe = true, j, vend
			}
			j = jsonWS(data, vend)
			if j < len(data) && data[j] == ',' {
				j = jsonWS(data, j+1)
				continue
			}
			if j < len(data) && data[j] == '}' {
				j++
				break
			}
			return dst, false
		}
	}
	if !found || jsonWS(data, j) != len(data) {
		return dst, false
	}
	return appendFieldValue(dst, data[fs:fe])
}

// appendFieldValue appends a valid JSON value as AppendJSONField hands it
// out: strings decoded, null and anything unfit for a header refused.
func appendFieldValue(dst, val []byte) ([]byte, bool) {
	switch val[0] {
	case 'n':
		return dst, false
	case '"':
		start := len(dst)
		u := jsUnits{s: val[1 : len(val)-1], json: true, utf8: true}
		for {
			r, ok, lone := u.nextRune()
			if !ok {
				break
			}
			if lone || r < 0x20 || r == 0x7f {
				return dst[:start], false
			}
			dst = utf8.AppendRune(dst, r)
		}
		return dst, true
	}
	if hasControl(val) {
		return dst, false
	}
	return append(dst, val...), true
}

// keyMatches compares a JSON key literal (UTF-8) with a plain UTF-8 key.
func keyMatches(lit, key []byte) bool {
	if bytes.IndexByte(lit, '\\') < 0 {
		return bytes.Equal(lit, key)
	}
	u := jsUnits{s: lit, json: true, utf8: true}
	var buf [4]byte
	for {
		r, ok, lone := u.nextRune()
		if !ok {
			return len(key) == 0
		}
		if lone {
			return false
		}
		b := utf8.AppendRune(buf[:0], r)
		if !bytes.HasPrefix(key, b) {
			return false
		}
		key = key[len(b):]
	}
}
