package payment_test

import (
	"context"
	"testing"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestTransitionTables: every move of a payment, refund and transfer is
// tried from every status and by every cause. A move the table allows
// happens once, with at most one event; a duplicate of it and every move
// the table forbids change nothing: not the status, not updated_at, no
// event.
func TestTransitionTables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		p, r := f.separateWithRefund()

		state := func(table, id string) (status string, updated int64, events int) {
			t.Helper()
			if err := db.QueryRowContext(ctx, `SELECT status, updated_at FROM `+table+` WHERE platform_id = $1 AND id = $2`, f.PlatformID, id).
				Scan(&status, &updated); err != nil {
				t.Fatal(err)
			}
			return status, updated, f.count(`SELECT COUNT(*) FROM events WHERE platform_id = $1 AND object_id = $2`, f.PlatformID, id)
		}
		// try puts the row in from, makes the move and checks it
		// happened only if allowed, and that doing it again is a no-op.
		try := func(table, id, from, to, cause string, allowed bool, move func() (bool, error)) {
			t.Helper()
			if _, err := db.ExecContext(ctx, `UPDATE `+table+` SET status = $3, updated_at = 1 WHERE platform_id = $1 AND id = $2`,
				f.PlatformID, id, from); err != nil {
				t.Fatal(err)
			}
			_, _, events := state(table, id)
			moved, err := move()
			if err != nil {
				t.Fatalf("%s %s → %s by %s: %v", table, from, to, cause, err)
			}
			status, updated, after := state(table, id)
			switch {
			case moved != allowed:
				t.Errorf("%s %s → %s by %s: moved %v, the table allows it: %v", table, from, to, cause, moved, allowed)
			case !allowed && (status != from || updated != 1 || after != events):
				t.Errorf("%s %s → %s by %s, forbidden: now %s, updated %d, %d events (was %d)", table, from, to, cause, status, updated, after, events)
			case allowed && (status != to || after > events+1):
				t.Errorf("%s %s → %s by %s: now %s with %d new events", table, from, to, cause, status, after-events)
			}
			if !allowed || from == to {
				return
			}
			_, updated, events = state(table, id)
			if again, err := move(); err != nil || again {
				t.Errorf("%s %s → %s by %s again: moved %v, %v", table, from, to, cause, again, err)
			}
			if status, u, n := state(table, id); status != to || u != updated || n != events {
				t.Errorf("%s %s → %s by %s again changed it: %s, updated %d, %d events", table, from, to, cause, status, u, n-events)
			}
		}

		for _, from := range payment.Statuses {
			for _, to := range payment.Statuses {
				for _, cause := range payment.Causes {
					try("payments", p.ID, string(from), string(to), string(cause), payment.Allowed(from, to, cause), func() (bool, error) {
						return payment.MovePayment(f.App.Payments, ctx, f.PlatformID, p.ID, to, cause)
					})
				}
			}
		}
		refundStatuses := []payment.RefundStatus{payment.RefundPending, payment.RefundProcessing, payment.RefundSucceeded, payment.RefundFailed}
		for _, from := range refundStatuses {
			for _, to := range refundStatuses {
				try("refunds", r.ID, string(from), string(to), "job", payment.RefundAllowed(from, to), func() (bool, error) {
					return payment.MoveRefund(f.App.Payments, ctx, f.PlatformID, r.ID, to)
				})
			}
		}
		trID := p.Transfers[0].ID
		transferStatuses := []payment.TransferStatus{payment.TransferPending, payment.TransferProcessing, payment.TransferPaid,
			payment.TransferFailed, payment.TransferCanceled}
		for _, from := range transferStatuses {
			for _, to := range transferStatuses {
				try("transfers", trID, string(from), string(to), "job", payment.TransferAllowed(from, to), func() (bool, error) {
					return payment.MoveTransfer(f.App.Payments, ctx, f.PlatformID, trID, to)
				})
			}
		}
	})
}

// TestMovesReadBeforeAnotherRun: a run that read a refund or transfer
// before another run moved it on tries its move again from where the row
// is now, so it never stays behind: a transfer another run took to
// processing (and died there after Stripe made it) is recorded paid,
// once; one another run finished is left as it is.
func TestMovesReadBeforeAnotherRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		p, r := f.separateWithRefund()
		trID := p.Transfers[0].ID
		set := func(table, id, status string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, `UPDATE `+table+` SET status = $3 WHERE platform_id = $1 AND id = $2`, f.PlatformID, id, status); err != nil {
				t.Fatal(err)
			}
		}
		status := func(table, id string) (s string, events int) {
			t.Helper()
			if err := db.QueryRowContext(ctx, `SELECT status FROM `+table+` WHERE platform_id = $1 AND id = $2`, f.PlatformID, id).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s, f.count(`SELECT COUNT(*) FROM events WHERE platform_id = $1 AND object_id = $2`, f.PlatformID, id)
		}

		set("transfers", trID, string(payment.TransferProcessing))
		_, before := status("transfers", trID)
		moved, err := payment.MoveTransferReadAs(f.App.Payments, ctx, f.PlatformID, trID, payment.TransferPending, payment.TransferPaid)
		if s, n := status("transfers", trID); err != nil || !moved || s != string(payment.TransferPaid) || n != before+1 {
			t.Fatalf("transfer read pending, processing now, moved to paid: moved %v, %v; now %s with %d new events", moved, err, s, n-before)
		}
		moved, err = payment.MoveTransferReadAs(f.App.Payments, ctx, f.PlatformID, trID, payment.TransferPending, payment.TransferPaid)
		if s, n := status("transfers", trID); err != nil || moved || s != string(payment.TransferPaid) || n != before+1 {
			t.Fatalf("transfer read pending, paid now, moved to paid again: moved %v, %v; now %s with %d new events", moved, err, s, n-before)
		}
		set("transfers", trID, string(payment.TransferFailed))
		moved, err = payment.MoveTransferReadAs(f.App.Payments, ctx, f.PlatformID, trID, payment.TransferPending, payment.TransferProcessing)
		if s, _ := status("transfers", trID); err != nil || moved || s != string(payment.TransferFailed) {
			t.Fatalf("transfer read pending, failed now, moved to processing: moved %v, %v; now %s", moved, err, s)
		}

		set("refunds", r.ID, string(payment.RefundProcessing))
		moved, err = payment.MoveRefundReadAs(f.App.Payments, ctx, f.PlatformID, r.ID, payment.RefundPending, payment.RefundFailed)
		if s, _ := status("refunds", r.ID); err != nil || !moved || s != string(payment.RefundFailed) {
			t.Fatalf("refund read pending, processing now, moved to failed: moved %v, %v; now %s", moved, err, s)
		}
		moved, err = payment.MoveRefundReadAs(f.App.Payments, ctx, f.PlatformID, r.ID, payment.RefundPending, payment.RefundProcessing)
		if s, _ := status("refunds", r.ID); err != nil || moved || s != string(payment.RefundFailed) {
			t.Fatalf("refund read pending, failed now, moved to processing: moved %v, %v; now %s", moved, err, s)
		}
	})
}

// separateWithRefund makes a paid separate charge of 1000 with one
// transfer, and a refund of 100 of it.
func (f *fixture) separateWithRefund() (payment.View, payment.RefundView) {
	m := f.merchant("Turner")
	c := f.customer()
	f.saveCard(c.ID, "pm_card_visa")
	p := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "charge_type": "separate"})
	var r payment.RefundView
	f.Post("/v1/payments/"+p.ID+"/refunds", `{"amount":100}`, 200, &r)
	return p, r
}
