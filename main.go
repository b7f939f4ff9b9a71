// Command tktgate answers nginx auth_request subrequests by checking
// Apache mod_auth_tkt tickets, and mints tickets. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// goVersion is the Go release the binary was built with.
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
