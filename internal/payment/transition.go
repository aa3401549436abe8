package payment

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
)

// Every change of a payment's status goes through movePayment, checked
// against paymentMoves: the table below, which docs/ARCHITECTURE.md
// ("Transitions") shows. It writes the row, the outbox event and what
// follows from the move (the jobs of transfers and Stripe-fee cover), all
// in the caller's transaction. A move the table does not allow from
// where the payment is — an observation older than the one recorded, a
// duplicate, a run that lost a race — changes nothing: the payment never
// goes back.

// Cause is what moves a payment.
type Cause string

// Causes of payment moves.
const (
	// CauseCharge: Tender's job charging a saved card, and what Stripe
	// answered it.
	CauseCharge Cause = "charge"
	// CausePayer: the payer on a hosted page (a checkout link): Stripe's
	// PaymentIntent read back after the browser confirmed it.
	CausePayer Cause = "payer"
	// CauseAuthenticated: the customer on an authentication link, read
	// back from Stripe.
	CauseAuthenticated Cause = "authenticated"
	// CauseCapture: a capture, asked for by the platform, made at Stripe.
	CauseCapture Cause = "capture"
	// CauseCancel: a cancel asked for by the platform, a hosted page
	// closing unpaid, or Stripe canceling an authorization that expired.
	CauseCancel Cause = "cancel"
)

// paymentMove is one allowed move and what may cause it.
type paymentMove struct {
	from, to Status
	causes   []Cause
}

// paymentMoves is the payment's transition table. A move absent from it
// is refused (as a no-op).
var paymentMoves = []paymentMove{
	{StatusPending, StatusProcessing, []Cause{CauseCharge, CausePayer}},
	{StatusPending, StatusSucceeded, []Cause{CauseCharge, CausePayer}},
	{StatusPending, StatusRequiresCapture, []Cause{CauseCharge}},
	{StatusPending, StatusRequiresAction, []Cause{CauseCharge}},
	{StatusPending, StatusFailed, []Cause{CauseCharge}},
	{StatusPending, StatusCanceled, []Cause{CauseCancel}},
	{StatusProcessing, StatusSucceeded, []Cause{CauseCharge, CausePayer}},
	{StatusProcessing, StatusRequiresCapture, []Cause{CauseCharge, CausePayer}},
	{StatusProcessing, StatusRequiresAction, []Cause{CauseCharge}},
	{StatusProcessing, StatusFailed, []Cause{CauseCharge}},
	{StatusProcessing, StatusCanceled, []Cause{CauseCancel}},
	{StatusRequiresAction, StatusSucceeded, []Cause{CauseAuthenticated}},
	{StatusRequiresAction, StatusRequiresCapture, []Cause{CauseAuthenticated}},
	{StatusRequiresAction, StatusFailed, []Cause{CauseAuthenticated}},
	{StatusRequiresAction, StatusCanceled, []Cause{CauseCancel}},
	{StatusRequiresCapture, StatusSucceeded, []Cause{CauseCapture}},
	{StatusRequiresCapture, StatusCanceled, []Cause{CauseCancel}},
}

// allowed reports whether cause may move a payment from from to to.
func allowed(from, to Status, cause Cause) bool {
	for _, m := range paymentMoves {
		if m.from == from && m.to == to {
			for _, c := range m.causes {
				if c == cause {
					return true
				}
			}
		}
	}
	return false
}

// paymentChange is one move of a payment and what is recorded with it.
type paymentChange struct {
	to    Status
	cause Cause
	// intentID is the attempt's PaymentIntent, kept if one is saved.
	intentID string
	// failure, when not nil, is why it failed or waits for the customer
	// (empty for a success); nil keeps what is recorded.
	failure *outcome
	// captured and fee, when not nil, are what was taken and the
	// platform's fee on it.
	captured, fee *int64
	// funds are the charge's, required for a move to succeeded: the
	// books post it.
	funds *funds
}

// eventOf is the outbox event of a move to to by cause; "" for none.
func eventOf(to Status, cause Cause) event.Type {
	switch {
	case to == StatusSucceeded && cause == CauseCapture:
		return EventPaymentCaptured
	case to == StatusProcessing:
		return ""
	case to == StatusCanceled:
		return EventPaymentCanceled
	}
	return eventFor[to]
}

