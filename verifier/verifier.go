package verifier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"
)

// Reasons a ticket is refused. Verify returns exactly one of these, so that
// callers can count and branch with errors.Is; they are values, so the
// failure path allocates nothing.
var (
	// ErrNoTicket: the value is empty.
	ErrNoTicket = errors.New("verifier: no ticket")
	// ErrMalformed: the value does not parse as a ticket, its uid,
	// tokens or data contain a control byte, or its uid or a token
	// begins or ends with a space or tab.
	ErrMalformed = errors.New("verifier: malformed ticket")
	// ErrBadIP: the client address is not IPv4 (nor IPv4-mapped IPv6),
	// or is 255.255.255.255, and IgnoreIP is off, so no digest can match.
	ErrBadIP = errors.New("verifier: client address is not IPv4")
	// ErrBadDigest: the digest matches neither the secret nor the old
	// secret for this client address. A ticket bound to another IP fails
	// this way too: the address is only inside the digest.
	ErrBadDigest = errors.New("verifier: bad digest")
	// ErrExpired: the digest is good but the ticket is older than the
	// timeout. The Ticket fields are filled, as mod_auth_tkt's guest
	// fallback and logs need them.
	ErrExpired = errors.New("verifier: ticket expired")
	// ErrFuture: the digest is good but the ticket is dated further ahead
	// than MaxFuture.
	ErrFuture = errors.New("verifier: ticket dated in the future")
)

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// DefaultMaxFuture is the clock skew allowed when Options.MaxFuture is 0.
const DefaultMaxFuture = 5 * time.Minute

// Options configure a Verifier. They mirror mod_auth_tkt's directives.
type Options struct {
	// Secret is TKTAuthSecret. Required.
	Secret []byte
	// OldSecret is TKTAuthSecretOld: tickets signed with it are accepted
	// and always marked for refresh, so that they are re-signed with Secret.
	OldSecret []byte
	// Digest is TKTAuthDigestType; the zero value is MD5.
	Digest Digest
	// IgnoreIP is TKTAuthIgnoreIP: digests use 0.0.0.0 instead of the
	// client address.
	IgnoreIP bool
	// Timeout is TKTAuthTimeout, in whole seconds. 0 disables the expiry
	// check (and refresh).
	Timeout time.Duration
	// Refresh is TKTAuthTimeoutRefresh, 0..1: a ticket is marked for
	// refresh when less than Refresh*Timeout of its life is left.
	// 0 disables refresh, 1 refreshes on every request.
	Refresh float64
	// MaxFuture bounds how far ahead of now a ticket may be dated. 0 means
	// DefaultMaxFuture; a negative value allows no future date at all.
	// mod_auth_tkt has no bound; pass a very large value to match it.
	MaxFuture time.Duration
}

// A Verifier checks and mints tickets for one set of Options. It is
// immutable and safe for concurrent use.
type Verifier struct {
	secret, old []byte
	digest      Digest
	hexLen      int
	ignoreIP    bool
	timeout     int64 // seconds
	refresh     float64
	maxFuture   int64 // seconds
}

// New checks o and builds a Verifier.
func New(o Options) (*Verifier, error) {
	switch {
	case len(o.Secret) == 0:
		return nil, errors.New("verifier: empty secret")
	case !o.Digest.valid():
		return nil, fmt.Errorf("verifier: unknown digest %v", o.Digest)
	case o.Timeout < 0:
		return nil, fmt.Errorf("verifier: negative timeout %v", o.Timeout)
	case o.Timeout%time.Second != 0:
		return nil, fmt.Errorf("verifier: timeout %v is not a whole number of seconds", o.Timeout)
	case o.Timeout/time.Second > math.MaxUint32:
		return nil, fmt.Errorf("verifier: timeout %v is too long", o.Timeout)
	case !(o.Refresh >= 0 && o.Refresh <= 1): // also rejects NaN
		return nil, fmt.Errorf("verifier: refresh %v is not within 0..1", o.Refresh)
	}
	v := &Verifier{
		secret:   bytes.Clone(o.Secret),
		digest:   o.Digest,
		hexLen:   o.Digest.HexLen(),
		ignoreIP: o.IgnoreIP,
		timeout:  int64(o.Timeout / time.Second),
		refresh:  o.Refresh,
	}
	if len(o.OldSecret) > 0 {
		v.old = bytes.Clone(o.OldSecret)
	}
	switch {
	case o.MaxFuture == 0:
		v.maxFuture = int64(DefaultMaxFuture / time.Second)
	case o.MaxFuture > 0:
		v.maxFuture = int64(o.MaxFuture / time.Second)
	}
	return v, nil
}

