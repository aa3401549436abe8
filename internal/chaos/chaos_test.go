package chaos_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/chaos"
)

// chaosEnv turns on the short kill run: it takes minutes (Tender's
// idempotency lock outlives a crashed request by two), too long for the
// everyday go test ./... but run by CI (.ci/run).
const chaosEnv = "TENDER_TEST_CHAOS"

// TestKillRun runs the harness briefly on SQLite and on PostgreSQL: 60
// payments, 3 SIGKILLs of tender serve, then the reconciliation, which
// must find every request, payment, refund, transfer and fee matching.
func TestKillRun(t *testing.T) {
	if os.Getenv(chaosEnv) != "1" {
		t.Skipf("the kill harness takes minutes; set %s=1 to run it (and TEST_DATABASE_URL for PostgreSQL)", chaosEnv)
	}
	bin := buildTender(t)
	dbs := map[string]string{"sqlite": "sqlite"}
	switch url := os.Getenv("TEST_DATABASE_URL"); {
	case url != "":
		dbs["postgres"] = url
	case os.Getenv("CI") == "true":
		t.Fatal("TEST_DATABASE_URL is not set; under CI the PostgreSQL run must not be skipped")
	default:
		t.Log("TEST_DATABASE_URL is not set: PostgreSQL is skipped (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			killRun(t, bin, db)
		})
	}
}

func killRun(t *testing.T, bin, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res, err := chaos.Run(ctx, chaos.Config{Binary: bin, Database: db, Dir: t.TempDir(), Seed: 1, Payments: 60, Kills: 3,
		Concurrency: 6, Latency: 20 * time.Millisecond, LatencyJitter: 30 * time.Millisecond, Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.Summary(&b)
	t.Log("\n" + b.String())
	if res.Stats.Kills != 3 || res.Stats.Restarts != 3 {
		t.Errorf("%d kills and %d restarts, want 3 of each", res.Stats.Kills, res.Stats.Restarts)
	}
	if !res.OK() {
		t.Errorf("%d offenders, %d events not delivered and %d out of order under kills (summary above)", len(res.Report.Offenders),
			res.Stats.Webhooks.Missing, len(res.Stats.Webhooks.OutOfOrder))
	}
}

// buildTender builds the tender command into the test's directory: the
// harness runs a binary, as an operator would.
func buildTender(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tender")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/tenderpay/tender/cmd/tender")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
