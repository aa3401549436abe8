package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

var (
	listeningRe = regexp.MustCompile(`listening on\s+(http://\S+)`)
	secretRe    = regexp.MustCompile(`\btk_test_[0-9A-Za-z]{32}\b`)
	inProcessRe = regexp.MustCompile(`Stripe\s+in-process emulator at (http://127\.0\.0\.1:\d+)\n`)
)

// TestServe runs `tender serve` as an operator would, on each database:
// it prints where it listens and a first key, answers the API, and stops
// cleanly when its context ends (SIGINT/SIGTERM in main).
func TestServe(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "t.db")
		testServe(t, "sqlite:"+path)
		// Closed cleanly: SQLite folds the write-ahead log back into the
		// database and removes it when the last connection closes.
		if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
			t.Errorf("%s-wal still exists after serve stopped (err %v): the database was not closed", path, err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testServe(t, storetest.PostgresSchemaURL(t, storetest.PostgresURL(t)))
	})
}

// testMasterKey is the master key TestServe gives PostgreSQL, which has no
// key file by default.
const testMasterKey = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VmeJq83vEjRWeJA="

func testServe(t *testing.T, dbURL string) {
	env := []string{"TENDER_DATABASE_URL", dbURL}
	if strings.HasPrefix(dbURL, "postgres") {
		env = append(env, "TENDER_MASTER_KEY", testMasterKey)
	}
	getenv := envOf(env...)
	bg := start(t, getenv, "serve", "--addr", "127.0.0.1:0")
	base := bg.waitFor(t, listeningRe)[1]
	key := secretRe.FindString(bg.stdout.String())
	if key == "" {
		t.Fatalf("no first API key in the banner:\n%s", bg.stdout.String())
	}

	// With no Stripe key, a Stripe emulator runs in-process and answers
	// stripe-go on its loopback port.
	emuBase := bg.waitFor(t, inProcessRe)[1]
	cu, err := stripeClient(emuBase, emulator.DefaultSecretKey).V1Customers.Create(context.Background(), &stripe.CustomerCreateParams{})
	if err != nil || !strings.HasPrefix(cu.ID, "cus_") {
		t.Errorf("in-process emulator: create customer = %v, %v", cu, err)
	}

	if status, _, body := request(t, "GET", base+"/healthz", "", ""); status != 200 {
		t.Errorf("GET /healthz = %d %s", status, body)
	}
	if status, _, body := request(t, "GET", base+"/readyz", "", ""); status != 200 {
		t.Errorf("GET /readyz = %d %s", status, body)
	}
	if status, _, body := request(t, "GET", base+"/v1/platform", "", ""); status != 401 {
		t.Errorf("GET /v1/platform without a key = %d %s, want 401", status, body)
	}
	if status, _, body := request(t, "GET", base+"/v1/platform/stripe", key, ""); status != 200 ||
		!strings.Contains(body, `"source":"emulator"`) || strings.Contains(body, emulator.DefaultSecretKey) {
		t.Errorf("GET /v1/platform/stripe = %d %s; want the emulator, without its secret key", status, body)
	}

	// Its endpoints at the emulator are set up, so its events reach Tender.
	if status, _, body := request(t, "GET", base+"/v1/platform/stripe/webhook_endpoints", key, ""); status != 200 ||
		strings.Count(body, `"status":"active"`) != 2 || !strings.Contains(body, base+"/webhooks/stripe/") {
		t.Errorf("GET /v1/platform/stripe/webhook_endpoints = %d %s; want both endpoints active at %s", status, body, base)
	}

	const update = `{"name":"Renamed platform","default_currency":"eur"}`
	status1, h1, body1 := request(t, "POST", base+"/v1/platform", key, update, "Idempotency-Key", "e2e-rename")
	if status1 != 200 {
		t.Fatalf("POST /v1/platform = %d %s", status1, body1)
	}
	if h1.Get("Idempotent-Replayed") != "" {
		t.Errorf("first POST has Idempotent-Replayed: %q", h1.Get("Idempotent-Replayed"))
	}
	var p struct{ ID, Name string }
	if err := json.Unmarshal([]byte(body1), &p); err != nil || p.Name != "Renamed platform" {
		t.Fatalf("POST /v1/platform body %s (err %v)", body1, err)
	}
	status2, h2, body2 := request(t, "POST", base+"/v1/platform", key, update, "Idempotency-Key", "e2e-rename")
	if status2 != 200 || h2.Get("Idempotent-Replayed") != "true" || body2 != body1 {
		t.Errorf("replayed POST = %d, Idempotent-Replayed %q, body\n%s\nwant 200, true, body\n%s", status2, h2.Get("Idempotent-Replayed"), body2, body1)
	}

	if err := bg.stop(t); err != nil {
		t.Fatalf("serve returned %v after cancellation, want nil\nstderr:\n%s", err, bg.stderr.String())
	}
	for _, u := range []string{base, emuBase} {
		if _, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), 5*time.Second); err == nil {
			t.Errorf("%s still accepts connections after serve returned", u)
		}
	}

	// The database was left usable and holds what the API wrote.
	db, err := store.Open(context.Background(), dbURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatalf("reopen %s: %v", dbURL, err)
	}
	got, err := platform.NewService(db, nil).Get(context.Background(), p.ID)
	if err != nil || got.Name != "Renamed platform" || got.Settings.DefaultCurrency != "eur" {
		t.Errorf("platform after restart = %+v, %v; want the renamed one", got, err)
	}
	db.Close()

	// A second start finds the platform and prints no new key.
	bg2 := start(t, getenv, "serve", "--addr", "127.0.0.1:0")
	bg2.waitFor(t, listeningRe)
	if k := secretRe.FindString(bg2.stdout.String()); k != "" {
		t.Errorf("second start printed a key again:\n%s", bg2.stdout.String())
	}
	if err := bg2.stop(t); err != nil {
		t.Errorf("second serve returned %v", err)
	}
}

