package verifier

import (
	"bytes"
	"errors"
	"net/netip"
	"time"
)

// CheckFields reports why uid, tokens and data cannot go into a ticket:
// a control byte anywhere, or a uid or token that begins or ends with a
// space or tab (Verify would refuse the ticket), or a '!' in uid or
// tokens (it would move the field boundaries).
func CheckFields(uid, tokens, data []byte) error {
	switch {
	case hasControl(uid) || hasControl(tokens) || hasControl(data):
		return errors.New("verifier: uid, tokens and data must not contain control bytes")
	case trimmable(uid, tokens):
		return errors.New("verifier: uid and tokens must not begin or end with a space or tab")
	case bytes.IndexByte(uid, '!') >= 0:
		return errors.New("verifier: uid must not contain '!'")
	case bytes.IndexByte(tokens, '!') >= 0:
		return errors.New("verifier: tokens must not contain '!'")
	}
	return nil
}

// Sign appends a raw ticket for uid, tokens and data, bound to ip (unless
// IgnoreIP) and dated ts, as Apache::AuthTkt's ticket() writes it:
// digest, 8 hex digits of time, uid, '!', then tokens and '!' only when
// there are tokens, then data. Base64-encode it with AppendBase64 for a
// cookie.
//
// When tokens are empty but data contains '!', Sign writes "uid!!data":
// the short form would make mod_auth_tkt read the data's first part as
// tokens (Apache::AuthTkt has that bug).
//
// A raw ticket whose data ends in '"' loses that quote in mod_auth_tkt's
// parser (it strips quotes first); base64, the usual cookie form, keeps it.
//
// Sign appends nothing when the ticket cannot be made: CheckFields fails,
// ip is not IPv4 (without IgnoreIP), or ts is outside 1970..2106.
// It allocates nothing when dst has room.
func (v *Verifier) Sign(dst, uid, tokens, data []byte, ip netip.Addr, ts time.Time) []byte {
	return v.sign(dst, uid, tokens, data, ip, ts, false)
}

func (v *Verifier) sign(dst, uid, tokens, data []byte, ip netip.Addr, ts time.Time, alwaysTokens bool) []byte {
	if CheckFields(uid, tokens, data) != nil {
		return dst
	}
	ip4, ok := v.ip4(ip)
	if !ok {
		return dst
	}
	sec := ts.Unix()
	if !validUnix(sec) {
		return dst
	}
	var pre [8]byte
	prefix := appendBE32(append(pre[:0], ip4[:]...), uint32(sec))
	dst = v.signDigest(dst, v.digest, prefix, uid, tokens, data)
	dst = appendHex8(dst, uint64(sec))
	dst = append(dst, uid...)
	dst = append(dst, '!')
	if len(tokens) > 0 || alwaysTokens || bytes.IndexByte(data, '!') >= 0 {
		dst = append(dst, tokens...)
		dst = append(dst, '!')
	}
	return append(dst, data...)
}

// AppendRefresh appends the new cookie value mod_auth_tkt sends when t
// needs a refresh: the same uid, tokens and data, dated now, bound to ip,
// signed with the current secret, in the "uid!tokens!data" form (always
// with the second '!'), base64-encoded. It appends nothing if ip or now
// cannot be signed (see Sign).
func (v *Verifier) AppendRefresh(dst []byte, t *Ticket, ip netip.Addr, now time.Time) []byte {
	var stack [512]byte
	raw := v.sign(stack[:0], t.UID, t.Tokens, t.Data, ip, now, true)
	return AppendBase64(dst, raw)
}

// AppendBase64 appends the ticket t was parsed from, base64-encoded: how
// tktgate hands a ticket taken from a URL back as a cookie.
func (t *Ticket) AppendBase64(dst []byte) []byte {
	return AppendBase64(dst, t.text)
}

// comma separates tokens.
var comma = []byte{','}

// HasToken reports whether the ticket's comma-separated tokens include any
// of required, compared exactly, as TKTAuthToken does. Empty entries on
// either side never match; no required tokens means no requirement.
func HasToken(tokens []byte, required [][]byte) bool {
	need := false
	for _, r := range required {
		if len(r) > 0 {
			need = true
			break
		}
	}
	if !need {
		return true
	}
	for len(tokens) > 0 {
		var tok []byte
		tok, tokens, _ = bytes.Cut(tokens, comma)
		if len(tok) == 0 {
			continue
		}
		for _, r := range required {
			if bytes.Equal(tok, r) {
				return true
			}
		}
	}
	return false
}
