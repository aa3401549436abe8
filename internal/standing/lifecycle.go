package standing

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
)

// Pause stops the order's cycles until it is resumed. A cycle made before
// the pause committed is not undone: it is in the order's latest cycles.
// Pausing a paused order changes nothing. Returns errs.NotFound, and
// errs.Conflict once the order ended.
func (s *Service) Pause(ctx context.Context, platformID, orderID string) (*Order, error) {
	return s.move(ctx, platformID, orderID, func(_ *sql.Tx, o *Order) (event.Type, error) {
		switch o.Status {
		case StatusPaused:
			return "", nil
		case StatusActive:
			o.Status, o.StatusReason = StatusPaused, ReasonPlatform
			return EventPaused, nil
		}
		return "", ended(o)
	})
}

// Resume makes a paused order active again from its next cycle due after
// now: cycles that fell due while it was paused are not made up for.
// Returns errs.NotFound, and errs.Conflict once the order ended, or when
// the schedule has no cycle left (the order is completed instead).
func (s *Service) Resume(ctx context.Context, platformID, orderID string) (*Order, error) {
	return s.move(ctx, platformID, orderID, func(_ *sql.Tx, o *Order) (event.Type, error) {
		switch o.Status {
		case StatusActive:
			return "", nil
		case StatusPaused:
			prev := o.NextDate
			if !prev.IsZero() {
				prev = prev.AddDate(0, 0, -1) // the planned cycle itself may still be ahead
			}
			o.Status, o.StatusReason = StatusActive, ""
			if o.NextDate.IsZero() || !o.planFrom(o.NextSeq, prev, s.now()) {
				o.Status = StatusCompleted
				return EventCompleted, nil
			}
			return EventResumed, nil
		}
		return "", ended(o)
	})
}

// Cancel ends the order: no cycle is made after the cancel commits. A
// cycle made before it is reported in the order's latest cycles with its
// payment, for the platform to cancel or refund as it sees fit; Tender
// never charges a cycle after a cancel it has recorded. Canceling twice
// changes nothing. Returns errs.NotFound, and errs.Conflict when the
// order completed.
func (s *Service) Cancel(ctx context.Context, platformID, orderID string) (*Order, error) {
	return s.move(ctx, platformID, orderID, func(_ *sql.Tx, o *Order) (event.Type, error) {
		switch o.Status {
		case StatusCanceled:
			return "", nil
		case StatusActive, StatusPaused:
			o.Status, o.StatusReason = StatusCanceled, ReasonPlatform
			return EventCanceled, nil
		}
		return "", ended(o)
	})
}

// UpdateParams change an order from its next cycle not yet made. Nil
// fields are left as they are; an empty payment_method means the
// customer's default card.
type UpdateParams struct {
	Amount        *int64             `json:"amount"`
	PaymentMethod *string            `json:"payment_method" text:"255"`
	Description   *string            `json:"description" text:"1000,multiline"`
	Metadata      *map[string]string `json:"metadata" text:"500,multiline,keys=40"`
}

// Update changes the amount, card, description or metadata of the
// order's cycles not yet made, checked as Create checks them. Returns
// errs.Invalid naming the field, errs.NotFound, and errs.Conflict once
// the order ended.
func (s *Service) Update(ctx context.Context, platformID, orderID string, p UpdateParams) (*Order, error) {
	if err := text.Validate(&p); err != nil {
		return nil, err
	}
	o, err := get(ctx, s.db, platformID, orderID)
	if err != nil {
		return nil, err
	}
	if p.Amount != nil {
		if *p.Amount <= 0 {
			return nil, errs.Invalidf("amount", "amount must be a positive number of minor units.")
		}
		o.Amount = *p.Amount
	}
	if p.PaymentMethod != nil {
		o.PaymentMethodID = *p.PaymentMethod
	}
	if p.Description != nil {
		o.Description = *p.Description
	}
	if p.Metadata != nil {
		o.Metadata = *p.Metadata
	}
	if _, err := s.payments.Check(ctx, platformID, o.paymentParams()); err != nil {
		return nil, err
	}
	return s.move(ctx, platformID, orderID, func(tx *sql.Tx, cur *Order) (event.Type, error) {
		if cur.Status == StatusCanceled || cur.Status == StatusCompleted {
			return "", ended(cur)
		}
		newCard := cur.PaymentMethodID != o.PaymentMethodID
		cur.Amount, cur.PaymentMethodID, cur.Description, cur.Metadata = o.Amount, o.PaymentMethodID, o.Description, o.Metadata
		if newCard {
			return EventUpdated, s.reviveOnNewCard(ctx, tx, cur)
		}
		return EventUpdated, nil
	})
}

