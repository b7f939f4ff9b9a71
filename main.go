// Command tktgate answers nginx auth_request subrequests by checking
// Apache mod_auth_tkt tickets, and mints tickets. See README.md.
package main

import (
	"context"
	"errors"
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

// usageText is the command list, as in README.md's "Command line".
const usageText = `Usage:
  tktgate [-config FILE]                serve (default config: ./config.toml)
  tktgate -check [-config FILE]         validate the config, print every problem, exit 0/1
  tktgate ticket [-config FILE] [-policy NAME] -uid U [-ip A] [-tokens a,b] [-data D] [-ts N] [-raw]
                                        mint a ticket with the configured secret and digest
                                        ([ticket]'s, or policy NAME's)
  tktgate healthcheck [-config FILE]    ask the running server's /readyz, exit 0 (ready) or 1
  tktgate explain [-config FILE] [-policy NAME] [-ip ADDR] [-at TIME] [-json] VALUE|-
                                        what the server would answer for this cookie
                                        value, and why; exit 0 accepted, 1 refused, 2 error
  tktgate revoke [-config FILE] (-uid U | -all) [-before TIME]
  tktgate revoke [-config FILE] [-policy P] -ticket VALUE
  tktgate revoke [-config FILE] -list | -remove (-uid U | -all | -ticket VALUE | -id ID)
                                        refuse tickets still valid: see tktgate revoke -h
  tktgate -version
  tktgate help                          this text (also -h, -help, --help)
`

// run is main without the exit, so tests can drive the CLI.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "ticket":
			return runTicket(args[1:], stdout, stderr)
		case "healthcheck":
			return runHealthcheck(args[1:], stdout, stderr)
		case "explain":
			return runExplain(args[1:], os.Stdin, stdout, stderr)
		case "revoke":
			return runRevoke(args[1:], stdout, stderr)
		case "help":
			args = []string{"-help"}
		}
	}
	fs := flag.NewFlagSet("tktgate", flag.ContinueOnError)
	cfgPath := fs.String("config", "config.toml", "configuration `file`")
	check := fs.Bool("check", false, "validate the configuration, print every problem, and exit 0 (valid) or 1")
	showVersion := fs.Bool("version", false, "print the version and exit")
	usage := func() {
		fmt.Fprint(fs.Output(), usageText+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, usage, stdout, stderr); !ok {
		return code
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
		// Serving logs JSON from its first line: so does a config that
		// stops it. A config error names keys and lines, never values.
		// This one line, the process's last, has no time: whatever runs
		// the process stamps its output, and the value-free tests
		// (configerr_test.go) read every byte of it for pieces of
		// secrets, digits included.
		noTime := func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
		startLog := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{ReplaceAttr: noTime}))
		startLog.Error("cannot serve: the config does not load", "config", *cfgPath, "error", err.Error())
		return 1
	}
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	log := newLogger(stderr, &slog.HandlerOptions{Level: level})
	if err := applyScheduling(cfg.CPUScheduling); err != nil {
		// A speed-up, not a safeguard: serve under the policy tktgate
		// was started with rather than not at all (a sandbox such as
		// gVisor refuses SCHED_BATCH, SCHED_IDLE cannot be left without
		// privilege, other systems have no such call).
		log.Warn("cpu_scheduling not applied; serving under the policy tktgate was started with", "error", err.Error())
	}
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

// parseFlags parses args into fs. -h, -help and --help print usage on
// stdout and stop with 0; any other flag error prints it and usage on
// stderr and stops with 2. ok is true when the command goes on.
func parseFlags(fs *flag.FlagSet, args []string, usage func(), stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, where it belongs
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		usage()
		return 0, false
	default:
		usage()
		return 2, false
	}
}

// parseFlagsOnly is parseFlags for a command that takes flags and no
// arguments: an argument is a usage error, named with the command.
func parseFlagsOnly(fs *flag.FlagSet, args []string, usage func(), stdout, stderr io.Writer) (code int, ok bool) {
	if code, ok := parseFlags(fs, args, usage, stdout, stderr); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		usage()
		return 2, false
	}
	return 0, true
}
