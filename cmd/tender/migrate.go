package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/store"
)

const migrateUsage = "usage: tender migrate [settings] up|status"

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig("migrate", args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) != 1 || (rest[0] != "up" && rest[0] != "status") {
		return usagef("%s", migrateUsage)
	}
	db, err := store.Open(ctx, cfg.str(setDB), store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if rest[0] == "up" {
		if err := app.Migrate(ctx, db); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s: migrations current\n", db.Dialect, db.Location)
		return nil
	}
	states, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, s := range states {
		mark := "pending"
		if s.Applied {
			mark = "applied"
		}
		fmt.Fprintf(stdout, "%-8s %05d %s\n", mark, s.Version, s.Name)
	}
	ok, err := jobs.MigrationsCurrent(ctx, db)
	if err != nil {
		return err
	}
	mark := "pending"
	if ok {
		mark = "applied"
	}
	fmt.Fprintf(stdout, "%-8s river (job queue tables)\n", mark)
	return nil
}
