package stripeevents

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/payout"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/wallet"
)

// Prefixes of the ids of the inbox's events and of Tender's endpoints at
// Stripe.
const (
	EventPrefix    = "sevt"
	EndpointPrefix = "swe"
)

// Scope is which of a platform's two endpoints at Stripe an event came to.
// Stripe sends an account's own events and its connected accounts' events
// to different endpoints, each with its own secret.
type Scope string

// Scopes.
const (
	// ScopeAccount: the platform account's own events; they name no account.
	ScopeAccount Scope = "account"
	// ScopeConnect: the connected accounts' events; each names its account.
	ScopeConnect Scope = "connect"
)

// Scopes lists both, in the order endpoints are made.
var Scopes = []Scope{ScopeAccount, ScopeConnect}

// Path is where Stripe posts a platform's events of a scope, under
// Tender's public URL. It is outside /v1: Stripe signs its requests
// rather than sending an API key.
func Path(platformID string, scope Scope) string {
	return "/webhooks/stripe/" + platformID + "/" + string(scope)
}

// Config is what the Service needs.
type Config struct {
	DB        *store.DB
	Platforms *platform.Service
	Stripe    *stripeapi.Pool
	Keys      *secret.Keyring
	Connect   *connect.Service
	Payments  *payment.Service
	Disputes  *dispute.Service
	Payouts   *payout.Service
	Wallet    *wallet.Service
	JobsFunc  func() *jobs.Client
	NowFunc   func() time.Time
	Logger    *slog.Logger
	// PublicURL is where Stripe reaches Tender: endpoints are made at
	// PublicURL + Path.
	PublicURL string
}

// Service receives Stripe's events, keeps them in the inbox and applies
// them, and manages Tender's endpoints at Stripe.
type Service struct {
	db        *store.DB
	platforms *platform.Service
	stripe    *stripeapi.Pool
	keys      *secret.Keyring
	connect   *connect.Service
	payments  *payment.Service
	disputes  *dispute.Service
	payouts   *payout.Service
	wallet    *wallet.Service
	jobs      func() *jobs.Client
	now       func() time.Time
	log       *slog.Logger
	publicURL string

	// secrets caches each endpoint's signing secrets (see secretsFor).
	secrets sync.Map // endpointKey → *endpointSecrets
	refused sync.Map // platform id → *refusals
	batch   batching
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: cfg.DB, platforms: cfg.Platforms, stripe: cfg.Stripe, keys: cfg.Keys, connect: cfg.Connect,
		payments: cfg.Payments, disputes: cfg.Disputes, payouts: cfg.Payouts, wallet: cfg.Wallet, jobs: cfg.JobsFunc, now: cfg.NowFunc, log: cfg.Logger, publicURL: cfg.PublicURL}
}

// refusals counts deliveries refused, by reason: nothing else is kept of
// them (no row, no body), so that a flood of forgeries costs no storage.
type refusals struct {
	notSigned, badHeader, stale, noSecret, badSignature, malformed, livemode, wrongEndpoint atomic.Int64
}

// Refusals is how many of a platform's deliveries were refused since this
// process started, by reason.
type Refusals struct {
	NotSigned     int64 `json:"not_signed"`
	BadHeader     int64 `json:"bad_header"`
	Stale         int64 `json:"stale"`
	NoSecret      int64 `json:"no_secret"`
	BadSignature  int64 `json:"bad_signature"`
	Malformed     int64 `json:"malformed"`
	Livemode      int64 `json:"livemode_mismatch"`
	WrongEndpoint int64 `json:"wrong_endpoint"`
}

// refusalsOf is the platform's counts of refused deliveries.
func (s *Service) refusalsOf(platformID string) *refusals {
	v, _ := s.refused.LoadOrStore(platformID, &refusals{})
	return v.(*refusals)
}

// Refused returns the counts of the platform's refused deliveries since
// this process started.
func (s *Service) Refused(platformID string) Refusals {
	r := s.refusalsOf(platformID)
	return Refusals{NotSigned: r.notSigned.Load(), BadHeader: r.badHeader.Load(), Stale: r.stale.Load(),
		NoSecret: r.noSecret.Load(), BadSignature: r.badSignature.Load(), Malformed: r.malformed.Load(),
		Livemode: r.livemode.Load(), WrongEndpoint: r.wrongEndpoint.Load()}
}

// Delivery is one POST from Stripe, as it came.
type Delivery struct {
	PlatformID string
	Scope      Scope
	Header     http.Header
	Body       []byte
	RemoteAddr string
}
