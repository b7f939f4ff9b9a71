package verifier

// Naming one ticket without its secret: its signature (the digest it
// carries) and Parse, for tools that must say which ticket a cookie value
// holds where no client address is known (revoking a stolen cookie).

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// Signature returns the digest t carries, as written in it (lowercase
// hex), after dv's Verify returned nil, ErrExpired or ErrFuture, or dv's
// Parse returned nil; nil when t holds no ticket text that long. It
// points into t's scratch memory, like t's other fields.
//
// The signature tells tickets apart (it covers the address, time, uid,
// tokens and data, under the secret), so it identifies one ticket. With
// the uid and time it is the whole cookie: never log or show it.
//
// It is read from the ticket text when asked, so Verify pays nothing for it.
func (dv *DialectVerifier) Signature(t *Ticket) []byte {
	text := t.text
	if dv.d == Pyramid {
		// parse_ticket strips the quotes WebOb left (pyramidSplit).
		for len(text) > 0 && text[0] == '"' {
			text = text[1:]
		}
	}
	n := dv.v.hexLen
	if len(text) < n {
		return nil
	}
	return text[:n:n]
}

// Parse reads a cookie value (as FindCookie returns it) in dv's dialect
// into t without checking its digest, address or time: UID (decoded as
// Verify decodes it), Tokens, Data (as written), Time and the Signature.
// It returns nil, ErrNoTicket or ErrMalformed, the latter also when the
// signature is not dv's digest in lowercase hex (no valid ticket has
// another) or the uid is one Verify refuses.
//
// It grants nothing: anyone can write a value that parses. It is for
// naming a ticket the caller already holds, such as revoking a stolen
// cookie, where the client address its digest covers is unknown.
func (dv *DialectVerifier) Parse(t *Ticket, value []byte) error {
	t.reset()
	if len(value) == 0 {
		return ErrNoTicket
	}
	var err error
	switch dv.d {
	case Passport:
		err = dv.v.parsePassport(t, value)
	case Pyramid:
		err = dv.v.parsePyramid(t, value)
	default:
		err = dv.v.parseModAuthTkt(t, value)
	}
	if err == nil && (!lowerHex(dv.Signature(t)) || trimmable(t.UID, t.Tokens)) {
		err = ErrMalformed
	}
	if err != nil {
		t.UID, t.Tokens, t.Data, t.Time = nil, nil, nil, time.Time{}
	}
	return err
}

// parseModAuthTkt is verifyText's reading without the digest check.
func (v *Verifier) parseModAuthTkt(t *Ticket, value []byte) error {
	t.decode(value)
	text, ts, sep, sep2, err := v.readText(t)
	if err != nil {
		return err
	}
	ds := v.hexLen
	t.Time = time.Unix(int64(ts), 0)
	t.UID = text[ds+8 : sep : sep]
	if sep2 < 0 {
		t.Tokens, t.Data = nil, text[sep+1:]
	} else {
		t.Tokens, t.Data = text[sep+1:sep2:sep2], text[sep2+1:]
	}
	return nil
}

// parsePassport is verifyPassport's reading without the digest check;
// Data stays as written (base64 unless plain).
func (v *Verifier) parsePassport(t *Ticket, value []byte) error {
	s := scratch{buf: t.text[:0]}
	err := passportDecode(&s, value)
	n := len(s.buf)
	t.text = s.buf[:n]
	if err != nil {
		return err
	}
	t.Encoding = Base64
	_, ts, uid, tokens, data, ok := passportSplit(s.buf[:n:n])
	if !ok {
		return ErrMalformed
	}
	t.UID, t.Tokens, t.Data, t.Time = uid, tokens, data, time.Unix(ts, 0)
	return nil
}

// parsePyramid is verifyPyramid's reading without the digest check, the
// uid decoded by its userid_type markers as identify does.
func (v *Verifier) parsePyramid(t *Ticket, value []byte) error {
	s := scratch{buf: webobUnquote(t.text[:0], value)}
	n := len(s.buf)
	t.text = s.buf[:n]
	if !utf8.Valid(s.buf) {
		return ErrMalformed
	}
	_, ts, uid, tokens, data, ok := pyramidSplit(t.text, v.hexLen)
	if !ok {
		return ErrMalformed
	}
	if bytes.IndexByte(uid, '%') >= 0 {
		m := s.mark()
		s.buf = pyUnquote(s.buf, uid)
		uid = s.since(m)
	}
	var decoded []byte
	var typ pyType
	s.buf, decoded, typ, ok = pyramidDecodeUID(s.buf, uid, data)
	if ok && typ != pyNone {
		uid = decoded
	}
	t.text = s.buf[:n]
	if !ok || hasControl(uid) {
		return ErrMalformed
	}
	t.UID, t.Tokens, t.Data, t.Time = uid, tokens, data, time.Unix(ts, 0)
	return nil
}

// lowerHex reports whether s is non-empty lowercase hex, as every
// generator writes digests and every dialect compares them.
func lowerHex(s []byte) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return len(s) > 0
}
