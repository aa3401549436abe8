package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/tenderpay/tender/internal/errs"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it comes from the module's build info.
var version = ""

const usage = `Tender: payments for marketplaces on Stripe Connect.

Usage:
  tender serve              run the API, hosted pages and background jobs
  tender emulator           run the Stripe emulator alone (127.0.0.1:12111)
  tender migrate up|status  apply or list database migrations
  tender apikey create|list|revoke
                            manage the default platform's API keys
  tender stripe webhooks setup|roll|list
                            Tender's webhook endpoints at the platform's Stripe
  tender chaos              kill serve while it takes payments; check exactly-once
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
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, rest, getenv, stdout, stderr)
	case "emulator":
		err = runEmulator(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, rest, getenv, stdout, stderr)
	case "apikey":
		err = runAPIKey(ctx, rest, getenv, stdout, stderr)
	case "stripe":
		err = runStripe(ctx, rest, getenv, stdout, stderr)
	case "chaos":
		err = runChaos(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "tender", buildVersion())
	case "help", "-h", "--help":
		err = runHelp(rest, stdout)
	default:
		fmt.Fprint(stderr, usage)
		err = usagef("unknown command %q", cmd)
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return cliError(err)
}

// cliError is the command line's one mapping of Tender's error model (package
// errs): bad input is a usage error, in the service's words; other coded
// errors show their message. Anything else, internal errors included, is
// shown as it is: on the command line the reader is the operator, who needs
// the cause.
func cliError(err error) error {
	e, ok := err.(*errs.Error) // a wrapped one has context worth keeping
	switch {
	case !ok || e.Code == errs.Internal:
		return err
	case e.Code == errs.Invalid:
		return &usageError{msg: e.Message}
	default:
		return errors.New(e.Message)
	}
}

// commandUsage describes the commands that have their own help.
var commandUsage = map[string]string{
	"serve": `usage: tender serve [settings]

Runs the JSON API, hosted pages and background jobs until SIGINT or SIGTERM,
then drains requests and jobs. The database is migrated at start. On a new
database the default platform and its first API key are created, and the key
is printed once.`,
	"emulator": emulatorUsage + `

Runs Tender's Stripe emulator on its own, as a local Stripe in test mode for
stripe-go, Stripe.js pages or another Tender: stateful, Connect-aware, with
fault injection. It prints its URL and keys. On SIGINT or SIGTERM it drains
requests and writes its snapshot, if one is set.`,
	"migrate": migrateUsage + `

up applies every pending migration (serve does this too); status lists them.`,
	"apikey": apikeyUsage + `

Manages the default platform's API keys. create prints the secret on stdout,
once; list and revoke need the platform to exist (serve or create makes it).`,
	"stripe": stripeUsage + `

Manages Tender's two webhook endpoints at the default platform's Stripe
account: one for its own events, one for its connected accounts'. setup
makes them (or puts right what differs) at TENDER_PUBLIC_URL with exactly
the event types Tender handles and stores their signing secrets sealed;
roll makes new ones and keeps the old secrets verifying for --expires-in;
list shows them. With no Stripe key, serve sets up its in-process
emulator's endpoints itself.`,
	"chaos": chaosHelp,
}

// commandHelp is the help of one command: what it does and its settings.
func commandHelp(cmd string) string {
	return commandUsage[cmd] + "\n\nSettings (a flag wins over its environment variable):\n\n" + settingsHelp(settingsFor(cmd))
}

func runHelp(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if _, ok := commandUsage[args[0]]; ok {
		io.WriteString(stdout, commandHelp(args[0]))
		return nil
	}
	return usagef("no help for %q; commands: serve, emulator, migrate, apikey, stripe, chaos, version, help", args[0])
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
