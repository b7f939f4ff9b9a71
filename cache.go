package main

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// cacheHeaders says for how long nginx may reuse this answer
// (X-Accel-Expires, which nginx ranks above Cache-Control): a plain 200
// until the earliest of the configured cap, the ticket's refresh point and
// its expiry; nothing else at all. An answer must never be served from a
// cache after the moment tktgate itself would answer differently.
func (s *Server) cacheHeaders(ctx *fasthttp.RequestCtx, snap *snapshot, p *policy, st *state, r reason, now time.Time) {
	resp := &ctx.Response.Header
	n := int64(0)
	// Guests, refreshes and re-signs carry a Set-Cookie or a per-request
	// name; every 4xx names a URL in Location: none may be reused.
	if snap.cfg.Cache.MaxAge > 0 && r == reasonOK && ctx.Response.StatusCode() == fasthttp.StatusOK && !st.setCookie {
		refresh, expire := p.v.Deadlines(st.tk.Time)
		n = accelExpires(now, snap.cfg.Cache.MaxAge, refresh, expire)
	}
	if n == 0 {
		resp.SetCanonical(headerXAccelExpires, valueZero)
		// And no other cache either.
		resp.SetCanonical(headerCacheControl, valueNoStore)
		return
	}
	st.tmp = strconv.AppendInt(st.tmp[:0], n, 10)
	resp.SetCanonical(headerXAccelExpires, st.tmp)
}

// accelExpires is X-Accel-Expires for an approval given at now: max_age,
// but never so long that nginx could still serve it once refresh or
// expire (each zero when it does not apply) has come.
//
// nginx stores ngx_time() + N as the entry's last valid second and serves
// it while its clock, in whole seconds, has not passed that. Its clock is
// read when the answer arrives, which may already be the next second; so
// N stops one whole second before the deadline's, and the entry's last
// second is at the latest the one before the deadline, however the
// seconds fall (provided nginx reads the answer within a second of now).
func accelExpires(now time.Time, maxAge time.Duration, refresh, expire time.Time) int64 {
	// In nanoseconds since the epoch: time.Time's Add and Sub on a clock
	// reading with a monotonic part cost more than the rest.
	nowNs := now.UnixNano()
	d := int64(maxAge)
	for _, dl := range [2]time.Time{refresh, expire} {
		if !dl.IsZero() {
			d = min(d, dl.UnixNano()-nowNs-int64(time.Second))
		}
	}
	if d <= 0 {
		return 0
	}
	return d / int64(time.Second)
}