// movePayment moves p, read in the caller's transaction or before it, as
// c says, if the table allows it from p's status and p is still there
// (status and attempt unchanged since it was read). It returns the
// payment as moved, or nil when nothing changed.
func (s *Service) movePayment(ctx context.Context, tx *sql.Tx, p *Payment, c paymentChange) (*Payment, error) {
	if !allowed(p.Status, c.to, c.cause) {
		if p.Status != c.to {
			s.logger.InfoContext(ctx, "payment move refused", "payment", p.ID, "from", p.Status, "to", c.to, "cause", c.cause)
		}
		return nil, nil
	}
	now := store.TimeOf(s.now())
	captured, fee := p.AmountCaptured, p.ApplicationFee
	if c.captured != nil {
		captured = *c.captured
	}
	if c.fee != nil {
		fee = *c.fee
	}
	f := p.failureOf()
	if c.failure != nil {
		f = *c.failure
	}
	var stripeFee sql.NullInt64
	var available *store.Time
	if c.to == StatusSucceeded {
		if c.funds == nil {
			return nil, fmt.Errorf("payment %s: succeeded without its charge's balance transaction", p.ID)
		}
		t := store.TimeOf(c.funds.availableOn)
		stripeFee, available = sql.NullInt64{Int64: c.funds.stripeFee, Valid: true}, &t
	}
	res, err := tx.ExecContext(ctx, `UPDATE payments SET status = $3, stripe_payment_intent_id = COALESCE(stripe_payment_intent_id, $4),
		failure_code = $5, decline_code = $6, failure_message = $7, failure_detail = $8, amount_captured = $9, application_fee = $10, updated_at = $11,
		stripe_fee = COALESCE(stripe_fee, $14), funds_available_at = COALESCE(funds_available_at, $15)
		WHERE platform_id = $1 AND id = $2 AND status = $12 AND attempt = $13`,
		p.PlatformID, p.ID, string(c.to), nullString(c.intentID), f.code, f.declineCode, f.message, f.detail, captured, fee, now,
		string(p.Status), p.Attempt, stripeFee, available)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, err // another run moved it first
	}
	if err := s.afterSettled(ctx, tx, p, c.to); err != nil {
		return nil, err
	}
	typ := eventOf(c.to, c.cause)
	if typ == "" && c.to != StatusSucceeded {
		// Nothing to show or post: the payment as moved, without reading
		// it back (a move to processing, once per payment).
		done := *p
		done.Status, done.AmountCaptured, done.ApplicationFee = c.to, captured, fee
		if done.StripePaymentIntentID == "" {
			done.StripePaymentIntentID = c.intentID
		}
		done.FailureCode, done.DeclineCode, done.FailureMessage, done.FailureDetail = f.code, f.declineCode, f.message, f.detail
		done.Updated = now.Time
		return &done, s.followMove(ctx, tx, &done)
	}
	done, err := getPayment(ctx, tx, p.PlatformID, p.ID)
	if err != nil {
		return nil, err
	}
	if err := s.followMove(ctx, tx, done); err != nil {
		return nil, err
	}
	if c.to == StatusSucceeded {
		if err := s.postCharge(ctx, tx, done, funds{stripeFee: done.StripeFee, availableOn: done.FundsAvailable}); err != nil {
			return nil, err
		}
	}
	if typ == "" {
		return done, nil
	}
	data := done.View()
	if c.to == StatusRequiresAction {
		na, err := s.issueAuthLink(ctx, tx, done, now.Time)
		if err != nil {
			return nil, err
		}
		data.NextAction = na
	}
	if _, err := event.Record(ctx, tx, now.Time, p.PlatformID, typ, p.ID, data); err != nil {
		return nil, fmt.Errorf("payment %s: %w", p.ID, err)
	}
	return done, nil
}

// failureOf is the failure recorded on p.
func (p *Payment) failureOf() outcome {
	return outcome{status: p.Status, code: p.FailureCode, declineCode: p.DeclineCode, message: p.FailureMessage, detail: p.FailureDetail}
}

// refundMoves is the refund's transition table; its only cause is its
// job (CauseRefund).
var refundMoves = []struct{ from, to RefundStatus }{
	{RefundPending, RefundProcessing},
	{RefundPending, RefundFailed}, // the merchant's account was out of reach before Stripe was called
	{RefundProcessing, RefundSucceeded},
	{RefundProcessing, RefundFailed},
}

// moveRefund moves r (as read) to to, if the table allows it and r is
// still where it was read; it reports whether it moved. Its events are
// the caller's (refundEvent), after what goes with the move.
//
// A refund read before another run moved it is read again, and the move
// tried from where it is now, so that r never stays behind in memory: a
// run that lost the race to processing still completes the refund (every
// part is an operation, made once), and one that lost the race to the end
// knows the refund is final.
func (s *Service) moveRefund(ctx context.Context, tx *sql.Tx, r *Refund, to RefundStatus) (bool, error) {
	for range 2 {
		ok := false
		for _, m := range refundMoves {
			ok = ok || (m.from == r.Status && m.to == to)
		}
		if !ok {
			if r.Status != to {
				s.logger.InfoContext(ctx, "refund move refused", "refund", r.ID, "from", r.Status, "to", to)
			}
			return false, nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE refunds SET status = $3, updated_at = $4 WHERE platform_id = $1 AND id = $2 AND status = $5`,
			r.PlatformID, r.ID, string(to), store.TimeOf(s.now()), string(r.Status))
		if err != nil {
			return false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			if err == nil {
				r.Status = to
			}
			return err == nil, err
		}
		var now string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM refunds WHERE platform_id = $1 AND id = $2`, r.PlatformID, r.ID).Scan(&now); err != nil {
			return false, err
		}
		r.Status = RefundStatus(now)
	}
	return false, nil
}

