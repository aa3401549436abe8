package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderpay/tender/emulator"
)

// TestStripeWebhooksCommand: setup makes both endpoints at a Stripe (an
// emulator here) at the public URL, once however often it runs; roll adds
// two that replace them; list shows them; a bad call is a usage error that
// touches nothing.
func TestStripeWebhooksCommand(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	t.Cleanup(func() { emu.Close() })
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	db := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	getenv := envOf("TENDER_DATABASE_URL", db, "TENDER_MASTER_KEY", testMasterKey,
		"TENDER_STRIPE_SECRET_KEY", emulator.DefaultSecretKey, "TENDER_STRIPE_API_BASE", srv.URL,
		"TENDER_PUBLIC_URL", "https://pay.example.com")
	mustRun(t, getenv, "apikey", "create")

	for range 2 {
		out, _ := mustRun(t, getenv, "stripe", "webhooks", "setup")
		if strings.Count(out, "active") != 2 || strings.Count(out, "https://pay.example.com/webhooks/stripe/plt_") != 2 {
			t.Fatalf("setup printed:\n%s", out)
		}
	}
	out, _ := mustRun(t, getenv, "stripe", "webhooks", "roll", "--expires-in", "1h")
	if strings.Count(out, "active") != 2 || strings.Count(out, "expiring") != 2 {
		t.Errorf("roll printed:\n%s", out)
	}
	if list, _ := mustRun(t, getenv, "stripe", "webhooks", "list"); list != out {
		t.Errorf("list printed:\n%s\nwant what roll printed:\n%s", list, out)
	}
	for _, args := range [][]string{
		{"stripe"}, {"stripe", "webhooks"}, {"stripe", "webhooks", "delete"}, {"stripe", "webhooks", "setup", "extra"},
		{"stripe", "webhooks", "roll", "--expires-in", "200h"}, {"stripe", "payouts", "list"},
	} {
		if _, _, err := runCmd(t, getenv, args...); !isUsage(err) {
			t.Errorf("tender %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	noURL := envOf("TENDER_DATABASE_URL", db, "TENDER_MASTER_KEY", testMasterKey,
		"TENDER_STRIPE_SECRET_KEY", emulator.DefaultSecretKey, "TENDER_STRIPE_API_BASE", srv.URL)
	if _, _, err := runCmd(t, noURL, "stripe", "webhooks", "setup"); !isUsage(err) || !strings.Contains(err.Error(), "TENDER_PUBLIC_URL") {
		t.Errorf("setup without a public URL: %v", err)
	}
}
