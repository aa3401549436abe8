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
	EvidenceDueBy   *time.Time `json:"evidence_due_by"`
	HasEvidence     bool       `json:"has_evidence"`
	SubmissionCount int        `json:"submission_count"`
	AmountWithdrawn int64      `json:"amount_withdrawn"`
	Fees            int64      `json:"fees"`
	StripeDispute   string     `json:"stripe_dispute"`
	StripeAccount   *string    `json:"stripe_account"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// View returns d as the API shows it.
func (d *Dispute) View() View {
	return View{ID: d.ID, Object: "dispute", Payment: d.PaymentID, Merchant: d.MerchantID, Amount: d.Amount,
		Currency: d.Currency.Lower(), Reason: d.Reason, Status: d.Status, Bearer: d.Bearer, EvidenceDueBy: d.DueBy,
		HasEvidence: d.HasEvidence, SubmissionCount: d.Submissions, AmountWithdrawn: d.Withdrawn, Fees: d.Fees,
		StripeDispute: d.StripeID, StripeAccount: nullable.String(d.Account), CreatedAt: d.Created, UpdatedAt: d.Updated}
}