// Digest returns the digest type v uses.
func (v *Verifier) Digest() Digest { return v.digest }

// Encoding says how a cookie value carried its ticket.
type Encoding uint8

// The encodings mod_auth_tkt understands.
const (
	Raw     Encoding = iota // the ticket as is (it contains '!')
	Base64                  // standard base64, decoded leniently
	Escaped                 // URL-escaped ('!' written as %21)
)

// A Ticket is the result of Verify. Reuse one per goroutine: its byte
// slices point into its own scratch memory and stay valid until the next
// Verify with the same Ticket.
type Ticket struct {
	UID, Tokens, Data []byte
	// Time is the ticket's timestamp.
	Time time.Time
	// NeedsRefresh says a new ticket should be sent back (see
	// Verifier.AppendRefresh): the refresh point has passed, or the ticket
	// was signed with the old secret.
	NeedsRefresh bool
	// OldSecret says the ticket was signed with Options.OldSecret.
	OldSecret bool
	// Encoding is how the value carried the ticket.
	Encoding Encoding

	text []byte // the decoded ticket
	msg  []byte // round-one digest message; UID, Tokens, Data point into it
	r2   []byte // round-two digest message
}

func (t *Ticket) reset() {
	t.UID, t.Tokens, t.Data = nil, nil, nil
	t.Time = time.Time{}
	t.NeedsRefresh, t.OldSecret = false, false
	t.Encoding = Raw
	t.text = t.text[:0]
}

// Verify checks the cookie value (or URL parameter value) against the
// client address ip at time now, as mod_auth_tkt does, and fills t.
// It returns nil or one of the Err values.
//
// Verify runs on every request, and the two hash rounds are most of its
// cost, so the usual ticket takes a fast path that touches each byte as
// few times as it can: the fields after the digest and timestamp are
// scanned for '!' and control bytes while they are copied into the
// round-one message (scanCopy), and the digest part is not scanned at all
// before hashing, as a matching digest is lowercase hex and so holds
// neither. Whenever that shortcut cannot be sure of mod_auth_tkt's answer
// (a control byte or NUL anywhere, an odd timestamp, no '!' in the fields,
// or a digest that does not match and is not clean hex-like text) Verify
// starts again on the slow path, verifyText, which follows mod_auth_tkt
// step by step. Both give the same result for every input
// (FuzzVerifyReference holds them to the plain implementation).
//
// Unlike mod_auth_tkt, Verify refuses (ErrMalformed) a ticket whose uid
// or a token begins or ends with a space or a tab, a uid of white space
// among them: every HTTP parser, nginx's included, trims those from a
// header value, so "admin " would reach the application as "admin" and
// "   " as no user at all. An empty uid stays valid, as in mod_auth_tkt.
func (v *Verifier) Verify(t *Ticket, value []byte, ip netip.Addr, now time.Time) error {
	t.reset()
	if len(value) == 0 {
		return ErrNoTicket
	}
	t.decode(value)
	text := t.text
	ds := v.hexLen
	if len(text) < ds+8 {
		return v.verifyText(t, ip, now)
	}
	ts, ok := hex8(text[ds : ds+8])
	if !ok {
		return v.verifyText(t, ip, now)
	}
	// Round one: ip ‖ ts ‖ secret ‖ the fields, with the field text put in
	// place (and scanned) before the prefix is known.
	secret := v.secret
	f := text[ds+8:]
	base := 8 + len(secret)
	m := slices.Grow(t.msg[:0], base+len(f)+1)[:base+len(f)]
	copy(m[8:], secret)
	sep, sep2, ctrl, space := scanCopy(m[base:], f)
	if ctrl || sep < 0 {
		return v.verifyText(t, ip, now)
	}
	want := text[:ds]
	ip4, ok := v.ip4(ip)
	if !ok {
		if !plain(want) {
			return v.verifyText(t, ip, now)
		}
		return ErrBadIP
	}
	t.Time = time.Unix(int64(ts), 0)
	prefix := uint64(binary.BigEndian.Uint32(ip4[:]))<<32 | uint64(ts)
	binary.BigEndian.PutUint64(m, prefix)
	t.splitFields(m, base, sep, sep2)
	if !v.digest.rounds(t.msg, secret, want, &t.r2) {
		if !plain(want) {
			// A '!' or control byte in the digest part: mod_auth_tkt
			// would not have read the fields as we did.
			return v.verifyText(t, ip, now)
		}
		if v.old == nil || !v.check(t, v.old, prefix, fields{f, sep, sep2}, want) {
			return ErrBadDigest
		}
		t.OldSecret = true
		t.NeedsRefresh = true
	}
	if space && trimmable(t.UID, t.Tokens) {
		return ErrMalformed // see above
	}
	return v.checkTime(t, ts, now)
}

