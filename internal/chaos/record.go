package chaos

import "time"

// Charge types, as Tender's API names them.
const (
	chargeDirect      = "direct"
	chargeDestination = "destination"
	chargeSeparate    = "separate"
)

// Answer is what a logical request finally got, after every retry.
type Answer string

// Answers.
const (
	// AnswerOK: a 2xx, the request took effect.
	AnswerOK Answer = "ok"
	// AnswerRefused: a definitive 4xx; a careful platform would not retry.
	AnswerRefused Answer = "refused"
	// AnswerNone: no definitive answer before the request's deadline.
	AnswerNone Answer = "none"
)

// Split is one merchant's part of a separate charge.
type Split struct {
	Merchant string `json:"merchant"`
	Amount   int64  `json:"amount"`
}

// Order is one logical payment the client asked for, and what happened to
// its requests. Its fields up to PaymentID are fixed by the seed.
type Order struct {
	N          int
	Key        string // the Idempotency-Key of POST /v1/payments
	Merchant   string
	Customer   string
	ChargeType string
	Splits     []Split
	Amount     int64
	Fee        int64 // the explicit application_fee
	Manual     bool
	// CaptureAmount is what a manual capture asks for; 0 captures all.
	CaptureAmount int64
	Refunds       []RefundOrder

	Answer    Answer
	PaymentID string
	// CaptureAnswer is the capture request's, for a manual payment that
	// became requires_capture; Captured says it was a 2xx.
	CaptureAnswer Answer
	Captured      bool
	// Skipped explains why the order's later steps were not sent (the
	// payment did not become final in time, or failed).
	Skipped string
}

// RefundOrder is one logical refund of an order.
type RefundOrder struct {
	Key string
	// Amount is what is asked for; 0 refunds all that is left.
	Amount   int64
	Answer   Answer
	RefundID string
	// Expected is what the refund should be for, known when it is sent:
	// Amount, or what was left of the payment.
	Expected int64
}

// Exchange is one logical request: every attempt of it shared its key.
type Exchange struct {
	Kind     string
	Method   string
	Path     string
	Key      string
	Attempts int
	Status   int // the definitive answer's, 0 if none
	Body     string
	Err      string // the last attempt's error when there was no answer
	Started  time.Time
	Elapsed  time.Duration
}

// TenderPayment is a payment as Tender's API shows it, with its refunds.
type TenderPayment struct {
	ID             string            `json:"id"`
	Status         string            `json:"status"`
	ChargeType     string            `json:"charge_type"`
	Amount         int64             `json:"amount"`
	AmountCaptured int64             `json:"amount_captured"`
	AmountRefunded int64             `json:"amount_refunded"`
	ApplicationFee int64             `json:"application_fee"`
	StripeFeePayer string            `json:"stripe_fee_payer"`
	StripeFee      *int64            `json:"stripe_fee"`
	StripeAccount  string            `json:"stripe_account"`
	StripeIntent   *string           `json:"stripe_payment_intent"`
	Metadata       map[string]string `json:"metadata"`
	Transfers      []TenderTransfer  `json:"transfers"`
	Refunds        []TenderRefund    `json:"refunds,omitempty"` // read separately; Tender's view has none
}

// TenderTransfer is a separate charge's transfer as Tender shows it.
type TenderTransfer struct {
	ID             string  `json:"id"`
	Merchant       string  `json:"merchant"`
	StripeAccount  string  `json:"stripe_account"`
	SplitAmount    int64   `json:"split_amount"`
	Amount         int64   `json:"amount"`
	AmountReversed int64   `json:"amount_reversed"`
	Status         string  `json:"status"`
	StripeTransfer *string `json:"stripe_transfer"`
}

// TenderRefund is a refund as Tender shows it.
type TenderRefund struct {
	ID          string            `json:"id"`
	Payment     string            `json:"payment"`
	Amount      int64             `json:"amount"`
	Status      string            `json:"status"`
	FeeRefunded *int64            `json:"application_fee_refunded"`
	StripeID    *string           `json:"stripe_refund"`
	Metadata    map[string]string `json:"metadata"`
}

// StripeData is what the emulator holds, read through Stripe's API.
type StripeData struct {
	Intents   []StripeIntent
	Refunds   []StripeRefund
	Transfers []StripeTransfer
	Fees      []StripeFee
}

// StripeIntent is a PaymentIntent on the platform's or a merchant's
// account.
type StripeIntent struct {
	ID             string
	Account        string // "" for the platform's own
	TenderPayment  string // metadata tender_payment
	Key            string // metadata chaos_key, copied from the payment
	Status         string
	Amount         int64
	AmountReceived int64
	ApplicationFee int64
	Destination    string
	Charge         string
}

// StripeRefund is a refund on the platform's or a merchant's account.
type StripeRefund struct {
	ID           string
	Account      string
	TenderRefund string // metadata tender_refund
	Key          string // metadata chaos_key
	Intent       string
	Amount       int64
	Status       string
}

// StripeTransfer is a transfer from the platform to a merchant.
type StripeTransfer struct {
	ID             string
	TenderTransfer string // metadata tender_transfer
	TenderPayment  string
	Destination    string
	Amount         int64
	AmountReversed int64
}

// StripeFee is an application fee the platform collected on a charge.
type StripeFee struct {
	ID      string
	Account string
	Charge  string
	// Originating is the platform's charge of a destination charge, whose
	// fee is collected on the payment (py_…) it made on the merchant's
	// account.
	Originating    string
	Amount         int64
	AmountRefunded int64
}

// finalPayment says whether Tender is done with a payment's charge.
func finalPayment(status string) bool { return status != "pending" && status != "processing" }

// finalRefund says whether Tender is done with a refund.
func finalRefund(status string) bool { return status == "succeeded" || status == "failed" }

// finalTransfer says whether Tender is done with a transfer.
func finalTransfer(status string) bool { return status != "pending" && status != "processing" }

// takesMoney says whether a PaymentIntent holds or took the customer's
// money: two of them for one payment is a double charge.
func takesMoney(status string) bool {
	return status == "succeeded" || status == "requires_capture" || status == "processing"
}
