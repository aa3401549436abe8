// Package httpapi is Tender's JSON API. routes.go lists every route; each
// handler is made by a function that takes its dependencies; middleware is
// func(http.Handler) http.Handler, applied in routes.go. Errors from feature
// packages (internal/errs) become the API's error object in one place,
// errors.go.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/payout"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/standing"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeevents"
	"github.com/tenderpay/tender/internal/wallet"
	"github.com/tenderpay/tender/internal/webhooks"
)

// MaxBodyBytes bounds request bodies; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Deps are what the API needs.
type Deps struct {
	Logger      *slog.Logger
	Platforms   *platform.Service
	Idempotency *idempotency.Store
	// Ready reports whether Tender can serve: database reachable and
	// migrations current. nil means always ready.
	Ready   func(ctx context.Context) error
	Version string
	// StripeClients holds each platform's Stripe client; changing a
	// platform's Stripe settings drops its client so the next call uses
	// them. nil when nothing calls Stripe (some tests).
	StripeClients *stripeapi.Pool
	// Connect serves merchants and connection links.
	Connect *connect.Service
	// Wallet serves customers, their cards and consents.
	Wallet *wallet.Service
	// Payments serves fee policies and payments.
	Payments *payment.Service
	// Checkout serves checkout links.
	Checkout *checkout.Service
	// Events is the event feed; Webhooks the platform's endpoints and
	// their deliveries.
	Events   *event.Store
	Webhooks *webhooks.Service
	// Disputes serves disputes, their evidence and closing.
	Disputes *dispute.Service
	// Payouts serves payouts and what they paid out.
	Payouts *payout.Service
	// Standing serves standing orders and their cycles.
	Standing *standing.Service
	// StripeEvents receives Stripe's webhooks and serves the inbox and
	// Tender's endpoints at Stripe.
	StripeEvents *stripeevents.Service
	// EventRetention is how long the feed keeps events, for its answers.
	EventRetention time.Duration
	// Ledger serves balances, ledger entries and the transactions report.
	Ledger *ledger.Store
	// Now is the clock of answers that depend on the time (balances'
	// pending and available, the report's default period); time.Now if
	// nil.
	Now func() time.Time
	// Pages adds the hosted pages (package web) to the same mux, so they
	// share request logging, ids and panic recovery with the API.
	Pages func(mux *http.ServeMux)
}

func (d Deps) forgetStripeClient(platformID string) {
	if d.StripeClients != nil {
		d.StripeClients.Forget(platformID)
	}
}

// NewServer returns the API's handler.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	if d.Pages != nil {
		d.Pages(mux)
	}
	var h http.Handler = mux
	h = recoverPanics(d.Logger)(h)
	h = withLogger(d.Logger)(h)
	h = logRequests(d.Logger)(h)
	h = requestID(h)
	return h
}
