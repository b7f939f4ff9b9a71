// Command tktgate answers nginx auth_request subrequests by checking
// Apache mod_auth_tkt tickets, and mints tickets. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime" // server.go has a type runtime
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tktgate/tktgate/verifier"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, so tests can drive the CLI.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "ticket" {
		return runTicket(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("tktgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration `file`")
	check := fs.Bool("check", false, "validate the configuration, print every problem, and exit 0 (valid) or 1")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  tktgate [-config FILE]          serve\n  tktgate -check [-config FILE]   validate the config\n  tktgate ticket [-config FILE] -uid U [-ip A] [-tokens a,b] [-data D] [-ts N] [-raw]\n  tktgate -version\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tktgate: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "tktgate %s (%s)\n", version, goVersion())
		return 0
	}
	cfg, err := LoadConfig(*cfgPath)
	if *check {
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok (%d policies besides the default)\n", *cfgPath, len(cfg.Policies))
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := serve(ctx, cfg, *cfgPath, log, level, hup, nil); err != nil {
		log.Error("exiting", "error", err.Error())
		return 1
	}
	return 0
}

// serve runs the server until ctx is done, reloading on hup. ready, if
// not nil, receives the bound addresses once listening (for tests).
func serve(ctx context.Context, cfg *Config, path string, log *slog.Logger, level *slog.LevelVar, hup <-chan os.Signal, ready chan<- []net.Addr) error {
	m := newMetrics()
	s := newServer(log, m)
	s.load(cfg)
	m.lastReloadOK.Store(time.Now().Unix())

	newHTTP := func(h fasthttp.RequestHandler) *fasthttp.Server {
		l := cfg.Limits
		return &fasthttp.Server{
			Handler:               h,
			NoDefaultServerHeader: true,
			NoDefaultContentType:  true,
			NoDefaultDate:         true,
			ReadBufferSize:        l.ReadBufferSize,
			ReadTimeout:           l.ReadTimeout,
			WriteTimeout:          l.WriteTimeout,
			IdleTimeout:           l.IdleTimeout,
			Concurrency:           l.MaxConns,
			// An auth subrequest has no body worth reading.
			MaxRequestBodySize:           64 << 10,
			DisablePreParseMultipartForm: true,
			CloseOnShutdown:              true,
			SecureErrorLogMessage:        true,
			Logger:                       fasthttpLogger{log},
			// The handler looks request headers up by their canonical
			// names (PeekCanonical): fasthttp must normalise what it stores.
			DisableHeaderNamesNormalizing: false,
		}
	}
	main := newHTTP(s.Handler)
	ln, err := listen(cfg.Listen, cfg.SocketMode)
	if err != nil {
		return err
	}
	// Shutdown closes the listeners; this is for the other ways out. A
	// unix socket's file goes with its listener.
	defer ln.Close()
	addrs := []net.Addr{ln.Addr()}
	var metricsSrv *fasthttp.Server
	var mln net.Listener
	if cfg.MetricsListen != "" {
		mln, err = listen(cfg.MetricsListen, cfg.SocketMode)
		if err != nil {
			return err
		}
		defer mln.Close()
		metricsSrv = newHTTP(s.ops)
		addrs = append(addrs, mln.Addr())
	}
	errc := make(chan error, 2)
	go func() { errc <- main.Serve(ln) }()
	if metricsSrv != nil {
		go func() { errc <- metricsSrv.Serve(mln) }()
	}
	names := make([]string, 0, len(cfg.Policies))
	for n := range cfg.Policies {
		names = append(names, n)
	}
	log.Info("tktgate listening", "listen", cfg.Listen, "metrics_listen", cfg.MetricsListen, "digest", cfg.Default.Options.Digest.String(),
		"policies", names, "version", version, "config", path)
	if ready != nil {
		ready <- addrs
	}

	for {
		select {
		case <-hup:
			newCfg, err := LoadConfig(path)
			if err != nil {
				m.reloadFails.Add(1)
				log.Error("config reload failed; keeping the running config", "config", path, "error", err.Error())
				continue
			}
			if newCfg.Listen != cfg.Listen || newCfg.MetricsListen != cfg.MetricsListen || newCfg.Limits != cfg.Limits {
				log.Warn("listen addresses and [limits] change only on restart; the rest of the new config is in use")
			}
			s.load(newCfg)
			level.Set(newCfg.LogLevel)
			m.reloads.Add(1)
			m.lastReloadOK.Store(time.Now().Unix())
			log.Info("config reloaded", "config", path, "digest", newCfg.Default.Options.Digest.String(), "policies", len(newCfg.Policies))
		case err := <-errc:
			return err
		case <-ctx.Done():
			log.Info("shutting down: draining in-flight requests", "timeout", cfg.Limits.ShutdownTimeout.String())
			s.ready.Store(false)
			sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout)
			defer cancel()
			err := main.ShutdownWithContext(sctx)
			if metricsSrv != nil {
				if e := metricsSrv.ShutdownWithContext(sctx); err == nil {
					err = e
				}
			}
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			if err != nil {
				log.Warn("shutdown timeout reached; remaining connections closed")
			}
			log.Info("stopped")
			return nil
		}
	}
}