// verifyText is Verify's slow path, mod_auth_tkt's steps one by one on
// the decoded t.text: cut at the first NUL, refuse control bytes and a
// first '!' inside the digest or timestamp, read the timestamp as
// sscanf("%8x") does, then check the digest. It resets what the fast path
// may have filled in first.
func (v *Verifier) verifyText(t *Ticket, ip netip.Addr, now time.Time) error {
	t.UID, t.Tokens, t.Data = nil, nil, nil
	t.Time = time.Time{}
	t.NeedsRefresh, t.OldSecret = false, false
	text, ts, sep, sep2, err := v.readText(t)
	if err != nil {
		return err
	}
	ds := v.hexLen
	ip4, ok := v.ip4(ip)
	if !ok {
		return ErrBadIP
	}
	t.Time = time.Unix(int64(ts), 0)
	// The fields, uid!tokens!data or uid!data, after digest and timestamp.
	f := fields{text[ds+8:], sep - ds - 8, -1}
	if sep2 >= 0 {
		f.sep2 = sep2 - ds - 8
	}
	prefix := uint64(binary.BigEndian.Uint32(ip4[:]))<<32 | uint64(ts)
	want := text[:ds]
	if !v.check(t, v.secret, prefix, f, want) {
		if v.old == nil || !v.check(t, v.old, prefix, f, want) {
			return ErrBadDigest
		}
		t.OldSecret = true
		t.NeedsRefresh = true
	}
	if trimmable(t.UID, t.Tokens) {
		return ErrMalformed // see Verify
	}
	return v.checkTime(t, ts, now)
}

// readText reads the decoded t.text as mod_auth_tkt does, for
// verifyText and Parse alike: cut at the first NUL, refuse control bytes
// and a first '!' inside the digest or timestamp, read the timestamp as
// sscanf("%8x") does. sep and sep2 are the first two '!' (sep2 -1 when
// there is one).
func (v *Verifier) readText(t *Ticket) (text []byte, ts uint32, sep, sep2 int, err error) {
	if i := bytes.IndexByte(t.text, 0); i >= 0 {
		t.text = t.text[:i]
	}
	text = t.text
	sep, sep2, ctrl := scanTicket(text)
	if ctrl || sep < v.hexLen+8 {
		return nil, 0, 0, 0, ErrMalformed
	}
	ts, ok := scanHex8(text[v.hexLen:])
	if !ok {
		return nil, 0, 0, 0, ErrMalformed
	}
	return text, ts, sep, sep2, nil
}

// checkTime is the last step of Verify, for a ticket with a good digest
// dated ts: too far in the future, expired, or due for a refresh.
func (v *Verifier) checkTime(t *Ticket, ts uint32, now time.Time) error {
	n := now.Unix()
	if int64(ts)-n > v.maxFuture {
		return ErrFuture
	}
	if v.timeout > 0 {
		left := int64(ts) + v.timeout - n
		if left < 0 {
			return ErrExpired
		}
		if v.refresh > 0 && float64(left) < v.refresh*float64(v.timeout) {
			t.NeedsRefresh = true
		}
	}
	return nil
}

// identity is the last step of the dialects' Verify: a ticket whose
// signature holds (whatever its time) but whose uid or tokens a proxy
// would trim is malformed. (mod_auth_tkt's Verify does it in checkTime.)
func identity(t *Ticket, err error) error {
	if (err == nil || err == ErrExpired || err == ErrFuture) && trimmable(t.UID, t.Tokens) {
		return ErrMalformed
	}
	return err
}

