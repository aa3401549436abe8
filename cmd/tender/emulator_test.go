package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

var emulatorKeyRe = regexp.MustCompile(`secret key\s+(sk_test_\S+)`)

// stripeClient is stripe-go pointed at base, without retries so injected
// faults show.
func stripeClient(base, key string) *stripe.Client {
	return stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(base),
		HTTPClient:        client,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
}

// TestEmulator runs `tender emulator` and uses it through stripe-go with the
// URL and key it prints; the snapshot written at shutdown brings the
// customer back on the next start.
func TestEmulator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	snapshot := filepath.Join(t.TempDir(), "emulator.snapshot")
	args := []string{"emulator", "--addr", "127.0.0.1:0", "--snapshot", snapshot}

	bg := start(t, envOf(), args...)
	base := bg.waitFor(t, listeningRe)[1]
	key := bg.waitFor(t, emulatorKeyRe)[1]
	if !strings.Contains(bg.stdout.String(), "pk_test_") {
		t.Errorf("banner shows no publishable key:\n%s", bg.stdout.String())
	}
	cu, err := stripeClient(base, key).V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("ada@example.com")})
	if err != nil {
		t.Fatalf("create customer through the emulator: %v", err)
	}
	if !strings.HasPrefix(cu.ID, "cus_") || cu.Email != "ada@example.com" {
		t.Errorf("customer = %s %q", cu.ID, cu.Email)
	}
	if err := bg.stop(t); err != nil {
		t.Fatalf("emulator returned %v after cancellation, want nil", err)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), client.Timeout); err == nil {
		t.Errorf("%s still accepts connections after the emulator returned", base)
	}
	if _, err := os.Stat(snapshot); err != nil {
		t.Fatalf("no snapshot written at shutdown: %v", err)
	}

	bg2 := start(t, envOf(), args...)
	base2 := bg2.waitFor(t, listeningRe)[1]
	got, err := stripeClient(base2, key).V1Customers.Retrieve(ctx, cu.ID, nil)
	if err != nil || got.Email != "ada@example.com" {
		t.Errorf("customer after restart = %+v, %v; want it restored from the snapshot", got, err)
	}
	if err := bg2.stop(t); err != nil {
		t.Errorf("second emulator returned %v", err)
	}
}

// TestEmulatorFaults sets every fault by its variable and checks the
// emulator applies them.
func TestEmulatorFaults(t *testing.T) {
	t.Parallel()
	bg := start(t, envOf(
		"TENDER_EMULATOR_LATENCY", "1ms",
		"TENDER_EMULATOR_LATENCY_JITTER", "2ms",
		"TENDER_EMULATOR_ERROR_RATE", "1",
		"TENDER_EMULATOR_RATE_LIMIT", "test",
		"TENDER_EMULATOR_LOST_RESPONSE_RATE", "0.25",
		"TENDER_EMULATOR_SEED", "42",
	), "emulator", "--addr", "127.0.0.1:0")
	base := bg.waitFor(t, listeningRe)[1]
	key := bg.waitFor(t, emulatorKeyRe)[1]
	if want := "latency 1ms + up to 2ms, error rate 1, rate limit 25/s, lost responses 0.25"; !strings.Contains(bg.stdout.String(), want) {
		t.Errorf("banner does not describe the faults as %q:\n%s", want, bg.stdout.String())
	}

	status, _, body := request(t, "GET", base+"/_emulator/faults", "", "")
	var f emulator.Faults
	if err := json.Unmarshal([]byte(body), &f); err != nil || status != 200 {
		t.Fatalf("GET /_emulator/faults = %d %s (%v)", status, body, err)
	}
	want := emulator.Faults{Latency: time.Millisecond, LatencyJitter: 2 * time.Millisecond, ErrorRate: 1,
		RateLimit: emulator.RateLimitTestMode, LostResponseRate: 0.25}
	if f != want {
		t.Errorf("faults = %+v, want %+v", f, want)
	}

	_, err := stripeClient(base, key).V1Customers.Create(context.Background(), &stripe.CustomerCreateParams{})
	if se, ok := errors.AsType[*stripe.Error](err); !ok || se.HTTPStatusCode != 500 || se.Type != stripe.ErrorTypeAPI {
		t.Errorf("with error rate 1, create customer = %v; want a 500 api_error", err)
	}
}

func TestEmulatorPortInUse(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, _, err = runCmd(t, envOf("TENDER_EMULATOR_ADDR", taken.Addr().String()), "emulator")
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), "already in use (set --addr or TENDER_EMULATOR_ADDR)") {
		t.Errorf("emulator on a taken port = %v, want an error naming TENDER_EMULATOR_ADDR", err)
	}
}

// TestEmulatorCorruptSnapshot: a snapshot that cannot be read stops the
// emulator with one line naming the file (exit status 1, not a usage
// error), and the file is left as it was rather than overwritten.
func TestEmulatorCorruptSnapshot(t *testing.T) {
	t.Parallel()
	snapshot := filepath.Join(t.TempDir(), "emulator.snapshot")
	junk := []byte("not a snapshot")
	if err := os.WriteFile(snapshot, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, envOf("TENDER_EMULATOR_SNAPSHOT", snapshot), "emulator", "--addr", "127.0.0.1:0")
	if err == nil || isUsage(err) {
		t.Fatalf("emulator on a corrupt snapshot = %v, want a plain error", err)
	}
	if msg := err.Error(); !strings.Contains(msg, snapshot) || !strings.Contains(msg, "left untouched") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s and saying it was left untouched", msg, snapshot)
	}
	if got, _ := os.ReadFile(snapshot); string(got) != string(junk) {
		t.Errorf("the snapshot now holds %q, want it untouched", got)
	}
}

// TestServeCorruptEmulatorSnapshot: serve's in-process emulator refuses a
// snapshot it cannot read the same way, leaving it for the operator.
func TestServeCorruptEmulatorSnapshot(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "t.db")
	snapshot := db + ".stripe-emulator.json"
	if err := os.WriteFile(snapshot, []byte("{not gob}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, envOf("TENDER_DATABASE_URL", "sqlite:"+db), "serve", "--addr", "127.0.0.1:0")
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), snapshot) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("serve with a corrupt emulator snapshot = %v, want one line naming %s", err, snapshot)
	}
	if got, _ := os.ReadFile(snapshot); string(got) != "{not gob}" {
		t.Errorf("the snapshot now holds %q, want it untouched", got)
	}
}

// TestEmulatorGCPercent: tender emulator lowers GOGC to 50 unless the
// environment sets GOGC or GOMEMLIMIT.
func TestEmulatorGCPercent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env  map[string]string
		want int
		set  bool
	}{
		{nil, 50, true},
		{map[string]string{"GOGC": "100"}, 0, false},
		{map[string]string{"GOGC": "off"}, 0, false},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, 0, false},
	} {
		got, set := emulatorGCPercent(func(k string) string { return c.env[k] })
		if got != c.want || set != c.set {
			t.Errorf("env %v: %d, %v; want %d, %v", c.env, got, set, c.want, c.set)
		}
	}
}
