// Package checkout owns the hosted pages where a payer takes part in a
// payment: checkout links, where a payer who is present pays an amount the
// platform fixed with a card typed into Stripe.js, and authentication
// links, where a customer authenticates a payment their bank held. It owns
// their flows, their tokens, their tables (checkout_links,
// payment_auth_links) and their job (checkout_link.expire); package web
// renders the pages and the API serves checkout links from it.
//
// It is apart from package payment, which charges, captures, cancels,
// refunds, transfers and settles fees, because the two change for
// different reasons: the payer's pages follow the browser, Stripe.js and
// the payer's choices, the money paths follow Stripe's objects and jobs.
// The dependency runs one way, checkout → payment → wallet → connect:
// checkout reads and changes payments only through payment's exported API
// (no SQL of the payments table here), and payment reaches back only
// through the payment.Hosted interface this Service implements, given to
// it when Tender is assembled (internal/app).
package checkout

import (
	"context"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/wallet"
)

// Service manages checkout links and authentication links.
type Service struct {
	db       *store.DB
	payments *payment.Service
	connect  *connect.Service
	wallet   *wallet.Service
	stripe   *stripeapi.Pool
	jobs     func() *jobs.Client
	now      func() time.Time
	logger   *slog.Logger
	// platforms gives the pages the platform's publishable key; keys sign
	// authentication links; links are built on publicURL.
	platforms *platform.Service
	keys      *secret.Keyring
	publicURL string
}

// The payments' job and views reach the pages through payment.Hosted.
var _ payment.Hosted = (*Service)(nil)

// Config is what a Service needs.
type Config struct {
	DB       *store.DB
	Payments *payment.Service
	Connect  *connect.Service
	Wallet   *wallet.Service
	Stripe   *stripeapi.Pool
	// JobsFunc returns the job client the links' jobs are inserted with;
	// a function because the client is made after the services whose
	// workers it runs.
	JobsFunc func() *jobs.Client
	NowFunc  func() time.Time
	Logger   *slog.Logger
	// Platforms gives the pages the platform's publishable key.
	Platforms *platform.Service
	// Keys sign authentication links; without them a payment that needs
	// authentication gets no link.
	Keys *secret.Keyring
	// PublicURL is where browsers reach Tender (no trailing slash).
	PublicURL string
}

// NewService returns a Service. Give it to the payments' Service with
// payment.Service.SetHosted before either is used.
func NewService(c Config) *Service {
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: c.DB, payments: c.Payments, connect: c.Connect, wallet: c.Wallet, stripe: c.Stripe, jobs: c.JobsFunc,
		now: c.NowFunc, logger: c.Logger, platforms: c.Platforms, keys: c.Keys, publicURL: c.PublicURL}
}

// Now is the Service's clock, for views of checkout links and the pages'
// expiries.
func (s *Service) Now() time.Time { return s.now() }

func (s *Service) client(ctx context.Context, platformID string) (*stripe.Client, error) {
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	return c.Stripe(), nil
}
