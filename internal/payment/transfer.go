package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/nullable"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// TransferPrefix is the prefix of a transfer's id.
const TransferPrefix = "trf"

// TransferStatus is where one split's transfer stands.
type TransferStatus string

// Transfer statuses.
const (
	// TransferPending: waiting for its payment to be captured.
	TransferPending TransferStatus = "pending"
	// TransferProcessing: being made at Stripe, or to be looked up there
	// before it is made again.
	TransferProcessing TransferStatus = "processing"
	// TransferPaid: the money is on its way to the merchant's account (it
	// becomes available there when the charge's funds do).
	TransferPaid TransferStatus = "paid"
	// TransferFailed: Stripe refused it (the merchant's account cannot
	// receive transfers, say); the money stays on the platform's account
	// and the operator is told by a transfer.failed event.
	TransferFailed TransferStatus = "failed"
	// TransferCanceled: its payment failed or was canceled, so there is
	// nothing to transfer.
	TransferCanceled TransferStatus = "canceled"
)

// Transfer events.
const (
	EventTransferPaid     event.Type = "transfer.paid"
	EventTransferFailed   event.Type = "transfer.failed"
	EventTransferReversed event.Type = "transfer.reversed"
)

// Transfer moves one merchant's part of a separate charge from the
// platform's account to the merchant's.
type Transfer struct {
	ID         string
	PlatformID string
	PaymentID  string
	Position   int64
	MerchantID string
	AccountID  string
	// SplitAmount is the merchant's part of the charge as asked; Amount
	// what is transferred (0 until it is made): the captured amount less
	// the platform's fee, shared out over the splits (see amounts).
	SplitAmount      int64
	Amount           int64
	AmountReversed   int64
	Currency         money.Currency
	Status           TransferStatus
	StripeTransferID string
	FailureCode      string
	FailureDetail    string // Stripe's words, for the operator
	Created          time.Time
	Updated          time.Time
}

const transferCols = `platform_id, id, payment_id, position, merchant_id, account_id, split_amount, amount, amount_reversed, currency,
	status, stripe_transfer_id, failure_code, failure_detail, created_at, updated_at`

func scanTransfer(row store.Scanner) (*Transfer, error) {
	var t Transfer
	var cur, status string
	var stripeID sql.NullString
	var created, updated store.Time
	if err := row.Scan(&t.PlatformID, &t.ID, &t.PaymentID, &t.Position, &t.MerchantID, &t.AccountID, &t.SplitAmount, &t.Amount,
		&t.AmountReversed, &cur, &status, &stripeID, &t.FailureCode, &t.FailureDetail, &created, &updated); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, fmt.Errorf("transfer %s: %w", t.ID, err)
	}
	t.Currency, t.Status, t.StripeTransferID, t.Created, t.Updated = c, TransferStatus(status), stripeID.String, created.Time, updated.Time
	return &t, nil
}

// transfersOf returns a payment's transfers in the order of its splits.
func transfersOf(ctx context.Context, q store.Querier, platformID, paymentID string) ([]*Transfer, error) {
	return store.All(ctx, q, scanTransfer, `SELECT `+transferCols+` FROM transfers WHERE platform_id = $1 AND payment_id = $2 ORDER BY position`,
		platformID, paymentID)
}

// split is a validated split: the merchant's connected account and its
// part.
type split struct {
	merchantID, accountID string
	amount                int64
}

