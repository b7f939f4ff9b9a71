package verifier

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Digest selects the hash function of the ticket digest, as
// TKTAuthDigestType does. The zero value is MD5, mod_auth_tkt's default.
type Digest uint8

// The digest types mod_auth_tkt 2.x supports.
const (
	MD5 Digest = iota
	SHA256
	SHA512
)

var digestNames = [...]string{MD5: "MD5", SHA256: "SHA256", SHA512: "SHA512"}

// String returns the name mod_auth_tkt uses for d: MD5, SHA256 or SHA512.
func (d Digest) String() string {
	if int(d) < len(digestNames) {
		return digestNames[d]
	}
	return fmt.Sprintf("Digest(%d)", uint8(d))
}

// ParseDigest returns the Digest named s (MD5, SHA256 or SHA512, in any case).
func ParseDigest(s string) (Digest, error) {
	if i := slices.Index(digestNames[:], strings.ToUpper(s)); i >= 0 {
		return Digest(i), nil
	}
	return 0, fmt.Errorf("unknown digest type %q (want MD5, SHA256 or SHA512)", s)
}

// HexLen is the length of the hex digest at the start of a ticket:
// 32, 64 or 128.
func (d Digest) HexLen() int { return 2 * d.size() }

func (d Digest) size() int {
	switch d {
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return md5.Size
}

func (d Digest) valid() bool { return d <= SHA512 }

// hexSum hashes msg and appends the lowercase hex of the digest to dst.
// The Sum functions return arrays, so nothing escapes to the heap.
func (d Digest) hexSum(dst, msg []byte) []byte {
	switch d {
	case SHA256:
		s := sha256.Sum256(msg)
		return appendHex(dst, s[:])
	case SHA512:
		s := sha512.Sum512(msg)
		return appendHex(dst, s[:])
	}
	s := md5.Sum(msg)
	return appendHex(dst, s[:])
}

const hexDigits = "0123456789abcdef"

// hexPair holds the two lowercase hex digits of every byte value, the
// high digit in the low byte (little-endian order, as they are stored).
var hexPair = func() (t [256]uint16) {
	for i := range t {
		t[i] = uint16(hexDigits[i>>4]) | uint16(hexDigits[i&15])<<8
	}
	return
}()

// putHex writes the lowercase hex of src to dst[:2*len(src)]: one table
// look-up and one two-byte store per byte, the fewest instructions of the
// ways tried (nibble tables, eight-at-a-time arithmetic, stepping slices).
func putHex(dst, src []byte) {
	dst = dst[:2*len(src)]
	for i, b := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], hexPair[b])
	}
}

func appendHex(dst, src []byte) []byte {
	// Grow once and store in place: this runs three times per ticket.
	n := len(dst)
	dst = slices.Grow(dst, 2*len(src))[:n+2*len(src)]
	putHex(dst[n:], src)
	return dst
}

// rounds is the digest check after the round-one message m is built:
// hex(H(m)) ‖ secret is hashed again and its hex compared with want in
// constant time. The round-two message goes in *scratch (grown once, not
// zeroed each time as a stack array would be).
func (d Digest) rounds(m, secret, want []byte, scratch *[]byte) bool {
	n := 2 * d.size()
	r := slices.Grow((*scratch)[:0], n+len(secret))[:n+len(secret)]
	*scratch = r
	switch d {
	case SHA256:
		s := sha256.Sum256(m)
		putHex(r, s[:])
	case SHA512:
		s := sha512.Sum512(m)
		putHex(r, s[:])
	default:
		s := md5.Sum(m)
		putHex(r, s[:])
	}
	copy(r[n:], secret)
	return d.equalHex(r, want)
}

// equalHex compares, in constant time, the lowercase hex of the digest of
// msg with want, without writing the hex out.
func (d Digest) equalHex(msg, want []byte) bool {
	switch d {
	case SHA256:
		s := sha256.Sum256(msg)
		return equalHexSum(s[:], want)
	case SHA512:
		s := sha512.Sum512(msg)
		return equalHexSum(s[:], want)
	}
	s := md5.Sum(msg)
	return equalHexSum(s[:], want)
}

// equalHexSum reports whether want is the lowercase hex of sum. It ORs
// the differences of every pair of digits together and only then looks,
// so its time does not depend on where (or whether) they differ.
func equalHexSum(sum, want []byte) bool {
	if len(want) != 2*len(sum) {
		return false
	}
	var diff uint16
	for i, b := range sum {
		diff |= hexPair[b] ^ binary.LittleEndian.Uint16(want[2*i:])
	}
	return diff == 0
}
