package payment

import (
	"context"
	"database/sql"

	"github.com/stripe/stripe-go/v85"
)

// SetCrashFunc makes f run at each step of Process where a crash would
// leave something to resume from: before_create (the payment is
// processing, Stripe not called), after_create (Stripe answered, the
// PaymentIntent's id not saved) and after_save (the id saved, and with it
// the outcome when Stripe's answer settled the payment). An error from f
// stops Process there, as a crash would.
func SetCrashFunc(s *Service, f func(step, paymentID string) error) { s.crashFunc = f }

// FinishStale stands for a run that read the payment on attempt n and
// finishes it as succeeded after the payment moved to attempt n+1.
func FinishStale(s *Service, ctx context.Context, platformID, paymentID string) error {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE payments SET attempt = attempt + 1 WHERE platform_id = $1 AND id = $2`, platformID, paymentID); err != nil {
		return err
	}
	// The run had read a PaymentIntent that succeeded, with its charge.
	pi := &stripe.PaymentIntent{ID: "pi_stale", LatestCharge: &stripe.Charge{BalanceTransaction: &stripe.BalanceTransaction{AvailableOn: 1}}}
	return s.finish(ctx, p, pi, outcome{status: StatusSucceeded})
}

// Moves lists every status, cause and the payment transition table, for
// tests that try every move.
var (
	Statuses = []Status{StatusPending, StatusProcessing, StatusSucceeded, StatusRequiresCapture, StatusRequiresAction, StatusFailed, StatusCanceled}
	Causes   = []Cause{CauseCharge, CausePayer, CauseAuthenticated, CauseCapture, CauseCancel}
	Allowed  = allowed
)

// MovePayment moves a payment, as read now, to status to by cause, in one
// transaction, and reports whether it moved.
func MovePayment(s *Service, ctx context.Context, platformID, paymentID string, to Status, cause Cause) (bool, error) {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return false, err
	}
	var moved *Payment
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		moved, err = s.movePayment(ctx, tx, p, paymentChange{to: to, cause: cause, failure: &outcome{status: to}, funds: &funds{availableOn: s.now()}})
		return err
	})
	return moved != nil, err
}

// MoveRefund and MoveTransfer move a refund or transfer, as read now, to
// status to, and report whether it moved; RefundAllowed and
// TransferAllowed are their tables.
func MoveRefund(s *Service, ctx context.Context, platformID, refundID string, to RefundStatus) (bool, error) {
	r, err := getRefund(ctx, s.db, platformID, refundID)
	if err != nil {
		return false, err
	}
	var moved bool
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		moved, err = s.moveRefund(ctx, tx, r, to)
		return err
	})
	return moved, err
}

func MoveTransfer(s *Service, ctx context.Context, platformID, transferID string, to TransferStatus) (bool, error) {
	return MoveTransferReadAs(s, ctx, platformID, transferID, "", to)
}

func RefundAllowed(from, to RefundStatus) bool {
	for _, m := range refundMoves {
		if m.from == from && m.to == to {
			return true
		}
	}
	return false
}

func TransferAllowed(from, to TransferStatus) bool { return transferAllowed(from, to) }

// MoveTransferReadAs and MoveRefundReadAs move a refund or transfer as if
// it had been read in status readAs (unless empty), before another run
// moved it on.
func MoveTransferReadAs(s *Service, ctx context.Context, platformID, transferID string, readAs, to TransferStatus) (bool, error) {
	t, err := scanTransfer(s.db.QueryRowContext(ctx, `SELECT `+transferCols+` FROM transfers WHERE platform_id = $1 AND id = $2`, platformID, transferID))
	if err != nil {
		return false, err
	}
	p, err := getPayment(ctx, s.db, platformID, t.PaymentID)
	if err != nil {
		return false, err
	}
	if readAs != "" {
		t.Status = readAs
	}
	var moved bool
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		moved, err = s.moveTransfer(ctx, tx, t, transferChange{to: to, payment: p})
		return err
	})
	return moved, err
}

func MoveRefundReadAs(s *Service, ctx context.Context, platformID, refundID string, readAs, to RefundStatus) (bool, error) {
	r, err := getRefund(ctx, s.db, platformID, refundID)
	if err != nil {
		return false, err
	}
	r.Status = readAs
	var moved bool
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		moved, err = s.moveRefund(ctx, tx, r, to)
		return err
	})
	return moved, err
}