// TestServeMasterKey: with SQLite and no TENDER_MASTER_KEY, serve makes a
// key file beside the database (owner-only), says so once, and reuses it;
// with PostgreSQL, which several Tenders may share, it insists on a key.
func TestServeMasterKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	getenv := envOf("TENDER_DATABASE_URL", "sqlite:"+filepath.Join(dir, "t.db"))
	keyFile := filepath.Join(dir, "t.db.key")
	var first []byte
	for i := range 2 {
		bg := start(t, getenv, "serve", "--addr", "127.0.0.1:0")
		bg.waitFor(t, listeningRe)
		if err := bg.stop(t); err != nil {
			t.Fatal(err)
		}
		said := strings.Contains(bg.stdout.String(), "A master key was created in "+keyFile)
		if said != (i == 0) {
			t.Errorf("start %d: key creation announced = %v:\n%s", i+1, said, bg.stdout.String())
		}
		fi, err := os.Stat(keyFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
		}
		b, _ := os.ReadFile(keyFile)
		if i == 0 {
			first = b
		} else if string(b) != string(first) {
			t.Errorf("the key file changed on the second start")
		}
	}

	_, _, err := runCmd(t, envOf("TENDER_DATABASE_URL", storetest.PostgresSchemaURL(t, storetest.PostgresURL(t))), "serve", "--addr", "127.0.0.1:0")
	if err == nil || !isUsage(err) || !strings.Contains(err.Error(), "TENDER_MASTER_KEY") {
		t.Errorf("PostgreSQL without a master key: %v; want a usage error naming TENDER_MASTER_KEY", err)
	}
}

// TestServeWithStripeKey: with a key, serve runs no emulator and says which
// Stripe it uses, never the key.
func TestServeWithStripeKey(t *testing.T) {
	t.Parallel()
	const secretPart = "51TopSecretKeyMaterial"
	tests := []struct{ key, base, want string }{
		{"sk_live_" + secretPart, "", "Stripe        api.stripe.com (live key)\n"},
		{"rk_test_" + secretPart, "", "Stripe        api.stripe.com (restricted test key)\n"},
		{"sk_test_" + secretPart, "http://127.0.0.1:12111", "Stripe        http://127.0.0.1:12111 (test key)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			bg := start(t, envOf(
				"TENDER_DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "t.db"),
				"TENDER_STRIPE_SECRET_KEY", tt.key,
				"TENDER_STRIPE_API_BASE", tt.base,
			), "serve", "--addr", "127.0.0.1:0")
			bg.waitFor(t, listeningRe)
			if err := bg.stop(t); err != nil {
				t.Fatalf("serve returned %v", err)
			}
			out := bg.stdout.String()
			if !strings.Contains(out, tt.want) || strings.Contains(out, "emulator") {
				t.Errorf("banner should say %q and mention no emulator:\n%s", tt.want, out)
			}
			if strings.Contains(out+bg.stderr.String(), secretPart) {
				t.Errorf("the Stripe key was printed:\n%s\n%s", out, bg.stderr.String())
			}
		})
	}
}
