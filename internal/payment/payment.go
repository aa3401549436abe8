// Package payment owns payments: what a platform asks to charge, the fee
// policy that prices it, and the job that charges it at Stripe exactly
// once.
//
// A payment row and the job that processes it are written in one
// transaction. The job charges on the merchant's connected account (a
// direct charge) or on the platform's on behalf of the merchant (a
// destination charge) with an idempotency key derived from the payment and its
// attempt, saves the PaymentIntent's id as soon as Stripe returns it, and
// resumes from what is saved when it runs again; with nothing saved and an
// outcome unknown, it looks the PaymentIntent up by Tender's metadata before
// creating one, so even a run after Stripe's 24-hour key window cannot
// charge twice.
//
// The pages where a payer takes part in a payment, checkout links and
// authentication links, are package checkout's, which is built over this
// package's exported API (hosted.go); payments reach them only through
// the Hosted interface.
package payment

import (
	"context"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
	"github.com/tenderpay/tender/internal/wallet"
)

// Id prefixes.
const (
	PaymentPrefix   = "pay"
	FeePolicyPrefix = "fpol"
)

// Service manages fee policies and payments.
type Service struct {
	db      *store.DB
	connect *connect.Service
	wallet  *wallet.Service
	stripe  *stripeapi.Pool
	jobs    func() *jobs.Client
	now     func() time.Time
	logger  *slog.Logger
	// platforms gives a payment its platform's defaults.
	platforms *platform.Service
	// hosted is the pages where payers take part (SetHosted).
	hosted Hosted
	// crashFunc runs at each step of Process where a crash would leave
	// something to resume from (before_create, after_create, after_save);
	// tests make it fail to simulate one there.
	crashFunc func(step, paymentID string) error
	// ops makes every write to Stripe exactly once.
	ops *stripeop.Ops
	// ledger keeps the books, posted in the transactions of the moves.
	ledger *ledger.Store
	// followers are told of every move (see Follow).
	followers []Follower
}

// Config is what a Service needs.
type Config struct {
	DB      *store.DB
	Connect *connect.Service
	Wallet  *wallet.Service
	Stripe  *stripeapi.Pool
	// JobsFunc returns the job client payments' jobs are inserted with; a
	// function because the client is made after the services whose
	// workers it runs.
	JobsFunc func() *jobs.Client
	// Ledger keeps the books; one on DB when nil.
	Ledger  *ledger.Store
	NowFunc func() time.Time
	Logger  *slog.Logger
	// Platforms gives a payment the platform's default currency and
	// charge type.
	Platforms *platform.Service
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: c.DB, connect: c.Connect, wallet: c.Wallet, stripe: c.Stripe, jobs: c.JobsFunc,
		now: c.NowFunc, logger: c.Logger, platforms: c.Platforms}
	s.ops = stripeop.New(c.DB, c.NowFunc, s.crashPoint)
	if s.ledger = c.Ledger; s.ledger == nil {
		s.ledger = ledger.NewStore(c.DB, c.NowFunc)
	}
	return s
}

func (s *Service) client(ctx context.Context, platformID string) (*stripe.Client, error) {
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	return c.Stripe(), nil
}
