// Package apachetest runs a real Apache httpd with mod_auth_tkt for tests,
// so that tktgate can be compared with the reference implementation rather
// than with our reading of it.
//
// Each [Start] launches a private /usr/sbin/apache2 (not the system
// service): its own ServerRoot in a temporary directory, one free port on
// 127.0.0.1, the event MPM in the foreground, and only the modules it needs
// (mod_auth_tkt, mod_remoteip, mod_lua and the authn/authz core). It stops
// when the test ends. Starting takes well under a second.
//
// How a test talks to it:
//
//   - The client IP that mod_auth_tkt binds tickets to is set per request
//     with an X-Real-IP header: mod_remoteip trusts it from 127.0.0.0/8 and
//     rewrites r->useragent_ip, which is the address mod_auth_tkt 2.3.99
//     hashes. Without the header the client is 127.0.0.1.
//   - Every request that gets through authentication is answered by a small
//     Lua handler that writes r->user and the REMOTE_USER_TOKENS and
//     REMOTE_USER_DATA variables hex-encoded, so any byte survives the trip
//     (a response header would not carry CR, LF or NUL, and mod_headers
//     cannot see r->user).
//   - Requests are written by hand over keep-alive connections, so that a
//     test can send header bytes net/http would refuse (non-ASCII, control
//     bytes other than CR, LF and NUL), and so that hundreds of requests take
//     a fraction of a second.
//
// Name-based virtual hosts ([Config.VirtualHosts]) may have their own
// mod_auth_tkt secrets; [Server.GetHost] picks one by its name.
//
// It is not a general Apache fixture: no TLS, no request bodies. When apache2 or one of the modules is missing, Start skips
// the test (or fails it under TKTGATE_REQUIRE_E2E=1, see package e2e).
package apachetest
