package dispute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
)

// Observe applies what Stripe says now of a dispute, sd (read from Stripe
// on account, its balance transactions included): the Tender dispute is
// made or moved to Stripe's status, each balance transaction not posted yet
// is posted to the books, and the platform's events are recorded, in one
// transaction. A dispute already closed is never moved back. Observing the
// same state again changes nothing. Returns errs.NotFound for a dispute of
// a charge Tender did not make, and payment.ErrNotSettled when Tender has
// not recorded the payment's success yet.
func (s *Service) Observe(ctx context.Context, platformID, account string, sd *stripe.Dispute) (*Dispute, error) {
	return s.observeThen(ctx, platformID, account, sd, nil)
}

// observeThen is Observe, running also (when not nil) in its transaction
// with the dispute as recorded.
func (s *Service) observeThen(ctx context.Context, platformID, account string, sd *stripe.Dispute,
	also func(*sql.Tx, *Dispute) error) (*Dispute, error) {
	if sd.PaymentIntent == nil {
		return nil, errs.NotFoundf("", "Dispute %s is of a charge without a PaymentIntent.", sd.ID)
	}
	p, err := s.payments.OfIntent(ctx, platformID, sd.PaymentIntent.ID)
	if err != nil {
		return nil, err
	}
	if p.StripeAccount() != account {
		return nil, errs.NotFoundf("", "Dispute %s is on %q, not where payment %s was charged.", sd.ID, account, p.ID)
	}
	if p.Status != payment.StatusSucceeded {
		return nil, fmt.Errorf("%w: payment %s is %s, dispute %s at Stripe", payment.ErrNotSettled, p.ID, p.Status, sd.ID)
	}
	payer, err := s.payerOf(ctx, p)
	if err != nil {
		return nil, err
	}
	var out *Dispute
	for range 3 {
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if out, err = s.observe(ctx, tx, p, payer, sd); err != nil || also == nil {
				return err
			}
			return also(tx, out)
		})
		if !errors.Is(err, errMoved) {
			return out, err
		}
	}
	return nil, fmt.Errorf("dispute %s: %w three times; will retry", sd.ID, err)
}

// errMoved says another run moved the dispute after this one read it.
var errMoved = errors.New("moved by another run")

// observe does Observe's work in tx. It returns errMoved when another run
// moved the dispute after it was read, for Observe to read it again.
func (s *Service) observe(ctx context.Context, tx *sql.Tx, p *payment.Payment, payer Bearer, sd *stripe.Dispute) (*Dispute, error) {
	now := s.now()
	was, err := byStripeID(ctx, tx, p.PlatformID, sd.ID)
	created := errs.Is(err, errs.NotFound)
	if created {
		if was, err = s.insert(ctx, tx, p, payer, sd, now); err != nil {
			return nil, err
		}
		if was == nil {
			return nil, errMoved
		}
	} else if err != nil {
		return nil, err
	}
	next := *was
	if !was.Status.closed() {
		next.Status = Status(sd.Status)
	}
	next.HasEvidence, next.Submissions, next.DueBy = evidenceOf(sd)
	next.Withdrawn, next.Fees = 0, 0
	for _, bt := range sd.BalanceTransactions {
		next.Withdrawn -= bt.Amount
		next.Fees += bt.Fee
		if err := s.post(ctx, tx, p, &next, bt); err != nil {
			return nil, err
		}
	}
	if same(was, &next) && !created {
		return was, nil
	}
	next.Updated = now
	moved, err := s.save(ctx, tx, was, &next)
	if err != nil {
		return nil, err
	}
	if !moved {
		return nil, errMoved
	}
	if next.recovers() {
		// The merchant's share follows every move of the platform's money
		// (withdrawn, reinstated, decided); the job works out what is owed.
		if _, err := s.jobs().InsertTx(ctx, tx, RecoverArgs{PlatformID: next.PlatformID, DisputeID: next.ID}, recoverOpts); err != nil {
			return nil, err
		}
		if err := withRecoveries(ctx, tx, &next); err != nil {
			return nil, err
		}
	}
	return &next, s.record(ctx, tx, was, &next, created)
}

