// Package connect owns merchants and their connected Stripe accounts: the
// merchants API, the single-use links through which a merchant's owner
// connects an account (Standard through OAuth, Express through account
// links), the signed states that protect those flows, the connection's
// status and keeping it true, and disconnection.
//
// Tender keeps a connected account's id and never a token: after the OAuth
// code is exchanged the access and refresh tokens are dropped, and every
// later call acts on the account with the platform's key and
// Stripe-Account. A stolen database can charge no one.
package connect

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// Id prefixes.
const (
	MerchantPrefix = "mer"
	LinkPrefix     = "cl"
)

// Service manages merchants and their connections.
type Service struct {
	db        *store.DB
	platforms *platform.Service
	stripe    *stripeapi.Pool
	keys      *secret.Keyring
	now       func() time.Time
	logger    *slog.Logger
	// publicURL is where browsers reach Tender: links and redirect URIs
	// are built on it.
	publicURL string
	// httpClient sends the OAuth code exchange; nil means http.DefaultClient.
	httpClient *http.Client
	// connectionLost is told, in the changing transaction, when a merchant
	// loses its account; see Config.ConnectionLostFunc.
	connectionLost func(ctx context.Context, tx *sql.Tx, platformID, merchantID string) error
}

// Config is what a Service needs.
type Config struct {
	DB        *store.DB
	Platforms *platform.Service
	Stripe    *stripeapi.Pool
	Keys      *secret.Keyring
	NowFunc   func() time.Time
	Logger    *slog.Logger
	PublicURL string
	// HTTPClient sends the OAuth code exchange; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// ConnectionLostFunc, if set, runs in the transaction that records a
	// merchant losing its account (deauthorized at Stripe, or
	// disconnected), so that what depended on the account (the wallet's
	// clones) goes with it. connect cannot call the packages above it; they
	// register here.
	ConnectionLostFunc func(ctx context.Context, tx *sql.Tx, platformID, merchantID string) error
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: c.DB, platforms: c.Platforms, stripe: c.Stripe, keys: c.Keys, now: c.NowFunc,
		logger: c.Logger, publicURL: c.PublicURL, httpClient: c.HTTPClient, connectionLost: c.ConnectionLostFunc}
}

// client returns the platform's Stripe client.
func (s *Service) client(ctx context.Context, platformID string) (*stripe.Client, error) {
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	return c.Stripe(), nil
}

// PlatformName is the platform's name for pages, or "" if it cannot be
// read: a page must still render when the database does not answer.
func (s *Service) PlatformName(ctx context.Context, platformID string) string {
	if platformID == "" {
		return ""
	}
	p, err := s.platforms.Get(ctx, platformID)
	if err != nil {
		return ""
	}
	return p.Name
}
