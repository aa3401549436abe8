package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
)

const apikeyUsage = `usage:
  tender apikey [settings] create [--mode test|live] [--name NAME]
  tender apikey [settings] list
  tender apikey [settings] revoke KEY_ID`

func runAPIKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig("apikey", args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("%s", apikeyUsage)
	}
	// Every argument is checked before the database is touched.
	var mode platform.Mode
	var name string
	switch rest[0] {
	case "create":
		fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		modeFlag := fs.String("mode", "test", "test or live")
		fs.StringVar(&name, "name", "", "a name to recognise the key by")
		if err := fs.Parse(rest[1:]); err != nil {
			return usagef("%v\n%s", err, apikeyUsage)
		}
		if fs.NArg() > 0 {
			return usagef("apikey create takes no arguments, got %q\n%s", fs.Args(), apikeyUsage)
		}
		if mode, err = platform.ParseMode(*modeFlag); err != nil {
			return usagef("invalid --mode=%q: want test or live", *modeFlag)
		}
	case "list":
		if len(rest) != 1 {
			return usagef("apikey list takes no arguments\n%s", apikeyUsage)
		}
	case "revoke":
		if len(rest) != 2 {
			return usagef("apikey revoke takes one KEY_ID (see tender apikey list)\n%s", apikeyUsage)
		}
	default:
		return usagef("unknown apikey command %q\n%s", rest[0], apikeyUsage)
	}

	db, err := store.Open(ctx, cfg.str(setDB), store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := app.Migrate(ctx, db); err != nil {
		return err
	}
	platforms := platform.NewService(db, nil)

	if rest[0] == "create" {
		return createKey(ctx, platforms, cfg.str(setPlatform), mode, name, stdout, stderr)
	}
	// list and revoke never create the platform: that would also create a
	// first key whose secret no one is ever shown.
	plat, err := platforms.Default(ctx)
	if errs.Is(err, errs.NotFound) {
		return fmt.Errorf("no platform in %s yet: 'tender serve' or 'tender apikey create' makes it", db.Location)
	}
	if err != nil {
		return err
	}
	if rest[0] == "list" {
		return listKeys(ctx, platforms, plat.ID, stdout)
	}
	k, err := platforms.RevokeKey(ctx, plat.ID, rest[1])
	if errs.Is(err, errs.NotFound) {
		return fmt.Errorf("no API key %q on platform %s ('tender apikey list' shows them)", rest[1], plat.ID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %s (%s)\n", k.ID, k.Hint)
	return nil
}

// createKey prints a new key's secret on stdout, alone, so scripts can
// capture it; the explanation goes to stderr.
func createKey(ctx context.Context, platforms *platform.Service, platformName string, mode platform.Mode, name string, stdout, stderr io.Writer) error {
	plat, first, firstSecret, err := platforms.EnsureDefault(ctx, platformName)
	if err != nil {
		return err
	}
	key, secret := first, firstSecret
	// On a new database EnsureDefault has just made a first test key. It is
	// the answer if it is what was asked for; otherwise it is revoked, as no
	// one will ever see its secret.
	if first == nil || first.Mode != mode || name != "" {
		if key, secret, err = platforms.CreateKey(ctx, plat.ID, mode, name); err != nil {
			return err
		}
		if first != nil {
			if _, err := platforms.RevokeKey(ctx, plat.ID, first.ID); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "%s\n", secret)
	fmt.Fprintf(stderr, "Created %s (%s mode) for platform %s. The secret above is shown once; only its SHA-256 hash is stored.\n", key.ID, key.Mode, plat.ID)
	return nil
}

func listKeys(ctx context.Context, platforms *platform.Service, platformID string, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMODE\tHINT\tNAME\tCREATED\tLAST USED\tREVOKED")
	page := store.Page{Limit: 100}
	for {
		keys, more, err := platforms.ListKeys(ctx, platformID, page)
		if err != nil {
			return err
		}
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Mode, k.Hint, orDash(k.Name), k.Created.Format(time.RFC3339), orDashTime(k.LastUsed), orDashTime(k.Revoked))
		}
		if !more || len(keys) == 0 {
			break
		}
		page.StartingAfter = keys[len(keys)-1].ID
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orDashTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
