// Package rawhttp is the one raw HTTP/1.1 client of tktgate's tests: it
// writes requests exactly as given (so that a test controls every header
// byte: repeated Cookie headers, control bytes, odd methods) and reads
// answers byte for byte, which net/http cannot do: it merges, trims and
// canonicalises header values and hides the head as received.
//
// What it can do is what the tests need and no more: build a request
// ([Request]), write raw bytes on a connection ([Conn]), read one answer
// ([Read]: the status, every head line as received, the header fields in
// order with raw values, and the body by Content-Length, none for HEAD,
// 1xx, 204 and 304; a 100 Continue is skipped; the gate and the Apache of
// internal/apachetest send no chunked answers), keep a connection alive
// across requests, and tell the server ending the connection from other
// errors ([Closed], [Response.Close]).
//
// It is imported only by tests.
package rawhttp
