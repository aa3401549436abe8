package dispute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
)

const cols = `platform_id, id, payment_id, merchant_id, account, stripe_dispute_id, stripe_charge_id, amount, currency, reason, status,
	bearer, payer, evidence_due_by, has_evidence, submission_count, withdrawn, fees, deadline_warned, created_at, updated_at`

func scan(sc store.Scanner) (*Dispute, error) {
	d := &Dispute{}
	var cur, status, bearer, payer string
	var due, created, updated store.Time
	if err := sc.Scan(&d.PlatformID, &d.ID, &d.PaymentID, &d.MerchantID, &d.Account, &d.StripeID, &d.ChargeID, &d.Amount, &cur,
		&d.Reason, &status, &bearer, &payer, &due, &d.HasEvidence, &d.Submissions, &d.Withdrawn, &d.Fees, &d.DeadlineWarned,
		&created, &updated); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, fmt.Errorf("dispute %s: %w", d.ID, err)
	}
	d.Payer = Bearer(payer)
	d.Currency, d.Status, d.Bearer, d.DueBy, d.Created, d.Updated = c, Status(status), Bearer(bearer), due.Ptr(), created.Time, updated.Time
	return d, nil
}

func get(ctx context.Context, q store.Querier, platformID, disputeID string) (*Dispute, error) {
	d, err := scan(q.QueryRowContext(ctx, `SELECT `+cols+` FROM disputes WHERE platform_id = $1 AND id = $2`, platformID, disputeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such dispute: '%s'.", disputeID)
	}
	return d, err
}

func byStripeID(ctx context.Context, q store.Querier, platformID, stripeID string) (*Dispute, error) {
	d, err := scan(q.QueryRowContext(ctx, `SELECT `+cols+` FROM disputes WHERE platform_id = $1 AND stripe_dispute_id = $2`,
		platformID, stripeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("", "No dispute of Stripe dispute %s.", stripeID)
	}
	return d, err
}

// Get returns one of the platform's disputes. Returns errs.NotFound.
func (s *Service) Get(ctx context.Context, platformID, disputeID string) (*Dispute, error) {
	d, err := get(ctx, s.db, platformID, disputeID)
	if err != nil {
		return nil, err
	}
	return d, withRecoveries(ctx, s.db, d)
}

// Filter narrows a list of disputes; empty fields match all.
type Filter struct {
	MerchantID string
	PaymentID  string
	Status     Status
}

// ValidStatus reports whether s is a dispute status, or empty (any).
func ValidStatus(s Status) bool {
	if s == "" {
		return true
	}
	for _, v := range statuses {
		if v == s {
			return true
		}
	}
	return false
}

// List returns a page of the platform's disputes, newest first.
func (s *Service) List(ctx context.Context, platformID string, f Filter, page store.Page) ([]*Dispute, bool, error) {
	q, args := `SELECT `+cols+` FROM disputes WHERE platform_id = $1`, []any{platformID}
	for _, c := range []struct{ col, v string }{{"merchant_id", f.MerchantID}, {"payment_id", f.PaymentID}, {"status", string(f.Status)}} {
		if c.v != "" {
			args = append(args, c.v)
			q += " AND " + c.col + " = $" + strconv.Itoa(len(args))
		}
	}
	ds, more, err := store.List(ctx, s.db, page, scan, q, args...)
	if err != nil {
		return nil, false, err
	}
	return ds, more, withRecoveries(ctx, s.db, ds...)
}