// listen opens a TCP address or "unix:/path". A socket file left behind by
// a crashed process is removed, but only when nothing answers on it.
func listen(addr string, mode os.FileMode) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("listen %s: file exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another process is serving on this socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("listen %s: removing stale socket: %w", path, err)
		}
	}
	if goruntime.GOOS == "windows" {
		// No unix permissions to speak of: mode can only mark it read-only.
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if socketCreated != nil {
			socketCreated(path)
		}
		if err := os.Chmod(path, mode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("listen %s: chmod: %w", path, err)
		}
		return ln, nil
	}
	return listenUnix(path, mode)
}

// listenUnix creates a unix socket at path that has its mode from the
// moment it is there. Unix-socket peers are trusted proxies (their
// X-Real-IP is believed), so a socket that is bound and then chmodded
// would, in between, admit any local user the umask lets in (umask 0002:
// the group; umask 0: everyone).
//
// The socket is bound in a fresh private directory (0700) next to path,
// chmodded there, where only this user can reach it, and then hard-linked
// to path; the private name and directory are removed. link, like bind,
// fails if path exists: a socket another process has bound there since the
// check above is not replaced, as rename would replace it.
//
// Not the umask around bind (what systemd does): the umask is the
// process's, so a goroutine creating a file meanwhile would get the
// socket's umask too (a 0700 directory would come out 0600), and
// syscall.Umask does not exist on Windows, where tktgate builds too. The
// costs of the private directory: the socket's path in it is path's
// directory plus 13 bytes, which is longer than path only if path's name
// has fewer than 12 bytes, and matters only near the 104-108 byte limit of
// socket paths (the error says so); and a process killed in the middle
// leaves a .tkt* directory behind.
//
// The listener's Close removes the file at path if it is still this
// socket.
func listenUnix(path string, mode os.FileMode) (net.Listener, error) {
	// bind refused such paths; link does not, but clients could not
	// connect.
	limit := len(syscall.RawSockaddrUnix{}.Path) - 1 // and a NUL
	if goruntime.GOOS == "linux" {
		limit++ // Linux needs no NUL
	}
	if len(path) > limit {
		return nil, fmt.Errorf("listen %s: the path has %d bytes, more than a unix socket's %d", path, len(path), limit)
	}
	if n := len(filepath.Join(filepath.Dir(path), ".tkt123456", "s")); n > limit {
		return nil, fmt.Errorf("listen %s: the socket is made in a private directory first, and its path there would have %d bytes, more than a unix socket's %d: use a shorter directory", path, n, limit)
	}
	dir, err := privateDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("listen %s: private directory: %w", path, err)
	}
	defer os.RemoveAll(dir) // the private name only: the socket stays at path
	private := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", private)
	if err != nil {
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // its name is the private one; see unixListener
	fail := func(err error) (net.Listener, error) {
		ul.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(private, mode); err != nil {
		return fail(err)
	}
	if err := os.Link(private, path); err != nil {
		return fail(err)
	}
	if socketCreated != nil {
		socketCreated(path)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &unixListener{UnixListener: ul, path: path, fi: fi}, nil
}

// privateDir creates a new directory in parent that only this user can
// enter. Its name is short, ".tkt" and six hex digits, so that the socket
// path in it is no longer than parent + "/tktgate.sock" (os.MkdirTemp's
// names take up to 10 digits).
func privateDir(parent string) (string, error) {
	for range 1000 {
		dir := filepath.Join(parent, fmt.Sprintf(".tkt%06x", rand.Uint32()&0xffffff))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("no free name")
}

// unixListener removes its socket file on Close, unless another socket
// has taken the path since.
type unixListener struct {
	*net.UnixListener
	path string
	fi   os.FileInfo
	once sync.Once
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, e := os.Lstat(l.path); e == nil && os.SameFile(fi, l.fi) {
			os.Remove(l.path)
		}
	})
	return err
}

// socketCreated, if not nil, is called as soon as a unix socket file is at
// its path, before anything else is done (a test seam).
var socketCreated func(path string)

type fasthttpLogger struct{ log *slog.Logger }

// Printf logs fasthttp's own errors, which quote what the client sent
// (a bad header may be a whole ticket): quoted parts are redacted.
func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("fasthttp: " + redactQuoted(fmt.Sprintf(format, args...)))
}

