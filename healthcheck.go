package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheckTimeout bounds the whole /readyz request: a probe that hangs
// is a failed probe.
const healthcheckTimeout = 2 * time.Second

// runHealthcheck asks the running server's /readyz, on the configured
// listen address, and exits 0 when it answers 200 (ready), 1 otherwise.
// It prints one line either way. For a container HEALTHCHECK or an exec
// probe, where there is no curl (the image is distroless), and for a
// listener on a unix socket, which an httpGet probe cannot reach.
func runHealthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tktgate healthcheck", flag.ContinueOnError)
	cfgPath := fs.String("config", "config.toml", "configuration `file` (its listen address is asked)")
	usage := func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  tktgate healthcheck [-config FILE]\n\nAsks the running server's /readyz on the configured listen address;\nprints \"ready\" and exits 0, or \"not ready: why\" and exits 1.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	cfg, err := LoadConfig(*cfgPath)
	if err != nil {
		// A config error lists its problems one per line: the answer is one.
		fmt.Fprintf(stdout, "not ready: config: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	if err := healthcheck(cfg.Listen, healthcheckTimeout); err != nil {
		fmt.Fprintf(stdout, "not ready: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "ready")
	return 0
}

// healthcheck GETs /readyz on the server listening on listen (host:port
// or unix:/path) and returns nil when it answers 200.
func healthcheck(listen string, timeout time.Duration) error {
	network, addr := healthcheckAddr(listen)
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
			DisableKeepAlives: true,
			Proxy:             nil, // never through $HTTP_PROXY
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get("http://localhost/readyz")
	if err != nil {
		// *url.Error repeats the made-up URL; a dial error names the
		// address itself.
		if oe := (*net.OpError)(nil); errors.As(err, &oe) {
			return oe
		}
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return fmt.Errorf("GET /readyz on %s %s: %w", network, addr, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %s", resp.Status)
	}
	return nil
}

// healthcheckAddr is where to reach a server listening on listen: a
// wildcard host (0.0.0.0, [::], none) is asked on the loopback address of
// its family.
func healthcheckAddr(listen string) (network, addr string) {
	if path, ok := strings.CutPrefix(listen, "unix:"); ok {
		return "unix", path
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "tcp", listen // the dial says what is wrong with it
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "tcp", net.JoinHostPort(host, port)
}
