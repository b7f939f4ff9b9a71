// Command nethttp is tktgate's ticket check as a user would write it by
// hand on net/http: the same verifier package, the same cookie lookup and
// the same answer headers, served by the standard library instead of
// fasthttp. The benchmark compares tktgate with it to show what fasthttp
// (and tktgate's zero-allocation handler) buys.
//
// It covers the valid-ticket path the benchmark drives and answers every
// failure with a bare 401 or 403; it has none of tktgate's redirects,
// policies, guest login, URL tickets, metrics or reloads.
//
//	nethttp -listen 127.0.0.1:9182 -secret S [-digest MD5] [-header 'X-Accel-Expires: 0']
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tktgate/tktgate/verifier"
)

type headerFlags [][2]string

func (h *headerFlags) String() string { return fmt.Sprint(len(*h), " headers") }

func (h *headerFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", s)
	}
	*h = append(*h, [2]string{http.CanonicalHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v)})
	return nil
}

var (
	cookieName = []byte("auth_tkt")
	tickets    = sync.Pool{New: func() any { return new(verifier.Ticket) }}
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9182", "`host:port` to listen on")
	secret := flag.String("secret", "", "TKTAuthSecret (required)")
	digest := flag.String("digest", "MD5", "MD5 | SHA256 | SHA512")
	timeout := flag.Duration("timeout", 2*time.Hour, "TKTAuthTimeout")
	refresh := flag.Float64("refresh", 0.5, "TKTAuthTimeoutRefresh")
	var extra headerFlags
	flag.Var(&extra, "header", "extra static response header `Name: value` on 200 answers (repeatable)")
	flag.Parse()
	d, err := verifier.ParseDigest(*digest)
	if err != nil {
		log.Fatal(err)
	}
	v, err := verifier.New(verifier.Options{Secret: []byte(*secret), Digest: d, Timeout: *timeout, Refresh: *refresh})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Length", "0")
		h.Set("Cache-Control", "no-store")
		// Several Cookie headers are joined as httpd joins them.
		cookies := []byte(strings.Join(r.Header.Values("Cookie"), ", "))
		t := tickets.Get().(*verifier.Ticket)
		defer tickets.Put(t)
		now := time.Now()
		ip := clientIP(r)
		err := verifier.ErrNoTicket
		if c := v.CookieTicket(cookies, cookieName); c != nil {
			err = v.Verify(t, c, ip, now)
		}
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// The default policy: no token required, as tktgate's /auth.
		if !verifier.HasToken(t.Tokens, nil) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		h.Set("X-Remote-User", string(t.UID))
		h.Set("X-Remote-User-Tokens", string(t.Tokens))
		h.Set("X-Remote-User-Data", string(t.Data))
		if t.NeedsRefresh {
			if nt := v.AppendRefresh(nil, t, ip, now); len(nt) > 0 {
				h.Set("Set-Cookie", "auth_tkt="+string(verifier.AppendBase64(nil, nt))+"; path=/")
			}
		}
		for _, kv := range extra {
			h.Set(kv[0], kv[1])
		}
		w.WriteHeader(http.StatusOK)
	})
	// The same limits as tktgate's defaults.
	srv := &http.Server{
		Addr:           *listen,
		Handler:        mux,
		ReadTimeout:    5 * time.Second,
		WriteTimeout:   5 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 32 << 10,
	}
	fmt.Fprintf(os.Stderr, "nethttp listening on %s\n", *listen)
	log.Fatal(srv.ListenAndServe())
}

// clientIP believes X-Real-IP from a loopback peer (nginx on the same
// host), as tktgate's default trusted_proxies do.
func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	peer := ap.Addr().Unmap()
	if peer.IsLoopback() {
		if x := r.Header.Get("X-Real-Ip"); x != "" {
			if ip, err := netip.ParseAddr(strings.TrimSpace(x)); err == nil {
				return ip.Unmap()
			}
		}
	}
	return peer
}