// redactQuoted replaces every double-quoted part of s with "…".
func redactQuoted(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
		// Skip to the closing quote, minding Go's %q escapes.
		j := 0
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		b.WriteString("…")
		if j >= len(s) {
			b.WriteByte('"')
			return b.String()
		}
		b.WriteByte('"')
		s = s[j+1:]
	}
}

// runTicket mints a ticket like Apache::AuthTkt's ticket().
func runTicket(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tktgate ticket", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.toml", "configuration `file` (secret, digest_type, ignore_ip)")
	uid := fs.String("uid", "", "user id (required)")
	ipStr := fs.String("ip", "127.0.0.1", "client IPv4 `address` the ticket is bound to (ignored with ignore_ip)")
	tokens := fs.String("tokens", "", "comma-separated tokens")
	data := fs.String("data", "", "user data")
	ts := fs.Int64("ts", 0, "timestamp, unix `seconds` (default now)")
	raw := fs.Bool("raw", false, "print the raw ticket instead of base64")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *uid == "" {
		fmt.Fprintln(stderr, "tktgate ticket: -uid is required")
		return 2
	}
	cfg, err := LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ip, err := netip.ParseAddr(*ipStr)
	if err != nil {
		fmt.Fprintf(stderr, "tktgate ticket: -ip: %v\n", err)
		return 2
	}
	dialect := cfg.Default.Dialect
	if dialect == verifier.ModAuthTkt && !cfg.Default.Options.IgnoreIP && !ip.Unmap().Is4() {
		fmt.Fprintln(stderr, "tktgate ticket: -ip must be IPv4 (mod_auth_tkt binds tickets to IPv4 only) unless ignore_ip is on")
		return 2
	}
	// Apache::AuthTkt strips white space around the commas.
	tk := strings.Split(*tokens, ",")
	for i := range tk {
		tk[i] = strings.TrimSpace(tk[i])
	}
	tokStr := strings.Join(tk, ",")
	if dialect != verifier.ModAuthTkt && *raw {
		fmt.Fprintf(stderr, "tktgate ticket: -raw is for mod_auth_tkt tickets (the dialect is %s)\n", dialect)
		return 2
	}
	if err := verifier.CheckFields([]byte(*uid), []byte(tokStr), []byte(*data)); dialect == verifier.ModAuthTkt && err != nil {
		fmt.Fprintf(stderr, "tktgate ticket: %v\n", err)
		return 2
	}
	when := time.Now()
	if *ts != 0 {
		if *ts < 0 || *ts > 1<<32-1 {
			fmt.Fprintln(stderr, "tktgate ticket: -ts must be within 0..4294967295")
			return 2
		}
		when = time.Unix(*ts, 0)
	}
	var t []byte
	if dialect == verifier.ModAuthTkt {
		t = cfg.Default.Verifier.Verifier().Sign(nil, []byte(*uid), []byte(tokStr), []byte(*data), ip, when)
		if !*raw {
			t = verifier.AppendBase64(nil, t)
		}
	} else if t = cfg.Default.Verifier.Sign(nil, []byte(*uid), []byte(tokStr), []byte(*data), ip, when); len(t) == 0 {
		// The cookie value as the dialect's library writes it.
		fmt.Fprintf(stderr, "tktgate ticket: the %s dialect cannot carry these fields (or this -ip)\n", dialect)
		return 2
	}
	fmt.Fprintln(stdout, string(t))
	return 0
}
