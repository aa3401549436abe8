package payout

import (
	"context"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/nullable"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// View is a payout as the API shows it.
type View struct {
	ID             string    `json:"id"`
	Object         string    `json:"object"`
	Merchant       *string   `json:"merchant"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	Status         Status    `json:"status"`
	Automatic      bool      `json:"automatic"`
	Method         string    `json:"method"`
	ArrivalDate    time.Time `json:"arrival_date"`
	FailureCode    *string   `json:"failure_code"`
	FailureMessage *string   `json:"failure_message"`
	StripePayout   string    `json:"stripe_payout"`
	StripeAccount  *string   `json:"stripe_account"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	// BalanceTransactions are shown with one automatic payout, read from
	// Stripe: what it paid out.
	BalanceTransactions []TransactionView `json:"balance_transactions,omitempty"`
}

// TransactionView is one of Stripe's balance transactions in a payout,
// with the Tender objects it belongs to.
type TransactionView struct {
	ID       string  `json:"id"`
	Type     string  `json:"type"`
	Amount   int64   `json:"amount"`
	Fee      int64   `json:"fee"`
	Net      int64   `json:"net"`
	Source   *string `json:"source"`
	Payment  *string `json:"payment"`
	Refund   *string `json:"refund"`
	Transfer *string `json:"transfer"`
	Dispute  *string `json:"dispute"`
}

// View returns p as lists show it.
func (p *Payout) View() View {
	return View{ID: p.ID, Object: "payout", Merchant: nullable.String(p.MerchantID), Amount: p.Amount, Currency: p.Currency.Lower(),
		Status: p.Status, Automatic: p.Automatic, Method: p.Method, ArrivalDate: p.ArrivalDate,
		FailureCode: nullable.String(p.FailureCode), FailureMessage: nullable.String(p.FailureMessage), StripePayout: p.StripeID,
		StripeAccount: nullable.String(p.Account), CreatedAt: p.Created, UpdatedAt: p.Updated}
}

// Detail returns the payout with, for an automatic one, the balance
// transactions it paid out (Stripe lists them by payout for automatic
// payouts only), each with the Tender payment, refund, transfer or
// dispute it belongs to, found by Tender's metadata and ids. Returns
// errs.NotFound, and errs.Unavailable when Stripe cannot be read.
func (s *Service) Detail(ctx context.Context, platformID, payoutID string) (View, error) {
	p, err := s.Get(ctx, platformID, payoutID)
	if err != nil {
		return View{}, err
	}
	v := p.View()
	if !p.Automatic {
		return v, nil
	}
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return View{}, err
	}
	list := stripeapi.OnAccount(&stripe.BalanceTransactionListParams{Payout: stripe.String(p.StripeID)}, p.Account)
	list.AddExpand("data.source")
	v.BalanceTransactions = []TransactionView{}
	for bt, err := range c.Stripe().V1BalanceTransactions.List(ctx, list).All(ctx) {
		if err != nil {
			return View{}, stripeapi.AsError(err)
		}
		if bt.Type == stripe.BalanceTransactionTypePayout {
			continue // the payout itself
		}
		tv := TransactionView{ID: bt.ID, Type: string(bt.Type), Amount: bt.Amount, Fee: bt.Fee, Net: bt.Net}
		if err := s.belongs(ctx, c.Stripe(), p, bt, &tv); err != nil {
			return View{}, err
		}
		v.BalanceTransactions = append(v.BalanceTransactions, tv)
	}
	return v, nil
}

// belongs finds the Tender objects a balance transaction is of.
func (s *Service) belongs(ctx context.Context, sc *stripe.Client, p *Payout, bt *stripe.BalanceTransaction, tv *TransactionView) error {
	src := bt.Source
	if src == nil {
		return nil
	}
	tv.Source = nullable.String(src.ID)
	switch src.Type {
	case stripe.BalanceTransactionSourceTypeCharge:
		return s.ofCharge(ctx, sc, p, src.Charge, tv)
	case stripe.BalanceTransactionSourceTypeRefund:
		if r := src.Refund; r != nil {
			if id := r.Metadata["tender_refund"]; id != "" {
				tv.Refund = &id
			} else if tr, err := s.payments.RefundByStripeID(ctx, p.PlatformID, r.ID); err == nil {
				tv.Refund = &tr.ID
			}
			if r.PaymentIntent != nil {
				s.ofIntent(ctx, p, r.PaymentIntent.ID, tv)
			}
		}
	case stripe.BalanceTransactionSourceTypeTransfer:
		if t := src.Transfer; t != nil {
			tv.Payment, tv.Transfer = nullable.String(t.Metadata["tender_payment"]), nullable.String(t.Metadata["tender_transfer"])
		}
	case stripe.BalanceTransactionSourceTypeDispute:
		if d := src.Dispute; d != nil && d.PaymentIntent != nil {
			s.ofIntent(ctx, p, d.PaymentIntent.ID, tv)
		}
	}
	return nil
}

// ofCharge finds the payment of a charge: by its PaymentIntent, or, for
// the payment a destination charge's transfer made on the merchant's
// account (py_…), by that transfer's Tender metadata.
func (s *Service) ofCharge(ctx context.Context, sc *stripe.Client, p *Payout, ch *stripe.Charge, tv *TransactionView) error {
	if ch == nil {
		return nil
	}
	if ch.PaymentIntent != nil {
		s.ofIntent(ctx, p, ch.PaymentIntent.ID, tv)
		return nil
	}
	if ch.SourceTransfer == nil {
		return nil
	}
	params := &stripe.TransferRetrieveParams{}
	params.AddExpand("source_transaction")
	t, err := sc.V1Transfers.Retrieve(ctx, ch.SourceTransfer.ID, params)
	if err != nil {
		return stripeapi.AsError(err)
	}
	if id := t.Metadata["tender_payment"]; id != "" {
		tv.Payment = &id
	} else if t.SourceTransaction != nil && t.SourceTransaction.PaymentIntent != nil {
		s.ofIntent(ctx, p, t.SourceTransaction.PaymentIntent.ID, tv)
	}
	return nil
}

func (s *Service) ofIntent(ctx context.Context, p *Payout, piID string, tv *TransactionView) {
	pay, err := s.payments.OfIntent(ctx, p.PlatformID, piID)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			s.log.Warn("payout detail: finding a payment", "payout", p.ID, "payment_intent", piID, "err", err)
		}
		return
	}
	tv.Payment = &pay.ID
}