func ended(o *Order) error {
	return errs.E(errs.Conflict, "Standing order %s is %s.", o.ID, o.Status).WithReason("standing_order_" + string(o.Status))
}

// paymentParams are what a cycle of the order is charged with.
func (o *Order) paymentParams() payment.CreateParams {
	p := payment.CreateParams{Merchant: o.MerchantID, Customer: o.CustomerID, PaymentMethod: o.PaymentMethodID, Amount: o.Amount,
		Currency: o.Currency.Lower(), ChargeType: o.ChargeType, Splits: o.Splits, OffSession: true, Description: o.Description,
		Reference: o.Reference, Metadata: o.Metadata}
	if len(p.Splits) == 0 {
		p.Splits = nil
	}
	return p
}

// move reads the order, lets change move it (returning the event of the
// move, or "" for none), and writes it only if no other run moved it
// since it was read: the scheduler's guard is the order's status and next
// cycle, so a move that commits first stops a cycle, and one that loses
// is tried again on the order as it now is. The answer commits with it.
func (s *Service) move(ctx context.Context, platformID, orderID string, change func(*sql.Tx, *Order) (event.Type, error)) (*Order, error) {
	for range 3 {
		var out *Order
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := lockOrder(ctx, tx, platformID, orderID); err != nil {
				return err
			}
			o, err := get(ctx, tx, platformID, orderID)
			if err != nil {
				return err
			}
			was := *o
			typ, err := change(tx, o)
			if err != nil {
				return err
			}
			out = o
			if typ != "" {
				if err := s.save(ctx, tx, &was, o); err != nil {
					return err
				}
				if err := withLatest(ctx, tx, o); err != nil {
					return err
				}
				if _, err := event.Record(ctx, tx, o.Updated, platformID, typ, o.ID, o.View()); err != nil {
					return err
				}
			} else if err := withLatest(ctx, tx, o); err != nil {
				return err
			}
			return idempotency.Commit(ctx, tx, o.View())
		})
		if !errors.Is(err, errMoved) {
			return out, err
		}
	}
	return nil, errs.E(errs.Conflict, "Standing order %s is being changed by another request; retry.", orderID).WithReason("standing_order_busy")
}

// save writes the order's mutable fields, if it is as was.
func (s *Service) save(ctx context.Context, tx *sql.Tx, was, o *Order) error {
	o.Updated = s.now()
	res, err := tx.ExecContext(ctx, `UPDATE standing_orders SET status = $3, status_reason = $4, next_seq = $5, next_date = $6,
		next_due_at = $7, next_charge_at = $8, amount = $9, payment_method_id = $10, description = $11, metadata = $12, updated_at = $13
		WHERE platform_id = $1 AND id = $2 AND status = $14 AND next_seq = $15`,
		o.PlatformID, o.ID, string(o.Status), o.StatusReason, o.NextSeq, nullDate(o.NextDate), nullTime(o.NextDue), nullTime(o.NextCharge),
		o.Amount, o.PaymentMethodID, o.Description, marshal(o.Metadata), store.TimeOf(o.Updated), string(was.Status), was.NextSeq)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, errMoved)
	}
	return nil
}
