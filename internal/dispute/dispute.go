// Package dispute keeps the disputes of payments' charges: what Stripe's
// events tell of them (read again from Stripe, never from the event), the
// money each one moves in the books, the platform's events, and the
// evidence and closing the platform sends through Tender.
//
// Who bears a dispute is decided by where its charge is at Stripe, because
// that is the balance Stripe takes the money from: the merchant on a
// direct charge (the dispute is on its connected account), the platform on
// destination and separate charges (the dispute is on the platform's
// account). The platform's fee policy may pass its disputes on to the
// merchants (dispute_payer: merchant): then Tender takes the money back by
// reversing the merchants' transfers, and returns the amount if the
// dispute is won (recover.go). Stripe withdraws the disputed amount and its dispute fee when
// a chargeback opens, gives the amount back (not the fee) when it is won,
// and keeps both when it is lost; an inquiry moves no money unless lost.
// Each of those is a balance transaction of the dispute, and each is
// posted to the books once, as it is at Stripe, so the books stay equal to
// Stripe's balances.
package dispute

import (
	"context"
	"log/slog"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// Prefix is the prefix of a dispute's id.
const Prefix = "dsp"

// Status is Stripe's status of a dispute.
type Status string

// Statuses, as Stripe's. The warning_ ones are an inquiry's.
const (
	StatusWarningNeedsResponse Status = "warning_needs_response"
	StatusWarningUnderReview   Status = "warning_under_review"
	StatusWarningClosed        Status = "warning_closed"
	StatusNeedsResponse        Status = "needs_response"
	StatusUnderReview          Status = "under_review"
	StatusWon                  Status = "won"
	StatusLost                 Status = "lost"
)

var statuses = []Status{StatusWarningNeedsResponse, StatusWarningUnderReview, StatusWarningClosed, StatusNeedsResponse,
	StatusUnderReview, StatusWon, StatusLost}

// closed reports whether the dispute is decided.
func (s Status) closed() bool { return s == StatusWon || s == StatusLost || s == StatusWarningClosed }

// awaitsResponse reports whether evidence can still be sent.
func (s Status) awaitsResponse() bool {
	return s == StatusNeedsResponse || s == StatusWarningNeedsResponse
}

// Bearer is whose balance a dispute's money leaves.
type Bearer string

// Bearers.
const (
	BearerMerchant Bearer = "merchant"
	BearerPlatform Bearer = "platform"
)

// Events of disputes.
const (
	EventCreated             event.Type = "dispute.created"
	EventUpdated             event.Type = "dispute.updated"
	EventFundsWithdrawn      event.Type = "dispute.funds_withdrawn"
	EventFundsReinstated     event.Type = "dispute.funds_reinstated"
	EventClosed              event.Type = "dispute.closed"
	EventDeadlineApproaching event.Type = "dispute.deadline_approaching"
	EventFundsRecovered      event.Type = "dispute.funds_recovered"
	EventFundsReturned       event.Type = "dispute.funds_returned"
	EventRecoveryFailed      event.Type = "dispute.recovery_failed"
)

// Dispute is a dispute of one payment's charge.
type Dispute struct {
	ID, PlatformID, PaymentID, MerchantID string
	// Account is where the dispute is at Stripe: the connected account of
	// a direct charge, "" for the platform's.
	Account  string
	StripeID string
	ChargeID string
	Amount   int64
	Currency money.Currency
	Reason   string
	Status   Status
	Bearer   Bearer
	// Payer is who finally bears it: the bearer, or the merchant when the
	// platform's policy recovers a dispute it bears (see recover.go).
	Payer          Bearer
	Recoveries     []*Recovery // when Payer differs from Bearer
	DueBy          *time.Time
	HasEvidence    bool
	Submissions    int
	Withdrawn      int64 // withdrawn now, less what was reinstated
	Fees           int64 // dispute fees Stripe took
	DeadlineWarned bool
	Created        time.Time
	Updated        time.Time
}

// DefaultWarnBefore is how long before evidence is due the platform is
// warned, if it has not responded.
const DefaultWarnBefore = 72 * time.Hour

// Config is what the Service needs.
type Config struct {
	DB       *store.DB
	Payments *payment.Service
	Stripe   *stripeapi.Pool
	Ledger   *ledger.Store
	JobsFunc func() *jobs.Client
	NowFunc  func() time.Time
	Logger   *slog.Logger
	// WarnBefore is how long before evidence is due the platform is told
	// (dispute.deadline_approaching); zero means DefaultWarnBefore.
	WarnBefore time.Duration
}

// Service keeps disputes.
type Service struct {
	db         *store.DB
	payments   *payment.Service
	stripe     *stripeapi.Pool
	ledger     *ledger.Store
	jobs       func() *jobs.Client
	ops        *stripeop.Ops
	now        func() time.Time
	log        *slog.Logger
	warnBefore time.Duration
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WarnBefore <= 0 {
		cfg.WarnBefore = DefaultWarnBefore
	}
	return &Service{db: cfg.DB, payments: cfg.Payments, stripe: cfg.Stripe, ledger: cfg.Ledger, jobs: cfg.JobsFunc,
		ops: stripeop.New(cfg.DB, cfg.NowFunc, nil), now: cfg.NowFunc, log: cfg.Logger, warnBefore: cfg.WarnBefore}
}

// chargeStripe is the Stripe client of a platform.
func (s *Service) client(ctx context.Context, platformID string) (*stripeapi.Client, error) {
	return s.stripe.Client(ctx, platformID)
}
