//go:build !race

package main

import (
	"context"
	"testing"
	"time"
)

// The auth hot path (find the cookie, verify, write the headers, count)
// must not allocate once warm: it runs on every request of every site
// behind the gate.
func TestHandlerAllocs(t *testing.T) {
	for _, c := range []struct{ name, extra string }{
		{"ok", ""},
		{"second cookie header", "Cookie: more=1\r\n"},
		{"trusted X-Real-IP", ""},
	} {
		_, ctx, run := handlerFixture(t, baseConfig, c.extra)
		run()
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("%s: status %d", c.name, ctx.Response.StatusCode())
		}
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("%s: the handler allocates %v times per request", c.name, n)
		}
	}
	// A site's policy, with a secret and digest of its own, costs the
	// same: its verifier was built at load.
	site := baseConfig + "[policy.site]\nsecret = \"site secret\"\ndigest_type = \"SHA256\"\n"
	_, ctx, run := policyFixture(t, site, "site", "")
	run()
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.Peek("X-Remote-User")) != "alice" {
		t.Fatalf("site policy: status %d", ctx.Response.StatusCode())
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("site policy: the handler allocates %v times per request", n)
	}
	// With a revocation list of 100,000 entries, alice's among them: her
	// fresh ticket is looked up by uid and by signature, and let through.
	_, ctx, run = handlerFixture(t, baseConfig+revocationFile(t, 100000, true), "")
	run()
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("with a revocation list: status %d", ctx.Response.StatusCode())
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("with a revocation list: the handler allocates %v times per request", n)
	}
	// The same list with Redis' entries joined to it (the union a
	// [revocation] redis source installs): alice let through, then
	// refused by a uid entry from Redis, without allocating either way.
	srv, ctx, run := handlerFixture(t, baseConfig+revocationFile(t, 100000, true)+"redis = \"redis://127.0.0.1:1/0\"\n", "")
	src := *srv.snap.Load().cfg.Redis
	now := time.Now().Unix()
	srv.setRedisRevocations(context.Background(), src, []revEntry{{kind: revUID, uid: "bob", at: now + 1, made: now}})
	run()
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("with file and Redis entries: status %d", ctx.Response.StatusCode())
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("with file and Redis entries: the handler allocates %v times per request", n)
	}
	srv.setRedisRevocations(context.Background(), src, []revEntry{{kind: revUID, uid: "alice", at: now + 1, made: now}})
	run()
	if ctx.Response.StatusCode() != 401 {
		t.Fatalf("alice revoked in Redis: status %d", ctx.Response.StatusCode())
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("alice revoked in Redis: the handler allocates %v times per request", n)
	}
	// Denials too: a flood of bad cookies must not create garbage.
	_, ctx, run = handlerFixture(t, baseConfig, "")
	ctx.Request.Header.Set("X-Real-IP", "10.9.9.9")
	run()
	if ctx.Response.StatusCode() != 401 || len(ctx.Response.Header.Peek("Location")) == 0 {
		t.Fatalf("wrong IP: status %d, Location %q", ctx.Response.StatusCode(), ctx.Response.Header.Peek("Location"))
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("401 with Location: the handler allocates %v times per request", n)
	}
}

// With log_requests = "all" every answer writes an audit line, still
// without allocating: the line is built in the pooled state and copied
// into the shared buffer.
func TestHandlerAllocsAudit(t *testing.T) {
	s, ctx, run := handlerFixture(t, "log_requests = \"all\"\n"+baseConfig,
		"X-Request-ID: 0f3c9a1e2b4d5f60718293a4b5c6d7e8\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n")
	run()
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d", ctx.Response.StatusCode())
	}
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Errorf("the handler allocates %v times per audited request", n)
	}
	ctx.Request.Header.Set("X-Real-IP", "10.9.9.9")
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Errorf("the handler allocates %v times per audited denial", n)
	}
	s.audit.mu.Lock()
	defer s.audit.mu.Unlock()
	if cap(s.audit.buf) != auditBufCap {
		t.Errorf("the audit buffer grew to %d bytes", cap(s.audit.buf))
	}
}