// insertTransfers writes a separate charge's transfers, pending, with the
// payment.
func insertTransfers(ctx context.Context, tx *sql.Tx, p *Payment, splits []split) error {
	for i, sp := range splits {
		t := &Transfer{ID: id.For(ctx, TransferPrefix), PlatformID: p.PlatformID, PaymentID: p.ID, Position: int64(i), MerchantID: sp.merchantID,
			AccountID: sp.accountID, SplitAmount: sp.amount, Currency: p.Currency, Status: TransferPending, Created: p.Created, Updated: p.Created}
		if _, err := tx.ExecContext(ctx, `INSERT INTO transfers (platform_id, id, payment_id, position, merchant_id, account_id, split_amount,
			currency, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			t.PlatformID, t.ID, t.PaymentID, t.Position, t.MerchantID, t.AccountID, t.SplitAmount, t.Currency.Lower(), string(t.Status),
			store.TimeOf(t.Created)); err != nil {
			return fmt.Errorf("insert transfer: %w", err)
		}
		p.Transfers = append(p.Transfers, t)
	}
	return nil
}

// afterSettled runs in the transaction that settles a payment: a separate
// charge that succeeded gets the job that makes its transfers, and one
// that failed or was canceled has nothing to transfer; a direct charge
// whose platform bears Stripe's fee gets the job that pays it back.
func (s *Service) afterSettled(ctx context.Context, tx *sql.Tx, p *Payment, status Status) error {
	if p.coversStripeFee() && status == StatusSucceeded {
		_, err := s.jobs().InsertTx(ctx, tx, StripeFeeArgs{PlatformID: p.PlatformID, PaymentID: p.ID}, stripeFeeOpts)
		return err
	}
	if p.ChargeType != ChargeSeparate {
		return nil
	}
	switch status {
	case StatusSucceeded:
		_, err := s.jobs().InsertTx(ctx, tx, TransferArgs{PlatformID: p.PlatformID, PaymentID: p.ID}, transferOpts)
		return err
	case StatusFailed, StatusCanceled:
		for _, t := range p.Transfers {
			if _, err := s.moveTransfer(ctx, tx, t, transferChange{to: TransferCanceled}); err != nil {
				return err
			}
		}
	}
	return nil
}

// TransferArgs is the job that makes a separate charge's transfers once it
// has been captured.
type TransferArgs struct {
	PlatformID string `json:"platform_id"`
	PaymentID  string `json:"payment_id"`
}

// Kind implements river.JobArgs.
func (TransferArgs) Kind() string { return "payment.transfer" }

var transferOpts = &river.InsertOpts{MaxAttempts: MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}

// TransferWorker runs TransferArgs jobs; running one twice transfers once
// (see Service.Transfer).
type TransferWorker struct {
	river.WorkerDefaults[TransferArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *TransferWorker) Work(ctx context.Context, job *river.Job[TransferArgs]) error {
	return w.Payments.Transfer(ctx, job.Args.PlatformID, job.Args.PaymentID)
}

// Transfer makes the transfers of a captured separate charge, each once,
// whatever happened to an earlier run:
//
//   - Their amounts are fixed, in one statement, before the first is made.
//   - A transfer moves to processing, committed, before Stripe is called;
//     one found processing is first looked for on the platform's account
//     among the transfers of the payment's transfer_group, by Tender's
//     metadata. Stripe's lists, unlike its search, show what was just
//     written, so finding nothing means it was not made.
//   - The creation's idempotency key is derived from the transfer and a
//     try number, moved on after a 5xx (which Stripe would replay to the
//     same key) once the list showed nothing.
//
// It returns an error, for River to retry, while an outcome is unknown.
func (s *Service) Transfer(ctx context.Context, platformID, paymentID string) error {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return err
	}
	if p.ChargeType != ChargeSeparate || p.Status != StatusSucceeded {
		return nil
	}
	var todo []*Transfer
	for _, t := range p.Transfers {
		if t.Status == TransferPending || t.Status == TransferProcessing {
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return err
	}
	needFee := p.StripeFeePayer == StripeFeeMerchant
	pi, err := s.chargedIntent(ctx, sc, p, (needFee && !p.StripeFeeKnown) || p.FundsAvailable.IsZero())
	if err != nil {
		return err
	}
	if p.FundsAvailable.IsZero() { // captured before the books kept it
		f, ok := fundsOf(pi.LatestCharge)
		if !ok {
			return fmt.Errorf("payment %s: its charge has no balance transaction yet; will retry", p.ID)
		}
		p.FundsAvailable = f.availableOn
	}
	if needFee {
		if _, err := s.recordStripeFee(ctx, p, pi); err != nil {
			return err
		}
	}
	if err := s.fixAmounts(ctx, p); err != nil {
		return err
	}
	var errs []error
	for _, t := range todo {
		if t.Amount == 0 {
			// Nothing to move (a split whose share of the fee took it all);
			// Stripe refuses a transfer of 0.
			if err := s.recordTransfer(ctx, p, t, TransferPaid, "", "", ""); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := s.makeTransfer(ctx, sc, p, t, pi.LatestCharge.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// amounts shares what a separate charge leaves after the platform's fee
// (and Stripe's, when the merchants bear it) over its splits:
// money.Allocate of (amount captured − fee [− Stripe's fee]) in proportion
// to the split amounts, largest remainder first, so the transfers and the
// fees add up to the amount captured exactly, whatever the rounding. With
// the whole amount captured and no fees each merchant gets its split.
func amounts(p *Payment) ([]int64, error) {
	weights := make([]int64, len(p.Transfers))
	for i, t := range p.Transfers {
		weights[i] = t.SplitAmount
	}
	left := p.AmountCaptured - p.ApplicationFee
	if p.StripeFeePayer == StripeFeeMerchant {
		left -= p.StripeFee
	}
	return money.Allocate(max(left, 0), weights)
}

// fixAmounts sets the transfers' amounts, all in one statement per
// transfer within one transaction, the first time; later runs find them
// set and compute nothing.
func (s *Service) fixAmounts(ctx context.Context, p *Payment) error {
	if len(p.Transfers) == 0 || p.Transfers[0].Status != TransferPending || p.Transfers[0].Amount != 0 {
		return nil
	}
	parts, err := amounts(p)
	if err != nil {
		return fmt.Errorf("payment %s: sharing out its transfers: %w", p.ID, err)
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for i, t := range p.Transfers {
			if _, err := tx.ExecContext(ctx, `UPDATE transfers SET amount = $3 WHERE platform_id = $1 AND id = $2 AND status = $4 AND amount = 0`,
				p.PlatformID, t.ID, parts[i], string(TransferPending)); err != nil {
				return err
			}
			t.Amount = parts[i]
		}
		return nil
	})
}

// makeTransfer makes one transfer at Stripe as an operation (stripeop):
// found among the payment's transfer_group by Tender's metadata if an
// earlier run made it, and recorded.
func (s *Service) makeTransfer(ctx context.Context, sc *stripe.Client, p *Payment, t *Transfer, chargeID string) error {
	if t.Status == TransferPending {
		if err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := s.moveTransfer(ctx, tx, t, transferChange{to: TransferProcessing})
			return err
		}); err != nil {
			return err
		}
	}
	res, err := s.ops.Run(ctx, stripeop.Op{
		PlatformID: p.PlatformID, Kind: stripeop.CreateTransfer, Object: t.ID, Key: []string{"transfer", t.ID, "create"}, Step: "transfer",
		Find: func(ctx context.Context) (string, error) {
			tr, err := s.findTransfer(ctx, sc, p, t)
			if tr == nil {
				return "", err
			}
			return tr.ID, nil
		},
		Call: func(ctx context.Context, key string) (string, error) {
			params := &stripe.TransferCreateParams{
				Amount: stripe.Int64(t.Amount), Currency: stripe.String(t.Currency.Lower()), Destination: stripe.String(t.AccountID),
				SourceTransaction: stripe.String(chargeID), TransferGroup: stripe.String(p.ID),
				Metadata: map[string]string{"tender_transfer": t.ID, "tender_payment": p.ID},
			}
			params.SetIdempotencyKey(key)
			tr, err := sc.V1Transfers.Create(ctx, params)
			if err != nil {
				return "", err
			}
			return tr.ID, nil
		},
	})
	if f := stripeop.AsFailed(err); f != nil {
		return s.transferFailed(ctx, p, t, f.Outcome)
	}
	if err != nil {
		return err
	}
	return s.recordTransfer(ctx, p, t, TransferPaid, res.StripeID, "", "")
}

// findTransfer returns the transfer an earlier run made for t, or nil.
func (s *Service) findTransfer(ctx context.Context, sc *stripe.Client, p *Payment, t *Transfer) (*stripe.Transfer, error) {
	tr, err := first(sc.V1Transfers.List(ctx, &stripe.TransferListParams{TransferGroup: stripe.String(p.ID)}).All(ctx),
		func(tr *stripe.Transfer) bool { return tr.Metadata["tender_transfer"] == t.ID })
	if err != nil {
		return nil, fmt.Errorf("transfer %s: looking for it at Stripe: %w", t.ID, err)
	}
	return tr, nil
}

// transferFailed acts on a refused or failed transfer: a refusal about the
// merchant's account, or any other invalid request, fails it for the
// operator (the money stays on the platform); anything else is retried
// (after a stored 5xx on a new key: see stripeop).
func (s *Service) transferFailed(ctx context.Context, p *Payment, t *Transfer, o stripeapi.Outcome) error {
	if o.Code == "insufficient_capabilities_for_transfer" || o.Param == "destination" {
		o.Kind = stripeapi.KindAccountInvalid
	}
	switch {
	case o.Kind == stripeapi.KindAccountInvalid:
		if err := s.recordTransfer(ctx, p, t, TransferFailed, "", "account_invalid", o.Message); err != nil {
			return err
		}
		if _, err := s.connect.Refresh(ctx, p.PlatformID, t.MerchantID); err != nil {
			s.logger.WarnContext(ctx, "refreshing a merchant whose account refused a transfer", "merchant", t.MerchantID, "err", err)
		}
		return nil
	case o.Kind == stripeapi.KindInvalidRequest, o.Kind == stripeapi.KindIdempotency && !o.Retryable:
		return s.recordTransfer(ctx, p, t, TransferFailed, "", orDefault(o.Code, "invalid_request"), o.Message)
	}
	return fmt.Errorf("transfer %s: %s at Stripe, will retry: %w", t.ID, o.Kind, errors.Join(o.Cause, o.Err()))
}

// recordTransfer records a transfer's outcome and its event in one
// transaction, once.
func (s *Service) recordTransfer(ctx context.Context, p *Payment, t *Transfer, status TransferStatus, stripeID, code, detail string) error {
	if detail != "" {
		s.logger.WarnContext(ctx, "transfer failed", "transfer", t.ID, "payment", p.ID, "merchant", t.MerchantID, "code", code, "detail", detail)
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := s.moveTransfer(ctx, tx, t, transferChange{to: status, stripeID: stripeID, code: code, detail: detail, payment: p})
		return err
	})
}

// TransferView is a transfer as the API shows it.
type TransferView struct {
	ID             string         `json:"id"`
	Object         string         `json:"object"`
	Payment        string         `json:"payment"`
	Merchant       string         `json:"merchant"`
	StripeAccount  string         `json:"stripe_account"`
	SplitAmount    int64          `json:"split_amount"`
	Amount         int64          `json:"amount"`
	AmountReversed int64          `json:"amount_reversed"`
	Currency       string         `json:"currency"`
	Status         TransferStatus `json:"status"`
	StripeTransfer *string        `json:"stripe_transfer"`
	FailureCode    *string        `json:"failure_code"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// View returns t as the API shows it.
func (t *Transfer) View() TransferView {
	return TransferView{ID: t.ID, Object: "transfer", Payment: t.PaymentID, Merchant: t.MerchantID, StripeAccount: t.AccountID,
		SplitAmount: t.SplitAmount, Amount: t.Amount, AmountReversed: t.AmountReversed, Currency: t.Currency.Lower(), Status: t.Status,
		StripeTransfer: nullable.String(t.StripeTransferID), FailureCode: nullable.String(t.FailureCode), CreatedAt: t.Created, UpdatedAt: t.Updated}
}
