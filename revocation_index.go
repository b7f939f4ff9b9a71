package main

// Finding a ticket's entries fast: the user index and the hashes.

import (
	"math/bits"
	"math/rand/v2"
)

// ticketID names one ticket in the revocation file: a 64-bit hash of its
// signature (the digest it carries, see verifier's Signature). The
// signature covers everything in the ticket under the secret, so the ID
// tells tickets apart (two share one by chance with odds of 2^-64), yet
// the file does not hold the cookie: rebuilding it needs the whole
// signature, of which the ID keeps at most 64 bits (of 128 to 512), and
// the rest can only be guessed against tktgate itself. It is not a
// cryptographic hash, and needs not be: nobody can choose a signature
// without the secret. It is cheap: four rounds for an MD5 signature.
//
// It is part of the file format: changing it orphans every ticket entry.
func ticketID(sig []byte) uint64 {
	h := hashP3 + uint64(len(sig))
	for ; len(sig) >= 8; sig = sig[8:] {
		h = bits.RotateLeft64(h^le64(sig)*hashP2, 31) * hashP1
	}
	for _, c := range sig {
		h = bits.RotateLeft64(h^uint64(c)*hashP1, 11) * hashP2
	}
	h ^= h >> 33
	h *= hashP2
	h ^= h >> 29
	h *= hashP3
	return h ^ h>>32
}

// xxHash64's primes.
const (
	hashP1 = 0x9e3779b185ebca87
	hashP2 = 0xc2b2ae3d27d4eb4f
	hashP3 = 0x165667b19e3779f9
)

// uidHash hashes a user name from seed, for uidIndex: ticketID's rounds,
// but the last one to seven bytes in one round, as user names are short.
func uidHash(seed uint64, b []byte) uint64 {
	h := seed + uint64(len(b))*hashP1
	for ; len(b) >= 8; b = b[8:] {
		h = bits.RotateLeft64(h^le64(b)*hashP2, 31) * hashP1
	}
	if n := len(b); n >= 4 {
		h = bits.RotateLeft64(h^(le32(b)|le32(b[n-4:])<<32)*hashP2, 31) * hashP1
	} else if n > 0 {
		h = bits.RotateLeft64(h^(uint64(b[0])<<16|uint64(b[n>>1])<<8|uint64(b[n-1]))*hashP2, 31) * hashP1
	}
	h ^= h >> 29
	h *= hashP3
	return h ^ h>>32
}

// le32 is the first four bytes of b, little-endian, widened.
func le32(b []byte) uint64 {
	_ = b[3]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
}

// le64 is binary.LittleEndian.Uint64 (the package main tests have a
// func binary), which the compiler turns into one load.
func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// uidIndex finds a user in byUser by uid: open addressing over a power
// of two of slots, at most half of them used, probed in turn. It stands
// in for a map[string]int32 on the hot path, where the map's look-up
// costs about 150 instructions with the string hash, more than the whole
// rest of the check; this one, 60. The seed is random, so that nobody
// can choose user names that pile up in one run of slots.
type uidIndex struct {
	slots []uidSlot
	seed  uint64
}

// uidSlot is one slot: the high half of the user's hash, and 1 + the
// user's index in byUser (0: empty).
type uidSlot struct {
	tag uint32
	idx int32
}

// newUIDIndex indexes users.
func newUIDIndex(users []revUser) uidIndex {
	n := 8
	for n < 2*len(users) {
		n *= 2
	}
	x := uidIndex{slots: make([]uidSlot, n), seed: rand.Uint64()}
	mask := uint64(n - 1)
	for i := range users {
		h := uidHash(x.seed, []byte(users[i].uid))
		j := h & mask
		for x.slots[j].idx != 0 {
			j = (j + 1) & mask
		}
		x.slots[j] = uidSlot{uint32(h >> 32), int32(i) + 1}
	}
	return x
}

// find returns uid's entry in users, or nil.
func (x *uidIndex) find(users []revUser, uid []byte) *revUser {
	if len(users) == 0 {
		return nil
	}
	h := uidHash(x.seed, uid)
	mask := uint64(len(x.slots) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		s := x.slots[j]
		if s.idx == 0 {
			return nil
		}
		if s.tag == uint32(h>>32) {
			if u := &users[s.idx-1]; u.uid == string(uid) {
				return u
			}
		}
	}
}
