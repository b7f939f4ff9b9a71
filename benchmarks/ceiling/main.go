// Command ceiling is the throughput ceiling for tktgate: a bare fasthttp
// server, configured like tktgate's, that answers every request with a
// fixed 200 and fixed headers and checks nothing. tktgate can at best
// match it; the benchmark reports tktgate's rate as a fraction of this one.
//
// The harness passes the exact headers tktgate answered a valid ticket
// with (-header, repeatable, in order), so that both servers write the same
// bytes. Without -header it writes the three X-Remote-User headers of the
// benchmark ticket and Cache-Control: no-store; Content-Length: 0 is always
// written, as tktgate does.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

type header struct{ k, v []byte }

type headerFlags []header

func (h *headerFlags) String() string { return fmt.Sprint(len(*h), " headers") }

func (h *headerFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", s)
	}
	*h = append(*h, header{[]byte(strings.TrimSpace(k)), []byte(strings.TrimSpace(v))})
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9181", "`host:port` to listen on")
	var hdrs headerFlags
	flag.Var(&hdrs, "header", "response header `Name: value` (repeatable)")
	flag.Parse()
	if len(hdrs) == 0 {
		for _, s := range []string{"X-Remote-User: bench", "X-Remote-User-Tokens: admin,editor", "X-Remote-User-Data: Bench User", "Cache-Control: no-store"} {
			_ = hdrs.Set(s)
		}
	}
	handler := func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentLength(0)
		for _, h := range hdrs {
			ctx.Response.Header.SetCanonical(h.k, h.v)
		}
	}
	// The same settings as tktgate's server with its default [limits].
	srv := &fasthttp.Server{
		Handler:                      handler,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		NoDefaultDate:                true,
		ReadBufferSize:               32 << 10,
		ReadTimeout:                  5 * time.Second,
		WriteTimeout:                 5 * time.Second,
		IdleTimeout:                  60 * time.Second,
		Concurrency:                  10000,
		MaxRequestBodySize:           64 << 10,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		SecureErrorLogMessage:        true,
	}
	fmt.Fprintf(os.Stderr, "ceiling listening on %s\n", *listen)
	log.Fatal(srv.ListenAndServe(*listen))
}
