package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
)

const apikeyUsage = `usage:
  tender apikey create [--mode test|live] [--name NAME]
  tender apikey list
  tender apikey revoke KEY_ID`

func runAPIKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig("apikey", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("%s", apikeyUsage)
	}
	db, err := store.Open(ctx, cfg[setDB.flag], store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := app.Migrate(ctx, db); err != nil {
		return err
	}
	platforms := platform.NewService(db, nil)
	plat, firstKey, firstSecret, err := platforms.EnsureDefault(ctx, setPlatform.def)
	if err != nil {
		return err
	}
	switch rest[0] {
	case "create":
		fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		mode := fs.String("mode", "test", "test or live")
		name := fs.String("name", "", "a name to recognise the key by")
		if err := fs.Parse(rest[1:]); err != nil {
			return usagef("%v", err)
		}
		m, err := platform.ParseMode(*mode)
		if err != nil {
			return usagef("invalid --mode=%q: want test or live", *mode)
		}
		key, secret := firstKey, firstSecret
		if key == nil || key.Mode != m {
			if key, secret, err = platforms.CreateKey(ctx, plat.ID, m, *name); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "Created %s for platform %s. The secret above is shown once; only its SHA-256 hash is stored.\n", key.ID, plat.ID)
		return nil
	case "list":
		return listKeys(ctx, platforms, plat.ID, stdout)
	case "revoke":
		if len(rest) != 2 {
			return usagef("%s", apikeyUsage)
		}
		k, err := platforms.RevokeKey(ctx, plat.ID, rest[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s (%s)\n", k.ID, k.Hint)
		return nil
	default:
		return usagef("unknown apikey command %q\n%s", rest[0], apikeyUsage)
	}
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Mode, k.Hint, k.Name, k.Created.Format(time.RFC3339), orDash(k.LastUsed), orDash(k.Revoked))
		}
		if !more || len(keys) == 0 {
			break
		}
		page.StartingAfter = keys[len(keys)-1].ID
	}
	return tw.Flush()
}

func orDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
