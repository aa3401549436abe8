// Package wallet owns a platform's customers and what they keep with it:
// the cards they saved, their consents for merchants to charge those cards
// when they are not there, and the registry of each card's clones on
// merchants' connected accounts.
//
// Cards live on the platform's Stripe account, so that a customer enters a
// card once and uses it at every merchant. A direct charge needs the card
// on the merchant's own account: CloneFor copies it there on first use and
// records the copy, so later charges reuse it with no Stripe call, and
// removing the card, revoking the consent or losing the merchant removes
// the copies too. Card numbers never reach Tender: Stripe.js sends them to
// Stripe, and Tender keeps what Stripe shows of a card (brand, last four,
// expiry, fingerprint).
package wallet

import (
	"context"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeop"
)

// Id prefixes.
const (
	CustomerPrefix      = "cst"
	PaymentMethodPrefix = "pmt"
	ConsentPrefix       = "cns"
)

// DefaultRetention is how long an archived customer's Stripe ids are kept
// before the erase job removes them (the Stripe Customer itself is deleted
// at once).
const DefaultRetention = 30 * 24 * time.Hour

// Service manages customers, their cards, consents and clones.
type Service struct {
	db        *store.DB
	platforms *platform.Service
	connect   *connect.Service
	stripe    *stripeapi.Pool
	now       func() time.Time
	logger    *slog.Logger
	retention time.Duration
	// publicURL is where browsers reach Tender: wallet links are built
	// on it.
	publicURL string
	// ops makes a clone's Stripe writes exactly once.
	ops *stripeop.Ops
}

// Config is what a Service needs.
type Config struct {
	DB        *store.DB
	Platforms *platform.Service
	Connect   *connect.Service
	Stripe    *stripeapi.Pool
	NowFunc   func() time.Time
	Logger    *slog.Logger
	// Retention is how long archived customers' Stripe ids are kept; zero
	// means DefaultRetention.
	Retention time.Duration
	// PublicURL is where browsers reach Tender (no trailing slash).
	PublicURL string
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	return &Service{db: c.DB, platforms: c.Platforms, connect: c.Connect, stripe: c.Stripe, now: c.NowFunc,
		logger: c.Logger, retention: c.Retention, publicURL: c.PublicURL, ops: stripeop.New(c.DB, c.NowFunc, nil)}
}

func (s *Service) client(ctx context.Context, platformID string) (*stripe.Client, error) {
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	return c.Stripe(), nil
}