// trimmable reports whether uid or one of the comma-separated tokens
// begins or ends with a space. (Or a tab: but a tab is a control byte,
// which every caller has refused before asking.) Verify's fast path asks
// only when scanCopy saw a space before the data.
func trimmable(uid, tokens []byte) bool {
	return len(uid) > 0 && (uid[0] == ' ' || uid[len(uid)-1] == ' ') ||
		bytes.IndexByte(tokens, ' ') >= 0 && trimmedToken(tokens)
}

func trimmedToken(tokens []byte) bool {
	for i, n := 0, len(tokens); i < n; i++ {
		if tokens[i] == ' ' && (i == 0 || tokens[i-1] == ',' || i == n-1 || tokens[i+1] == ',') {
			return true
		}
	}
	return false
}

// fields is the ticket text after the digest and timestamp,
// uid!tokens!data or uid!data, with the positions of its first two '!'
// (sep2 -1 for uid!data).
type fields struct {
	text      []byte
	sep, sep2 int
}

// check is mod_auth_tkt's digest check, dialectDigest with the IP and
// timestamp as the prefix (the address bytes then the time, big endian,
// in one word), for the slow path and the old secret: the round-one
// message prefix ‖ secret ‖ uid ‖ 0 ‖ tokens ‖ 0 ‖ data is the field text
// copied whole and split by splitFields. The comparison is constant-time
// (see equalHexSum), and t.UID, t.Tokens and t.Data are left pointing
// into the message, which holds copies.
func (v *Verifier) check(t *Ticket, secret []byte, prefix uint64, f fields, want []byte) bool {
	base := 8 + len(secret)
	m := slices.Grow(t.msg[:0], base+len(f.text)+1)[:base+len(f.text)]
	binary.BigEndian.PutUint64(m, prefix)
	copy(m[8:], secret)
	copy(m[base:], f.text)
	t.splitFields(m, base, f.sep, f.sep2)
	return v.digest.rounds(t.msg, secret, want, &t.r2)
}

// splitFields makes m, prefix ‖ secret ‖ the field text from base on,
// the round-one message: the two '!' at base+sep and base+sep2 become
// NULs; for uid!data (sep2 -1) the data moves up one byte to make room
// for the empty tokens field's NUL, so m needs that byte of capacity.
// t.msg is the message, and t.UID, t.Tokens and t.Data its fields.
func (t *Ticket) splitFields(m []byte, base, sep, sep2 int) {
	m[base+sep] = 0
	if sep2 >= 0 {
		m[base+sep2] = 0
	} else {
		m = m[:len(m)+1]
		copy(m[base+sep+2:], m[base+sep+1:])
		m[base+sep+1] = 0
		sep2 = sep + 1
	}
	t.msg = m
	u, k, d := base+sep, base+sep+1, base+sep2
	t.UID, t.Tokens, t.Data = m[base:u:u], m[k:d:d], m[d+1:]
}

// ip4 returns the four address bytes the digest covers.
func (v *Verifier) ip4(ip netip.Addr) ([4]byte, bool) {
	if v.ignoreIP {
		return [4]byte{}, true
	}
	ip = ip.Unmap()
	// mod_auth_tkt's ticket_digest fails for 255.255.255.255, which
	// inet_aton's caller cannot tell from INADDR_NONE: no ticket matches.
	if !ip.Is4() || ip == broadcast {
		return [4]byte{}, false
	}
	return ip.As4(), true
}

// Deadlines returns when a ticket dated ts reaches its refresh point and
// when it expires, by v's timeout and refresh settings. Both are zero
// when there is no timeout; refresh is zero when refresh is off. A
// cache of answers must not outlive either.
func (v *Verifier) Deadlines(ts time.Time) (refresh, expire time.Time) {
	if v.timeout == 0 {
		return
	}
	// The ticket is still fresh at ts+timeout (mod_auth_tkt compares with
	// <), so it expires one second later.
	expire = ts.Add(time.Duration(v.timeout+1) * time.Second)
	if v.refresh > 0 {
		// Verify refreshes when left < refresh*timeout, left being whole
		// seconds: the first whole second where that holds.
		r := v.refresh * float64(v.timeout)
		left := int64(math.Ceil(r)) - 1 // largest integer < r
		refresh = ts.Add(time.Duration(v.timeout-left) * time.Second)
	}
	return
}
