package payment

import (
	"context"
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

// View is a payment as the API shows it.
type View struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	Merchant                  string            `json:"merchant"`
	Customer                  *string           `json:"customer"`
	PaymentMethod             *string           `json:"payment_method"`
	Amount                    int64             `json:"amount"`
	AmountRequested           int64             `json:"amount_requested"`
	AmountCaptured            int64             `json:"amount_captured"`
	AmountRefunded            int64             `json:"amount_refunded"`
	Currency                  string            `json:"currency"`
	ApplicationFee            int64             `json:"application_fee"`
	FeePolicy                 *FeePolicyRef     `json:"fee_policy"`
	ChargeType                ChargeType        `json:"charge_type"`
	Capture                   Capture           `json:"capture"`
	OffSession                bool              `json:"off_session"`
	Description               *string           `json:"description"`
	StatementDescriptorSuffix *string           `json:"statement_descriptor_suffix"`
	Reference                 *string           `json:"reference"`
	Metadata                  map[string]string `json:"metadata"`
	Source                    Source            `json:"source"`
	Status                    Status            `json:"status"`
	NextAction                *NextActionView   `json:"next_action"`
	Attempt                   int64             `json:"attempt"`
	StripeAccount             string            `json:"stripe_account"`
	StripePaymentIntent       *string           `json:"stripe_payment_intent"`
	StripeFeePayer            StripeFeePayer    `json:"stripe_fee_payer"`
	StripeFee                 *int64            `json:"stripe_fee"`
	StripeFeeCovered          int64             `json:"stripe_fee_covered"`
	Failure                   *FailureView      `json:"failure"`
	Transfers                 []TransferView    `json:"transfers"`
	CreatedAt                 time.Time         `json:"created_at"`
	UpdatedAt                 time.Time         `json:"updated_at"`
}

// NextActionView is what a payment waits for, as the API shows it: the
// customer to authenticate (type authenticate) at URL before ExpiresAt.
type NextActionView struct {
	Type      string    `json:"type"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// FeePolicyRef names the fee policy version that priced a payment.
type FeePolicyRef struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// FailureView is why a payment failed or waits for the customer. The
// message is fit to show the customer; Stripe's own detail for an invalid
// request stays in Tender's logs and database, for the operator.
type FailureView struct {
	Code        string  `json:"code"`
	DeclineCode *string `json:"decline_code"`
	Message     string  `json:"message"`
}

// View returns p as the API shows it.
func (p *Payment) View() View {
	md := p.Metadata
	if md == nil {
		md = map[string]string{}
	}
	v := View{ID: p.ID, Object: "payment", Merchant: p.MerchantID, Customer: nullable.String(p.CustomerID),
		PaymentMethod: nullable.String(p.PaymentMethodID), Source: p.Source,
		Amount: p.Amount, AmountRequested: p.AmountRequested, AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded, Currency: p.Currency.Lower(), ApplicationFee: p.ApplicationFee,
		ChargeType: p.ChargeType, Capture: p.Capture, OffSession: p.OffSession, Description: nullable.String(p.Description),
		StatementDescriptorSuffix: nullable.String(p.StatementDescriptorSuffix), Reference: nullable.String(p.Reference),
		Metadata: md, Status: p.Status, Attempt: p.Attempt, StripeAccount: p.AccountID,
		StripePaymentIntent: nullable.String(p.StripePaymentIntentID), CreatedAt: p.Created, UpdatedAt: p.Updated}
	v.StripeFeePayer, v.StripeFeeCovered = p.stripeFeeBearer(), p.StripeFeeCovered
	if p.StripeFeeKnown {
		v.StripeFee = &p.StripeFee
	}
	if p.FeePolicyID != "" {
		v.FeePolicy = &FeePolicyRef{ID: p.FeePolicyID, Version: p.FeePolicyVersion}
	}
	if p.ChargeType == ChargeSeparate {
		v.Transfers = make([]TransferView, len(p.Transfers))
		for i, t := range p.Transfers {
			v.Transfers[i] = t.View()
		}
	}
	if p.FailureCode != "" {
		v.Failure = &FailureView{Code: p.FailureCode, DeclineCode: nullable.String(p.DeclineCode), Message: p.FailureMessage}
	}
	return v
}

// ViewOf returns p as the API shows it, with its next action.
func (s *Service) ViewOf(ctx context.Context, p *Payment) (View, error) {
	v := p.View()
	if s.hosted == nil {
		return v, nil
	}
	na, err := s.hosted.NextAction(ctx, s.db, p)
	v.NextAction = na
	return v, err
}
