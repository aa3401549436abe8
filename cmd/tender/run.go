package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it comes from the module's build info.
var version = ""

const usage = `Tender: payments for marketplaces on Stripe Connect.

Usage:
  tender serve              run the API, hosted pages and background jobs
  tender migrate up|status  apply or list database migrations
  tender apikey create|list|revoke
                            manage the default platform's API keys
  tender version            print the version
  tender help [command]     show help

Every setting is a flag or a TENDER_* environment variable (the flag wins).
Run 'tender help serve' for the list.
`

// usageError is a mistake in how tender was called: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run is tender's entry point: args exclude the program name, getenv reads
// the environment, output goes to stdout and diagnostics to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "apikey":
		return runAPIKey(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "tender", buildVersion())
		return nil
	case "help", "-h", "--help":
		return runHelp(rest, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return usagef("unknown command %q", cmd)
	}
}

func runHelp(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "serve", "migrate", "apikey":
		fmt.Fprintf(stdout, "Settings for 'tender %s':\n\n%s", args[0], settingsHelp(settingsFor(args[0])))
		return nil
	}
	return usagef("no help for %q", args[0])
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		v := info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return "devel"
}