// refundEvent records the event of a refund's move to to, if it has one.
func (s *Service) refundEvent(ctx context.Context, tx *sql.Tx, r *Refund, to RefundStatus) error {
	typ := map[RefundStatus]event.Type{RefundSucceeded: EventRefundSucceeded, RefundFailed: EventRefundFailed}[to]
	if typ == "" {
		return nil
	}
	done, err := getRefund(ctx, tx, r.PlatformID, r.ID)
	if err != nil {
		return err
	}
	_, err = event.Record(ctx, tx, s.now(), r.PlatformID, typ, r.ID, done.View())
	return err
}

// transferMoves is the transfer's transition table. Its causes: the
// payment settling (to canceled when it failed or was canceled), and the
// transfer job (the rest).
var transferMoves = []struct{ from, to TransferStatus }{
	{TransferPending, TransferProcessing},
	{TransferPending, TransferPaid}, // nothing to move: its share of the fees took it all
	{TransferPending, TransferCanceled},
	{TransferProcessing, TransferPaid},
	{TransferProcessing, TransferFailed},
}

func transferAllowed(from, to TransferStatus) bool {
	for _, m := range transferMoves {
		if m.from == from && m.to == to {
			return true
		}
	}
	return false
}

// transferChange is one move of a transfer and what is recorded with it.
type transferChange struct {
	to                     TransferStatus
	stripeID, code, detail string
	// payment is the transfer's, required for a move to paid: the books
	// post it.
	payment *Payment
}

// moveTransfer moves t (as read) as c says, if the table allows it and t
// is still where it was read, with its event; it reports whether it
// moved. A transfer read before another run moved it is read again and
// the move tried from where it is now, as moveRefund does: a run that
// lost the race to processing, to a run that then died after Stripe made
// the transfer, still records it paid.
func (s *Service) moveTransfer(ctx context.Context, tx *sql.Tx, t *Transfer, c transferChange) (bool, error) {
	now := store.TimeOf(s.now())
	for try := 0; ; try++ {
		if !transferAllowed(t.Status, c.to) || try == 2 {
			if t.Status != c.to {
				s.logger.InfoContext(ctx, "transfer move refused", "transfer", t.ID, "from", t.Status, "to", c.to)
			}
			return false, nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE transfers SET status = $3, stripe_transfer_id = COALESCE(stripe_transfer_id, $4), failure_code = $5,
			failure_detail = $6, updated_at = $7 WHERE platform_id = $1 AND id = $2 AND status = $8`,
			t.PlatformID, t.ID, string(c.to), nullString(c.stripeID), c.code, c.detail, now, string(t.Status))
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, err
		}
		if n == 1 {
			break
		}
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM transfers WHERE platform_id = $1 AND id = $2`, t.PlatformID, t.ID).Scan(&status); err != nil {
			return false, err
		}
		t.Status = TransferStatus(status)
	}
	t.Status = c.to
	if c.to == TransferPaid {
		if c.payment == nil {
			return false, fmt.Errorf("transfer %s: paid without its payment", t.ID)
		}
		if err := s.postTransfer(ctx, tx, c.payment, t, c.payment.FundsAvailable); err != nil {
			return false, err
		}
	}
	typ := map[TransferStatus]event.Type{TransferPaid: EventTransferPaid, TransferFailed: EventTransferFailed}[c.to]
	if typ == "" {
		return true, nil
	}
	done, err := scanTransfer(tx.QueryRowContext(ctx, `SELECT `+transferCols+` FROM transfers WHERE platform_id = $1 AND id = $2`, t.PlatformID, t.ID))
	if err != nil {
		return false, err
	}
	_, err = event.Record(ctx, tx, now.Time, t.PlatformID, typ, t.ID, done.View())
	return true, err
}

// Follower is told of every move of a payment made by a package above
// this one (a standing order's cycle), in the move's transaction, so what
// follows from it commits with it or not at all. An error undoes the move.
type Follower func(ctx context.Context, tx *sql.Tx, p *Payment) error

// Follow adds f to the followers of every move. Call it before the
// Service is used.
func (s *Service) Follow(f Follower) { s.followers = append(s.followers, f) }

// followMove tells the followers of p's move.
func (s *Service) followMove(ctx context.Context, tx *sql.Tx, p *Payment) error {
	for _, f := range s.followers {
		if err := f(ctx, tx, p); err != nil {
			return fmt.Errorf("payment %s: following its move to %s: %w", p.ID, p.Status, err)
		}
	}
	return nil
}
