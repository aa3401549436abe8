package dispute

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/text"
)

// Evidence is what the platform can tell the card network of a disputed
// payment: Stripe's evidence fields that are text, with Stripe's lengths.
// (Stripe's file fields, receipts and documentation, need its Files API
// and are not taken yet.)
type Evidence struct {
	AccessActivityLog            *string `json:"access_activity_log" text:"20000,multiline"`
	BillingAddress               *string `json:"billing_address" text:"5000,multiline"`
	CancellationPolicyDisclosure *string `json:"cancellation_policy_disclosure" text:"20000,multiline"`
	CancellationRebuttal         *string `json:"cancellation_rebuttal" text:"20000,multiline"`
	CustomerEmailAddress         *string `json:"customer_email_address" text:"5000"`
	CustomerName                 *string `json:"customer_name" text:"5000"`
	CustomerPurchaseIP           *string `json:"customer_purchase_ip" text:"5000"`
	DuplicateChargeExplanation   *string `json:"duplicate_charge_explanation" text:"20000,multiline"`
	DuplicateChargeID            *string `json:"duplicate_charge_id" text:"5000"`
	ProductDescription           *string `json:"product_description" text:"20000,multiline"`
	RefundPolicyDisclosure       *string `json:"refund_policy_disclosure" text:"20000,multiline"`
	RefundRefusalExplanation     *string `json:"refund_refusal_explanation" text:"20000,multiline"`
	ServiceDate                  *string `json:"service_date" text:"5000"`
	ShippingAddress              *string `json:"shipping_address" text:"5000,multiline"`
	ShippingCarrier              *string `json:"shipping_carrier" text:"5000"`
	ShippingDate                 *string `json:"shipping_date" text:"5000"`
	ShippingTrackingNumber       *string `json:"shipping_tracking_number" text:"5000"`
	UncategorizedText            *string `json:"uncategorized_text" text:"20000,multiline"`
}

func (e *Evidence) params() *stripe.DisputeUpdateEvidenceParams {
	return &stripe.DisputeUpdateEvidenceParams{AccessActivityLog: e.AccessActivityLog, BillingAddress: e.BillingAddress,
		CancellationPolicyDisclosure: e.CancellationPolicyDisclosure, CancellationRebuttal: e.CancellationRebuttal,
		CustomerEmailAddress: e.CustomerEmailAddress, CustomerName: e.CustomerName, CustomerPurchaseIP: e.CustomerPurchaseIP,
		DuplicateChargeExplanation: e.DuplicateChargeExplanation, DuplicateChargeID: e.DuplicateChargeID,
		ProductDescription: e.ProductDescription, RefundPolicyDisclosure: e.RefundPolicyDisclosure,
		RefundRefusalExplanation: e.RefundRefusalExplanation, ServiceDate: e.ServiceDate, ShippingAddress: e.ShippingAddress,
		ShippingCarrier: e.ShippingCarrier, ShippingDate: e.ShippingDate, ShippingTrackingNumber: e.ShippingTrackingNumber,
		UncategorizedText: e.UncategorizedText}
}

// EvidenceParams sends evidence: saved at Stripe, and submitted to the
// card network unless Submit is false (as Stripe's own default). Evidence
// saved but not submitted can be changed until it is due; once submitted
// the network decides.
type EvidenceParams struct {
	Evidence Evidence `json:"evidence"`
	Submit   *bool    `json:"submit"`
}

// SubmitEvidence passes evidence to Stripe, on the account the dispute is
// on, and records the dispute as Stripe then shows it. Returns
// errs.Invalid naming the field, errs.NotFound, and errs.Conflict
// (dispute_not_open) once the dispute no longer takes evidence.
func (s *Service) SubmitEvidence(ctx context.Context, platformID, disputeID string, p EvidenceParams) (*Dispute, error) {
	if err := text.Validate(&p); err != nil {
		return nil, err
	}
	d, err := s.open(ctx, platformID, disputeID)
	if err != nil {
		return nil, err
	}
	submit := p.Submit == nil || *p.Submit
	params := stripeapi.OnAccount(&stripe.DisputeUpdateParams{Evidence: p.Evidence.params(), Submit: stripe.Bool(submit)}, d.Account)
	// The same evidence sent again for the same submission is one update
	// at Stripe.
	body, _ := json.Marshal(p.Evidence)
	sum := sha256.Sum256(append(body, strconv.FormatBool(submit)...))
	params.SetIdempotencyKey("tender-dispute-" + d.ID + "-evidence-" + strconv.Itoa(d.Submissions) + "-" + hex.EncodeToString(sum[:8]))
	return s.respond(ctx, d, func(sc *stripe.Client) (*stripe.Dispute, error) {
		return sc.V1Disputes.Update(ctx, d.StripeID, params)
	})
}

// Close accepts the dispute: the platform gives up on it, and Stripe
// records it lost. Returns errs.NotFound and errs.Conflict
// (dispute_not_open).
func (s *Service) Close(ctx context.Context, platformID, disputeID string) (*Dispute, error) {
	d, err := s.open(ctx, platformID, disputeID)
	if err != nil {
		return nil, err
	}
	params := stripeapi.OnAccount(&stripe.DisputeCloseParams{}, d.Account)
	params.SetIdempotencyKey("tender-dispute-" + d.ID + "-close")
	return s.respond(ctx, d, func(sc *stripe.Client) (*stripe.Dispute, error) {
		return sc.V1Disputes.Close(ctx, d.StripeID, params)
	})
}

// open returns the dispute if it still awaits a response.
func (s *Service) open(ctx context.Context, platformID, disputeID string) (*Dispute, error) {
	d, err := get(ctx, s.db, platformID, disputeID)
	if err != nil {
		return nil, err
	}
	if !d.Status.awaitsResponse() {
		return nil, errs.E(errs.Conflict, "Dispute %s is %s: it takes evidence, or can be closed, only while it needs a response.",
			d.ID, d.Status).WithReason("dispute_not_open")
	}
	return d, nil
}

// respond makes a call to Stripe about d and records the dispute as Stripe
// answers it.
func (s *Service) respond(ctx context.Context, d *Dispute, call func(*stripe.Client) (*stripe.Dispute, error)) (*Dispute, error) {
	c, err := s.client(ctx, d.PlatformID)
	if err != nil {
		return nil, err
	}
	sd, err := call(c.Stripe())
	if err != nil {
		return nil, stripeapi.AsError(err)
	}
	// The answer commits with what it records, so a request cut short
	// after is answered again rather than refused as no longer open.
	return s.observeThen(ctx, d.PlatformID, d.Account, sd, func(tx *sql.Tx, d *Dispute) error {
		return idempotency.Commit(ctx, tx, d.View())
	})
}
