package apachetest

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Ticket is a ticket for Text, the reference signer of the differential
// tests: the formula of docs/auth_tkt.md written out with crypto/* and
// nothing of package verifier, so that the package is never checked
// against itself. It also makes tickets verifier.Sign refuses to (control
// bytes, '!' in a uid, odd timestamp spellings).
type Ticket struct {
	UID, Tokens, Data string
	TS                uint32
	IP                netip.Addr // the invalid zero Addr signs as 0.0.0.0
	Secret            string
	Bang2             bool   // write "uid!!data" even without tokens
	TSText            string // replaces the 8 hex digits of TS
}

// Text is the raw ticket, signed with digest "MD5", "SHA256" or "SHA512"
// (TKTAuthDigestType).
func (k Ticket) Text(digest string) string {
	sum := func(b []byte) string {
		switch digest {
		case "SHA256":
			s := sha256.Sum256(b)
			return hex.EncodeToString(s[:])
		case "SHA512":
			s := sha512.Sum512(b)
			return hex.EncodeToString(s[:])
		case "MD5":
			s := md5.Sum(b)
			return hex.EncodeToString(s[:])
		}
		panic("apachetest: unknown digest " + digest)
	}
	var ip4 [4]byte
	if k.IP.IsValid() {
		ip4 = k.IP.Unmap().As4()
	}
	m := append(ip4[:], byte(k.TS>>24), byte(k.TS>>16), byte(k.TS>>8), byte(k.TS))
	m = append(m, k.Secret...)
	m = append(m, k.UID...)
	m = append(m, 0)
	m = append(m, k.Tokens...)
	m = append(m, 0)
	m = append(m, k.Data...)
	ts := k.TSText
	if ts == "" {
		ts = fmt.Sprintf("%08x", k.TS)
	}
	s := sum([]byte(sum(m)+k.Secret)) + ts + k.UID + "!"
	if k.Tokens != "" || k.Bang2 {
		s += k.Tokens + "!"
	}
	return s + k.Data
}

// Seed is the seed of a test's random cases: the value of the environment
// variable env if set (to replay a failure), else the clock. It is logged
// with the way to replay it.
func Seed(t testing.TB, env string) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(env); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", env, s, err)
		}
		seed = n
	}
	t.Logf("seed %d (%s=%d replays the cases)", seed, env, seed)
	return seed
}

// Untrimmed returns uid and tokens with an 'x' put beside any space or
// tab at the start or end of the uid or of a comma-separated token.
// tktgate refuses such tickets on purpose, where mod_auth_tkt accepts
// them (a proxy would trim the header value: "admin " would reach the
// application as "admin"), so the differential tests keep them out of
// the comparison and test them on their own.
func Untrimmed(uid, tokens string) (string, string) {
	fix := func(s string) string {
		if s == "" {
			return s
		}
		if s[0] == ' ' || s[0] == '\t' {
			s = "x" + s
		}
		if c := s[len(s)-1]; c == ' ' || c == '\t' {
			s += "x"
		}
		return s
	}
	ts := strings.Split(tokens, ",")
	for i, t := range ts {
		ts[i] = fix(t)
	}
	return fix(uid), strings.Join(ts, ",")
}

// Secrets are the current and old secrets (TKTAuthSecret,
// TKTAuthSecretOld) the differential tests give Apache for a digest type:
// with spaces and punctuation, to see they reach the digest intact.
func Secrets(digest string) (secret, old string) {
	return "current secret #" + digest + " (tktgate)", "old secret, " + digest
}

// Signer is one Apache's mod_auth_tkt settings for signing Tickets.
type Signer struct {
	Digest      string // TKTAuthDigestType
	Secret, Old string // TKTAuthSecret, TKTAuthSecretOld
}

// Text is k.Text signed with s.Secret, or with s.Old when old is set;
// k.Secret, when set, overrides both.
func (s Signer) Text(k Ticket, old bool) string {
	if k.Secret == "" {
		k.Secret = s.Secret
		if old {
			k.Secret = s.Old
		}
	}
	return k.Text(s.Digest)
}
