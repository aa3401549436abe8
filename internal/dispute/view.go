package dispute

import (
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

// View is a dispute as the API shows it.
type View struct {
	ID              string     `json:"id"`
	Object          string     `json:"object"`
	Payment         string     `json:"payment"`
	Merchant        string     `json:"merchant"`
	Amount          int64      `json:"amount"`
	Currency        string     `json:"currency"`
	Reason          string     `json:"reason"`
	Status          Status     `json:"status"`
	Bearer          Bearer     `json:"bearer"`
	Payer           Bearer     `json:"payer"`
	EvidenceDueBy   *time.Time `json:"evidence_due_by"`
	HasEvidence     bool       `json:"has_evidence"`
	SubmissionCount int        `json:"submission_count"`
	AmountWithdrawn int64      `json:"amount_withdrawn"`
	Fees            int64      `json:"fees"`
	// AmountRecovered and AmountReturned are what was taken back from
	// the merchants (the amount and fee) and given back when won, when
	// the platform's policy passes its disputes on.
	AmountRecovered int64          `json:"amount_recovered"`
	AmountReturned  int64          `json:"amount_returned"`
	Recoveries      []RecoveryView `json:"recoveries"`
	StripeDispute   string         `json:"stripe_dispute"`
	StripeAccount   *string        `json:"stripe_account"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// RecoveryView is one merchant transfer's share of a recovered dispute.
type RecoveryView struct {
	Merchant       string  `json:"merchant"`
	Transfer       *string `json:"transfer"`
	StripeTransfer string  `json:"stripe_transfer"`
	Amount         int64   `json:"amount"`
	Fee            int64   `json:"fee"`
	StripeReversal *string `json:"stripe_reversal"`
	AmountReturned int64   `json:"amount_returned"`
	StripeReturn   *string `json:"stripe_return_transfer"`
	FailureDetail  *string `json:"failure_detail"`
}

// View returns d as the API shows it.
func (d *Dispute) View() View {
	v := View{ID: d.ID, Object: "dispute", Payment: d.PaymentID, Merchant: d.MerchantID, Amount: d.Amount,
		Currency: d.Currency.Lower(), Reason: d.Reason, Status: d.Status, Bearer: d.Bearer, Payer: d.Payer, EvidenceDueBy: d.DueBy,
		HasEvidence: d.HasEvidence, SubmissionCount: d.Submissions, AmountWithdrawn: d.Withdrawn, Fees: d.Fees,
		Recoveries: []RecoveryView{}, StripeDispute: d.StripeID, StripeAccount: nullable.String(d.Account), CreatedAt: d.Created,
		UpdatedAt: d.Updated}
	v.AmountRecovered, v.AmountReturned = d.recovered()
	for _, r := range d.Recoveries {
		v.Recoveries = append(v.Recoveries, RecoveryView{Merchant: r.MerchantID, Transfer: nullable.String(r.TransferID),
			StripeTransfer: r.StripeTransferID, Amount: r.Amount, Fee: r.Fee, StripeReversal: nullable.String(r.StripeReversalID),
			AmountReturned: r.Returned, StripeReturn: nullable.String(r.StripeReturnID), FailureDetail: nullable.String(r.FailureDetail)})
	}
	return v
}
