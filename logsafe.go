package main

import (
	"fmt"
)

// policyForLog shows an unknown policy name: the name comes from the
// request path, where a client may have put anything, a ticket included,
// so only a short prefix of a plausible name is shown.
func policyForLog(name []byte) string {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Sprintf("(not a policy name, %d bytes)", len(name))
		}
	}
	if len(name) > 24 {
		return fmt.Sprintf("%s… (%d bytes)", name[:24], len(name))
	}
	return string(name)
}

// sanitize makes request-derived bytes safe to log: bounded, and with
// control bytes replaced.
func sanitize(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}

// uidForLog shows the uid of a decision only when the ticket's digest
// checked out (or it is the guest's). A refused ticket's uid is whatever
// the client wrote, and where the policy expects a shorter digest than the
// ticket's (another site's SHA256 ticket at an MD5 policy) it begins with
// the rest of that digest.
func uidForLog(r reason, uid []byte) string {
	switch r {
	case reasonNoTicket, reasonMalformed, reasonBadDigest, reasonIPMismatch, reasonUnspecifiedIP:
		return ""
	}
	return sanitize(uid)
}
