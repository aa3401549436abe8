package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.db")
	getenv := envOf("TENDER_DATABASE_URL", "sqlite:"+path)

	before, _ := mustRun(t, getenv, "migrate", "status")
	if strings.Contains(before, "applied") || !strings.Contains(before, "pending  river") {
		t.Errorf("status of a new database should list everything pending:\n%s", before)
	}
	up, _ := mustRun(t, getenv, "migrate", "up")
	if want := "sqlite " + path + ": migrations current\n"; up != want {
		t.Errorf("migrate up printed %q, want %q", up, want)
	}
	after, _ := mustRun(t, getenv, "migrate", "status")
	if strings.Contains(after, "pending") || !strings.Contains(after, "applied  river") {
		t.Errorf("status after up should list everything applied:\n%s", after)
	}
	if n := strings.Count(after, "\n"); n != strings.Count(before, "\n") || n < 2 {
		t.Errorf("status lists %d lines after up, %d before", n, strings.Count(before, "\n"))
	}
	if again, _ := mustRun(t, getenv, "migrate", "up"); again != up {
		t.Errorf("second migrate up printed %q, want %q", again, up)
	}
}

var createdRe = regexp.MustCompile(`Created (\S+) \((test|live) mode\)`)

// TestAPIKey creates, lists and revokes keys with the command and checks
// with the platform service that created keys authenticate and revoked ones
// do not.
func TestAPIKey(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	getenv := envOf("TENDER_DATABASE_URL", dbURL, "TENDER_PLATFORM_NAME", "Food hub")

	// Without a platform there is nothing to list, and listing makes none.
	if _, _, err := runCmd(t, getenv, "apikey", "list"); err == nil || isUsage(err) || !strings.Contains(err.Error(), "no platform") {
		t.Fatalf("apikey list on a new database = %v, want an error saying there is no platform", err)
	}

	create := func(args ...string) (id, secret string) {
		t.Helper()
		stdout, stderr := mustRun(t, getenv, append([]string{"apikey", "create"}, args...)...)
		m := createdRe.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("apikey create printed no key id on stderr:\n%s", stderr)
		}
		return m[1], strings.TrimSuffix(stdout, "\n")
	}
	testID, testSecret := create()
	liveID, liveSecret := create("--mode", "live", "--name", "billing")
	if !strings.HasPrefix(testSecret, "tk_test_") || !strings.HasPrefix(liveSecret, "tk_live_") {
		t.Fatalf("secrets %q and %q: want a tk_test_ and a tk_live_ key alone on stdout", testSecret, liveSecret)
	}

	list, _ := mustRun(t, getenv, "apikey", "list")
	for _, want := range []string{"ID", testID, liveID, "billing", "live", "test"} {
		if !strings.Contains(list, want) {
			t.Errorf("apikey list does not show %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, testSecret) || strings.Contains(list, liveSecret) {
		t.Errorf("apikey list shows a secret:\n%s", list)
	}

	out, _ := mustRun(t, getenv, "apikey", "revoke", liveID)
	if !strings.HasPrefix(out, "revoked "+liveID) {
		t.Errorf("apikey revoke printed %q", out)
	}
	if _, _, err := runCmd(t, getenv, "apikey", "revoke", "ak_nope"); err == nil || isUsage(err) || !strings.Contains(err.Error(), `no API key "ak_nope"`) {
		t.Errorf("revoking an unknown key = %v, want an error naming it", err)
	}

	platforms, plat := openPlatforms(t, dbURL)
	if plat.Name != "Food hub" {
		t.Errorf("platform name = %q, want TENDER_PLATFORM_NAME's", plat.Name)
	}
	ctx := context.Background()
	if p, err := platforms.Authenticate(ctx, testSecret); err != nil || p.KeyID != testID {
		t.Errorf("created test key: Authenticate = %+v, %v", p, err)
	}
	if _, err := platforms.Authenticate(ctx, liveSecret); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("revoked live key: Authenticate error = %v, want unauthorized", err)
	}
}

// TestAPIKeyCreateOnNewDatabase: on a new database create makes the platform
// and its first key; when that key is not what was asked for it is revoked,
// since no one ever sees its secret.
func TestAPIKeyCreateOnNewDatabase(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	getenv := envOf("TENDER_DATABASE_URL", dbURL)
	stdout, stderr := mustRun(t, getenv, "apikey", "create", "--name", "ci")
	secret := strings.TrimSpace(stdout)
	id := createdRe.FindStringSubmatch(stderr)

	platforms, plat := openPlatforms(t, dbURL)
	ctx := context.Background()
	if p, err := platforms.Authenticate(ctx, secret); err != nil || id == nil || p.KeyID != id[1] {
		t.Fatalf("Authenticate(created) = %+v, %v (stderr %q)", p, err, stderr)
	}
	keys, _, err := platforms.ListKeys(ctx, plat.ID, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, k := range keys {
		if k.Revoked.IsZero() {
			active++
			if k.Name != "ci" {
				t.Errorf("active key %s is named %q; only the created one should be active", k.ID, k.Name)
			}
		}
	}
	if active != 1 {
		t.Errorf("%d active keys, want 1", active)
	}
}

func openPlatforms(t *testing.T, dbURL string) (*platform.Service, *platform.Platform) {
	t.Helper()
	db, err := store.Open(context.Background(), dbURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	platforms := platform.NewService(db, nil)
	plat, err := platforms.Default(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return platforms, plat
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	none := envOf()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if out, _ := mustRun(t, none, args...); !strings.HasPrefix(out, "tender ") || strings.Count(out, "\n") != 1 {
			t.Errorf("tender %s printed %q, want one line 'tender VERSION'", args[0], out)
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		out, _ := mustRun(t, none, args...)
		for _, cmd := range []string{"serve", "emulator", "migrate", "apikey", "version"} {
			if !strings.Contains(out, "tender "+cmd) {
				t.Errorf("tender %s does not mention 'tender %s':\n%s", args[0], cmd, out)
			}
		}
	}
	for _, cmd := range []string{"serve", "emulator", "migrate", "apikey"} {
		want := []string{"usage:", "tender " + cmd + " [settings]"}
		for _, s := range settingsFor(cmd) {
			want = append(want, "--"+s.flag, s.env)
		}
		for _, args := range [][]string{{"help", cmd}, {cmd, "-h"}, {cmd, "--help"}} {
			out, _ := mustRun(t, none, args...)
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("tender %s does not show %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
		}
	}
}
