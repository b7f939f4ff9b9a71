package main

import (
	"bytes"
	"net"
	"net/netip"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// clientIP returns the address the ticket must be bound to: the
// configured header's when the TCP peer is a trusted proxy (or a unix
// socket), else the peer's own.
func clientIP(ctx *fasthttp.RequestCtx, snap *snapshot) netip.Addr {
	var peer netip.Addr
	trusted := false
	switch a := ctx.RemoteAddr().(type) {
	case *net.TCPAddr:
		peer = a.AddrPort().Addr().Unmap()
		trusted = isTrusted(snap, peer)
	case *net.UnixAddr:
		trusted = true
	}
	if !trusted || snap.header == "" {
		return peer
	}
	if !snap.xff {
		// X-Real-IP is one address, which the proxy sets (nginx's
		// proxy_set_header replaces the client's): its first line. Every
		// line would cost a PeekAll, 3% of an answer.
		v := ctx.Request.Header.PeekCanonical(snap.headerKey)
		if len(v) == 0 {
			return peer
		}
		ip, _ := parseAddr(bytes.TrimSpace(v))
		return ip
	}
	// Every line: PeekAll in fasthttp reuses one buffer, so this must be
	// done with before the Cookie lines are read.
	lines := ctx.Request.Header.PeekAll(snap.header)
	// X-Forwarded-For: several lines are one list, in order (RFC 9110,
	// 5.3). The rightmost hop that is not one of our proxies is the first
	// one nobody we trust could have forged; when all are ours, the
	// leftmost.
	hop0 := peer
	for l := len(lines) - 1; l >= 0; l-- {
		v := lines[l]
		for len(v) > 0 {
			hop := v
			if i := bytes.LastIndexByte(v, ','); i >= 0 {
				hop, v = v[i+1:], v[:i]
			} else {
				v = nil
			}
			ip, ok := parseAddr(bytes.TrimSpace(hop))
			if !ok {
				return netip.Addr{} // garbage in the chain: bind to nothing
			}
			if !isTrusted(snap, ip) {
				return ip
			}
			hop0 = ip
		}
	}
	return hop0
}

// isTrusted says whether ip is in client_ip.trusted.
func isTrusted(snap *snapshot, ip netip.Addr) bool {
	for _, p := range snap.cfg.ClientIP.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseAddr parses an IP address without copying b. Zones are refused:
// netip would keep the zone string, which here points into a recycled
// request buffer.
func parseAddr(b []byte) (netip.Addr, bool) {
	if ip, ok := parseIPv4(b); ok {
		return ip, true
	}
	if len(b) == 0 || bytes.IndexByte(b, '%') >= 0 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// parseIPv4 parses the dotted quad nginx's $remote_addr gives, as
// netip.ParseAddr would (four fields of 0-255, no leading zeros), in one
// pass; ok is false for anything else, which the caller hands to netip.
func parseIPv4(b []byte) (ip netip.Addr, ok bool) {
	var q [4]byte
	f, v, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || f == 4 {
				return netip.Addr{}, false
			}
			q[f] = byte(v)
			f, v, digits = f+1, 0, 0
			continue
		}
		c := b[i] - '0'
		if c > 9 || digits > 0 && v == 0 {
			return netip.Addr{}, false // not a digit, or a leading zero
		}
		if v = v*10 + int(c); v > 255 {
			return netip.Addr{}, false
		}
		digits++
	}
	if f != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(q), true
}