// payerOf is who finally bears a dispute of p: its bearer, unless the
// platform bears it and the policy that priced p passes it on.
func (s *Service) payerOf(ctx context.Context, p *payment.Payment) (Bearer, error) {
	if bearerOf(p) == BearerMerchant {
		return BearerMerchant, nil
	}
	payer, err := s.payments.DisputePayerOf(ctx, p)
	if err != nil {
		return "", err
	}
	if payer == payment.DisputeMerchant {
		return BearerMerchant, nil
	}
	return BearerPlatform, nil
}

func evidenceOf(sd *stripe.Dispute) (has bool, submissions int, dueBy *time.Time) {
	if d := sd.EvidenceDetails; d != nil {
		has, submissions = d.HasEvidence, int(d.SubmissionCount)
		if d.DueBy > 0 {
			t := time.Unix(d.DueBy, 0).UTC()
			dueBy = &t
		}
	}
	return has, submissions, dueBy
}

// insert writes a new dispute as Stripe shows it before its balance
// transactions are counted; nil if another run inserted it first.
func (s *Service) insert(ctx context.Context, tx *sql.Tx, p *payment.Payment, payer Bearer, sd *stripe.Dispute, now time.Time) (*Dispute, error) {
	cur, err := money.ParseCurrency(string(sd.Currency))
	if err != nil {
		return nil, fmt.Errorf("dispute %s: %w", sd.ID, err)
	}
	d := &Dispute{ID: id.New(Prefix), PlatformID: p.PlatformID, PaymentID: p.ID, MerchantID: p.MerchantID, Account: p.StripeAccount(),
		StripeID: sd.ID, Amount: sd.Amount, Currency: cur, Reason: string(sd.Reason), Status: Status(sd.Status),
		Bearer: bearerOf(p), Payer: payer, Created: now, Updated: now}
	if sd.Charge != nil {
		d.ChargeID = sd.Charge.ID
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO disputes (platform_id, id, payment_id, merchant_id, account, stripe_dispute_id,
		stripe_charge_id, amount, currency, reason, status, bearer, payer, evidence_due_by, has_evidence, submission_count, withdrawn,
		fees, deadline_warned, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, false, 0, 0, 0, false, $14, $14)
		ON CONFLICT (platform_id, stripe_dispute_id) DO NOTHING`,
		d.PlatformID, d.ID, d.PaymentID, d.MerchantID, d.Account, d.StripeID, d.ChargeID, d.Amount, d.Currency.Lower(), d.Reason,
		string(d.Status), string(d.Bearer), string(d.Payer), store.TimeOf(now))
	if err != nil {
		return nil, fmt.Errorf("insert dispute: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, err
	}
	return d, nil
}

// bearerOf is the rule of who bears a payment's dispute: whoever's balance
// holds the charge at Stripe.
func bearerOf(p *payment.Payment) Bearer {
	if p.ChargeType == payment.ChargeDirect {
		return BearerMerchant
	}
	return BearerPlatform
}

// same reports whether nothing Stripe tells of changed.
func same(a, b *Dispute) bool {
	return a.Status == b.Status && a.HasEvidence == b.HasEvidence && a.Submissions == b.Submissions &&
		equalTime(a.DueBy, b.DueBy) && a.Withdrawn == b.Withdrawn && a.Fees == b.Fees
}

// save moves the dispute from was to next, if no other run moved it since
// it was read.
func (s *Service) save(ctx context.Context, tx *sql.Tx, was, next *Dispute) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE disputes SET status = $3, evidence_due_by = $4, has_evidence = $5, submission_count = $6,
		withdrawn = $7, fees = $8, updated_at = $9
		WHERE platform_id = $1 AND id = $2 AND status = $10 AND withdrawn = $11 AND fees = $12 AND submission_count = $13 AND has_evidence = $14`,
		next.PlatformID, next.ID, string(next.Status), timePtr(next.DueBy), next.HasEvidence, next.Submissions, next.Withdrawn, next.Fees,
		store.TimeOf(next.Updated), string(was.Status), was.Withdrawn, was.Fees, was.Submissions, was.HasEvidence)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func timePtr(t *time.Time) *store.Time {
	if t == nil {
		return nil
	}
	v := store.TimeOf(*t)
	return &v
}

// record records the platform's events of a dispute's move.
func (s *Service) record(ctx context.Context, tx *sql.Tx, was, next *Dispute, created bool) error {
	var types []event.Type
	switch {
	case created:
		types = append(types, EventCreated)
	case next.Status != was.Status || next.HasEvidence != was.HasEvidence || next.Submissions != was.Submissions ||
		!equalTime(next.DueBy, was.DueBy):
		if !next.Status.closed() {
			types = append(types, EventUpdated)
		}
	}
	if next.Withdrawn > was.Withdrawn || next.Fees > was.Fees {
		types = append(types, EventFundsWithdrawn)
	}
	if next.Withdrawn < was.Withdrawn {
		types = append(types, EventFundsReinstated)
	}
	if next.Status.closed() && (created || !was.Status.closed()) {
		types = append(types, EventClosed)
	}
	for _, t := range types {
		if _, err := event.Record(ctx, tx, next.Updated, next.PlatformID, t, next.ID, next.View()); err != nil {
			return err
		}
	}
	return nil
}

func equalTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// post posts one of the dispute's balance transactions, once (its cause
// is the transaction's id): the amount between the bearer's balance and
// the customers (withdrawn from the bearer when negative, given back when
// positive), and Stripe's dispute fee from the bearer to Stripe.
func (s *Service) post(ctx context.Context, tx *sql.Tx, p *payment.Payment, d *Dispute, bt *stripe.BalanceTransaction) error {
	if bt == nil || bt.ID == "" || (bt.Amount == 0 && bt.Fee == 0) {
		return nil
	}
	cur, err := money.ParseCurrency(string(bt.Currency))
	if err != nil {
		return fmt.Errorf("dispute %s: balance transaction %s: %w", d.ID, bt.ID, err)
	}
	bearer, merchant := ledger.PlatformBalance(), p.MerchantID
	if d.Bearer == BearerMerchant {
		bearer = ledger.MerchantBalance(p.MerchantID)
	}
	if p.ChargeType == payment.ChargeSeparate {
		merchant = "" // a separate charge's entries belong to no one merchant
	}
	available := time.Unix(bt.AvailableOn, 0).UTC()
	e := ledger.Entry{PlatformID: p.PlatformID, Cause: "dispute:" + d.ID + ":" + bt.ID, Kind: ledger.EntryDispute,
		At: time.Unix(bt.Created, 0).UTC(), MerchantID: merchant, PaymentID: p.ID}
	if bt.Amount != 0 {
		e.Postings = append(e.Postings,
			ledger.Posting{Account: bearer, Amount: money.New(bt.Amount, cur), Role: ledger.RoleDispute, AvailableOn: available},
			ledger.Posting{Account: ledger.CustomerPayments(), Amount: money.New(-bt.Amount, cur), Role: ledger.RoleDispute})
	}
	if bt.Fee != 0 {
		e.Postings = append(e.Postings,
			ledger.Posting{Account: bearer, Amount: money.New(-bt.Fee, cur), Role: ledger.RoleDisputeFee, AvailableOn: available},
			ledger.Posting{Account: ledger.StripeFees(), Amount: money.New(bt.Fee, cur), Role: ledger.RoleDisputeFee})
	}
	_, err = s.ledger.Post(ctx, tx, e)
	return err
}
