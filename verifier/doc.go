// Package verifier validates and mints Apache mod_auth_tkt tickets
// ("auth_tkt" cookies) byte for byte as mod_auth_tkt 2.x does.
//
// It is the core of tktgate but has no HTTP, configuration files or logging,
// so it can be imported on its own: by a login service that mints tickets,
// by tests, or by another gateway.
//
// A [Verifier] is built once from [Options] and is safe for concurrent use.
// A [Ticket] is a reusable result: its byte-slice fields point into the
// Ticket's own scratch memory, so that Verify allocates nothing once the
// scratch has grown to fit. Keep one Ticket per goroutine (or pool them).
//
// Compatibility: a ticket is accepted exactly when mod_auth_tkt would accept
// it (a differential test against the real module proves it), with four
// deliberate differences, all refusals:
//
//   - A ticket whose decoded text contains a control byte (below 0x20, or
//     0x7f) is rejected as malformed. mod_auth_tkt would export such bytes
//     in REMOTE_USER; tktgate puts these values into HTTP headers, where a
//     CR, LF or NUL would split or truncate the answer.
//   - A ticket dated more than Options.MaxFuture ahead of now is rejected
//     ([ErrFuture]). mod_auth_tkt has no such bound, so a ticket stamped in
//     the far future never expires there.
//   - A ticket whose timestamp field holds no hex digit at all is malformed.
//     mod_auth_tkt's sscanf fails there and it goes on with an
//     uninitialised timestamp, accepting such a ticket at random.
//   - A ticket whose uid, or one of whose tokens, begins or ends with a
//     space or a tab is malformed, in every dialect (for Pyramid, the uid
//     once decoded by its userid_type). Every HTTP parser, nginx's
//     included, trims those from a header value: "admin " would reach the
//     application as "admin", and "   " as no user at all. An empty uid
//     stays valid, as in mod_auth_tkt. Sign refuses to mint such tickets.
package verifier
