package emulator_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// snapshotEnv starts an emulator on file; stop closes it, writing the
// snapshot.
func snapshotEnv(t *testing.T, file string, base time.Time) (e *env, stop func()) {
	t.Helper()
	loadSpec(t)
	srv, err := emulator.Open(emulator.Options{SnapshotFile: file, NowFunc: func() time.Time { return base }})
	mustf(t, err, "open")
	e = &env{tb: t, srv: srv, ts: httptest.NewServer(srv), now: base}
	e.sc = e.client(emulator.DefaultSecretKey, 0)
	return e, func() {
		e.ts.Close()
		mustf(t, e.srv.Close(), "close")
	}
}

// TestSnapshotIDsNeverRepeat: the id generator continues where it stopped,
// so objects made after any number of restarts get ids never seen before,
// and requests get new Request-Ids.
func TestSnapshotIDsNeverRepeat(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "emulator.snapshot")
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	seen := map[string]int{}
	see := func(run int, ids ...string) {
		for _, id := range ids {
			if prev, dup := seen[id]; dup {
				t.Fatalf("run %d handed out %s again (first in run %d)", run, id, prev-1)
			}
			seen[id] = run + 1
		}
	}
	for run := 0; run < 5; run++ { // the first start and four restarts
		e, stop := snapshotEnv(t, file, base)
		for range 3 {
			cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
			mustf(t, err, "customer in run %d", run)
			pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(500),
				Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
			mustf(t, err, "payment in run %d", run)
			see(run, cu.ID, pi.ID, pi.LatestCharge.ID, cu.LastResponse.RequestID, pi.LastResponse.RequestID)
		}
		for _, ev := range all(t, e.sc.V1Events.List(ctx(), nil).All(ctx())) {
			if prev := seen[ev.ID]; prev != 0 && prev-1 < run {
				continue // an event of an earlier run, listed again
			}
			see(run, ev.ID)
		}
		stop()
	}
	if len(seen) < 5*3*5 {
		t.Fatalf("only %d distinct ids", len(seen))
	}
}

// TestSnapshotCorruptIsRefused: a snapshot that cannot be decoded makes Open
// fail with a SnapshotError naming the file, and the file keeps its bytes;
// New panics with the same message.
func TestSnapshotCorruptIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "emulator.snapshot")
	junk := []byte("this is not a snapshot\x00\x01\x02")
	mustf(t, os.WriteFile(file, junk, 0o600), "write junk")

	srv, err := emulator.Open(emulator.Options{SnapshotFile: file})
	var se *emulator.SnapshotError
	if srv != nil || !errors.As(err, &se) || se.Path != file {
		t.Fatalf("Open on a corrupt snapshot = %v, %v; want a *SnapshotError for %s", srv, err, file)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("New on a corrupt snapshot did not panic")
			}
		}()
		emulator.New(emulator.Options{SnapshotFile: file})
	}()
	got, err := os.ReadFile(file)
	mustf(t, err, "read back")
	if !bytes.Equal(got, junk) {
		t.Fatalf("the corrupt snapshot was changed to %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d files in the directory, want the snapshot alone", len(entries))
	}

	// An empty file (say, truncated by hand) is refused too.
	empty := filepath.Join(dir, "empty.snapshot")
	mustf(t, os.WriteFile(empty, nil, 0o600), "write empty")
	if _, err := emulator.Open(emulator.Options{SnapshotFile: empty}); !errors.As(err, &se) {
		t.Fatalf("Open on an empty snapshot = %v", err)
	}
}

// TestSnapshotKeepsDueWork: work due after a restart (a dispute's
// decision, a payout in transit, funds still pending) happens after it,
// once, as if the emulator had not stopped.
func TestSnapshotKeepsDueWork(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "emulator.snapshot")
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	e, stop := snapshotEnv(t, file, base)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(5000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_createDispute"), Confirm: stripe.Bool(true)})
	mustf(t, err, "charge")
	du := disputeOf(t, e, "", pi.LatestCharge.ID)
	_, err = e.sc.V1Disputes.Update(ctx(), du.ID, &stripe.DisputeUpdateParams{Evidence: &stripe.DisputeUpdateEvidenceParams{
		UncategorizedText: stripe.String("winning_evidence")}})
	mustf(t, err, "evidence")
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(3000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_bypassPending"), Confirm: stripe.Bool(true)})
	mustf(t, err, "charge with funds available at once")
	e.srv.Advance(12 * time.Hour) // the start of the next day: a payout
	stop()

	e, stop = snapshotEnv(t, file, base)
	defer stop()
	e.srv.Advance(5 * 24 * time.Hour)
	du, err = e.sc.V1Disputes.Retrieve(ctx(), du.ID, nil)
	mustf(t, err, "dispute")
	if du.Status != stripe.DisputeStatusWon {
		t.Fatalf("dispute after the restart: %s", du.Status)
	}
	ps := payouts(t, e, "")
	for _, p := range ps {
		if p.Status != stripe.PayoutStatusPaid {
			t.Fatalf("payout %s %s after the restart", p.ID, p.Status)
		}
	}
	if len(ps) < 2 {
		t.Fatalf("%d payouts: want the one before the restart and the charge's funds after it", len(ps))
	}
	avail := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{Type: stripe.String("balance.available")}).All(ctx()))
	times := map[int64]bool{}
	for _, ev := range avail {
		if times[ev.Created] {
			t.Fatalf("balance.available twice at %d", ev.Created)
		}
		times[ev.Created] = true
	}
	balanceAddsUp(t, e, "")
}
